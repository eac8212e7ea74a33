"""A page of a conductor's nodes (``?conductor=``, the ``ring_arcs`` filter
in id order) is one statement that reads the ring indexes and the page's
rows by primary key, never a full scan, never a sort of rows, on SQLite,
MariaDB and PostgreSQL; and its pages hold exactly the conductor's nodes,
in order.

The plans are the databases' own answers (EXPLAIN) for the very statements
``get_node_list`` runs, captured as they go to the database.
"""

import collections
import json

import fixtures
import sqlalchemy as sa

from ironic_lite.common import hash_ring
from ironic_lite.db import migration
from ironic_lite.db.sqlalchemy import api as db_api
from ironic_lite.db.sqlalchemy import models
from tests.unit.common import test_hash_ring as ring_tests
from tests.unit.db import base as db_base
from tests.unit.db import test_ring_filter

FLEET = {
    'c1': ('', ('fake-hardware', 'ipmi')),
    'c2': ('', ('fake-hardware', 'ipmi')),
    'c3': ('', ('fake-hardware', 'ipmi')),
    'c4': ('', ('fake-hardware', 'ipmi')),
    'c5': ('', ('fake-hardware', 'ipmi')),
    'c6': ('', ('fake-hardware', 'ipmi')),
    'c7': ('', ('fake-hardware', 'ipmi')),
    'c8': ('', ('fake-hardware', 'ipmi')),
    'r1': ('rack2', ('fake-hardware', 'ipmi')),
    'r2': ('rack2', ('ipmi',)),
}
NODES = 12000
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

    def test_pages_of_nodes_as_the_conductors_read_them(self):
        """ORM nodes, with filters a statement kept per shape does not
        bind (the conductor's periodic tasks): the same pages."""
        self.insert_fleet()
        for hostname in ('c1', 'r2'):
            owned = self.owned(hostname)
            filters = {'ring_arcs': self.manager.arcs_of(hostname),
                       'reserved': False, 'maintenance': False}
            for sort_dir, order in (('asc', owned), ('desc', owned[::-1])):
                marker = self.dbapi.get_node_by_uuid(order[PAGE - 1])
                nodes = self.dbapi.get_node_list(
                    filters, limit=PAGE, marker=marker, sort_dir=sort_dir,
                    columns=('id', 'uuid', 'driver'))
                self.assertEqual(order[PAGE:2 * PAGE],
                                 [node.uuid for node in nodes])

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
        arcs = self.manager.arcs_of(hostname)
        rows, statements = self.captured(
            lambda: self.dbapi.get_node_list(
                {'ring_arcs': arcs}, limit=PAGE, marker=marker,
                columns=('id', 'uuid', 'name'), plain=True))
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

    def ways(self, hostname: str) -> dict:
        """Whether each of the host's rings is walked (True) or read
        through its arcs, as its last page found out."""
        # (Known: no statement, no connection.)
        plan = db_api._ring_page_plan(None, self.manager.arcs_of(hostname),
                                      {}, PAGE, self.dbapi._walk_memo)
        return {ring: walk for ring, _, walk in plan}

    def test_a_ring_is_counted_once_then_a_page_is_one_statement(self):
        """The first page counts the arcs of each ring (up to a page over
        its share) to choose how to read it; the next pages are one
        statement each, built once, and give the same pages."""
        self.insert_fleet()
        for hostname in ('c1', 'r1', 'r2'):
            first = [self.kind_of(s) for s in self.captured_selects(hostname)]
            self.assertEqual('page', first[-1])
            self.assertEqual({'count'}, set(first[:-1]))
            built = db_api._ring_page_select.cache_info().misses
            for _ in range(2):
                self.assertEqual(['page'], [
                    self.kind_of(s) for s in self.captured_selects(hostname)])
            self.assertEqual(built,
                             db_api._ring_page_select.cache_info().misses)
            self.assertEqual(
                self.owned(hostname),
                [u for page in self.walk(hostname, 'asc') for u in page])

    def test_a_stale_choice_costs_but_gives_the_same_pages(self):
        """The way a ring is read is remembered for a while: a ring read
        the other way than its share calls for still pages right."""
        self.insert_fleet()
        for hostname in ('c1', 'r2'):
            self.dbapi._walk_memo.clear()
            self.walk(hostname, 'asc')
            # The counts remembered turned around: none on the rings
            # walked, more than any page's worth on the others.
            walked = self.ways(hostname)
            memo = self.dbapi._walk_memo
            for key, (until, _) in list(memo.items()):
                memo[key] = (until, 0 if walked[key[0]] else 10 ** 9)
            self.assertEqual({ring: not walk for ring, walk in walked.items()},
                             self.ways(hostname))
            for sort_dir, order in (('asc', self.owned(hostname)),
                                    ('desc', self.owned(hostname)[::-1])):
                pages = self.walk(hostname, sort_dir)
                self.assertEqual(order, [u for page in pages for u in page])
                for page in pages[:-1]:
                    self.assertEqual(PAGE, len(page))

    def test_rings_are_walked_for_the_nodes_on_all_of_them(self):
        """A page takes its nodes from all of the conductor's rings: two
        rings are walked when their nodes together outnumber
        _WALK_FRACTION of a page over the share, though neither does
        alone; read through their arcs when together they do not."""
        arcs = self.manager.arcs_of('c1')
        caps = {ring: max(PAGE, int(db_api._WALK_FRACTION * PAGE
                                    / db_api._share(tuple(ring_arcs))))
                for ring, ring_arcs in arcs.items()}
        cap = min(caps.values())
        for each, walked in ((cap // 2 + 1, True), (cap // 2 - 1, False)):
            memo = {(ring, tuple(ring_arcs), repr([]), PAGE):
                    (float('inf'), each)
                    for ring, ring_arcs in arcs.items()}
            plan = db_api._ring_page_plan(None, arcs, {}, PAGE, memo)
            self.assertEqual(dict.fromkeys(arcs, walked),
                             {ring: walk for ring, _, walk in plan})

    def test_rings_beyond_the_arms_of_one_statement_are_walked(self):
        """A page is one statement of at most _PAGE_ARMS arms: a ring
        whose arcs would make more is walked, and pages stay right."""
        self.insert_fleet()
        arcs = self.manager.arcs_of('c1')
        first, second = sorted(arcs)
        self.useFixture(fixtures.MockPatchObject(
            db_api, '_PAGE_ARMS', len(arcs) + len(arcs[first]) + 1))
        with self.dbapi.engine.connect() as connection:
            plan = db_api._ring_page_plan(
                connection, {first: arcs[first], second: arcs[second]}, {},
                PAGE, {})
        self.assertEqual({first: False, second: True},
                         {ring: walk for ring, _, walk in plan})
        pages = self.walk('c1', 'asc')
        self.assertEqual(self.owned('c1'), [u for page in pages for u in page])

    def test_page_uses_the_index_without_scan_or_sort(self):
        self.insert_fleet(self.PLAN_NODES)
        self.check_pages(('c1', 'r1', 'r2'), self.PLAN_KINDS)

    def test_arcs_page_sorts_only_ids(self):
        """A small share, its arcs read: the one sort is of their ids."""
        self.insert_fleet()
        self.check_pages(('c1',), {'count', 'arcs'})

    def check_pages(self, hostnames, kinds: set) -> None:
        seen = set()
        for hostname in hostnames:
            marker = self.dbapi.get_node_by_uuid(self.owned(hostname)[PAGE])
            for marker_row in (None, marker):
                statements = self.captured_selects(hostname, marker_row)
                ways = self.ways(hostname)
                with self.dbapi.engine.connect() as connection:
                    for statement, parameters in statements:
                        kind = self.kind_of(statement)
                        if kind == 'page':
                            kind = 'walk' if all(ways.values()) else 'arcs'
                        seen.add(kind)
                        self.check_plan(connection, statement, parameters,
                                        kind)
        # Every way of reading a page was seen and checked.
        self.assertEqual(kinds, seen)

    @staticmethod
    def kind_of(statement) -> str:
        """Which of a page's statements: the count of a ring's arcs, or
        the page."""
        if isinstance(statement, tuple):
            statement = statement[0]
        return 'count' if statement.startswith('SELECT count(*)') else 'page'

    def test_small_share_is_read_through_its_arcs_only(self):
        """c1 owns about an eighth of two rings of 3 000 nodes (750 in
        all): fewer than _WALK_FRACTION of a page over its share (1 440),
        so its arcs are read and nothing walked; r2 owns half of a ring
        (1 500 against 360): the ring is walked in id order."""
        self.insert_fleet()
        for hostname in ('c1', 'r2'):
            self.captured_selects(hostname)
        self.assertEqual({('', 'fake-hardware'): False, ('', 'ipmi'): False},
                         self.ways('c1'))
        self.assertEqual({('rack2', 'ipmi'): True}, self.ways('r2'))

    def check_plan(self, connection, statement, parameters,
                   kind: str) -> None:
        raise NotImplementedError


class TestRingPagePlanSQLite(RingPagePlanTests, db_base.DBLayerTestCase):
    backend = db_base.SQLITE
    PLAN_KINDS = {'count', 'arcs', 'walk'}

    def check_plan(self, connection, statement, parameters, kind):
        rows = [(row[0], row[1], row[3]) for row in connection.exec_driver_sql(
            'EXPLAIN QUERY PLAN ' + statement, parameters)]
        details = [detail for _, _, detail in rows]
        plan = '; '.join(details)
        searches = [d for d in details if d.startswith('SEARCH')]
        self.assertTrue(searches, plan)
        for detail in details:
            self.assertFalse(detail.startswith('SCAN nodes'), plan)
        ring = ('SEARCH nodes USING COVERING INDEX %s (conductor_group=? '
                'AND driver=?')
        if kind == 'count':
            # Range counts of the covering index; grouping the few states
            # each gives is all that is sorted.
            for search in searches:
                self.assertTrue(search.startswith(ring % ARCS_INDEX), plan)
            return
        if kind == 'walk':
            # Each ring in id order from the ring-page index alone (it
            # holds a list page's columns: no row read); several merged in
            # id order. Nothing sorted.
            for detail in details:
                self.assertNotIn('TEMP B-TREE', detail, plan)
            for search in searches:
                self.assertTrue(search.startswith(ring % INDEX), plan)
            return
        # The ids of the page from the arcs' ranges (and walks), sorted
        # in a list; the rows by primary key in the list's order.
        self.assertTrue(searches[0].startswith(
            'SEARCH nodes USING INTEGER PRIMARY KEY'), plan)
        ids = {node for node, _, detail in rows
               if detail.startswith('LIST SUBQUERY')}
        self.assertEqual(1, len(ids), plan)
        for search in searches[1:]:
            self.assertTrue(search.startswith((ring % ARCS_INDEX,
                                               ring % INDEX)), plan)
        sorts = [parent for _, parent, detail in rows
                 if 'TEMP B-TREE' in detail]
        self.assertEqual(list(ids), sorts, plan)


class TestRingPagePlanMySQL(RingPagePlanTests, db_base.DBLayerTestCase):
    backend = db_base.MYSQL
    PLAN_KINDS = {'count', 'arcs', 'walk'}

    def analyze(self):
        self.execute(sa.text('ANALYZE TABLE nodes'))

    def check_plan(self, connection, statement, parameters, kind):
        rows = [dict(row._mapping) for row in connection.exec_driver_sql(
            'EXPLAIN ' + statement, parameters)]
        reads = [row for row in rows if row['table'] == 'nodes']
        self.assertTrue(reads, rows)
        if kind == 'count':
            # The arcs' range counts, from the index alone; the derived
            # table of their sums is read whole, as it should be. (A ring
            # its host has alone: (conductor_group, driver) only.)
            for row in reads:
                self.assertIn(row['type'], ('range', 'ref'), rows)
                self.assertEqual(ARCS_INDEX, row['key'], rows)
                self.assertIn('Using index', row['Extra'] or '', rows)
            return
        # The nodes are read through the ring indexes or, for the page's
        # rows, by primary key; never scanned, never sorted. What is read
        # whole and sorted is a derived table: the page's ids.
        keys = set()
        for row in reads:
            self.assertIn(row['type'], ('range', 'ref', 'eq_ref'), rows)
            self.assertNotIn('filesort', row['Extra'] or '', rows)
            self.assertNotIn('temporary', row['Extra'] or '', rows)
            keys.add(row['key'])
            if row['key'] != INDEX:
                self.assertIn(row['key'], (ARCS_INDEX, 'PRIMARY'), rows)
            if row['key'] == ARCS_INDEX:
                self.assertIn('Using index', row['Extra'] or '', rows)
        for row in rows:
            if row['table'] != 'nodes':
                self.assertTrue(row['table'].startswith('<derived'), rows)
        self.assertEqual({'walk': {INDEX}, 'arcs': {ARCS_INDEX, 'PRIMARY'}}
                         [kind], keys - ({'PRIMARY'} if kind == 'walk'
                                         else set()), rows)


class TestRingPagePlanPostgreSQL(RingPagePlanTests,
                                 db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL
    # With fewer, the planner rightly prefers to read a ring's few hundred
    # nodes and sort them than to walk it (the arcs are checked with
    # NODES: test_arcs_page_sorts_only_ids).
    PLAN_NODES = 40000
    PLAN_KINDS = {'count', 'walk'}

    def _delete_all_rows(self):
        # Emptied whole, as a new table: the space of the rows the earlier
        # tests of the class deleted otherwise turned the plan of a walk
        # to the primary key, depending on which tests ran before in the
        # worker.
        tables = ', '.join(table.name for table in
                           models.Base.metadata.sorted_tables)
        self.execute(sa.text('TRUNCATE %s RESTART IDENTITY' % tables))

    def analyze(self):
        # Vacuumed too, as autovacuum keeps a live table: the dead rows the
        # earlier tests of the class left behind otherwise turn the plan
        # of the walk to the primary key.
        with self.dbapi.engine.connect().execution_options(
                isolation_level='AUTOCOMMIT') as connection:
            connection.exec_driver_sql('VACUUM ANALYZE nodes')

    def test_counts_read_the_ring_index_only_without_statistics(self):
        """Freshly loaded, before autovacuum's first ANALYZE (no planner
        statistics, no visibility map), the counts of a conductor's nodes
        still read its arcs through the ring index: the planner once
        read each arc in state order through the state index instead,
        every node of the table for every arc."""
        self.dbapi = db_base.connect(
            self, db_base.empty_database(self, self.backend))
        migration.upgrade(engine=self.dbapi.engine)
        self.execute(sa.text(
            'ALTER TABLE nodes SET (autovacuum_enabled = false)'))
        ring_tests.register_fleet(self.dbapi, FLEET)
        self.manager = hash_ring.HashRingManager(self.dbapi)
        # (The fleet these counts were first checked on: the plan of a
        # table without statistics is the planner's guess.)
        self.nodes = test_ring_filter.fleet_nodes(6000)
        test_ring_filter.insert_nodes(self.dbapi, self.nodes)
        self.assertEqual([(-1.0,)], self.execute(sa.text(
            "SELECT reltuples FROM pg_class WHERE relname = 'nodes'")))
        self.assertEqual([], self.execute(sa.text(
            "SELECT attname FROM pg_stats WHERE tablename = 'nodes'")))
        for hostname in ('c1', 'r2'):
            arcs = {'ring_arcs': self.manager.arcs_of(hostname)}
            expected = collections.Counter(
                'available' for _ in self.owned(hostname))
            for call in (self.dbapi.count_nodes,
                         self.dbapi.count_nodes_by_provision_state):
                counted, statements = self.captured(
                    lambda call=call, arcs=arcs: call(arcs))
                self.assertIn(counted, (dict(expected),
                                        sum(expected.values())))
                with self.dbapi.engine.connect() as connection:
                    for statement, parameters in statements:
                        self.check_plan(connection, statement, parameters,
                                        'count')

    def check_plan(self, connection, statement, parameters, kind):
        (document,) = connection.exec_driver_sql(
            'EXPLAIN (FORMAT JSON) ' + statement, parameters).one()
        if isinstance(document, str):
            document = json.loads(document)
        plans, seen = [document[0]['Plan']], []
        while plans:
            plan = plans.pop(0)
            seen.append((plan['Node Type'], plan.get('Index Name')))
            plans.extend(plan.get('Plans', ()))
        for node_type, _ in seen:
            self.assertNotIn(node_type, ('Seq Scan', 'Bitmap Heap Scan'),
                             seen)
        indexes = {name for _, name in seen if name}
        if kind == 'count':
            # Grouping the few states of each arc may sort or hash them.
            self.assertEqual({ARCS_INDEX}, indexes, seen)
            return
        if kind == 'walk':
            for node_type, _ in seen:
                self.assertNotIn(node_type, ('Sort', 'Incremental Sort'),
                                 seen)
            self.assertLessEqual({INDEX}, indexes, seen)
            self.assertLessEqual(indexes, {INDEX, 'nodes_pkey'}, seen)
            return
        # What is sorted is ids read from the ring indexes alone; the
        # rows are read by primary key, in the sorted ids' order.
        self.assertEqual(('Index Scan', 'nodes_pkey'), seen[0], seen)
        for node_type, name in seen[1:]:
            if node_type.startswith('Index'):
                self.assertEqual('Index Only Scan', node_type, seen)
                self.assertIn(name, (ARCS_INDEX, INDEX), seen)
        self.assertIn(ARCS_INDEX, indexes, seen)


class TestRingPageWithoutStatisticsPostgreSQL(db_base.DBLayerTestCase):
    """A freshly loaded table (no planner statistics, no visibility map),
    in a database of its own."""

    backend = db_base.POSTGRESQL
    PLAN_NODES = TestRingPagePlanPostgreSQL.PLAN_NODES
    owned = RingPagePlanTests.owned
    walk = RingPagePlanTests.walk
    ways = RingPagePlanTests.ways
    captured = RingPagePlanTests.captured
    captured_selects = RingPagePlanTests.captured_selects
    kind_of = staticmethod(RingPagePlanTests.kind_of)
    check_plan = TestRingPagePlanPostgreSQL.check_plan

    def test_arcs_page_after_a_marker_without_statistics(self):
        """Freshly loaded (no planner statistics), a page after a marker
        still reads the arcs through the ring index: the planner once read
        each arc through the primary key from the marker on (the rest of
        the table for every arc: seconds at 100 000 nodes)."""
        self.dbapi = db_base.connect(
            self, db_base.empty_database(self, self.backend))
        migration.upgrade(engine=self.dbapi.engine)
        self.execute(sa.text(
            'ALTER TABLE nodes SET (autovacuum_enabled = false)'))
        # c1's share a sixteenth of its rings: its arcs are read.
        ring_tests.register_fleet(self.dbapi, dict(FLEET, **{
            'c%d' % i: FLEET['c1'] for i in range(5, 17)}))
        self.manager = hash_ring.HashRingManager(self.dbapi)
        self.nodes = test_ring_filter.fleet_nodes(self.PLAN_NODES)
        test_ring_filter.insert_nodes(self.dbapi, self.nodes)
        self.assertEqual([], self.execute(sa.text(
            "SELECT attname FROM pg_stats WHERE tablename = 'nodes'")))
        owned = self.owned('c1')
        marker = self.dbapi.get_node_by_uuid(owned[PAGE - 1])
        self.captured_selects('c1')
        self.assertEqual({('', 'fake-hardware'): False, ('', 'ipmi'): False},
                         self.ways('c1'))
        statements = self.captured_selects('c1', marker)
        self.assertEqual(['page'], [self.kind_of(s) for s in statements])
        with self.dbapi.engine.connect() as connection:
            self.check_plan(connection, *statements[0], 'arcs')
        self.assertEqual(owned[PAGE:], [
            u for page in self.walk('c1', 'asc')[1:] for u in page])
