"""GET /: the API versions this service offers."""

import pecan
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api.controllers import metrics
from ironic_lite.api.controllers import root_documents
from ironic_lite.api.controllers import v1
from ironic_lite.api.controllers.v1 import types


class RootController(rest.RestController):

    v1 = v1.V1Controller()
    metrics = metrics.MetricsController()

    @pecan.expose()
    def _route(self, args, request=None):
        # Paths without a version are v1 paths: the bookmark links.
        if args and args[0] and args[0] not in ('v1', 'metrics'):
            args = ['v1'] + list(args)
        return super()._route(args, request)

    @expose.expose(types.jsontype)
    def get(self):
        version = root_documents.version_v1(pecan.request)
        return {
            'name': 'OpenStack Ironic API',
            'description': 'Ironic is an OpenStack project which aims to '
                           'provision baremetal machines.',
            'versions': [version],
            'default_version': version,
        }
