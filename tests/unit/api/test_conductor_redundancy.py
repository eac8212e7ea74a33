"""Orphans, the conductor group summary and the impact preview (ironic-lite
extensions): each agrees with the ``conductor`` the API shows for every
node, before and after the change it describes."""

import urllib.parse

from oslo_utils import uuidutils
from prometheus_client import parser

from ironic_lite.api import metrics
from ironic_lite.common import hash_ring
from tests.unit.api import base
from tests.unit.common import test_hash_ring as ring_tests

LOCAL = 'test-conductor'  # group '', fake-hardware and ipmi, started


class RedundancyTestCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.config(heartbeat_timeout=10, group='conductor')
        # rack2 has one conductor, and nodes of both hardware types; ipmi
        # is not enabled by it.
        ring_tests.register_conductor(self.dbapi, 'rack2-a', 'rack2')
        self.reset_rings()
        self.local = [self.create_node(name='n%d' % i)['uuid']
                      for i in range(8)]
        # rack2-a is a row, not a process: its nodes are written directly.
        self.rack2 = [self.add_node('rack2') for _ in range(3)]
        # A node of a group no conductor has ever been part of.
        self.lost = self.add_node('rack3')

    def add_node(self, group: str) -> str:
        return self.dbapi.create_node({
            'uuid': uuidutils.generate_uuid(), 'driver': 'fake-hardware',
            'conductor_group': group, 'provision_state': 'enroll'}).uuid

    @staticmethod
    def reset_rings():
        hash_ring.get_manager().reset()

    def stop(self, hostname: str) -> None:
        """As a graceful stop leaves the database, and the announcement
        that follows."""
        self.dbapi.unregister_conductor(hostname)
        self.reset_rings()

    def owners(self) -> dict[str, str | None]:
        nodes = self.get('/v1/nodes?fields=uuid,conductor').json['nodes']
        return {n['uuid']: n['conductor'] for n in nodes}

    def listed(self, query: str, **kwargs) -> list[str]:
        return [n['uuid'] for n in self.get('/v1/nodes?' + query,
                                            **kwargs).json['nodes']]


class TestOrphanedFilter(RedundancyTestCase):

    def test_orphans_are_the_nodes_without_a_conductor(self):
        self.assertEqual([self.lost], self.listed('orphaned=true'))
        self.stop('rack2-a')
        orphans = self.listed('orphaned=true')
        self.assertEqual(sorted(self.rack2 + [self.lost]), sorted(orphans))
        owners = self.owners()
        self.assertEqual(set(orphans),
                         {u for u, owner in owners.items() if owner is None})
        self.assertEqual(sorted(self.local),
                         sorted(self.listed('orphaned=false')))

    def test_with_other_filters_and_pages(self):
        self.stop('rack2-a')
        self.assertEqual(sorted(self.rack2), sorted(self.listed(
            'orphaned=true&conductor_group=rack2')))
        self.assertEqual([], self.listed('orphaned=true&conductor=%s'
                                         % LOCAL))
        self.assertEqual([], self.listed('orphaned=true&driver=ipmi'))
        seen = []
        url = '/v1/nodes/detail?orphaned=True&limit=2'
        while url:
            page = self.get(url).json
            seen += [n['uuid'] for n in page['nodes']]
            self.assertTrue(all(n['conductor'] is None
                                for n in page['nodes']))
            self.assertLessEqual(len(page['nodes']), 2)
            url = page.get('next')
            if url:
                self.assertIn('orphaned=True', url)
                url = urllib.parse.urlsplit(url)
                url = '%s?%s' % (url.path, url.query)
        self.assertEqual(sorted(self.rack2 + [self.lost]), sorted(seen))

    def test_every_node_is_an_orphan_when_no_conductor_is_alive(self):
        self.stop('rack2-a')
        self.stop(LOCAL)
        self.assertEqual(12, len(self.listed('orphaned=true')))
        self.assertEqual([], self.listed('orphaned=false'))

    def test_version_and_bad_values(self):
        response = self.get('/v1/nodes?orphaned=true', version='1.48',
                            status=406)
        self.assertIn('1.49', self.fault(response))
        self.get('/v1/nodes/detail?orphaned=true', version='1.48',
                 status=406)
        response = self.get('/v1/nodes?orphaned=maybe', status=400)
        self.assertIn('maybe', self.fault(response))


class TestConductorGroups(RedundancyTestCase):

    def groups(self) -> dict[str, dict]:
        listed = self.get('/v1/conductor_groups').json['conductor_groups']
        self.assertEqual(sorted(g['name'] for g in listed),
                         [g['name'] for g in listed])
        return {g['name']: g for g in listed}

    def test_summary(self):
        ring_tests.register_conductor(self.dbapi, 'peer', '',
                                      hardware_types=('fake-hardware',))
        self.reset_rings()
        groups = self.groups()
        self.assertEqual({'', 'rack2', 'rack3'}, set(groups))

        local = groups['']
        self.assertIs(False, local['degraded'])
        self.assertIsNone(local['degraded_reason'])
        self.assertEqual({'fake-hardware': {
            'alive_conductors': ['peer', LOCAL], 'node_count': 8,
            'orphaned_node_count': 0}, 'ipmi': {
            'alive_conductors': [LOCAL], 'node_count': 0,
            'orphaned_node_count': 0}}, local['hardware_types'])
        owners = self.owners()
        self.assertEqual(
            [{'hostname': host, 'alive': True,
              'node_count': list(owners.values()).count(host)}
             for host in ('peer', LOCAL)], local['conductors'])
        self.assertEqual(8, sum(c['node_count']
                                for c in local['conductors']))

        rack2 = groups['rack2']
        self.assertIs(True, rack2['degraded'])
        self.assertEqual('1 alive conductor for hardware type '
                         'fake-hardware, which 3 nodes use',
                         rack2['degraded_reason'])
        self.assertEqual(0, rack2['orphaned_node_count'])

        lost = groups['rack3']
        self.assertEqual([], lost['conductors'])
        self.assertEqual((True, 1, 1), (lost['degraded'], lost['node_count'],
                                        lost['orphaned_node_count']))
        self.assertEqual('0 alive conductors for hardware type '
                         'fake-hardware, which 1 node uses',
                         lost['degraded_reason'])

    def test_a_group_losing_its_last_conductor(self):
        self.stop('rack2-a')
        rack2 = self.groups()['rack2']
        self.assertEqual((3, 3), (rack2['node_count'],
                                  rack2['orphaned_node_count']))
        self.assertEqual([{'hostname': 'rack2-a', 'alive': False,
                           'node_count': 0}], rack2['conductors'])
        self.assertEqual([], rack2['hardware_types']['fake-hardware'][
            'alive_conductors'])
        # The one conductor left in '' makes it degraded too.
        self.assertIs(True, self.groups()['']['degraded'])

    def test_version_and_paths(self):
        self.get('/v1/conductor_groups', version='1.48', status=404)
        self.get('/v1/conductor_groups/rack2', status=404)


class TestImpact(RedundancyTestCase):

    def setUp(self):
        super().setUp()
        ring_tests.register_conductor(self.dbapi, 'peer', '',
                                      hardware_types=('fake-hardware',))
        ring_tests.register_conductor(self.dbapi, 'third', '',
                                      hardware_types=('fake-hardware',))
        self.reset_rings()

    def impact(self, hostname: str, query: str = '', **kwargs) -> dict:
        return self.get('/v1/conductors/%s/impact%s' % (hostname, query),
                        **kwargs).json

    def all_moves(self, hostname: str) -> tuple[dict, dict]:
        """The preview, and its node list read page by page."""
        preview = self.impact(hostname, '?limit=1')
        nodes = {}
        url = '/v1/conductors/%s/impact?limit=1' % hostname
        while url:
            page = self.get(url).json
            self.assertLessEqual(len(page['nodes']), 1)
            nodes.update((n['uuid'], (n['from'], n['to']))
                         for n in page['nodes'])
            url = page.get('next')
            if url:
                url = urllib.parse.urlsplit(url)
                url = '%s?%s' % (url.path, url.query)
        return preview, nodes

    def test_preview_equals_what_stopping_does(self):
        # The 8 nodes of setUp have random UUIDs: 'peer' gets none of them
        # once in 26 runs. Nodes until it has one (one in three each).
        for _ in range(60):
            if 'peer' in self.owners().values():
                break
            self.local.append(self.add_node(''))
        before = self.owners()
        preview, nodes = self.all_moves('peer')
        served = {u for u, owner in before.items() if owner == 'peer'}
        self.assertTrue(served)
        self.assertEqual(served, set(nodes))
        self.assertEqual(len(served), preview['node_count'])
        self.assertEqual(0, preview['orphaned_node_count'])

        self.stop('peer')
        after = self.owners()
        self.assertEqual({u: ('peer', after[u]) for u in served}, nodes)
        moved = {}
        for node_uuid in served:
            moved[after[node_uuid]] = moved.get(after[node_uuid], 0) + 1
        self.assertEqual(
            [{'hostname': h, 'node_count': moved[h]} for h in sorted(moved)],
            preview['moves'])
        # Nodes of others stay where they were.
        self.assertEqual({u: o for u, o in before.items() if u not in served},
                         {u: o for u, o in after.items() if u not in served})

    def test_last_conductor_of_a_group_leaves_orphans(self):
        preview, nodes = self.all_moves('rack2-a')
        self.assertEqual({u: ('rack2-a', None) for u in self.rack2}, nodes)
        self.assertEqual((3, 3, []), (preview['node_count'],
                                      preview['orphaned_node_count'],
                                      preview['moves']))
        self.stop('rack2-a')
        self.assertEqual(sorted(self.rack2 + [self.lost]),
                         sorted(self.listed('orphaned=true')))

    def test_a_stopped_conductor_moves_nothing(self):
        self.stop('third')
        preview = self.impact('third')
        self.assertEqual((0, [], 0, []), (
            preview['node_count'], preview['moves'],
            preview['orphaned_node_count'], preview['nodes']))
        self.assertNotIn('next', preview)

    def test_errors(self):
        response = self.get('/v1/conductors/nope/impact', status=404)
        self.assertIn('nope', self.fault(response))
        self.get('/v1/conductors/peer/impact', version='1.48', status=404)
        self.get('/v1/conductors/peer/impact/more', status=404)
        self.get('/v1/conductors/peer/impact?limit=0', status=400)
        self.get('/v1/conductors/peer/impact?marker=not-a-uuid',
                 status=400)
        self.get('/v1/conductors/peer/impact?marker=%s'
                 % uuidutils.generate_uuid(), status=404)
        # A conductor named "impact" is still a conductor.
        self.get('/v1/conductors/impact', status=404)


class TestOrphanMetric(RedundancyTestCase):

    def test_equals_the_group_summary(self):
        self.stop('rack2-a')
        text = self.app.get(metrics.PATH).text
        samples = {(s.labels['group'], s.labels['driver']): s.value
                   for family in parser.text_string_to_metric_families(text)
                   for s in family.samples
                   if s.name == 'ironic_lite_orphaned_nodes'}
        self.assertEqual({('', 'fake-hardware'): 0,
                          ('rack2', 'fake-hardware'): 3,
                          ('rack3', 'fake-hardware'): 1}, samples)
        groups = self.get('/v1/conductor_groups').json['conductor_groups']
        self.assertEqual(
            {(g['name'], driver): summary['orphaned_node_count']
             for g in groups
             for driver, summary in g['hardware_types'].items()
             if summary['node_count']}, samples)
