"""Conductor health, list filters and /metrics (ironic-lite extensions)
against real API and conductor processes on PostgreSQL: one conductor
stops gracefully, one is killed, and the API, the stock CLI and the
Prometheus metrics all tell the same story."""

import signal

from prometheus_client import parser

from ironic_lite import version
from tests import base as tests_base
from tests import services
from tests.functional import base
from tests.functional import cluster as cluster_mod


class TestConductorHealth(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.cluster = self.start_cluster(services.POSTGRES_URL)
        self.cluster.start_api()
        self.url = self.cluster.api_url
        for name in ('a', 'b', 'c'):
            self.cluster.start_conductor(name, wait=False)
        for name in ('a', 'b', 'c'):
            self.cluster.wait_started(name)
        self.a, self.b, self.c = (self.cluster.hostname(name)
                                  for name in ('a', 'b', 'c'))

    def show(self, hostname: str) -> dict:
        response = self.cluster.get('/v1/conductors/%s' % hostname)
        self.assertEqual(200, response.status_code, response.text)
        return response.json()

    def hostnames(self, query: str) -> set[str]:
        response = self.cluster.get('/v1/conductors?' + query)
        self.assertEqual(200, response.status_code, response.text)
        return {c['hostname'] for c in response.json()['conductors']}

    def test_stopped_and_killed(self):
        for index in range(6):
            response = self.cluster.request(
                'POST', '/v1/nodes',
                json={'driver': 'fake-hardware', 'name': 'n%d' % index})
            self.assertEqual(201, response.status_code, response.text)

        shown = self.show(self.a)
        self.assertEqual('alive', shown['state'])
        self.assertEqual(version.version_string(), shown['version'])
        self.assertEqual(cluster_mod.HEARTBEAT_TIMEOUT,
                         shown['heartbeat_timeout'])

        self.cluster.stop('b')
        self.cluster.stop('c', signal.SIGKILL)
        tests_base.wait_for(
            lambda: self.show(self.c)['state'] == 'missed_heartbeat',
            timeout=cluster_mod.HEARTBEAT_TIMEOUT * 3,
            message='the killed conductor to miss its heartbeat')
        self.assertEqual('stopped', self.show(self.b)['state'])
        killed = self.show(self.c)
        self.assertGreater(killed['seconds_since_heartbeat'],
                           cluster_mod.HEARTBEAT_TIMEOUT)
        self.assertEqual({self.a}, self.hostnames('alive=true'))
        self.assertEqual({self.b, self.c}, self.hostnames('alive=false'))
        self.assertEqual(set(), self.hostnames('driver=ipmi&alive=true'
                                               '&conductor_group=rack9'))
        # Every node is the last alive conductor's now.
        tests_base.wait_for(lambda: self.show(self.a)['node_count'] == 6,
                            message='the nodes to move to %s' % self.a)
        self.assertEqual({'enroll': 6},
                         self.show(self.a)['node_count_by_provision_state'])

        # The stock CLI prints the extensions with no change.
        cli = self.cli_json('conductor', 'show', self.c)
        self.assertEqual('missed_heartbeat', cli['state'])
        self.assertEqual(version.version_string(), cli['version'])
        cli = self.cli_json('conductor', 'show', self.b, openstack=True)
        self.assertEqual('stopped', cli['state'])

        scrape = self.cluster.get('/metrics')
        self.assertEqual(200, scrape.status_code, scrape.text)
        samples = {(s.name, s.labels.get('hostname'),
                    s.labels.get('provision_state')): s.value
                   for family in parser.text_string_to_metric_families(
                       scrape.text) for s in family.samples}
        for hostname, up in ((self.a, 1), (self.b, 0), (self.c, 0)):
            self.assertEqual(up, samples['ironic_lite_conductor_up',
                                         hostname, None])
        self.assertEqual(6, samples['ironic_lite_conductor_nodes', self.a,
                                    'enroll'])
        requests = {(s.labels['method'], s.labels['route'],
                     s.labels['status']): s.value
                    for family in parser.text_string_to_metric_families(
                        scrape.text) for s in family.samples
                    if s.name == 'ironic_lite_api_requests_total'}
        self.assertEqual(6, requests['POST', '/v1/nodes', '201'])
        self.assertGreaterEqual(
            requests['GET', '/v1/conductors/{hostname}', '200'], 8)
