"""The ramdisk deploy's order of work, with real PXE files and recording
power and management stand-ins."""

import os

from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conf import CONF
from ironic_lite.drivers.modules import pxe
from ironic_lite.drivers.modules import ramdisk
from tests import base
from tests.unit.drivers import task as task_double


class NoRamdiskBoot:
    capabilities = ()


class TestRamdiskDeploy(base.TestCase):

    def setUp(self):
        super().setUp()
        image = os.path.join(self.conf_fixture.state_path, 'image')
        with open(image, 'w') as f:
            f.write('image')
        self.calls = []
        node = task_double.make_node(
            driver_info={'deploy_kernel': image, 'deploy_ramdisk': image},
            instance_info={'image_source': image, 'kernel': image,
                           'ramdisk': image, 'configdrive': 'ignored'})
        self.task = task_double.Task(
            node, [task_double.make_port('52:54:00:12:34:56')],
            boot=pxe.PXEBoot(), deploy=ramdisk.RamdiskDeploy(),
            power=task_double.RecordingPower(self.calls),
            management=task_double.RecordingManagement(self.calls))
        self.config_path = os.path.join(CONF.pxe.tftp_root, node.uuid,
                                        'config')

    def test_validate(self):
        self.task.driver.deploy.validate(self.task)
        self.task.ports = []
        self.assertRaises(exception.MissingParameterValue,
                          self.task.driver.deploy.validate, self.task)

    def test_validate_needs_a_ramdisk_capable_boot(self):
        self.task.driver.boot = NoRamdiskBoot()
        e = self.assertRaises(exception.InvalidParameterValue,
                              self.task.driver.deploy.validate, self.task)
        self.assertEqual(
            'Invalid configuration: The boot interface must have the '
            '`ramdisk_boot` capability. You are using an incompatible boot '
            'interface.', str(e))

    def test_deploy_then_tear_down_then_clean_up(self):
        deploy = self.task.driver.deploy
        deploy.prepare(self.task)
        self.assertIsNone(deploy.deploy(self.task))
        self.assertEqual([('power', 'power off'), ('bootdev', 'pxe', True),
                          ('power', 'power on')], self.calls)
        self.assertTrue(os.path.exists(self.config_path))
        self.task.node.provision_state = states.DELETING
        del self.calls[:]
        self.assertEqual(states.DELETED, deploy.tear_down(self.task))
        self.assertEqual([('power', 'power off')], self.calls)
        deploy.clean_up(self.task)
        self.assertFalse(os.path.exists(os.path.dirname(self.config_path)))

    def test_take_over_rebuilds_files_without_bmc_calls(self):
        self.task.node.provision_state = states.ACTIVE
        self.task.driver.deploy.prepare(self.task)
        self.task.driver.deploy.take_over(self.task)
        self.assertTrue(os.path.exists(self.config_path))
        self.assertEqual([], self.calls)
