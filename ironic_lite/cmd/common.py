"""What only the console scripts need: stop signals and a bounded stop.

Start-up (configuration, logging, messaging, the schema check) is in
``common/startup.py``, shared with ``api/wsgi.py``.
"""

import faulthandler
import logging
import os
import signal
import sys
import threading
import time
import typing

from oslo_log import log

LOG = log.getLogger(__name__)

# Beyond [conductor]graceful_shutdown_timeout, what leaving the rings and
# closing connections may take before the process is ended regardless.
STOP_MARGIN = 5
# How long closing the RPC transport may take once the work is done: the
# broker notices a closed socket anyway.
CLOSE_BOUND = 0.5


class StopSignals:
    """SIGTERM and SIGINT, caught from the moment this is made. A second
    one while stopping ends the process at once."""

    def __init__(self, signums: tuple[int, ...] = (signal.SIGTERM,
                                                   signal.SIGINT)):
        self.received = threading.Event()
        for signum in signums:
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


def refuse_unsafe_api() -> None:
    """Exit, before anything listens, when the API as configured must not
    serve: no authentication on a non-loopback address, or a basic auth
    user file that cannot be used."""
    from ironic_lite.api import auth
    from ironic_lite.api.middleware import basic_auth
    from ironic_lite.common import exception
    from ironic_lite.conf import CONF

    reason = auth.open_door_reason(CONF.api.host_ip)
    if reason:
        sys.exit(reason)
    if CONF.auth_strategy == auth.HTTP_BASIC:
        try:
            basic_auth.read_user_file(CONF.http_basic_auth_user_file)
        except exception.ConfigInvalid as e:
            sys.exit('[DEFAULT]http_basic_auth_user_file: %s' % e)
