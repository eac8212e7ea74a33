"""The ipmitool power and management interfaces, and the ramdisk deploy,
against virtual BMCs through the real ipmitool binary."""

import logging
import os
import shutil
import threading
import time

import fixtures

from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conf import CONF
from ironic_lite.drivers.modules import ipmitool
from ironic_lite.drivers.modules import pxe
from ironic_lite.drivers.modules import ramdisk
from tests import base
from tests import services
from tests.functional import virtual_bmc
from tests.unit.drivers import task as task_double

PASSWORD = 'S3cr3t-Pa55word'


class IPMIToolTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        if shutil.which('ipmitool') is None:
            services.unavailable(
                self, 'ipmitool is not installed (apt-get install ipmitool)')
        # Fast: ipmitool tries each command for about 2 seconds.
        self.config(min_command_interval=0, command_retry_timeout=2,
                    group='ipmi')
        self.config(power_state_change_timeout=10, group='conductor')
        # The password files land here, to check none is left behind.
        self.tempdir = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MonkeyPatch('tempfile.tempdir',
                                             self.tempdir))
        self.logs = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, format='%(levelname)s %(message)s'))
        self.bmc = self.start_bmc()
        self.task = self.make_task(self.bmc)

    def start_bmc(self, **kwargs) -> virtual_bmc.VirtualBMC:
        bmc = virtual_bmc.VirtualBMC(password=PASSWORD, **kwargs).start()
        self.addCleanup(bmc.stop)
        return bmc

    def make_task(self, bmc, **driver_info):
        node = task_double.make_node(
            driver_info=bmc.driver_info(**driver_info))
        return task_double.Task(node, power=ipmitool.IPMIPower(),
                                management=ipmitool.IPMIManagement())

    @property
    def power(self):
        return self.task.driver.power

    @property
    def management(self):
        return self.task.driver.management

    def assertNoSecretAnywhere(self, *texts):
        for text in texts + (self.logs.output,):
            self.assertNotIn(PASSWORD, text)
        self.assertEqual([], os.listdir(self.tempdir))


class TestPower(IPMIToolTestCase):

    def test_on_off_status(self):
        self.assertEqual(states.POWER_OFF, self.power.get_power_state(
            self.task))
        self.power.validate(self.task)
        self.power.set_power_state(self.task, states.POWER_ON)
        self.assertEqual(states.POWER_ON,
                         self.power.get_power_state(self.task))
        self.power.set_power_state(self.task, states.POWER_OFF)
        self.assertEqual(states.POWER_OFF,
                         self.power.get_power_state(self.task))
        self.assertEqual([('power', 'on'), ('power', 'off')],
                         self.bmc.events)
        self.assertIn('-f %s/' % self.tempdir, self.logs.output)
        self.assertNoSecretAnywhere()

    def test_reboot_is_off_then_on(self):
        self.power.set_power_state(self.task, states.POWER_ON)
        self.power.reboot(self.task)
        self.assertEqual([('power', 'on'), ('power', 'off'), ('power', 'on')],
                         self.bmc.events)

    def test_reboot_of_a_node_that_is_off_only_powers_on(self):
        self.power.set_power_state(self.task, states.REBOOT)
        self.assertEqual([('power', 'on')], self.bmc.events)

    def test_soft_power_off(self):
        self.power.set_power_state(self.task, states.POWER_ON)
        self.power.set_power_state(self.task, states.SOFT_POWER_OFF,
                                   timeout=10)
        self.assertEqual([('power', 'on'), ('power', 'soft')],
                         self.bmc.events)
        self.assertEqual('off', self.bmc.power)

    def test_slow_power_change_is_waited_for(self):
        self.bmc.power_delay = 1.5
        self.power.set_power_state(self.task, states.POWER_ON)
        self.assertEqual('on', self.bmc.power)

    def test_power_change_not_reached_in_time(self):
        self.bmc.power_delay = 30
        started = time.monotonic()
        e = self.assertRaises(exception.PowerStateFailure,
                              self.power.set_power_state, self.task,
                              states.POWER_ON, timeout=2)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual('Failed to set node power state to power on.',
                         str(e))


class TestBootDevice(IPMIToolTestCase):

    def test_set_and_get(self):
        self.management.validate(self.task)
        self.assertEqual(['pxe', 'disk', 'cdrom', 'bios', 'safe'],
                         self.management.get_supported_boot_devices(
                             self.task))
        self.management.set_boot_device(self.task, 'pxe', persistent=True)
        self.assertEqual({'boot_device': 'pxe', 'persistent': True},
                         self.management.get_boot_device(self.task))
        self.management.set_boot_device(self.task, 'disk')
        self.assertEqual({'boot_device': 'disk', 'persistent': False},
                         self.management.get_boot_device(self.task))
        self.assertEqual([('bootdev', 'pxe', True),
                          ('bootdev', 'disk', False)], self.bmc.events)
        self.assertNoSecretAnywhere()

    def test_forced_boot_device_is_sent_again_before_power_on(self):
        self.task = self.make_task(self.bmc, ipmi_force_boot_device=True)
        self.management.set_boot_device(self.task, 'pxe', persistent=True)
        self.assertEqual('pxe', self.task.node.driver_internal_info[
            'persistent_boot_device'])
        self.power.set_power_state(self.task, states.POWER_ON)
        self.assertEqual([('bootdev', 'pxe', False),
                          ('bootdev', 'pxe', False), ('power', 'on')],
                         self.bmc.events)


class TestFailures(IPMIToolTestCase):

    def test_wrong_password(self):
        self.bmc.authdata = {'admin': 'another-password'}
        for call in (self.power.get_power_state,
                     lambda task: self.power.set_power_state(
                         task, states.POWER_ON),
                     lambda task: self.management.set_boot_device(
                         task, 'pxe')):
            e = self.assertRaises(exception.IPMIFailure, call, self.task)
            self.assertIn('BMC 127.0.0.1 port %d' % self.bmc.port, str(e))
            self.assertIn('Unable to establish IPMI v2 / RMCP+ session',
                          str(e))
            self.assertNoSecretAnywhere(str(e))
        self.assertEqual([], self.bmc.events)

    def test_bmc_down_fails_in_bounded_time(self):
        self.bmc.down = True
        started = time.monotonic()
        e = self.assertRaises(exception.IPMIFailure,
                              self.power.set_power_state, self.task,
                              states.POWER_ON)
        # -R 2 -N 1, stopped after command_retry_timeout + 1 s at most.
        self.assertLess(time.monotonic() - started, 10)
        self.assertTrue(str(e).startswith('IPMI call failed: power on. '
                                          'BMC 127.0.0.1 port %d: '
                                          % self.bmc.port), str(e))
        self.assertNoSecretAnywhere(str(e))

    def test_hung_ipmitool_is_stopped(self):
        self.bmc.down = True
        for kill in (True, False):
            self.config(kill_on_timeout=kill, group='ipmi')
            started = time.monotonic()
            e = self.assertRaises(exception.IPMIFailure,
                                  self.power.get_power_state, self.task)
            # ipmitool alone would go on for about 6 seconds.
            self.assertLess(time.monotonic() - started, 5)
            self.assertIn('ipmitool did not answer within 3 seconds and was '
                          'stopped.', str(e))
        self.assertNoSecretAnywhere()

    def test_ipmitool_missing(self):
        self.config(ipmitool_path='/nonexistent/ipmitool', group='ipmi')
        e = self.assertRaises(exception.IPMIFailure,
                              self.power.get_power_state, self.task)
        self.assertIn('ipmitool is not installed: "/nonexistent/ipmitool" '
                      'was not found ([ipmi]ipmitool_path).', str(e))
        self.assertNoSecretAnywhere(str(e))

    def test_busy_bmc_is_asked_again(self):
        self.config(command_retry_timeout=10, group='ipmi')
        self.bmc.busy = 2
        self.power.set_power_state(self.task, states.POWER_ON)
        self.assertEqual([('power', 'on')], self.bmc.events)
        self.assertEqual(2, self.logs.output.count(
            'failed, retrying: Set Chassis Power Control to Up/On failed: '
            'Node busy'), self.logs.output)

    def test_commands_to_one_bmc_are_spaced(self):
        self.config(min_command_interval=1, group='ipmi')
        started = time.monotonic()
        for _ in range(3):
            self.power.get_power_state(self.task)
        self.assertGreaterEqual(time.monotonic() - started, 2)


class TestRamdiskDeploy(IPMIToolTestCase):

    def test_deploy_and_undeploy_against_a_bmc(self):
        image = os.path.join(self.conf_fixture.state_path, 'image')
        with open(image, 'w') as f:
            f.write('image')
        node = self.task.node
        node.driver_info.update(deploy_kernel=image, deploy_ramdisk=image)
        node.instance_info = {'image_source': image, 'kernel': image,
                              'ramdisk': image}
        self.task.ports = [task_double.make_port('52:54:00:12:34:56')]
        self.task.driver.boot = pxe.PXEBoot()
        self.task.driver.deploy = deploy = ramdisk.RamdiskDeploy()
        deploy.validate(self.task)
        deploy.prepare(self.task)
        self.assertIsNone(deploy.deploy(self.task))
        self.assertEqual([('power', 'off'), ('bootdev', 'pxe', True),
                          ('power', 'on')], self.bmc.events)
        config = os.path.join(CONF.pxe.tftp_root, node.uuid, 'config')
        self.assertTrue(os.path.exists(config))

        node.provision_state = states.DELETING
        self.assertEqual(states.DELETED, deploy.tear_down(self.task))
        deploy.clean_up(self.task)
        self.assertEqual('off', self.bmc.power)
        self.assertFalse(os.path.exists(config))
        self.assertNoSecretAnywhere()


class TestVirtualBMC(IPMIToolTestCase):

    def test_stop_leaves_no_thread_and_no_socket(self):
        bmc = virtual_bmc.VirtualBMC().start()
        bmc.stop()
        self.assertTrue(bmc.serversocket._closed)
        self.assertNotIn('virtual-bmc-%d' % bmc.port,
                         [t.name for t in threading.enumerate()])
