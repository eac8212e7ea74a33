"""Pecan hooks: what every request gets before and after its controller."""

import json

from oslo_log import log
from oslo_middleware import request_id
from pecan import hooks
from webob import exc as webob_exc
from webob import response as webob_response

from ironic_lite.api import auth
from ironic_lite.api import expose
from ironic_lite.api import request_body
from ironic_lite.api import versions
from ironic_lite.common import context
from ironic_lite.common import exception
from ironic_lite.conductor import rpcapi
from ironic_lite.conf import CONF
from ironic_lite.db import api as db_api

LOG = log.getLogger(__name__)

V1_ENVIRON_KEY = 'ironic_lite.api.v1'


class ContextHook(hooks.PecanHook):
    """Who is asking, and the request id every response carries.

    The identity comes from the headers the authentication middleware set
    (``X-User-Id``, ``X-Roles``, ...; see :mod:`ironic_lite.api.auth`), the
    request id from the ``RequestId`` middleware. The context is the
    thread's current one while the request runs, so that every log line of
    the request carries its id, and is forgotten after it: a server thread
    serves one request after another.
    """

    def on_route(self, state):
        state.request.context = request_context(state.request.environ)

    def after(self, state):
        context_ = getattr(state.request, 'context', None)
        request_id = getattr(context_, 'request_id', None)
        if request_id:
            for name, value in request_id_headers(request_id):
                state.response.headers[name] = value
        context.clear_current()


def request_id_headers(request_id: str) -> list[tuple[str, str]]:
    """The headers naming the request, under both of Ironic's names."""
    return [('Openstack-Request-Id', request_id),
            ('X-OpenStack-Request-Id', request_id)]


def request_context(environ: dict) -> context.RequestContext:
    """The caller of the request ``environ``, made the thread's current
    context (see :class:`ContextHook`)."""
    keystone = CONF.auth_strategy == auth.KEYSTONE
    overrides = {}
    if not environ.get(request_id.ENV_REQUEST_ID):
        overrides['request_id'] = context.new_request_id()
    if not keystone:
        # Only a Keystone token means anything further in.
        overrides['auth_token'] = None
    # As in Ironic, only Keystone callers are held to the policy: with
    # noauth and http_basic every caller is an administrator.
    return context.RequestContext.from_environ(
        environ, is_admin=not keystone, overwrite=True, **overrides)


class BodyHook(hooks.PecanHook):
    """The request body, read before anything else can touch it (see
    :mod:`ironic_lite.api.request_body`)."""

    def on_route(self, state):
        request_body.take(state.request.environ,
                          CONF.api.max_request_body_size)


class ClientErrorLogHook(hooks.PecanHook):
    """One INFO line for each answer that blames the client, without a
    traceback: the operator sees what was refused, and why, without an
    ERROR for every typo."""

    def after(self, state):
        response = state.response
        if not 400 <= response.status_int < 500:
            return
        LOG.info('%s %s answered %s: %s', state.request.method,
                 state.request.path, response.status,
                 _faultstring(response))


class ServicesHook(hooks.PecanHook):
    """The database and the conductors, shared by every request."""

    def before(self, state):
        state.request.dbapi = db_api.get_instance()
        state.request.rpcapi = rpcapi.get_api()
        state.request.ring_manager = state.request.rpcapi.ring_manager


class VersionHeadersHook(hooks.PecanHook):
    """The microversion headers on every /v1 response, errors included."""

    def after(self, state):
        if not _is_v1(state.request):
            return
        minor = getattr(state.request, 'version', None)
        for name, value in versions.response_headers(minor):
            state.response.headers[name] = value


def _is_v1(request) -> bool:
    """Routed to V1Controller, or refused before routing (a body over the
    limit) on a path that would have been: every path but the root
    document's."""
    return bool(request.environ.get(V1_ENVIRON_KEY)
                or request.path_info.strip('/'))


def fault_body(message: str, server: bool = False) -> str:
    """The error document WSME produces, which Ironic's clients expect."""
    return json.dumps({'faultcode': 'Server' if server else 'Client',
                       'faultstring': message, 'debuginfo': None})


class ErrorHook(hooks.PecanHook):
    """Errors raised outside the controllers (routing, version checks) get
    the same body as errors raised inside them."""

    def on_error(self, state, error):
        if isinstance(error, webob_exc.HTTPException):
            code = error.code
            message = _webob_message(state.request, error)
        elif isinstance(error, exception.IronicLiteException):
            code, message = int(error.code), error.faultstring
        else:
            LOG.exception('Unexpected error handling %s %s',
                          state.request.method, state.request.path)
            code, message = 500, expose.InternalError().message
        return webob_response.Response(
            status=code, content_type='application/json', charset='utf-8',
            text=fault_body(message, server=code >= 500))


def _faultstring(response) -> str:
    try:
        return json.loads(response.body)['faultstring']
    except (ValueError, KeyError, TypeError, AttributeError):
        return ''


def _webob_message(request, error: webob_exc.HTTPException) -> str:
    if error.detail:
        return error.detail
    if error.code == 404:
        return 'The resource could not be found.'
    if error.code == 405:
        return ('The method %s is not allowed for this resource.'
                % request.method)
    return error.title
