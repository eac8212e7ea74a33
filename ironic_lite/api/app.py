"""The WSGI application of the API service."""

import pecan
from oslo_middleware import request_id

from ironic_lite.api import auth
from ironic_lite.api import hooks
from ironic_lite.api import metrics
from ironic_lite.api.controllers import root
from ironic_lite.api.middleware import parsable_error


class RequestId(request_id.RequestId):
    """A request id for every answer, refusals of the authentication
    middleware included, under Ironic's header name as well."""

    compat_headers = ['Openstack-Request-Id']


def setup_app():
    """The API as a WSGI callable, configured from CONF."""
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
    app = parsable_error.ParsableErrorMiddleware(app)
    # As in Ironic, authentication answers outside the error wrapping: its
    # refusals carry the middleware's own {"error": {...}} body.
    app = auth.wrap(app, public=tuple(metrics.public_paths()))
    # Outside authentication, so that its refusals are counted too.
    app = metrics.RequestMetrics(app)
    return RequestId(app)
