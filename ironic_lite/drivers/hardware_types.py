"""The hardware types ironic-lite ships, and which of their interfaces a
conductor enables.

Differences from Ironic 12.0.0 (on purpose; for the README):

* ``ipmi`` supports only what ironic-lite implements: boot ``pxe`` and
  ``ipxe``, deploy ``ramdisk`` (no ``iscsi``, ``direct`` or ``ansible``: there
  is no deploy agent), power and management ``ipmitool``, and the ``no-*``
  console, inspect, raid, rescue, bios and vendor interfaces. An ipmi node
  therefore gets deploy ``ramdisk`` where Ironic gives ``iscsi``.
* Network ``flat`` plugs nothing (there is no Neutron) but records VIFs on
  the node's ports as Ironic's does; ``noop`` forgets them, as Ironic's.
  ``noop`` is listed first, so it is the default: Ironic's default without
  Neutron too.
* Boot ``ipxe`` is enabled by default (Ironic enables only ``pxe``), yet
  ``pxe`` stays the default boot interface of an ipmi node, as in Ironic.
* A ``default_<type>_interface`` that a hardware type does not support is
  skipped for that type: the type's first enabled implementation is its
  default instead.
"""

from ironic_lite.common import exception
from ironic_lite.common.interfaces import INTERFACE_TYPES
from ironic_lite.conf import CONF
from ironic_lite.drivers.base import HardwareType

# Everything each hardware type supports, its preferred default first.
FAKE_HARDWARE = HardwareType('fake-hardware', {
    'bios': ('fake', 'no-bios'),
    'boot': ('fake',),
    'console': ('fake', 'no-console'),
    'deploy': ('fake',),
    'inspect': ('fake', 'no-inspect'),
    'management': ('fake',),
    'network': ('noop', 'flat'),
    'power': ('fake',),
    'raid': ('fake', 'no-raid'),
    'rescue': ('fake', 'no-rescue'),
    'storage': ('noop',),
    'vendor': ('fake', 'no-vendor'),
})

IPMI = HardwareType('ipmi', {
    'bios': ('no-bios',),
    'boot': ('pxe', 'ipxe'),
    'console': ('no-console',),
    'deploy': ('ramdisk',),
    'inspect': ('no-inspect',),
    'management': ('ipmitool',),
    'network': ('noop', 'flat'),
    'power': ('ipmitool',),
    'raid': ('no-raid',),
    'rescue': ('no-rescue',),
    'storage': ('noop',),
    'vendor': ('no-vendor',),
})

ALL = {hw.name: hw for hw in (FAKE_HARDWARE, IPMI)}


def load(names: list[str]) -> dict[str, HardwareType]:
    """The hardware types named in ``[DEFAULT]enabled_hardware_types``, each
    restricted to the interfaces ``[DEFAULT]enabled_<type>_interfaces``
    enable, its default first.

    :raises DriverNotFound: a name is unknown.
    :raises DriverLoadError: a ``default_<type>_interface`` is not enabled,
        or a hardware type has no enabled implementation of some type.
    """
    unknown = [name for name in names if name not in ALL]
    if unknown:
        raise exception.DriverNotFound(driver_name=', '.join(unknown))
    for interface_type in INTERFACE_TYPES:
        default = CONF['default_%s_interface' % interface_type]
        if default and default not in _enabled(interface_type):
            raise exception.DriverLoadError(
                driver=default,
                reason='default_%s_interface "%s" is not in '
                       'enabled_%s_interfaces'
                       % (interface_type, default, interface_type))
    return {name: enabled_part(ALL[name]) for name in names}


def _enabled(interface_type: str) -> list[str]:
    return CONF['enabled_%s_interfaces' % interface_type]


def enabled_part(hardware_type: HardwareType) -> HardwareType:
    """``hardware_type`` with only its enabled interfaces, the default of
    each interface type first."""
    interfaces = {}
    for interface_type in INTERFACE_TYPES:
        enabled = _enabled(interface_type)
        usable = [name for name in hardware_type.interfaces[interface_type]
                  if name in enabled]
        if not usable:
            raise exception.DriverLoadError(
                driver=hardware_type.name,
                reason='none of the %s interfaces it supports (%s) is in '
                       'enabled_%s_interfaces'
                       % (interface_type,
                          ', '.join(hardware_type.interfaces[interface_type]),
                          interface_type))
        default = CONF['default_%s_interface' % interface_type]
        if default in usable:
            usable.remove(default)
            usable.insert(0, default)
        interfaces[interface_type] = tuple(usable)
    return HardwareType(hardware_type.name, interfaces)


def get(name: str) -> HardwareType:
    """A hardware type with only its enabled interfaces.

    :raises DriverNotFound: no such hardware type.
    """
    try:
        return enabled_part(ALL[name])
    except KeyError:
        raise exception.DriverNotFound(driver_name=name)
