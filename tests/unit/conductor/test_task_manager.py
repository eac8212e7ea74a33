"""Node locks."""

import threading

from ironic_lite.common import context
from ironic_lite.common import exception
from ironic_lite.conductor import task_manager
from tests import base
from tests.base import wait_for


class TestAcquire(base.DBTestCase):

    def setUp(self):
        super().setUp()
        self.context = context.get_admin_context()
        self.node = self.dbapi.create_node({
            'uuid': '1be26c0b-03f2-4d2e-ae87-c02d7f33c123',
            'driver': 'fake-hardware'})

    def patch_method(self, name, calls, real):
        def method(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)
        setattr(self.dbapi, name, method)
        self.addCleanup(delattr, self.dbapi, name)

    def reservation(self):
        return self.dbapi.get_node_by_id(self.node.id).reservation

    def test_exclusive_lock_held_in_the_block_and_released_after(self):
        with task_manager.acquire(self.context, self.node.uuid,
                                  purpose='test') as task:
            self.assertEqual('test-conductor', self.reservation())
            task.update({'extra': {'a': 1}})
            self.assertEqual({'a': 1}, task.node.extra)
        self.assertIsNone(self.reservation())

    def test_last_write_gives_the_lock_back_with_it(self):
        calls = []
        for name in ('update_node', 'release_node', 'get_node_by_id',
                     'get_node_by_uuid'):
            real = getattr(self.dbapi, name)
            self.patch_method(name, calls, real)
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.update({'extra': {'a': 1}}, release=True)
            self.assertIsNone(self.reservation())
            # Nothing more to do under a lock given back.
            self.assertRaises(RuntimeError, task.update, {'extra': {}})
            self.assertRaises(RuntimeError, task.destroy)
        # No read before the lock, no second write to release it (the one
        # read is this test's own).
        self.assertEqual(['get_node_by_id'], calls)
        row = self.dbapi.get_node_by_id(self.node.id)
        self.assertEqual(({'a': 1}, None), (row.extra, row.reservation))

    def test_last_write_refused_still_releases(self):
        self.dbapi.create_node({'uuid': '3be26c0b-03f2-4d2e-ae87-'
                                        'c02d7f33c123',
                                'driver': 'fake-hardware', 'name': 'taken'})
        with self.assertRaises(exception.DuplicateName):
            with task_manager.acquire(self.context, self.node.uuid) as task:
                task.update({'name': 'taken'}, release=True)
        row = self.dbapi.get_node_by_id(self.node.id)
        self.assertEqual((None, None), (row.name, row.reservation))

    def test_last_write_with_spawned_work_keeps_the_lock_for_it(self):
        pool = task_manager.WorkerPool(1)
        self.addCleanup(pool.shutdown, True)
        go = threading.Event()
        seen = []
        with task_manager.acquire(self.context, self.node.uuid,
                                  workers=pool) as task:
            task.spawn_after(None, lambda: seen.append(
                go.wait(30) and self.reservation()))
            task.update({'extra': {'a': 1}}, release=True)
            self.assertFalse(task.released)
        self.assertEqual('test-conductor', self.reservation())
        go.set()
        self.assertTrue(pool.wait_idle(30))
        self.assertEqual(['test-conductor'], seen)
        self.assertIsNone(self.reservation())

    def test_released_when_the_block_fails(self):
        class Boom(Exception):
            pass
        with self.assertRaises(Boom):
            with task_manager.acquire(self.context, self.node.id):
                raise Boom()
        self.assertIsNone(self.reservation())

    def test_busy_node_is_locked_after_retries(self):
        self.dbapi.reserve_node('other-conductor', self.node.id)
        with self.assertRaises(exception.NodeLocked) as raised:
            with task_manager.acquire(self.context, self.node.uuid):
                self.fail('must not enter')
        self.assertIn('locked by host other-conductor', str(raised.exception))
        self.assertEqual(409, raised.exception.code)
        self.assertEqual('other-conductor', self.reservation())

    def test_lock_freed_between_retries_is_taken(self):
        self.config(node_locked_retry_attempts=3, group='conductor')
        self.dbapi.reserve_node('other-conductor', self.node.id)
        real_reserve = self.dbapi.reserve_node
        calls = []

        def reserve(tag, node_id):
            calls.append(tag)
            if len(calls) == 2:
                self.dbapi.release_node('other-conductor', self.node.id)
            return real_reserve(tag, node_id)

        self.dbapi.reserve_node = reserve
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertEqual('test-conductor', task.node.reservation)
        self.assertEqual(2, len(calls))

    def test_no_wait_gives_up_at_once(self):
        self.dbapi.reserve_node('other-conductor', self.node.id)
        calls = []
        real_reserve = self.dbapi.reserve_node
        self.dbapi.reserve_node = lambda *a: calls.append(a) or \
            real_reserve(*a)
        self.assertRaises(exception.NodeLocked, task_manager.acquire(
            self.context, self.node.uuid, wait=False).__enter__)
        self.assertEqual(1, len(calls))

    def test_threads_of_one_conductor_take_turns(self):
        # The second thread waits for the first one's task to end instead
        # of finding the database lock taken and sleeping between tries.
        self.config(node_locked_retry_attempts=2,
                    node_locked_retry_interval=60, group='conductor')
        refused = []
        real_reserve = self.dbapi.reserve_node

        def reserve(tag, node_id):
            try:
                return real_reserve(tag, node_id)
            except exception.NodeLocked:
                refused.append(tag)
                raise

        self.dbapi.reserve_node = reserve
        second = {}

        def take():
            with task_manager.acquire(self.context, self.node.uuid) as task:
                second['extra'] = dict(task.node.extra)
                task.update({'extra': {'second': True}})

        with task_manager.acquire(self.context, self.node.uuid) as task:
            thread = threading.Thread(target=take)
            thread.start()
            self.addCleanup(thread.join)
            wait_for(lambda: task_manager._TURNS._nodes[self.node.uuid][1]
                     == 2,
                     message='the second thread to wait for its turn')
            task.update({'extra': {'first': True}})
        thread.join(30)
        self.assertFalse(thread.is_alive())
        self.assertEqual({'first': True}, second['extra'])
        self.assertEqual([], refused)
        self.assertEqual({}, task_manager._TURNS._nodes)
        self.assertIsNone(self.reservation())

    def test_a_turn_not_given_in_time_is_node_locked(self):
        self.config(node_locked_retry_attempts=1, group='conductor')
        with task_manager.acquire(self.context, self.node.uuid):
            got = []
            thread = threading.Thread(target=lambda: got.append(
                self.assertRaises(exception.NodeLocked, task_manager.acquire(
                    self.context, self.node.uuid).__enter__)))
            thread.start()
            thread.join(30)
        self.assertIn('locked by host test-conductor', str(got[0]))
        self.assertEqual({}, task_manager._TURNS._nodes)

    def test_shared_task_takes_no_lock_and_cannot_write(self):
        self.dbapi.reserve_node('other-conductor', self.node.id)
        with task_manager.acquire(self.context, self.node.uuid,
                                  shared=True) as task:
            self.assertRaises(RuntimeError, task.update, {'extra': {}})
            self.assertRaises(RuntimeError, task.destroy)
        self.assertEqual('other-conductor', self.reservation())

    def test_unknown_node(self):
        self.assertRaises(exception.NodeNotFound, task_manager.acquire(
            self.context, '2be26c0b-03f2-4d2e-ae87-c02d7f33c123').__enter__)
