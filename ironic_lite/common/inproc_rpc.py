"""``fake://`` RPC without its polling delay, for the all-in-one.

oslo.messaging's fake driver passes messages between threads of one
process, but its listener looks at its queues every 50 ms and sleeps in
between: each call from the API to the conductor waited 25 to 50 ms for
nothing, capping writes near 20 per second per client. This driver is the
same driver whose listener instead sleeps on a condition that every
delivered message notifies: a call costs what its work costs.

Messages still go through the same serialisation and the same
``RPCServer`` as with a broker, so the all-in-one behaves as a cluster
does. Only the all-in-one uses it (``[DEFAULT]transport_url`` unset or
``fake://``).
"""

import threading
import time

import oslo_messaging as messaging
from oslo_messaging import transport as messaging_transport
from oslo_messaging._drivers import base
from oslo_messaging._drivers import impl_fake

# The longest a listener sleeps without a message: how late it sees a stop
# that came without one (stop() wakes it at once anyway).
IDLE_WAIT = 1.0

SCHEMES = ('fake',)


class _Arrivals:
    """A counter of delivered messages and a condition to wait for the
    next one: a listener reads the counter, looks at its queues, and
    sleeps only if nothing arrived since it read it."""

    def __init__(self):
        self._condition = threading.Condition()
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def arrived(self) -> None:
        with self._condition:
            self._count += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        with self._condition:
            if self._count == seen:
                self._condition.wait(timeout)


class _Exchange(impl_fake.FakeExchange):

    def __init__(self, name, arrivals: _Arrivals):
        super().__init__(name)
        self._arrivals = arrivals

    def deliver_message(self, *args, **kwargs):
        super().deliver_message(*args, **kwargs)
        self._arrivals.arrived()


class _ExchangeManager(impl_fake.FakeExchangeManager):

    def __init__(self, default_exchange):
        super().__init__(default_exchange)
        self.arrivals = _Arrivals()
        # Not the fake driver's class-wide dictionary: exchanges of this
        # driver notify its arrivals.
        self._exchanges = {}
        self._lock = threading.Lock()

    def get_exchange(self, name):
        if name is None:
            name = self._default_exchange
        with self._lock:
            exchange = self._exchanges.get(name)
            if exchange is None:
                exchange = self._exchanges[name] = _Exchange(
                    name, self.arrivals)
            return exchange

    def cleanup(self):
        with self._lock:
            self._exchanges.clear()
        self.arrivals.arrived()  # wake listeners


class _Listener(impl_fake.FakeListener):

    @base.batch_poll_helper
    def poll(self, timeout=None):
        arrivals = self._exchange_manager.arrivals
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stopped.is_set():
            seen = arrivals.count
            for target in self._targets:
                exchange = self._exchange_manager.get_exchange(
                    target.exchange)
                ctxt, message, reply_q, requeue = exchange.poll(target,
                                                                self._pool)
                if message is not None:
                    return impl_fake.FakeIncomingMessage(ctxt, message,
                                                         reply_q, requeue)
            wait = IDLE_WAIT
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    break
            arrivals.wait(seen, wait)
        return None

    def stop(self):
        super().stop()
        self._exchange_manager.arrivals.arrived()


class _Driver(impl_fake.FakeDriver):

    def __init__(self, conf, url, default_exchange=None,
                 allowed_remote_exmods=None):
        super().__init__(conf, url, default_exchange, allowed_remote_exmods)
        self._exchange_manager = _ExchangeManager(default_exchange)

    def listen(self, target, batch_size, batch_timeout):
        exchange = target.exchange or self._default_exchange
        listener = _Listener(self._exchange_manager, [
            messaging.Target(topic=target.topic, server=target.server,
                             exchange=exchange),
            messaging.Target(topic=target.topic, exchange=exchange)])
        return base.PollStyleListenerAdapter(listener, batch_size,
                                             batch_timeout)

    def listen_for_notifications(self, targets_and_priorities, pool,
                                 batch_size, batch_timeout):
        targets = [messaging.Target(topic='%s.%s' % (target.topic, priority),
                                    exchange=target.exchange)
                   for target, priority in targets_and_priorities]
        listener = _Listener(self._exchange_manager, targets, pool)
        return base.PollStyleListenerAdapter(listener, batch_size,
                                             batch_timeout)


def is_inproc(conf, url: str | None) -> bool:
    """Whether ``url`` (or ``[DEFAULT]transport_url``) names the
    in-process transport."""
    parsed = messaging.TransportURL.parse(conf, url)
    return (parsed.transport or '').split('+')[0] in SCHEMES


def get_rpc_transport(conf, url: str | None, allowed_remote_exmods):
    """An RPC transport on this driver, as ``get_rpc_transport`` would
    make one on the fake driver."""
    conf.register_opts(messaging_transport._transport_opts)
    parsed = messaging.TransportURL.parse(conf, url)
    return messaging_transport.RPCTransport(_Driver(
        conf, parsed, default_exchange=conf.control_exchange,
        allowed_remote_exmods=allowed_remote_exmods))
