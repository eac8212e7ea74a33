"""The conductor feature through the stock clients, unchanged:
python-ironicclient's ``baremetal``/``openstack baremetal`` CLI and
openstacksdk, against real API and conductor processes."""

import openstack

from tests import services
from tests.functional import base


class TestConductorsThroughClients(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.cluster = self.start_cluster(services.MYSQL_URL)
        self.cluster.start_api()
        self.url = self.cluster.api_url
        self.cluster.start_conductor('a', wait=False)
        self.cluster.start_conductor('b', 'rack2', wait=False)
        self.cluster.wait_started('a')
        self.cluster.wait_started('b')
        self.a, self.b = self.cluster.hostname('a'), self.cluster.hostname('b')

    def _create(self, name: str, group: str = '') -> dict:
        return self.cli_json('node', 'create', '--driver', 'fake-hardware',
                             '--name', name, '--conductor-group', group)

    def test_cli(self):
        on_a = [self._create('n%d' % i)['uuid'] for i in range(3)]
        on_b = self._create('rack-node', 'rack2')

        listed = self.cli_json('conductor', 'list', '--long')
        by_name = {c['hostname']: c for c in listed}
        self.assertEqual({self.a, self.b}, set(by_name))
        self.assertEqual(['fake-hardware', 'ipmi'],
                         sorted(by_name[self.a]['drivers']))
        self.assertEqual('rack2', by_name[self.b]['conductor_group'])
        self.assertTrue(by_name[self.b]['alive'])
        self.assertTrue(by_name[self.a]['updated_at'])

        shown = self.cli_json('conductor', 'show', self.a)
        self.assertTrue(shown['alive'])
        self.assertEqual(3, shown['node_count'])
        self.assertEqual(shown['updated_at'], shown['last_seen'])
        missing = self.run_cli('conductor', 'show', 'nope.example.com',
                               expect_failure=True)
        self.assertIn('Conductor nope.example.com could not be found. '
                      '(HTTP 404)', missing.stderr)

        mine = self.cli_json('node', 'list', '--conductor', self.a)
        self.assertEqual(sorted(on_a), sorted(n['uuid'] for n in mine))
        long_list = self.cli_json('node', 'list', '--long', '--conductor',
                                  self.b)
        self.assertEqual([(on_b['uuid'], self.b)],
                         [(n['uuid'], n['conductor']) for n in long_list])
        self.assertEqual(self.b, self.cli_json('node', 'show', 'rack-node')
                         ['conductor'])

        # Older clients: no conductor endpoints, no conductor filter.
        old = self.run_cli('conductor', 'list', expect_failure=True,
                           global_args=('--os-baremetal-api-version',
                                        '1.48'))
        self.assertIn('Resource could not be found. (HTTP 404)',
                      old.stderr)
        old = self.run_cli('node', 'list', '--conductor', self.a,
                           expect_failure=True,
                           global_args=('--os-baremetal-api-version',
                                        '1.48'))
        self.assertIn('not supported', old.stderr)
        old_node = self.cli_json('node', 'show', 'rack-node', global_args=(
            '--os-baremetal-api-version', '1.48'))
        self.assertNotIn('conductor', old_node)
        self.assertEqual('rack2', old_node['conductor_group'])

        # The owner's conductor record, from the node.
        response = self.cluster.get('/v1/nodes/rack-node/conductor')
        self.assertEqual(200, response.status_code, response.text)
        self.assertEqual(self.b, response.json()['hostname'])

    def test_openstacksdk(self):
        node = self._create('sdk-node', 'rack2')
        conn = openstack.connect(auth_type='none',
                                 baremetal_endpoint_override=self.url,
                                 load_envvars=False, load_yaml_config=False)
        self.addCleanup(conn.close)

        conductors = {c.hostname: c for c in conn.baremetal.conductors()}
        self.assertEqual({self.a, self.b}, set(conductors))
        self.assertIs(True, conductors[self.a].alive)
        self.assertIsNone(conductors[self.a].drivers)

        detailed = {c.hostname: c
                    for c in conn.baremetal.conductors(detail=True)}
        self.assertEqual(['fake-hardware', 'ipmi'],
                         sorted(detailed[self.b].drivers))
        self.assertEqual('rack2', detailed[self.b].conductor_group)

        one = conn.baremetal.get_conductor(self.b)
        self.assertEqual(self.b, one.hostname)
        self.assertIs(True, one.alive)

        self.assertEqual(self.b,
                         conn.baremetal.get_node(node['uuid']).conductor)
        filtered = list(conn.baremetal.nodes(details=True,
                                             conductor=self.b))
        self.assertEqual([node['uuid']], [n.id for n in filtered])
