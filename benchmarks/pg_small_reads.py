"""CPU per small read on PostgreSQL, A/B in one process: the API's and
the server backends'.

Seeds a scratch database with the fleet of ``scale.py`` (10 000 nodes, 4
conductors by default), builds the API in-process (no HTTP) and calls
``GET /v1/nodes/{uuid}``, ``GET /v1/conductors`` and
``GET /v1/conductors/{hostname}`` in turns of ``--calls``, switching
one change (``--ab``) off and on between turns (the order alternating),
so that both sides share the machine's load. Per request: the API's CPU
(this process) and the CPU of this database's PostgreSQL backends (from
/proc), the median and the range over the turns.

    python benchmarks/pg_small_reads.py --ab literals --database \\
        postgresql+psycopg2://postgres@127.0.0.1/

``--ab prepared``: ``[database]prepared_statements`` on and off.
``--ab literals``: a node's empty documents written in the statement
(on) or bound as values on every read (off, as before).

Run it from the top of the repository.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import db_reads  # noqa: E402


def _literals(dbapi, on: bool) -> None:
    """A node's empty documents as literals of its statement, or as
    values bound on every read."""
    import sqlalchemy as sa

    from ironic_lite.db.sqlalchemy import api
    from ironic_lite.db.sqlalchemy import lean

    if not hasattr(api, '_literal_empty_document'):
        api._literal_empty_document = api._empty_document
    api._empty_document = (api._literal_empty_document if on else (
        lambda kind: sa.literal(kind.process_bind_param(kind._empty(), None),
                                sa.Text)))
    for cached in (api._node_rows_select, api._node_row_by, lean._plan):
        cached.cache_clear()


def _prepared(dbapi, on: bool) -> None:
    dbapi._prepare = on


SWITCHES = {'literals': _literals, 'prepared': _prepared}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', metavar='SERVER_URL', required=True,
                        help='a PostgreSQL server on this machine')
    parser.add_argument('--nodes', type=int, default=10000)
    parser.add_argument('--conductors', type=int, default=4)
    parser.add_argument('--calls', type=int, default=2000,
                        help='calls of a request per turn')
    parser.add_argument('--turns', type=int, default=6,
                        help='turns of each side per request')
    parser.add_argument('--ab', choices=sorted(SWITCHES), required=True,
                        help='the change switched off and on')
    args = parser.parse_args()

    from webob import request as webob_request

    url, drop = db_reads.scratch_database(args.database, None)
    try:
        info, dbapi, application = db_reads.in_process_api(
            url, args.nodes, args.conductors)
        driver = db_reads.Driver(dbapi.engine)
        environs = {}

        def call(path: str) -> None:
            if path not in environs:
                environs[path] = webob_request.Request.blank(
                    path, headers=db_reads.HEADERS).environ
            status = []
            body = b''.join(application(
                dict(environs[path]),
                lambda s, headers, exc_info=None: status.append(s)))
            if not status[0].startswith('200'):
                raise RuntimeError('%s: %s %s' % (path, status[0],
                                                  body[:300]))

        cases = [('GET /v1/nodes/{uuid}', '/v1/nodes/' + info['uuids'][7][0]),
                 ('GET /v1/conductors', '/v1/conductors'),
                 ('GET /v1/conductors/{hostname}',
                  '/v1/conductors/' + info['hosts'][0][0])]
        print('PostgreSQL, %d nodes, %d conductors; %d turns of %d calls a '
              'side; CPU per request in microseconds, median (min-max) of '
              'the turns' % (args.nodes, args.conductors, args.turns,
                             args.calls))
        print('| request | %s | API CPU | server CPU | both |' % args.ab)
        print('| --- | --- | --- | --- | --- |')
        for label, path in cases:
            figures = {False: [], True: []}
            for turn in range(args.turns * 2):
                prepare = bool(turn % 2) != bool(turn // 2 % 2)
                SWITCHES[args.ab](dbapi, prepare)
                for _ in range(50):
                    call(path)
                server = driver.backend_cpu()
                cpu = time.process_time()
                for _ in range(args.calls):
                    call(path)
                cpu = (time.process_time() - cpu) / args.calls
                server = (driver.backend_cpu() - server) / args.calls
                figures[prepare].append((cpu, server, cpu + server))
            for prepare in (False, True):
                columns = []
                for index in range(3):
                    values = [f[index] * 1e6 for f in figures[prepare]]
                    columns.append('%.0f (%.0f-%.0f)' % (
                        statistics.median(values), min(values), max(values)))
                print('| %s | %s | %s |' % (label, 'on' if prepare else 'off',
                                            ' | '.join(columns)))
        dbapi.dispose()
    finally:
        drop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
