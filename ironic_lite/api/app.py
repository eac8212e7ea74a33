"""The WSGI application of the API service."""

import pecan

from ironic_lite.api import hooks
from ironic_lite.api import metrics
from ironic_lite.api.controllers import root
from ironic_lite.api.middleware import parsable_error


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
    return metrics.RequestMetrics(
        parsable_error.ParsableErrorMiddleware(app))
