"""A conductor's life in one process: register, heartbeat, take over,
release dead conductors' locks, unregister."""

import datetime
from unittest import mock

from oslo_db import exception as db_exc
from oslo_utils import timeutils

from ironic_lite.common import exception
from ironic_lite.common import hash_ring
from ironic_lite.common import rpc
from ironic_lite.conductor import service
from tests import base

UUID = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'


class ServiceTestCase(base.DBTestCase):

    def setUp(self):
        super().setUp()
        rpc.init('fake://')
        self.addCleanup(rpc.cleanup)
        self.ring = hash_ring.get_manager()

    def start(self, host='test-conductor'):
        conductor = service.ConductorService(host=host)
        conductor.start()
        self.addCleanup(conductor.stop)
        return conductor

    def age(self, hostname, seconds):
        """Make the last heartbeat of ``hostname`` that old."""
        with self.dbapi.engine.begin() as connection:
            connection.exec_driver_sql(
                'UPDATE conductors SET updated_at = ? WHERE hostname = ?',
                (timeutils.utcnow() - datetime.timedelta(seconds=seconds),
                 hostname))


class TestLifecycle(ServiceTestCase):

    def test_start_registers_and_joins_the_rings(self):
        self.config(conductor_group='Rack2', group='conductor')
        self.start()
        row = self.dbapi.get_conductor('test-conductor')
        self.assertTrue(row.online)
        self.assertEqual('rack2', row.conductor_group)
        self.assertEqual(['fake-hardware', 'ipmi'], row.drivers)
        self.assertEqual({('rack2', 'fake-hardware'), ('rack2', 'ipmi')},
                         set(self.ring.rings()))
        self.assertEqual({'test-conductor'},
                         set(self.ring.get_ring('ipmi', 'rack2').hosts))

    def test_stop_leaves_the_rings_and_keeps_the_row(self):
        conductor = self.start()
        conductor.stop()
        row = self.dbapi.get_conductor('test-conductor')
        self.assertFalse(row.online)
        self.assertEqual([], self.dbapi.get_alive_hardware(
            timeutils.utcnow() - datetime.timedelta(days=1)))
        self.assertRaises(exception.TemporaryFailure, self.ring.get_ring,
                          'ipmi', '')
        conductor.stop()  # twice is harmless

    def test_second_process_with_the_same_name_is_refused(self):
        self.start()
        twin = service.ConductorService(host='test-conductor')
        self.assertRaises(exception.ConductorAlreadyRegistered, twin.start)
        twin.stop()
        self.assertTrue(self.dbapi.get_conductor('test-conductor').online)

    def test_row_left_online_by_a_crash_is_taken_over(self):
        self.dbapi.register_conductor(
            'test-conductor', '', ['ipmi'],
            take_over_if_older_than=timeutils.utcnow())
        self.age('test-conductor', 120)
        self.start()
        self.assertEqual(['fake-hardware', 'ipmi'],
                         self.dbapi.get_conductor('test-conductor').drivers)

    def test_locks_held_before_a_crash_are_released_at_start(self):
        node = self.dbapi.create_node({'uuid': UUID,
                                       'driver': 'fake-hardware'})
        self.dbapi.reserve_node('test-conductor', node.id)
        self.start()
        self.assertIsNone(self.dbapi.get_node_by_id(node.id).reservation)

    def test_unknown_hardware_type_stops_the_start(self):
        self.config(enabled_hardware_types=['fake-hardware', 'spongebob'])
        conductor = service.ConductorService()
        self.assertRaises(exception.DriverNotFound, conductor.start)
        self.assertRaises(exception.ConductorNotFound,
                          self.dbapi.get_conductor, 'test-conductor')


class TestHeartbeat(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.config(heartbeat_interval=1, heartbeat_timeout=5,
                    group='conductor')

    def test_heartbeat_refreshes_updated_at(self):
        self.start()
        self.age('test-conductor', 3)
        first = self.dbapi.get_conductor('test-conductor').updated_at
        base.wait_for(lambda: self.dbapi.get_conductor(
            'test-conductor').updated_at > first, message='a heartbeat')

    def test_database_errors_do_not_stop_the_heartbeat(self):
        real_touch = self.dbapi.touch_conductor
        calls = []

        def flaky_touch(hostname):
            calls.append(hostname)
            if len(calls) == 1:
                raise db_exc.DBConnectionError('gone')
            real_touch(hostname)

        with mock.patch.object(self.dbapi, 'touch_conductor', flaky_touch):
            self.start()
            base.wait_for(lambda: len(calls) >= 2,
                          message='a heartbeat after the failed one')

    def test_a_deleted_row_is_registered_again(self):
        self.start()
        with self.dbapi.engine.begin() as connection:
            connection.exec_driver_sql('DELETE FROM conductors')
        base.wait_for(lambda: self.dbapi.get_alive_hardware(
            timeutils.utcnow() - datetime.timedelta(seconds=5)),
            message='the conductor to be registered again')

    def test_locks_of_dead_conductors_are_released(self):
        node = self.dbapi.create_node({'uuid': UUID,
                                       'driver': 'fake-hardware'})
        self.dbapi.register_conductor(
            'dead', '', ['ipmi'], take_over_if_older_than=timeutils.utcnow())
        self.dbapi.reserve_node('dead', node.id)
        self.start()
        self.assertEqual('dead', self.dbapi.get_node_by_id(
            node.id).reservation)  # still alive: its lock stands
        self.age('dead', 60)
        base.wait_for(lambda: self.dbapi.get_node_by_id(
            node.id).reservation is None, message='the lock released')


class TestTakeOver(ServiceTestCase):

    def test_nodes_of_a_previous_conductor_are_taken_over(self):
        old = self.dbapi.register_conductor(
            'old', '', ['fake-hardware'],
            take_over_if_older_than=timeutils.utcnow())
        nodes = [self.dbapi.create_node({
            'uuid': '1be26c0b-03f2-4d2e-ae87-c02d7f33c1%02d' % i,
            'driver': 'fake-hardware', 'conductor_affinity': old.id})
            for i in range(5)]
        self.dbapi.unregister_conductor('old')
        locked = nodes[0]
        self.dbapi.reserve_node('someone', locked.id)
        conductor = self.start()
        mine = conductor.manager.conductor_id
        base.wait_for(lambda: [self.dbapi.get_node_by_id(n.id)
                               .conductor_affinity for n in nodes[1:]]
                      == [mine] * 4, message='the take over')
        # A node someone else holds is left for a later pass.
        self.assertEqual(old.id, self.dbapi.get_node_by_id(
            locked.id).conductor_affinity)
        self.dbapi.release_node('someone', locked.id)
        self.assertEqual(1, conductor.manager.take_over_nodes())
        self.assertEqual(0, conductor.manager.take_over_nodes())
