"""GET /metrics: Prometheus' text format, the same values as the API."""

import datetime
import os
import re

import yaml
from prometheus_client import parser

from ironic_lite.api import metrics
from ironic_lite.common import hash_ring
from ironic_lite.common import states
from tests.unit.api import base
from tests.unit.api import test_conductor_health as health_tests
from tests.unit.common import test_hash_ring as ring_tests

OPENAPI = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))), 'api-ref', 'source', 'openapi.yaml')


class MetricsTestCase(base.APITestCase):

    def scrape(self, status=200) -> dict:
        """{(name, frozenset(labels)): value} of every sample."""
        response = self.app.get(metrics.PATH, status=status)
        self.assertTrue(response.content_type.startswith('text/plain'))
        return {(sample.name, frozenset(sample.labels.items())): sample.value
                for family in parser.text_string_to_metric_families(
                    response.text)
                for sample in family.samples}


class TestConductorMetrics(MetricsTestCase):

    def test_values_equal_the_apis(self):
        self.config(heartbeat_timeout=10, group='conductor')
        health_tests.create_nodes(self, 9, 3, states.MANAGEABLE)
        ring_tests.register_conductor(self.dbapi, 'rack2-b', 'rack2')
        ring_tests.register_conductor(self.dbapi, 'peer', '',
                                      hardware_types=('fake-hardware',))
        ring_tests.register_conductor(self.dbapi, 'silent',
                                      heartbeat_age=30)
        ring_tests.register_conductor(self.dbapi, 'stopped')
        self.dbapi.unregister_conductor('stopped')
        hash_ring.get_manager().reset()

        samples = self.scrape()
        listed = self.get('/v1/conductors').json['conductors']
        self.assertEqual(5, len(listed))
        nodes_total = 0
        for item in listed:
            shown = self.get('/v1/conductors/%s' % item['hostname']).json
            labels = frozenset({'hostname': shown['hostname'],
                                'group': shown['conductor_group']}.items())
            self.assertEqual(1 if shown['alive'] else 0,
                             samples['ironic_lite_conductor_up', labels])
            last_seen = datetime.datetime.fromisoformat(shown['last_seen'])
            self.assertAlmostEqual(
                last_seen.timestamp(),
                samples['ironic_lite_conductor_last_heartbeat_timestamp_'
                        'seconds', labels], places=3)
            counted = {
                dict(labels)['provision_state']: value
                for (name, labels), value in samples.items()
                if name == 'ironic_lite_conductor_nodes'
                and dict(labels)['hostname'] == shown['hostname']}
            self.assertEqual(shown['node_count_by_provision_state'],
                             counted)
            nodes_total += sum(counted.values())
        self.assertEqual(9, nodes_total)


class TestRequestMetrics(MetricsTestCase):

    def count(self, samples, method, route, status,
              name='ironic_lite_api_requests_total'):
        return samples.get((name, frozenset({
            'method': method, 'route': route, 'status': status}.items())), 0)

    def test_counted_by_route_template(self):
        self.create_node(name='n1')
        before = self.scrape()
        self.get('/v1/nodes/n1')
        self.get('/v1/nodes/n1/states')
        self.get('/v1/nodes/nope', status=404)
        self.get('/v1/no/such/thing', status=404)
        after = self.scrape()
        for route, status, delta in (
                ('/v1/nodes/{node_ident}', '200', 1),
                ('/v1/nodes/{node_ident}/states', '200', 1),
                ('/v1/nodes/{node_ident}', '404', 1),
                (metrics.UNMATCHED, '404', 1)):
            for name in ('ironic_lite_api_requests_total',
                         'ironic_lite_api_request_duration_seconds_count'):
                self.assertEqual(
                    delta, self.count(after, 'GET', route, status, name)
                    - self.count(before, 'GET', route, status, name),
                    (name, route, status))
        for labels in after:
            self.assertNotIn(('route', '/v1/nodes/n1'), labels[1])

    def test_route_templates(self):
        for path, template in (
                ('/', '/'), ('/v1', '/v1'), ('/v1/', '/v1'),
                ('/v1/nodes/detail', '/v1/nodes/detail'),
                ('/v1/nodes/validate', '/v1/nodes/validate'),
                ('/v1/nodes/n1/vifs/abc', '/v1/nodes/{node_ident}/vifs/'
                                          '{vif_id}'),
                ('/nodes/n1', '/nodes/{node_ident}'),
                ('/v1/conductors/[::1]:8090',
                 '/v1/conductors/{hostname}'),
                ('/v1/nodes/n1/whatever', metrics.UNMATCHED),
                ('/etc/passwd', metrics.UNMATCHED)):
            self.assertEqual(template, metrics.route_template(path), path)

    def test_every_documented_route_is_its_own_template(self):
        with open(OPENAPI) as f:
            paths = yaml.safe_load(f)['paths']
        for path in paths:
            concrete = re.sub(r'\{[^}]+\}', 'x-1', path)
            self.assertEqual(path, metrics.route_template(concrete))


class TestAccess(MetricsTestCase):

    def deny(self):
        self.deny_rule('baremetal:metrics:get')

    def test_follows_the_api_policy_by_default(self):
        # Only Keystone callers are held to the policy (see test_policy's
        # matrix for a reader and an anonymous caller); under noauth every
        # caller is an administrator.
        self.assertEqual(frozenset(), metrics.public_paths())
        self.deny()
        self.scrape()

    def test_public(self):
        self.config(metrics_public=True, group='api')
        self.assertEqual(frozenset({'/metrics'}), metrics.public_paths())
        self.deny()
        self.scrape()

    def test_not_versioned_nor_a_bookmark(self):
        self.scrape()
        self.get('/v1/metrics', status=404)
        self.app.post('/metrics', status=405)
