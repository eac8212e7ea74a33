"""How each SQLite connection is set up (db/sqlalchemy/api.py)."""

from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
from tests import base
from tests.unit.db import base as db_base


class TestSQLiteConnections(base.TestCase):

    def test_every_pooled_connection_is_tuned(self):
        dbapi = db_base.connect(self, db_base.empty_database(
            self, db_base.SQLITE))
        engine = dbapi.engine
        # Two at once: the pool opens a second connection, tuned too.
        with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                self.assertEqual(
                    -db_sqlalchemy.SQLITE_CACHE_KIB,
                    connection.exec_driver_sql('PRAGMA cache_size').scalar())
                self.assertEqual(
                    'wal',
                    connection.exec_driver_sql('PRAGMA journal_mode')
                    .scalar())
