"""A node's driver: the implementation of each interface type its
``<type>_interface`` fields name, found in one table."""

import functools
import importlib
import types

from ironic_lite.common import exception
from ironic_lite.common import interfaces
from ironic_lite.drivers import base
from ironic_lite.drivers import hardware_types

_FAKE = 'ironic_lite.drivers.modules.fake:'
_IPMITOOL = 'ironic_lite.drivers.modules.ipmitool:'
_PXE = 'ironic_lite.drivers.modules.pxe:'
_NETWORK = 'ironic_lite.drivers.modules.network:'

# (interface type, implementation name) -> 'module:Class'. ``no-*`` and
# ``noop`` names need no entry unless they do something (network ``noop``).
IMPLEMENTATIONS = {
    ('power', 'fake'): _FAKE + 'FakePower',
    ('management', 'fake'): _FAKE + 'FakeManagement',
    ('boot', 'fake'): _FAKE + 'FakeBoot',
    ('deploy', 'fake'): _FAKE + 'FakeDeploy',
    **{(interface_type, 'fake'): _FAKE + 'FakeInterface'
       for interface_type in ('bios', 'console', 'inspect', 'raid',
                              'rescue', 'vendor')},
    ('power', 'ipmitool'): _IPMITOOL + 'IPMIPower',
    ('management', 'ipmitool'): _IPMITOOL + 'IPMIManagement',
    ('boot', 'pxe'): _PXE + 'PXEBoot',
    ('boot', 'ipxe'): _PXE + 'IPXEBoot',
    ('deploy', 'ramdisk'): 'ironic_lite.drivers.modules.ramdisk:'
                           'RamdiskDeploy',
    ('network', 'noop'): _NETWORK + 'NoopNetwork',
    ('network', 'flat'): _NETWORK + 'FlatNetwork',
}


@functools.cache
def _class_of(interface_type: str, name: str) -> type:
    path = IMPLEMENTATIONS.get((interface_type, name))
    if path is None:
        if name.startswith('no-'):
            return base.UnsupportedInterface
        if name == 'noop':
            return base.NoopInterface
        raise exception.InterfaceNotFound(interface_type=interface_type,
                                          name=name)
    module, _, cls = path.partition(':')
    return getattr(importlib.import_module(module), cls)


def interface(interface_type: str, name: str) -> base.BaseInterface:
    """A new instance of one implementation."""
    instance = _class_of(interface_type, name)()
    instance.interface_type = interface_type
    instance.name = name
    return instance


def build(node, hardware_type: base.HardwareType | None = None):
    """The node's driver: one attribute per interface type
    (``driver.power``, ``driver.boot``, ...). An interface field left null
    gets the hardware type's default.

    :raises DriverNotFound: the node's hardware type is unknown.
    """
    if hardware_type is None:
        hardware_type = hardware_types.get(node.driver)
    return types.SimpleNamespace(**{
        interface_type: interface(
            interface_type,
            getattr(node, field, None) or hardware_type.default(
                interface_type))
        for interface_type, field in zip(interfaces.INTERFACE_TYPES,
                                         interfaces.NODE_FIELDS,
                                         strict=True)})


def properties(driver_name: str) -> dict[str, str]:
    """The ``driver_info`` keys a hardware type's default interfaces read,
    with their descriptions.

    :raises DriverNotFound:
    """
    hardware_type = hardware_types.get(driver_name)
    result = {}
    for interface_type in interfaces.INTERFACE_TYPES:
        result.update(interface(interface_type,
                                hardware_type.default(interface_type))
                      .get_properties())
    return result
