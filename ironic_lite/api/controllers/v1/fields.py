"""The fields of an API resource, each declared once.

A :class:`Field` says how a field is checked when written (or that it is
read-only), the version that introduced it, how it is shown (timestamps,
masked secrets) and whether a list can be sorted by it. Creating, patching,
rendering and listing a resource are derived from its declarations, the
same way for nodes, ports and what comes next.

A registry is a ``dict`` of name to :class:`Field`.
"""

import dataclasses
from collections.abc import Callable
from collections.abc import Mapping

from oslo_utils import strutils
from oslo_utils import uuidutils

from ironic_lite.api import timestamps
from ironic_lite.api import versions
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy


@dataclasses.dataclass(frozen=True)
class Field:
    """A field of an API object and how it may be written."""

    name: str
    # (request, field name, value) -> the value to store; raises a 4xx.
    # None: read-only.
    check: Callable | None = None
    # The version that introduced it: hidden from older requests, and
    # naming it there (fields, sort_key, POST, PATCH) answers 406.
    since: versions.Minor | None = None
    on_patch: bool = True
    removed: object = None  # its value after a JSON patch "remove"
    # Needed on create, and never removed by a patch.
    mandatory: bool = False
    # Values older clients send for the field before it existed, accepted
    # in a POST at any version.
    accepted_before_since: tuple = ()
    # Ironic's own 400 for the field in a POST or a PATCH, where it has one
    # rather than treating the field as read-only.
    refused_on_create: str | None = None
    refused_on_patch: str | None = None
    # (request, stored value) -> the value shown: formats, masked secrets.
    # Other than a render.Masked, it may look at the request's version only,
    # and shows None as None: lists work it out once per version and value.
    show: Callable | None = None
    # A list can be sorted by it (when it is a sortable column).
    sortable: bool = True

    @property
    def read_only_on_create(self) -> bool:
        return self.check is None and self.refused_on_create is None

    @property
    def patchable(self) -> bool:
        return (self.check is not None and self.on_patch
                and self.refused_on_patch is None)

    @property
    def internal(self) -> bool:
        """Read-only in a patch, as Ironic words it."""
        return not self.patchable and self.refused_on_patch is None


Registry = Mapping[str, Field]


def registry(*declared: Field) -> dict[str, Field]:
    return {field.name: field for field in declared}


def visible(request, fields: Registry) -> tuple[str, ...]:
    """The fields the request's version knows, sorted (worked out once per
    registry and version: every read of a node asks)."""
    key = (id(fields), request.version)
    known = _VISIBLE.get(key)
    if known is None or known[0] is not fields:
        known = _VISIBLE[key] = (fields, tuple(
            name for name in sorted(fields)
            if allowed(request, fields[name])))
    return known[1]


# (id of a registry, version) -> (the registry, its visible fields). The
# registries are declared once, at import.
_VISIBLE: dict[tuple[int, int], tuple[Registry, tuple[str, ...]]] = {}


def allowed(request, field: Field) -> bool:
    return field.since is None or versions.allows(request, field.since)


def require_version(request, fields: Registry, name: str) -> None:
    """406 (without naming a version, as Ironic) for a field newer than the
    request; unknown names are left to the caller."""
    field = fields.get(name)
    if field is not None and field.since is not None:
        versions.require(request, field.since, explain=False)


def sort_keys(fields: Registry, model) -> tuple[frozenset, frozenset]:
    """The keys a list of ``model`` sorts by (its sortable fields that are
    sortable columns, and id), and the fields that are columns yet not
    sortable (Ironic refuses those with its unquoted message)."""
    columns = frozenset(c.name for c in model.__table__.columns)
    sortable = db_sqlalchemy.sortable_columns(model) & (
        frozenset(name for name, field in fields.items() if field.sortable)
        | {'id'})
    return sortable, frozenset(fields) & (columns - sortable)


def parse_new(request, fields: Registry, body, resource: str) -> dict:
    """The values of a POST body, validated against the declarations.

    :raises Invalid: not an object, an unknown, read-only, refused or
        invalid field, a mandatory one missing.
    :raises NotAcceptable: a field newer than the request.
    """
    if not isinstance(body, dict):
        raise exception.Invalid('The request body must be a JSON object '
                                'describing the %s.' % resource)
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise exception.Invalid(
            'Unknown attribute%s for argument %s: %s'
            % ('s' if len(unknown) > 1 else '', resource, ', '.join(unknown)))
    values = {}
    for name, raw in body.items():
        field = fields[name]
        if field.read_only_on_create:
            raise invalid(name, raw, 'Cannot set read only field.')
        if field.check is not None:
            values[name] = field.check(request, name, raw)
    for name, field in fields.items():
        if field.mandatory and values.get(name) is None:
            raise invalid(name, None, 'Mandatory field missing.')
    for name, value in body.items():
        if value not in fields[name].accepted_before_since:
            require_version(request, fields, name)
    for name in body:
        if fields[name].refused_on_create:
            raise exception.Invalid(fields[name].refused_on_create)
    return values


# Checks of written values. Each returns the value to store or raises an
# exception with a 4xx code, worded as Ironic (WSME) words it.

def invalid(field: str, value, reason: str) -> exception.Invalid:
    return exception.InvalidParameterValue(
        err="Invalid input for field/attribute %s. Value: '%s'. %s"
        % (field, value, reason))


def wrong_type(field: str, value, expected: type) -> exception.Invalid:
    return invalid(field, value, "Wrong type. Expected '%s', got '%s'"
                   % (expected, type(value)))


def check_text(max_length=None, nullable=True):
    def check(request, field, value):
        if value is None:
            if nullable:
                return None
            raise invalid(field, None, 'Mandatory field missing.')
        if not isinstance(value, str):
            raise wrong_type(field, value, str)
        if max_length and len(value) > max_length:
            raise invalid(field, value, 'Value should have a maximum '
                          'character requirement of %d' % max_length)
        return value
    return check


def check_document(request, field, value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(field, value, 'Value not a valid dict: %s' % value)
    return value


def check_bool(nullable=False):
    def check(request, field, value):
        if value is None and nullable:
            return None
        try:
            return strutils.bool_from_string(value, strict=True)
        except ValueError as e:
            raise exception.Invalid(str(e))
    return check


def check_uuid(request, field, value):
    if value is None:
        return None
    return types.canonical_uuid(value)


def show_time(request, value):
    return timestamps.isotime(value)


def new_uuid(values: dict) -> str:
    return values.get('uuid') or uuidutils.generate_uuid()
