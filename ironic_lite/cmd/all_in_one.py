"""ironic-lite: the API and one conductor in one process, nothing to set up.

With no configuration at all it keeps a SQLite database in
``[DEFAULT]state_path``, passes RPC inside the process (``fake://``), needs no
authentication and serves http://127.0.0.1:6385.

With ``[api]api_workers`` above 1 (by default, the cores of the machine
up to 2), the first process (API and conductor) starts that many minus
one more API processes on the same port: forked once the code is loaded,
before any thread, connection or RPC transport exists, so that the pages
of the code stay shared (``workers.ForkedWorkers``); they wait until the
first process serves. One that replaces a worker that died is a new
program (a process running threads is not forked). They answer reads
themselves and pass the rest to the first process over a private Unix
socket (``api/forwarding.py``); the first process restarts one that
dies, and they stop when it stops, even when it is killed.
"""

import functools
import os
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

# How long the other API workers may take to start serving, imports done.
WORKER_START_TIMEOUT = 60
# How long a worker waits for the first process to answer a request it
# passed on: well beyond an RPC call's own timeout.
FORWARD_TIMEOUT = 300
_PRIMARY_ENV = 'IRONIC_LITE_PRIMARY_SOCKET'


def main(argv: list[str] | None = None) -> int:
    startup.tune_malloc()
    argv = sys.argv[1:] if argv is None else argv
    from ironic_lite.api import workers

    worker = workers.spawned_worker()
    if worker is not None:
        return _serve_as_worker(argv, *worker)
    startup.prepare(argv, 'ironic-lite')
    common.refuse_unsafe_api()
    signals = common.StopSignals()  # (a forked worker sets its own)

    # Imported before the other API workers are forked (no thread, no
    # connection, no RPC transport yet): their pages are then shared.
    from ironic_lite.api import app  # noqa: F401
    from ironic_lite.api import forwarding  # noqa: F401
    from ironic_lite.api import server  # noqa: F401
    from ironic_lite.conductor import service  # noqa: F401

    # In a process of its own: no serving process carries alembic.
    status = startup.upgrade_schema()
    if status:
        LOG.error('The database schema could not be brought up to date')
        return status
    count = workers.worker_count(most=workers.MAX_ALL_IN_ONE_WORKERS)

    def serve_first(forked: 'workers.ForkedWorkers | None') -> int:
        startup.start_messaging(require_url=False, default_url='fake://')
        return _serve(argv, signals, count, forked)
    # The forked workers are handed their sockets once this process serves.
    return workers.fork_and_serve(
        count - 1, functools.partial(_serve_as_worker, argv, prepared=True),
        serve_first)


def _serve(argv: list[str], signals: common.StopSignals, count: int,
           forked: 'workers.ForkedWorkers | None') -> int:
    from ironic_lite.api import app
    from ironic_lite.api import server
    from ironic_lite.api import workers
    from ironic_lite.common import exception
    from ironic_lite.common import rpc
    from ironic_lite.conductor import service

    conductor = service.ConductorService()
    try:
        conductor.start()
    except exception.IronicLiteException as e:
        LOG.error('The conductor cannot start: %s', e)
        conductor.stop()
        return 1
    application = app.setup_app()
    servers = []
    turns = None
    try:
        if count > 1:
            sock = server.listening_socket()
            turns = workers.AcceptTurns.create(count)
            if turns is not None:
                turns.take(0)
            # Where the other workers pass what needs the conductor.
            primary, primary_address = server.private_unix_socket()
            servers.append(server.APIServer(application, sock=primary))
            servers.insert(0, server.APIServer(application, sock=sock,
                                               turns=turns))
        else:
            servers.append(server.APIServer(application))
        for api in servers:
            api.start()
    except OSError as e:
        LOG.error('Cannot listen on %s:%s: %s', CONF.api.host_ip,
                  CONF.api.port, e)
        for api in servers:
            api.stop()
        conductor.stop()
        return 1
    pool = None
    if count > 1:
        pool = workers.WorkerPool(
            sock, count - 1, [sys.executable, '-m', __spec__.name, *argv],
            # (An environment variable cannot hold the address's NUL.)
            dict(os.environ, **{_PRIMARY_ENV: primary_address[1:]}),
            turns=turns, first_slot=1, forked=forked)
    if pool is None or pool.start(WORKER_START_TIMEOUT, signals.received):
        url = servers[0].url
        print('ironic-lite is running. API: %s (conductor "%s", database %s'
              '%s)\nTry it from another terminal:\n%sStop it with Ctrl-C.'
              % (url, conductor.host, CONF.database.connection,
                 '' if pool is None else ', %d API processes: %s' % (
                     count, ' '.join(map(str, [os.getpid()] + pool.pids))),
                 _client_examples(url)), flush=True)
        if pool is None:
            signals.wait()
        else:
            pool.watch(signals.received)
        started = True
    elif signals.received.is_set():
        started = True  # asked to stop while the workers started
    else:
        LOG.error('The API workers did not start')
        started = False
    deadline = common.stop_within(CONF.conductor.graceful_shutdown_timeout)
    # Out of the ring first, then no new HTTP connections, then the
    # requests and RPC calls under way get what is left of the bound. The
    # other workers first: what they still serve may need this process.
    conductor.leave()
    # (This process still accepts on the port until its own server stops.)
    served = pool is None or pool.stop(deadline, close_socket=False)
    for api in servers:
        served = common.run_bounded(api.stop, common.remaining(deadline),
                                    'stopping the API') and served
    drained = conductor.stop(common.remaining(deadline))
    common.run_bounded(rpc.cleanup, common.CLOSE_BOUND, 'closing RPC')
    common.exit_now(0 if started and served and drained else 1)


def _serve_as_worker(argv: list[str], sock: socket.socket,
                     ready: Callable[[], None], parent: int,
                     turns: 'workers.AcceptTurns | None',
                     prepared: bool = False) -> int:
    """An API worker of the all-in-one other than the first process: it
    answers what needs no conductor and passes the rest to the first
    process (see ``api/forwarding.py``). Stopped by SIGTERM only.

    ``prepared``: forked from the first process, configured already."""
    if not prepared:
        startup.prepare(argv, 'ironic-lite')
    signals = common.StopSignals((signal.SIGTERM,))

    from ironic_lite.api import app
    from ironic_lite.api import forwarding
    from ironic_lite.api import server
    from ironic_lite.api import workers
    from ironic_lite.common import rpc

    workers.stop_with_parent(parent)
    rpc.refuse_calls('this API worker passes what needs the conductor to '
                     'the first process')
    api = server.APIServer(
        forwarding.ForwardToPrimary(app.setup_app(),
                                    '\0' + os.environ.pop(_PRIMARY_ENV),
                                    FORWARD_TIMEOUT),
        sock=sock, turns=turns)
    api.start()
    ready()
    signals.wait()
    deadline = common.stop_within(CONF.conductor.graceful_shutdown_timeout)
    served = common.run_bounded(api.stop, common.remaining(deadline),
                                'stopping the API')
    common.exit_now(0 if served else 1)


def _client_examples(url: str) -> str:
    """How the stock CLI reaches this API, with its authentication."""
    if CONF.auth_strategy == 'http_basic':
        return ('    baremetal --os-auth-type http_basic --os-username USER '
                '--os-password PASSWORD --os-endpoint %s conductor list\n'
                % url)
    if CONF.auth_strategy == 'keystone':
        return ('    openstack baremetal conductor list   (with Keystone '
                'credentials whose catalog lists %s)\n' % url)
    return ('    baremetal --os-endpoint %s conductor list\n'
            '    openstack --os-auth-type none --os-endpoint %s baremetal '
            'node list\n' % (url, url))


if __name__ == '__main__':
    sys.exit(main())
