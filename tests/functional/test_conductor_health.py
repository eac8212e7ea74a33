"""Conductor health, list filters, membership history, PXE health and
/metrics (ironic-lite extensions) against real API and conductor processes
on PostgreSQL: one conductor is killed, one stops gracefully, the killed one
comes back, and the API, the stock CLI and the Prometheus metrics all tell
the same story; the PXE environment of one breaks and recovers."""

import datetime
import os
import shutil
import signal
import time

from oslo_utils import timeutils
from prometheus_client import parser

from ironic_lite import version
from tests import base as tests_base
from tests import http_files
from tests import services
from tests.functional import base
from tests.functional import cluster as cluster_mod

PXE_INTERVAL = 1


class TestConductorHealth(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.cluster = self.start_cluster(services.POSTGRES_URL)
        self.cluster.start_api()
        self.url = self.cluster.api_url
        # a's PXE environment, complete: roots, deploy images, an HTTP
        # server of its http_root.
        pxe_of_a = self.cluster.state_path('a')
        self.tftp_root = os.path.join(pxe_of_a, 'tftpboot')
        http_root = os.path.join(pxe_of_a, 'httpboot')
        self.kernel = os.path.join(pxe_of_a, 'ipa.kernel')
        for directory in (self.tftp_root, http_root):
            os.makedirs(directory)
        for image in (self.kernel, os.path.join(pxe_of_a, 'ipa.initramfs')):
            with open(image, 'wb') as f:
                f.write(b'image')
        self.http = self.useFixture(http_files.FileServer(http_root))
        self.cluster.options['deploy'] = {'http_url': self.http.url}
        self.cluster.start_conductor(
            'a', wait=False, pxe_health_interval=PXE_INTERVAL,
            deploy_kernel=self.kernel,
            deploy_ramdisk=os.path.join(pxe_of_a, 'ipa.initramfs'))
        del self.cluster.options['deploy']
        for name in ('b', 'c'):
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

    def events(self, hostname: str) -> list[dict]:
        response = self.cluster.get('/v1/conductors/%s/events' % hostname)
        self.assertEqual(200, response.status_code, response.text)
        return response.json()['conductor_events']

    def kinds(self, hostname: str) -> list[str]:
        return [event['kind'] for event in self.events(hostname)]

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

        # Killed while two survivors may notice: one records it.
        self.cluster.stop('c', signal.SIGKILL)
        tests_base.wait_for(
            lambda: self.show(self.c)['state'] == 'missed_heartbeat',
            timeout=cluster_mod.HEARTBEAT_TIMEOUT * 3,
            message='the killed conductor to miss its heartbeat')
        tests_base.wait_for(
            lambda: 'missed_heartbeat' in self.kinds(self.c),
            timeout=cluster_mod.HEARTBEAT_INTERVAL * 5,
            message='the missed heartbeat of %s recorded' % self.c)
        # Both survivors beat twice more since: still one record.
        recorded = timeutils.parse_isotime(
            self.events(self.c)[-1]['created_at'])
        tests_base.wait_for(
            lambda: all(timeutils.parse_isotime(self.show(h)['last_seen'])
                        > recorded + datetime.timedelta(
                            seconds=2 * cluster_mod.HEARTBEAT_INTERVAL)
                        for h in (self.a, self.b)),
            message='two more heartbeats of the survivors')
        self.assertEqual(['join', 'missed_heartbeat'], self.kinds(self.c))
        self.cluster.stop('b')
        self.assertEqual('stopped', self.show(self.b)['state'])
        self.assertEqual(['join', 'leave'], self.kinds(self.b))
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
        changes = {s.labels['kind']: s.value
                   for family in parser.text_string_to_metric_families(
                       scrape.text) for s in family.samples
                   if s.name == 'ironic_lite_ring_membership_changes_total'}
        self.assertEqual({'join': 3, 'leave': 1, 'missed_heartbeat': 1,
                          'rejoin': 0}, changes)

        # The killed one comes back: a rejoin, after the rest, in order.
        self.cluster.start_conductor('c')
        events = self.events(self.c)
        self.assertEqual(['join', 'missed_heartbeat', 'rejoin'],
                         [event['kind'] for event in events])
        join, missed, rejoin = (
            {key: timeutils.parse_isotime(event[key]) if event[key] else None
             for key in ('created_at', 'last_heartbeat')}
            for event in events)
        self.assertLess(join['created_at'], missed['created_at'])
        self.assertLess(missed['created_at'], rejoin['created_at'])
        self.assertGreater(
            missed['created_at'] - missed['last_heartbeat'],
            datetime.timedelta(seconds=cluster_mod.HEARTBEAT_TIMEOUT))
        self.assertIn(events[1]['recorded_by'], (self.a, self.b))
        self.assertEqual(missed['last_heartbeat'], rejoin['last_heartbeat'])
        self.assertEqual('alive', self.show(self.c)['state'])
        everything = self.cluster.get(
            '/v1/conductor_events?kind=missed_heartbeat').json()
        self.assertEqual([self.c], [event['hostname'] for event in
                                    everything['conductor_events']])

        # The same cluster, rather than one more: a's PXE environment.
        self.check_pxe_health_breaks_and_recovers()

    def pxe_checks(self) -> dict:
        health = self.show(self.a)['pxe_health']
        return health and health['checks']

    def wait_for_pxe(self, statuses: dict[str, str], since: float) -> dict:
        """Wait (one probe interval, and the probe's time) for a's
        pxe_health checks to have ``statuses``; the checks."""
        checks = tests_base.wait_for(
            lambda: (lambda c: c if c and {name: c[name]['status']
                                           for name in statuses}
                     == statuses else None)(self.pxe_checks()),
            timeout=PXE_INTERVAL * 2 + 3,
            message=lambda: 'pxe_health to be %s, it is %s'
                            % (statuses, self.pxe_checks()))
        self.assertLess(time.monotonic() - since, PXE_INTERVAL * 2 + 3)
        return checks

    def check_pxe_health_breaks_and_recovers(self):
        every_check = ('tftp_root', 'http_root', 'deploy_kernel',
                       'deploy_ramdisk', 'http_url')
        self.wait_for_pxe({name: 'ok' for name in every_check},
                          time.monotonic())

        shutil.rmtree(self.tftp_root)
        os.unlink(self.kernel)
        self.http.stop()
        checks = self.wait_for_pxe(
            {'tftp_root': 'failed', 'http_root': 'ok',
             'deploy_kernel': 'failed', 'deploy_ramdisk': 'ok',
             'http_url': 'failed'}, time.monotonic())
        self.assertEqual('%s does not exist or is not a directory'
                         % self.tftp_root, checks['tftp_root']['error'])
        self.assertIn(self.kernel, checks['deploy_kernel']['error'])
        self.assertIn('GET %s/' % self.http.url, checks['http_url']['error'])
        self.assertIn('refused', checks['http_url']['error'])
        self.assertFalse(self.show(self.a)['pxe_health']['ok'])
        # The probe never holds the heartbeat up.
        self.assertEqual('alive', self.show(self.a)['state'])

        os.makedirs(self.tftp_root)
        with open(self.kernel, 'wb') as f:
            f.write(b'image')
        self.http.start()
        self.wait_for_pxe({name: 'ok' for name in every_check},
                          time.monotonic())
        self.assertTrue(self.show(self.a)['pxe_health']['ok'])
