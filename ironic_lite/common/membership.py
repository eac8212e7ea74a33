"""Conductors announce when they join and leave; every process holding hash
rings listens, so its rings follow at once instead of at the next reload.

The announcements go on an oslo.messaging fanout topic. A crashed conductor
announces nothing: the rings drop it when its heartbeat grows older than
``[conductor]heartbeat_timeout`` (see ``common/hash_ring.py``).
"""

import socket
import threading

import oslo_messaging as messaging
from oslo_log import log
from oslo_utils import uuidutils

from ironic_lite.common import context as ironic_context
from ironic_lite.common import exception
from ironic_lite.common import hash_ring
from ironic_lite.common import rpc

LOG = log.getLogger(__name__)

TOPIC = 'ironic-lite.conductor_membership'


class MembershipEndpoint:
    """Receives the announcements."""

    target = messaging.Target(version='1.0')

    def __init__(self, ring_manager: hash_ring.HashRingManager,
                 on_change=None):
        self.ring_manager = ring_manager
        self.on_change = on_change

    def conductor_joined(self, context, hostname: str) -> None:
        LOG.info('Conductor %s joined; reloading the hash rings', hostname)
        self._changed()

    def conductor_left(self, context, hostname: str) -> None:
        LOG.info('Conductor %s left; reloading the hash rings', hostname)
        self._changed()

    def ping(self, context) -> None:
        """Sent to check that the broker takes messages; nothing to do."""

    def _changed(self) -> None:
        self.ring_manager.reset()
        if self.on_change is not None:
            self.on_change()


def start_listener(ring_manager: hash_ring.HashRingManager,
                   on_change=None, background: bool = False):
    """Listen for announcements; the RPC server, to ``stop()`` and
    ``wait()``.

    Starting waits for the message broker; with ``background`` it happens
    in a thread, for a process that must serve meanwhile.
    """
    server = rpc.get_server(
        messaging.Target(topic=TOPIC, server='%s-%s' % (
            socket.gethostname(), uuidutils.generate_uuid())),
        [MembershipEndpoint(ring_manager, on_change)])
    if background:
        threading.Thread(target=server.start, name='membership',
                         daemon=True).start()
    else:
        server.start()
    return server


def _to_everyone() -> messaging.RPCClient:
    return rpc.get_client(messaging.Target(topic=TOPIC, fanout=True,
                                           version='1.0'))


def _cast(method: str, **kwargs) -> None:
    # Without the broker the announcement is lost, never waited for: the
    # others notice the change at their next reload anyway.
    _to_everyone().prepare(retry=1).cast(
        ironic_context.get_admin_context(), method, **kwargs)


def announce_join(hostname: str) -> None:
    _announce('conductor_joined', hostname)


def announce_leave(hostname: str) -> None:
    _announce('conductor_left', hostname)


def _announce(method: str, hostname: str) -> None:
    try:
        _cast(method, hostname=hostname)
    except rpc.TRANSPORT_ERRORS as e:
        LOG.warning('Could not announce %s of conductor %s: %s', method,
                    hostname, e)


def check_broker(context) -> None:
    """Raise ServiceUnavailable unless the message broker takes a message
    right now, without waiting for it to come back."""
    try:
        _to_everyone().prepare(retry=0).cast(context, 'ping')
    except rpc.TRANSPORT_ERRORS as e:
        raise exception.ServiceUnavailable(service='The message broker',
                                           reason=e)
