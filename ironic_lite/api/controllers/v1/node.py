"""/v1/nodes: the bare-metal machines, and which conductor serves each."""

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
from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import conductor as conductor_api
from ironic_lite.api.controllers.v1 import listing
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
from ironic_lite.db.sqlalchemy import models

LOG = log.getLogger(__name__)

Minor = versions.Minor

# Node names: RFC 3986 unreserved characters from 1.10, host names before.
_LOGICAL_NAME = re.compile(r'^[A-Z0-9\-._~]+$', re.IGNORECASE)
_HOST_LABEL = re.compile(r'^[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?$')
_CONDUCTOR_GROUP = re.compile(r'^[a-zA-Z0-9_\-.]*$')


# Checks of written values. Each returns the value to store or raises
# InvalidParameterValue.

def _invalid(field: str, value, reason: str):
    return exception.InvalidParameterValue(
        err="Invalid input for field/attribute %s. Value: '%s'. %s"
        % (field, value, reason))


def is_valid_name(request, name: str) -> bool:
    if uuidutils.is_uuid_like(name) or len(name) > 255:
        return False
    if versions.allows(request, Minor.RFC3986_NAMES):
        return bool(_LOGICAL_NAME.match(name))
    return all(_HOST_LABEL.match(label) for label in name.split('.'))


def _check_name(request, field, value):
    if value is None:
        return None
    if not isinstance(value, str) or not is_valid_name(request, value):
        raise exception.InvalidName(name=value)
    return value


def _check_text(max_length=None, nullable=True):
    def check(request, field, value):
        if value is None and nullable:
            return None
        if not isinstance(value, str) or (not nullable and not value):
            raise _invalid(field, value, 'Expected a non-empty string.'
                           if not nullable else 'Expected a string.')
        if max_length and len(value) > max_length:
            raise _invalid(field, value, 'Value should have a maximum '
                           'character requirement of %d' % max_length)
        return value
    return check


def _check_document(request, field, value):
    if not isinstance(value, dict):
        raise _invalid(field, value, 'Expected a JSON object.')
    return value


def _check_bool(nullable=False):
    def check(request, field, value):
        if value is None and nullable:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return strutils.bool_from_string(value, strict=True)
            except ValueError:
                pass
        raise _invalid(field, value, 'Expected a boolean.')
    return check


def _check_uuid(request, field, value):
    if value is None:
        return None
    if not isinstance(value, str) or not uuidutils.is_uuid_like(value):
        raise exception.InvalidUUID(uuid=value)
    return value.lower()


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
    on_create: bool = True
    on_patch: bool = True
    removed: object = None  # its value after a JSON patch "remove"

    @property
    def creatable(self) -> bool:
        return self.check is not None and self.on_create

    @property
    def patchable(self) -> bool:
        return self.check is not None and self.on_patch


_INTERFACES = tuple('%s_interface' % name for name in (
    'bios', 'boot', 'console', 'deploy', 'inspect', 'management', 'network',
    'power', 'raid', 'rescue', 'storage', 'vendor'))

FIELDS: dict[str, NodeField] = {f.name: f for f in [
    NodeField('uuid', _check_uuid, on_patch=False),
    NodeField('name', _check_name),
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
    NodeField('maintenance_reason', _check_text(), on_create=False),
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
    NodeField('protected', _check_bool(), removed=False),
    NodeField('protected_reason', _check_text()),
    NodeField('traits'),
    NodeField('created_at'),
    NodeField('updated_at'),
    *(NodeField(name, _check_text(255)) for name in _INTERFACES),
]}

DEFAULT_FIELDS = ('instance_uuid', 'maintenance', 'name', 'power_state',
                  'provision_state', 'uuid')
_TIMESTAMPS = frozenset({'created_at', 'updated_at', 'provision_updated_at',
                         'inspection_started_at', 'inspection_finished_at'})
_SECRET_DOCUMENTS = frozenset({'driver_info', 'instance_info'})
_FILTERS_SINCE = {
    'provision_state': Minor.FILTER_PROVISION_STATE,
    'driver': Minor.FILTER_DRIVER,
    'resource_class': Minor.RESOURCE_CLASS,
    'fault': Minor.FAULT,
    'conductor_group': Minor.CONDUCTOR_GROUP,
    'conductor': Minor.CONDUCTORS,
}
_SORTABLE = db_sqlalchemy.sortable_columns(models.Node)
_UNSORTABLE = frozenset(FIELDS) - _SORTABLE


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


class NodeRenderer:
    """Turns node rows into API objects at the request's version."""

    def __init__(self, request, fields: tuple[str, ...]):
        self.request = request
        self.fields = fields

    def conductor_of(self, row) -> str | None:
        try:
            return self.request.ring_manager.conductor_for(row)
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
            return conductor_api.isotime(value)
        if field in _SECRET_DOCUMENTS:
            return strutils.mask_dict_password(value, '******')
        if field in ('provision_state', 'target_provision_state'):
            return _provision_state_for(self.request, value)
        return value

    def render(self, row) -> dict:
        result = {field: self.value(row, field) for field in self.fields}
        result['links'] = link.self_and_bookmark(self.request, 'nodes',
                                                 row.uuid)
        if len(self.fields) > len(DEFAULT_FIELDS) and versions.allows(
                self.request, Minor.STATES_LINK):
            result['states'] = link.self_and_bookmark(self.request, 'nodes',
                                                      row.uuid, 'states')
        return result


def full(request, row) -> dict:
    """A node with every field the request's version knows."""
    return NodeRenderer(request, visible_fields(request)).render(row)


def get_node(request, ident: str):
    """A node by UUID, or by name where the version allows names.

    :raises NodeNotFound, InvalidUUID:
    """
    if uuidutils.is_uuid_like(ident):
        return request.dbapi.get_node_by_uuid(ident.lower())
    if versions.allows(request, Minor.NODE_NAME):
        return request.dbapi.get_node_by_name(ident)
    raise exception.InvalidUUID(uuid=ident)


def _check_version_of(request, field: str) -> None:
    since = versions.NODE_FIELD_SINCE.get(field)
    if since is not None:
        versions.require(request, since)


def _parse_new_node(request, body) -> dict:
    """The values of a POST /v1/nodes body, validated."""
    if not isinstance(body, dict):
        raise exception.Invalid('The request body must be a JSON object '
                                'describing the node.')
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise exception.Invalid('Unknown attribute for argument node: %s'
                                % ', '.join(unknown))
    values = {}
    for name, raw in body.items():
        field = FIELDS[name]
        _check_version_of(request, name)
        if not field.creatable:
            raise _invalid(name, raw, 'Cannot set read only field.')
        values[name] = field.check(request, name, raw)
    if values.get('driver') is None:
        raise _invalid('driver', None, 'Mandatory field missing.')
    values.pop('chassis_uuid', None)
    values['uuid'] = values.get('uuid') or uuidutils.generate_uuid()
    values.setdefault('conductor_group', '')
    values['provision_state'] = (
        states.ENROLL if versions.allows(request, Minor.ENROLL_STATE)
        else states.AVAILABLE)
    return values


def _patch_root(path: str) -> str:
    return path.lstrip('/').split('/', 1)[0]


def _check_patch_ops(request, patch) -> None:
    if not isinstance(patch, list) or not patch:
        raise exception.Invalid('The request body must be a non-empty JSON '
                                'patch (RFC 6902) list.')
    for op in patch:
        if not isinstance(op, dict):
            raise exception.Invalid('Each JSON patch operation must be a '
                                    'JSON object.')
        kind, path = op.get('op'), op.get('path')
        if kind not in ('add', 'replace', 'remove'):
            raise _invalid('op', kind,
                           'Value should be one of: add, replace, remove')
        if not isinstance(path, str) or not re.match(r'^(/[\w\-.~:]+)+$',
                                                    path):
            raise _invalid('path', path, 'Invalid patch path.')
        if kind != 'remove' and 'value' not in op:
            raise _invalid('value', None, "'add' and 'replace' operations "
                           'need a value')
        root = _patch_root(path)
        field = FIELDS.get(root)
        if field is not None:
            _check_version_of(request, root)
            if not field.patchable:
                raise exception.Invalid(
                    "'/%s' is an internal attribute and can not be updated"
                    % root)
        if kind == 'remove' and path == '/driver':
            raise exception.Invalid("'/driver' is a mandatory attribute and "
                                    'can not be removed')


def _apply_patch(request, row, patch) -> dict:
    """The changes a JSON patch makes to a node, validated."""
    _check_patch_ops(request, patch)
    writable = [name for name in visible_fields(request)
                if FIELDS[name].patchable]
    document = {name: None if name == 'chassis_uuid' else getattr(row, name)
                for name in writable}
    for op in patch:
        root = _patch_root(op['path'])
        if op['op'] == 'add' and op['path'].count('/') == 1 and \
                root not in document:
            raise exception.Invalid('Adding a new attribute (%s) to the root '
                                    'of the resource is not allowed.'
                                    % op['path'])
    try:
        patched = jsonpatch.apply_patch(document, patch)
    except (jsonpatch.JsonPatchException,
            jsonpatch.JsonPointerException) as e:
        raise exception.PatchError(patch=patch, reason=e)
    changes = {}
    for name in writable:
        field = FIELDS[name]
        new = patched.get(name, field.removed)
        if new != document[name]:
            changes[name] = field.check(request, name, new)
    changes.pop('chassis_uuid', None)
    return changes


def _routing_view(row, changes: dict | None = None):
    """What the hash ring needs to route work about a node."""
    values = {'uuid': row.uuid, 'driver': row.driver,
              'conductor_group': row.conductor_group}
    values.update({k: v for k, v in (changes or {}).items() if k in values})
    return pytypes.SimpleNamespace(**values)


class NodeStatesController(rest.RestController):
    """GET /v1/nodes/{node_ident}/states."""

    def __init__(self, node_ident: str):
        self.node_ident = node_ident

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
        renderer = NodeRenderer(request, ())
        return {field: renderer.value(row, field) for field in sorted(fields)}


class NodeConductorController(rest.RestController):
    """GET /v1/nodes/{node_ident}/conductor: the conductor serving it."""

    def __init__(self, node_ident: str):
        self.node_ident = node_ident

    @expose.expose(types.jsontype, types.listtype)
    def get(self, fields=None):
        request = pecan.request
        policy.authorize('baremetal:conductor:get', request.context)
        if not versions.allows(request, Minor.CONDUCTORS):
            raise exception.NotFound()
        policy.authorize('baremetal:node:get', request.context)
        row = get_node(request, self.node_ident)
        try:
            hostname = request.ring_manager.conductor_for(row)
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
        if len(args) >= 2 and args[1] in self._subresources:
            subresource = self._subresources[args[1]](args[0])
            return subresource._route(args[2:], request)
        return super()._route(args, request)

    def _list(self, detail_endpoint: bool, *, marker, limit, sort_key,
              sort_dir, fields, detail, filters: dict):
        request = pecan.request
        policy.authorize('baremetal:node:get', request.context)
        for name, since in _FILTERS_SINCE.items():
            if filters.get(name) is not None:
                versions.require(request, since)
        for field in fields or ():
            _check_version_of(request, field)
        visible = visible_fields(request)
        shown = visible if detail_endpoint else listing.return_fields(
            request, fields, detail, frozenset(visible), DEFAULT_FIELDS,
            visible)
        limit = listing.limit_from(limit)
        _check_version_of(request, sort_key)
        listing.check_sort(sort_key, sort_dir, _SORTABLE, _UNSORTABLE)

        query = {k: v for k, v in filters.items() if v is not None}
        if query.get('conductor_group') is not None:
            query['conductor_group'] = query['conductor_group'].lower()
        if query.pop('chassis_uuid', None) is not None:
            return {'nodes': []}  # no node is in a chassis
        hostname = query.pop('conductor', None)
        if hostname:
            query['ring_arcs'] = conductor_api.node_filter_for(
                request.ring_manager, hostname)

        marker_row = None
        if marker is not None:
            if not uuidutils.is_uuid_like(marker):
                raise exception.InvalidUUID(uuid=marker)
            marker_row = request.dbapi.get_node_by_uuid(marker.lower())
        rows = request.dbapi.get_node_list(query, limit=limit,
                                           marker=marker_row,
                                           sort_key=sort_key,
                                           sort_dir=sort_dir)
        renderer = NodeRenderer(request, shown)
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
        for field in fields or ():
            _check_version_of(request, field)
        shown = listing.return_fields(
            request, fields, None, frozenset(visible_fields(request)),
            visible_fields(request), visible_fields(request))
        row = get_node(request, node_ident)
        return NodeRenderer(request, shown).render(row)

    @expose.expose(types.jsontype, body=types.jsontype, status_code=201)
    def post(self, node):
        request = pecan.request
        policy.authorize('baremetal:node:create', request.context)
        values = _parse_new_node(request, node)
        target = _routing_view(pytypes.SimpleNamespace(**values))
        try:
            uuid = request.rpcapi.create_node(request.context, target,
                                              values)
        except exception.NoValidHost as e:
            raise exception.Invalid(str(e))
        row = request.dbapi.get_node_by_uuid(uuid)
        pecan.response.location = link.build_url(request, 'nodes', row.uuid)
        return full(request, row)

    @expose.expose(types.jsontype, types.text, types.boolean,
                   body=types.jsontype)
    def patch(self, node_ident, reset_interfaces=None, patch=None):
        request = pecan.request
        policy.authorize('baremetal:node:update', request.context)
        if reset_interfaces is not None:
            versions.require(request, Minor.RESET_INTERFACES)
        row = get_node(request, node_ident)
        changes = _apply_patch(request, row, patch)
        if changes or reset_interfaces:
            request.rpcapi.update_node(request.context,
                                       _routing_view(row, changes), changes,
                                       reset_interfaces=reset_interfaces)
            row = request.dbapi.get_node_by_id(row.id)
        return full(request, row)

    @expose.expose(None, types.text, status_code=204)
    def delete(self, node_ident):
        request = pecan.request
        policy.authorize('baremetal:node:delete', request.context)
        row = get_node(request, node_ident)
        request.rpcapi.destroy_node(request.context, _routing_view(row))

