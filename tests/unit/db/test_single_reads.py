"""The reads of one row or one page that skip the ORM session
(``get_node_row``, ``get_conductor_list(plain=True)``)."""

import datetime
import json

import sqlalchemy as sa
from oslo_utils import timeutils

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


class TestSingleReadsSQLite(SingleReadTests, db_base.DBLayerTestCase):
    backend = db_base.SQLITE


class TestSingleReadsMySQL(SingleReadTests, db_base.DBLayerTestCase):
    backend = db_base.MYSQL


class TestSingleReadsPostgreSQL(SingleReadTests, db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL
