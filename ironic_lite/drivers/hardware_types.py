"""The hardware types ironic-lite ships."""

from ironic_lite.common import exception
from ironic_lite.drivers.base import HardwareType

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
    'boot': ('pxe',),
    'console': ('no-console',),
    'deploy': ('direct',),
    'inspect': ('no-inspect',),
    'management': ('ipmitool',),
    'network': ('noop', 'flat'),
    'power': ('ipmitool',),
    'raid': ('no-raid',),
    'rescue': ('no-rescue',),
    'storage': ('noop',),
    'vendor': ('ipmitool', 'no-vendor'),
})

ALL = {hw.name: hw for hw in (FAKE_HARDWARE, IPMI)}


def load(names: list[str]) -> dict[str, HardwareType]:
    """The hardware types named in ``[DEFAULT]enabled_hardware_types``.

    :raises DriverNotFound: a name is unknown.
    """
    unknown = [name for name in names if name not in ALL]
    if unknown:
        raise exception.DriverNotFound(driver_name=', '.join(unknown))
    return {name: ALL[name] for name in names}


def get(name: str) -> HardwareType:
    """:raises DriverNotFound: no such hardware type."""
    try:
        return ALL[name]
    except KeyError:
        raise exception.DriverNotFound(driver_name=name)
