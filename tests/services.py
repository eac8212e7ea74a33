"""The external services some tests need, and what to do when one is
missing: skip on a developer's machine, fail in CI
(IRONIC_LITE_REQUIRE_SERVICES=1)."""

import os
import socket
import uuid

import sqlalchemy as sa

REQUIRED = os.environ.get('IRONIC_LITE_REQUIRE_SERVICES') == '1'

MYSQL_URL = os.environ.get('IRONIC_LITE_MYSQL_URL',
                           'mysql+pymysql://root@127.0.0.1:3306')
POSTGRES_URL = os.environ.get('IRONIC_LITE_POSTGRES_URL',
                              'postgresql+psycopg2://postgres@127.0.0.1:5432')
RABBIT_URL = os.environ.get('IRONIC_LITE_RABBIT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')


def unavailable(testcase, reason: str) -> None:
    """Skip the test, or fail it when services are required."""
    if REQUIRED:
        testcase.fail('%s (IRONIC_LITE_REQUIRE_SERVICES=1 forbids '
                      'skipping)' % reason)
    testcase.skipTest(reason)


def tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


class ScratchDatabase:
    """A new, empty database on a server, dropped afterwards."""

    def __init__(self, server_url: str):
        self.server_url = server_url
        self.name = 'ironic_lite_%s' % uuid.uuid4().hex[:12]
        self.url = '%s/%s' % (server_url, self.name)
        self._admin = None

    def create(self) -> str:
        """Create it; the URL to reach it. Raises OSError if the server is
        not reachable."""
        database = 'postgres' if self.server_url.startswith('postgres') \
            else ''
        self._admin = sa.create_engine('%s/%s' % (self.server_url, database),
                                       isolation_level='AUTOCOMMIT')
        try:
            with self._admin.connect() as connection:
                connection.execute(sa.text('CREATE DATABASE %s' % self.name))
        except sa.exc.OperationalError as e:
            self._admin.dispose()
            raise OSError(str(e))
        return self.url

    def drop(self) -> None:
        if self._admin is None:
            return
        with self._admin.connect() as connection:
            if self.server_url.startswith('postgres'):
                connection.execute(sa.text(
                    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                    'WHERE datname = :name AND pid <> pg_backend_pid()'),
                    {'name': self.name})
            connection.execute(sa.text('DROP DATABASE IF EXISTS %s'
                                       % self.name))
        self._admin.dispose()
