"""The reads of one statement, on a connection of their own
(``get_node_row``, ``get_conductor_list(plain=True)``, plain node pages,
``get_node_by_*``, ``get_conductor``)."""

import datetime
import functools
import json
import logging
import threading
from unittest import mock

import fixtures
import sqlalchemy as sa
from oslo_utils import timeutils
from psycopg2 import extensions as pg

from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
from ironic_lite.db.sqlalchemy import lean
from ironic_lite.db.sqlalchemy import models
from tests.unit.db import base as db_base


class SingleReadTests:

    def setUp(self):
        super().setUp()
        self.node = self.dbapi.create_node({
            'uuid': '0b7bbd59-4a3c-4a8e-9a1d-7f4f0c2d9e11', 'name': 'n1',
            'driver': 'fake-hardware', 'driver_info': {'a': 1}})
        self.dbapi.register_conductor(
            'c1', '', ['fake-hardware'],
            take_over_if_older_than=timeutils.utcnow()
            - datetime.timedelta(minutes=1))

    def test_node_row_by_uuid_and_name(self):
        columns = ('uuid', 'name', 'driver_info', 'created_at')
        for by, value in (('uuid', self.node.uuid), ('name', 'n1')):
            row = self.dbapi.get_node_row(by, value, columns)
            self.assertEqual(self.node.uuid, row.uuid)
            # The document as stored, for the reader to pass on.
            self.assertEqual({'a': 1}, json.loads(row.driver_info))
            self.assertIsInstance(row.created_at, datetime.datetime)
        self.assertIsNone(self.dbapi.get_node_row('name', 'n2', columns))

    def test_plain_conductors_as_the_orm_reads_them(self):
        plain = self.dbapi.get_conductor_list(plain=True)
        orm = self.dbapi.get_conductor_list()
        for name in ('hostname', 'drivers', 'online', 'updated_at',
                     'created_at', 'conductor_group', 'pxe_health'):
            self.assertEqual([getattr(r, name) for r in orm],
                             [getattr(r, name) for r in plain], name)

    def test_a_write_after_a_read_is_still_a_transaction(self):
        # The BEGIN a read leaves out (SQLite) is not left out of the
        # transactions the connection serves next.
        statements = []
        engine = self.dbapi.engine
        listen = (engine, 'before_cursor_execute')

        def record(conn, cursor, statement, *args):
            statements.append(statement.split()[0].upper())
        sa.event.listen(*listen, record)
        self.addCleanup(sa.event.remove, *listen, record)
        for _ in range(3):
            self.dbapi.get_node_row('uuid', self.node.uuid, ('uuid',))
            self.dbapi.get_conductor_list(plain=True)
        reads = list(statements)
        self.dbapi.update_node(self.node.id, {'extra': {'b': 2}})
        writes = statements[len(reads):]
        self.assertEqual(['SELECT'] * 6, reads)
        if engine.dialect.name == 'sqlite':
            self.assertEqual('BEGIN', writes[0])
        with engine.connect() as connection:
            self.assertNotIn('in_transaction', connection.info)

    def _reads(self) -> None:
        """Each read that skips the session, once."""
        self.assertEqual(self.node.uuid, self.dbapi.get_node_row(
            'uuid', self.node.uuid, ('uuid',)).uuid)
        self.assertEqual(['c1'], [row.hostname for row in
                                  self.dbapi.get_conductor_list(plain=True)])
        self.assertEqual([self.node.uuid], [row.uuid for row in
                                            self.dbapi.get_node_list(
                                                limit=10, columns=('uuid',),
                                                plain=True)])
        self.assertEqual({'a': 1}, self.dbapi.get_node_by_uuid(
            self.node.uuid).driver_info)
        self.assertEqual(['fake-hardware'],
                         self.dbapi.get_conductor('c1').drivers)

    def test_each_read_ends_once(self):
        # One ROLLBACK to the driver per read (on MySQL a round trip;
        # on PostgreSQL and SQLite, out of a transaction, none).
        dialect = self.dbapi.engine.dialect
        with mock.patch.object(dialect, 'do_rollback',
                               wraps=dialect.do_rollback) as rollback:
            self._reads()
        self.assertEqual(5, rollback.call_count)

    def test_reads_are_not_pinged_the_rest_is(self):
        engine = self.dbapi.engine
        with mock.patch.object(engine.dialect, 'do_ping',
                               wraps=engine.dialect.do_ping) as ping:
            self._reads()
            self.assertEqual(0, ping.call_count)
            self.dbapi.update_node(self.node.id, {'extra': {'b': 2}})
            self.dbapi.get_node_list({'associated': False})
        # oslo.db pings servers' connections; SQLite files are pooled
        # without (see _keep_sqlite_connections).
        pinged = engine.dialect.name != 'sqlite'
        self.assertEqual(2 if pinged else 0, ping.call_count)


    def _small_reads(self) -> list:
        """The reads of a few rows, each once: their rows."""
        every_column = tuple(column.name
                             for column in models.Node.__table__.columns)
        return [
            self.dbapi.get_node_row('uuid', self.node.uuid, every_column),
            self.dbapi.get_node_row('name', 'n1', ('uuid', 'maintenance',
                                                   'extra', 'updated_at')),
            self.dbapi.get_conductor_list(plain=True),
            self.dbapi.get_conductor('c1', plain=True),
        ]

    def _straight(self, read) -> tuple:
        """(what ``read()`` gives, what each read straight to the driver
        gave: None for a read through SQLAlchemy)."""
        answers = []
        rows = lean.rows

        def record(*args):
            answers.append(rows(*args))
            return answers[-1]
        with mock.patch.object(lean, 'rows', side_effect=record):
            return read(), answers

    def test_small_reads_go_straight_to_the_driver(self):
        _, answers = self._straight(self._small_reads)
        self.assertEqual(4, len(answers))
        self.assertNotIn(None, answers)

    def test_a_statement_listener_gets_sqlalchemy_reads(self):
        # A listener (a test's, oslo.db's connection_trace) sees them all.
        statements = []
        listen = (self.dbapi.engine, 'before_cursor_execute')

        def record(conn, cursor, statement, *args):
            statements.append(statement)
        sa.event.listen(*listen, record)
        self.addCleanup(sa.event.remove, *listen, record)
        self._small_reads()
        self.assertEqual(4, len(statements))

    def test_small_reads_as_sqlalchemy_reads_them(self):
        self.dbapi.update_node(self.node.id, {
            'maintenance': True, 'extra': {'x': [1, 'é']},
            'instance_info': {'a': None}})
        straight = self._small_reads()
        with mock.patch.object(lean, 'rows', return_value=None):
            through = self._small_reads()

        def plain(value):
            if isinstance(value, list):
                return [plain(row) for row in value]
            return ({name: (type(v), v) for name, v in
                     value._mapping.items()})
        self.assertEqual(plain(through[:2]), plain(straight[:2]))
        self.assertEqual(plain(through[2]), plain(straight[2]))
        self.assertEqual(plain(through[3]), plain(straight[3]))
        self.assertIs(True, straight[1].maintenance)
        self.assertIsInstance(straight[1].updated_at, datetime.datetime)
        self.assertEqual(self.node.uuid, straight[0][
            straight[0]._fields.index('uuid')])

    def test_prepared_statements_only_on_postgresql(self):
        self._small_reads()
        engine = self.dbapi.engine
        plan = lean._plan(db_sqlalchemy._CONDUCTOR_BY_HOSTNAME[True],
                          engine.dialect)
        with engine.connect() as connection:
            info = connection.connection.info
        if engine.dialect.name == 'postgresql':
            self.assertIsNotNone(plan.prepared)
        else:
            self.assertIsNone(plan.prepared)
            self.assertNotIn(lean._PREPARED, info)


class TestSingleReadsSQLite(SingleReadTests, db_base.DBLayerTestCase):
    backend = db_base.SQLITE


class ServerReadTests(SingleReadTests):
    """What a database server adds: connections it may drop."""

    def _drop_server_connections(self) -> None:
        """The server ends every connection of this database but the one
        asking, as a restart would."""
        admin = sa.create_engine(self.dbapi.engine.url)
        self.addCleanup(admin.dispose)
        with admin.connect() as connection:
            if admin.dialect.name == 'postgresql':
                connection.exec_driver_sql(
                    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity'
                    ' WHERE datname = current_database()'
                    ' AND pid <> pg_backend_pid()')
                return
            for (session,) in connection.exec_driver_sql(
                    'SELECT id FROM information_schema.processlist'
                    ' WHERE db = DATABASE() AND id <> CONNECTION_ID()'):
                connection.exec_driver_sql('KILL %d' % session)

    def test_reads_and_writes_after_the_server_dropped_connections(self):
        self._reads()  # connections in the pool
        self._drop_server_connections()
        self._reads()  # each read again, on a new connection
        self._drop_server_connections()
        self.dbapi.update_node(self.node.id, {'extra': {'b': 2}})
        self.assertEqual({'b': 2},
                         self.dbapi.get_node_by_uuid(self.node.uuid).extra)


class TestSingleReadsMySQL(ServerReadTests, db_base.DBLayerTestCase):
    backend = db_base.MYSQL


class TestSingleReadsPostgreSQL(ServerReadTests, db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL

    def test_reads_outside_a_transaction_writes_inside(self):
        # PostgreSQL: no BEGIN before a read (nor ROLLBACK after it), and
        # the connection a read used is a transaction's again for a write.
        engine = self.dbapi.engine
        states = []
        listen = (engine, 'after_cursor_execute')

        def record(conn, cursor, statement, *args):
            states.append((statement.split()[0].upper(),
                           cursor.connection.get_transaction_status()))
        sa.event.listen(*listen, record)
        self.addCleanup(sa.event.remove, *listen, record)
        self._reads()
        self.assertEqual([('SELECT', pg.TRANSACTION_STATUS_IDLE)] * 5, states)
        del states[:]
        self.dbapi.update_node(self.node.id, {'extra': {'b': 2}})
        self.assertTrue(states)
        self.assertEqual({pg.TRANSACTION_STATUS_INTRANS},
                         {state for _, state in states})

    def test_small_reads_leave_no_transaction_open(self):
        # Read on the driver's cursor in autocommit, then given back as
        # the pool had it: out of a transaction, autocommit off.
        self._small_reads()
        with self.dbapi.engine.connect() as connection:
            driver = connection.connection.dbapi_connection
            self.assertFalse(driver.autocommit)
            self.assertEqual(pg.TRANSACTION_STATUS_IDLE,
                             driver.get_transaction_status())
            states = {state for (state,) in connection.exec_driver_sql(
                'SELECT state FROM pg_stat_activity'
                ' WHERE datname = current_database()'
                ' AND pid <> pg_backend_pid()')}
        self.assertNotIn('idle in transaction', states)

    # Prepared statements ([database]prepared_statements).

    def _statement_names(self) -> set:
        """The names of the small reads' statements."""
        every_column = tuple(column.name
                             for column in models.Node.__table__.columns)
        dialect = self.dbapi.engine.dialect
        return {lean._plan(statement, dialect).prepared.name for statement in (
            db_sqlalchemy._node_row_by('uuid', every_column),
            db_sqlalchemy._node_row_by('name', ('uuid', 'maintenance',
                                                'extra', 'updated_at')),
            db_sqlalchemy._conductor_page(None, 'id', 'asc', True),
            db_sqlalchemy._CONDUCTOR_BY_HOSTNAME[True])}

    def _prepared_in_session(self, dbapi=None) -> set:
        """The statements prepared in the session of the pool's connection
        (the only one: see :meth:`_one_pooled_connection`)."""
        connection = (dbapi or self.dbapi).engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute('SELECT name FROM pg_prepared_statements')
            return {name for (name,) in cursor.fetchall()}
        finally:
            connection.close()

    def _one_pooled_connection(self) -> None:
        # Reads one after another then share one connection.
        self.dbapi.engine.dispose()
        self.addCleanup(lean._SHARED_SESSIONS.discard, self.dbapi.engine)

    def test_small_reads_prepared_once_per_session(self):
        self._one_pooled_connection()
        first = self._small_reads()
        for _ in range(2):
            again, answers = self._straight(self._small_reads)
            self.assertEqual(first, again)
            self.assertNotIn(None, answers)
        # Each prepared once: a second PREPARE would have failed ("already
        # exists") and turned them off.
        self.assertNotIn(self.dbapi.engine, lean._SHARED_SESSIONS)
        self.assertEqual(self._statement_names(),
                         self._prepared_in_session())

    def test_prepared_again_after_the_server_dropped_connections(self):
        self._one_pooled_connection()
        first = self._small_reads()
        self._drop_server_connections()
        self.assertEqual(first, self._small_reads())
        again, answers = self._straight(self._small_reads)
        self.assertEqual(first, again)
        self.assertNotIn(None, answers)
        self.assertEqual(self._statement_names(),
                         self._prepared_in_session())

    def test_a_column_type_changed_after_prepare(self):
        # A migration changes the type of a column a prepared statement
        # reads: PostgreSQL refuses to run it ("cached plan must not
        # change result type"); the read is read through SQLAlchemy, the
        # connection replaced, and the next one prepared again.
        self._one_pooled_connection()
        every_column = tuple(column.name
                             for column in models.Node.__table__.columns)

        def read():
            return self.dbapi.get_node_row('uuid', self.node.uuid,
                                           every_column)
        self.assertEqual('n1', read().name)
        admin = sa.create_engine(self.dbapi.engine.url,
                                 isolation_level='AUTOCOMMIT')
        self.addCleanup(admin.dispose)

        def alter(kind):
            with admin.connect() as connection:
                connection.exec_driver_sql(
                    'ALTER TABLE nodes ALTER COLUMN name TYPE %s' % kind)
        alter('TEXT')
        self.addCleanup(alter, 'VARCHAR(255)')
        row, answers = self._straight(read)
        self.assertEqual(('n1', self.node.uuid), (row.name, row.uuid))
        self.assertEqual([None], answers)
        row, answers = self._straight(read)
        self.assertEqual(('n1', self.node.uuid), (row.name, row.uuid))
        self.assertEqual(1, len(answers))
        self.assertIsNotNone(answers[0])
        self.assertNotIn(self.dbapi.engine, lean._SHARED_SESSIONS)

    def test_a_shared_session_turns_prepared_statements_off(self):
        # A pooler in transaction mode hands each statement to some server
        # session: a statement prepared on one is missing from the next.
        log = self.useFixture(fixtures.FakeLogger(
            name=lean.__name__, level=logging.WARNING))
        self._one_pooled_connection()
        first = self._small_reads()
        connection = self.dbapi.engine.raw_connection()
        driver = connection.dbapi_connection
        driver.autocommit = True
        cursor = connection.cursor()
        cursor.execute('DEALLOCATE ALL')
        cursor.close()
        driver.autocommit = False
        connection.close()
        again, answers = self._straight(self._small_reads)
        self.assertEqual(first, again)
        self.assertIsNone(answers[0])
        self.assertIn(self.dbapi.engine, lean._SHARED_SESSIONS)
        self.assertIn('Prepared statements are off', log.output)
        again, answers = self._straight(self._small_reads)
        self.assertEqual(first, again)
        self.assertNotIn(None, answers)
        self.assertEqual(set(), self._prepared_in_session())

    def test_prepared_statements_turned_off(self):
        self.config(prepared_statements=False, group='database')
        dbapi = db_base.connect(self, self.dbapi.engine.url.render_as_string(
            hide_password=False))
        row = dbapi.get_node_row('uuid', self.node.uuid, ('uuid', 'name'))
        self.assertEqual('n1', row.name)
        self.assertEqual(set(), self._prepared_in_session(dbapi))

    def test_a_percent_sign_in_a_prepared_statement(self):
        nodes = models.Node.__table__
        statement = sa.select(
            nodes.c.uuid, sa.literal_column("'50%'").label('share')).where(
                nodes.c.name == sa.bindparam('name'))
        plan = lean._plan(statement, self.dbapi.engine.dialect)
        self.assertIn("'50%%'", plan.prepared.prepare_and_execute)
        for _ in range(2):
            rows = lean.rows(self.dbapi.engine, statement, {'name': 'n1'},
                             threading.local())
            self.assertEqual([(self.node.uuid, '50%')], rows)

    def test_prepared_statements_per_session_have_a_limit(self):
        # ?fields= makes a statement of any set of columns: a session
        # prepares so many, then reads the others unprepared.
        self._one_pooled_connection()
        self.useFixture(fixtures.MockPatchObject(lean, 'MOST_PREPARED', 2))
        sets = [('uuid',), ('uuid', 'name'), ('name', 'uuid', 'extra')]
        for _ in range(2):
            for columns in sets:
                row, answers = self._straight(functools.partial(
                    self.dbapi.get_node_row, 'uuid', self.node.uuid,
                    columns))
                self.assertEqual(self.node.uuid, row.uuid)
                self.assertNotIn(None, answers)
        dialect = self.dbapi.engine.dialect
        self.assertEqual(
            {lean._plan(db_sqlalchemy._node_row_by('uuid', columns),
                        dialect).prepared.name for columns in sets[:2]},
            self._prepared_in_session())

    def test_a_failed_first_execute_leaves_nothing_half_prepared(self):
        # The PREPARE sent with a first EXECUTE stays when the EXECUTE
        # fails (here a value of the wrong type): the next read prepares
        # on a new connection, not again on that one ("already exists",
        # which would read as a shared session).
        nodes = models.Node.__table__
        statement = sa.select(nodes.c.uuid).where(
            nodes.c.id == sa.bindparam('id', type_=sa.Integer))
        engine = self.dbapi.engine
        self.addCleanup(lean._SHARED_SESSIONS.discard, engine)
        self.assertIsNone(lean.rows(engine, statement, {'id': 'x'},
                                    threading.local()))
        for _ in range(2):
            self.assertEqual([(self.node.uuid,)], lean.rows(
                engine, statement, {'id': self.node.id}, threading.local()))
        self.assertNotIn(engine, lean._SHARED_SESSIONS)
