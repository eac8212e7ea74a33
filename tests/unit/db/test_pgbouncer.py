"""Small reads through a real PgBouncer (Debian's ``pgbouncer``).

In transaction mode PgBouncer hands each transaction of a client to any
of its server sessions: the statements ironic-lite prepares on one are
missing from the next, or already there when another client prepared
them. :mod:`lean` says it notices, turns prepared statements off for the
engine with a warning, and no read fails. In session mode a client keeps
its server session, and prepared statements stay on.
"""

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import fixtures
import sqlalchemy as sa
from oslo_utils import timeutils
from testtools import content

from ironic_lite.db.sqlalchemy import lean
from tests import base
from tests import services
from tests.unit.db import base as db_base

_WARNING = 'Prepared statements are off'

_NODE = '0b7bbd59-4a3c-4a8e-9a1d-7f4f0c2d9e11'


def _pgbouncer_binary() -> str | None:
    # Debian puts it in /usr/sbin, not on every user's PATH.
    return shutil.which('pgbouncer', path=os.pathsep.join(
        [os.environ.get('PATH', ''), '/usr/sbin', '/sbin']))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class PgBouncer:
    """A pgbouncer process of a test's own on a free loopback port, in
    front of the PostgreSQL server of ``server_url``, logging to a file of
    ``directory``."""

    def __init__(self, binary: str, directory: str, server_url: str,
                 pool_mode: str, pool_size: int):
        self.binary = binary
        self.directory = directory
        self.server = sa.engine.make_url(server_url)
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self.log_path = os.path.join(directory, 'pgbouncer.log')
        self.port = 0
        self.popen: subprocess.Popen | None = None

    def url(self, database: str) -> str:
        """The URL of ``database`` through this PgBouncer."""
        return self.server.set(host='127.0.0.1', port=self.port,
                               database=database).render_as_string(
                                   hide_password=False)

    def _config(self) -> str:
        path = os.path.join(self.directory, 'pgbouncer.ini')
        server = self.server
        with open(path, 'w') as f:
            f.write('[databases]\n'
                    '* = host=%s port=%d user=%s\n'
                    '[pgbouncer]\n'
                    'listen_addr = 127.0.0.1\n'
                    'listen_port = %d\n'
                    # No socket file, no pid file: nothing outside the
                    # test's directory.
                    'unix_socket_dir =\n'
                    # Any user name: the server is reached as the one
                    # above (PostgreSQL here trusts loopback).
                    'auth_type = any\n'
                    'pool_mode = %s\n'
                    'default_pool_size = %d\n' % (
                        server.host or '127.0.0.1', server.port or 5432,
                        server.username or 'postgres', self.port,
                        self.pool_mode, self.pool_size))
        return path

    def start(self, timeout: float = 10) -> None:
        """Start it and wait until it takes connections."""
        for _ in range(3):
            self.port = _free_port()
            command = [self.binary]
            if os.geteuid() == 0:
                # "PgBouncer should not run as root": it reads its
                # configuration, then drops to this user.
                command += ['--user', 'nobody']
            command.append(self._config())
            with open(self.log_path, 'a') as log:
                self.popen = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT)
            deadline = time.monotonic() + timeout
            while self.popen.poll() is None:
                if services.tcp_open('127.0.0.1', self.port):
                    return
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError('pgbouncer took no connection in '
                                         '%ss:\n%s' % (timeout, self.log()))
                time.sleep(0.02)
            if 'Address already in use' not in self.log():
                break
            # The free port was taken meanwhile: another one.
        raise AssertionError('pgbouncer exited with %s:\n%s'
                             % (self.popen.returncode, self.log()))

    def stop(self, timeout: float = 10) -> None:
        """Stop it (a fast exit) and wait until it is gone."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError('pgbouncer did not stop within %ss of a '
                                 'SIGTERM (killed)' % timeout)

    def log(self) -> str:
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ''


class TestReadsThroughPgBouncer(db_base.DBLayerTestCase):
    """Reads of several threads at once through PgBouncer, on a database
    this test's class set up directly."""

    backend = db_base.POSTGRESQL

    # Threads reading at once; the reads each does at least.
    THREADS = 6
    READS = 20

    def setUp(self):
        super().setUp()
        self.binary = _pgbouncer_binary()
        if self.binary is None:
            services.unavailable(self, 'pgbouncer is not installed (Debian: '
                                       'apt-get install pgbouncer)')
        self.config(prepared_statements=True, group='database')
        self.log = self.useFixture(fixtures.FakeLogger(
            name=lean.__name__, level=logging.WARNING))
        self.node = self.dbapi.create_node({
            'uuid': _NODE, 'name': 'n1', 'driver': 'fake-hardware',
            'driver_info': {'a': 1}})
        self.dbapi.register_conductor(
            'c1', '', ['fake-hardware'],
            take_over_if_older_than=timeutils.utcnow())

    def _through(self, pool_mode: str, pool_size: int):
        """A Connection through a new PgBouncer in ``pool_mode`` with
        ``pool_size`` server sessions; both go with the test."""
        bouncer = PgBouncer(self.binary,
                            self.useFixture(fixtures.TempDir()).path,
                            services.POSTGRES_URL, pool_mode, pool_size)
        self.addOnException(lambda exc_info: self.addDetail(
            'pgbouncer-log', content.text_content(bouncer.log())))
        self.addCleanup(bouncer.stop)
        bouncer.start()
        # Disposed (its connections closed) before PgBouncer stops.
        dbapi = db_base.connect(self, bouncer.url(
            self.dbapi.engine.url.database))
        self.addCleanup(lean._SHARED_SESSIONS.discard, dbapi.engine)
        return dbapi

    def _check_reads(self, dbapi) -> None:
        """The small reads, each once, checked."""
        row = dbapi.get_node_row('uuid', _NODE, ('uuid', 'name',
                                                 'driver_info'))
        self.assertEqual((_NODE, 'n1', {'a': 1}),
                         (row.uuid, row.name, json.loads(row.driver_info)))
        self.assertEqual(['c1'], [c.hostname for c in
                                  dbapi.get_conductor_list(plain=True)])
        self.assertEqual(['fake-hardware'],
                         dbapi.get_conductor('c1', plain=True).drivers)

    def _read_at_once(self, dbapi, until=None, timeout: float = 10) -> None:
        """:attr:`THREADS` threads doing :meth:`_check_reads`, each at
        least :attr:`READS` times and, with ``until``, until ``until()``
        is true; fails on the first read that failed."""
        failures: list = []
        done = threading.Event()
        deadline = time.monotonic() + timeout

        def reader():
            count = 0
            try:
                while count < self.READS or not done.is_set():
                    if time.monotonic() > deadline:
                        break
                    self._check_reads(dbapi)
                    count += 1
            except BaseException as e:  # noqa: B036 - reported below
                failures.append(e)
        threads = [threading.Thread(target=reader, name='reader-%d' % i)
                   for i in range(self.THREADS)]
        for thread in threads:
            thread.start()
        try:
            if until is not None:
                base.wait_for(lambda: until() or failures, timeout,
                              interval=0.01, message=until.__doc__)
        finally:
            done.set()
            for thread in threads:
                thread.join()
        if failures:
            raise failures[0]

    def _straight(self, dbapi) -> list:
        """What each small read straight to the driver gave (None: read
        through SQLAlchemy instead)."""
        answers = []
        rows = lean.rows

        def record(*args):
            answers.append(rows(*args))
            return answers[-1]
        with fixtures.MockPatchObject(lean, 'rows', side_effect=record):
            self._check_reads(dbapi)
        return answers

    def _prepared(self, dbapi) -> tuple:
        """(the statements a pooled connection says it prepared, the ones
        its server session has)."""
        connection = dbapi.engine.raw_connection()
        try:
            known = connection.info.get(lean._PREPARED, (None, set()))[1]
            cursor = connection.cursor()
            cursor.execute('SELECT name FROM pg_prepared_statements')
            found = {name for (name,) in cursor.fetchall()}
            cursor.close()
            connection.rollback()
            return set(known), found
        finally:
            connection.close()

    def _no_transaction_left_open(self) -> None:
        with self.dbapi.engine.connect() as connection:
            states = [state for (state,) in connection.exec_driver_sql(
                'SELECT state FROM pg_stat_activity'
                ' WHERE datname = current_database()'
                ' AND pid <> pg_backend_pid()')]
        self.assertNotIn('idle in transaction', states)
        self.assertNotIn('idle in transaction (aborted)', states)

    def test_transaction_mode_turns_prepared_statements_off(self):
        # Two server sessions for six threads: the sessions are shared at
        # once, as soon as a third connection prepares.
        dbapi = self._through('transaction', 2)
        engine = dbapi.engine

        def shared():
            """prepared statements turned off for the engine"""
            return engine in lean._SHARED_SESSIONS
        self._read_at_once(dbapi, until=shared)
        self.assertEqual(1, self.log.output.count(_WARNING), self.log.output)
        self.assertIn('pooler', self.log.output)
        # Nothing broken afterwards: more reads at once, each read straight
        # to the driver and none prepared, writes, no warning again.
        self._read_at_once(dbapi)
        self.assertNotIn(None, self._straight(dbapi))
        dbapi.update_node(self.node.id, {'extra': {'b': 2}})
        self.assertEqual({'b': 2}, dbapi.get_node_by_uuid(_NODE).extra)
        self.assertEqual(1, self.log.output.count(_WARNING))
        self.assertTrue(shared())
        self._no_transaction_left_open()

    def test_session_mode_keeps_prepared_statements(self):
        # A server session for each connection the pool may open.
        dbapi = self._through('session', 20)
        self._read_at_once(dbapi)
        self.assertNotIn(dbapi.engine, lean._SHARED_SESSIONS)
        self.assertNotIn(_WARNING, self.log.output)
        self.assertNotIn(None, self._straight(dbapi))
        known, found = self._prepared(dbapi)
        self.assertTrue(known)
        self.assertEqual(known, found)
        self._no_transaction_left_open()
