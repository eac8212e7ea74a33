"""The request context: who is asking, carried from the API over RPC."""

from oslo_context import context
from oslo_utils import uuidutils


class RequestContext(context.RequestContext):
    """The caller's identity and rights, for policy checks and logs."""

    def to_policy_values(self):
        values = super().to_policy_values()
        values['is_admin_project'] = self.is_admin_project
        values['is_admin'] = self.is_admin
        return values


def get_admin_context() -> RequestContext:
    """A context for work the service does on its own behalf."""
    return RequestContext(is_admin=True, overwrite=False)


def clear_current() -> None:
    """Forget this thread's current context (oslo.context has no public
    way): log lines written between requests must not carry the last
    request's id."""
    context._request_store.__dict__.pop('context', None)


def new_request_id() -> str:
    """A request id as OpenStack services write them."""
    return 'req-' + uuidutils.generate_uuid()
