"""Prometheus metrics of the API service (an ironic-lite extension).

Two kinds: the API's own requests, counted as they are answered, and the
conductors, read from the database when ``GET /metrics`` is scraped (no
background thread; one query for the conductors, one per alive
conductor for its nodes and one for the orphaned nodes).
"""

import datetime
import time
from collections.abc import Iterator

import prometheus_client
from prometheus_client import core as prometheus_core
from prometheus_client import registry as prometheus_registry

from ironic_lite.api import orphans
from ironic_lite.common import hash_ring
from ironic_lite.conf import CONF

PATH = '/metrics'

# The API's requests, for the life of the process: one registry shared by
# every app this process builds.
_REQUESTS = prometheus_client.CollectorRegistry(auto_describe=True)
_LABELS = ('method', 'route', 'status')
REQUESTS_TOTAL = prometheus_client.Counter(
    'ironic_lite_api_requests', 'API requests answered.', _LABELS,
    registry=_REQUESTS)
REQUEST_SECONDS = prometheus_client.Histogram(
    'ironic_lite_api_request_duration_seconds',
    'Time the API took to answer a request.', _LABELS, registry=_REQUESTS)

# Path segments that name a collection, with what the next segment (an
# item of it) is called in a route template.
_ITEM_AFTER = {
    'nodes': '{node_ident}', 'ports': '{port_uuid}',
    'conductors': '{hostname}', 'drivers': '{driver_name}',
    'portgroups': '{portgroup_ident}', 'vifs': '{vif_id}',
    'traits': '{trait}',
}
# Other segments of the API's paths. Any other segment where no item is
# expected makes the route UNMATCHED: labels stay few, whatever clients
# send.
_LITERALS = frozenset(_ITEM_AFTER) | {
    'v1', 'metrics', 'detail', 'states', 'power', 'provision', 'raid',
    'console', 'boot_device', 'supported', 'management', 'validate',
    'maintenance', 'properties', 'conductor', 'boot_mode', 'secure_boot',
    'indicators', 'inventory', 'history', 'bios', 'children',
    'conductor_events', 'events'}
# Collection segments followed by one of these name no item.
_NOT_ITEMS = frozenset({'detail', 'validate'})
UNMATCHED = 'unmatched'

# The segments of the redundancy extensions (conductor groups, impact).
_LITERALS |= {'conductor_groups', 'impact'}

def route_template(path: str) -> str:
    """The route ``path`` takes, items replaced by their names:
    ``/v1/nodes/n1/states`` is ``/v1/nodes/{node_ident}/states``;
    :data:`UNMATCHED` for a path the API has no route for."""
    template = []
    item = None
    for segment in (part for part in path.split('/') if part):
        if item is not None and segment not in _NOT_ITEMS:
            template.append(item)
            item = None
            continue
        if segment not in _LITERALS:
            return UNMATCHED
        template.append(segment)
        item = _ITEM_AFTER.get(segment)
    return '/' + '/'.join(template)


class RequestMetrics:
    """WSGI middleware counting and timing every request the API answers,
    by method, route template and status."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        started = time.monotonic()
        answered = []

        def start(status, headers, exc_info=None):
            answered.append(status.split(' ', 1)[0])
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            labels = (environ.get('REQUEST_METHOD', ''),
                      route_template(environ.get('PATH_INFO', '')),
                      answered[-1] if answered else '500')
            total, seconds = _series(labels)
            total.inc()
            seconds.observe(time.monotonic() - started)


# The series of each set of labels, looked up once: prometheus_client
# checks the labels and takes a lock on every ``labels()``.
_SERIES: dict[tuple[str, str, str], tuple] = {}


def _series(labels: tuple[str, str, str]) -> tuple:
    series = _SERIES.get(labels)
    if series is None:
        series = _SERIES[labels] = (REQUESTS_TOTAL.labels(*labels),
                                    REQUEST_SECONDS.labels(*labels))
    return series


class ConductorCollector(prometheus_registry.Collector):
    """The conductors as the API shows them, read at scrape time."""

    def __init__(self, dbapi, rings: hash_ring.Rings, alive_of, now):
        self._dbapi = dbapi
        self._rings = rings
        self._alive_of = alive_of
        self._now = now

    def collect(self) -> Iterator[prometheus_core.Metric]:
        up = prometheus_core.GaugeMetricFamily(
            'ironic_lite_conductor_up',
            'Whether the conductor is alive (1) or not (0), as the API\'s '
            '"alive" says.', labels=('hostname', 'group'))
        heartbeat = prometheus_core.GaugeMetricFamily(
            'ironic_lite_conductor_last_heartbeat_timestamp_seconds',
            'When the conductor last beat, in seconds since the epoch.',
            labels=('hostname', 'group'))
        nodes = prometheus_core.GaugeMetricFamily(
            'ironic_lite_conductor_nodes',
            'Nodes the conductor serves, per provision state.',
            labels=('hostname', 'provision_state'))
        for row in self._dbapi.get_conductor_list():
            labels = (row.hostname, row.conductor_group)
            up.add_metric(labels, 1 if self._alive_of(row, self._now) else 0)
            if row.updated_at is not None:
                heartbeat.add_metric(labels, row.updated_at.replace(
                    tzinfo=datetime.timezone.utc).timestamp())
            arcs = self._rings.arcs_of(row.hostname)
            if not arcs:
                continue
            counts = self._dbapi.count_nodes_by_provision_state(
                {'ring_arcs': arcs})
            for state, count in sorted(counts.items(), key=str):
                nodes.add_metric((row.hostname, str(state)), count)
        yield up
        yield heartbeat
        yield nodes
        yield orphans.metric(self._dbapi, self._rings)


def public_paths() -> frozenset[str]:
    """Paths served without authentication: :data:`PATH` when
    ``[api]metrics_public`` says so. An authenticating middleware leaves
    these alone; the API's policy still applies to the others."""
    return frozenset({PATH}) if CONF.api.metrics_public else frozenset()


def exposition(conductors: ConductorCollector,
               *more: prometheus_registry.Collector) -> tuple[bytes, str]:
    """The text a scrape gets, and its content type: the requests so
    far, the conductors now, and ``more``."""
    registry = prometheus_client.CollectorRegistry(auto_describe=False)
    registry.register(_REQUESTS)
    registry.register(conductors)
    for collector in more:
        registry.register(collector)
    return (prometheus_client.generate_latest(registry),
            prometheus_client.CONTENT_TYPE_LATEST)
