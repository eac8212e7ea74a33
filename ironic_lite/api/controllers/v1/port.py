"""/v1/ports and /v1/nodes/{node_ident}/ports: the network ports of the
nodes, which their conductors write."""

import re

import pecan
from oslo_log import log
from oslo_utils import uuidutils
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api import policy
from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import fields as api_fields
from ironic_lite.api.controllers.v1 import listing
from ironic_lite.api.controllers.v1 import patching
from ironic_lite.api.controllers.v1 import render
from ironic_lite.api.controllers.v1 import routing
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.db.sqlalchemy import models

LOG = log.getLogger(__name__)

Minor = versions.Minor

_MAC = re.compile(r'^([0-9a-f]{2}:){5}[0-9a-f]{2}$')
# An OpenFlow datapath id: 16 hex digits, optionally in colon pairs.
_DATAPATH_ID = re.compile(r'^([0-9a-f]{2}:?){7}[0-9a-f]{2}$')
_LOCAL_LINK_KEYS = ('switch_id', 'port_id', 'switch_info')
_LOCAL_LINK_MANDATORY = ('switch_id', 'port_id')
# How many times a PATCH is applied to a port that other writes keep
# changing before the API answers 409.
_PATCH_ATTEMPTS = 5


def normalize_mac(value) -> str:
    """A MAC address as stored: lowercase, colon-separated.

    :raises InvalidMAC: not six colon-separated hex pairs.
    """
    if not isinstance(value, str) or not _MAC.match(value.lower()):
        raise exception.InvalidMAC(mac=value)
    return value.lower()


def _check_mac(request, field, value):
    if value is None:
        raise api_fields.invalid(field, None, 'Mandatory field missing.')
    return normalize_mac(value)


def _check_local_link(request, field, value):
    value = api_fields.check_document(request, field, value)
    if not value:
        return value
    invalid = sorted(set(value) - set(_LOCAL_LINK_KEYS))
    if invalid:
        raise exception.Invalid('%s are invalid keys' % invalid)
    missing = [key for key in _LOCAL_LINK_MANDATORY if key not in value]
    if missing:
        raise exception.Invalid('Missing mandatory keys: %s' % missing)
    switch_id = value['switch_id']
    if not isinstance(switch_id, str) or not (
            _MAC.match(switch_id.lower())
            or _DATAPATH_ID.match(switch_id.lower())):
        raise exception.InvalidParameterValue(
            err='Expected a MAC address or OpenFlow datapath ID but '
                'received %s.' % switch_id)
    return value


def _check_portgroup(request, field, value):
    # ironic-lite has no port groups, so none can be named.
    if value is not None:
        raise exception.InvalidParameterValue(
            err='Portgroup %s could not be found.' % value)
    return None


FIELDS: dict[str, api_fields.Field] = api_fields.registry(
    api_fields.Field('uuid', api_fields.check_uuid, on_patch=False),
    api_fields.Field('address', _check_mac, mandatory=True),
    api_fields.Field('node_uuid', api_fields.check_uuid, mandatory=True),
    api_fields.Field('extra', api_fields.check_document, removed={},
                     sortable=False),
    api_fields.Field('internal_info', since=Minor.PORT_INTERNAL_INFO,
                     sortable=False),
    api_fields.Field('local_link_connection', _check_local_link,
                     since=Minor.PORT_LOCAL_LINK, removed={},
                     sortable=False),
    api_fields.Field('pxe_enabled', api_fields.check_bool(),
                     since=Minor.PORT_LOCAL_LINK, removed=True),
    api_fields.Field('portgroup_uuid', _check_portgroup,
                     since=Minor.PORTGROUP_LINKS),
    api_fields.Field('physical_network', api_fields.check_text(64),
                     since=Minor.PHYSICAL_NETWORK),
    api_fields.Field('created_at', show=api_fields.show_time),
    api_fields.Field('updated_at', show=api_fields.show_time),
)
DEFAULT_FIELDS = ('address', 'uuid')
_SORTABLE, _UNSORTABLE = api_fields.sort_keys(FIELDS, models.Port)
# Fields that are not columns: node_uuid is the node's, and ironic-lite
# has no port groups.
_NOT_COLUMNS = frozenset({'node_uuid', 'portgroup_uuid'})


class PortRenderer(render.Renderer):

    def __init__(self, request, shown: tuple[str, ...]):
        super().__init__(request, FIELDS, shown, 'ports')

    def value(self, row, name: str):
        if name == 'portgroup_uuid':
            return None
        return super().value(row, name)


def full(request, row) -> dict:
    """A port with every field the request's version knows."""
    return PortRenderer(request,
                        api_fields.visible(request, FIELDS)).render(row)


def _nodes():
    # node.py serves /v1/nodes/{node_ident}/ports with this module, so this
    # one reaches node lookups once both are loaded.
    from ironic_lite.api.controllers.v1 import node
    return node


def _node_by_ident(request, ident: str):
    """The node a ``?node=`` or the path names: UUID, or name from 1.5."""
    if not uuidutils.is_uuid_like(ident):
        versions.require(request, Minor.NODE_NAME, explain=False)
    return _nodes().get_node(request, ident)


def _node_for_write(request, node_uuid: str):
    """The node a written port names: unknown is the client's 400."""
    try:
        return request.dbapi.get_node_by_uuid(node_uuid)
    except exception.NodeNotFound as e:
        raise exception.InvalidParameterValue(err=e.faultstring)


def _routing_view(node_row):
    return _nodes()._routing_view(node_row)


class PortsController(rest.RestController):
    """Ports; below a node (``node_ident``), only that node's, read-only."""

    _custom_actions = {'detail': ['GET']}

    def __init__(self, node_ident: str | None = None):
        self.node_ident = node_ident

    @pecan.expose()
    def _route(self, args, request=None):
        routing.refuse_post_on_member(args, request)
        routing.refuse_extra_segments(args, 1)
        return super()._route(args, request)

    def _refuse_below_node(self) -> None:
        if self.node_ident is not None:
            raise exception.OperationNotPermitted()

    def _list(self, detail_endpoint: bool, *, node, node_uuid, address,
              portgroup, marker, limit, sort_key, sort_dir, fields, detail):
        request = pecan.request
        parent = None
        if self.node_ident is not None:
            # Ports below a node are as visible as the node; one the
            # caller may not see is not found, as in Ironic.
            parent = _node_by_ident(request, self.node_ident)
            policy.authorize_node(request, 'baremetal:node:get', parent,
                                  self.node_ident, conceal=True)
        project = policy.list_project(request, 'port')
        if portgroup is not None:
            versions.require(request, Minor.PORTGROUP_LINKS, explain=False)
        for name in [*(fields or ()), sort_key]:
            api_fields.require_version(request, FIELDS, name)
        visible = api_fields.visible(request, FIELDS)
        shown = listing.list_fields(request, fields, detail, visible,
                                    DEFAULT_FIELDS, detail_endpoint)
        limit = listing.limit_from(limit)
        listing.check_sort(sort_key, sort_dir, _SORTABLE, _UNSORTABLE)

        node_ident = self.node_ident or node_uuid or node
        if node_ident is not None and portgroup is not None:
            raise exception.OperationNotPermitted()
        if portgroup is not None:
            # As Ironic for a port group it does not have.
            raise exception.PortgroupNotFound(portgroup=portgroup)
        query = {'project': project}
        if parent is not None:
            query['node_id'] = parent.id
        elif node_ident is not None:
            query['node_id'] = _node_by_ident(request, node_ident).id
        if address is not None:
            query['address'] = normalize_mac(address)
        marker_row = None
        if marker is not None:
            marker_row = request.dbapi.get_port_by_uuid(marker)
        rows = request.dbapi.get_port_list(query, limit=limit,
                                           marker=marker_row,
                                           sort_key=sort_key,
                                           sort_dir=sort_dir)
        params = listing.page_params(
            [('node', node), ('node_uuid', node_uuid), ('address', address),
             ('portgroup', portgroup)],
            detail_endpoint, fields, detail, sort_key, sort_dir)
        path = 'ports'
        if self.node_ident is not None:
            path = 'nodes/%s/ports' % self.node_ident
        return listing.page(
            request, 'ports', path + '/detail' if detail_endpoint else path,
            rows, PortRenderer(request, shown).render, limit, params)

    @expose.expose(types.jsontype, types.text, types.uuid, types.text,
                   types.text, types.uuid, types.text, types.text,
                   types.text, types.listtype, types.boolean)
    def get_all(self, node=None, node_uuid=None, address=None,
                portgroup=None, marker=None, limit=None, sort_key='id',
                sort_dir='asc', fields=None, detail=None):
        return self._list(False, node=node, node_uuid=node_uuid,
                          address=address, portgroup=portgroup,
                          marker=marker, limit=limit, sort_key=sort_key,
                          sort_dir=sort_dir, fields=fields, detail=detail)

    @expose.expose(types.jsontype, types.text, types.uuid, types.text,
                   types.text, types.uuid, types.text, types.text,
                   types.text)
    def detail(self, node=None, node_uuid=None, address=None,
               portgroup=None, marker=None, limit=None, sort_key='id',
               sort_dir='asc'):
        return self._list(True, node=node, node_uuid=node_uuid,
                          address=address, portgroup=portgroup,
                          marker=marker, limit=limit, sort_key=sort_key,
                          sort_dir=sort_dir, fields=None, detail=None)

    @expose.expose(types.jsontype, types.uuid, types.listtype)
    def get_one(self, port_uuid, fields=None):
        request = pecan.request
        self._refuse_below_node()
        for name in fields or ():
            api_fields.require_version(request, FIELDS, name)
        visible = api_fields.visible(request, FIELDS)
        shown = listing.return_fields(request, fields, None,
                                      frozenset(visible), visible, visible)
        row = request.dbapi.get_port_by_uuid(port_uuid)
        policy.authorize_port(request, 'baremetal:port:get', row, port_uuid)
        return PortRenderer(request, shown).render(row)

    @expose.expose(types.jsontype, body=types.jsontype, status_code=201)
    def post(self, port):
        request = pecan.request
        self._refuse_below_node()
        values = api_fields.parse_new(request, FIELDS, port, 'port')
        node_uuid = values.pop('node_uuid')
        try:
            node_row = request.dbapi.get_node_by_uuid(node_uuid)
        except exception.NodeNotFound as e:
            # Told only to those the policy lets create ports at all.
            policy.authorize_port_create(request, None)
            raise exception.InvalidParameterValue(err=e.faultstring)
        policy.authorize_port_create(request, node_row)
        values.pop('portgroup_uuid', None)
        values['uuid'] = api_fields.new_uuid(values)
        with _nodes()._no_host_is_bad_request():
            uuid = request.rpcapi.create_port(
                request.context, _routing_view(node_row), values)
        row = request.dbapi.get_port_by_uuid(uuid)
        pecan.response.location = link.build_url(request, 'ports', row.uuid)
        return full(request, row)

    @expose.expose(types.jsontype, types.uuid, body=types.jsontype)
    def patch(self, port_uuid, patch):
        request = pecan.request
        self._refuse_below_node()
        patching.check(request, FIELDS, patch)
        row = request.dbapi.get_port_by_uuid(port_uuid)
        policy.authorize_port(request, 'baremetal:port:update', row,
                              port_uuid)
        return full(request, _patch_port(request, row, patch))

    @expose.expose(None, types.uuid, status_code=204)
    def delete(self, port_uuid):
        request = pecan.request
        self._refuse_below_node()
        row = request.dbapi.get_port_by_uuid(port_uuid)
        policy.authorize_port(request, 'baremetal:port:delete', row,
                              port_uuid)
        node_row = request.dbapi.get_node_by_id(row.node_id)
        with _nodes()._no_host_is_bad_request():
            request.rpcapi.destroy_port(request.context,
                                        _routing_view(node_row), row.uuid)


def _port_changes(request, row, patch) -> tuple[dict, object]:
    """The column changes a checked patch makes to a port, and the node
    the port is on after them."""
    document = {name: None if name == 'portgroup_uuid' else getattr(row, name)
                for name in patching.writable(request, FIELDS)}
    changes = patching.apply(request, FIELDS, document, patch)
    changes.pop('portgroup_uuid', None)
    node_uuid = changes.pop('node_uuid', row.node_uuid)
    node_row = _node_for_write(request, node_uuid)
    if node_row.id != row.node_id:
        changes['node_id'] = node_row.id
    return changes, node_row


def _patch_port(request, row, patch):
    """Apply a checked patch to the port as its node's conductor holds it;
    the port after. As for nodes, a patch computed from values another
    write changed meanwhile is applied again to the port as it is now.

    :raises PortChanged: the port kept changing.
    """
    for attempt in range(1, _PATCH_ATTEMPTS + 1):
        changes, node_row = _port_changes(request, row, patch)
        if not changes:
            return row
        if (node_row.provision_state == states.INSPECTING
                and versions.allows(request, Minor.INSPECT_WAIT)):
            raise exception.Conflict(
                'Cannot update port "%s" on "%s" while it is in state '
                '"%s".' % (row.uuid, node_row.uuid, states.INSPECTING))
        expected = {name: getattr(row, name) for name in changes}
        mergeable = sorted(patching.edited_key_by_key(patch) & set(changes))
        try:
            with _nodes()._no_host_is_bad_request():
                request.rpcapi.update_port(
                    request.context, _routing_view(node_row), row.uuid,
                    changes, expected=expected, mergeable=mergeable)
        except exception.PortChanged as e:
            LOG.debug('Port %s changed while patched (attempt %d of %d): '
                      '%s', row.uuid, attempt, _PATCH_ATTEMPTS,
                      e.faultstring)
            error = e
        else:
            return request.dbapi.get_port_by_uuid(row.uuid)
        row = request.dbapi.get_port_by_uuid(row.uuid)
    raise exception.PortChanged(error.faultstring)
