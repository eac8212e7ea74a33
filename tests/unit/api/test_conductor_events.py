"""The membership history endpoints, pxe_health in the conductor's show,
and the membership-changes counter in /metrics (ironic-lite extensions,
API 1.49)."""

import datetime
import urllib.parse

from oslo_utils import timeutils

from ironic_lite.api import metrics
from tests.unit.api import base
from tests.unit.api import test_metrics
from tests.unit.common import test_hash_ring as ring_tests


def _page_query(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


class TestConductorEvents(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.config(heartbeat_timeout=10, group='conductor')
        # test-conductor joined in the fixture; then a stop, a silence
        # noticed by test-conductor, and the silent one's return.
        ring_tests.register_conductor(self.dbapi, 'leaving')
        self.dbapi.unregister_conductor('leaving')
        ring_tests.register_conductor(self.dbapi, 'silent')
        ring_tests.set_heartbeat(self.dbapi, 'silent', 30)
        self.dbapi.record_missed_heartbeats(
            timeutils.utcnow() - datetime.timedelta(seconds=10),
            'test-conductor')
        self.dbapi.touch_conductor('silent')

    def events(self, path='/v1/conductor_events', **kwargs) -> list[tuple]:
        body = self.get(path, **kwargs).json
        return [(e['hostname'], e['kind']) for e in body['conductor_events']]

    def test_every_event_in_order(self):
        self.assertEqual([('test-conductor', 'join'), ('leaving', 'join'),
                          ('leaving', 'leave'), ('silent', 'join'),
                          ('silent', 'missed_heartbeat'),
                          ('silent', 'rejoin')], self.events())
        event = self.get('/v1/conductor_events?kind=missed_heartbeat'
                         ).json['conductor_events'][0]
        self.assertEqual({'id', 'hostname', 'conductor_group', 'kind',
                          'created_at', 'last_heartbeat', 'recorded_by'},
                         set(event))
        self.assertEqual('test-conductor', event['recorded_by'])
        missed_at = timeutils.parse_isotime(event['created_at'])
        last_beat = timeutils.parse_isotime(event['last_heartbeat'])
        self.assertGreaterEqual((missed_at - last_beat).total_seconds(), 30)

    def test_one_conductor(self):
        self.assertEqual([('silent', 'join'), ('silent', 'missed_heartbeat'),
                          ('silent', 'rejoin')],
                         self.events('/v1/conductors/silent/events'))
        self.assertEqual([('silent', 'rejoin')], self.events(
            '/v1/conductors/silent/events?kind=rejoin'))
        self.assertEqual([('leaving', 'leave')], self.events(
            '/v1/conductor_events?hostname=leaving&kind=leave'))

    def test_pages_carry_the_filters(self):
        first = self.get('/v1/conductor_events?limit=2&hostname=silent'
                         '&sort_dir=desc').json
        self.assertEqual(['rejoin', 'missed_heartbeat'],
                         [e['kind'] for e in first['conductor_events']])
        query = _page_query(first['next'])
        self.assertEqual({'hostname': 'silent', 'sort_dir': 'desc',
                          'sort_key': 'id', 'limit': '2',
                          'marker': str(first['conductor_events'][-1]['id'])},
                         query)
        second = self.get(first['next'].replace('http://localhost', '')).json
        self.assertEqual(['join'],
                         [e['kind'] for e in second['conductor_events']])
        self.assertNotIn('next', second)

        own = self.get('/v1/conductors/silent/events?limit=1').json
        self.assertTrue(urllib.parse.urlsplit(own['next']).path.endswith(
            '/v1/conductors/silent/events'))
        self.assertNotIn('hostname', _page_query(own['next']))

    def test_below_1_49_there_is_no_history(self):
        for path in ('/v1/conductor_events',
                     '/v1/conductors/silent/events'):
            self.get(path, version='1.48', status=404)

    def test_bad_requests(self):
        for query, words in (('kind=exploded', 'Invalid kind'),
                             ('marker=abc', 'integer event id'),
                             ('sort_key=kind', 'sort_key'),
                             ('sort_dir=up', 'sort direction'),
                             ('limit=0', 'Limit')):
            response = self.get('/v1/conductor_events?' + query, status=400)
            self.assertIn(words, self.fault(response))
        for marker in ('99999', '-1', '9' * 30):
            response = self.get('/v1/conductor_events?marker=' + marker,
                                status=404)
            self.assertEqual('Conductor event %s could not be found.'
                             % marker, self.fault(response))
        response = self.get('/v1/conductors/nope/events', status=404)
        self.assertIn('nope', self.fault(response))
        self.get('/v1/conductors/silent/events/extra', status=404)
        self.get('/v1/conductor_events/1', status=404)

    def test_route_templates_in_metrics(self):
        self.assertEqual('/v1/conductors/{hostname}/events',
                         metrics.route_template('/v1/conductors/h/events'))
        self.assertEqual('/v1/conductor_events',
                         metrics.route_template('/v1/conductor_events'))


class TestMembershipMetric(test_metrics.MetricsTestCase):

    def test_counts_every_kind_and_survives_pruning(self):
        self.config(heartbeat_timeout=10, group='conductor')
        ring_tests.register_conductor(self.dbapi, 'leaving')
        self.dbapi.unregister_conductor('leaving')
        self.dbapi.prune_conductor_events(None, 0)
        self.assertEqual([], self.get('/v1/conductor_events').json[
            'conductor_events'])

        samples = self.scrape()
        name = 'ironic_lite_ring_membership_changes_total'
        self.assertEqual(
            {'join': 2, 'leave': 1, 'missed_heartbeat': 0, 'rejoin': 0},
            {dict(labels)['kind']: value
             for (sample, labels), value in samples.items()
             if sample == name})


class TestPxeHealthField(base.APITestCase):

    def test_shown_at_1_49_as_stored(self):
        health = {'checked_at': '2026-12-02T10:00:00+00:00', 'ok': False,
                  'checks': {'http_url': {
                      'status': 'failed',
                      'error': 'GET http://127.0.0.1:1/x failed: refused'}}}
        self.dbapi.set_conductor_pxe_health('test-conductor', health)
        self.assertEqual(health, self.get(
            '/v1/conductors/test-conductor').json['pxe_health'])
        self.assertEqual(
            {'hostname': 'test-conductor', 'pxe_health': health},
            {k: v for k, v in self.get(
                '/v1/conductors/test-conductor?fields=hostname,pxe_health'
            ).json.items() if k != 'links'})
        # Not in lists: one conductor at a time.
        self.get('/v1/conductors?fields=pxe_health', status=400)

    def test_null_before_the_first_probe(self):
        ring_tests.register_conductor(self.dbapi, 'new')
        self.assertIsNone(self.get('/v1/conductors/new').json['pxe_health'])
