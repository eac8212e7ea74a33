"""ironic-lite-api: the API service alone, in front of separate conductors.

With ``[api]api_workers`` above 1 (the default on a machine with several
cores), this process serves and starts that many minus one more worker
processes on the same port: forked once the code is loaded, before any
thread, connection or RPC transport exists, so that the pages of the code
stay shared (``workers.ForkedWorkers``). Every process answers every request
itself, with its own database pool and broker connection. This process
restarts a worker that dies (as a new program: a process running threads is
not forked) and stops them when it stops; they stop by themselves when it
is killed.
"""

import os
import signal
import socket
import sys
import threading
import typing
from collections.abc import Callable

from oslo_log import log

from ironic_lite.cmd import common
from ironic_lite.common import startup
from ironic_lite.conf import CONF

if typing.TYPE_CHECKING:
    from ironic_lite.api import workers

LOG = log.getLogger(__name__)

# How long the workers may take to start serving, imports done.
WORKER_START_TIMEOUT = 60
# Beyond [conductor]graceful_shutdown_timeout, what a worker's own stop may
# take (closing RPC, its exit) before this process kills it.
WORKER_STOP_MARGIN = 2


def main(argv: list[str] | None = None) -> int:
    startup.tune_malloc()
    argv = sys.argv[1:] if argv is None else argv
    from ironic_lite.api import workers

    worker = workers.spawned_worker()
    startup.prepare(argv, 'ironic-lite-api')
    if worker is not None:
        # A replacement for a worker that died, started by the first process.
        return _serve_as_worker(*worker)
    common.refuse_unsafe_api()
    signals = common.StopSignals()  # (a forked worker sets its own)
    startup.require_current_schema()
    startup.transport_url(require_url=True)

    count = workers.worker_count()
    if count == 1:
        return _serve_alone(signals)
    return _serve_with_workers(argv, signals, count)


def _start_serving(sock: socket.socket | None = None,
                   turns: 'workers.AcceptTurns | None' = None):
    """Serve (on ``sock`` if given, taking its ``turns``) in threads of
    this process; the server."""
    startup.start_messaging(require_url=True)

    from ironic_lite.api import server
    from ironic_lite.common import hash_ring
    from ironic_lite.common import membership

    membership.start_listener(hash_ring.get_manager(), background=True)
    api = server.APIServer(sock=sock, turns=turns)
    api.start()
    return api


def _stop_serving(api, deadline: float) -> bool:
    """Drain the requests under way until the monotonic ``deadline``, close
    RPC; whether the server stopped in time."""
    from ironic_lite.common import rpc

    served = common.run_bounded(api.stop, common.remaining(deadline),
                                'stopping the API')
    common.run_bounded(rpc.cleanup, common.CLOSE_BOUND, 'closing RPC')
    return served


def _serve_alone(signals: common.StopSignals) -> int:
    """Serve from this one process until a stop signal."""
    api = _start_serving()
    print('ironic-lite-api listening on %s' % api.url, flush=True)
    signals.wait()
    deadline = common.stop_within(CONF.conductor.graceful_shutdown_timeout)
    # A request still computing past the bound must not hold the process.
    common.exit_now(0 if _stop_serving(api, deadline) else 1)


def _serve_as_worker(sock: socket.socket, ready: Callable[[], None],
                     parent: int,
                     turns: 'workers.AcceptTurns | None') -> int:
    """A worker other than the first process: stopped by SIGTERM only, and
    when the first process dies, even by SIGKILL."""
    from ironic_lite.api import workers

    workers.stop_with_parent(parent)
    signals = common.StopSignals((signal.SIGTERM,))
    api = _start_serving(sock, turns)
    ready()
    signals.wait()
    deadline = common.stop_within(CONF.conductor.graceful_shutdown_timeout)
    common.exit_now(0 if _stop_serving(api, deadline) else 1)


def _serve_with_workers(argv: list[str], signals: common.StopSignals,
                        count: int) -> int:
    from ironic_lite.api import workers
    from ironic_lite.db import api as db_api

    # No pool shared with the workers (the schema check runs in a child of
    # its own, but in this process where it could not fork).
    db_api.discard_instance()
    # Imported before the other workers are forked (no thread, connection
    # or RPC transport yet): their pages are then shared.
    from ironic_lite.api import app  # noqa: F401
    from ironic_lite.api import server  # noqa: F401
    from ironic_lite.common import membership  # noqa: F401

    return workers.fork_and_serve(
        count - 1, _serve_as_worker,
        lambda forked: _serve_first(argv, signals, count, forked))


def _serve_first(argv: list[str], signals: common.StopSignals, count: int,
                 forked: 'workers.ForkedWorkers | None') -> int:
    """The first of ``count`` processes: serve, start the others, restart
    one that dies until a stop signal, then stop them all."""
    from ironic_lite.api import server
    from ironic_lite.api import workers

    try:
        sock = server.listening_socket()
    except OSError as e:
        LOG.error('Cannot listen on %s:%s: %s', CONF.api.host_ip,
                  CONF.api.port, e)
        return 1
    turns = workers.AcceptTurns.create(count)
    if turns is not None:
        turns.take(0)
    api = _start_serving(sock, turns)
    pool = workers.WorkerPool(
        sock, count - 1, [sys.executable, '-m', __spec__.name, *argv],
        dict(os.environ), turns=turns, first_slot=1, forked=forked)
    started = pool.start(WORKER_START_TIMEOUT, signals.received)
    if started:
        print('ironic-lite-api listening on %s (%d worker processes: %s)'
              % (api.url, count,
                 ' '.join(map(str, [os.getpid()] + pool.pids))), flush=True)
        pool.watch(signals.received)
    elif signals.received.is_set():
        started = True  # asked to stop while the workers started
    else:
        LOG.error('The API workers did not start')
    # The other workers drain their requests while this one drains its
    # own; the pool kills those still there at its deadline.
    own_deadline = common.stop_within(
        CONF.conductor.graceful_shutdown_timeout)
    stopped = []
    stopping = threading.Thread(
        target=lambda: stopped.append(pool.stop(
            own_deadline + WORKER_STOP_MARGIN, close_socket=False)),
        name='stopping the API workers', daemon=True)
    stopping.start()
    served = _stop_serving(api, own_deadline)
    stopping.join()
    common.exit_now(0 if started and served and stopped == [True] else 1)


if __name__ == '__main__':
    sys.exit(main())
