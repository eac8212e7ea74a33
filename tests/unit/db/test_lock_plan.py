"""A node's lock by UUID reads the node through the UUID's index, never the
other nodes, on a freshly loaded PostgreSQL table (no planner statistics
yet)."""

import sqlalchemy as sa

from ironic_lite.db import migration
from tests.unit.db import base as db_base
from tests.unit.db import test_ring_filter

# The planner chose the lock index over the UUID index from some tens of
# thousands of nodes on (not at 12 000).
NODES = 100000


class TestLockWithoutStatisticsPostgreSQL(db_base.DBLayerTestCase):

    backend = db_base.POSTGRESQL

    def setUp(self):
        super().setUp()
        self.dbapi = db_base.connect(
            self, db_base.empty_database(self, self.backend))
        migration.upgrade(engine=self.dbapi.engine)
        with self.dbapi.engine.begin() as connection:
            connection.execute(sa.text(
                'ALTER TABLE nodes SET (autovacuum_enabled = false)'))
        self.nodes = test_ring_filter.fleet_nodes(NODES)
        test_ring_filter.insert_nodes(self.dbapi, self.nodes)
        # As the conductors' first record of who serves each node does:
        # every row written once more.
        with self.dbapi.engine.begin() as connection:
            connection.execute(sa.text("UPDATE nodes SET served_by = 'c1'"))
        with self.dbapi.engine.connect() as connection:
            self.assertEqual([], connection.execute(sa.text(
                "SELECT attname FROM pg_stats WHERE tablename = 'nodes'"
            )).all())

    def plan_of_lock(self, node_ident) -> str:
        """The plan of the statement ``reserve_node`` runs, as run."""
        statements = []

        def capture(conn, cursor, statement, parameters, context,
                    executemany):
            if statement.lstrip().upper().startswith('UPDATE'):
                statements.append((statement, parameters))

        engine = self.dbapi.engine
        sa.event.listen(engine, 'before_cursor_execute', capture)
        try:
            self.dbapi.reserve_node('c1', node_ident)
        finally:
            sa.event.remove(engine, 'before_cursor_execute', capture)
        self.dbapi.release_node('c1', self.dbapi.get_node_by_uuid(
            self.nodes[-1][0]).id)
        self.assertEqual(1, len(statements), statements)
        statement, parameters = statements[0]
        with engine.connect() as connection:
            try:
                return '\n'.join(row[0] for row in connection.exec_driver_sql(
                    'EXPLAIN ' + statement, parameters))
            finally:
                connection.rollback()

    def test_a_lock_by_uuid_reads_the_uuid_index(self):
        plan = self.plan_of_lock(self.nodes[-1][0])
        self.assertIn('uniq_nodes0uuid', plan)
        self.assertNotIn('nodes_reservation_idx', plan)
