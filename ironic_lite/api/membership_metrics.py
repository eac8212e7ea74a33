"""``ironic_lite_ring_membership_changes_total``: the membership events
recorded so far (see ``common/conductor_events.py``), by kind.

Read from ``conductor_event_totals`` at scrape time: the totals count every
event ever recorded by any conductor, pruned ones too, so the value only
grows, as a Prometheus counter must, and every API process reports the
same.
"""

from collections.abc import Iterator

from prometheus_client import core as prometheus_core
from prometheus_client import registry as prometheus_registry

from ironic_lite.common import conductor_events


class MembershipChangesCollector(prometheus_registry.Collector):

    def __init__(self, dbapi):
        self._dbapi = dbapi

    def collect(self) -> Iterator[prometheus_core.Metric]:
        changes = prometheus_core.CounterMetricFamily(
            'ironic_lite_ring_membership_changes',
            'Conductor membership changes recorded: joins, graceful '
            'leaves, missed heartbeats and rejoins.', labels=('kind',))
        totals = self._dbapi.get_conductor_event_totals()
        # Every kind, zero included: a rate over a series that appears
        # late misses its first change.
        for kind in conductor_events.KINDS:
            changes.add_metric((kind,), totals.get(kind, 0))
        yield changes
