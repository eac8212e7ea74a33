"""What a driver is: the interfaces a conductor calls, and hardware types.

The contract between the conductor and the drivers:

* The conductor calls an interface with a ``task``, the node it holds:

  - ``task.node``: the node row (read its columns as attributes:
    ``uuid``, ``driver_info``, ``instance_info``, ``driver_internal_info``,
    ``provision_state``, ``power_state``, ...). Treat it as read-only.
  - ``task.ports``: the node's ports (``uuid``, ``address`` lower-case
    ``aa:bb:cc:dd:ee:ff``, ``pxe_enabled``, ``extra``, ...).
  - ``task.driver``: the node's interface instances by type
    (``task.driver.power``, ``.management``, ``.boot``, ``.deploy``, ...).
  - ``task.host``: the hostname of the conductor running the task.
  - ``task.shared``: True for a read-only task (validate, get).
  - ``task.update(values)``: write node columns (exclusive tasks only),
    e.g. ``driver_internal_info``. The conductor records power and
    provision states itself.

* Drivers know nothing of HTTP, RPC, locks or the state machine. They raise
  the exceptions of ``common/exception.py``: InvalidParameterValue and
  MissingParameterValue for bad node data (from ``validate``),
  UnsupportedDriverExtension for a ``no-*`` interface, and the
  DriverOperationError family (IPMIFailure, PowerStateFailure, PXEFailure,
  InstanceDeployFailure) when the hardware or the host fails. Their
  messages never hold a password.
"""

import dataclasses

from ironic_lite.common import exception
from ironic_lite.common.interfaces import INTERFACE_TYPES


class BaseInterface:
    """One implementation of one interface type."""

    interface_type: str = ''
    name: str = ''

    def get_properties(self) -> dict[str, str]:
        """The ``driver_info`` keys this implementation reads, with their
        descriptions (``GET /v1/drivers/{name}/properties``)."""
        return {}

    def validate(self, task) -> None:
        """Check the node's data, without touching the hardware.

        :raises InvalidParameterValue, MissingParameterValue:
        """


class UnsupportedInterface(BaseInterface):
    """A ``no-*`` implementation: validates to False, does nothing."""

    def validate(self, task) -> None:
        raise exception.UnsupportedDriverExtension(
            driver=task.node.driver, extension=self.interface_type)


class NoopInterface(BaseInterface):
    """A ``noop`` implementation (network, storage): nothing to do."""


class PowerInterface(BaseInterface):
    interface_type = 'power'

    def get_supported_power_states(self, task) -> list[str]:
        raise NotImplementedError

    def get_power_state(self, task) -> str:
        """``power on``, ``power off`` or ``error``."""
        raise NotImplementedError

    def set_power_state(self, task, power_state: str,
                        timeout: int | None = None) -> None:
        """Drive the node to ``power_state`` (``power on``, ``power off``,
        ``soft power off``) and wait until it is there.

        :raises PowerStateFailure: not reached within ``timeout`` seconds.
        :raises IPMIFailure: the BMC could not be talked to.
        """
        raise NotImplementedError

    def reboot(self, task, timeout: int | None = None,
               soft: bool = False) -> None:
        raise NotImplementedError


class ManagementInterface(BaseInterface):
    interface_type = 'management'

    def get_supported_boot_devices(self, task) -> list[str]:
        raise NotImplementedError

    def set_boot_device(self, task, device: str,
                        persistent: bool = False) -> None:
        """:raises InvalidParameterValue: an unsupported device."""
        raise NotImplementedError

    def get_boot_device(self, task) -> dict:
        """``{"boot_device": <device or None>, "persistent": <bool or
        None>}``."""
        raise NotImplementedError


class BootInterface(BaseInterface):
    interface_type = 'boot'
    # 'ramdisk_boot': can boot an instance kernel/ramdisk over the network.
    capabilities: tuple[str, ...] = ()

    def prepare_ramdisk(self, task, ramdisk_params: dict) -> None:
        """Boot files for the deploy ramdisk."""

    def clean_up_ramdisk(self, task) -> None:
        pass

    def prepare_instance(self, task) -> None:
        """Boot files for the instance, and the boot device to boot it.
        Also used to rebuild the files of an active node on take-over."""

    def clean_up_instance(self, task) -> None:
        """Remove every boot file of the node."""


class DeployInterface(BaseInterface):
    interface_type = 'deploy'

    def prepare(self, task) -> None:
        pass

    def deploy(self, task) -> str | None:
        """Deploy; None when done (the node goes ``active``), or
        ``states.DEPLOYWAIT`` when a callback will finish it."""
        raise NotImplementedError

    def tear_down(self, task) -> str:
        """Undo the deploy; returns ``states.DELETED``."""
        raise NotImplementedError

    def clean_up(self, task) -> None:
        pass

    def take_over(self, task) -> None:
        """This conductor has just become the node's conductor."""


@dataclasses.dataclass(frozen=True)
class HardwareType:
    name: str
    # interface type -> supported implementation names, the default first
    interfaces: dict[str, tuple[str, ...]]

    def __post_init__(self):
        missing = set(INTERFACE_TYPES) - set(self.interfaces)
        if missing:
            raise ValueError('Hardware type %s lacks the interface types %s'
                             % (self.name, sorted(missing)))

    def default(self, interface_type: str) -> str:
        return self.interfaces[interface_type][0]

    def supports(self, interface_type: str, name: str) -> bool:
        return name in self.interfaces[interface_type]

    def registrations(self):
        """Rows for conductor_hardware_interfaces."""
        for interface_type in INTERFACE_TYPES:
            for name in self.interfaces[interface_type]:
                yield {'hardware_type': self.name,
                       'interface_type': interface_type,
                       'interface_name': name,
                       'default': name == self.default(interface_type)}
