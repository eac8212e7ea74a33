"""Databases for the DB layer's tests: SQLite, MariaDB and PostgreSQL.

A test body is written once, in a mixin, and runs on every backend through
one small class per backend. SQLite databases are files of the test's own;
on the servers, each test class migrates one scratch database and every test
starts from empty tables (migrating per test would cost most of the run).
"""

import datetime
import os

import fixtures
import sqlalchemy as sa
from oslo_utils import timeutils
from sqlalchemy import orm

from ironic_lite.db import migration
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
from ironic_lite.db.sqlalchemy import models
from tests import base
from tests import services

SQLITE = 'sqlite'
MYSQL = 'mysql'
POSTGRESQL = 'postgresql'

_SERVERS = {MYSQL: services.MYSQL_URL, POSTGRESQL: services.POSTGRES_URL}

# A fixed "now" with microseconds: a backend that drops them fails.
NOW = datetime.datetime(2026, 3, 4, 5, 6, 7, 123456)


def create_scratch_database(testcase, backend: str):
    """A new empty database on a server, or skip (fail in CI) when the
    server cannot be reached. The caller drops it."""
    scratch = services.ScratchDatabase(_SERVERS[backend])
    try:
        scratch.create()
    except OSError as e:
        services.unavailable(testcase, '%s server not reachable at %s: %s'
                             % (backend, _SERVERS[backend], e))
    return scratch


def empty_database(testcase, backend: str) -> str:
    """The URL of a new, empty database of the test's own."""
    if backend == SQLITE:
        directory = testcase.useFixture(fixtures.TempDir()).path
        return 'sqlite:///' + os.path.join(directory, 'empty.sqlite')
    scratch = create_scratch_database(testcase, backend)
    testcase.addCleanup(scratch.drop)
    return scratch.url


def connect(testcase, url: str) -> db_sqlalchemy.Connection:
    """A Connection as production builds it, disposed after the test (and
    so before the database it uses is dropped)."""
    connection = db_sqlalchemy.Connection(url)
    testcase.addCleanup(connection.dispose)
    return connection


def freeze_time(testcase, when: datetime.datetime) -> None:
    """Make every ``timeutils.utcnow()`` answer ``when`` for this test."""
    timeutils.set_time_override(when)
    testcase.addCleanup(timeutils.clear_time_override)


class DBLayerTestCase(base.TestCase):
    """``self.dbapi`` on a database at the newest schema, with no rows."""

    backend = SQLITE

    _scratch = None
    _connection = None

    def setUp(self):
        super().setUp()
        if self.backend == SQLITE:
            self.dbapi = self.useFixture(base.DatabaseFixture()).dbapi
        else:
            self.dbapi = self._class_connection()
            self._delete_all_rows()

    def _class_connection(self) -> db_sqlalchemy.Connection:
        cls = type(self)
        if cls._connection is None:
            if cls._scratch is None:
                cls._scratch = create_scratch_database(self, self.backend)
            connection = db_sqlalchemy.Connection(cls._scratch.url)
            try:
                migration.upgrade(engine=connection.engine)
            except Exception:
                connection.dispose()
                raise
            cls._connection = connection
        return cls._connection

    @classmethod
    def tearDownClass(cls):
        if cls._connection is not None:
            cls._connection.dispose()
            cls._connection = None
        if cls._scratch is not None:
            cls._scratch.drop()
            cls._scratch = None
        super().tearDownClass()

    def _delete_all_rows(self) -> None:
        with self.dbapi.engine.begin() as connection:
            for table in reversed(models.Base.metadata.sorted_tables):
                connection.execute(table.delete())

    def execute(self, statement, parameters=None):
        """Run one statement in its own transaction; its rows, if any."""
        with self.dbapi.engine.begin() as connection:
            result = connection.execute(statement, parameters or {})
            return result.all() if result.returns_rows else None

    def rows_of(self, model, *criteria) -> list:
        """Rows of a table straight from the database, by id."""
        with orm.Session(self.dbapi.engine) as session:
            return list(session.scalars(
                sa.select(model).where(*criteria).order_by(model.id)))
