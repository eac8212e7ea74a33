"""Work handed from a task to the worker pool: it holds the node's lock
until it ends; a full pool refuses at once and leaves nothing locked."""

import threading

from ironic_lite.common import context
from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conductor import task_manager
from tests import base
from tests.base import wait_for


class TestWorkers(base.DBTestCase):

    def setUp(self):
        super().setUp()
        self.context = context.get_admin_context()
        self.node = self.dbapi.create_node({
            'uuid': '1be26c0b-03f2-4d2e-ae87-c02d7f33c123',
            'driver': 'fake-hardware', 'provision_state': states.AVAILABLE})
        self.pool = task_manager.WorkerPool(1)
        self.addCleanup(self.pool.shutdown, True)
        self.release = threading.Event()
        self.addCleanup(self.release.set)

    def node_now(self):
        return self.dbapi.get_node_by_id(self.node.id)

    def acquire(self):
        return task_manager.acquire(self.context, self.node.uuid,
                                    workers=self.pool, wait=False)

    def blocking_work(self, seen):
        def work(task):
            seen.append(self.node_now().reservation)
            self.release.wait(30)
        return work

    def test_the_lock_is_held_by_the_work_and_released_when_it_ends(self):
        seen = []
        with self.acquire() as task:
            task.process_event('deploy', callback=self.blocking_work(seen),
                               call_args=(task,))
        node = self.node_now()
        self.assertEqual(states.DEPLOYING, node.provision_state)
        self.assertEqual(states.ACTIVE, node.target_provision_state)
        self.assertIsNotNone(node.provision_updated_at)
        wait_for(lambda: seen, message='the work to start')
        self.assertEqual(['test-conductor'], seen)
        self.assertEqual({self.node.id}, self.pool.held_nodes())
        self.assertRaises(exception.NodeLocked, self.acquire().__enter__)
        self.release.set()
        self.assertTrue(self.pool.wait_idle(30))
        self.assertIsNone(self.node_now().reservation)
        self.assertEqual(frozenset(), self.pool.held_nodes())

    def test_a_full_pool_refuses_and_puts_the_state_back(self):
        other = self.dbapi.create_node({
            'uuid': '2be26c0b-03f2-4d2e-ae87-c02d7f33c123',
            'driver': 'fake-hardware', 'provision_state': states.AVAILABLE})
        seen = []
        with task_manager.acquire(self.context, other.uuid,
                                  workers=self.pool) as task:
            task.process_event('deploy', callback=self.blocking_work(seen),
                               call_args=(task,))
        with self.assertRaises(exception.NoFreeConductorWorker) as raised:
            with self.acquire() as task:
                task.process_event('deploy', callback=lambda: None)
        self.assertEqual(503, raised.exception.code)
        node = self.node_now()
        self.assertEqual(states.AVAILABLE, node.provision_state)
        self.assertIsNone(node.target_provision_state)
        self.assertEqual(task_manager.NO_FREE_WORKER, node.last_error)
        self.assertIsNone(node.reservation)

    def test_failed_work_records_its_error_and_releases(self):
        def work():
            raise RuntimeError('boom')
        with self.acquire() as task:
            task.process_event('deploy', callback=work)
        self.assertTrue(self.pool.wait_idle(30))
        node = self.node_now()
        self.assertIsNone(node.reservation)
        self.assertEqual('Async execution of work failed with error: boom',
                         node.last_error)

    def test_an_event_invalid_in_the_state_is_refused(self):
        with self.acquire() as task:
            self.assertRaises(exception.InvalidStateRequested,
                              task.process_event, 'provide')
        self.assertEqual(states.AVAILABLE, self.node_now().provision_state)

    def test_stable_state_without_work_has_no_target(self):
        with self.acquire() as task:
            task.process_event('manage')
        node = self.node_now()
        self.assertEqual(states.MANAGEABLE, node.provision_state)
        self.assertIsNone(node.target_provision_state)
