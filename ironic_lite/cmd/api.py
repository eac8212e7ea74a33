"""ironic-lite-api: the API service alone, in front of separate conductors.

With ``[api]api_workers`` above 1 (the default on a machine with several
cores) this process listens and forks the worker processes that serve (see
``api/workers.py``); it serves nothing itself.
"""

import signal
import socket
import sys
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
# take (closing RPC, its exit) before the parent kills it.
WORKER_STOP_MARGIN = 2


def main(argv: list[str] | None = None) -> int:
    startup.tune_malloc()
    startup.prepare(sys.argv[1:] if argv is None else argv, 'ironic-lite-api')
    common.refuse_unsafe_api()
    signals = common.StopSignals()
    startup.require_current_schema()
    startup.transport_url(require_url=True)

    from ironic_lite.api import workers

    count = workers.worker_count()
    if count == 1:
        return _serve_alone(signals)
    return _serve_with_workers(signals, count)


def _serve_alone(signals: common.StopSignals, sock=None,
                 ready: Callable[[], None] | None = None,
                 turns: 'workers.AcceptTurns | None' = None) -> int:
    """Serve from this process until a stop signal; on ``sock`` if given
    (a worker's, taking its ``turns``)."""
    startup.start_messaging(require_url=True)

    from ironic_lite.api import server
    from ironic_lite.common import hash_ring
    from ironic_lite.common import membership
    from ironic_lite.common import rpc

    membership.start_listener(hash_ring.get_manager(), background=True)
    api = server.APIServer(sock=sock, turns=turns)
    api.start()
    if ready is None:
        print('ironic-lite-api listening on %s' % api.url, flush=True)
    else:
        ready()
    signals.wait()
    deadline = common.stop_within(CONF.conductor.graceful_shutdown_timeout)
    served = common.run_bounded(api.stop, common.remaining(deadline),
                                'stopping the API')
    common.run_bounded(rpc.cleanup, common.CLOSE_BOUND, 'closing RPC')
    # A request still computing past the bound must not hold the process.
    common.exit_now(0 if served else 1)


def _worker(sock: socket.socket, ready: Callable[[], None],
            turns: 'workers.AcceptTurns | None') -> None:
    """A forked worker: stopped by SIGTERM only (see ``api/workers.py``)."""
    _serve_alone(common.StopSignals((signal.SIGTERM,)), sock, ready, turns)


def _serve_with_workers(signals: common.StopSignals, count: int) -> int:
    from ironic_lite.api import server
    from ironic_lite.api import workers
    from ironic_lite.db import api as db_api

    # No pool shared with the workers (the schema check runs in a child of
    # its own, but in this process where it could not fork).
    db_api.discard_instance()
    # Imported once here, shared by the workers' memory.
    from ironic_lite.api import app  # noqa: F401

    try:
        sock = server.listening_socket()
    except OSError as e:
        LOG.error('Cannot listen on %s:%s: %s', CONF.api.host_ip,
                  CONF.api.port, e)
        return 1
    pool = workers.WorkerPool(sock, count, _worker,
                              turns=workers.AcceptTurns.create(count))
    started = pool.start(WORKER_START_TIMEOUT, signals.received)
    if started:
        print('ironic-lite-api listening on %s (%d worker processes: %s)'
              % (server.socket_url(sock), count,
                 ' '.join(map(str, pool.pids))), flush=True)
        pool.watch(signals.received)
    elif signals.received.is_set():
        started = True  # asked to stop while the workers started
    else:
        LOG.error('The API workers did not start')
    deadline = common.stop_within(CONF.conductor.graceful_shutdown_timeout
                                  + WORKER_STOP_MARGIN)
    stopped = pool.stop(deadline)
    common.exit_now(0 if started and stopped else 1)


if __name__ == '__main__':
    sys.exit(main())
