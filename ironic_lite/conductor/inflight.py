"""The RPC calls a conductor is handling: counted, held at the door while
the conductor sweeps its node locks, and a lost database answered as 503.

oslo.messaging can stop a server and wait for its calls, but stopping a
rabbit listener waits for its current poll to time out (up to 5 s) and
leaves the calls sent meanwhile unanswered in the queue. A conductor that is
leaving rather keeps answering (it refuses the nodes it no longer owns, and
the sender asks their new owner) and only needs to know when no call is
under way any more.
"""

import functools
import threading

import oslo_messaging as messaging
import sqlalchemy.exc
from oslo_db import exception as db_exc
from oslo_log import log

from ironic_lite.common import exception

LOG = log.getLogger(__name__)

# The database out of reach. oslo.db translates most such errors into
# DBConnectionError, but not those raised while the pool reconnects.
DATABASE_UNREACHABLE = (db_exc.DBConnectionError,
                        sqlalchemy.exc.OperationalError)


class TrackedEndpoint:
    """An RPC endpoint wrapped so that its calls under way are counted.

    oslo.messaging finds methods with ``getattr`` and takes the ``target``
    attribute; both pass through, the public methods wrapped.

    :param on_database_error: called when a call failed because the
        database was unreachable (it may have left a node lock behind).
    """

    def __init__(self, endpoint, on_database_error=None):
        self._endpoint = endpoint
        # A Target is callable: it must not be taken for a method.
        self.target = endpoint.target
        self._on_database_error = on_database_error
        self._busy = 0
        self._closed = False
        self._idle = threading.Condition()

    def __getattr__(self, name: str):
        value = getattr(self._endpoint, name)
        if name.startswith('_') or not callable(value):
            return value

        @functools.wraps(value)
        def counted(*args, **kwargs):
            with self._idle:
                self._idle.wait_for(lambda: not self._closed)
                self._busy += 1
            try:
                return value(*args, **kwargs)
            except DATABASE_UNREACHABLE as e:
                LOG.warning('%s failed, the database out of reach: %s',
                            name, e)
                if self._on_database_error is not None:
                    self._on_database_error()
                _raise_unavailable(e)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()
        return counted

    @property
    def busy(self) -> int:
        """How many calls are under way."""
        return self._busy

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a moment with no call under
        way; whether there was one."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def exclusively(self, function, timeout: float) -> bool:
        """Call ``function`` while no call is under way, new calls waiting
        at the door meanwhile; False, without calling it, when the calls
        under way did not end within ``timeout`` seconds."""
        with self._idle:
            self._closed = True
            try:
                if not self._idle.wait_for(lambda: self._busy == 0,
                                           timeout):
                    return False
                function()
                return True
            finally:
                self._closed = False
                self._idle.notify_all()


def _raise_unavailable(error: Exception):
    # An outage, not a bug: the API answers 503, and the log gets no
    # traceback for it (an expected exception).
    try:
        raise exception.ServiceUnavailable(
            service='The database', reason='no connection') from error
    except exception.ServiceUnavailable:
        raise messaging.ExpectedException()
