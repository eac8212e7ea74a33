"""/v1/nodes/{node_ident}/vifs (1.28): the virtual interfaces (Neutron port
IDs) attached to a node, recorded by its conductor's network interface."""

import pecan
from oslo_utils import uuidutils

from ironic_lite.api import expose
from ironic_lite.api import policy
from ironic_lite.api import versions
from ironic_lite.api.controllers.v1 import node_management
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception


def _check_vif_id(request, value) -> str:
    """:raises InvalidUuidOrName: neither a UUID nor a logical name."""
    from ironic_lite.api.controllers.v1 import node  # which routes here
    if not isinstance(value, str) or not (
            uuidutils.is_uuid_like(value)
            or node.is_valid_logical_name(request, value)):
        raise exception.InvalidUuidOrName(name=value)
    return value


def _check_vif_info(request, body) -> dict:
    """A POST body: ``{"id": <vif>, ...}``; other keys pass to the
    network interface, as in Ironic."""
    if not isinstance(body, dict):
        raise exception.Invalid('Invalid input: the request body must be a '
                                'JSON object, not %s' % type(body).__name__)
    if 'id' not in body:
        raise exception.InvalidParameterValue(
            err='Missing mandatory keys: id')
    _check_vif_id(request, body['id'])
    return body


class NodeVifsController(node_management.NodeItems):
    """GET and POST /v1/nodes/{node_ident}/vifs, DELETE .../vifs/{vif}."""

    since = versions.Minor.VIFS

    @expose.expose(types.jsontype)
    def get_all(self):
        request = pecan.request
        row = self.node(request)
        policy.authorize_node(
            request, 'baremetal:node:vif:list', row, self.node_ident)
        return {'vifs': request.rpcapi.vif_list(request.context, row)}

    @expose.expose(None, body=types.jsontype, status_code=204)
    def post(self, vif):
        request = pecan.request
        vif_info = _check_vif_info(request, vif)
        row = self.node(request)
        policy.authorize_node(
            request, 'baremetal:node:vif:attach', row, self.node_ident)
        request.rpcapi.vif_attach(request.context, row, vif_info)

    @expose.expose(None, types.text, status_code=204)
    def delete(self, vif_id):
        request = pecan.request
        _check_vif_id(request, vif_id)
        row = self.node(request)
        policy.authorize_node(
            request, 'baremetal:node:vif:detach', row, self.node_ident)
        request.rpcapi.vif_detach(request.context, row, vif_id)
