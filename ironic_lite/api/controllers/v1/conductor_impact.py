"""GET /v1/conductors/{hostname}/impact: what would happen to the nodes of
a conductor if it stopped now (an ironic-lite extension).

Worked out from the hash rings this request answers with, without
touching anything (``common/ring_impact.py``): the rings a graceful stop
would leave are these rings without the host, so the answer is what the
``conductor`` of each node becomes once the conductor has left.
"""

import pecan
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api import policy
from ironic_lite.api import rings
from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import listing
from ironic_lite.api.controllers.v1 import routing
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception
from ironic_lite.common import ring_impact
from ironic_lite.conf import CONF

# What a listed node needs: where it is on its ring.
_NODE_COLUMNS = ('uuid', 'driver', 'conductor_group', 'ring_position')


def preview(request, hostname: str, marker: str | None,
            limit: int) -> dict:
    """The impact of stopping ``hostname``, one page of its nodes."""
    request.dbapi.get_conductor(hostname)  # ConductorNotFound: 404
    impact = ring_impact.of_stopping(
        rings.rings_for(request), hostname,
        2 ** CONF.hash_partition_exponent)
    moves = []
    for owner, arcs in impact.moves.items():
        count = request.dbapi.count_nodes({'ring_arcs': arcs})
        if count:
            moves.append({'hostname': owner, 'node_count': count})
    orphaned = (request.dbapi.count_nodes({'ring_arcs': impact.orphaned})
                if impact.orphaned else 0)
    marker_row = (request.dbapi.get_node_by_uuid(marker)
                  if marker is not None else None)
    rows = request.dbapi.get_node_list(
        {'ring_arcs': impact.served()}, limit=limit, marker=marker_row,
        columns=_NODE_COLUMNS, plain=True)
    result = {
        'hostname': hostname,
        'node_count': sum(move['node_count'] for move in moves) + orphaned,
        'moves': moves,
        'orphaned_node_count': orphaned,
        'nodes': [{'uuid': row.uuid, 'from': hostname,
                   'to': impact.new_owner(row.conductor_group, row.driver,
                                          row.uuid, row.ring_position)}
                  for row in rows],
        'links': link.self_and_bookmark(request, 'conductors', hostname,
                                        'impact'),
    }
    next_url = listing.next_url(request, 'conductors/%s/impact' % hostname,
                                [], rows, limit, lambda row: row.uuid)
    if next_url:
        result['next'] = next_url
    return result


class ConductorImpactController(rest.RestController):
    """GET /v1/conductors/{hostname}/impact."""

    def __init__(self, hostname: str):
        self.hostname = hostname

    @pecan.expose()
    def _route(self, args, request=None):
        routing.refuse_extra_segments(args, 0)
        return super()._route(args, request)

    @expose.expose(types.jsontype, types.uuid, types.text)
    def get(self, marker=None, limit=None):
        request = pecan.request
        policy.authorize('baremetal:conductor:get_impact', request.context)
        if not versions.allows(request, versions.Minor.CONDUCTORS):
            raise exception.NotFound()
        return preview(request, self.hostname, marker,
                       listing.limit_from(limit))
