"""Orphaned nodes: nodes no alive conductor can take, because no alive
conductor of their group enables their hardware type (an ironic-lite
extension).

A node is an orphan exactly when the hash rings have no ring for its
``(conductor_group, driver)``, which is also when the API shows its
``conductor`` as null. Rings are few (groups times hardware types), so
"orphaned" is decided per ring and left to the database as a condition on
those two columns, never node by node.
"""

from prometheus_client import core as prometheus_core

from ironic_lite.common import hash_ring

RingKey = hash_ring.RingKey


def node_filters(rings: hash_ring.Rings, orphaned: bool) -> dict:
    """The node list filters selecting the orphans (or the others)."""
    served = frozenset(rings.rings)
    return {'ring_keys_not_in' if orphaned else 'ring_keys_in': served}


def is_served(rings: hash_ring.Rings, key: RingKey) -> bool:
    return key in rings.rings


def counts(dbapi, rings: hash_ring.Rings) -> dict[RingKey, int]:
    """Every ``(conductor_group, driver)`` that has nodes, with how many of
    them are orphans (0 where a ring serves them); one query."""
    return {key: 0 if is_served(rings, key) else count
            for key, count in dbapi.count_nodes_by_ring_key().items()}


def metric(dbapi, rings: hash_ring.Rings) -> prometheus_core.Metric:
    """``ironic_lite_orphaned_nodes{group,driver}``: one sample for every
    pair that has nodes, 0 included, so that an alert has a series to
    watch before the first orphan."""
    family = prometheus_core.GaugeMetricFamily(
        'ironic_lite_orphaned_nodes',
        'Nodes no alive conductor can take: no alive conductor of their '
        'group enables their hardware type.', labels=('group', 'driver'))
    for (group, driver), count in sorted(counts(dbapi, rings).items()):
        family.add_metric((group, driver), count)
    return family
