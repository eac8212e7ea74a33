"""etc/grafana/ironic-lite-conductors.json is a Grafana dashboard whose
every query names only metrics the API's GET /metrics really exposes.

The names come from a live scrape of the unit test application, with data
behind every family (a node, a stopped conductor, a request answered), so
that a metric renamed or removed in the code fails here.
"""

import json
import os
import re

from prometheus_client import parser

from ironic_lite.api import metrics
from ironic_lite.common import hash_ring
from tests import base as tests_base
from tests.unit.api import base
from tests.unit.common import test_hash_ring as ring_tests

DASHBOARD = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))),
    'etc', 'grafana', 'ironic-lite-conductors.json')

# PromQL words that are not metric names.
_KEYWORDS = frozenset({'and', 'or', 'unless', 'bool', 'offset', 'by',
                       'without', 'on', 'ignoring', 'group_left',
                       'group_right', 'inf', 'nan'})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_GROUPING = re.compile(
    r'\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)')
_IDENTIFIER = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are
    neither functions, keywords, label names (in ``{}`` or a grouping),
    durations nor Grafana variables."""
    text = _STRING.sub('""', expr)
    text = re.sub(r'\{[^}]*\}', '', text)
    text = re.sub(r'\[[^\]]*\]', '', text)
    text = _GROUPING.sub('', text)
    text = re.sub(r'\$\{?\w+\}?', '', text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        following = text[match.end():].lstrip()
        if following.startswith('('):
            continue  # a function
        if match.start() and (text[match.start() - 1].isdigit()
                              or text[match.start() - 1] == '.'):
            continue  # the exponent or unit of a number
        if match.group().lower() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def load_dashboard() -> dict:
    with open(DASHBOARD) as f:
        return json.load(f)


def queries(dashboard: dict) -> list[str]:
    return [target['expr'] for panel in dashboard['panels']
            for target in panel.get('targets', [])]


class TestPromQLNames(tests_base.TestCase):
    """The parser of this test, on the expressions it must understand."""

    def test_metric_names(self):
        for expr, names in (
                ('sum by (group) (ironic_lite_conductor_up)',
                 {'ironic_lite_conductor_up'}),
                ('time() - ironic_lite_conductor_last_heartbeat_'
                 'timestamp_seconds{group="rack 2"}',
                 {'ironic_lite_conductor_last_heartbeat_timestamp_seconds'}),
                ('histogram_quantile(0.95, sum by (le, route) (rate('
                 'a_bucket{route=~"/v1/.*"}[$__rate_interval])))',
                 {'a_bucket'}),
                ('a / on (hostname) group_left (group) b > 1e3 or '
                 'c offset 5m', {'a', 'b', 'c'}),
                ('sum without (instance) (rate(x_total[5m]))', {'x_total'})):
            self.assertEqual(names, metric_names(expr), expr)


class TestDashboard(base.APITestCase):

    def exposed(self) -> set[str]:
        """Every sample name a scrape of this application gives, with data
        behind each family."""
        self.create_node(name='n1')
        ring_tests.register_conductor(self.dbapi, 'stopped')
        self.dbapi.unregister_conductor('stopped')
        hash_ring.get_manager().reset()
        self.get('/v1/nodes')
        text = self.app.get(metrics.PATH).text
        return {sample.name
                for family in parser.text_string_to_metric_families(text)
                for sample in family.samples}

    def test_every_query_names_exported_metrics(self):
        exposed = self.exposed()
        dashboard = load_dashboard()
        used = set()
        for expr in queries(dashboard):
            names = metric_names(expr)
            self.assertTrue(names, expr)
            used |= names
        self.assertEqual(set(), used - exposed)
        # The expected families are all shown.
        for name in ('ironic_lite_conductor_up',
                     'ironic_lite_conductor_last_heartbeat_timestamp_seconds',
                     'ironic_lite_conductor_nodes',
                     'ironic_lite_orphaned_nodes',
                     'ironic_lite_ring_membership_changes_total',
                     'ironic_lite_api_request_duration_seconds_bucket'):
            self.assertIn(name, used)

    def test_grafana_model(self):
        dashboard = load_dashboard()
        self.assertEqual('ironic-lite-conductors', dashboard['uid'])
        self.assertIsNone(dashboard['id'])
        self.assertIsInstance(dashboard['schemaVersion'], int)
        (variable,) = dashboard['templating']['list']
        self.assertEqual(('datasource', 'datasource', 'prometheus'),
                         (variable['name'], variable['type'],
                          variable['query']))
        ids = [panel['id'] for panel in dashboard['panels']]
        self.assertEqual(len(ids), len(set(ids)))
        for panel in dashboard['panels']:
            self.assertTrue(panel['title'])
            self.assertEqual({'h', 'w', 'x', 'y'}, set(panel['gridPos']))
            self.assertLessEqual(panel['gridPos']['x']
                                 + panel['gridPos']['w'], 24)
            self.assertEqual({'type': 'prometheus', 'uid': '${datasource}'},
                             panel['datasource'])
            ref_ids = [target['refId'] for target in panel['targets']]
            self.assertTrue(ref_ids, panel['title'])
            self.assertEqual(len(ref_ids), len(set(ref_ids)))
            for target in panel['targets']:
                self.assertEqual(panel['datasource'], target['datasource'])
        self.assertTrue(any('histogram_quantile(' in expr
                            for expr in queries(dashboard)))
