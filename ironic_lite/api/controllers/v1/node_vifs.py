"""/v1/nodes/{node_ident}/vifs (1.28): the virtual interfaces (Neutron port
IDs) attached to a node, recorded by its conductor's network interface."""

import pecan
from oslo_utils import uuidutils
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api import policy
from ironic_lite.api import versions
from ironic_lite.api.controllers.v1 import routing
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception


def _nodes():
    """The node module, which routes to this one."""
    from ironic_lite.api.controllers.v1 import node
    return node


def _check_vif_id(request, value) -> str:
    """:raises InvalidUuidOrName: neither a UUID nor a logical name."""
    if not isinstance(value, str) or not (
            uuidutils.is_uuid_like(value)
            or _nodes().is_valid_logical_name(request, value)):
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


class NodeVifsController(rest.RestController):
    """GET and POST /v1/nodes/{node_ident}/vifs, DELETE .../vifs/{vif}."""

    def __init__(self, node_ident: str):
        self.node_ident = node_ident

    @pecan.expose()
    def _route(self, args, request=None):
        if not versions.allows(pecan.request, versions.Minor.VIFS):
            pecan.abort(404)
        routing.refuse_post_on_member(args, request)
        routing.refuse_extra_segments(args, 1)
        return super()._route(args, request)

    def _node(self, request):
        return _nodes().get_node(request, self.node_ident)

    @expose.expose(types.jsontype)
    def get_all(self):
        request = pecan.request
        policy.authorize('baremetal:node:vif:list', request.context)
        row = self._node(request)
        return {'vifs': request.rpcapi.vif_list(request.context, row)}

    @expose.expose(None, body=types.jsontype, status_code=204)
    def post(self, vif):
        request = pecan.request
        policy.authorize('baremetal:node:vif:attach', request.context)
        vif_info = _check_vif_info(request, vif)
        row = self._node(request)
        request.rpcapi.vif_attach(request.context, row, vif_info)

    @expose.expose(None, types.text, status_code=204)
    def delete(self, vif_id):
        request = pecan.request
        policy.authorize('baremetal:node:vif:detach', request.context)
        _check_vif_id(request, vif_id)
        row = self._node(request)
        request.rpcapi.vif_detach(request.context, row, vif_id)
