"""A page of a conductor's nodes (``?conductor=``, the ``ring_arcs`` filter
in id order) is read through the ring page index, never by a full scan or
a sort of the conductor's nodes, on SQLite, MariaDB and PostgreSQL; and its
pages hold exactly the conductor's nodes, in order.

The plans are the databases' own answers (EXPLAIN) for the very statements
``get_node_list`` runs, captured as they go to the database.
"""

import collections
import json

import sqlalchemy as sa

from ironic_lite.common import hash_ring
from ironic_lite.db.sqlalchemy import api as db_api
from ironic_lite.db.sqlalchemy import models
from tests.unit.common import test_hash_ring as ring_tests
from tests.unit.db import base as db_base
from tests.unit.db import test_ring_filter

FLEET = {
    'c1': ('', ('fake-hardware', 'ipmi')),
    'c2': ('', ('fake-hardware', 'ipmi')),
    'c3': ('', ('fake-hardware', 'ipmi')),
    'r1': ('rack2', ('fake-hardware', 'ipmi')),
    'r2': ('rack2', ('ipmi',)),
}
NODES = 6000
PAGE = 300
INDEX = 'nodes_ring_page_idx'
ARCS_INDEX = 'nodes_ring_idx'


def _halves(arc: tuple) -> list[tuple]:
    """An arc closed at both ends as two adjacent arcs; another as is."""
    low, high = arc
    if low is None or high is None:
        return [arc]
    middle = '%032x' % ((int(low, 16) + int(high, 16)) // 2)
    return [(low, middle), (middle, high)]


class RingPagePlanTests:
    """The test bodies; a subclass names the backend."""

    backend = None
    # Nodes for the plan: enough that reading the page in index order is
    # what the planner itself finds cheapest.
    PLAN_NODES = NODES
    MERGES_WALKS = False

    def setUp(self):
        super().setUp()
        # A connection kept for the whole class outlives the rows of the
        # earlier tests, and with them the rings they found worth walking.
        self.dbapi._walk_memo.clear()
        ring_tests.register_fleet(self.dbapi, FLEET)
        self.manager = hash_ring.HashRingManager(self.dbapi)

    def insert_fleet(self, count: int = NODES) -> None:
        self.nodes = test_ring_filter.fleet_nodes(count)
        test_ring_filter.insert_nodes(self.dbapi, self.nodes)
        self.analyze()

    def analyze(self) -> None:
        """Statistics as a server keeps them on its own (SQLite has none
        unless told, and a deployment never tells it)."""

    def owned(self, hostname: str) -> list[str]:
        rings = self.manager.rings()
        return [node_uuid for node_uuid, driver, group in self.nodes
                if rings[(group, driver)].owner(node_uuid) == hostname]

    def walk(self, hostname: str, sort_dir: str, **filters) -> list:
        """Every page of the conductor's nodes; the pages' UUIDs."""
        query = dict(filters, ring_arcs=self.manager.arcs_of(hostname))
        pages, marker = [], None
        while True:
            page = self.dbapi.get_node_list(query, limit=PAGE, marker=marker,
                                            sort_dir=sort_dir,
                                            columns=('id', 'uuid'),
                                            plain=True)
            pages.append([row.uuid for row in page])
            if len(page) < PAGE:
                return pages
            marker = self.dbapi.get_node_by_uuid(page[-1].uuid)

    def test_pages_hold_the_conductor_nodes_in_id_order(self):
        self.insert_fleet()
        # Node ids follow the insertion order of self.nodes. r1 has two
        # rings to walk (one alone), c1 two to read through its arcs.
        for hostname in ('c1', 'r1', 'r2'):
            expected = self.owned(hostname)
            self.assertGreater(len(expected), 2 * PAGE)
            for sort_dir, order in (('asc', expected),
                                    ('desc', expected[::-1])):
                pages = self.walk(hostname, sort_dir)
                self.assertEqual(order, [u for page in pages for u in page])
                for page in pages[:-1]:
                    self.assertEqual(PAGE, len(page))

    def test_other_filters_apply_before_the_page_is_cut(self):
        self.insert_fleet()
        first = self.owned('c2')[:5]
        table = models.Node.__table__
        self.execute(table.update().where(table.c.uuid.in_(first))
                     .values(provision_state='active'))
        pages = self.walk('c2', 'asc', provision_state='active')
        self.assertEqual([first], pages)

    def test_unknown_conductor_has_no_page(self):
        self.insert_fleet()
        self.assertEqual([[]], self.walk('nobody', 'asc'))

    def captured(self, call) -> tuple:
        """What ``call()`` returns, and the SELECTs it ran."""
        statements = []

        def capture(conn, cursor, statement, parameters, context,
                    executemany):
            if statement.lstrip().upper().startswith('SELECT'):
                statements.append((statement, parameters))

        engine = self.dbapi.engine
        sa.event.listen(engine, 'before_cursor_execute', capture)
        try:
            result = call()
        finally:
            sa.event.remove(engine, 'before_cursor_execute', capture)
        return result, statements

    def captured_selects(self, hostname: str, marker=None) -> list:
        rows, statements = self.captured(
            lambda: self.dbapi.get_node_list(
                {'ring_arcs': self.manager.arcs_of(hostname)}, limit=PAGE,
                marker=marker, columns=('id', 'uuid', 'name'), plain=True))
        self.assertEqual(PAGE, len(rows))
        return statements

    def set_states(self) -> None:
        """Some nodes of every ring in other provision states."""
        table = models.Node.__table__
        uuids = [node_uuid for node_uuid, _, _ in self.nodes]
        for state, chosen in (('active', uuids[::7]),
                              ('manageable', uuids[3::11])):
            self.execute(table.update().where(table.c.uuid.in_(chosen))
                         .values(provision_state=state))
        self.analyze()

    def test_counts_are_the_nodes_on_the_arcs(self):
        self.insert_fleet()
        self.set_states()
        states = {u: s for u, s in self.execute(sa.select(
            models.Node.uuid, models.Node.provision_state))}
        for hostname in ('c1', 'c3', 'r1', 'r2', 'nobody'):
            arcs = self.manager.arcs_of(hostname)
            expected = collections.Counter(
                states[u] for u in self.owned(hostname))
            by_state = self.dbapi.count_nodes_by_provision_state(
                {'ring_arcs': arcs})
            self.assertEqual(dict(expected), by_state, hostname)
            self.assertEqual(sum(expected.values()),
                             self.dbapi.count_nodes({'ring_arcs': arcs}))
            # The general count (another filter, one that selects all)
            # agrees.
            self.assertEqual(by_state,
                             self.dbapi.count_nodes_by_provision_state(
                                 {'ring_arcs': arcs, 'uuid': None}))
        self.assertEqual(0, self.dbapi.count_nodes({'ring_arcs': {}}))
        self.assertEqual({}, self.dbapi.count_nodes_by_provision_state(
            {'ring_arcs': {}}))

    def test_counts_read_the_ring_index_only(self):
        self.insert_fleet(self.PLAN_NODES)
        self.set_states()
        for hostname in ('c1', 'r2'):
            arcs = {'ring_arcs': self.manager.arcs_of(hostname)}
            for call in (self.dbapi.count_nodes,
                         self.dbapi.count_nodes_by_provision_state):
                _, statements = self.captured(
                    lambda call=call, arcs=arcs: call(arcs))
                self.assertTrue(statements)
                with self.dbapi.engine.connect() as connection:
                    for statement, parameters in statements:
                        self.check_plan(connection, statement, parameters,
                                        'count')

    def test_walk_condition_is_the_owner_on_the_ring(self):
        """The search tree a walk checks each position with selects
        exactly the nodes whose owner on their ring is the host."""
        self.insert_fleet(1500)
        node = models.Node
        rings = self.manager.rings()
        for (group, driver), ring in rings.items():
            for hostname in sorted(ring.hosts):
                expected = {u for u, d, g in self.nodes
                            if (g, d) == (group, driver)
                            and ring.owner(u) == hostname}
                self.assertTrue(expected)
                arcs = ring.arcs_of(hostname)
                # The same positions as adjacent arcs in another order, as
                # an impact's arcs may come.
                split = [part for arc in arcs for part in _halves(arc)]
                for given in (arcs, tuple(reversed(split))):
                    selected = {u for (u,) in self.execute(
                        sa.select(node.uuid).where(
                            node.conductor_group == group,
                            node.driver == driver,
                            db_api._on_arcs(given)))}
                    self.assertEqual(expected, selected,
                                     (group, driver, hostname, given))

    def test_a_ring_found_to_need_a_walk_is_walked_at_once(self):
        """r2's arcs hold more than a page over its share: once read, the
        next pages walk the ring without reading the arcs again, and
        give the same pages."""
        self.insert_fleet()
        first = {self.kind_of(s) for s in self.captured_selects('r2')}
        self.assertEqual({'arcs', 'walk', 'rows'}, first)
        again = {self.kind_of(s) for s in self.captured_selects('r2')}
        self.assertEqual({'walk', 'rows'}, again)
        self.assertEqual(self.owned('r2'),
                         [u for page in self.walk('r2', 'asc') for u in page])

    def test_page_uses_the_index_without_scan_or_sort(self):
        self.insert_fleet(self.PLAN_NODES)
        walked = set()
        merged = False
        for hostname in ('c1', 'r1', 'r2'):
            marker = self.dbapi.get_node_by_uuid(self.owned(hostname)[PAGE])
            for marker_row in (None, marker):
                statements = self.captured_selects(hostname, marker_row)
                # Per ring, its arcs and perhaps its walk; the page's rows.
                self.assertGreaterEqual(len(statements), 2)
                with self.dbapi.engine.connect() as connection:
                    for statement, parameters in statements:
                        kind = self.kind_of(statement)
                        walked.add(kind)
                        merged |= (kind == 'walk'
                                   and 'UNION ALL' in statement)
                        self.check_plan(connection, statement, parameters,
                                        kind)
        # Both ways of reading a ring were seen and checked.
        self.assertEqual({'arcs', 'walk', 'rows'}, walked)
        # r1's two rings walked in one statement, where the database
        # merges walks.
        self.assertEqual(self.MERGES_WALKS, merged)

    @staticmethod
    def kind_of(statement) -> str:
        """Which of a page's statements: a ring read through its arcs, a
        ring walked in id order, or the page's rows by id."""
        if isinstance(statement, tuple):
            statement = statement[0]
        # (A host alone on a ring reads it without a ring_position term.)
        if 'nodes.uuid' in statement:
            return 'rows'
        return 'walk' if 'ORDER BY' in statement else 'arcs'

    def test_small_share_is_read_through_its_arcs_only(self):
        """c1 owns about a third of rings of 1 500 nodes: fewer than a
        page over its share, so its arcs are read and nothing walked; r2
        owns half of a ring: its arcs hold more than that, and the ring is
        walked in id order."""
        self.insert_fleet()
        kinds = {h: {self.kind_of(s) for s in self.captured_selects(h)}
                 for h in ('c1', 'r2')}
        self.assertEqual({'c1': {'arcs', 'rows'},
                          'r2': {'arcs', 'walk', 'rows'}}, kinds)

    def check_plan(self, connection, statement, parameters,
                   kind: str) -> None:
        raise NotImplementedError


class TestRingPagePlanSQLite(RingPagePlanTests, db_base.DBLayerTestCase):
    backend = db_base.SQLITE
    MERGES_WALKS = True

    def check_plan(self, connection, statement, parameters, kind):
        details = [row[3] for row in connection.exec_driver_sql(
            'EXPLAIN QUERY PLAN ' + statement, parameters)]
        plan = '; '.join(details)
        if kind == 'count':
            # Range counts of the covering index, summed; grouping the
            # few states each gives is all that is sorted.
            searches = [d for d in details if 'nodes' in d.split(' ')]
            self.assertTrue(searches, plan)
            for search in searches:
                self.assertTrue(search.startswith(
                    'SEARCH nodes USING COVERING INDEX %s (conductor_group=? '
                    'AND driver=?' % ARCS_INDEX), plan)
            return
        for detail in details:
            self.assertFalse(detail.startswith('SCAN'), plan)
            self.assertNotIn('TEMP B-TREE', detail, plan)
        searches = [d for d in details if d.startswith('SEARCH')]
        self.assertTrue(searches, plan)
        ring = ('SEARCH nodes USING COVERING INDEX %s (conductor_group=? '
                'AND driver=?')
        expected = {
            'walk': (ring % INDEX,),
            # An arc's range of positions; a ring its host has alone,
            # (conductor_group, driver) only.
            'arcs': (ring % ARCS_INDEX,),
            'rows': ('SEARCH nodes USING INTEGER PRIMARY KEY',)}[kind]
        for search in searches:
            self.assertTrue(search.startswith(expected), plan)


class TestRingPagePlanMySQL(RingPagePlanTests, db_base.DBLayerTestCase):
    backend = db_base.MYSQL

    def analyze(self):
        self.execute(sa.text('ANALYZE TABLE nodes'))

    def check_plan(self, connection, statement, parameters, kind):
        rows = [dict(row._mapping) for row in connection.exec_driver_sql(
            'EXPLAIN ' + statement, parameters)]
        if kind == 'count':
            # The arcs' range counts, from the index alone; the derived
            # table of their sums is read whole, as it should be.
            reads = [row for row in rows if row['table'] == 'nodes']
            self.assertTrue(reads, rows)
            for row in reads:
                self.assertEqual('range', row['type'], rows)
                self.assertEqual(ARCS_INDEX, row['key'], rows)
                self.assertIn('Using index', row['Extra'] or '', rows)
            return
        for row in rows:
            self.assertNotEqual('ALL', row['type'], rows)  # full scan
            self.assertNotEqual('index', row['type'], rows)  # full index
            self.assertNotIn('filesort', row['Extra'] or '', rows)
            self.assertNotIn('temporary', row['Extra'] or '', rows)
        keys = {row['key'] for row in rows}
        expected = {'walk': INDEX, 'arcs': ARCS_INDEX, 'rows': 'PRIMARY'}
        self.assertEqual({expected[kind]}, keys, rows)


class TestRingPagePlanPostgreSQL(RingPagePlanTests,
                                 db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL
    # With fewer, the planner rightly prefers to read the conductor's few
    # hundred nodes through the arcs and sort them.
    PLAN_NODES = 40000

    def analyze(self):
        # Vacuumed too, as autovacuum keeps a live table: the dead rows the
        # earlier tests of the class left behind otherwise turn the plan
        # of the walk to the primary key.
        with self.dbapi.engine.connect().execution_options(
                isolation_level='AUTOCOMMIT') as connection:
            connection.exec_driver_sql('VACUUM ANALYZE nodes')

    def check_plan(self, connection, statement, parameters, kind):
        (document,) = connection.exec_driver_sql(
            'EXPLAIN (FORMAT JSON) ' + statement, parameters).one()
        if isinstance(document, str):
            document = json.loads(document)
        plans, seen = [document[0]['Plan']], []
        while plans:
            plan = plans.pop()
            seen.append((plan['Node Type'], plan.get('Index Name')))
            plans.extend(plan.get('Plans', ()))
        if kind == 'count':
            # Grouping the few states of each arc may sort or hash them.
            for node_type, _ in seen:
                self.assertNotEqual('Seq Scan', node_type, seen)
            self.assertEqual({ARCS_INDEX},
                             {name for _, name in seen if name}, seen)
            return
        for node_type, _ in seen:
            self.assertNotIn(node_type, ('Seq Scan', 'Sort',
                                         'Incremental Sort'), seen)
        indexes = {name for _, name in seen if name}
        expected = {'walk': INDEX, 'arcs': ARCS_INDEX, 'rows': 'nodes_pkey'}
        self.assertEqual({expected[kind]}, indexes, seen)
