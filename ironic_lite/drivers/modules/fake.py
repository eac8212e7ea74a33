"""The ``fake`` implementations of fake-hardware: they touch no hardware.

As Ironic's: power reports the state the conductor last recorded (null until
the first power action); management knows only ``pxe``; boot does nothing;
deploy finishes at once.
"""

from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.drivers import base


class FakePower(base.PowerInterface):

    def get_supported_power_states(self, task) -> list[str]:
        return list(states.POWER_STATES)

    def get_power_state(self, task) -> str | None:
        return task.node.power_state

    def set_power_state(self, task, power_state, timeout=None) -> None:
        pass

    def reboot(self, task, timeout=None, soft=False) -> None:
        pass


class FakeManagement(base.ManagementInterface):

    def get_supported_boot_devices(self, task) -> list[str]:
        return ['pxe']

    def set_boot_device(self, task, device, persistent=False) -> None:
        if device not in self.get_supported_boot_devices(task):
            raise exception.InvalidParameterValue(
                err='Invalid boot device %s specified.' % device)

    def get_boot_device(self, task) -> dict:
        return {'boot_device': 'pxe', 'persistent': False}


class FakeBoot(base.BootInterface):
    capabilities = ('ramdisk_boot',)


class FakeDeploy(base.DeployInterface):

    def deploy(self, task) -> None:
        return None

    def tear_down(self, task) -> str:
        return states.DELETED

    def prepare_cleaning(self, task) -> None:
        """No clean steps: cleaning ends at once (None, not
        ``clean wait``)."""
        return None


class FakeInterface(base.BaseInterface):
    """``fake`` for the interface types with nothing to do here (bios,
    console, inspect, raid, rescue, vendor)."""
