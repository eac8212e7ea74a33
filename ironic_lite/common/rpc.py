"""oslo.messaging plumbing: one transport per process, contexts on the
wire, and ironic-lite exceptions that keep their class across RPC."""

import kombu.exceptions
import oslo_messaging as messaging

from ironic_lite.common import context
from ironic_lite.common import exception
from ironic_lite.conf import CONF

TOPIC = 'ironic-lite.conductor_manager'
ALLOWED_EXMODS = [exception.__name__]

# What a transport raises when the broker cannot be reached. The rabbit
# driver lets kombu's connection errors through unwrapped.
TRANSPORT_ERRORS = (messaging.MessageDeliveryFailure, OSError,
                    kombu.exceptions.OperationalError)

_TRANSPORT = None
# Why this process makes no RPC calls, if it makes none.
_REFUSAL = None


class ContextSerializer(messaging.Serializer):
    """Entities are plain JSON values; the request context travels as a
    dict."""

    def serialize_entity(self, ctxt, entity):
        return entity

    def deserialize_entity(self, ctxt, entity):
        return entity

    def serialize_context(self, ctxt):
        return ctxt.to_dict()

    def deserialize_context(self, ctxt):
        return context.RequestContext.from_dict(ctxt)


def init(url: str | None = None) -> None:
    """Open the transport: ``url``, else ``[DEFAULT]transport_url``."""
    global _TRANSPORT
    if _TRANSPORT is None:
        from ironic_lite.common import inproc_rpc
        make = messaging.get_rpc_transport
        if inproc_rpc.is_inproc(CONF, url):
            make = inproc_rpc.get_rpc_transport
        _TRANSPORT = make(CONF, url=url,
                          allowed_remote_exmods=ALLOWED_EXMODS)


def cleanup() -> None:
    """Close the transport; the next ``init()`` opens a new one."""
    global _TRANSPORT
    if _TRANSPORT is not None:
        _TRANSPORT.cleanup()
        _TRANSPORT = None


def refuse_calls(reason: str) -> None:
    """From now on every call to a conductor from this process fails at
    once with 503, saying ``reason``."""
    global _REFUSAL
    _REFUSAL = reason


def check_allowed() -> None:
    """Raise ServiceUnavailable if this process makes no RPC calls."""
    if _REFUSAL is not None:
        raise exception.ServiceUnavailable(service='The conductor',
                                           reason=_REFUSAL)


def transport():
    check_allowed()
    if _TRANSPORT is None:
        raise RuntimeError('ironic_lite.common.rpc.init() was not called')
    return _TRANSPORT


def get_client(target: messaging.Target) -> messaging.RPCClient:
    return messaging.get_rpc_client(transport(), target,
                                    serializer=ContextSerializer())


def get_server(target: messaging.Target, endpoints: list):
    return messaging.get_rpc_server(transport(), target, endpoints,
                                    executor='threading',
                                    serializer=ContextSerializer())
