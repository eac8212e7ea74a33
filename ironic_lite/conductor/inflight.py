"""Counting the RPC calls a conductor is handling, to drain them.

oslo.messaging can stop a server and wait for its calls, but stopping a
rabbit listener waits for its current poll to time out (up to 5 s) and
leaves the calls sent meanwhile unanswered in the queue. A conductor that is
leaving rather keeps answering (it refuses the nodes it no longer owns, and
the sender asks their new owner) and only needs to know when no call is
under way any more.
"""

import functools
import threading


class TrackedEndpoint:
    """An RPC endpoint wrapped so that its calls under way are counted.

    oslo.messaging finds methods with ``getattr`` and takes the ``target``
    attribute; both pass through, the public methods wrapped.
    """

    def __init__(self, endpoint):
        self._endpoint = endpoint
        # A Target is callable: it must not be taken for a method.
        self.target = endpoint.target
        self._busy = 0
        self._idle = threading.Condition()

    def __getattr__(self, name: str):
        value = getattr(self._endpoint, name)
        if name.startswith('_') or not callable(value):
            return value

        @functools.wraps(value)
        def counted(*args, **kwargs):
            with self._idle:
                self._busy += 1
            try:
                return value(*args, **kwargs)
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
