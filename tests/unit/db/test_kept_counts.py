"""The counts per state of a conductor's nodes are given again, without
counting, for as long as the database is unchanged (SQLite: per
connection; PostgreSQL: per process, by the server's snapshot); any write,
of this process or another, is seen by the next count."""

import collections

import sqlalchemy as sa

from ironic_lite.common import hash_ring
from ironic_lite.db.sqlalchemy import models
from tests import base
from tests.unit.common import test_hash_ring as ring_tests
from tests.unit.db import base as db_base
from tests.unit.db import test_ring_filter

NODES = 400


class KeptCountsTests:
    """On every backend that keeps counts."""

    def setUp(self):
        super().setUp()
        self.dbapi._kept_counts.clear()  # (PostgreSQL: kept by the class's)
        ring_tests.register_fleet(self.dbapi, test_ring_filter.FLEET)
        test_ring_filter.insert_nodes(
            self.dbapi, test_ring_filter.fleet_nodes(NODES))
        self.manager = hash_ring.HashRingManager(self.dbapi)
        self.counted = []
        sa.event.listen(self.dbapi.engine, 'before_cursor_execute',
                        self._capture)
        self.addCleanup(sa.event.remove, self.dbapi.engine,
                        'before_cursor_execute', self._capture)

    def _capture(self, conn, cursor, statement, *args):
        if 'count(' in statement.lower():
            self.counted.append(statement)

    def counts(self, hostname: str) -> dict:
        return self.dbapi.count_nodes_by_provision_state(
            {'ring_arcs': self.manager.arcs_of(hostname)})

    def expected(self, hostname: str) -> dict:
        """The counts from the nodes' rows, in Python."""
        owned = {uuid for uuid in self.all_states()
                 if self.manager.rings()[self.ring_of(uuid)].owner(uuid)
                 == hostname}
        return dict(collections.Counter(
            state for uuid, state in self.all_states().items()
            if uuid in owned))

    def all_states(self) -> dict:
        node = models.Node
        with self.dbapi.engine.connect() as connection:
            return dict(connection.execute(sa.select(
                node.uuid, node.provision_state)).all())

    def ring_of(self, uuid: str) -> tuple:
        node = models.Node
        with self.dbapi.engine.connect() as connection:
            return tuple(connection.execute(sa.select(
                node.conductor_group, node.driver).where(
                    node.uuid == uuid)).one())

    def a_node_of(self, hostname: str) -> str:
        return next(uuid for uuid in sorted(self.all_states())
                    if self.manager.rings()[self.ring_of(uuid)].owner(uuid)
                    == hostname)

    def assert_given_again(self, hostnames: tuple[str, ...]) -> None:
        """Count the nodes of ``hostnames``, then again: the second time
        counts nothing and gives the same counts.

        On PostgreSQL the snapshot is the server's: a transaction of any
        database ending between the two (another test worker's, say)
        rightly makes the second count. Asked again until two counts in a
        row meet no such end, within a deadline."""
        def twice() -> bool:
            first = [self.counts(hostname) for hostname in hostnames]
            self.counted.clear()
            again = [self.counts(hostname) for hostname in hostnames]
            self.assertEqual(first, again)
            return not self.counted
        base.wait_for(twice, timeout=20, interval=0.01,
                      message='counts given again, not counted')

    def test_counts_are_given_again_while_nothing_changes(self):
        first = self.counts('conductor-1')
        self.assertTrue(self.counted)
        self.assertEqual(self.expected('conductor-1'), first)
        self.assert_given_again(('conductor-1',))

    def test_each_conductor_has_its_own_counts(self):
        hostnames = ('conductor-1', 'conductor-3', 'rack2-b')
        for hostname in hostnames:
            self.assertEqual(self.expected(hostname), self.counts(hostname),
                             hostname)
        self.assert_given_again(hostnames)

    def test_a_write_of_another_connection_is_seen(self):
        before = self.counts('conductor-1')
        uuid = self.a_node_of('conductor-1')
        other = sa.create_engine(self.dbapi.engine.url)
        self.addCleanup(other.dispose)
        with other.begin() as connection:
            connection.execute(models.Node.__table__.update().where(
                models.Node.uuid == uuid).values(provision_state='active'))
        after = self.counts('conductor-1')
        self.assertEqual(before.get('active', 0) + 1, after['active'])
        self.assertEqual(self.expected('conductor-1'), after)



class TestKeptCountsSQLite(KeptCountsTests, base.DBTestCase):

    def test_a_write_of_the_same_connection_is_seen(self):
        before = self.counts('conductor-1')
        # One connection in the pool: the write and the counts share it,
        # and a connection's own commits leave its data_version as it is.
        self.assertEqual(1, self.dbapi.engine.pool.checkedin())
        uuid = self.a_node_of('conductor-1')
        with self.dbapi.engine.begin() as connection:
            connection.execute(models.Node.__table__.delete().where(
                models.Node.uuid == uuid))
        self.assertEqual(1, self.dbapi.engine.pool.checkedin())
        after = self.counts('conductor-1')
        self.assertEqual(sum(before.values()) - 1, sum(after.values()))
        self.assertEqual(self.expected('conductor-1'), after)

    def test_a_replaced_connection_counts_again(self):
        self.counts('conductor-1')
        # (What a lost connection's record gets: a new driver connection.)
        self.dbapi.engine.pool.dispose()
        self.counted.clear()
        self.assertEqual(self.expected('conductor-1'),
                         self.counts('conductor-1'))
        self.assertTrue(self.counted)


class TestKeptCountsPostgreSQL(KeptCountsTests, db_base.DBLayerTestCase):

    backend = db_base.POSTGRESQL

    def test_a_write_of_this_process_is_seen(self):
        before = self.counts('conductor-1')
        uuid = self.a_node_of('conductor-1')
        with self.dbapi.engine.begin() as connection:
            connection.execute(models.Node.__table__.delete().where(
                models.Node.uuid == uuid))
        after = self.counts('conductor-1')
        self.assertEqual(sum(before.values()) - 1, sum(after.values()))
        self.assertEqual(self.expected('conductor-1'), after)

    def test_a_transaction_open_while_counting_is_seen_once_committed(self):
        uuid = self.a_node_of('conductor-1')
        other = sa.create_engine(self.dbapi.engine.url)
        self.addCleanup(other.dispose)
        with other.connect() as connection:
            transaction = connection.begin()
            connection.execute(models.Node.__table__.update().where(
                models.Node.uuid == uuid).values(provision_state='active'))
            # Counted, and kept, while the write is under way: its
            # transaction is in the snapshot's in-progress list.
            before = self.counts('conductor-1')
            self.assert_given_again(('conductor-1',))
            transaction.commit()
        self.counted.clear()
        after = self.counts('conductor-1')
        self.assertTrue(self.counted)
        self.assertEqual(before.get('active', 0) + 1, after['active'])
        self.assertEqual(self.expected('conductor-1'), after)
