"""Several API worker processes serving one port.

One Python process answers one request at a time (the GIL); on a machine
with several cores, ``[api]api_workers`` processes answer as many. The
parent binds and listens, one SO_REUSEPORT socket per worker on the same
port (see ``server.listening_sockets``), then forks the workers: each
accepts on its own socket. So port 0 works, and connections the kernel
gives a worker that is being replaced wait in its socket's backlog. The
parent serves nothing; it restarts a worker that dies, and stops them all
on SIGTERM or SIGINT. A worker whose parent dies (even by SIGKILL) stops
as on SIGTERM: no orphan keeps serving.

Each worker must open its own database pool and RPC transport after the
fork; the parent opens none that it passes on (see ``cmd/api.py``).
"""

import ctypes
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable

from oslo_log import log

from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)

# Ironic's default: as many workers as cores, but no more than this; each
# worker holds its own connections and caches.
MAX_DEFAULT_WORKERS = 4
# A dead worker is replaced this long after the last death, so that a
# worker that cannot start does not spin.
RESPAWN_DELAY = 1.0
# How often a worker without prctl looks whether its parent is still there.
PARENT_CHECK_SECONDS = 1.0

_PR_SET_PDEATHSIG = 1


def worker_count() -> int:
    """``[api]api_workers``, or the number of cores (at most
    :data:`MAX_DEFAULT_WORKERS`) when unset."""
    if CONF.api.api_workers:
        return CONF.api.api_workers
    return max(1, min(len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS))


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
    """A child per socket of ``sockets``, running ``serve(sock, ready)``,
    where ``ready()`` tells the parent the worker accepts connections.
    ``serve`` must not return (it ends its process with ``os._exit``)."""

    def __init__(self, sockets: list[socket.socket],
                 serve: Callable[[socket.socket, Callable[[], None]], None]):
        self._sockets = sockets
        self._count = len(sockets)
        self._serve = serve
        self._children: dict[int, int] = {}  # pid -> its socket's index
        self._ready_r, self._ready_w = os.pipe()

    @property
    def pids(self) -> list[int]:
        return sorted(self._children)

    def start(self, timeout: float) -> bool:
        """Fork every worker; whether they all report ready within
        ``timeout`` seconds."""
        for slot in range(self._count):
            self._start(slot)
        deadline = time.monotonic() + timeout
        ready = 0
        while ready < self._count:
            left = deadline - time.monotonic()
            if left <= 0 or self._reap():
                return False
            readable, _, _ = select.select([self._ready_r], [], [],
                                           min(left, 0.2))
            if readable:
                ready += len(os.read(self._ready_r, self._count))
        return True

    def _start(self, slot: int) -> None:
        self._fork(slot)

    def _fork(self, slot: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                # Not the parent's handlers: until the worker sets its own,
                # SIGTERM ends it (it serves nothing yet). Ctrl-C in a
                # terminal reaches the whole process group; the parent
                # passes it on as SIGTERM, once.
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                os.close(self._ready_r)
                for index, sock in enumerate(self._sockets):
                    if index != slot:
                        sock.close()
                stop_with_parent(parent)
                self._serve(self._sockets[slot], self._ready)
                status = 0
            except BaseException:
                LOG.exception('API worker %d failed', os.getpid())
            finally:
                os._exit(status)
        self._children[pid] = slot
        LOG.info('Started API worker %d', pid)

    def _ready(self) -> None:
        os.write(self._ready_w, b'r')
        os.close(self._ready_w)

    def _reap(self) -> list[tuple[int, int]]:
        """The workers that ended, and their exit statuses."""
        ended = []
        for pid in list(self._children):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                del self._children[pid]
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
                self._start(min(set(range(self._count)) - busy))

    def stop(self, deadline: float) -> bool:
        """SIGTERM to every worker; those still there at the monotonic
        ``deadline`` get SIGKILL. Whether all ended on their own, with
        status 0."""
        clean = True
        # Nothing new for the workers: with the parent's copies closed, a
        # socket stops listening when its worker closes it.
        for sock in self._sockets:
            sock.close()
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
            del self._children[pid]
            clean = False
        return clean


class SpawnedWorkerPool(WorkerPool):
    """Workers that are new programs (fork and exec ``argv``), for a parent
    that runs threads of its own: a plain fork would copy it in the middle
    of whatever those threads hold (a lock, a half-written message).

    A worker finds its socket, the pipe to report ready on and the parent's
    pid in the environment (:func:`spawned_worker`).
    """

    def __init__(self, sockets: list[socket.socket], argv: list[str],
                 env: dict[str, str]):
        super().__init__(sockets, serve=None)
        self._argv = argv
        self._env = env

    def _start(self, slot: int) -> None:
        sock = self._sockets[slot]
        passed = (sock.fileno(), self._ready_w)
        env = dict(self._env, **{_WORKER_ENV: '%d,%d,%d' % (
            passed + (os.getpid(),))})
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


_WORKER_ENV = 'IRONIC_LITE_API_WORKER'


def spawned_worker() -> tuple[socket.socket, Callable[[], None],
                              int] | None:
    """In a worker of a :class:`SpawnedWorkerPool`: its listening socket,
    the function that reports it ready, and the parent's pid. None in any
    other process."""
    passed = os.environ.pop(_WORKER_ENV, None)
    if not passed:
        return None
    sock_fd, ready_fd, parent = (int(part) for part in passed.split(','))

    def ready():
        os.write(ready_fd, b'r')
        os.close(ready_fd)
    return socket.socket(fileno=sock_fd), ready, parent


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
