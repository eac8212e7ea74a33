"""What the node and conductor reads cost in-process, per database: wall
and CPU time of the WSGI app's call, and what it sends to the database.

Seeds a scratch database with the fleet of ``scale.py`` (10 000 nodes, 4
conductors by default) on SQLite or on a database server, builds the API
in-process (no HTTP) and calls each request in sequence. Per request:
median and first-quartile wall and CPU time, the database server's CPU
(PostgreSQL: its backends' CPU from /proc, when on this machine), and
what went to the driver: statements, pings, BEGINs psycopg2 sent on its
own (PostgreSQL), rollbacks (counted through SQLAlchemy's statement
events, which make the small reads go through SQLAlchemy for that one
call; how many of them go straight to the driver otherwise is said
beside). ``--through-sqlalchemy``: every read through SQLAlchemy, as
before the small reads went straight to the driver, for a before/after.

    python benchmarks/db_reads.py                       # SQLite
    python benchmarks/db_reads.py --database \\
        postgresql+psycopg2://postgres@127.0.0.1/
    python benchmarks/db_reads.py --database mysql+pymysql://root@127.0.0.1/

Run it from the top of the repository. For the round trips themselves:
``strace -f -c -e trace=sendto`` around two runs of different
``--repeat``.
"""

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scale  # noqa: E402

HEADERS = {'X-OpenStack-Ironic-API-Version': '1.49'}


def scratch_database(server_url: str | None, workdir: str):
    """(URL of a new database, its drop)."""
    import sqlalchemy as sa

    if server_url is None:
        return 'sqlite:///%s/fleet.sqlite' % workdir, lambda: None
    name = 'ironic_lite_db_reads_%d' % os.getpid()
    admin = sa.create_engine(server_url, isolation_level='AUTOCOMMIT')
    with admin.connect() as connection:
        connection.exec_driver_sql('CREATE DATABASE %s' % name)

    def drop():
        with admin.connect() as connection:
            if admin.dialect.name == 'postgresql':
                connection.execute(sa.text(
                    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity'
                    ' WHERE datname = :name'), {'name': name})
            connection.exec_driver_sql('DROP DATABASE IF EXISTS %s' % name)
        admin.dispose()
    url = sa.engine.make_url(server_url).set(database=name)
    return url.render_as_string(hide_password=False), drop


def in_process_api(url: str, nodes: int, conductors: int):
    """The fleet seeded at ``url`` and the API on it, in this process:
    (the seed's facts, the DB API, the WSGI app)."""
    import ironic_lite  # noqa: F401
    from ironic_lite.api import app
    from ironic_lite.common import rpc
    from ironic_lite.conf import CONF
    from ironic_lite.db import api as db_api
    from ironic_lite.db.sqlalchemy import api as db_sqlalchemy

    CONF([], project='ironic-lite', default_config_files=[])
    info = scale.seed(url, nodes, conductors)
    CONF.set_override('connection', url, group='database')
    CONF.set_override('heartbeat_timeout', 86400, group='conductor')
    CONF.set_override('enabled_hardware_types', list(scale.HARDWARE_TYPES))
    rpc.init('fake://')
    dbapi = db_sqlalchemy.Connection(url)
    db_api.set_instance(dbapi)
    return info, dbapi, app.setup_app()


class Driver:
    """Counts what the engine hands the driver."""

    def __init__(self, engine):

        self.counts = collections.Counter()
        self.engine = engine
        dialect = engine.dialect
        for name in ('do_ping', 'do_rollback'):
            original = getattr(dialect, name)

            def counted(*args, _name=name, _original=original):
                self.counts[_name[3:] + 's'] += 1
                return _original(*args)
            setattr(dialect, name, counted)
        self._idle = True

    def listen(self, on: bool) -> None:
        """Count the statements SQLAlchemy executes (a listener makes the
        small reads go through SQLAlchemy: see ironic_lite's ``lean``)."""
        import sqlalchemy as sa

        change = sa.event.listen if on else sa.event.remove
        change(self.engine, 'before_cursor_execute', self._before)
        change(self.engine, 'after_cursor_execute', self._after)

    def _before(self, conn, cursor, statement, *args):
        self.counts['statements'] += 1
        if self.engine.dialect.name == 'postgresql':
            self._idle = cursor.connection.get_transaction_status() == 0

    def _after(self, conn, cursor, statement, *args):
        if (self.engine.dialect.name == 'postgresql' and self._idle
                and cursor.connection.get_transaction_status() != 0):
            self.counts['begins'] += 1

    def backend_cpu(self) -> float:
        """Seconds of CPU of this database's PostgreSQL backends."""
        if self.engine.dialect.name != 'postgresql':
            return 0.0
        import sqlalchemy as sa

        admin = sa.create_engine(self.engine.url.set(database='postgres'))
        with admin.connect() as connection:
            pids = [row[0] for row in connection.execute(sa.text(
                'SELECT pid FROM pg_stat_activity WHERE datname = :name'),
                {'name': self.engine.url.database})]
        admin.dispose()
        total = 0
        for pid in pids:
            try:
                with open('/proc/%d/stat' % pid) as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf('SC_CLK_TCK')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', metavar='SERVER_URL',
                        help='a database server (default: SQLite)')
    parser.add_argument('--nodes', type=int, default=10000)
    parser.add_argument('--conductors', type=int, default=4)
    parser.add_argument('--repeat', type=int, default=50,
                        help='calls of each page (ten times as many of '
                        'the small requests)')
    parser.add_argument('--through-sqlalchemy', action='store_true',
                        help='no read straight to the driver')
    args = parser.parse_args()

    from webob import request as webob_request

    from ironic_lite.db.sqlalchemy import lean

    workdir = tempfile.mkdtemp(prefix='ironic-lite-db-reads-')
    url, drop = scratch_database(args.database, workdir)
    try:
        info, dbapi, application = in_process_api(url, args.nodes,
                                                   args.conductors)
        driver = Driver(dbapi.engine)

        if args.through_sqlalchemy:
            lean.rows = lambda *args: None
        real_rows = lean.rows
        straight_reads = []

        def counted_rows(*args):
            found = real_rows(*args)
            straight_reads.append(found is not None)
            return found

        def call(path: str, count_straight: bool = False):
            """The body; with ``count_straight``, the reads sent straight
            to the driver instead."""
            if count_straight:
                del straight_reads[:]
                lean.rows = counted_rows
                try:
                    call(path)
                finally:
                    lean.rows = real_rows
                return sum(straight_reads)
            status = []
            body = b''.join(application(
                webob_request.Request.blank(path, headers=HEADERS).environ,
                lambda s, headers, exc_info=None: status.append(s)))
            if not status[0].startswith('200'):
                raise RuntimeError('%s: %s %s' % (path, status[0],
                                                  body[:300]))
            return body

        def after_first(path: str) -> str:
            following = json.loads(call(path))['next']
            return following[following.index('/v1/'):]

        detail, listed = '/v1/nodes/detail?limit=1000', '/v1/nodes?limit=1000'
        cases = [
            ('GET ' + detail, detail),
            ('  the page after it', after_first(detail)),
            ('GET ' + listed, listed),
            ('  the page after it', after_first(listed)),
            ('GET /v1/nodes/{uuid}', '/v1/nodes/' + info['uuids'][7][0]),
            ('GET /v1/conductors', '/v1/conductors'),
        ]
        print('%s, %d nodes, %d conductors; ms per request'
              % (dbapi.engine.dialect.name, args.nodes, args.conductors))
        print('| request | wall median / p25 | CPU median / p25 | '
              'server CPU | to the driver |')
        print('| --- | --- | --- | --- | --- |')
        for label, path in cases:
            for _ in range(5):
                call(path)
            driver.counts.clear()
            driver.listen(True)
            call(path)
            driver.listen(False)
            sent = ', '.join('%d %s' % (count, name) for name, count
                             in sorted(driver.counts.items()))
            straight = call(path, count_straight=True)
            if straight:
                sent += ' (%d of them straight to the driver)' % straight
            repeat = args.repeat * (1 if 'limit' in path else 10)
            walls, cpus = [], []
            server = driver.backend_cpu()
            for _ in range(repeat):
                wall, cpu = time.perf_counter(), time.process_time()
                call(path)
                cpus.append(time.process_time() - cpu)
                walls.append(time.perf_counter() - wall)
            server = (driver.backend_cpu() - server) / repeat

            def ms(values):
                return '%.2f / %.2f' % (
                    statistics.median(values) * 1e3,
                    statistics.quantiles(values, n=4)[0] * 1e3)
            print('| %s | %s | %s | %.2f | %s |'
                  % (label, ms(walls), ms(cpus), server * 1e3, sent))
        dbapi.dispose()
    finally:
        drop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
