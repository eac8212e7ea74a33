"""/v1/drivers: the hardware types the alive conductors enable.

A hardware type is listed while an alive conductor (the same ones the hash
rings are built from) registered it; its hosts are those conductors, and
its default and enabled interfaces are what they registered.
"""

import collections
import threading

import pecan
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api import policy
from ironic_lite.api import rings
from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import routing
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception
from ironic_lite.common import interfaces

Minor = versions.Minor

_TYPES = ('classic', 'dynamic')
# Interface types newer than the driver fields themselves (1.30).
_INTERFACE_SINCE = {'storage': Minor.STORAGE_INTERFACE,
                    'rescue': Minor.RESCUE,
                    'bios': Minor.BIOS}

# Driver properties never change while the conductors run: asked once per
# API process and hardware type, as Ironic does.
_PROPERTIES: dict[str, dict] = {}
_PROPERTIES_LOCK = threading.Lock()


def _alive_hosts(request) -> dict[str, set[str]]:
    """Hardware type -> the alive conductors enabling it, in any group."""
    hosts = collections.defaultdict(set)
    for (_group, hardware_type), ring in rings.rings_for(
            request).rings.items():
        hosts[hardware_type].update(ring.hosts)
    return hosts


def _interface_fields(request, hardware_type: str,
                      hosts: set[str]) -> dict:
    """default_<type>_interface and enabled_<type>_interfaces, from what the
    alive conductors registered."""
    defaults = collections.defaultdict(set)
    enabled = collections.defaultdict(set)
    for hostname, _hw, interface_type, name, default in (
            request.dbapi.get_hardware_interfaces(hardware_type)):
        if hostname not in hosts:
            continue
        enabled[interface_type].add(name)
        if default:
            defaults[interface_type].add(name)
    shown = [interface_type for interface_type in interfaces.INTERFACE_TYPES
             if versions.allows(request, _INTERFACE_SINCE.get(
                 interface_type, Minor.DYNAMIC_DRIVERS))]
    result = {}
    for interface_type in shown:
        # Conductors that disagree on a default: the same answer from
        # every API process.
        chosen = sorted(defaults[interface_type])
        result['default_%s_interface' % interface_type] = (
            chosen[0] if chosen else None)
    for interface_type in shown:
        result['enabled_%s_interfaces' % interface_type] = sorted(
            enabled[interface_type])
    return result


def render(request, name: str, hosts: set[str], detail: bool) -> dict:
    result = {'name': name, 'hosts': sorted(hosts)}
    if versions.allows(request, Minor.DYNAMIC_DRIVERS):
        result['type'] = 'dynamic'
        if detail:
            result.update(_interface_fields(request, name, hosts))
    result['links'] = link.self_and_bookmark(request, 'drivers', name)
    if versions.allows(request, Minor.STATES_LINK):
        result['properties'] = link.self_and_bookmark(
            request, 'drivers', name, 'properties')
    return result


def properties_of(request, driver_name: str) -> dict:
    with _PROPERTIES_LOCK:
        cached = _PROPERTIES.get(driver_name)
    if cached is None:
        cached = request.rpcapi.get_driver_properties(request.context,
                                                      driver_name)
        with _PROPERTIES_LOCK:
            _PROPERTIES[driver_name] = cached
    return cached


class DriverPropertiesController(rest.RestController):
    """GET /v1/drivers/{driver_name}/properties."""

    def __init__(self, driver_name: str):
        self.driver_name = driver_name

    @pecan.expose()
    def _route(self, args, request=None):
        routing.refuse_extra_segments(args, 0)
        return super()._route(args, request)

    @expose.expose(types.jsontype)
    def get(self):
        request = pecan.request
        policy.authorize('baremetal:driver:get_properties', request.context)
        return properties_of(request, self.driver_name)


class DriversController(rest.RestController):
    """GET /v1/drivers and /v1/drivers/{driver_name}."""

    _subresources = {'properties': DriverPropertiesController}

    @pecan.expose()
    def _route(self, args, request=None):
        if len(args) >= 2 and args[1] in self._subresources:
            subresource = self._subresources[args[1]](args[0])
            return subresource._route(args[2:], request)
        routing.refuse_extra_segments(args, 1)
        return super()._route(args, request)

    @expose.expose(types.jsontype, types.text, types.boolean)
    def get_all(self, type=None, detail=None):
        request = pecan.request
        policy.authorize('baremetal:driver:get', request.context)
        if type is not None or detail is not None:
            versions.require(request, Minor.DYNAMIC_DRIVERS)
        if type is not None and type not in _TYPES:
            raise exception.Invalid('"type" filter must be one of "classic" '
                                    'or "dynamic", if specified.')
        if type == 'classic':
            return {'drivers': []}
        hosts = _alive_hosts(request)
        return {'drivers': [render(request, name, hosts[name], bool(detail))
                            for name in sorted(hosts)]}

    @expose.expose(types.jsontype, types.text)
    def get_one(self, driver_name):
        request = pecan.request
        policy.authorize('baremetal:driver:get', request.context)
        hosts = _alive_hosts(request).get(driver_name)
        if not hosts:
            raise exception.DriverNotFound(driver_name=driver_name)
        return render(request, driver_name, hosts, True)
