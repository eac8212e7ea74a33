"""WSME types for query parameters and bodies, with Ironic's error messages.

A value that does not convert becomes an :class:`expose.Rejected` holding an
ironic-lite exception with a 4xx code; the controller raises it before it
runs, so the client reads that exception's own message (WSME would have
wrapped it in "unable to convert to ...") and never a 500.
"""

import json
import uuid as uuidlib

from oslo_utils import strutils
from oslo_utils import uuidutils
from wsme import types as wtypes

from ironic_lite.api import expose
from ironic_lite.common import exception


class _QueryType(wtypes.UserType):
    """A text query parameter checked by ``validate``."""

    basetype = wtypes.text

    def frombasetype(self, value):
        if value is None:
            return None
        try:
            return self.validate(value)
        except exception.IronicLiteException as e:
            return expose.Rejected(e)


def canonical_uuid(value) -> str:
    """A UUID in the one spelling ironic-lite stores and compares:
    lowercase, dashed. ``is_uuid_like`` also takes upper case, no dashes,
    ``{...}`` and ``urn:uuid:...``; stored as given, they would let the same
    machine be enrolled once per spelling.

    :raises InvalidUUID: ``value`` is not a UUID in any spelling.
    """
    if not isinstance(value, str) or not uuidutils.is_uuid_like(value):
        raise exception.InvalidUUID(uuid=value)
    return str(uuidlib.UUID(value))


class UuidType(_QueryType):
    name = 'uuid'

    def validate(self, value):
        return canonical_uuid(value)


class BooleanType(_QueryType):
    """``true``/``false`` and the other spellings oslo's strict parse takes."""

    name = 'boolean'

    def validate(self, value):
        try:
            return strutils.bool_from_string(value, strict=True)
        except ValueError as e:
            raise exception.Invalid(str(e))


class ListType(_QueryType):
    """A comma-separated list: items stripped, lowercased, de-duplicated,
    in the order given."""

    name = 'list'

    def validate(self, value):
        items = (item.strip().lower() for item in value.split(','))
        return list(dict.fromkeys(item for item in items if item))


class JsonType(wtypes.UserType):
    """Any JSON document, passed through as parsed."""

    basetype = wtypes.text
    name = 'json'

    def validate(self, value):
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise exception.Invalid('%s is not JSON serializable' % value)
        return value

    def frombasetype(self, value):
        return value


uuid = UuidType()
boolean = BooleanType()
listtype = ListType()
jsontype = JsonType()
text = wtypes.text
