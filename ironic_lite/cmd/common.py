"""What every ironic-lite command does first: configuration and logging."""

import faulthandler
import logging
import os
import signal
import sys
import threading
import time
import typing

from oslo_log import log

from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)

_QUIET_LOGGERS = ['amqp=WARN', 'amqplib=WARN', 'kombu=WARN',
                  'oslo.messaging=INFO', 'oslo_messaging=INFO',
                  'sqlalchemy=WARN', 'stevedore=WARN', 'oslo_policy=WARN',
                  'alembic=WARN', 'waitress=WARN', 'urllib3=WARN',
                  'oslo_db=WARN', 'tooz=WARN',
                  # A line for every request that waits for a thread.
                  'waitress.queue=ERROR',
                  # WSME logs every 5xx with a traceback, 503s included;
                  # unexpected errors are logged by ironic_lite.api.expose.
                  'wsme.api=CRITICAL']


def prepare(argv: list[str], prog: str) -> None:
    """Parse the configuration and set up logging."""
    log.register_options(CONF)
    log.set_defaults(default_log_levels=log.get_default_log_levels()
                     + _QUIET_LOGGERS)
    CONF(argv, project='ironic-lite', prog=prog)
    log.setup(CONF, 'ironic-lite')
    os.makedirs(CONF.state_path, exist_ok=True)


def start_messaging(require_url: bool, default_url: str | None = None):
    """Open the RPC transport.

    :param require_url: refuse to start without ``[DEFAULT]transport_url``
        (a process that talks to others needs a real broker).
    :param default_url: the transport when none is configured.
    """
    from ironic_lite.common import rpc
    url = CONF.transport_url or default_url
    if not url and require_url:
        sys.exit('%s needs [DEFAULT]transport_url, the message broker its '
                 'API and conductors share, for example '
                 'rabbit://guest:guest@127.0.0.1:5672/' % CONF.prog)
    rpc.init(url)


# Beyond [conductor]graceful_shutdown_timeout, what leaving the rings and
# closing connections may take before the process is ended regardless.
STOP_MARGIN = 5
# How long closing the RPC transport may take once the work is done: the
# broker notices a closed socket anyway.
CLOSE_BOUND = 0.5


class StopSignals:
    """SIGTERM and SIGINT, caught from the moment this is made. A second
    one while stopping ends the process at once."""

    def __init__(self):
        self.received = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._handler)

    def _handler(self, signum, frame):
        name = signal.Signals(signum).name
        if self.received.is_set():
            LOG.warning('Received %s again; exiting now', name)
            exit_now(1)
        LOG.info('Received %s', name)
        self.received.set()

    def wait(self) -> None:
        # A timed wait lets the handler run promptly in the main thread.
        while not self.received.wait(1):
            pass


def stop_within(seconds: float) -> float:
    """From now on, the process has ``seconds`` (plus STOP_MARGIN) to stop;
    the monotonic deadline of the graceful part.

    Past the margin it ends with status 1 whatever it is doing, after
    printing every thread's stack to stderr (what would not stop). The
    timer is faulthandler's own C thread, which needs no GIL: even a thread
    computing in C cannot hold the process.
    """
    faulthandler.dump_traceback_later(seconds + STOP_MARGIN, exit=True)
    return time.monotonic() + seconds


def remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def run_bounded(function: typing.Callable[[], object], timeout: float,
                name: str) -> bool:
    """Call ``function`` in a thread, wait ``timeout`` seconds at most;
    whether it returned (an exception is logged and counts as returned)."""
    def call():
        try:
            function()
        except Exception:
            LOG.exception('%s failed', name)

    thread = threading.Thread(target=call, name=name, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        LOG.warning('%s did not end within %.1f seconds', name, timeout)
        return False
    return True


def exit_now(status: int) -> typing.NoReturn:
    """End the process now, whatever threads still run.

    After a bounded drain, a request or task still computing must not keep
    the process alive: non-daemon threads (the HTTP server's workers, say)
    would hold a normal interpreter exit forever.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def require_current_schema() -> None:
    """Refuse to run against a database whose schema is not the newest."""
    from ironic_lite.db import migration
    current, newest = migration.version(), migration.head()
    if current != newest:
        sys.exit('The database schema is at revision %s, this code needs %s. '
                 'Run "ironic-lite-dbsync upgrade" first.'
                 % (current or 'none', newest))
