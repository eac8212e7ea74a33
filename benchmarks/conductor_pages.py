"""In-process cost of a conductor's node pages against a plain page.

Seeds a fleet (``scale.seed``: nodes in 2 groups x 2 hardware types), serves
the WSGI app in this process (webtest, no network) and asks, in turns so
that a noisy machine slows them alike, for a plain page, a ``?conductor=``
page (first and second), the same as details, and the conductor's show.
The conductor pages are asked for twice in each turn: read by the
conductors' record of the nodes' conductor (``nodes.served_by``, recorded
once after seeding, as a conductor would) and from the rings' arcs (the
record made to name other rings between the two, outside the timing).
For each: the CPU time of this process per request (median and first
quartile), the wall time (which holds a database server's own time) and
the SQL statements per request.

    python benchmarks/conductor_pages.py --nodes 10000
    python benchmarks/conductor_pages.py --nodes 100000 --keep /tmp/f.sqlite
    python benchmarks/conductor_pages.py --nodes 10000 \\
        --database postgresql+psycopg2://postgres@127.0.0.1/ --fresh

``--fresh`` (PostgreSQL): the nodes table keeps no planner statistics for
the run (autovacuum off for it), as right after a bulk load; ``--analyze``:
``VACUUM ANALYZE`` after the load, as autovacuum does soon after.
Run it from the top of the repository.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.getcwd())
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scale  # noqa: E402

HEADERS = {'X-OpenStack-Ironic-API-Version': '1.49'}


def _scratch_database(server_url: str, nodes: int) -> str:
    """A new database on the server of ``server_url``; its URL."""
    import sqlalchemy as sa

    name = 'conductor_pages_%d' % nodes
    admin = sa.create_engine(server_url + 'postgres',
                             isolation_level='AUTOCOMMIT')
    with admin.connect() as connection:
        connection.exec_driver_sql('DROP DATABASE IF EXISTS ' + name)
        connection.exec_driver_sql('CREATE DATABASE ' + name)
    admin.dispose()
    return server_url + name


def _seeded(args) -> str:
    if args.database:
        url = _scratch_database(args.database, args.nodes)
    else:
        path = args.keep or os.path.join(tempfile.mkdtemp(), 'fleet.sqlite')
        url = 'sqlite:///' + path
        if args.keep and os.path.exists(path):
            return url
    if args.fresh:
        import sqlalchemy as sa

        from ironic_lite.db import migration
        engine = sa.create_engine(url)
        migration.upgrade(engine=engine)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                'ALTER TABLE nodes SET (autovacuum_enabled = false)')
        engine.dispose()
    scale.seed(url, args.nodes, args.conductors)
    if args.analyze:
        import sqlalchemy as sa

        engine = sa.create_engine(url, isolation_level='AUTOCOMMIT')
        with engine.connect() as connection:
            connection.exec_driver_sql('VACUUM ANALYZE nodes')
        engine.dispose()
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', type=int, default=10000)
    parser.add_argument('--conductors', type=int, default=4)
    parser.add_argument('--repeat', type=int, default=40)
    parser.add_argument('--database', help='a PostgreSQL server URL ending '
                        'in "/"; a SQLite file otherwise')
    parser.add_argument('--keep', help='SQLite file to seed once and reuse')
    parser.add_argument('--fresh', action='store_true')
    parser.add_argument('--analyze', action='store_true')
    args = parser.parse_args()

    from ironic_lite.conf import CONF
    CONF([], project='ironic-lite', default_config_files=[])
    url = _seeded(args)
    CONF.set_override('connection', url, group='database')
    # The seeded conductors stay alive for the run, every one of them.
    CONF.set_override('heartbeat_timeout', 10 ** 7, group='conductor')

    import sqlalchemy as sa
    import webtest

    from ironic_lite.api import app
    from ironic_lite.db import api as db_api
    from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
    from ironic_lite.db.sqlalchemy import models

    dbapi = db_sqlalchemy.Connection(url)
    db_api.set_instance(dbapi)
    with dbapi.engine.begin() as connection:
        connection.execute(models.Conductor.__table__.update().values(
            online=True))
    client = webtest.TestApp(app.setup_app())
    statements = []
    sa.event.listen(dbapi.engine, 'before_cursor_execute',
                    lambda *args: statements.append(args[2]))

    from ironic_lite import version
    from ironic_lite.common import hash_ring
    from ironic_lite.conductor import served_by

    rings = hash_ring.HashRingManager(dbapi).current()
    served_by.record(dbapi, rings, version.version_string())
    record = models.ServedByRecord.__table__

    def recorded(fingerprint):
        with dbapi.engine.begin() as connection:
            connection.execute(record.update().values(
                fingerprint=fingerprint))

    host = scale.conductors_of(args.conductors)[1][0]
    requests = []
    for name, path in [
            ('plain page', '/v1/nodes?limit=1000'),
            ('?conductor= page', '/v1/nodes?conductor=%s&limit=1000' % host),
            ('detail page', '/v1/nodes/detail?limit=1000'),
            ('?conductor= detail', '/v1/nodes/detail?conductor=%s&limit=1000'
             % host),
            ('conductor show', '/v1/conductors/%s' % host)]:
        answer = client.get(path, headers=HEADERS).json
        pages = [(name, path)]
        if answer.get('next') and 'conductor=' in path:
            pages.append((name + ', 2nd', '/' + answer['next'].split(
                '://', 1)[1].split('/', 1)[1]))
        for name, path in pages:
            if '?conductor=' in name:
                requests.append((name + ' (recorded)', path,
                                 rings.fingerprint))
                requests.append((name + ' (arcs)', path, 'other rings'))
            else:
                requests.append((name, path, None))
    cpu = {name: [] for name, _, _ in requests}
    wall = {name: [] for name, _, _ in requests}
    counted = dict.fromkeys(cpu, 0)
    now = rings.fingerprint
    for _ in range(args.repeat):
        for name, path, fingerprint in requests:
            if fingerprint is not None and fingerprint != now:
                recorded(fingerprint)
                now = fingerprint
            del statements[:]
            started, cpu_started = time.perf_counter(), time.process_time()
            client.get(path, headers=HEADERS)
            cpu[name].append(time.process_time() - cpu_started)
            wall[name].append(time.perf_counter() - started)
            counted[name] += len(statements)

    print('%s, %d nodes, %d conductors, %s; %d turns'
          % (url.split('://')[0], args.nodes, args.conductors, host,
             args.repeat))
    print('| request | CPU median | CPU p25 | wall median | statements |')
    print('| --- | --- | --- | --- | --- |')
    for name, _, _ in requests:
        spent, took = sorted(cpu[name]), sorted(wall[name])
        print('| %s | %.2f ms | %.2f ms | %.2f ms | %.1f |'
              % (name, 1000 * spent[len(spent) // 2],
                 1000 * spent[len(spent) // 4], 1000 * took[len(took) // 2],
                 counted[name] / args.repeat))
    return 0


if __name__ == '__main__':
    sys.exit(main())
