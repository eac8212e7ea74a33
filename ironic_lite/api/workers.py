"""Several API worker processes serving one port.

One Python process answers one request at a time (the GIL); on a machine
with several cores, ``[api]api_workers`` processes answer as many. The
first process binds and listens on one socket (so port 0 works), serves on
it, and starts the other workers (:class:`WorkerPool`), which all accept on
it too: a connection waits in its backlog until a process takes it, so a
worker being replaced loses none. Which one takes it is decided by
:class:`AcceptTurns`: one with the fewest open connections. The first
process restarts a worker that dies, and stops them all on SIGTERM or
SIGINT. A worker whose parent dies (even by SIGKILL) stops as on SIGTERM:
no orphan keeps serving.

The first workers are forked before the first process runs any thread
(:class:`ForkedWorkers`), so that the pages of the code stay shared; a
replacement is a new program. Each worker opens its own database pool and
RPC transport; the first process opens none that it passes on (see
``cmd/api.py`` and ``cmd/all_in_one.py``).
"""

import ctypes
import gc
import json
import mmap
import os
import select
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable

from oslo_log import log

from ironic_lite.common import startup
from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)

# Ironic's default: as many workers as cores, but no more than this; each
# worker holds its own connections and caches.
MAX_DEFAULT_WORKERS = 4
# The all-in-one's: its conductor shares the first process's core, and on
# two cores a third and fourth API process answered fewer small requests
# than two (benchmarks/RESULTS.md).
MAX_ALL_IN_ONE_WORKERS = 2
# A dead worker is replaced this long after the last death, so that a
# worker that cannot start does not spin.
RESPAWN_DELAY = 1.0
# How often a worker without prctl looks whether its parent is still there.
PARENT_CHECK_SECONDS = 1.0

_PR_SET_PDEATHSIG = 1
# A worker whose event loop has not looked at the table for this long is
# not counted (stuck, or dead and not yet reaped): the others take its
# share rather than wait for it.
TURN_STALE_SECONDS = 3.0


class AcceptTurns:
    """Which of the workers sharing a listening socket accepts the next
    connection: one of those with the fewest connections open.

    With one socket and no more, whichever worker wakes first accepts: on
    an idle machine the same one, time after time, and a client's
    keep-alive connection stays where it landed (four connections were
    seen spread 4/0 as often as 2/2). One SO_REUSEPORT socket per worker
    is no better: the kernel spreads connections by a hash of their
    addresses, 3/1 as often as 2/2. Here each worker writes, every time
    its event loop turns, how many connections it holds, in a table the
    workers share (a few bytes of memory, ``memfd``), and polls the
    listening socket only while no live worker holds fewer. Those that
    decline look again within :data:`RECHECK_SECONDS`; so do the others,
    by the traffic of their own connections or within their loop's
    timeout.

    A slot is (when its worker last looked, 0.0 for none; its
    connections). Reads and writes are not locked: a value read while
    written is at worst one turn stale, and only sways one accept.
    """

    RECHECK_SECONDS = 0.05
    _SLOT = struct.Struct('dq')

    def __init__(self, fd: int, slots: int, slot: int | None = None):
        self._fd = fd
        self._slots = slots
        self._table = mmap.mmap(fd, self._size(slots))
        self._offsets = [i * self._SLOT.size for i in range(slots)]
        self.slot = slot

    @classmethod
    def create(cls, slots: int) -> 'AcceptTurns | None':
        """A table for ``slots`` workers; None where there is no memfd
        (the workers then accept as they wake)."""
        try:
            fd = os.memfd_create('ironic-lite-api-turns')
        except (AttributeError, OSError):
            return None
        os.ftruncate(fd, cls._size(slots))
        return cls(fd, slots)

    @classmethod
    def _size(cls, slots: int) -> int:
        return max(mmap.PAGESIZE, slots * cls._SLOT.size)

    def fileno(self) -> int:
        return self._fd

    @property
    def slots(self) -> int:
        return self._slots

    def take(self, slot: int) -> None:
        """In a worker: its slot, from now on."""
        self.slot = slot
        self._SLOT.pack_into(self._table, self._offsets[slot],
                             time.monotonic(), 0)

    def release(self, slot: int | None = None) -> None:
        """The worker of ``slot`` (this one's by default) accepts no more:
        not counted by the others."""
        slot = self.slot if slot is None else slot
        if slot is not None:
            self._SLOT.pack_into(self._table, self._offsets[slot], 0.0, 0)

    def may_accept(self, connections: int) -> bool:
        """In a worker holding ``connections``: whether it accepts the
        next one (no live worker holds fewer)."""
        now = time.monotonic()
        mine = self._offsets[self.slot]
        self._SLOT.pack_into(self._table, mine, now, connections)
        for offset in self._offsets:
            if offset == mine:
                continue
            seen, theirs = self._SLOT.unpack_from(self._table, offset)
            if theirs < connections and now - seen < TURN_STALE_SECONDS:
                return False
        return True


def worker_count(most: int = MAX_DEFAULT_WORKERS) -> int:
    """``[api]api_workers``, or the number of cores (at most ``most``)
    when unset."""
    if CONF.api.api_workers:
        return CONF.api.api_workers
    return max(1, min(len(os.sched_getaffinity(0)), most))


def stop_with_parent(parent: int) -> None:
    """In a worker: get SIGTERM when the parent ``parent`` dies.

    Linux sends the signal itself (``PR_SET_PDEATHSIG``); elsewhere, or if
    that fails, a thread looks every second. A parent that died before
    this ran is noticed at once.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the process's own libc
        armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0,
                           0) == 0
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)
        return
    if not armed:
        def watch():
            while os.getppid() == parent:
                time.sleep(PARENT_CHECK_SECONDS)
            os.kill(os.getpid(), signal.SIGTERM)
        threading.Thread(target=watch, name='parent-watch',
                         daemon=True).start()


class WorkerPool:
    """``count`` worker processes accepting on ``sock``, started as new
    programs (fork and exec ``argv``, environment ``env``), for a parent
    that runs threads of its own: a plain fork would copy it in the middle
    of whatever those threads hold (a lock, a half-written message).

    A worker finds the listening socket, the pipe to report ready on, the
    parent's pid and its place in ``turns`` in the environment
    (:func:`spawned_worker`), and reports ready once it accepts
    connections.

    :param turns: shared by every process accepting on ``sock``; the
        workers take its slots ``first_slot`` on (the slots before are
        the parent's, which serves too).
    :param forked: workers forked before the parent ran any thread
        (:class:`ForkedWorkers`), waiting: the first ones started are
        these, handed what a new program would find; the others (and any
        replacement) are new programs.
    """

    def __init__(self, sock: socket.socket, count: int, argv: list[str],
                 env: dict[str, str], turns: AcceptTurns | None = None,
                 first_slot: int = 0, forked: 'ForkedWorkers | None' = None):
        self._sock = sock
        self._count = count
        self._argv = argv
        self._env = env
        self._turns = turns
        self._forked = forked
        self._slots = range(first_slot, first_slot + count)
        self._children: dict[int, int] = {}  # pid -> its slot
        self._ready_r, self._ready_w = os.pipe()

    @property
    def pids(self) -> list[int]:
        return sorted(self._children)

    def start(self, timeout: float,
              stop: threading.Event | None = None) -> bool:
        """Start every worker; whether they all report ready within
        ``timeout`` seconds. False at once when ``stop`` is set meanwhile
        (the process is asked to stop while they start)."""
        for slot in self._slots:
            self._start(slot)
        deadline = time.monotonic() + timeout
        ready = 0
        while ready < self._count:
            left = deadline - time.monotonic()
            if left <= 0 or self._reap() or (stop is not None
                                             and stop.is_set()):
                return False
            readable, _, _ = select.select([self._ready_r], [], [],
                                           min(left, 0.2))
            if readable:
                ready += len(os.read(self._ready_r, self._count))
        return True

    def _start(self, slot: int) -> None:
        if self._forked is not None:
            turns = self._turns
            pid = self._forked.hand_over(
                self._passed(), os.getpid(), slot,
                turns.slots if turns else 0, self._env)
            if pid is not None:
                self._children[pid] = slot
                LOG.info('Started API worker %d (forked)', pid)
                return
            self._forked = None  # all handed over
        passed = self._passed()
        env = dict(self._env, **{_WORKER_ENV: self._described(slot)})
        for fd in passed:
            os.set_inheritable(fd, True)
        try:
            # Ctrl-C reaches the whole process group: the parent passes it
            # on as SIGTERM, once (a worker importing would print a trace).
            pid = os.posix_spawn(self._argv[0], self._argv, env,
                                 setsigmask=[signal.SIGINT])
        finally:
            for fd in passed:
                os.set_inheritable(fd, False)
        self._children[pid] = slot
        LOG.info('Started API worker %d', pid)

    def _passed(self) -> list[int]:
        """The descriptors a worker inherits: the listening socket, the
        pipe to report ready on, the table of turns (if any)."""
        passed = [self._sock.fileno(), self._ready_w]
        if self._turns is not None:
            passed.append(self._turns.fileno())
        return passed

    def _described(self, slot: int) -> str:
        """:data:`_WORKER_ENV` of the worker of ``slot``."""
        turns = self._turns
        return ','.join(map(str, (
            self._sock.fileno(), self._ready_w, os.getpid(),
            turns.fileno() if turns else -1, slot,
            turns.slots if turns else 0)))

    def _reap(self) -> list[tuple[int, int]]:
        """The workers that ended, and their exit statuses."""
        ended = []
        for pid in list(self._children):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                slot = self._children.pop(pid)
                if self._turns is not None:
                    # Its connections died with it: the others need not
                    # wait for its slot to go stale.
                    self._turns.release(slot)
                ended.append((pid, os.waitstatus_to_exitcode(status)))
        return ended

    def watch(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Until ``stop`` is set: restart a worker that dies."""
        deaths: dict[int, float] = {}
        while not stop.wait(interval):
            for pid, status in self._reap():
                LOG.error('API worker %d ended with status %s; starting '
                          'another', pid, status)
                deaths[pid] = time.monotonic()
            while len(self._children) < self._count and not stop.is_set():
                if deaths and time.monotonic() - max(
                        deaths.values()) < RESPAWN_DELAY:
                    break
                busy = set(self._children.values())
                self._start(min(set(self._slots) - busy))

    def stop(self, deadline: float, close_socket: bool = True) -> bool:
        """SIGTERM to every worker; those still there at the monotonic
        ``deadline`` get SIGKILL. Whether all ended on their own, with
        status 0.

        ``close_socket``: close this process's copy of the listening
        socket first (not when this process serves on it too): once the
        workers close theirs, nothing listens.
        """
        clean = True
        if close_socket:
            self._sock.close()
        for pid in self._children:
            _signal(pid, signal.SIGTERM)
        while self._children and time.monotonic() < deadline:
            for pid, status in self._reap():
                if status != 0:
                    LOG.warning('API worker %d ended with status %s', pid,
                                status)
                    clean = False
            if self._children:
                time.sleep(0.05)
        for pid in list(self._children):
            LOG.warning('API worker %d did not stop in time; killing it',
                        pid)
            _signal(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            slot = self._children.pop(pid)
            if self._turns is not None:
                self._turns.release(slot)
            clean = False
        return clean


class ForkedWorkers:
    """Workers forked while the parent still runs one thread, after its
    imports: the pages of its code and data (most of a worker's memory)
    stay shared with it, copy-on-write, rather than built again by a new
    program.

    A forked child waits, doing nothing, until the parent hands it, over a
    private socket pair, what a :class:`WorkerPool` passes a new
    program (:meth:`hand_over`), then serves as one would. It ends, before
    that, when the parent closes its end (it starts no workers, or exits)
    or dies.

    Forked only where that is safe: Linux (``/proc/self/task`` tells the
    threads, C ones included) and no thread but this one; otherwise none
    are and the workers are new programs.
    """

    def __init__(self):
        self._waiting: list[tuple[int, socket.socket]] = []

    @classmethod
    def fork(cls, count: int) -> tuple['ForkedWorkers | None',
                                       tuple | None]:
        """In the parent: ``(workers, None)``, ``count`` of them waiting
        (``(None, None)`` where forking is not safe); in a forked child,
        once handed over: ``(None, worker)``, ``worker`` what
        :func:`spawned_worker` gives a new program. A child the parent
        never hands over ends here (``os._exit``)."""
        if count < 1 or not startup.single_threaded():
            return None, None
        forked = cls()
        # Objects made so far stay where they are: the collector neither
        # frees nor moves them, nor writes to their headers, in the parent
        # or a child (which would copy their pages).
        gc.collect()
        gc.freeze()
        # Output still buffered would be written by the children too.
        startup.flush_output()
        for _ in range(count):
            ours, theirs = socket.socketpair()
            pid = os.fork()
            if pid == 0:
                ours.close()
                for _pid, other in forked._waiting:
                    other.close()
                return None, _wait_for_hand_over(theirs, os.getppid())
            theirs.close()
            forked._waiting.append((pid, ours))
        return forked, None

    def hand_over(self, passed: list[int], parent: int, slot: int,
                  slots: int, env: dict[str, str]) -> int | None:
        """Start a waiting worker, as :class:`WorkerPool` starts a
        new program: the descriptors ``passed`` (the listening socket, the
        pipe to report ready on, the table of turns if any), its place in
        the table, ``env``. Its pid, or None when none waits."""
        # (The child has this process's environment already.)
        env = {name: value for name, value in env.items()
               if os.environ.get(name) != value}
        message = json.dumps({'env': env, 'parent': parent, 'slot': slot,
                              'slots': slots}).encode()
        while self._waiting:
            pid, ours = self._waiting.pop(0)
            try:
                socket.send_fds(ours, [message], passed)
                return pid
            except OSError as e:
                LOG.warning('API worker %d ended before it was started: %s',
                            pid, e)
                _reap(pid)
            finally:
                ours.close()
        return None

    def close(self) -> None:
        """End the workers still waiting: nothing for them to serve."""
        for pid, ours in self._waiting:
            ours.close()
            _reap(pid)
        self._waiting = []


def fork_and_serve(count: int, serve_worker: Callable[..., int],
                   serve_first: Callable[['ForkedWorkers | None'], int]
                   ) -> int:
    """Fork ``count`` waiting workers (:meth:`ForkedWorkers.fork`), then
    in this process ``serve_first(forked)``, which hands them over; its
    exit status. In a forked worker, once handed over:
    ``serve_worker(*worker)`` (``worker`` as :func:`spawned_worker` gives
    it), then the worker's process ends. The workers never handed over (a
    failed start) end when ``serve_first`` returns."""
    forked, worker = ForkedWorkers.fork(count)
    if worker is not None:
        status = 1
        try:
            status = serve_worker(*worker)
        except BaseException:
            LOG.exception('API worker %d failed', os.getpid())
        finally:
            os._exit(status)
    try:
        return serve_first(forked)
    finally:
        if forked is not None:
            forked.close()


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _wait_for_hand_over(channel: socket.socket, parent: int):
    """In a forked child: wait for the parent's :meth:`ForkedWorkers.
    hand_over`, then be the worker it describes (see
    :func:`spawned_worker`). Ends the process if the parent hands over
    nothing."""
    status = 0
    try:
        # Not the parent's handlers: until the worker sets its own,
        # SIGTERM ends it. Ctrl-C reaches the whole process group; the
        # parent passes it on as SIGTERM, once.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_with_parent(parent)
        message, fds, _, _ = socket.recv_fds(channel, 1 << 16, 4)
        channel.close()
        if message:
            told = json.loads(message)
            sock_fd, ready_fd, turns_fd = (fds + [-1])[:3]
            os.environ.update(told['env'])
            os.environ[_WORKER_ENV] = ','.join(map(str, (
                sock_fd, ready_fd, told['parent'], turns_fd, told['slot'],
                told['slots'])))
            return spawned_worker()
    except BaseException:
        LOG.exception('API worker %d failed', os.getpid())
        status = 1
    os._exit(status)


_WORKER_ENV = 'IRONIC_LITE_API_WORKER'


def spawned_worker() -> tuple[socket.socket, Callable[[], None], int,
                              AcceptTurns | None] | None:
    """In a worker of a :class:`WorkerPool`: the listening socket,
    the function that reports it ready, the parent's pid and its place in
    the parent's :class:`AcceptTurns` (or None). None in any other
    process."""
    passed = os.environ.pop(_WORKER_ENV, None)
    if not passed:
        return None
    sock_fd, ready_fd, parent, turns_fd, slot, slots = (
        int(part) for part in passed.split(','))
    turns = None
    if turns_fd >= 0:
        turns = AcceptTurns(turns_fd, slots)
        turns.take(slot)

    def ready():
        os.write(ready_fd, b'r')
        os.close(ready_fd)
    return socket.socket(fileno=sock_fd), ready, parent, turns


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
