"""The WSGI application of the API service."""

import re

import pecan
from oslo_context import context as oslo_context
from oslo_middleware import request_id
from webob import response as webob_response

from ironic_lite.api import auth
from ironic_lite.api import hooks
from ironic_lite.api import hot_reads
from ironic_lite.api import metrics
from ironic_lite.api.controllers import root
from ironic_lite.api.middleware import parsable_error


class RequestId:
    """A request id for every answer, refusals of the authentication
    middleware included, under Ironic's header name as well.

    oslo.middleware's ``RequestId`` (with ``compat_headers``) as plain
    WSGI: the same environ keys, the same inbound global request id
    accepted only in its canonical form, the same headers added when the
    answer has none; and what its webob response did on the way out (a
    relative ``Location`` made absolute, no body for HEAD). Without webob's
    request and response objects it costs microseconds, not a tenth of a
    millisecond, on every request.
    """

    # Lowercase as oslo.middleware adds it; Ironic's name as given.
    RESPONSE_HEADERS = (request_id.HTTP_RESP_HEADER_REQUEST_ID,
                        'Openstack-Request-Id')
    _GLOBAL_ID = re.compile(request_id.ID_FORMAT)

    def __init__(self, application):
        # oslo.middleware's name for it.
        self.application = application

    def __call__(self, environ, start_response):
        global_id = environ.get('HTTP_X_OPENSTACK_REQUEST_ID', '')
        if self._GLOBAL_ID.match(global_id):
            environ[request_id.GLOBAL_REQ_ID] = global_id
        req_id = oslo_context.generate_request_id()
        environ[request_id.ENV_REQUEST_ID] = req_id

        captured = []
        output = []

        def capture(status, headers, exc_info=None):
            if exc_info is not None:
                raise exc_info[1].with_traceback(exc_info[2])
            captured[:] = [status, headers]
            return output.append

        chunks = self.application(environ, capture)
        if output or not captured:
            # An application that wrote, or started late (as webob did).
            try:
                output.extend(chunks)
            finally:
                if hasattr(chunks, 'close'):
                    chunks.close()
            chunks = output
        status, headers = captured
        present = {name.lower() for name, _ in headers}
        if 'location' in present:
            # webob's own rewriting (relative and protocol-relative URLs),
            # rare enough to afford its response object.
            headers = webob_response.Response(
                status=status, headerlist=list(headers),
                app_iter=chunks)._abs_headerlist(environ)
        headers += [(name, req_id) for name in self.RESPONSE_HEADERS
                    if name.lower() not in present]
        start_response(status, headers)
        if environ['REQUEST_METHOD'] == 'HEAD':
            return webob_response.EmptyResponse(chunks)
        return chunks


def setup_app(hot: bool = True):
    """The API as a WSGI callable, configured from CONF.

    ``hot``: the most frequent reads answered by :mod:`hot_reads`, not
    pecan (off only for the tests comparing both).
    """
    app = pecan.make_app(
        root.RootController(),
        # Hooks run in this order before the controller and in the reverse
        # order after it: the context is current for all the others.
        hooks=[hooks.ContextHook(), hooks.BodyHook(), hooks.ServicesHook(),
               hooks.VersionHeadersHook(), hooks.ClientErrorLogHook(),
               hooks.ErrorHook()],
        force_canonical=False,
        guess_content_type_from_ext=False,
    )
    if hot:
        # Just outside pecan: behind authentication (it reads the identity
        # auth_token sets) and the error wrapping (its own answers are
        # never errors).
        app = hot_reads.HotReads(app)
    app = parsable_error.ParsableErrorMiddleware(app)
    # As in Ironic, authentication answers outside the error wrapping: its
    # refusals carry the middleware's own {"error": {...}} body.
    app = auth.wrap(app, public=tuple(metrics.public_paths()))
    # Outside authentication, so that its refusals are counted too.
    app = metrics.RequestMetrics(app)
    return RequestId(app)
