"""Orphans, the conductor group summary and the impact preview against
real API and conductor processes on PostgreSQL: three conductors in two
groups; the preview of a stop equals, node by node, what the stop then
does; the last conductor of a group dies and its nodes become orphans in
the API and in /metrics alike."""

import signal
import urllib.parse

from prometheus_client import parser

from tests import base as tests_base
from tests import services
from tests.functional import base
from tests.functional import cluster as cluster_mod


class TestRedundancy(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.cluster = self.start_cluster(services.POSTGRES_URL)
        self.cluster.start_api()
        for name, group in (('a', ''), ('b', ''), ('c', 'rack2')):
            self.cluster.start_conductor(name, group=group, wait=False)
        for name in ('a', 'b', 'c'):
            self.cluster.wait_started(name)
        self.a, self.b, self.c = (self.cluster.hostname(name)
                                  for name in ('a', 'b', 'c'))

    def read(self, path: str) -> dict:
        response = self.cluster.get(path)
        self.assertEqual(200, response.status_code, response.text)
        return response.json()

    def groups(self) -> dict[str, dict]:
        return {group['name']: group for group in
                self.read('/v1/conductor_groups')['conductor_groups']}

    def impact(self, hostname: str) -> tuple[dict, dict]:
        """The preview of stopping ``hostname``, and its nodes read page
        by page: uuid -> (from, to)."""
        first = page = self.read('/v1/conductors/%s/impact?limit=5'
                                 % hostname)
        nodes = {}
        while True:
            nodes.update((n['uuid'], (n['from'], n['to']))
                         for n in page['nodes'])
            if 'next' not in page:
                return first, nodes
            url = urllib.parse.urlsplit(page['next'])
            page = self.read('%s?%s' % (url.path, url.query))

    def orphans(self) -> set[str]:
        return {n['uuid'] for n in self.read(
            '/v1/nodes?orphaned=true&fields=uuid,conductor')['nodes']
            if n['conductor'] is None}

    def scrape(self) -> dict:
        response = self.cluster.get('/metrics')
        self.assertEqual(200, response.status_code, response.text)
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in parser.text_string_to_metric_families(
                    response.text) for s in family.samples}

    def test_preview_summary_and_orphans(self):
        for index in range(16):
            body = {'driver': 'fake-hardware', 'name': 'n%d' % index}
            if index >= 12:
                body['conductor_group'] = 'rack2'
            response = self.cluster.request('POST', '/v1/nodes', json=body)
            self.assertEqual(201, response.status_code, response.text)
        rack2 = {u for u, owner in self.cluster.node_owners().items()
                 if owner == self.c}
        self.assertEqual(4, len(rack2))

        groups = self.groups()
        self.assertIs(False, groups['']['degraded'])
        self.assertIs(True, groups['rack2']['degraded'])
        self.assertIn('1 alive conductor for hardware type fake-hardware',
                      groups['rack2']['degraded_reason'])

        # The preview of stopping a, then the stop itself.
        before = self.cluster.node_owners()
        preview, moves = self.impact(self.a)
        served = {u for u, owner in before.items() if owner == self.a}
        self.assertTrue(served)
        self.assertEqual(served, set(moves))
        self.assertEqual([{'hostname': self.b, 'node_count': len(served)}],
                         preview['moves'])
        self.cluster.stop('a')

        def moved() -> dict | None:
            owners = self.cluster.node_owners()
            return owners if self.a not in owners.values() else None
        after = tests_base.wait_for(
            moved, message='the nodes of %s to move' % self.a)
        self.assertEqual(moves, {u: (self.a, after[u]) for u in served})
        self.assertEqual({u: o for u, o in before.items() if u not in served},
                         {u: o for u, o in after.items() if u not in served})
        self.assertIn('1 alive conductor',
                      self.groups()['']['degraded_reason'])

        # The last conductor of rack2 dies: its nodes become orphans.
        preview, moves = self.impact(self.c)
        self.assertEqual((4, [], 4), (preview['node_count'], preview['moves'],
                                      preview['orphaned_node_count']))
        self.assertEqual({u: (self.c, None) for u in rack2}, moves)
        self.assertEqual(set(), self.orphans())
        self.cluster.stop('c', signal.SIGKILL)
        tests_base.wait_for(lambda: self.orphans() == rack2,
                            timeout=cluster_mod.HEARTBEAT_TIMEOUT * 3,
                            message='the nodes of rack2 to be orphans')
        self.assertEqual(12, len(self.read(
            '/v1/nodes?orphaned=false&fields=uuid')['nodes']))

        samples = self.scrape()
        groups = self.groups()
        self.assertEqual(4, groups['rack2']['orphaned_node_count'])
        for name, group in groups.items():
            for driver, summary in group['hardware_types'].items():
                if summary['node_count']:
                    self.assertEqual(
                        summary['orphaned_node_count'],
                        samples['ironic_lite_orphaned_nodes', frozenset({
                            'group': name, 'driver': driver}.items())])
        for conductor in self.read('/v1/conductors')['conductors']:
            shown = self.read('/v1/conductors/%s' % conductor['hostname'])
            labels = frozenset({'hostname': shown['hostname'],
                                'group': shown['conductor_group']}.items())
            self.assertEqual(1 if shown['alive'] else 0,
                             samples['ironic_lite_conductor_up', labels])
            counted = {dict(labels)['provision_state']: value
                       for (name, labels), value in samples.items()
                       if name == 'ironic_lite_conductor_nodes'
                       and dict(labels)['hostname'] == shown['hostname']}
            self.assertEqual(shown['node_count_by_provision_state'],
                             counted)
