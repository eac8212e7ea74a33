"""The conductor recorded as serving each node (``nodes.served_by``), on
SQLite, MariaDB and PostgreSQL: a record holds for one set of rings, a
``?conductor=`` page reads by it only while the page's rings are those,
and its pages are the same as the rings' arcs give, whatever was recorded.
"""

from unittest import mock

import sqlalchemy as sa

from ironic_lite.common import hash_ring
from ironic_lite.conductor import served_by
from ironic_lite.db.sqlalchemy import api as db_api
from ironic_lite.db.sqlalchemy import models
from tests.unit.common import test_hash_ring as ring_tests
from tests.unit.db import base as db_base
from tests.unit.db import test_ring_filter

FLEET = {
    'c1': ('', ('fake-hardware', 'ipmi')),
    'c2': ('', ('fake-hardware',)),
    'c3': ('', ('fake-hardware', 'ipmi')),
    'r1': ('rack2', ('fake-hardware', 'ipmi')),
}
JOINING = ('c4', '', ('fake-hardware', 'ipmi'))
# (group, driver) of the nodes: rack2's ipmi ring is r1's alone, and
# rack3 has no conductor.
RING_KEYS = (('', 'fake-hardware'), ('', 'ipmi'), ('rack2', 'ipmi'),
             ('rack3', 'ipmi'))
NODES = 2000
PAGE = 150


class ServedByTests:
    """The test bodies; a subclass names the backend."""

    backend = None

    def setUp(self):
        super().setUp()
        ring_tests.register_fleet(self.dbapi, FLEET)
        self.nodes = [(node_uuid, *reversed(RING_KEYS[i % len(RING_KEYS)]))
                      for i, node_uuid in enumerate(
                          ring_tests.node_uuids(NODES))]
        test_ring_filter.insert_nodes(self.dbapi, self.nodes)
        # Every read of a page the arcs' way, counted.
        self.arcs_pages = mock.patch.object(
            db_api, '_ring_page', side_effect=db_api._ring_page).start()
        self.addCleanup(mock.patch.stopall)
        # A page of rings found not recorded looks at the record again at
        # once (but in the test of that memory), as after its second.
        self.dbapi._not_recorded.clear()
        mock.patch.object(db_api, '_NOT_RECORDED_SECONDS', 0.0).start()

    def rings(self) -> hash_ring.Rings:
        return hash_ring.HashRingManager(self.dbapi).current()

    def owned(self, rings: hash_ring.Rings, hostname: str) -> list[str]:
        """The UUIDs of the conductor's nodes, by id (insertion order)."""
        uuids = [row.uuid for row in self.dbapi.get_node_list(
            sort_key='id', columns=('id', 'uuid', 'driver',
                                    'conductor_group'), plain=True)
            if (row.conductor_group, row.driver) in rings.rings
            and rings.rings[(row.conductor_group, row.driver)].owner(
                row.uuid) == hostname]
        return uuids

    def walk(self, rings: hash_ring.Rings, hostname: str,
             sort_dir: str = 'asc', **filters) -> list[list[str]]:
        """Every page of the conductor's nodes as the API asks for them;
        the pages' UUIDs."""
        query = dict(filters, ring_arcs=rings.arcs_of(hostname),
                     served_by=(hostname, rings.fingerprint))
        pages, marker = [], None
        while True:
            page = self.dbapi.get_node_list(
                query, limit=PAGE, marker=marker, sort_dir=sort_dir,
                columns=('uuid', 'name', 'provision_state'), plain=True)
            pages.append([row.uuid for row in page])
            if len(page) < PAGE:
                return pages
            marker = self.dbapi.get_node_row('uuid', page[-1].uuid,
                                             ('id',))

    def assertPages(self, rings, hostname, by_record: bool,
                    **filters) -> None:
        """The conductor's pages, both ways round, are its nodes in
        order, read by the record (but for an empty last page) or not."""
        expected = self.owned(rings, hostname)
        if 'provision_state' in filters:
            states = {row.uuid: row.provision_state
                      for row in self.dbapi.get_node_list(
                          columns=('uuid', 'provision_state'), plain=True)}
            expected = [u for u in expected
                        if states[u] == filters['provision_state']]
        for sort_dir, order in (('asc', expected), ('desc', expected[::-1])):
            self.arcs_pages.reset_mock()
            pages = self.walk(rings, hostname, sort_dir, **filters)
            self.assertEqual(order, [u for page in pages for u in page],
                             (hostname, sort_dir))
            for page in pages[:-1]:
                self.assertEqual(PAGE, len(page))
            if by_record is None:
                pass  # either way, page by page
            elif by_record:
                self.assertEqual(0 if pages[-1] else 1,
                                 self.arcs_pages.call_count)
            else:
                self.assertEqual(len(pages), self.arcs_pages.call_count)

    def served_by_column(self) -> dict[str, str | None]:
        table = models.Node.__table__
        return dict(self.execute(sa.select(table.c.uuid,
                                           table.c.served_by)))

    def test_pages_before_any_record_come_from_the_arcs(self):
        rings = self.rings()
        self.assertIsNone(self.dbapi.get_served_by_fingerprint())
        self.assertPages(rings, 'c1', by_record=False)

    def test_recorded_pages_are_one_range_and_the_same(self):
        rings = self.rings()
        self.assertEqual(NODES, served_by.record(self.dbapi, rings, None))
        self.assertEqual(rings.fingerprint,
                         self.dbapi.get_served_by_fingerprint())
        column = self.served_by_column()
        for node_uuid, driver, group in self.nodes:
            ring = rings.rings.get((group, driver))
            self.assertEqual(ring.owner(node_uuid) if ring else '',
                             column[node_uuid])
        for hostname in FLEET:
            self.assertPages(rings, hostname, by_record=True)
        # Nothing to record a second time.
        self.assertEqual(0, served_by.record(self.dbapi, rings, None))

    def test_pages_of_rings_not_recorded_look_at_the_record_once(self):
        mock.patch.object(db_api, '_NOT_RECORDED_SECONDS', 60.0).start()
        rings = self.rings()
        self.assertIsNone(self.dbapi.get_served_by_fingerprint())
        by_record = mock.patch.object(
            db_api, '_served_by_page',
            side_effect=db_api._served_by_page).start()
        pages = self.walk(rings, 'c1')
        self.assertGreater(len(pages), 2)
        self.assertEqual(1, by_record.call_count)
        self.assertEqual(len(pages), self.arcs_pages.call_count)
        # Recorded: the next pages are read by the record, once the
        # memory of the miss has gone.
        served_by.record(self.dbapi, rings, None)
        self.dbapi._not_recorded.clear()
        self.assertPages(rings, 'c1', by_record=True)

    def test_other_filters_apply_to_recorded_pages(self):
        rings = self.rings()
        served_by.record(self.dbapi, rings, None)
        table = models.Node.__table__
        some = [u for u, _, _ in self.nodes[::7]]
        self.execute(table.update().where(table.c.uuid.in_(some))
                     .values(provision_state='active'))
        self.assertPages(rings, 'c3', by_record=True,
                         provision_state='active')

    def test_new_and_moved_nodes_are_in_pages_before_recorded(self):
        rings = self.rings()
        served_by.record(self.dbapi, rings, None)
        new = [(u, 'ipmi', '') for u in ring_tests.node_uuids(40, seed=7)]
        for node_uuid, driver, group in new:
            self.dbapi.create_node({'uuid': node_uuid, 'driver': driver,
                                    'conductor_group': group})
        moved = self.dbapi.get_node_by_uuid(self.nodes[1][0])
        self.assertEqual('ipmi', moved.driver)
        self.dbapi.update_node(moved.id, {'driver': 'fake-hardware'})
        released = self.dbapi.get_node_by_uuid(self.nodes[5][0])
        tag = 'c1'
        self.dbapi.reserve_node(tag, released.id)
        self.dbapi.update_and_release_node(tag, released.id,
                                           {'conductor_group': 'rack2'})
        column = self.served_by_column()
        self.assertIsNone(column[moved.uuid])
        self.assertIsNone(column[released.uuid])
        self.assertIsNone(column[new[0][0]])
        for hostname in ('c1', 'c2', 'r1'):
            self.assertPages(rings, hostname, by_record=True)
        # The next record writes those only.
        self.assertEqual(42, served_by.record(self.dbapi, rings, None))
        self.assertNotIn(None, self.served_by_column().values())

    def test_more_nodes_not_recorded_than_a_page(self):
        rings = self.rings()
        served_by.record(self.dbapi, rings, None)
        # Interleaved with the recorded ones by id: the pages where the
        # nodes not recorded read reach past the conductor's page are
        # read from the arcs, the others by the record.
        table = models.Node.__table__
        every_third = [u for u, _, _ in self.nodes[::3]]
        self.execute(table.update().where(table.c.uuid.in_(every_third))
                     .values(served_by=None))
        for hostname in ('c1', 'r1'):
            self.assertPages(rings, hostname, by_record=None)
        # Some pages, not all, were read by the record.
        self.arcs_pages.reset_mock()
        pages = self.walk(rings, 'c1')
        self.assertLess(self.arcs_pages.call_count, len(pages))
        self.assertGreater(self.arcs_pages.call_count, 0)
        # All of them once recorded again.
        self.assertEqual(len(every_third),
                         served_by.record(self.dbapi, rings, None))
        self.assertPages(rings, 'c1', by_record=True)

    def test_other_rings_read_the_arcs_until_recorded(self):
        before = self.rings()
        served_by.record(self.dbapi, before, None)
        ring_tests.register_fleet(self.dbapi, dict([(JOINING[0],
                                                     JOINING[1:])]))
        after = self.rings()
        self.assertNotEqual(before.fingerprint, after.fingerprint)
        # The API on the new rings: the arcs, right at once.
        self.assertPages(after, 'c1', by_record=False)
        self.assertPages(after, 'c4', by_record=False)
        # An API still on the old rings reads the old record.
        self.assertPages(before, 'c1', by_record=True)
        moved = served_by.record(self.dbapi, after, None)
        self.assertGreater(moved, 0)
        self.assertLess(moved, NODES // 2)
        self.assertPages(after, 'c4', by_record=True)
        self.assertPages(after, 'c1', by_record=True)
        self.assertPages(before, 'c1', by_record=False)

    def test_a_record_meanwhile_refuses_the_older_pass(self):
        before = self.rings()
        ring_tests.register_fleet(self.dbapi, dict([(JOINING[0],
                                                     JOINING[1:])]))
        after = self.rings()
        served_by.record(self.dbapi, after, None)
        column = self.served_by_column()
        # A pass that read "nothing recorded" before the other wrote.
        stale = [(1, '', 'ipmi', 'c1')]
        self.assertFalse(self.dbapi.record_served_by(
            None, before.fingerprint, stale))
        self.assertEqual(after.fingerprint,
                         self.dbapi.get_served_by_fingerprint())
        self.assertEqual(column, self.served_by_column())

    def test_a_node_of_another_ring_meanwhile_is_not_written(self):
        rings = self.rings()
        node = self.dbapi.get_node_by_uuid(self.nodes[0][0])
        self.assertEqual(('', 'fake-hardware'),
                         (node.conductor_group, node.driver))
        self.assertTrue(self.dbapi.record_served_by(
            None, rings.fingerprint,
            [(node.id, '', 'ipmi', 'c1'),
             (node.id + 1, '', 'ipmi', 'c1')]))
        column = self.served_by_column()
        self.assertIsNone(column[node.uuid])
        self.assertEqual('c1', column[self.nodes[1][0]])

    def test_recording_leaves_updated_at_alone(self):
        node = self.dbapi.get_node_by_uuid(self.nodes[0][0])
        self.assertIsNone(node.updated_at)
        served_by.record(self.dbapi, self.rings(), None)
        node = self.dbapi.get_node_by_uuid(self.nodes[0][0])
        self.assertIsNone(node.updated_at)
        self.assertIsNotNone(node.served_by)

    def test_no_record_while_conductors_of_another_release_are_alive(self):
        rings = self.rings()
        served_by.record(self.dbapi, rings, None)
        # A conductor of another release joins (as an older one would, in
        # a rolling upgrade): the next pass takes the record away.
        ring_tests.register_fleet(self.dbapi, dict([(JOINING[0],
                                                     JOINING[1:])]))
        table = models.Conductor.__table__
        self.execute(table.update().where(table.c.hostname == JOINING[0])
                     .values(version='older'))
        after = self.rings()
        column = self.served_by_column()
        self.assertEqual(0, served_by.record(self.dbapi, after, None))
        self.assertIsNone(self.dbapi.get_served_by_fingerprint())
        self.assertEqual(column, self.served_by_column())
        self.assertPages(after, 'c1', by_record=False)
        self.assertPages(rings, 'c1', by_record=False)
        # Once it has gone, every node is recorded again.
        self.execute(table.update().where(table.c.hostname == JOINING[0])
                     .values(online=False))
        self.assertEqual(0, served_by.record(self.dbapi, rings, 'newer'))
        self.assertIsNone(self.dbapi.get_served_by_fingerprint())
        self.assertEqual(0, served_by.record(self.dbapi, rings, None))
        self.assertEqual(rings.fingerprint,
                         self.dbapi.get_served_by_fingerprint())
        self.assertPages(rings, 'c1', by_record=True)

    def test_a_missing_record_row_is_made(self):
        self.execute(models.ServedByRecord.__table__.delete())
        self.assertIsNone(self.dbapi.get_served_by_fingerprint())
        rings = self.rings()
        self.assertEqual(NODES, served_by.record(self.dbapi, rings, None))
        self.assertPages(rings, 'c2', by_record=True)


class TestServedBySQLite(ServedByTests, db_base.DBLayerTestCase):
    backend = db_base.SQLITE


class TestServedByMySQL(ServedByTests, db_base.DBLayerTestCase):
    backend = db_base.MYSQL


class TestServedByPostgreSQL(ServedByTests, db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL


class ServedByPassTests:
    """A pass of a conductor, in chunks, against passes of others and
    crashes half-way."""

    def setUp(self):
        super().setUp()
        ring_tests.register_fleet(self.dbapi, FLEET)
        nodes = [(node_uuid, *reversed(RING_KEYS[i % len(RING_KEYS)]))
                 for i, node_uuid in enumerate(ring_tests.node_uuids(900))]
        test_ring_filter.insert_nodes(self.dbapi, nodes)
        self.before = hash_ring.HashRingManager(self.dbapi).current()
        ring_tests.register_fleet(self.dbapi, dict([(JOINING[0],
                                                     JOINING[1:])]))
        self.after = hash_ring.HashRingManager(self.dbapi).current()

    def check_recorded(self, rings) -> None:
        """The record is of ``rings`` and every node holds its conductor
        there."""
        self.assertEqual(rings.fingerprint,
                         self.dbapi.get_served_by_fingerprint())
        node = models.Node.__table__
        for row in self.execute(sa.select(
                node.c.uuid, node.c.driver, node.c.conductor_group,
                node.c.served_by)):
            ring = rings.rings.get((row.conductor_group, row.driver))
            self.assertEqual(ring.owner(row.uuid) if ring else '',
                             row.served_by)

    def test_a_pass_takes_the_record_before_it_reads(self):
        served_by.record(self.dbapi, self.before, None)
        seen = []
        original = self.dbapi.get_served_by_inputs

        def inputs(*args):
            seen.append(self.dbapi.get_served_by_fingerprint())
            return original(*args)

        with mock.patch.object(self.dbapi, 'get_served_by_inputs',
                               side_effect=inputs):
            served_by.record(self.dbapi, self.after, None, chunk=200)
        self.assertEqual({served_by.RECORDING + self.after.fingerprint},
                         set(seen))
        self.assertEqual(5, len(seen))
        self.check_recorded(self.after)

    def test_a_pass_that_died_half_way_is_done_again(self):
        served_by.record(self.dbapi, self.before, None)
        original = self.dbapi.record_served_by
        calls = []

        def dying(*args):
            calls.append(args)
            if len(calls) == 3:
                raise RuntimeError('killed')
            return original(*args)

        with mock.patch.object(self.dbapi, 'record_served_by',
                               side_effect=dying):
            self.assertRaises(RuntimeError, served_by.record, self.dbapi,
                              self.after, None, chunk=200)
        # Left half-way: no rings' record, so no API reads by it.
        self.assertEqual(served_by.RECORDING + self.after.fingerprint,
                         self.dbapi.get_served_by_fingerprint())
        self.assertIsNotNone(served_by.record(self.dbapi, self.after, None))
        self.check_recorded(self.after)

    def test_a_pass_of_other_rings_meanwhile_stops_this_one(self):
        original = self.dbapi.record_served_by
        calls = []

        def overtaken(*args):
            calls.append(args)
            if len(calls) == 2:
                # Another conductor, on the newer rings, records them all
                # between this pass's first and second chunk.
                self.assertEqual(served_by.RECORDING
                                 + self.before.fingerprint,
                                 self.dbapi.get_served_by_fingerprint())
                with mock.patch.object(self.dbapi, 'record_served_by',
                                       side_effect=original):
                    self.assertIsNotNone(
                        served_by.record(self.dbapi, self.after, None))
            return original(*args)

        with mock.patch.object(self.dbapi, 'record_served_by',
                               side_effect=overtaken):
            self.assertIsNone(served_by.record(self.dbapi, self.before,
                                               None, chunk=200))
        self.check_recorded(self.after)


class TestServedByPassSQLite(ServedByPassTests, db_base.DBLayerTestCase):
    backend = db_base.SQLITE


class TestServedByPassMySQL(ServedByPassTests, db_base.DBLayerTestCase):
    backend = db_base.MYSQL


class TestServedByPassPostgreSQL(ServedByPassTests,
                                 db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL
