"""Power actions, boot devices, validation and the periodic power passes,
through RPC (fake://) into a real conductor with a real worker pool."""

import threading

from oslo_utils import uuidutils

from ironic_lite.common import context
from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conductor import rpcapi
from ironic_lite.conductor import service
from ironic_lite.conductor import task_manager
from ironic_lite.drivers import base as drivers_base
from ironic_lite.drivers import factory
from tests import base
from tests.base import wait_for

SIMULATED = 'test-simulated'


class SimulatedPower(drivers_base.PowerInterface):
    """Test-only power: a machine per node in ``MACHINES`` (node uuid ->
    power state), with faults to order in ``FAULTS`` (node uuid ->
    'raise', 'hang', 'read-fails', 'error', 'wrong-driver')."""

    MACHINES: dict[str, str] = {}
    FAULTS: dict[str, str] = {}
    RELEASE = threading.Event()
    calls: list = []

    def validate(self, task):
        if task.node.driver_info.get('invalid'):
            raise exception.MissingParameterValue(err='invalid on purpose')

    def get_supported_power_states(self, task):
        return [states.POWER_ON, states.POWER_OFF, states.REBOOT]

    def get_power_state(self, task):
        fault = self.FAULTS.get(task.node.uuid)
        if fault == 'read-fails':
            raise exception.IPMIFailure(cmd='power status')
        if fault == 'error':
            return states.POWER_ERROR
        return self.MACHINES.get(task.node.uuid, states.POWER_OFF)

    def _fault(self, task, pstate):
        fault = self.FAULTS.get(task.node.uuid)
        if fault == 'raise':
            raise exception.IPMIFailure(cmd=pstate)
        if fault == 'hang':
            self.RELEASE.wait(60)
        if fault == 'wrong-driver':
            raise RuntimeError('a bug in the driver')

    def set_power_state(self, task, power_state, timeout=None):
        self.calls.append((task.node.uuid, power_state, timeout))
        self._fault(task, power_state)
        self.MACHINES[task.node.uuid] = power_state

    def reboot(self, task, timeout=None, soft=False):
        self.calls.append((task.node.uuid, 'reboot', timeout))
        self._fault(task, 'reboot')
        self.MACHINES[task.node.uuid] = states.POWER_ON


class BrokenBoot(drivers_base.BootInterface):
    def validate(self, task):
        raise KeyError('surprise')


def use_simulated_power(test):
    """Register the test-only interfaces, for ``test`` only."""
    factory.IMPLEMENTATIONS[('power', SIMULATED)] = (
        __name__ + ':SimulatedPower')
    factory.IMPLEMENTATIONS[('boot', 'test-broken')] = (
        __name__ + ':BrokenBoot')
    factory._class_of.cache_clear()
    SimulatedPower.MACHINES.clear()
    SimulatedPower.FAULTS.clear()
    SimulatedPower.calls.clear()
    SimulatedPower.RELEASE.clear()

    def remove():
        SimulatedPower.RELEASE.set()  # no thread stays blocked
        factory.IMPLEMENTATIONS.pop(('power', SIMULATED), None)
        factory.IMPLEMENTATIONS.pop(('boot', 'test-broken'), None)
        factory._class_of.cache_clear()
    test.addCleanup(remove)


class PowerTestCase(base.DBTestCase):

    def setUp(self):
        super().setUp()
        use_simulated_power(self)
        self.config(power_driver_grace=1, group='conductor')
        self.service = self.useFixture(base.ConductorFixture()).service
        self.manager = self.service.manager
        self.rpcapi = rpcapi.get_api()
        self.context = context.get_admin_context()

    def create(self, **values):
        values.setdefault('uuid', uuidutils.generate_uuid())
        values.setdefault('driver', 'fake-hardware')
        values.setdefault('provision_state', states.AVAILABLE)
        values.setdefault('power_interface', SIMULATED)
        values.setdefault('management_interface', 'fake')
        # Already this conductor's: its take-over pass leaves it alone.
        values.setdefault('conductor_affinity', self.manager.conductor_id)
        return self.dbapi.create_node(values)

    def node(self, row):
        return self.dbapi.get_node_by_id(row.id)

    def settled(self, row):
        """The node once no work holds it."""
        def done():
            node = self.node(row)
            return node if node.reservation is None and \
                node.target_power_state is None else None
        return wait_for(done, message='the power action to end')

    def power(self, row, new_state, timeout=None):
        self.rpcapi.change_node_power_state(self.context, row, new_state,
                                            timeout=timeout)


class TestPowerActions(PowerTestCase):

    def test_target_is_shown_before_the_call_returns(self):
        row = self.create(power_state=states.POWER_OFF)
        SimulatedPower.FAULTS[row.uuid] = 'hang'
        self.power(row, states.POWER_ON)
        node = self.node(row)
        self.assertEqual(states.POWER_ON, node.target_power_state)
        self.assertEqual('test-conductor', node.reservation)
        SimulatedPower.RELEASE.set()
        node = self.settled(row)
        self.assertEqual(states.POWER_ON, node.power_state)
        self.assertIsNone(node.last_error)

    def test_power_on_off_and_reboot(self):
        row = self.create(power_state=states.POWER_OFF,
                          last_error='old')
        self.power(row, states.POWER_ON)
        node = self.settled(row)
        self.assertEqual(states.POWER_ON, node.power_state)
        self.assertIsNone(node.last_error)
        self.assertEqual(states.POWER_ON, SimulatedPower.MACHINES[row.uuid])
        self.power(row, states.REBOOT)
        self.assertEqual(states.POWER_ON, self.settled(row).power_state)
        self.power(row, states.POWER_OFF, timeout=7)
        self.assertEqual(states.POWER_OFF, self.settled(row).power_state)
        self.assertEqual([(row.uuid, states.POWER_ON, 30),
                          (row.uuid, 'reboot', 30),
                          (row.uuid, states.POWER_OFF, 7)],
                         SimulatedPower.calls)

    def test_already_there_skips_the_driver(self):
        row = self.create(power_state=None, last_error='old')
        SimulatedPower.MACHINES[row.uuid] = states.POWER_ON
        self.power(row, states.POWER_ON)
        node = self.settled(row)
        self.assertEqual(states.POWER_ON, node.power_state)
        self.assertIsNone(node.last_error)
        self.assertEqual([], SimulatedPower.calls)

    def test_fake_hardware_records_the_target(self):
        row = self.create(power_interface='fake')
        self.power(row, states.POWER_ON)
        self.assertEqual(states.POWER_ON, self.settled(row).power_state)
        self.power(row, states.REBOOT)
        self.assertEqual(states.POWER_ON, self.settled(row).power_state)
        self.power(row, states.SOFT_POWER_OFF)
        self.assertEqual(states.POWER_OFF, self.settled(row).power_state)

    def test_driver_failure_is_recorded_and_nothing_stays_set(self):
        row = self.create(power_state=states.POWER_OFF)
        SimulatedPower.FAULTS[row.uuid] = 'raise'
        self.power(row, states.POWER_ON)
        node = self.settled(row)
        self.assertEqual(states.POWER_OFF, node.power_state)
        self.assertEqual("Failed to change power state to 'power on' by "
                         "'power on'. Error: IPMI call failed: power on.",
                         node.last_error)

    def test_unexpected_driver_error_is_recorded(self):
        row = self.create(power_state=states.POWER_ON)
        SimulatedPower.FAULTS[row.uuid] = 'wrong-driver'
        self.power(row, states.REBOOT)
        node = self.settled(row)
        self.assertEqual("Failed to change power state to 'power on' by "
                         "'rebooting'. Error: a bug in the driver",
                         node.last_error)

    def test_failed_read_before_the_change(self):
        row = self.create(power_state=states.POWER_OFF)
        SimulatedPower.FAULTS[row.uuid] = 'read-fails'
        self.power(row, states.POWER_ON)
        node = self.settled(row)
        self.assertEqual("Failed to change power state to 'power on'. "
                         "Error: IPMI call failed: power status.",
                         node.last_error)
        self.assertEqual([], SimulatedPower.calls)

    def test_hanging_driver_gives_up_after_timeout_and_grace(self):
        row = self.create(power_state=states.POWER_OFF)
        SimulatedPower.FAULTS[row.uuid] = 'hang'
        self.power(row, states.POWER_ON, timeout=1)
        node = self.settled(row)
        self.assertEqual("Failed to change power state to 'power on' by "
                         "'power on'. Error: Failed to set node power state "
                         "to power on.", node.last_error)
        self.assertEqual(frozenset(), self.manager.workers.held_nodes())
        # The node can be acted on again at once.
        SimulatedPower.FAULTS.pop(row.uuid)
        self.power(row, states.POWER_ON)
        self.assertEqual(states.POWER_ON, self.settled(row).power_state)

    def test_unsupported_state_and_invalid_data_refused_at_once(self):
        row = self.create(power_state=states.POWER_OFF)
        e = self.assertRaises(exception.InvalidParameterValue, self.power,
                              row, states.SOFT_POWER_OFF)
        self.assertEqual('The driver fake-hardware does not support the '
                         'power state, soft power off', str(e).splitlines()[0])
        bad = self.create(driver_info={'invalid': True})
        e = self.assertRaises(exception.MissingParameterValue, self.power,
                              bad, states.POWER_ON)
        self.assertEqual('invalid on purpose', str(e).splitlines()[0])
        for node in (self.node(row), self.node(bad)):
            self.assertIsNone(node.target_power_state)
            self.assertIsNone(node.reservation)

    def test_locked_node(self):
        row = self.create()
        self.dbapi.reserve_node('other-host', row.id)
        self.assertRaises(exception.NodeLocked, self.power, row,
                          states.POWER_ON)
        self.assertIsNone(self.node(row).target_power_state)

    def test_full_pool_refuses_and_leaves_nothing_locked(self):
        self.service.stop()
        self.config(workers_pool_size=1, group='conductor')
        self.service = service.ConductorService(host='test-conductor')
        self.service.start()
        self.addCleanup(self.service.stop)
        busy = self.create(power_state=states.POWER_OFF)
        other = self.create(power_state=states.POWER_OFF)
        SimulatedPower.FAULTS[busy.uuid] = 'hang'
        self.power(busy, states.POWER_ON)
        e = self.assertRaises(exception.NoFreeConductorWorker, self.power,
                              other, states.POWER_ON)
        self.assertEqual(503, e.code)
        node = self.node(other)
        self.assertEqual(states.POWER_OFF, node.power_state)
        self.assertIsNone(node.target_power_state)
        self.assertEqual(task_manager.NO_FREE_WORKER, node.last_error)
        self.assertIsNone(node.reservation)
        SimulatedPower.RELEASE.set()
        self.assertEqual(states.POWER_ON, self.settled(busy).power_state)

    def test_start_clears_the_target_of_an_action_cut_short(self):
        row = self.create(power_state=states.POWER_OFF)
        self.service.stop()
        self.dbapi.update_node(row.id, {'target_power_state':
                                        states.POWER_ON,
                                        'reservation': 'test-conductor'})
        self.service = service.ConductorService(host='test-conductor')
        self.service.start()
        self.addCleanup(self.service.stop)
        node = self.node(row)
        self.assertIsNone(node.target_power_state)
        self.assertIsNone(node.reservation)
        self.assertEqual(service.POWER_ACTION_ABORTED, node.last_error)


class TestManagement(PowerTestCase):

    def test_boot_device(self):
        row = self.create()
        self.assertEqual(['pxe'], self.rpcapi.get_supported_boot_devices(
            self.context, row))
        self.rpcapi.set_boot_device(self.context, row, 'pxe',
                                    persistent=True)
        self.assertEqual({'boot_device': 'pxe', 'persistent': False},
                         self.rpcapi.get_boot_device(self.context, row))
        e = self.assertRaises(exception.InvalidParameterValue,
                              self.rpcapi.set_boot_device, self.context,
                              row, 'cdrom')
        self.assertEqual('Invalid boot device cdrom specified.',
                         str(e).splitlines()[0])
        self.assertIsNone(self.node(row).reservation)

    def test_get_boot_device_needs_the_lock(self):
        row = self.create()
        self.dbapi.reserve_node('other-host', row.id)
        self.assertRaises(exception.NodeLocked, self.rpcapi.get_boot_device,
                          self.context, row)
        self.assertEqual(['pxe'], self.rpcapi.get_supported_boot_devices(
            self.context, row))

    def test_validate(self):
        row = self.create(bios_interface='no-bios', boot_interface='fake',
                          driver_info={'invalid': True})
        result = self.rpcapi.validate_driver_interfaces(self.context, row)
        self.assertEqual(
            {'boot', 'deploy', 'management', 'network', 'power', 'bios',
             'console', 'inspect', 'raid', 'rescue', 'storage'}, set(result))
        self.assertEqual({'result': False,
                          'reason': 'Driver fake-hardware does not support '
                                    'bios (disabled or not implemented).'},
                         result['bios'])
        self.assertEqual({'result': False, 'reason': 'invalid on purpose'},
                         result['power'])
        self.assertEqual({'result': True}, result['deploy'])

    def test_validate_unexpected_error(self):
        row = self.create(boot_interface='test-broken')
        result = self.rpcapi.validate_driver_interfaces(self.context, row)
        self.assertEqual({'result': False,
                          'reason': 'Unexpected exception, traceback saved '
                                    'into log by ironic conductor service '
                                    'that is running on test-conductor: '
                                    "'surprise'"}, result['boot'])


class TestPowerSync(PowerTestCase):

    def setUp(self):
        super().setUp()
        self.config(power_state_sync_max_retries=2, group='conductor')

    def test_unknown_state_filled_in_and_match_left_alone(self):
        row = self.create(power_state=None)
        SimulatedPower.MACHINES[row.uuid] = states.POWER_ON
        self.manager.sync_power_states()
        self.assertEqual(states.POWER_ON, self.node(row).power_state)
        self.manager.sync_power_states()
        self.assertEqual([], SimulatedPower.calls)
        self.assertEqual({}, self.manager.power_sync.failures)

    def test_mismatch_driven_back_to_the_database(self):
        row = self.create(power_state=states.POWER_ON)
        SimulatedPower.MACHINES[row.uuid] = states.POWER_OFF
        self.manager.sync_power_states()
        self.assertEqual(states.POWER_ON, SimulatedPower.MACHINES[row.uuid])
        node = self.node(row)
        self.assertEqual(states.POWER_ON, node.power_state)
        self.assertIsNone(node.target_power_state)
        self.assertIsNone(node.reservation)
        self.assertEqual(1, self.manager.power_sync.failures[row.id])
        self.manager.sync_power_states()
        self.assertEqual({}, self.manager.power_sync.failures)

    def test_mismatch_recorded_without_force(self):
        self.config(force_power_state_during_sync=False, group='conductor')
        row = self.create(power_state=states.POWER_ON)
        SimulatedPower.MACHINES[row.uuid] = states.POWER_OFF
        self.manager.sync_power_states()
        self.assertEqual(states.POWER_OFF, self.node(row).power_state)
        self.assertEqual([], SimulatedPower.calls)

    def test_failed_reads_end_in_maintenance_then_recovery(self):
        row = self.create(power_state=states.POWER_ON)
        SimulatedPower.FAULTS[row.uuid] = 'read-fails'
        for _ in range(2):
            self.manager.sync_power_states()
            self.assertFalse(self.node(row).maintenance)
        self.manager.sync_power_states()
        node = self.node(row)
        message = ("During sync_power_state, max retries exceeded for node "
                   "%s, node state None does not match expected state "
                   "'power on'. Updating DB state to 'None' Switching node "
                   "to maintenance mode. Error: IPMI call failed: power "
                   "status." % row.uuid)
        self.assertTrue(node.maintenance)
        self.assertEqual('power failure', node.fault)
        self.assertEqual(message, node.maintenance_reason)
        self.assertEqual(message, node.last_error)
        self.assertIsNone(node.power_state)
        # In maintenance: no longer synced; recovery waits for an answer.
        self.manager.sync_power_states()
        self.manager.recover_power_failures()
        self.assertTrue(self.node(row).maintenance)
        SimulatedPower.FAULTS.pop(row.uuid)
        SimulatedPower.MACHINES[row.uuid] = states.POWER_ON
        self.manager.recover_power_failures()
        node = self.node(row)
        self.assertFalse(node.maintenance)
        self.assertIsNone(node.maintenance_reason)
        self.assertIsNone(node.fault)
        self.assertEqual(states.POWER_ON, node.power_state)

    def test_skipped_nodes(self):
        skipped = [
            self.create(power_state=states.POWER_ON, maintenance=True),
            self.create(power_state=states.POWER_ON,
                        provision_state=states.DEPLOYWAIT),
            self.create(power_state=states.POWER_ON,
                        provision_state=states.CLEANWAIT),
            self.create(power_state=states.POWER_ON,
                        provision_state=states.ENROLL),
            self.create(power_state=states.POWER_ON,
                        reservation='other-host'),
        ]
        for row in skipped:
            SimulatedPower.MACHINES[row.uuid] = states.POWER_OFF
        self.manager.sync_power_states()
        self.assertEqual([], SimulatedPower.calls)
        for row in skipped:
            self.assertEqual(states.POWER_ON, self.node(row).power_state)

    def test_orphaned_target_cleared(self):
        row = self.create(power_state=states.POWER_OFF,
                          target_power_state=states.POWER_ON)
        self.manager.sync_power_states()
        node = self.node(row)
        self.assertIsNone(node.target_power_state)
        self.assertEqual('Pending power operation was aborted due to '
                         'conductor take over', node.last_error)

    def test_nodes_of_other_conductors_left_alone(self):
        row = self.create(power_state=states.POWER_ON,
                          conductor_group='elsewhere')
        SimulatedPower.MACHINES[row.uuid] = states.POWER_OFF
        self.manager.sync_power_states()
        self.assertEqual([], SimulatedPower.calls)
