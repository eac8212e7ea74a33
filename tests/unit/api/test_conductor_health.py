"""The ironic-lite extensions of /v1/conductors (API 1.49): the health of
one conductor, and the filters and sort key of the list."""

import urllib.parse

from ironic_lite import version
from ironic_lite.common import hash_ring
from ironic_lite.common import states
from tests.unit.api import base
from tests.unit.common import test_hash_ring as ring_tests


def create_nodes(testcase: base.APITestCase, count: int, every: int,
                 state: str) -> None:
    """``count`` nodes through the API, named n0, n1...; one in
    ``every`` (n0 first) moved to ``state`` directly in the database."""
    for index in range(count):
        node = testcase.create_node(name='n%d' % index)
        if index % every == 0:
            testcase.dbapi.update_node(
                testcase.dbapi.get_node_by_uuid(node['uuid']).id,
                {'provision_state': state})


class TestHealth(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.config(heartbeat_timeout=10, group='conductor')

    def show(self, hostname, **kwargs):
        return self.get('/v1/conductors/%s' % hostname, **kwargs)

    def test_alive(self):
        shown = self.show('test-conductor').json
        self.assertEqual('alive', shown['state'])
        self.assertIs(True, shown['alive'])
        self.assertEqual(10, shown['heartbeat_timeout'])
        self.assertEqual(version.version_string(), shown['version'])
        self.assertGreaterEqual(shown['seconds_since_heartbeat'], 0)
        self.assertLess(shown['seconds_since_heartbeat'], 10)

    def test_stopped_gracefully(self):
        ring_tests.register_conductor(self.dbapi, 'leaving')
        self.dbapi.unregister_conductor('leaving')
        shown = self.show('leaving').json
        self.assertEqual('stopped', shown['state'])
        self.assertIs(False, shown['alive'])
        self.assertEqual(0, shown['node_count'])
        self.assertEqual({}, shown['node_count_by_provision_state'])
        # Registered by hand, not by a conductor: no version recorded.
        self.assertIsNone(shown['version'])

    def test_missed_heartbeat(self):
        ring_tests.register_conductor(self.dbapi, 'silent',
                                      heartbeat_age=30)
        shown = self.show('silent').json
        self.assertEqual('missed_heartbeat', shown['state'])
        self.assertIs(False, shown['alive'])
        self.assertGreaterEqual(shown['seconds_since_heartbeat'], 30)
        self.assertLess(shown['seconds_since_heartbeat'], 60)

    def test_stopped_wins_over_an_old_heartbeat(self):
        ring_tests.register_conductor(self.dbapi, 'gone', heartbeat_age=30,
                                      online=False)
        self.assertEqual('stopped', self.show('gone').json['state'])

    def test_node_count_by_provision_state(self):
        create_nodes(self, 12, 3, states.AVAILABLE)
        # Joins once the nodes are created (it has no process to create
        # them): takes its share of them.
        ring_tests.register_conductor(self.dbapi, 'conductor-b',
                                      hardware_types=('fake-hardware',))
        hash_ring.get_manager().reset()
        totals = {}
        for hostname in ('test-conductor', 'conductor-b'):
            shown = self.show(hostname).json
            counts = shown['node_count_by_provision_state']
            self.assertEqual(shown['node_count'], sum(counts.values()))
            # As the list of the conductor's nodes says.
            listed = self.get('/v1/nodes?conductor=%s&fields=provision_state'
                              % hostname).json['nodes']
            by_state = {}
            for node in listed:
                state = node['provision_state']
                by_state[state] = by_state.get(state, 0) + 1
            self.assertEqual(by_state, counts)
            for state, count in counts.items():
                totals[state] = totals.get(state, 0) + count
        self.assertEqual({states.ENROLL: 8, states.AVAILABLE: 4}, totals)

    def test_fields(self):
        shown = self.show('test-conductor',
                          params={'fields': 'state,version'}).json
        self.assertEqual({'state', 'version', 'links'}, set(shown))
        response = self.show('test-conductor', params={'fields': 'online'},
                             status=400)
        self.assertEqual('Field(s) "online" are not valid',
                         self.fault(response))

    def test_not_in_the_list(self):
        listed = self.get('/v1/conductors?detail=true').json['conductors']
        for field in ('state', 'version', 'seconds_since_heartbeat',
                      'heartbeat_timeout', 'node_count_by_provision_state'):
            self.assertNotIn(field, listed[0])
        response = self.get('/v1/conductors?fields=state', status=400)
        self.assertEqual('Field(s) "state" are not valid',
                         self.fault(response))

    def test_older_versions_see_no_conductor(self):
        self.show('test-conductor', version='1.48', status=404)
        self.get('/v1/conductors?alive=true', version='1.48', status=404)


class TestListFilters(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.config(heartbeat_timeout=10, group='conductor')
        ring_tests.register_conductor(self.dbapi, 'rack2-a', 'rack2',
                                      ('ipmi',), heartbeat_age=3)
        ring_tests.register_conductor(self.dbapi, 'rack2-silent', 'rack2',
                                      ('ipmi', 'fake-hardware'),
                                      heartbeat_age=60)
        ring_tests.register_conductor(self.dbapi, 'stopped', '',
                                      ('ipmi-x',), heartbeat_age=1,
                                      online=False)
        # The fixture's conductor beat at its start: on a loaded machine
        # that can be more than a second ago. It beats last.
        ring_tests.set_heartbeat(self.dbapi, 'test-conductor', 0)

    def hostnames(self, query='', status=200):
        return [conductor['hostname'] for conductor in
                self.get('/v1/conductors?' + query).json['conductors']]

    def error(self, query):
        return self.fault(self.get('/v1/conductors?' + query, status=400))

    def test_alive(self):
        self.assertEqual(['test-conductor', 'rack2-a'],
                         self.hostnames('alive=true'))
        self.assertEqual(['rack2-silent', 'stopped'],
                         self.hostnames('alive=False'))
        for conductor in self.get('/v1/conductors?alive=0').json[
                'conductors']:
            self.assertIs(False, conductor['alive'])

    def test_conductor_group(self):
        self.assertEqual(['rack2-a', 'rack2-silent'],
                         self.hostnames('conductor_group=RACK2'))
        self.assertEqual(['test-conductor', 'stopped'],
                         self.hostnames('conductor_group='))
        self.assertEqual([], self.hostnames('conductor_group=rack3'))

    def test_driver(self):
        self.assertEqual(['test-conductor', 'rack2-a', 'rack2-silent'],
                         self.hostnames('driver=ipmi'))
        self.assertEqual(['stopped'], self.hostnames('driver=ipmi-x'))
        self.assertEqual([], self.hostnames('driver=%25'))
        self.assertEqual([], self.hostnames('driver=ipm_'))

    def test_combined(self):
        self.assertEqual(['rack2-a'], self.hostnames(
            'alive=true&conductor_group=rack2&driver=ipmi'))
        self.assertEqual(['rack2-silent'], self.hostnames(
            'alive=false&driver=fake-hardware'))

    def test_sort_by_last_seen(self):
        # The fixture's conductor beat last; the stopped one a second ago.
        self.assertEqual(['rack2-silent', 'rack2-a', 'stopped',
                          'test-conductor'],
                         self.hostnames('sort_key=last_seen'))
        self.assertEqual(['test-conductor', 'stopped', 'rack2-a',
                          'rack2-silent'],
                         self.hostnames('sort_key=last_seen&sort_dir=desc'))

    def test_pages_keep_the_filters(self):
        url = ('/v1/conductors?alive=false&driver=ipmi&limit=1'
               '&sort_key=last_seen')
        seen = []
        while url:
            page = self.get(url).json
            seen += [c['hostname'] for c in page['conductors']]
            url = page.get('next')
            if url:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(url)
                                              .query)
                self.assertEqual(['false'], query['alive'])
                self.assertEqual(['ipmi'], query['driver'])
                self.assertEqual(['last_seen'], query['sort_key'])
        self.assertEqual(['rack2-silent'], seen)
        page = self.get('/v1/conductors?conductor_group=rack2&limit=1').json
        self.assertIn('conductor_group=rack2', page['next'])
        self.assertEqual(['rack2-silent'], [
            c['hostname'] for c in self.get(page['next']).json['conductors']])

    def test_bad_values(self):
        self.assertIn("Unrecognized value 'maybe'", self.error('alive=maybe'))
        self.assertEqual('Expected a conductor group but received '
                         'rack 2.', self.error('conductor_group=rack%202'))
        self.assertEqual('Expected a conductor group but received %s.'
                         % ('g' * 256),
                         self.error('conductor_group=' + 'g' * 256))
        self.assertEqual('The sort_key value "version" is an invalid field '
                         'for sorting', self.error('sort_key=version'))
        self.assertEqual('The sort_key value alive is an invalid field '
                         'for sorting', self.error('sort_key=alive'))
