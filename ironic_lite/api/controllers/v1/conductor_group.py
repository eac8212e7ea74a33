"""GET /v1/conductor_groups: the redundancy of each conductor group (an
ironic-lite extension).

A group is every ``conductor_group`` a conductor or a node names, so that a
group whose nodes have lost every conductor is still listed. Counts come
from the same hash rings as every node's ``conductor``: alive conductors
per hardware type, the nodes each conductor serves and the orphans.
"""

import pecan
from oslo_utils import timeutils
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api import policy
from ironic_lite.api import rings
from ironic_lite.api import versions
from ironic_lite.api.controllers.v1 import conductor as conductor_api
from ironic_lite.api.controllers.v1 import routing
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception

# Fewer alive conductors than this for a hardware type its nodes use makes
# a group degraded: one more failure and those nodes are orphans.
REDUNDANT_CONDUCTORS = 2


def _degraded_reasons(hardware_types: dict[str, dict]) -> list[str]:
    reasons = []
    for driver, summary in sorted(hardware_types.items()):
        alive = len(summary['alive_conductors'])
        if summary['node_count'] and alive < REDUNDANT_CONDUCTORS:
            reasons.append(
                '%d alive conductor%s for hardware type %s, which %d '
                'node%s use%s' % (
                    alive, '' if alive == 1 else 's', driver,
                    summary['node_count'],
                    '' if summary['node_count'] == 1 else 's',
                    's' if summary['node_count'] == 1 else ''))
    return reasons


def _group(request, name: str, conductors: list, nodes: dict[str, int],
           ring_hosts: dict[str, frozenset[str]], now) -> dict:
    """One group: ``nodes`` per hardware type, ``ring_hosts`` the alive
    conductors per hardware type."""
    served = rings.rings_for(request)
    hardware_types = {}
    for driver in sorted(set(nodes) | set(ring_hosts)):
        hosts = ring_hosts.get(driver, frozenset())
        count = nodes.get(driver, 0)
        hardware_types[driver] = {
            'alive_conductors': sorted(hosts),
            'node_count': count,
            'orphaned_node_count': 0 if hosts else count,
        }
    listed = []
    for row in sorted(conductors, key=lambda row: row.hostname):
        arcs = served.arcs_of(row.hostname)
        listed.append({
            'hostname': row.hostname,
            'alive': conductor_api.is_alive(row, now),
            'node_count': (request.dbapi.count_nodes({'ring_arcs': arcs})
                           if arcs else 0),
        })
    reasons = _degraded_reasons(hardware_types)
    return {
        'name': name,
        'node_count': sum(nodes.values()),
        'orphaned_node_count': sum(summary['orphaned_node_count']
                                   for summary in hardware_types.values()),
        'degraded': bool(reasons),
        'degraded_reason': '; '.join(reasons) or None,
        'hardware_types': hardware_types,
        'conductors': listed,
    }


def summarise(request) -> list[dict]:
    """Every group, by name."""
    served = rings.rings_for(request)
    now = timeutils.utcnow()
    conductors: dict[str, list] = {}
    for row in request.dbapi.get_conductor_list():
        conductors.setdefault(row.conductor_group, []).append(row)
    nodes: dict[str, dict[str, int]] = {}
    for (group, driver), count in request.dbapi.count_nodes_by_ring_key(
            ).items():
        nodes.setdefault(group, {})[driver] = count
    ring_hosts: dict[str, dict[str, frozenset[str]]] = {}
    for (group, driver), ring in served.rings.items():
        ring_hosts.setdefault(group, {})[driver] = ring.hosts
    return [_group(request, name, conductors.get(name, []),
                   nodes.get(name, {}), ring_hosts.get(name, {}), now)
            for name in sorted(set(conductors) | set(nodes))]


class ConductorGroupsController(rest.RestController):
    """GET /v1/conductor_groups."""

    @pecan.expose()
    def _route(self, args, request=None):
        routing.refuse_extra_segments(args, 0)
        return super()._route(args, request)

    @expose.expose(types.jsontype)
    def get_all(self):
        request = pecan.request
        policy.authorize('baremetal:conductor_group:get', request.context)
        if not versions.allows(request, versions.Minor.CONDUCTORS):
            raise exception.NotFound()
        return {'conductor_groups': summarise(request)}
