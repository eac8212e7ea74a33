"""How many API worker processes ironic-lite-api starts, and which one
accepts a connection."""

import gc
import os
import signal
import socket
import sys
import threading
import time
from unittest import mock

from ironic_lite.api import server
from ironic_lite.api import workers
from tests import base


class TestWorkerCount(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(base.ConfFixture())

    def test_the_option_when_set(self):
        self.config(api_workers=3, group='api')
        self.assertEqual(3, workers.worker_count())

    def test_one_per_core_by_default_at_most_four(self):
        for cores, expected in ((1, 1), (2, 2), (4, 4), (16, 4)):
            with mock.patch('os.sched_getaffinity',
                            return_value=set(range(cores))):
                self.assertEqual(expected, workers.worker_count())

    def test_the_all_in_one_at_most_two(self):
        for cores, expected in ((1, 1), (2, 2), (4, 2)):
            with mock.patch('os.sched_getaffinity',
                            return_value=set(range(cores))):
                self.assertEqual(expected, workers.worker_count(
                    most=workers.MAX_ALL_IN_ONE_WORKERS))
        self.config(api_workers=3, group='api')
        self.assertEqual(3, workers.worker_count(
            most=workers.MAX_ALL_IN_ONE_WORKERS))


class TestAcceptTurns(base.TestCase):
    """Which of the processes sharing the port accepts the next
    connection; two tables on one memfd stand for two processes."""

    def setUp(self):
        super().setUp()
        self.first = workers.AcceptTurns.create(3)
        self.assertIsNotNone(self.first)
        self.addCleanup(os.close, self.first.fileno())
        self.first.take(0)
        self.second = workers.AcceptTurns(self.first.fileno(), 3)
        self.second.take(1)

    def test_the_one_with_fewer_connections_accepts(self):
        self.assertTrue(self.first.may_accept(0))
        self.assertTrue(self.second.may_accept(0))
        # The first accepted one; the second has fewer.
        self.assertFalse(self.first.may_accept(1))
        self.assertTrue(self.second.may_accept(0))
        # The second accepted one: as many each.
        self.assertTrue(self.second.may_accept(1))
        self.assertTrue(self.first.may_accept(1))
        self.assertFalse(self.second.may_accept(2))
        # The third slot, never taken, counts for nothing.
        self.assertTrue(self.first.may_accept(1))

    def test_a_released_slot_is_not_waited_for(self):
        self.second.may_accept(0)
        self.assertFalse(self.first.may_accept(2))
        self.first.release(1)  # the parent, on reaping its worker
        self.assertTrue(self.first.may_accept(2))
        self.second.take(1)  # its replacement
        self.assertFalse(self.first.may_accept(2))
        self.second.release()  # the worker itself, on stopping
        self.assertTrue(self.first.may_accept(2))

    def test_a_worker_that_stopped_looking_is_not_waited_for(self):
        now = time.monotonic()
        with mock.patch('time.monotonic', return_value=now):
            self.second.may_accept(0)
        later = now + workers.TURN_STALE_SECONDS - 0.1
        with mock.patch('time.monotonic', return_value=later):
            self.assertFalse(self.first.may_accept(5))
        later = now + workers.TURN_STALE_SECONDS + 0.1
        with mock.patch('time.monotonic', return_value=later):
            self.assertTrue(self.first.may_accept(5))

    def test_the_server_polls_the_port_only_on_its_turn(self):
        self.config(port=0, group='api')
        sock = server.listening_socket()
        api = server.APIServer(lambda environ, start_response: [],
                               sock=sock, turns=self.first)
        api.start()
        self.addCleanup(api.stop)
        listener = api._server
        self.second.may_accept(0)
        self.assertTrue(listener.readable())
        connection = socket.create_connection(api.address)
        self.addCleanup(connection.close)
        base.wait_for(lambda: len(listener.active_channels) == 1,
                            timeout=10, message='the connection accepted')
        self.assertFalse(listener.readable())
        self.assertTrue(listener.declining)
        self.second.may_accept(1)
        self.assertTrue(listener.readable())
        api.stop()
        self.assertTrue(self.second.may_accept(3), 'slot 0 released')


class TestSpawnedWorker(base.TestCase):

    def test_what_the_parent_passes_the_worker_finds(self):
        turns = workers.AcceptTurns.create(2)
        self.addCleanup(os.close, turns.fileno())
        sock = socket.socket()
        self.addCleanup(sock.close)
        ready_r, ready_w = os.pipe()
        self.addCleanup(os.close, ready_r)
        pool = workers.WorkerPool(sock, 1, ['/bin/true'], {},
                                         turns=turns, first_slot=1)
        pool._ready_w = ready_w
        env = {}
        with mock.patch('os.posix_spawn', return_value=4242) as spawn:
            pool._start(1)
            env = spawn.call_args[0][2]
        self.assertEqual({4242: 1}, pool._children)
        with mock.patch.dict(os.environ, env):
            found_sock, ready, parent, found_turns = (
                workers.spawned_worker())
            self.assertNotIn(workers._WORKER_ENV, os.environ)
        found_sock.detach()  # the test's own socket
        self.assertEqual(os.getpid(), parent)
        self.assertEqual(1, found_turns.slot)
        ready()
        self.assertEqual(b'r', os.read(ready_r, 1))
        # The worker's slot is in the parent's table.
        turns.take(0)
        found_turns.may_accept(0)
        self.assertFalse(turns.may_accept(1))

    def test_none_outside_a_worker(self):
        with mock.patch.dict(os.environ):
            os.environ.pop(workers._WORKER_ENV, None)
            self.assertIsNone(workers.spawned_worker())


class TestForkedWorkers(base.TestCase):

    def fork(self, count: int):
        with mock.patch.object(workers.startup, 'single_threaded',
                               return_value=True):
            forked, worker = workers.ForkedWorkers.fork(count)
        if worker is not None:
            # The child: what it was handed, in its exit status.
            sock, ready, parent, turns = worker
            good = (parent == os.getppid() and turns.slot == 1
                    and os.environ.get('HANDED') == 'yes'
                    and sock.getsockname() == self.address)
            ready()
            os._exit(0 if good else 3)
        self.addCleanup(gc.unfreeze)
        self.addCleanup(forked.close)
        return forked

    def setUp(self):
        super().setUp()
        self.sock = socket.socket()
        self.addCleanup(self.sock.close)
        self.sock.bind(('127.0.0.1', 0))
        self.address = self.sock.getsockname()

    def test_a_forked_worker_gets_what_a_new_program_would(self):
        forked = self.fork(1)
        turns = workers.AcceptTurns.create(2)
        self.addCleanup(os.close, turns.fileno())
        pool = workers.WorkerPool(
            self.sock, 1, ['/bin/false'], dict(os.environ, HANDED='yes'),
            turns=turns, first_slot=1, forked=forked)
        with mock.patch('os.posix_spawn') as spawn:
            self.assertTrue(pool.start(30))
        spawn.assert_not_called()
        (pid,) = pool.pids
        self.assertEqual(0, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))

    def test_then_new_programs(self):
        forked = self.fork(1)
        forked.close()
        self.assertIsNone(forked.hand_over([self.sock.fileno()], 1, 1, 0, {}))

    def test_those_never_handed_over_end(self):
        forked = self.fork(2)
        pids = [pid for pid, _ in forked._waiting]
        forked.close()
        for pid in pids:
            self.assertRaises(ChildProcessError, os.waitpid, pid, 0)

    def serve_worker(self, sock, ready, parent, turns) -> int:
        """A handed-over worker of :func:`workers.fork_and_serve`: fails
        (status 1, logged) if given the wrong socket."""
        if sock.getsockname() != self.address:
            raise AssertionError("not the parent's socket")
        ready()
        return 7

    def fork_and_serve(self, count, serve_first) -> int:
        self.addCleanup(gc.unfreeze)
        with mock.patch.object(workers.startup, 'single_threaded',
                               return_value=True):
            return workers.fork_and_serve(count, self.serve_worker,
                                          serve_first)

    def test_fork_and_serve_worker_status_and_first_status(self):
        turns = workers.AcceptTurns.create(2)
        self.addCleanup(os.close, turns.fileno())
        pids = []

        def serve_first(forked):
            pool = workers.WorkerPool(self.sock, 1, ['/bin/false'], {},
                                      turns=turns, first_slot=1,
                                      forked=forked)
            with mock.patch('os.posix_spawn') as spawn:
                self.assertTrue(pool.start(30))
            spawn.assert_not_called()
            pids.extend(pool.pids)
            return 5

        self.assertEqual(5, self.fork_and_serve(1, serve_first))
        (pid,) = pids
        self.assertEqual(7, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))

    def test_fork_and_serve_ends_the_workers_of_a_failed_start(self):
        waiting = []

        def serve_first(forked):
            waiting.extend(pid for pid, _ in forked._waiting)
            raise OSError('the port is taken')

        self.assertRaises(OSError, self.fork_and_serve, 2, serve_first)
        self.assertEqual(2, len(waiting))
        for pid in waiting:
            self.assertRaises(ChildProcessError, os.waitpid, pid, 0)

    def test_none_beside_other_threads(self):
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(stop.set)
        with mock.patch('os.fork') as fork:
            self.assertEqual((None, None), workers.ForkedWorkers.fork(1))
        fork.assert_not_called()


def _kill_all(pool) -> None:
    """Kill and reap the pool's processes still running (a test that
    failed before its own stop)."""
    for pid in pool.pids:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


class TestStopWhileStarting(base.TestCase):

    def test_a_stop_ends_the_wait_for_workers(self):
        # SIGTERM while the workers still start (a loaded machine, a slow
        # import): the wait ends at once, not when they are ready.
        sock = socket.socket()
        self.addCleanup(sock.close)
        # A worker that never gets ready: it waits until it is signalled.
        pool = workers.WorkerPool(
            sock, 1, [sys.executable, '-c', 'import signal; signal.pause()'],
            dict(os.environ))
        self.addCleanup(_kill_all, pool)
        stop = threading.Event()
        threading.Timer(0.2, stop.set).start()
        started = time.monotonic()
        self.assertFalse(pool.start(60, stop))
        self.assertLess(time.monotonic() - started, 10)
        [pid] = pool.pids
        self.assertFalse(pool.stop(time.monotonic() + 1))
        self.assertRaises(ChildProcessError, os.waitpid, pid, 0)
