"""The ``ring_arcs`` node filter selects exactly the nodes the hash ring gives
a conductor, on SQLite, MariaDB and PostgreSQL."""

import collections
import itertools

import sqlalchemy as sa
from oslo_utils import timeutils

from ironic_lite.common import hash_ring
from ironic_lite.common import ring_impact
from ironic_lite.common import ring_position
from ironic_lite.conf import CONF
from ironic_lite.db import migration
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
from ironic_lite.db.sqlalchemy import models
from tests import base
from tests import services
from tests.unit.common import test_hash_ring as ring_tests

RING_KEYS = (('', 'fake-hardware'), ('', 'ipmi'),
             ('rack2', 'fake-hardware'), ('rack2', 'ipmi'))

# Five conductors over two groups; rack2's fake-hardware ring starts with a
# single member, which owns the whole ring.
FLEET = {
    'conductor-1': ('', ('fake-hardware', 'ipmi')),
    'conductor-2': ('', ('fake-hardware',)),
    'conductor-3': ('', ('ipmi', 'fake-hardware')),
    'rack2-a': ('rack2', ('fake-hardware', 'ipmi')),
    'rack2-b': ('rack2', ('ipmi',)),
}
JOINING = ('rack2-c', 'rack2', ('fake-hardware', 'ipmi'))
LEAVING = 'conductor-2'


def insert_nodes(dbapi, nodes, **values) -> None:
    """Insert nodes in one statement.

    ``nodes`` are ``(uuid, driver, conductor_group)``; ``values`` are
    columns set on every node. Each node is named after its index.
    """
    now = timeutils.utcnow()
    rows = [dict({'created_at': now, 'maintenance': False,
                  'console_enabled': False, 'protected': False,
                  'provision_state': 'available',
                  'power_state': 'power off'}, **values,
                 uuid=node_uuid, name='node-%05d' % i, driver=driver,
                 conductor_group=group,
                 ring_position=ring_position.ring_position(node_uuid))
            for i, (node_uuid, driver, group) in enumerate(nodes)]
    with dbapi.engine.begin() as connection:
        connection.execute(models.Node.__table__.insert(), rows)


def fleet_nodes(count: int = ring_tests.NODE_COUNT):
    """``count`` nodes, spread evenly over RING_KEYS."""
    return [(node_uuid, RING_KEYS[i % 4][1], RING_KEYS[i % 4][0])
            for i, node_uuid in enumerate(ring_tests.node_uuids(count))]


class RingFilterTests:
    """The test bodies; the subclasses choose the database."""

    dbapi: db_sqlalchemy.Connection

    # Ownership

    def node_uuids_of(self, hostname: str, manager) -> tuple[list, int]:
        filters = {'ring_arcs': manager.arcs_of(hostname)}
        return ([row.uuid for row in self.dbapi.get_node_list(filters)],
                self.dbapi.count_nodes(filters))

    def assertOwnership(self, nodes, alive: set[str], gone=()) -> None:
        manager = hash_ring.HashRingManager(self.dbapi)
        rings = manager.rings()
        self.assertEqual(alive, {h for r in rings.values() for h in r.hosts})
        expected = {hostname: set() for hostname in alive}
        for node_uuid, driver, group in nodes:
            expected[rings[(group, driver)].owner(node_uuid)].add(node_uuid)

        for hostname in sorted(alive):
            found, count = self.node_uuids_of(hostname, manager)
            self.assertEqual(len(found), len(set(found)))
            self.assertEqual(expected[hostname], set(found), hostname)
            self.assertEqual(len(found), count, hostname)
            self.assertTrue(found)
        for hostname in list(gone) + ['unknown-host']:
            self.assertEqual(([], 0), self.node_uuids_of(hostname, manager))
        # The shares partition the served nodes; orphans are nobody's.
        self.assertEqual(len(nodes), sum(map(len, expected.values())))

    def assertPagesInOrder(self, nodes, hostname: str) -> None:
        """Pages of the filtered list, sorted on another column than the
        id, hold each node of the conductor once, in order."""
        manager = hash_ring.HashRingManager(self.dbapi)
        ring_arcs = manager.arcs_of(hostname)
        rings = manager.rings()
        names = {node_uuid: 'node-%05d' % i
                 for i, (node_uuid, _, _) in enumerate(nodes)}
        expected = sorted(
            (node_uuid for node_uuid, driver, group in nodes
             if rings[(group, driver)].owner(node_uuid) == hostname),
            key=names.get, reverse=True)
        paged, marker = [], None
        while True:
            page = self.dbapi.get_node_list({'ring_arcs': ring_arcs},
                                            limit=499, marker=marker,
                                            sort_key='name', sort_dir='desc')
            paged += [row.uuid for row in page]
            if len(page) < 499:
                break
            marker = page[-1]
        self.assertEqual(expected, paged)

    def test_each_conductor_gets_exactly_its_nodes(self):
        nodes = fleet_nodes()
        # Nodes no conductor serves: an unknown group and hardware type.
        orphans = [(u, driver, group) for u, (driver, group) in zip(
            ring_tests.node_uuids(40, seed=7),
            itertools.cycle([('fake-hardware', 'rack9'), ('redfish', '')]))]
        insert_nodes(self.dbapi, nodes + orphans)
        ring_tests.register_fleet(self.dbapi, FLEET)

        alive = set(FLEET)
        self.assertOwnership(nodes, alive)
        self.assertPagesInOrder(nodes, 'conductor-1')

        hostname, group, hardware_types = JOINING
        ring_tests.register_conductor(self.dbapi, hostname, group,
                                      hardware_types)
        self.assertOwnership(nodes, alive | {hostname})

        self.dbapi.unregister_conductor(LEAVING)
        self.assertOwnership(nodes, alive - {LEAVING} | {hostname},
                             gone=[LEAVING])

    # Order of positions

    # Arc bounds must compare like the integers tooz compares: byte order
    # of lowercase hex, digits before letters.
    POSITIONS = ['0' * 32, '0' * 31 + '1', '0' * 31 + 'a', '09' + 'f' * 30,
                 '9' * 32, '9f' + 'f' * 30, 'a' + '0' * 31, 'a0' * 16,
                 'af' + 'f' * 30, 'b' + '0' * 31, 'e' + 'f' * 31,
                 'f' + '0' * 31, 'f' * 32]

    def positions_in(self, arcs) -> list[str]:
        rows = self.dbapi.get_node_list({'ring_arcs': {
            ('', 'fake-hardware'): tuple(arcs)}})
        return sorted(row.ring_position for row in rows)

    def test_arc_bounds_order_like_integers(self):
        now = timeutils.utcnow()
        uuids = ring_tests.node_uuids(len(self.POSITIONS), seed=3)
        with self.dbapi.engine.begin() as connection:
            connection.execute(models.Node.__table__.insert(), [
                {'uuid': u, 'driver': 'fake-hardware', 'conductor_group': '',
                 'ring_position': p, 'created_at': now, 'maintenance': False,
                 'console_enabled': False, 'protected': False}
                for u, p in zip(uuids, self.POSITIONS, strict=True)])

        bounds = [None] + self.POSITIONS
        for low, high in itertools.product(bounds, repeat=2):
            expected = [p for p in self.POSITIONS
                        if (low is None or int(low, 16) <= int(p, 16))
                        and (high is None or int(p, 16) < int(high, 16))]
            self.assertEqual(expected, self.positions_in([(low, high)]),
                             (low, high))

        # Several arcs of one ring.
        arcs = [(None, '0' * 31 + 'a'), ('9' * 32, 'a0' * 16),
                ('f' + '0' * 31, None)]
        self.assertEqual(
            ['0' * 32, '0' * 31 + '1', '9' * 32, '9f' + 'f' * 30,
             'a' + '0' * 31, 'f' + '0' * 31, 'f' * 32],
            self.positions_in(arcs))

        # No arc, or no ring, selects nothing; one open arc everything.
        self.assertEqual([], self.positions_in([]))
        self.assertEqual([], self.dbapi.get_node_list({'ring_arcs': {}}))
        self.assertEqual(0, self.dbapi.count_nodes({'ring_arcs': {}}))
        self.assertEqual(self.POSITIONS, self.positions_in([(None, None)]))

        # Other rings are not selected.
        self.assertEqual([], self.dbapi.get_node_list({'ring_arcs': {
            ('', 'ipmi'): ((None, None),),
            ('rack2', 'fake-hardware'): ((None, None),)}}))

    # Orphans: whole rings in or out

    def test_ring_keys_select_whole_rings(self):
        nodes = fleet_nodes(400) + [
            (u, driver, group) for u, (driver, group) in zip(
                ring_tests.node_uuids(20, seed=11),
                itertools.cycle([('fake-hardware', 'rack9'),
                                 ('redfish', '')]))]
        insert_nodes(self.dbapi, nodes)
        served = frozenset({('', 'fake-hardware'), ('rack2', 'ipmi')})

        def listed(filters, **kwargs) -> list[str]:
            return [row.uuid for row in self.dbapi.get_node_list(
                filters, **kwargs)]

        inside = sorted(u for u, d, g in nodes if (g, d) in served)
        outside = sorted(u for u, d, g in nodes if (g, d) not in served)
        self.assertEqual(inside, sorted(listed({'ring_keys_in': served})))
        self.assertEqual(outside,
                         sorted(listed({'ring_keys_not_in': served})))
        self.assertEqual([], listed({'ring_keys_in': frozenset()}))
        self.assertEqual(len(nodes), len(listed(
            {'ring_keys_not_in': frozenset()})))
        self.assertEqual(len(outside), self.dbapi.count_nodes(
            {'ring_keys_not_in': served}))
        # With another filter, page by page.
        paged, marker = [], None
        while True:
            page = self.dbapi.get_node_list(
                {'ring_keys_not_in': served, 'driver': 'fake-hardware'},
                limit=7, marker=marker, sort_key='name')
            paged += [row.uuid for row in page]
            if len(page) < 7:
                break
            marker = page[-1]
        self.assertEqual(sorted(u for u, d, g in nodes
                                if (g, d) not in served
                                and d == 'fake-hardware'), sorted(paged))

        self.assertEqual(collections.Counter((g, d) for _, d, g in nodes),
                         self.dbapi.count_nodes_by_ring_key())
        self.assertEqual(
            collections.Counter((g, d) for _, d, g in nodes
                                if (g, d) not in served),
            self.dbapi.count_nodes_by_ring_key({'ring_keys_not_in': served}))

    def test_impact_arcs_select_the_nodes_that_move(self):
        nodes = fleet_nodes(2000)
        insert_nodes(self.dbapi, nodes)
        ring_tests.register_fleet(self.dbapi, FLEET)
        before = hash_ring.HashRingManager(self.dbapi).current()
        for leaving in ('conductor-1', 'rack2-a'):
            impact = ring_impact.of_stopping(
                before, leaving, 2 ** CONF.hash_partition_exponent)
            after = {key: hash_ring.Ring(ring.hosts - {leaving},
                                         2 ** CONF.hash_partition_exponent)
                     for key, ring in before.rings.items()
                     if ring.hosts - {leaving}}
            expected = collections.defaultdict(set)
            for node_uuid, driver, group in nodes:
                ring = before.rings[(group, driver)]
                if ring.owner(node_uuid) == leaving:
                    new_ring = after.get((group, driver))
                    expected[new_ring and new_ring.owner(node_uuid)].add(
                        node_uuid)
            found = {owner: {row.uuid for row in self.dbapi.get_node_list(
                {'ring_arcs': arcs})} for owner, arcs in impact.moves.items()}
            if impact.orphaned:
                found[None] = {row.uuid for row in self.dbapi.get_node_list(
                    {'ring_arcs': impact.orphaned})}
            self.assertEqual(dict(expected), found, leaving)
            self.assertEqual(
                set().union(*expected.values()),
                {row.uuid for row in self.dbapi.get_node_list(
                    {'ring_arcs': impact.served()})})


class SQLiteRingFilterTest(RingFilterTests, base.DBTestCase):
    pass


class ServerDatabase(RingFilterTests):
    """The tests on a scratch database of a server, migrated once for the
    class and emptied after each test."""

    SERVER_URL: str
    COLLATION: str  # of nodes.ring_position
    COLLATION_QUERY = ("SELECT collation_name FROM information_schema.columns"
                       " WHERE table_name = 'nodes' AND column_name = "
                       "'ring_position'")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.scratch = services.ScratchDatabase(cls.SERVER_URL)
        cls.server_dbapi = cls.unreachable = None
        try:
            url = cls.scratch.create()
        except OSError as e:
            cls.unreachable = 'No database server at %s: %s' % (
                cls.SERVER_URL, e)
            return
        cls.server_dbapi = db_sqlalchemy.Connection(url)
        migration.upgrade(engine=cls.server_dbapi.engine)

    @classmethod
    def tearDownClass(cls):
        if cls.server_dbapi is not None:
            cls.server_dbapi.dispose()
        cls.scratch.drop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if self.unreachable:
            services.unavailable(self, self.unreachable)
        self.dbapi = self.server_dbapi
        self.addCleanup(self._empty_tables)

    def _empty_tables(self) -> None:
        with self.dbapi.engine.begin() as connection:
            for table in reversed(models.Base.metadata.sorted_tables):
                connection.execute(table.delete())

    def test_position_column_orders_like_bytes(self):
        with self.dbapi.engine.connect() as connection:
            collation = connection.execute(sa.text(
                self.COLLATION_QUERY)).scalar_one()
        self.assertEqual(self.COLLATION, collation)


class MySQLRingFilterTest(ServerDatabase, base.TestCase):
    SERVER_URL = services.MYSQL_URL
    COLLATION = 'ascii_bin'
    COLLATION_QUERY = (ServerDatabase.COLLATION_QUERY
                       + ' AND table_schema = DATABASE()')


class PostgreSQLRingFilterTest(ServerDatabase, base.TestCase):
    SERVER_URL = services.POSTGRES_URL
    COLLATION = 'C'
    COLLATION_QUERY = (ServerDatabase.COLLATION_QUERY
                       + ' AND table_catalog = current_database()')
