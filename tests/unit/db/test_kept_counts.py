"""On SQLite a connection gives the counts per state of a conductor's nodes
again, without counting, for as long as the database is unchanged; any
write, of this process or another, is seen by the next count."""

import collections

import sqlalchemy as sa

from ironic_lite.common import hash_ring
from ironic_lite.db.sqlalchemy import models
from tests import base
from tests.unit.common import test_hash_ring as ring_tests
from tests.unit.db import test_ring_filter

NODES = 400


class KeptCountsTest(base.DBTestCase):

    def setUp(self):
        super().setUp()
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

    def test_counts_are_given_again_while_nothing_changes(self):
        first = self.counts('conductor-1')
        self.assertTrue(self.counted)
        self.assertEqual(self.expected('conductor-1'), first)
        self.counted.clear()
        self.assertEqual(first, self.counts('conductor-1'))
        self.assertEqual([], self.counted)

    def test_each_conductor_has_its_own_counts(self):
        for hostname in ('conductor-1', 'conductor-3', 'rack2-b'):
            self.assertEqual(self.expected(hostname), self.counts(hostname),
                             hostname)
        self.counted.clear()
        for hostname in ('conductor-1', 'conductor-3', 'rack2-b'):
            self.assertEqual(self.expected(hostname), self.counts(hostname),
                             hostname)
        self.assertEqual([], self.counted)

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
