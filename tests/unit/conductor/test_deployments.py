"""Provision states on a conductor, called through RPC (fake://) as the API
calls them, with a real database, worker pool and fake-hardware; the
failures come from test implementations put in the drivers' table."""

import datetime
import threading

from oslo_utils import timeutils

from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conductor import deployments
from ironic_lite.drivers import factory
from ironic_lite.drivers.modules import fake
from tests import base
from tests.unit.conductor import test_manager
from tests.unit.conductor import test_service

_HERE = __name__ + ':'


class Gate:
    """Where test implementations wait until the test lets them go."""

    opened = threading.Event()
    entered = threading.Event()

    @classmethod
    def wait(cls):
        cls.entered.set()
        cls.opened.wait(30)


class BlockingDeploy(fake.FakeDeploy):
    def deploy(self, task):
        Gate.wait()


class FailingDeploy(fake.FakeDeploy):
    def deploy(self, task):
        raise exception.InstanceDeployFailure(reason='disk on fire')

    def clean_up(self, task):
        task.update({'extra': {'cleaned_up': True}})


class FailingPrepare(fake.FakeDeploy):
    def prepare(self, task):
        raise exception.PXEFailure(reason='no tftp root')


class WaitingDeploy(fake.FakeDeploy):
    def deploy(self, task):
        return states.DEPLOYWAIT

    def clean_up(self, task):
        task.update({'extra': {'cleaned_up': True}})


class FailingTearDown(fake.FakeDeploy):
    def tear_down(self, task):
        raise exception.IPMIFailure(cmd='power off')


class InvalidDeploy(fake.FakeDeploy):
    def validate(self, task):
        raise exception.MissingParameterValue(
            err='Missing instance_info: image_source')


class TakingOverDeploy(fake.FakeDeploy):
    def prepare(self, task):
        task.update({'extra': {**task.node.extra, 'prepared': task.host}})

    def take_over(self, task):
        task.update({'extra': {**task.node.extra, 'taken': task.host}})


class NoCleaningDeploy(fake.FakeDeploy):
    prepare_cleaning = None


class InvalidPower(fake.FakePower):
    def validate(self, task):
        raise exception.MissingParameterValue(err='Missing ipmi_address')


class UnreadablePower(fake.FakePower):
    def get_power_state(self, task):
        raise exception.IPMIFailure(cmd='power status')


class ProvisionTestCase(test_manager.ManagerTestCase):

    def setUp(self):
        super().setUp()
        Gate.opened.clear()
        Gate.entered.clear()
        self.addCleanup(Gate.opened.set)
        self.addCleanup(self.service.manager.workers.wait_idle, 30)

    def use(self, interface_type, cls, name='fake'):
        """Make ``name`` of ``interface_type`` the test class ``cls``."""
        key = (interface_type, name)
        saved = factory.IMPLEMENTATIONS[key]
        factory.IMPLEMENTATIONS[key] = _HERE + cls.__name__
        factory._class_of.cache_clear()
        self.addCleanup(factory._class_of.cache_clear)
        self.addCleanup(factory.IMPLEMENTATIONS.__setitem__, key, saved)

    def view(self, row):
        return test_manager.target(uuid=row.uuid, driver=row.driver,
                                   conductor_group=row.conductor_group)

    def deploy(self, row, **kwargs):
        self.rpcapi.do_node_deploy(self.context, self.view(row), **kwargs)
        return self.node(row)

    def tear_down(self, row):
        self.rpcapi.do_node_tear_down(self.context, self.view(row))
        return self.node(row)

    def action(self, row, action):
        self.rpcapi.do_provisioning_action(self.context, self.view(row),
                                           action)
        return self.node(row)

    def node(self, row):
        return self.dbapi.get_node_by_id(row.id)

    def settled(self, row, state):
        """The node once it is in ``state`` and unlocked."""
        def done():
            node = self.node(row)
            return (node.provision_state == state
                    and node.reservation is None and node)
        return base.wait_for(done, message='node in %s' % state)


class TestFlows(ProvisionTestCase):

    def test_enroll_to_active_and_back_to_available(self):
        row = self.create(power_state=states.POWER_OFF)
        self.action(row, 'manage')
        node = self.settled(row, states.MANAGEABLE)
        self.assertIsNone(node.target_provision_state)
        self.assertEqual(states.POWER_OFF, node.power_state)
        self.action(row, 'provide')
        node = self.settled(row, states.AVAILABLE)
        self.assertIsNone(node.target_provision_state)

        self.deploy(row, configdrive='H4sICDe5')
        node = self.settled(row, states.ACTIVE)
        self.assertIsNone(node.target_provision_state)
        self.assertIsNone(node.last_error)
        self.assertEqual('H4sICDe5', node.instance_info['configdrive'])
        self.assertEqual(self.service.manager.conductor_id,
                         node.conductor_affinity)

        self.dbapi.update_node(row.id, {
            'instance_uuid': '0a7d2b15-1b55-4f53-8e4c-17c3e6d1c8b0',
            'driver_internal_info': {'is_whole_disk_image': True,
                                     'kept': 1}})
        self.tear_down(row)
        node = self.settled(row, states.AVAILABLE)
        self.assertIsNone(node.target_provision_state)
        self.assertEqual(({}, None, {'kept': 1}),
                         (node.instance_info, node.instance_uuid,
                          node.driver_internal_info))

    def test_the_intermediate_state_is_there_when_the_call_returns(self):
        self.use('deploy', BlockingDeploy)
        row = self.create(provision_state=states.AVAILABLE)
        node = self.deploy(row)
        self.assertEqual((states.DEPLOYING, states.ACTIVE, 'test-conductor'),
                         (node.provision_state, node.target_provision_state,
                          node.reservation))
        self.assertIsNotNone(node.provision_updated_at)
        e = self.assertRaises(exception.NodeLocked, self.deploy, row)
        self.assertEqual(409, e.code)
        Gate.opened.set()
        self.settled(row, states.ACTIVE)

    def test_rebuild_and_deploy_again_after_a_failure(self):
        row = self.create(provision_state=states.ACTIVE)
        self.deploy(row, rebuild=True)
        self.settled(row, states.ACTIVE)
        self.dbapi.update_node(row.id, {'provision_state': states.DEPLOYFAIL})
        self.deploy(row)
        self.settled(row, states.ACTIVE)

    def test_fake_inspection(self):
        row = self.create(provision_state=states.MANAGEABLE)
        self.action(row, 'inspect')
        node = self.settled(row, states.MANAGEABLE)
        self.assertIsNotNone(node.inspection_started_at)
        self.assertIsNotNone(node.inspection_finished_at)

    def test_adoption_takes_the_node_over(self):
        self.use('deploy', TakingOverDeploy)
        row = self.create(provision_state=states.MANAGEABLE)
        self.action(row, 'adopt')
        node = self.settled(row, states.ACTIVE)
        self.assertEqual({'prepared': 'test-conductor',
                          'taken': 'test-conductor'}, node.extra)

    def test_plain_manage_events(self):
        for state in (states.AVAILABLE, states.CLEANFAIL, states.INSPECTFAIL,
                      states.ADOPTFAIL):
            row = self.create(provision_state=state)
            node = self.action(row, 'manage')
            self.assertEqual((states.MANAGEABLE, None, None),
                             (node.provision_state,
                              node.target_provision_state, node.reservation))

    def test_abort(self):
        row = self.create(provision_state=states.CLEANWAIT)
        self.dbapi.update_node(row.id, {
            'target_provision_state': states.MANAGEABLE})
        node = self.action(row, 'abort')
        self.assertEqual((states.CLEANFAIL, states.MANAGEABLE,
                          'By request, the clean operation was aborted'),
                         (node.provision_state, node.target_provision_state,
                          node.last_error))
        self.assertFalse(node.maintenance)
        row = self.create(provision_state=states.INSPECTWAIT)
        node = self.action(row, 'abort')
        self.assertEqual((states.INSPECTFAIL,
                          'Inspection was aborted by request.'),
                         (node.provision_state, node.last_error))
        row = self.create(provision_state=states.ACTIVE)
        e = self.assertRaises(exception.InvalidStateRequested, self.action,
                              row, 'abort')
        self.assertEqual(400, e.code)


class TestRefusals(ProvisionTestCase):

    def test_maintenance(self):
        row = self.create(provision_state=states.AVAILABLE, maintenance=True)
        e = self.assertRaises(exception.NodeInMaintenance, self.deploy, row)
        self.assertEqual(400, e.code)
        self.assertEqual("The provisioning operation can't be performed on "
                         "node %s because it's in maintenance mode."
                         % row.uuid, e.faultstring)

    def test_protected(self):
        row = self.create(provision_state=states.ACTIVE)
        self.dbapi.update_node(row.id, {'protected': True})
        for call in (self.tear_down,
                     lambda row: self.deploy(row, rebuild=True)):
            e = self.assertRaises(exception.NodeProtected, call, row)
            self.assertEqual(403, e.code)
        self.assertEqual(states.ACTIVE, self.node(row).provision_state)

    def test_validation(self):
        self.use('deploy', InvalidDeploy)
        row = self.create(provision_state=states.AVAILABLE)
        e = self.assertRaises(exception.MissingParameterValue, self.deploy,
                              row)
        self.assertEqual(400, e.code)
        self.assertEqual('Failed to validate deploy or power info for node '
                         '%s. Error: Missing instance_info: image_source'
                         % row.uuid, e.faultstring)
        node = self.node(row)
        self.assertEqual((states.AVAILABLE, None),
                         (node.provision_state, node.reservation))
        self.use('power', InvalidPower)
        self.dbapi.update_node(row.id, {'provision_state': states.ACTIVE})
        e = self.assertRaises(exception.InvalidParameterValue,
                              self.tear_down, row)
        self.assertEqual('Failed to validate power driver interface. Can '
                         'not delete instance. Error: Missing ipmi_address',
                         e.faultstring)

    def test_invalid_state(self):
        row = self.create(provision_state=states.ENROLL)
        e = self.assertRaises(exception.InvalidStateRequested, self.deploy,
                              row)
        self.assertEqual('The requested action "deploy" can not be '
                         'performed on node "%s" while it is in state '
                         '"enroll".' % row.uuid, e.faultstring)

    def test_no_inspect_interface(self):
        row = self.create(provision_state=states.MANAGEABLE,
                          inspect_interface='no-inspect')
        e = self.assertRaises(exception.UnsupportedDriverExtension,
                              self.action, row, 'inspect')
        self.assertEqual('Driver fake-hardware does not support inspect '
                         '(disabled or not implemented).', e.faultstring)
        self.assertEqual(states.MANAGEABLE, self.node(row).provision_state)

    def test_manual_clean_and_rescue_are_refused_clearly(self):
        row = self.create(provision_state=states.MANAGEABLE)
        e = self.assertRaises(exception.InvalidParameterValue, self.action,
                              row, 'clean')
        self.assertIn('Manual cleaning is not supported', e.faultstring)
        row = self.create(provision_state=states.ACTIVE)
        e = self.assertRaises(exception.InvalidParameterValue, self.action,
                              row, 'rescue')
        self.assertIn('Rescue is not supported', e.faultstring)
        self.assertEqual(states.ACTIVE, self.node(row).provision_state)

    def test_a_pool_of_one_refuses_the_second_deploy(self):
        self.use('deploy', BlockingDeploy)
        manager = self.service.manager
        self.addCleanup(setattr, manager, 'workers', manager.workers)
        from ironic_lite.conductor import task_manager
        manager.workers = task_manager.WorkerPool(1)
        self.addCleanup(manager.workers.shutdown, True)
        first = self.create(provision_state=states.AVAILABLE)
        second = self.create(provision_state=states.AVAILABLE)
        self.deploy(first)
        e = self.assertRaises(exception.NoFreeConductorWorker, self.deploy,
                              second)
        self.assertEqual(503, e.code)
        node = self.node(second)
        self.assertEqual((states.AVAILABLE, None, None),
                         (node.provision_state, node.target_provision_state,
                          node.reservation))
        Gate.opened.set()
        self.settled(first, states.ACTIVE)


class TestFailures(ProvisionTestCase):

    def test_deploy_failure(self):
        self.use('deploy', FailingDeploy)
        row = self.create(provision_state=states.AVAILABLE)
        self.deploy(row)
        node = self.settled(row, states.DEPLOYFAIL)
        self.assertEqual(states.ACTIVE, node.target_provision_state)
        self.assertEqual('Failed to deploy. Exception: Failed to deploy '
                         'instance: disk on fire', node.last_error)
        self.assertEqual({'cleaned_up': True}, node.extra)

    def test_prepare_failure(self):
        self.use('deploy', FailingPrepare)
        row = self.create(provision_state=states.AVAILABLE)
        self.deploy(row)
        node = self.settled(row, states.DEPLOYFAIL)
        self.assertEqual('Failed to prepare to deploy: PXE boot '
                         'configuration failed: no tftp root',
                         node.last_error)

    def test_tear_down_failure(self):
        self.use('deploy', FailingTearDown)
        row = self.create(provision_state=states.ACTIVE,
                          instance_info={'configdrive': 'x'})
        self.tear_down(row)
        node = self.settled(row, states.ERROR)
        self.assertIsNone(node.target_provision_state)
        self.assertEqual('Failed to tear down. Error: IPMI call failed: '
                         'power off.', node.last_error)
        self.assertEqual({}, node.instance_info)

    def test_verification_failures(self):
        self.use('power', UnreadablePower)
        row = self.create()
        self.action(row, 'manage')
        node = self.settled(row, states.ENROLL)
        self.assertEqual('Failed to get power state for node %s. Error: '
                         'IPMI call failed: power status.' % row.uuid,
                         node.last_error)
        self.use('power', InvalidPower)
        self.action(row, 'manage')
        node = self.settled(row, states.ENROLL)
        self.assertEqual('Failed to validate power driver interface for '
                         'node %s. Error: Missing ipmi_address' % row.uuid,
                         node.last_error)

    def test_automated_cleaning(self):
        self.config(automated_clean=True, group='conductor')
        row = self.create(provision_state=states.MANAGEABLE)
        self.action(row, 'provide')
        self.settled(row, states.AVAILABLE)  # fake has no clean steps

        self.use('deploy', NoCleaningDeploy)
        row = self.create(provision_state=states.MANAGEABLE)
        self.action(row, 'provide')
        node = self.settled(row, states.CLEANFAIL)
        self.assertIn('needs an agent ramdisk', node.last_error)
        self.assertEqual((True, node.last_error, 'clean failure'),
                         (node.maintenance, node.maintenance_reason,
                          node.fault))

    def test_a_node_asking_for_cleaning_is_cleaned(self):
        self.use('deploy', NoCleaningDeploy)
        row = self.create(provision_state=states.MANAGEABLE,
                          automated_clean=True)
        self.action(row, 'provide')
        self.settled(row, states.CLEANFAIL)


class TestPasses(ProvisionTestCase):

    def test_deploy_timeout(self):
        self.use('deploy', WaitingDeploy)
        row = self.create(provision_state=states.AVAILABLE)
        self.deploy(row)
        self.settled(row, states.DEPLOYWAIT)
        manager = self.service.manager
        self.assertEqual(0, deployments.check_deploy_timeouts(manager))
        self.dbapi.update_node(row.id, {
            'provision_updated_at': timeutils.utcnow()
            - datetime.timedelta(seconds=1801)})
        self.assertEqual(1, deployments.check_deploy_timeouts(manager))
        node = self.settled(row, states.DEPLOYFAIL)
        self.assertEqual('Timeout reached while waiting for callback for '
                         'node %s' % row.uuid, node.last_error)
        base.wait_for(lambda: self.node(row).extra == {'cleaned_up': True},
                      message='the clean-up')

    def test_deploy_timeout_skips_maintenance_and_reserved(self):
        self.use('deploy', WaitingDeploy)
        old = timeutils.utcnow() - datetime.timedelta(seconds=1801)
        rows = [self.create(provision_state=states.DEPLOYWAIT,
                            maintenance=True),
                self.create(provision_state=states.DEPLOYWAIT)]
        for row in rows:
            self.dbapi.update_node(row.id, {'provision_updated_at': old})
        self.dbapi.reserve_node('other', rows[1].id)
        self.assertEqual(0, deployments.check_deploy_timeouts(
            self.service.manager))

    def test_take_over_rebuilds_active_nodes(self):
        self.use('deploy', TakingOverDeploy)
        row = self.create(provision_state=states.ACTIVE)
        self.dbapi.update_node(row.id, {'conductor_affinity': None})
        self.assertEqual(1, self.service.manager.take_over_nodes())
        node = self.node(row)
        self.assertEqual({'prepared': 'test-conductor',
                          'taken': 'test-conductor'}, node.extra)
        self.assertEqual(self.service.manager.conductor_id,
                         node.conductor_affinity)

    def test_a_failed_take_over_is_recorded_and_the_pass_goes_on(self):
        self.use('deploy', FailingPrepare)
        rows = [self.create(provision_state=states.ACTIVE)
                for _ in range(2)]
        for row in rows:
            self.dbapi.update_node(row.id, {'conductor_affinity': None})
        self.assertEqual(2, self.service.manager.take_over_nodes())
        for row in rows:
            node = self.node(row)
            self.assertIn('no tftp root', node.last_error)
            self.assertEqual(self.service.manager.conductor_id,
                             node.conductor_affinity)

    def test_stuck_states_fail_at_start_up(self):
        rows = {state: self.create(provision_state=state)
                for state in (states.DEPLOYING, states.VERIFYING,
                              states.CLEANING, states.DELETING)}
        reserved = self.create(provision_state=states.DEPLOYING)
        self.dbapi.reserve_node('other', reserved.id)
        self.assertEqual(3, deployments.fail_stuck_nodes(
            self.service.manager))
        for state, end in ((states.DEPLOYING, states.DEPLOYFAIL),
                           (states.VERIFYING, states.ENROLL),
                           (states.CLEANING, states.CLEANFAIL),
                           (states.DELETING, states.DELETING)):
            node = self.node(rows[state])
            self.assertEqual(end, node.provision_state)
            if state != states.DELETING:
                self.assertEqual("The %s state can't be resumed by "
                                 'conductor test-conductor. Moving to fail '
                                 'state.' % state, node.last_error)
        self.assertEqual(states.DEPLOYING,
                         self.node(reserved).provision_state)


class TestOrphans(ProvisionTestCase):

    def dead_conductor_holds(self, **values):
        self.dbapi.register_conductor(
            'dead', '', ['fake-hardware'],
            take_over_if_older_than=timeutils.utcnow())
        row = self.create(**values)
        self.dbapi.reserve_node('dead', row.id)
        with self.dbapi.engine.begin() as connection:
            connection.exec_driver_sql(
                'UPDATE conductors SET updated_at = ? WHERE hostname = ?',
                (timeutils.utcnow() - datetime.timedelta(seconds=61),
                 'dead'))
        return row

    def test_a_deploy_of_a_dead_conductor_fails_and_can_start_again(self):
        row = self.dead_conductor_holds(provision_state=states.DEPLOYING,
                                        target_power_state=states.POWER_ON)
        self.service._release_locks_of_dead_conductors()
        node = self.node(row)
        self.assertEqual((states.DEPLOYFAIL, states.ACTIVE, None, None),
                         (node.provision_state, node.target_provision_state,
                          node.reservation, node.target_power_state))
        self.assertEqual(deployments.TAKE_OVER_ABORTED, node.last_error)
        self.deploy(row)
        self.settled(row, states.ACTIVE)

    def test_maintenance_nodes_only_lose_the_lock(self):
        row = self.dead_conductor_holds(provision_state=states.CLEANING,
                                        maintenance=True,
                                        target_power_state=states.POWER_ON)
        self.service._release_locks_of_dead_conductors()
        node = self.node(row)
        self.assertEqual((states.CLEANING, states.POWER_ON, None),
                         (node.provision_state, node.target_power_state,
                          node.reservation))

    def test_a_pending_power_action_is_aborted(self):
        row = self.dead_conductor_holds(provision_state=states.ACTIVE,
                                        target_power_state=states.POWER_OFF)
        self.service._release_locks_of_dead_conductors()
        node = self.node(row)
        self.assertEqual((states.ACTIVE, None, deployments.POWER_ABORTED),
                         (node.provision_state, node.target_power_state,
                          node.last_error))

    def test_only_one_survivor_handles_a_node(self):
        row = self.dead_conductor_holds(provision_state=states.DEPLOYING)
        self.dbapi.reserve_node('survivor-2', row.id, taking_from='dead')
        self.assertEqual(0, deployments.take_over_orphans(
            self.service.manager, {'dead'}))
        node = self.node(row)
        self.assertEqual(('survivor-2', states.DEPLOYING),
                         (node.reservation, node.provision_state))



class TestServiceWiring(test_service.ServiceTestCase):
    """The passes run by a started conductor on their own."""

    def test_start_up_fails_stuck_nodes(self):
        node = self.dbapi.create_node({
            'uuid': test_service.UUID, 'driver': 'fake-hardware',
            'provision_state': states.VERIFYING,
            'target_provision_state': states.MANAGEABLE})
        self.start()
        node = self.dbapi.get_node_by_id(node.id)
        self.assertEqual((states.ENROLL, None),
                         (node.provision_state, node.target_provision_state))

    def test_the_timeout_thread_fails_old_callback_waits(self):
        self.config(check_provision_state_interval=1, group='conductor')
        node = self.dbapi.create_node({
            'uuid': test_service.UUID, 'driver': 'fake-hardware',
            'provision_state': states.DEPLOYWAIT,
            'target_provision_state': states.ACTIVE,
            'provision_updated_at': timeutils.utcnow()
            - datetime.timedelta(seconds=1801)})
        self.start()
        base.wait_for(lambda: self.dbapi.get_node_by_id(
            node.id).provision_state == states.DEPLOYFAIL,
            message='the deploy to time out')
