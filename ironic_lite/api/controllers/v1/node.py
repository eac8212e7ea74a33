"""/v1/nodes: the bare-metal machines, and which conductor serves each."""

import contextlib
import copy
import dataclasses
import re
import types as pytypes
from collections.abc import Callable

import jsonpatch
import pecan
from oslo_log import log
from oslo_utils import strutils
from oslo_utils import uuidutils
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api import policy
from ironic_lite.api import rings
from ironic_lite.api import timestamps
from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import conductor as conductor_api
from ironic_lite.api.controllers.v1 import listing
from ironic_lite.api.controllers.v1 import node_provision
from ironic_lite.api.controllers.v1 import routing
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception
from ironic_lite.common import interfaces
from ironic_lite.common import states
from ironic_lite.conf import CONF
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
from ironic_lite.db.sqlalchemy import models

LOG = log.getLogger(__name__)

Minor = versions.Minor

# Node names: RFC 3986 unreserved characters from 1.10; before, Ironic's
# old host name expression, kept as it was (underscores after the first dot,
# a trailing dot).
_LOGICAL_NAME = re.compile(r'^[A-Z0-9\-._~]+$', re.IGNORECASE)
_HOSTNAME_SAFE = re.compile(r"""^
[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?  # host
(\.[a-z0-9\-_]{0,62}[a-z0-9])*       # domain
\.?                                  # trailing dot
$""", re.VERBOSE)
# The words of Ironic's node URLs, which it refuses as node names.
RESERVED_NAMES = ('maintenance', 'management', 'states', 'vendor_passthru',
                  'detail', 'validate')
_CONDUCTOR_GROUP = re.compile(r'^[a-zA-Z0-9_\-.]*$')
# The faults a conductor records on a node, the only values ?fault= takes.
FAULTS = ('power failure', 'clean failure', 'rescue abort failure')
# What a JSON patch operation may hold and where it may point.
_PATCH_KEYS = frozenset({'op', 'path', 'value'})
_PATCH_OPS = ('add', 'replace', 'remove')
_PATCH_PATH = r'^(/[\w\-.~:]+)+$'
_PATCH_FAILURES = (jsonpatch.JsonPatchException,
                   jsonpatch.JsonPointerException, KeyError, IndexError)
# Not node fields, yet Ironic answers a patch of them as of any read-only one.
_PATCH_INTERNAL = frozenset({'id', 'links'})
# How many times a PATCH is applied to a node that other writes keep changing
# before the API answers 409 (clients retry 409 on their own).
_PATCH_ATTEMPTS = 5


# Checks of written values. Each returns the value to store or raises an
# exception with a 4xx code, worded as Ironic (WSME) words it.

def _invalid(field: str, value, reason: str):
    return exception.InvalidParameterValue(
        err="Invalid input for field/attribute %s. Value: '%s'. %s"
        % (field, value, reason))


def _wrong_type(field: str, value, expected: type):
    return _invalid(field, value, "Wrong type. Expected '%s', got '%s'"
                    % (expected, type(value)))


def is_valid_logical_name(request, name) -> bool:
    """A name the request's version lets a node have or be looked up by."""
    if not isinstance(name, str) or len(name) > 255:
        return False
    if versions.allows(request, Minor.RFC3986_NAMES):
        return bool(_LOGICAL_NAME.match(name))
    return bool(_HOSTNAME_SAFE.match(name))


def is_valid_node_name(request, name) -> bool:
    return (is_valid_logical_name(request, name)
            and not uuidutils.is_uuid_like(name))


def _check_names_acceptable(request, names: list, message: str) -> None:
    """Refuse names the version does not allow; ``message`` has a
    ``%(name)s`` for the first invalid one."""
    versions.require(request, Minor.NODE_NAME, explain=False)
    for name in names:
        if not is_valid_node_name(request, name):
            raise exception.Invalid(message % {'name': name})
        if name in RESERVED_NAMES:
            raise exception.Invalid(
                'The word "%s" is reserved and can not be used as a node '
                'name. Reserved words are: %s.'
                % (name, ', '.join(RESERVED_NAMES)))


def _check_text(max_length=None, nullable=True):
    def check(request, field, value):
        if value is None:
            if nullable:
                return None
            raise _invalid(field, None, 'Mandatory field missing.')
        if not isinstance(value, str):
            raise _wrong_type(field, value, str)
        if max_length and len(value) > max_length:
            raise _invalid(field, value, 'Value should have a maximum '
                           'character requirement of %d' % max_length)
        return value
    return check


def _check_document(request, field, value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid(field, value, 'Value not a valid dict: %s' % value)
    return value


def _check_bool(nullable=False):
    def check(request, field, value):
        if value is None and nullable:
            return None
        try:
            return strutils.bool_from_string(value, strict=True)
        except ValueError as e:
            raise exception.Invalid(str(e))
    return check


def _check_uuid(request, field, value):
    if value is None:
        return None
    return types.canonical_uuid(value)


def _check_conductor_group(request, field, value):
    if not isinstance(value, str) or len(value) > 255 or \
            not _CONDUCTOR_GROUP.match(value):
        raise exception.InvalidConductorGroup(group=value)
    return value.lower()


def _check_chassis(request, field, value):
    # ironic-lite has no chassis, so none can be named.
    if value is not None:
        raise exception.InvalidParameterValue(
            err='Chassis %s could not be found.' % value)
    return None


@dataclasses.dataclass(frozen=True)
class NodeField:
    """A field of the node API object and how it may be written."""

    name: str
    check: Callable | None = None  # None: read-only
    on_patch: bool = True
    removed: object = None  # its value after a JSON patch "remove"
    # Ironic's own 400 for the field in a POST or a PATCH, where it has one
    # rather than treating the field as read-only.
    refused_on_create: str | None = None
    refused_on_patch: str | None = None

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


_PROTECTION_ON_CREATE = ('Cannot specify protected or protected_reason on '
                         'node creation. These fields can only be set for '
                         'active nodes')

FIELDS: dict[str, NodeField] = {f.name: f for f in [
    NodeField('uuid', _check_uuid, on_patch=False),
    NodeField('name', _check_text()),
    NodeField('driver', _check_text(255, nullable=False)),
    NodeField('driver_info', _check_document, removed={}),
    NodeField('driver_internal_info'),
    NodeField('instance_uuid', _check_uuid),
    NodeField('instance_info', _check_document, removed={}),
    NodeField('properties', _check_document, removed={}),
    NodeField('extra', _check_document, removed={}),
    NodeField('chassis_uuid', _check_chassis),
    NodeField('conductor_group', _check_conductor_group, removed=''),
    NodeField('conductor'),
    NodeField('reservation'),
    NodeField('power_state'),
    NodeField('target_power_state'),
    NodeField('provision_state'),
    NodeField('target_provision_state'),
    NodeField('provision_updated_at'),
    NodeField('last_error'),
    NodeField('maintenance', _check_bool(), removed=False),
    NodeField('maintenance_reason'),
    NodeField('fault'),
    NodeField('console_enabled'),
    NodeField('resource_class', _check_text(80)),
    NodeField('inspection_started_at'),
    NodeField('inspection_finished_at'),
    NodeField('clean_step'),
    NodeField('deploy_step'),
    NodeField('raid_config'),
    NodeField('target_raid_config'),
    NodeField('automated_clean', _check_bool(nullable=True)),
    NodeField('protected', _check_bool(), removed=False,
              refused_on_create=_PROTECTION_ON_CREATE),
    NodeField('protected_reason', _check_text(),
              refused_on_create=_PROTECTION_ON_CREATE),
    NodeField('traits', refused_on_create=(
        'Cannot specify node traits on node creation. Traits must be set '
        'via the node traits API.'), refused_on_patch=(
        'Cannot update node traits via node patch. Node traits should be '
        'updated via the node traits API.')),
    NodeField('created_at'),
    NodeField('updated_at'),
    *(NodeField(name, _check_text(255)) for name in interfaces.NODE_FIELDS),
]}

DEFAULT_FIELDS = ('instance_uuid', 'maintenance', 'name', 'power_state',
                  'provision_state', 'uuid')
_TIMESTAMPS = frozenset({'created_at', 'updated_at', 'provision_updated_at',
                         'inspection_started_at', 'inspection_finished_at'})
# Documents whose passwords are masked, and the one more key of each that
# Ironic hides too (an SSH key; a swift temporary URL).
_SECRET_DOCUMENTS = {'driver_info': 'ssh_key_contents',
                     'instance_info': 'image_url'}
# The version each list filter needs. Ironic's 406 names that version for
# every filter but the oldest one, provision_state.
_FILTERS_SINCE = {
    'provision_state': Minor.FILTER_PROVISION_STATE,
    'driver': Minor.FILTER_DRIVER,
    'resource_class': Minor.RESOURCE_CLASS,
    'fault': Minor.FAULT,
    'conductor_group': Minor.CONDUCTOR_GROUP,
    'conductor': Minor.CONDUCTORS,
}
_QUIET_FILTERS = frozenset({'provision_state'})
# A list sorts by the node's API fields that are columns, and by id (the
# default, as in Ironic); never by internal columns (conductor_affinity,
# ring_position), whose order would leak what the API does not show.
_SORTABLE = db_sqlalchemy.sortable_columns(models.Node) & (
    frozenset(FIELDS) | {'id'})
# Fields that are columns but not sortable (the JSON documents) get
# Ironic's unquoted message; other unknown keys the quoted one.
_UNSORTABLE = frozenset(FIELDS) & (
    frozenset(c.name for c in models.Node.__table__.columns) - _SORTABLE)


def visible_fields(request) -> tuple[str, ...]:
    return tuple(name for name in sorted(FIELDS)
                 if versions.node_field_allowed(request, name))


def _provision_state_for(request, state: str | None) -> str | None:
    """States older clients do not know, shown as they knew them."""
    if state == states.AVAILABLE and not versions.allows(
            request, Minor.AVAILABLE_STATE):
        return None
    if state == states.INSPECTWAIT and not versions.allows(
            request, Minor.INSPECT_WAIT):
        return states.INSPECTING
    return state


def _masked(field: str, document: dict) -> dict:
    masked = strutils.mask_dict_password(document, '******')
    if masked.get(_SECRET_DOCUMENTS[field]):
        masked[_SECRET_DOCUMENTS[field]] = '******'
    return masked


class NodeRenderer:
    """Turns node rows into API objects at the request's version.

    ``whole`` is a node shown with every field (show, detail, create,
    update): only then does it link to its sub-resources, as in Ironic.
    """

    def __init__(self, request, fields: tuple[str, ...], whole: bool):
        self.request = request
        self.fields = fields
        self.whole = whole

    def conductor_of(self, row) -> str | None:
        try:
            return rings.rings_for(self.request).conductor_for(row)
        except (exception.NoValidHost, exception.TemporaryFailure) as e:
            LOG.debug('No conductor for node %s: %s', row.uuid, e)
            return None

    def value(self, row, field: str):
        if field == 'conductor':
            return self.conductor_of(row)
        if field == 'chassis_uuid':
            return None
        value = getattr(row, field)
        if field in _TIMESTAMPS:
            return timestamps.isotime(value)
        if field in _SECRET_DOCUMENTS:
            return _masked(field, value)
        if field == 'provision_state':
            return _provision_state_for(self.request, value)
        return value

    def render(self, row) -> dict:
        result = {field: self.value(row, field) for field in self.fields}
        result['links'] = link.self_and_bookmark(self.request, 'nodes',
                                                 row.uuid)
        if self.whole and versions.allows(self.request, Minor.STATES_LINK):
            result['states'] = link.self_and_bookmark(self.request, 'nodes',
                                                      row.uuid, 'states')
        return result


# What a node's links and conductor need, whatever the fields shown.
_ALWAYS_LOADED = ('uuid', 'driver', 'conductor_group')
_NOT_COLUMNS = frozenset({'conductor', 'chassis_uuid'})


def _columns_for(fields: tuple[str, ...]) -> tuple[str, ...]:
    """The node columns to read to show ``fields``: a default list of a
    thousand nodes need not decode a thousand of each JSON document."""
    return tuple(dict.fromkeys(
        _ALWAYS_LOADED + tuple(f for f in fields if f not in _NOT_COLUMNS)))


def full(request, row) -> dict:
    """A node with every field the request's version knows."""
    return NodeRenderer(request, visible_fields(request), True).render(row)


def get_node(request, ident: str):
    """A node by UUID, or by name where the version allows names.

    :raises InvalidUuidOrName: ``ident`` can be neither.
    :raises NodeNotFound: no such node, or a name before names existed.
    """
    if uuidutils.is_uuid_like(ident):
        return request.dbapi.get_node_by_uuid(types.canonical_uuid(ident))
    if len(ident) > 255 or not _LOGICAL_NAME.match(ident):
        raise exception.InvalidUuidOrName(name=ident)
    if not versions.allows(request, Minor.NODE_NAME):
        # What Ironic answered before names existed.
        raise exception.NodeNotFound(node=ident)
    if not is_valid_logical_name(request, ident):
        raise exception.InvalidUuidOrName(name=ident)
    return request.dbapi.get_node_by_name(ident)


def _check_version_of(request, field: str) -> None:
    since = versions.NODE_FIELD_SINCE.get(field)
    if since is not None:
        versions.require(request, since, explain=False)


@contextlib.contextmanager
def _no_host_is_bad_request():
    """A driver or group no conductor serves is the client's mistake: 400,
    not the 404 of NoValidHost, as in Ironic."""
    try:
        yield
    except exception.NoValidHost as e:
        raise exception.Invalid(e.faultstring)


def _parse_new_node(request, body) -> dict:
    """The values of a POST /v1/nodes body, validated."""
    if not isinstance(body, dict):
        raise exception.Invalid('The request body must be a JSON object '
                                'describing the node.')
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise exception.Invalid(
            'Unknown attribute%s for argument node: %s'
            % ('s' if len(unknown) > 1 else '', ', '.join(unknown)))
    values = {}
    for name, raw in body.items():
        field = FIELDS[name]
        if field.read_only_on_create:
            raise _invalid(name, raw, 'Cannot set read only field.')
        if field.check is not None:
            values[name] = field.check(request, name, raw)
    if values.get('driver') is None:
        raise _invalid('driver', None, 'Mandatory field missing.')
    for name, value in body.items():
        # An empty group and a null name are what older clients meant.
        if not ((name == 'conductor_group' and value == '')
                or (name == 'name' and value is None)):
            _check_version_of(request, name)
    for name in body:
        if FIELDS[name].refused_on_create:
            raise exception.Invalid(FIELDS[name].refused_on_create)
    if values.get('name') is not None:
        _check_names_acceptable(request, [values['name']],
                                "Cannot create node with invalid name "
                                "'%(name)s'")
    values.pop('chassis_uuid', None)
    values['uuid'] = values.get('uuid') or uuidutils.generate_uuid()
    values.setdefault('conductor_group', '')
    values['provision_state'] = (
        states.ENROLL if versions.allows(request, Minor.ENROLL_STATE)
        else states.AVAILABLE)
    return values


def _patch_root(path: str) -> str:
    return path.lstrip('/').split('/', 1)[0]


def _check_patch_op(op) -> None:
    """One JSON patch operation, checked as WSME checks Ironic's."""
    if not isinstance(op, dict):
        raise exception.Invalid('Each JSON patch operation must be a JSON '
                                'object.')
    unknown = sorted(set(op) - _PATCH_KEYS)
    if unknown:
        raise exception.Invalid(
            'Unknown attribute%s for argument patch: %s'
            % ('s' if len(unknown) > 1 else '', ', '.join(unknown)))
    for key in ('op', 'path'):
        if op.get(key) is None:
            raise _invalid(key, None, 'Mandatory field missing.')
    kind, path = op['op'], op['path']
    if kind not in _PATCH_OPS:
        raise _invalid('op', kind, 'Value should be one of: %s'
                       % ', '.join(_PATCH_OPS))
    if not isinstance(path, str) or not re.match(_PATCH_PATH, path):
        raise _invalid('path', path, 'Value should match the pattern %s'
                       % _PATCH_PATH)
    root = _patch_root(path)
    field = FIELDS.get(root)
    if root in _PATCH_INTERNAL or (field is not None and field.internal):
        raise exception.Invalid(
            "'%s' is an internal attribute and can not be updated" % path)
    if kind == 'remove' and path == '/driver':
        raise exception.Invalid("'/driver' is a mandatory attribute and "
                                'can not be removed')
    if kind != 'remove' and 'value' not in op:
        raise exception.Invalid("'add' and 'replace' operations need a "
                                'value')


def _check_patch(request, patch, reset_interfaces) -> None:
    """A PATCH body: a list of operations Ironic would accept."""
    if not isinstance(patch, list):
        raise _invalid('patch', patch, 'Value not a valid list: %s' % patch)
    if len(patch) > CONF.api.max_patch_operations:
        raise exception.Invalid(
            'The patch has %d operations; at most %d are allowed.'
            % (len(patch), CONF.api.max_patch_operations))
    for op in patch:
        _check_patch_op(op)
    for op in patch:
        _check_version_of(request, _patch_root(op['path']))
    for op in patch:
        field = FIELDS.get(_patch_root(op['path']))
        if field is not None and field.refused_on_patch:
            raise exception.Invalid(field.refused_on_patch)
    if reset_interfaces and not _patch_values(patch, '/driver'):
        raise exception.Invalid('The reset_interfaces parameter can only be '
                                "used when changing the node's driver.")


def _patch_values(patch, path: str) -> list:
    """The values a patch adds or replaces at ``path``."""
    return [op['value'] for op in patch
            if op['path'] == path and op['op'] != 'remove']


def _apply_patch(request, row, patch) -> dict:
    """The changes a checked JSON patch makes to a node, validated."""
    writable = [name for name in visible_fields(request)
                if FIELDS[name].patchable]
    document = {name: None if name == 'chassis_uuid' else getattr(row, name)
                for name in writable}
    for op in patch:
        if op['op'] == 'add' and op['path'].count('/') == 1 and \
                _patch_root(op['path']) not in document:
            raise exception.Invalid('Adding a new attribute (%s) to the root '
                                    'of the resource is not allowed'
                                    % op['path'])
    # One copy, patched in place one operation at a time: the cost grows
    # with the patch, and an error names the operation that failed. The
    # patch is copied too: a later operation must not change a value an
    # earlier one added, since the patch may be applied again.
    patched = copy.deepcopy(document)
    for op in copy.deepcopy(patch):
        try:
            patched = jsonpatch.JsonPatch([op]).apply(patched, in_place=True)
        except _PATCH_FAILURES as e:
            raise exception.PatchError(patch=op, reason=e)
    changes = {}
    for name in writable:
        field = FIELDS[name]
        new = patched.get(name, field.removed)
        if new != document[name]:
            changes[name] = field.check(request, name, new)
    changes.pop('chassis_uuid', None)
    return changes


def _edited_key_by_key(patch) -> set[str]:
    """The fields a patch only edits below their top level
    (``/extra/key``), never replaces or removes whole (``/extra``)."""
    below = {_patch_root(op['path']) for op in patch
             if op['path'].count('/') > 1}
    whole = {_patch_root(op['path']) for op in patch
             if op['path'].count('/') == 1}
    return below - whole


def _patch_node(request, row, patch, reset_interfaces):
    """Apply a checked patch to the node as its conductor holds it; the
    node after.

    The patch is applied to ``row``, and the conductor writes the result
    only if what it changes (a field, or a key of a JSON document the patch
    edits key by key) still holds the value read; if another write changed
    it meanwhile, the patch is applied again to the node as it is now.

    :raises NodeLocked: the node stayed busy or kept changing.
    """
    for attempt in range(1, _PATCH_ATTEMPTS + 1):
        changes = _apply_patch(request, row, patch)
        if not changes and not reset_interfaces:
            return row
        expected = {name: getattr(row, name) for name in changes}
        mergeable = sorted(_edited_key_by_key(patch) & set(changes))
        try:
            with _no_host_is_bad_request():
                request.rpcapi.update_node(
                    request.context, _routing_view(row, changes), changes,
                    reset_interfaces=reset_interfaces, expected=expected,
                    mergeable=mergeable)
        except exception.NodeChanged as e:
            LOG.debug('Node %s changed while patched (attempt %d of %d): %s',
                      row.uuid, attempt, _PATCH_ATTEMPTS, e.faultstring)
            host = e.kwargs.get('host')
        else:
            return request.dbapi.get_node_by_uuid(row.uuid)
        # By UUID: another patch may have renamed the node.
        row = request.dbapi.get_node_by_uuid(row.uuid)
    raise exception.NodeLocked(node=row.uuid,
                               host=host or 'another conductor')


def _routing_view(row, changes: dict | None = None):
    """What the hash ring needs to route work about a node."""
    values = {'uuid': row.uuid, 'driver': row.driver,
              'conductor_group': row.conductor_group}
    values.update({k: v for k, v in (changes or {}).items() if k in values})
    return pytypes.SimpleNamespace(**values)


class NodeStatesController(rest.RestController):
    """GET /v1/nodes/{node_ident}/states, PUT .../states/provision."""

    _custom_actions = {'provision': ['PUT']}

    def __init__(self, node_ident: str):
        self.node_ident = node_ident

    @expose.expose(None, body=types.jsontype, status_code=202)
    def provision(self, body):
        node_provision.set_provision_state(pecan.request, self.node_ident,
                                           body, get_node)

    @expose.expose(types.jsontype)
    def get(self):
        request = pecan.request
        policy.authorize('baremetal:node:get', request.context)
        row = get_node(request, self.node_ident)
        fields = ['console_enabled', 'last_error', 'power_state',
                  'provision_state', 'provision_updated_at',
                  'target_power_state', 'target_provision_state']
        if versions.allows(request, Minor.RAID):
            fields += ['raid_config', 'target_raid_config']
        renderer = NodeRenderer(request, (), False)
        return {field: renderer.value(row, field) for field in sorted(fields)}


class NodeConductorController(rest.RestController):
    """GET /v1/nodes/{node_ident}/conductor: the conductor serving it."""

    def __init__(self, node_ident: str):
        self.node_ident = node_ident

    @pecan.expose()
    def _route(self, args, request=None):
        routing.refuse_extra_segments(args, 0)
        return super()._route(args, request)

    @expose.expose(types.jsontype, types.listtype)
    def get(self, fields=None):
        request = pecan.request
        policy.authorize('baremetal:conductor:get', request.context)
        if not versions.allows(request, Minor.CONDUCTORS):
            raise exception.NotFound()
        policy.authorize('baremetal:node:get', request.context)
        row = get_node(request, self.node_ident)
        try:
            hostname = rings.rings_for(request).conductor_for(row)
        except (exception.NoValidHost, exception.TemporaryFailure) as e:
            raise exception.NotFound(
                'No alive conductor can serve node %s: %s' % (row.uuid, e))
        return conductor_api.show(
            request, request.dbapi.get_conductor(hostname), fields)


class NodesController(rest.RestController):
    """The node collection and each node."""

    _custom_actions = {'detail': ['GET']}
    _subresources = {'states': NodeStatesController,
                     'conductor': NodeConductorController}

    @pecan.expose()
    def _route(self, args, request=None):
        routing.refuse_post_on_member(args, request)
        if len(args) >= 2 and args[1] in self._subresources:
            subresource = self._subresources[args[1]](args[0])
            return subresource._route(args[2:], request)
        if len(args) >= 2 and args[1] and args[0] != 'detail':
            # /nodes/{ident}/ports and the other sub-resources Ironic has
            # and ironic-lite has not (pecan would pass the name as the
            # fields argument of get_one).
            pecan.abort(404)
        routing.refuse_extra_segments(args, 1)
        return super()._route(args, request)

    def _list(self, detail_endpoint: bool, *, marker, limit, sort_key,
              sort_dir, fields, detail, filters: dict):
        request = pecan.request
        policy.authorize('baremetal:node:get', request.context)
        if fields is not None:
            versions.require(request, Minor.FIELDS, explain=False)
        for field in [*(fields or ()), sort_key]:
            _check_version_of(request, field)
        for name, since in _FILTERS_SINCE.items():
            if filters.get(name) is not None:
                versions.require(request, since,
                                 explain=name not in _QUIET_FILTERS)
        fault = filters.get('fault')
        if fault is not None and fault not in FAULTS:
            raise exception.Invalid(
                'Unrecognized fault "%s" is specified, allowed faults are %s'
                % (fault, FAULTS))
        visible = visible_fields(request)
        shown = visible if detail_endpoint else listing.return_fields(
            request, fields, detail, frozenset(visible),
            tuple(name for name in DEFAULT_FIELDS if name in visible),
            visible)
        limit = listing.limit_from(limit)
        listing.check_sort(sort_key, sort_dir, _SORTABLE, _UNSORTABLE)

        query = {k: v for k, v in filters.items() if v is not None}
        if query.get('conductor_group') is not None:
            query['conductor_group'] = query['conductor_group'].lower()
        if query.pop('chassis_uuid', None) is not None:
            # As Ironic, which looks the chassis up first; there are none.
            raise exception.NotFound('Chassis %s could not be found.'
                                     % filters['chassis_uuid'])
        hostname = query.pop('conductor', None)
        if hostname:
            query['ring_arcs'] = rings.rings_for(request).arcs_of(
                hostname)

        marker_row = None
        if marker is not None:
            marker_row = request.dbapi.get_node_by_uuid(
                types.canonical_uuid(marker))
        rows = request.dbapi.get_node_list(query, limit=limit,
                                           marker=marker_row,
                                           sort_key=sort_key,
                                           sort_dir=sort_dir,
                                           columns=_columns_for(shown))
        renderer = NodeRenderer(request, shown,
                                detail_endpoint or bool(detail))
        result = {'nodes': [renderer.render(row) for row in rows]}
        params = [(name, filters.get(name)) for name in sorted(filters)]
        if not detail_endpoint:
            params += [('fields', fields), ('detail', detail)]
        params += [('sort_key', sort_key), ('sort_dir', sort_dir)]
        next_url = listing.next_url(
            request, 'nodes/detail' if detail_endpoint else 'nodes', params,
            rows, limit, lambda row: row.uuid)
        if next_url:
            result['next'] = next_url
        return result

    @expose.expose(types.jsontype, types.uuid, types.uuid, types.boolean,
                   types.boolean, types.text, types.text, types.text,
                   types.text, types.text, types.text, types.text,
                   types.text, types.text, types.text, types.listtype,
                   types.boolean)
    def get_all(self, chassis_uuid=None, instance_uuid=None, associated=None,
                maintenance=None, provision_state=None, marker=None,
                limit=None, sort_key='id', sort_dir='asc', driver=None,
                resource_class=None, fault=None, conductor_group=None,
                conductor=None, fields=None, detail=None):
        return self._list(
            False, marker=marker, limit=limit, sort_key=sort_key,
            sort_dir=sort_dir, fields=fields, detail=detail,
            filters=dict(
                chassis_uuid=chassis_uuid, instance_uuid=instance_uuid,
                associated=associated, maintenance=maintenance,
                provision_state=provision_state, driver=driver,
                resource_class=resource_class, fault=fault,
                conductor_group=conductor_group, conductor=conductor))

    @expose.expose(types.jsontype, types.uuid, types.uuid, types.boolean,
                   types.boolean, types.text, types.text, types.text,
                   types.text, types.text, types.text, types.text,
                   types.text, types.text, types.text)
    def detail(self, chassis_uuid=None, instance_uuid=None, associated=None,
               maintenance=None, provision_state=None, marker=None,
               limit=None, sort_key='id', sort_dir='asc', driver=None,
               resource_class=None, fault=None, conductor_group=None,
               conductor=None):
        return self._list(
            True, marker=marker, limit=limit, sort_key=sort_key,
            sort_dir=sort_dir, fields=None, detail=None,
            filters=dict(
                chassis_uuid=chassis_uuid, instance_uuid=instance_uuid,
                associated=associated, maintenance=maintenance,
                provision_state=provision_state, driver=driver,
                resource_class=resource_class, fault=fault,
                conductor_group=conductor_group, conductor=conductor))

    @expose.expose(types.jsontype, types.text, types.listtype)
    def get_one(self, node_ident, fields=None):
        request = pecan.request
        policy.authorize('baremetal:node:get', request.context)
        row = get_node(request, node_ident)
        for field in fields or ():
            _check_version_of(request, field)
        visible = visible_fields(request)
        shown = listing.return_fields(request, fields, None,
                                      frozenset(visible), visible, visible)
        return NodeRenderer(request, shown, fields is None).render(row)

    @expose.expose(types.jsontype, body=types.jsontype, status_code=201)
    def post(self, node):
        request = pecan.request
        policy.authorize('baremetal:node:create', request.context)
        values = _parse_new_node(request, node)
        target = _routing_view(pytypes.SimpleNamespace(**values))
        with _no_host_is_bad_request():
            uuid = request.rpcapi.create_node(request.context, target,
                                              values)
        row = request.dbapi.get_node_by_uuid(uuid)
        pecan.response.location = link.build_url(request, 'nodes', row.uuid)
        return full(request, row)

    @expose.expose(types.jsontype, types.text, types.boolean,
                   body=types.jsontype)
    def patch(self, node_ident, reset_interfaces=None, patch=None):
        request = pecan.request
        policy.authorize('baremetal:node:update', request.context)
        if reset_interfaces is not None:
            versions.require(request, Minor.RESET_INTERFACES, explain=False)
        _check_patch(request, patch, reset_interfaces)
        row = get_node(request, node_ident)
        names = _patch_values(patch, '/name')
        if names:
            _check_names_acceptable(
                request, names, "Node %s: Cannot change name to invalid "
                "name '%%(name)s'" % node_ident)
        return full(request, _patch_node(request, row, patch,
                                         reset_interfaces))

    @expose.expose(None, types.text, status_code=204)
    def delete(self, node_ident):
        request = pecan.request
        policy.authorize('baremetal:node:delete', request.context)
        row = get_node(request, node_ident)
        with _no_host_is_bad_request():
            request.rpcapi.destroy_node(request.context, _routing_view(row))
