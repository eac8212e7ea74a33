"""A conductor's life in one process: register, heartbeat, take over,
release dead conductors' locks, unregister."""

import datetime
import os
import sys
import threading
from unittest import mock

import sqlalchemy.exc
from oslo_db import exception as db_exc
from oslo_messaging._drivers import common as messaging_common
from oslo_utils import timeutils

from ironic_lite.api import expose
from ironic_lite.common import context
from ironic_lite.common import exception
from ironic_lite.common import hash_ring
from ironic_lite.common import rpc
from ironic_lite.conductor import host_lock
from ironic_lite.conductor import inflight
from ironic_lite.conductor import rpcapi
from ironic_lite.conductor import service
from ironic_lite.conf import CONF
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
        conductor.linger = 0  # nobody else sends RPC here
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

    def test_stop_without_the_database_still_ends(self):
        conductor = self.start()
        refused = sqlalchemy.exc.OperationalError(
            'UPDATE', {}, Exception('Connection refused'))
        with mock.patch.object(self.dbapi, 'unregister_conductor',
                               side_effect=refused):
            self.assertTrue(conductor.stop())
        # Still online in the database: the others drop it once its last
        # heartbeat is older than heartbeat_timeout.
        self.assertTrue(self.dbapi.get_conductor('test-conductor').online)

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
        # The take-over pass that follows the start may hold the node a
        # moment; a lock the start did not release would stay for good.
        base.wait_for(lambda: self.dbapi.get_node_by_id(node.id).reservation
                      is None, message='the lock to be released')

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

        def flaky_touch(hostname, at=None):
            calls.append(hostname)
            if len(calls) == 1:
                raise db_exc.DBConnectionError('gone')
            real_touch(hostname, at=at)

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


    def test_locks_of_a_conductor_that_just_left_are_kept(self):
        # It may still be finishing the work it holds them for.
        node = self.dbapi.create_node({'uuid': UUID,
                                       'driver': 'fake-hardware'})
        self.dbapi.register_conductor(
            'leaving', '', ['ipmi'],
            take_over_if_older_than=timeutils.utcnow())
        self.dbapi.reserve_node('leaving', node.id)
        self.dbapi.unregister_conductor('leaving')
        self.start()
        beats = [self.dbapi.get_conductor('test-conductor').updated_at]
        for _ in range(2):  # each one releases the locks of the dead
            base.wait_for(lambda: self.dbapi.get_conductor(
                'test-conductor').updated_at > beats[-1], message='a beat')
            beats.append(self.dbapi.get_conductor(
                'test-conductor').updated_at)
        self.assertEqual('leaving', self.dbapi.get_node_by_id(
            node.id).reservation)
        self.age('leaving', 60)
        base.wait_for(lambda: self.dbapi.get_node_by_id(
            node.id).reservation is None, message='the lock released')


class TestRestartAfterACrash(ServiceTestCase):
    """The host lock under state_path tells a dead process of this machine
    from a live twin elsewhere."""

    def crashed_predecessor(self, written, pending=None):
        """A process of this machine that wrote the heartbeat ``written``
        to its row, noted ``pending`` in its lock file as the next one, and
        died before writing it."""
        lock = host_lock.HostLock(CONF.state_path, 'test-conductor')
        lock.acquire()
        lock.record(written)
        self.dbapi.register_conductor(
            'test-conductor', '', ['ipmi'],
            take_over_if_older_than=timeutils.utcnow(), at=written)
        lock.confirm(written)
        if pending is not None:
            lock.record(pending)
        os.close(lock._fd)  # what the kernel does when the process dies

    def test_a_live_process_of_this_machine_holds_the_lock(self):
        self.start()
        twin = service.ConductorService(host='test-conductor')
        error = self.assertRaises(exception.ConductorAlreadyRunning,
                                  twin.start)
        self.assertIn(host_lock.lock_path(CONF.state_path,
                                          'test-conductor'), str(error))
        self.assertIn('process %d' % os.getpid(), str(error))
        twin.stop()
        self.assertTrue(self.dbapi.get_conductor('test-conductor').online)

    def test_the_row_of_a_dead_process_is_taken_over_at_once(self):
        now = timeutils.utcnow()
        self.crashed_predecessor(now)
        conductor = self.start()
        row = self.dbapi.get_conductor('test-conductor')
        self.assertEqual(['fake-hardware', 'ipmi'], row.drivers)
        self.assertEqual(row.id, conductor.manager.conductor_id)

    def test_a_heartbeat_the_dead_process_was_writing_counts(self):
        # It recorded the next heartbeat and died before writing it.
        first = timeutils.utcnow()
        self.crashed_predecessor(
            first, pending=first + datetime.timedelta(seconds=1))
        self.start()
        self.assertEqual(['fake-hardware', 'ipmi'], self.dbapi.get_conductor(
            'test-conductor').drivers)

    def test_a_row_someone_else_beat_since_is_not_taken_over(self):
        # A twin on another machine: alive with a heartbeat of its own.
        now = timeutils.utcnow()
        self.crashed_predecessor(now)
        self.dbapi.touch_conductor('test-conductor',
                                   at=now + datetime.timedelta(seconds=1))
        twin = service.ConductorService(host='test-conductor')
        error = self.assertRaises(exception.ConductorAlreadyRegistered,
                                  twin.start)
        self.assertNotIsInstance(error, exception.ConductorAlreadyRunning)
        twin.stop()
        self.assertEqual(['ipmi'], self.dbapi.get_conductor(
            'test-conductor').drivers)

    def test_a_clean_stop_leaves_nothing_to_take_over_on_its_word(self):
        self.start().stop()
        lock = host_lock.HostLock(CONF.state_path, 'test-conductor')
        self.assertEqual([], lock.acquire())
        lock.release()


class TestStop(ServiceTestCase):
    """Leave first, then drain, with a bound."""

    def setUp(self):
        super().setUp()
        self.node = self.dbapi.create_node({'uuid': UUID,
                                            'driver': 'fake-hardware'})
        self.conductor = self.start()
        self.entered, self.release = threading.Event(), threading.Event()
        self.addCleanup(self.release.set)

        def slow_update(ctx, node_uuid, changes, **kwargs):
            self.entered.set()
            self.release.wait(30)
            self.dbapi.update_node(self.node.id, changes)

        self.conductor.manager.update_node = slow_update
        self.answers = []

        def call():
            try:
                rpcapi.ConductorAPI(self.ring).update_node(
                    context.get_admin_context(), self.node,
                    {'extra': {'a': 'b'}})
                self.answers.append('done')
            except Exception as e:
                self.answers.append(e)

        self.caller = threading.Thread(target=call, daemon=True)
        self.caller.start()
        self.assertTrue(self.entered.wait(30))

    def stop_in_background(self, timeout):
        outcome = []
        stopper = threading.Thread(
            target=lambda: outcome.append(self.conductor.stop(timeout)),
            daemon=True)
        stopper.start()
        return stopper, outcome

    def test_leaves_the_rings_before_the_call_under_way_ends(self):
        stopper, outcome = self.stop_in_background(30)
        base.wait_for(lambda: not self.dbapi.get_conductor(
            'test-conductor').online, message='the row to go offline')
        self.ring.reset()
        self.assertRaises(exception.TemporaryFailure, self.ring.get_ring,
                          'fake-hardware', '')
        self.assertEqual([], self.answers)

        self.release.set()
        stopper.join(30)
        self.caller.join(30)
        self.assertEqual([True], outcome)
        self.assertEqual(['done'], self.answers)
        self.assertEqual({'a': 'b'},
                         self.dbapi.get_node_by_id(self.node.id).extra)

    def test_gives_up_on_a_call_that_outlasts_the_bound(self):
        stopper, outcome = self.stop_in_background(0.2)
        stopper.join(30)
        self.assertEqual([False], outcome)
        self.assertFalse(self.dbapi.get_conductor('test-conductor').online)
        # The call and the take-over pass, abandoned, end before the
        # database goes away.
        self.release.set()
        self.caller.join(30)
        base.wait_for(lambda: not any(
            t.name == 'takeover' and t.is_alive()
            for t in threading.enumerate()), message='the take-over pass')

    def test_no_heartbeat_brings_the_row_back_online(self):
        self.config(heartbeat_interval=1, group='conductor')
        conductor = service.ConductorService(host='beating')
        conductor.linger = 0
        conductor.start()
        self.addCleanup(conductor.stop)
        writing, go_on = threading.Event(), threading.Event()
        real_touch = self.dbapi.touch_conductor

        def slow_touch(hostname, at=None):
            if hostname == 'beating':
                writing.set()
                go_on.wait(30)
            real_touch(hostname, at=at)

        with mock.patch.object(self.dbapi, 'touch_conductor', slow_touch):
            self.assertTrue(writing.wait(30))
            leaver = threading.Thread(target=conductor.leave, daemon=True)
            leaver.start()
            # Time for a leave that did not wait for the heartbeat to go
            # offline before it.
            leaver.join(0.5)
            go_on.set()
            leaver.join(30)
        self.assertFalse(self.dbapi.get_conductor('beating').online)


class TestDatabaseOutage(ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.config(heartbeat_interval=1, group='conductor')
        self.node = self.dbapi.create_node({'uuid': UUID,
                                            'driver': 'fake-hardware'})
        self.conductor = self.start()
        # The first take-over pass, which locks the node a moment, is over.
        base.wait_for(lambda: (lambda node: node.conductor_affinity
                               == self.conductor.manager.conductor_id
                               and node.reservation is None)(
            self.dbapi.get_node_by_id(self.node.id)),
            message='the first take-over pass')

    def call_update(self):
        rpcapi.ConductorAPI(self.ring).update_node(
            context.get_admin_context(), self.node, {'extra': {'a': 'b'}})

    def lose_the_database(self, ctx, node_uuid, changes, **kwargs):
        # A task that took the lock and could not give it back.
        self.dbapi.reserve_node('test-conductor', self.node.id)
        raise db_exc.DBConnectionError('gone')

    def test_a_call_that_loses_the_database_answers_503(self):
        self.conductor.manager.update_node = self.lose_the_database
        error = self.assertRaises(exception.ServiceUnavailable,
                                  self.call_update)
        self.assertEqual(503, error.code)
        self.assertIn('The database is unavailable', str(error))

    def test_a_pool_that_cannot_reconnect_answers_503_too(self):
        # oslo.db does not translate errors raised while the pool
        # reconnects.
        def refused(ctx, node_uuid, changes, **kwargs):
            raise sqlalchemy.exc.OperationalError(
                'SELECT 1', {}, Exception('Connection refused'))

        self.conductor.manager.update_node = refused
        error = self.assertRaises(exception.ServiceUnavailable,
                                  self.call_update)
        self.assertIn('The database is unavailable', str(error))

    def test_the_api_shows_a_remote_503_without_its_traceback(self):
        # What a real broker delivers: the remote traceback appended to
        # str(), which WSME would put in a 5xx faultstring.
        try:
            raise exception.ServiceUnavailable(service='The database',
                                               reason='no connection')
        except exception.ServiceUnavailable:
            data = messaging_common.serialize_remote_exception(
                sys.exc_info())
        remote = messaging_common.deserialize_remote_exception(
            data, rpc.ALLOWED_EXMODS)
        self.assertIn('Traceback', str(remote))

        def controller():
            raise remote

        error = self.assertRaises(exception.ServiceUnavailable,
                                  expose.guard(controller))
        self.assertEqual('The database is unavailable: no connection',
                         str(error))
        self.assertEqual(503, error.code)

    def test_locks_left_by_an_outage_are_released_once_it_is_back(self):
        real_update = self.conductor.manager.update_node
        self.conductor.manager.update_node = self.lose_the_database
        self.assertRaises(exception.ServiceUnavailable, self.call_update)
        self.conductor.manager.update_node = real_update
        base.wait_for(lambda: self.dbapi.get_node_by_id(
            self.node.id).reservation is None,
            message='the orphaned lock released')
        self.call_update()
        self.assertEqual({'a': 'b'},
                         self.dbapi.get_node_by_id(self.node.id).extra)


class TestTrackedEndpoint(base.TestCase):

    class Endpoint:
        target = mock.sentinel.target

        def __init__(self):
            self.entered, self.release = threading.Event(), threading.Event()

        def work(self, ctx):
            self.entered.set()
            self.release.wait(30)
            return 'done'

    def test_a_sweep_waits_for_no_call_under_way(self):
        inner = self.Endpoint()
        endpoint = inflight.TrackedEndpoint(inner)
        self.assertIs(mock.sentinel.target, endpoint.target)
        results = []
        caller = threading.Thread(
            target=lambda: results.append(endpoint.work(None)), daemon=True)
        caller.start()
        self.assertTrue(inner.entered.wait(30))
        self.assertEqual(1, endpoint.busy)
        swept = []
        self.assertFalse(endpoint.exclusively(lambda: swept.append(1), 0.1))
        self.assertEqual([], swept)
        inner.release.set()
        caller.join(30)
        self.assertEqual(['done'], results)
        self.assertTrue(endpoint.exclusively(lambda: swept.append(1), 30))
        self.assertEqual([1], swept)
        self.assertEqual(0, endpoint.busy)


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
        # This pass or the background one (on a late membership
        # announcement) takes it; nothing is left for a pass after.
        conductor.manager.take_over_nodes()
        base.wait_for(lambda: self.dbapi.get_node_by_id(
            locked.id).conductor_affinity == mine, message='the released node')
        self.assertEqual(0, conductor.manager.take_over_nodes())
