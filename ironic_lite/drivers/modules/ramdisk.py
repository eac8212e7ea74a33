"""The ``ramdisk`` deploy: the node boots the instance's kernel and ramdisk
over the network; nothing is written to its disks.

deploy: power off, boot files and boot device PXE, power on; the node is
``active`` as soon as that is done (no agent, no ``wait call-back``).
tear_down: power off. clean_up: remove the boot files.
"""

import logging

from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.drivers import base

LOG = logging.getLogger(__name__)


class RamdiskDeploy(base.DeployInterface):
    name = 'ramdisk'

    def validate(self, task) -> None:
        if 'ramdisk_boot' not in getattr(task.driver.boot, 'capabilities',
                                         ()):
            raise exception.InvalidParameterValue(
                err='Invalid configuration: The boot interface must have '
                    'the `ramdisk_boot` capability. You are using an '
                    'incompatible boot interface.')
        task.driver.boot.validate(task)

    def prepare(self, task) -> None:
        """For an ``active`` node (a take-over): rebuild its boot files
        without touching the BMC."""
        if task.node.provision_state == states.ACTIVE:
            task.driver.boot.prepare_instance(task)

    def deploy(self, task) -> None:
        node = task.node
        if (node.instance_info or {}).get('configdrive'):
            LOG.warning('The ramdisk deploy ignores the configdrive of node '
                        '%s', node.uuid)
        task.driver.power.set_power_state(task, states.POWER_OFF)
        task.driver.boot.prepare_instance(task)
        task.driver.power.set_power_state(task, states.POWER_ON)
        LOG.info('Node %s booted its ramdisk instance', node.uuid)
        return None

    def tear_down(self, task) -> str:
        task.driver.power.set_power_state(task, states.POWER_OFF)
        return states.DELETED

    def clean_up(self, task) -> None:
        task.driver.boot.clean_up_ramdisk(task)
        task.driver.boot.clean_up_instance(task)

    def take_over(self, task) -> None:
        """Nothing beyond :meth:`prepare`: the node keeps running."""
