"""``GET /v1/nodes?conductor=H`` pages through exactly H's nodes.

Ironic filters by conductor after the SQL LIMIT, so its pages come out short
and its ``next`` link forgets the filter; ironic-lite filters in SQL. These
tests follow ``next`` the way clients do and compare the result with the
hash ring computed independently of ironic-lite.
"""

import urllib.parse

import sqlalchemy as sa

from ironic_lite.common import hash_ring
from ironic_lite.conf import CONF
from ironic_lite.db.sqlalchemy import models
from tests.unit.api import base
from tests.unit.common import test_hash_ring as ring_tests
from tests.unit.db import test_ring_filter

NODE_COUNT = 3000
PAGE = 50
# The fixture's conductor and three more, all serving fake-hardware in the
# default group; one name needs escaping in a URL.
HOSTS = ('test-conductor', 'conductor-b', 'conductor-c:8090',
         '[fd00::4]:6385')


class ConductorPagingTest(base.APITestCase):

    def setUp(self):
        super().setUp()
        for hostname in HOSTS[1:]:
            ring_tests.register_conductor(self.dbapi, hostname, '',
                                          ('fake-hardware', 'ipmi'))
        # Alive, but serving another group: owns none of these nodes.
        ring_tests.register_conductor(self.dbapi, 'rack2-conductor', 'rack2',
                                      ('fake-hardware',))
        ring_tests.register_conductor(
            self.dbapi, 'dead-conductor', '', ('fake-hardware',),
            heartbeat_age=CONF.conductor.heartbeat_timeout + 1)
        hash_ring.get_manager().reset()

        self.uuids = ring_tests.node_uuids(NODE_COUNT, seed=49)
        # Every third node in maintenance, every fifth manageable.
        nodes = [(u, 'fake-hardware', '') for u in self.uuids]
        test_ring_filter.insert_nodes(self.dbapi, nodes)
        self._set_states()

        reference = ring_tests.ReferenceRing(HOSTS)
        self.owner = {u: reference.owner(u) for u in self.uuids}
        self.name = {u: 'node-%05d' % i for i, u in enumerate(self.uuids)}

    def _set_states(self) -> None:
        table = models.Node.__table__
        with self.dbapi.engine.begin() as connection:
            connection.execute(table.update()
                               .where(table.c.id % 3 == 0)
                               .values(maintenance=True))
            connection.execute(table.update()
                               .where(table.c.id % 5 == 0)
                               .values(provision_state='manageable'))
            rows = connection.execute(
                sa.select(table.c.uuid, table.c.maintenance,
                          table.c.provision_state)).all()
        self.maintenance = {row.uuid for row in rows if row.maintenance}
        self.manageable = {row.uuid for row in rows
                           if row.provision_state == 'manageable'}

    def nodes_of(self, hostname: str, keep=lambda u: True) -> list[str]:
        """The UUIDs of ``hostname``'s nodes, in id (insertion) order."""
        return [u for u in self.uuids
                if self.owner[u] == hostname and keep(u)]

    def walk(self, path: str, expected_params: dict) -> list[dict]:
        """Every node of every page from ``path`` on, following ``next``.

        Each page but the last is full, and each ``next`` repeats
        ``expected_params`` and the page size.
        """
        nodes = []
        endpoint = urllib.parse.urlsplit(path).path
        while True:
            body = self.get(path).json
            page = body['nodes']
            nodes += page
            if 'next' not in body:
                self.assertLessEqual(len(page), PAGE)
                return nodes
            self.assertEqual(PAGE, len(page), path)
            url = urllib.parse.urlsplit(body['next'])
            self.assertEqual(endpoint, url.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            self.assertEqual(dict(expected_params, limit=str(PAGE),
                                  marker=page[-1]['uuid']), query)
            path = '%s?%s' % (url.path, url.query)

    @staticmethod
    def query(**params) -> str:
        return urllib.parse.urlencode(params)

    def test_pages_of_each_conductor_partition_the_fleet(self):
        seen = set()
        for hostname in HOSTS:
            nodes = self.walk(
                '/v1/nodes?' + self.query(conductor=hostname, limit=PAGE),
                {'conductor': hostname, 'sort_key': 'id',
                 'sort_dir': 'asc'})
            uuids = [n['uuid'] for n in nodes]
            self.assertEqual(self.nodes_of(hostname), uuids, hostname)
            self.assertGreater(len(uuids), NODE_COUNT // 8)
            self.assertFalse(seen & set(uuids))
            seen |= set(uuids)
        self.assertEqual(set(self.uuids), seen)

    def test_with_another_filter(self):
        hostname = HOSTS[2]
        nodes = self.walk(
            '/v1/nodes?' + self.query(conductor=hostname, maintenance='true',
                                      limit=PAGE),
            {'conductor': hostname, 'maintenance': 'True', 'sort_key': 'id',
             'sort_dir': 'asc'})
        self.assertEqual(
            self.nodes_of(hostname, lambda u: u in self.maintenance),
            [n['uuid'] for n in nodes])
        self.assertTrue(all(n['maintenance'] for n in nodes))

        hostname = HOSTS[3]
        nodes = self.walk(
            '/v1/nodes?' + self.query(conductor=hostname,
                                      provision_state='manageable',
                                      maintenance='false', limit=PAGE),
            {'conductor': hostname, 'provision_state': 'manageable',
             'maintenance': 'False', 'sort_key': 'id', 'sort_dir': 'asc'})
        self.assertEqual(
            self.nodes_of(hostname, lambda u: u in self.manageable
                          and u not in self.maintenance),
            [n['uuid'] for n in nodes])

    def test_sorted_by_name_descending(self):
        hostname = HOSTS[1]
        nodes = self.walk(
            '/v1/nodes?' + self.query(conductor=hostname, sort_key='name',
                                      sort_dir='desc', limit=PAGE,
                                      fields='uuid,name,conductor'),
            {'conductor': hostname, 'sort_key': 'name', 'sort_dir': 'desc',
             'fields': 'uuid,name,conductor'})
        expected = sorted(self.nodes_of(hostname), key=self.name.get,
                          reverse=True)
        self.assertEqual(expected, [n['uuid'] for n in nodes])
        self.assertEqual([self.name[u] for u in expected],
                         [n['name'] for n in nodes])
        self.assertEqual({hostname}, {n['conductor'] for n in nodes})

    def test_detail_shows_the_conductor_of_each_node(self):
        hostname = HOSTS[0]
        nodes = self.walk(
            '/v1/nodes/detail?' + self.query(conductor=hostname, limit=PAGE),
            {'conductor': hostname, 'sort_key': 'id', 'sort_dir': 'asc'})
        self.assertEqual(self.nodes_of(hostname), [n['uuid'] for n in nodes])
        self.assertEqual({hostname}, {n['conductor'] for n in nodes})
        self.assertIn('driver_info', nodes[0])

        # ?detail=true pages on /v1/nodes and says so in next.
        hostname = HOSTS[3]
        nodes = self.walk(
            '/v1/nodes?' + self.query(conductor=hostname, detail='true',
                                      maintenance='true', limit=PAGE),
            {'conductor': hostname, 'detail': 'True', 'maintenance': 'True',
             'sort_key': 'id', 'sort_dir': 'asc'})
        self.assertEqual(
            self.nodes_of(hostname, lambda u: u in self.maintenance),
            [n['uuid'] for n in nodes])
        self.assertEqual({hostname}, {n['conductor'] for n in nodes})

    def test_conductors_not_serving_get_empty_lists(self):
        for hostname in ('dead-conductor', 'nobody', 'rack2-conductor',
                         'TEST-CONDUCTOR'):
            for path in ('/v1/nodes', '/v1/nodes/detail'):
                response = self.get(path + '?' + self.query(
                    conductor=hostname, limit=PAGE))
                self.assertEqual({'nodes': []}, response.json, hostname)

    def test_conductor_that_left(self):
        hostname = HOSTS[1]
        self.dbapi.unregister_conductor(hostname)
        hash_ring.get_manager().reset()
        self.assertEqual({'nodes': []}, self.get(
            '/v1/nodes?' + self.query(conductor=hostname)).json)
        # Its nodes went to the others; nobody else's moved.
        reference = ring_tests.ReferenceRing(
            [h for h in HOSTS if h != hostname])
        other = HOSTS[3]
        nodes = self.walk(
            '/v1/nodes?' + self.query(conductor=other, limit=PAGE,
                                      fields='uuid'),
            {'conductor': other, 'sort_key': 'id', 'sort_dir': 'asc',
             'fields': 'uuid'})
        expected = [u for u in self.uuids if reference.owner(u) == other]
        self.assertEqual(expected, [n['uuid'] for n in nodes])
        # It kept its own nodes and got some of the one that left.
        self.assertLess(set(self.nodes_of(other)), set(expected))

