"""The v1 API: version negotiation and the resources under /v1."""

import pecan
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api import hooks
from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers import root_documents
from ironic_lite.api.controllers.v1 import conductor
from ironic_lite.api.controllers.v1 import conductor_event
from ironic_lite.api.controllers.v1 import conductor_group
from ironic_lite.api.controllers.v1 import driver
from ironic_lite.api.controllers.v1 import node
from ironic_lite.api.controllers.v1 import port
from ironic_lite.api.controllers.v1 import types

MEDIA_TYPES = [{'base': 'application/json',
                'type': 'application/vnd.openstack.ironic.v1+json'}]
_DOCS = 'https://docs.openstack.org//ironic/latest/contributor//webapi.html'


class V1Controller(rest.RestController):
    """GET /v1, and the resources below it."""

    nodes = node.NodesController()
    conductors = conductor.ConductorsController()
    conductor_events = conductor_event.ConductorEventsController()
    conductor_groups = conductor_group.ConductorGroupsController()
    ports = port.PortsController()
    drivers = driver.DriversController()

    @pecan.expose()
    def _route(self, args, request=None):
        request = request or pecan.request
        request.environ[hooks.V1_ENVIRON_KEY] = True
        request.version = versions.parse(request.headers)
        return super()._route(args, request)

    @expose.expose(types.jsontype)
    def get(self):
        request = pecan.request
        document = {
            'id': 'v1',
            'links': [
                {'href': link.public_url(request) + '/v1/', 'rel': 'self'},
                {'href': _DOCS, 'rel': 'describedby', 'type': 'text/html'},
            ],
            'media_types': MEDIA_TYPES,
            'nodes': _resource_links(request, 'nodes'),
            'ports': _resource_links(request, 'ports'),
            'drivers': _resource_links(request, 'drivers'),
        }
        if versions.allows(request, versions.Minor.CONDUCTORS):
            document['conductors'] = _resource_links(request, 'conductors')
        document['version'] = root_documents.version_v1(request)
        return document


def _resource_links(request, resource: str) -> list[dict]:
    base = link.public_url(request)
    return [{'href': '%s/v1/%s/' % (base, resource), 'rel': 'self'},
            {'href': '%s/%s/' % (base, resource), 'rel': 'bookmark'}]
