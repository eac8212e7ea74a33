"""CPU per request over HTTP, per process kind: the API's processes, the
PostgreSQL server's, the clients', the conductor's and the machine's.

On a machine whose cores are all busy, requests per second are the cores
divided by the CPU a request costs everything on it; this splits that
cost. Starts ``ironic-lite-api`` (its default processes) and
``ironic-lite-conductor`` on a scratch database of a server seeded as
``scale.py`` seeds it, then for ``--rounds`` rounds drives each request
with ``--clients`` keep-alive clients for ``--seconds``, reading
utime + stime from /proc before and after: the API process and its
children, every ``postgres`` process, the conductor, the clients (this
process's reaped children) and the whole machine (/proc/stat).

    python benchmarks/http_cpu.py --database \\
        postgresql+psycopg2://postgres@127.0.0.1/

Run it from the top of the repository (the code of the tree it is run
from is the code measured: alternate runs of two trees for an A/B).
"""

import argparse
import os
import resource
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scale  # noqa: E402

TICK = os.sysconf('SC_CLK_TCK')


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(name, parent, CPU ticks) of a process, None if gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            text = f.read()
    except OSError:
        return None
    name = text[text.index('(') + 1:text.rindex(')')]
    fields = text.rsplit(')', 1)[1].split()
    return name, int(fields[1]), int(fields[11]) + int(fields[12])


def cpu_by_kind(api: int, conductor: int) -> dict[str, float]:
    """Seconds of CPU so far of each kind of process."""
    stats = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                stats[int(entry)] = found
    api_tree = {api} | {pid for pid, (_, parent, _) in stats.items()
                        if parent == api}
    totals = {'API': 0, 'PostgreSQL': 0, 'conductor': 0}
    for pid, (name, _, ticks) in stats.items():
        if pid in api_tree:
            totals['API'] += ticks
        elif name == 'postgres':
            totals['PostgreSQL'] += ticks
        elif pid == conductor:
            totals['conductor'] += ticks
    figures = {kind: ticks / TICK for kind, ticks in totals.items()}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures['clients'] = children.ru_utime + children.ru_stime
    with open('/proc/stat') as f:
        cpu = [int(v) for v in f.readline().split()[1:]]
    # Everything but idle and iowait.
    figures['machine'] = (sum(cpu) - cpu[3] - cpu[4]) / TICK
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', metavar='SERVER_URL', required=True)
    parser.add_argument('--nodes', type=int, default=10000)
    parser.add_argument('--conductors', type=int, default=4)
    parser.add_argument('--clients', type=int, default=4)
    parser.add_argument('--seconds', type=float, default=5)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix='ironic-lite-http-cpu-')
    service = scale.start_cluster(workdir, args.nodes, args.conductors,
                                  None, args.database)
    try:
        uuids = [u for u, *_ in service.info['uuids']]
        requests = [
            ('GET /v1/nodes/{uuid}',
             scale._get(lambda i: '/v1/nodes/' + uuids[i % len(uuids)])),
            ('GET /v1/conductors', scale._get(lambda i: '/v1/conductors')),
        ]
        results = {label: [] for label, _ in requests}
        for _ in range(args.rounds):
            for label, request in requests:
                before = cpu_by_kind(service.process.pid,
                                     service.conductor.pid)
                figures = scale.measure(service.port, request, args.seconds,
                                        args.clients)
                after = cpu_by_kind(service.process.pid,
                                    service.conductor.pid)
                count = figures['count']
                row = {kind: (after[kind] - before[kind]) / count * 1e6
                       for kind in after}
                row['r/s'] = figures['rps']
                results[label].append(row)
        kinds = ['r/s', 'API', 'PostgreSQL', 'clients', 'conductor',
                 'machine']
        print('%d clients, %d rounds of %.0f s; CPU per request in '
              'microseconds, median (min-max) of the rounds'
              % (args.clients, args.rounds, args.seconds))
        print('| request | %s |' % ' | '.join(kinds))
        print('| --- |%s' % (' --- |' * len(kinds)))
        for label, rows in results.items():
            cells = []
            for kind in kinds:
                values = [row[kind] for row in rows]
                cells.append('%.0f (%.0f-%.0f)' % (
                    statistics.median(values), min(values), max(values)))
            print('| %s | %s |' % (label, ' | '.join(cells)))
    finally:
        service.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
