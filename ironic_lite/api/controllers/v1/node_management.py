"""What an operator does to a node besides editing it: power
(``PUT /v1/nodes/{ident}/states/power``), boot device
(``/management/boot_device[/supported]``), validation (``/validate``) and
maintenance (``/maintenance``). Each asks the node's conductor."""

import pecan
from oslo_utils import uuidutils
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api import policy
from ironic_lite.api import request_body
from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import fields as api_fields
from ironic_lite.api.controllers.v1 import routing
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception
from ironic_lite.common import states

Minor = versions.Minor

_SOFT_TARGETS = (states.SOFT_REBOOT, states.SOFT_POWER_OFF)


def _nodes():
    """The node module, which routes to this one."""
    from ironic_lite.api.controllers.v1 import node
    return node


def _arguments(body, mandatory: tuple[str, ...] = (),
               optional: tuple[str, ...] = ()) -> dict:
    """The arguments a JSON body gives, worded as WSME words its
    refusals."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise exception.Invalid('Invalid input: the request body must be a '
                                'JSON object, not %s' % type(body).__name__)
    for name in body:
        if name not in mandatory + optional:
            raise exception.Invalid('Unknown argument: "%s"' % name)
    for name in mandatory:
        if body.get(name) is None:
            raise exception.Invalid('Missing argument: "%s"' % name)
    return body


def _text(name: str, value):
    if value is not None and not isinstance(value, str):
        raise api_fields.wrong_type(name, value, str)
    return value


def _integer(name: str, value):
    if value is not None and (isinstance(value, bool)
                              or not isinstance(value, int)):
        raise api_fields.wrong_type(name, value, int)
    return value


def set_power_state(request, node_ident: str, body) -> None:
    """PUT /v1/nodes/{node_ident}/states/power, checked in Ironic's
    order."""
    row = _nodes().get_node(request, node_ident)
    policy.authorize_node(
        request, 'baremetal:node:set_power_state', row, node_ident)
    # Which conductor, before any look at the request (Ironic's order).
    request.rpcapi.get_conductor_for(row)
    arguments = _arguments(body, ('target',), ('timeout',))
    target = _text('target', arguments['target'])
    timeout = _integer('timeout', arguments.get('timeout'))
    if target in _SOFT_TARGETS or timeout:
        versions.require(request, Minor.SOFT_POWER, explain=False)
    if timeout is not None and timeout < 1:
        raise exception.Invalid('timeout has to be positive integer')
    if target not in states.POWER_STATES:
        raise exception.InvalidStateRequested(
            action=target, node=node_ident, state=row.power_state)
    if row.provision_state in (states.CLEANING, states.CLEANWAIT):
        raise exception.InvalidStateRequested(
            action=target, node=node_ident, state=row.provision_state)
    request.rpcapi.change_node_power_state(request.context, row, target,
                                           timeout=timeout)
    pecan.response.location = link.build_url(request, 'nodes', node_ident,
                                             'states')


def validate(request, node_ident: str | None) -> dict:
    """GET /v1/nodes/{node_ident}/validate (and ?node=)."""
    if node_ident is None:
        raise exception.Invalid('Missing argument: "node"')
    if not uuidutils.is_uuid_like(node_ident) and not versions.allows(
            request, Minor.NODE_NAME):
        raise exception.NotAcceptable()
    row = _nodes().get_node(request, node_ident)
    policy.authorize_node(request, 'baremetal:node:validate', row, node_ident)
    return request.rpcapi.validate_driver_interfaces(request.context, row)


class NodePart(rest.RestController):
    """Something of one node, ``/v1/nodes/{node_ident}/<part>``: its
    methods act on it (``put`` and ``delete`` take no item), and its
    ``_subresources`` are parts of it in turn."""

    _subresources: dict[str, type] = {}

    def __init__(self, node_ident: str):
        self.node_ident = node_ident

    @pecan.expose()
    def _route(self, args, request=None):
        if args and args[0] in self._subresources:
            return self._subresources[args[0]](self.node_ident)._route(
                args[1:], request)
        routing.refuse_extra_segments(args, 0)
        return super()._route(args, request)

    def node(self, request):
        return _nodes().get_node(request, self.node_ident)


class NodeItems(rest.RestController):
    """Things of one node that form a collection,
    ``/v1/nodes/{node_ident}/<part>[/{item}]`` (VIFs, traits), which
    requests older than ``since`` do not see (404)."""

    since: Minor

    def __init__(self, node_ident: str):
        self.node_ident = node_ident

    @pecan.expose()
    def _route(self, args, request=None):
        if not versions.allows(pecan.request, self.since):
            pecan.abort(404)
        routing.refuse_post_on_member(args, request)
        routing.refuse_extra_segments(args, 1)
        return super()._route(args, request)

    def node(self, request):
        return _nodes().get_node(request, self.node_ident)


class SupportedBootDevicesController(NodePart):
    """GET /v1/nodes/{node_ident}/management/boot_device/supported."""

    @expose.expose(types.jsontype)
    def get(self):
        request = pecan.request
        row = self.node(request)
        policy.authorize_node(
            request, 'baremetal:node:get_boot_device', row, self.node_ident)
        return {'supported_boot_devices':
                request.rpcapi.get_supported_boot_devices(request.context,
                                                          row)}


class BootDeviceController(NodePart):
    """/v1/nodes/{node_ident}/management/boot_device."""

    _subresources = {'supported': SupportedBootDevicesController}

    @expose.expose(types.jsontype)
    def get(self):
        request = pecan.request
        row = self.node(request)
        policy.authorize_node(
            request, 'baremetal:node:get_boot_device', row, self.node_ident)
        return request.rpcapi.get_boot_device(request.context, row)

    @expose.expose(None, body=types.jsontype, status_code=204)
    def put(self, boot_device):
        # (The body is named for WSME's "Missing argument" about it.)
        request = pecan.request
        arguments = _arguments(boot_device, ('boot_device',),
                               ('persistent',))
        device = _text('boot_device', arguments['boot_device'])
        persistent = api_fields.check_bool()(
            request, 'persistent', arguments.get('persistent', False))
        row = self.node(request)
        policy.authorize_node(
            request, 'baremetal:node:set_boot_device', row, self.node_ident)
        request.rpcapi.set_boot_device(request.context, row, device,
                                       persistent=persistent)


class ManagementController(NodePart):
    """/v1/nodes/{node_ident}/management: only its parts."""

    _subresources = {'boot_device': BootDeviceController}


class ValidateController(NodePart):
    """GET /v1/nodes/{node_ident}/validate."""

    @expose.expose(types.jsontype)
    def get(self):
        return validate(pecan.request, self.node_ident)


class MaintenanceController(NodePart):
    """PUT and DELETE /v1/nodes/{node_ident}/maintenance."""

    def _set(self, request, rule: str, changes: dict) -> None:
        row = self.node(request)
        policy.authorize_node(request, rule, row, self.node_ident)
        with _nodes()._no_host_is_bad_request():
            request.rpcapi.update_node(request.context, row, changes)

    @expose.expose(None, types.text, status_code=202)
    def put(self, reason=None):
        request = pecan.request
        # The reason comes in the query or in the (optional) body.
        body = _arguments(request_body.document(request.environ),
                          optional=('reason',))
        if 'reason' in body:
            reason = _text('reason', body['reason'])
        self._set(request, 'baremetal:node:set_maintenance',
                  {'maintenance': True, 'maintenance_reason': reason})

    @expose.expose(None, status_code=202)
    def delete(self):
        request = pecan.request
        self._set(request, 'baremetal:node:clear_maintenance',
                  {'maintenance': False, 'maintenance_reason': None,
                   'fault': None})


# /v1/nodes/{node_ident}/<name> served here.
SUBRESOURCES = {'management': ManagementController,
                'validate': ValidateController,
                'maintenance': MaintenanceController}
