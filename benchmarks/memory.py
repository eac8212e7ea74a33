"""Where the API's memory goes, per process (issue #10).

Seeds a fleet (as ``scale.py`` does), starts ``ironic-lite`` on it (or,
with ``--database``, ``ironic-lite-api`` in front of a conductor, on a
scratch database of that server) and prints, for each of its processes
(the first, then the other API processes), at the start and after every
read of ``scale.py``
(one client, then ``--clients``, for ``--seconds`` each):
RSS, PSS (shared pages divided among the processes sharing them),
anonymous and file-backed PSS, private memory, threads; and where the
PSS lies: the heap and anonymous mappings (Python's objects, malloc's
arenas, thread stacks), the C libraries, other files.

    python benchmarks/memory.py                      # 100 000 nodes
    python benchmarks/memory.py --fleet 10000x4 --api-workers 1
    python benchmarks/memory.py \
        --database postgresql+psycopg2://postgres@127.0.0.1/

Run it from the top of the repository.
"""

import argparse
import collections
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import scale  # noqa: E402

_FIELDS = ('Rss', 'Pss', 'Pss_Anon', 'Pss_File', 'Private', 'Threads')


def mappings(pid: int) -> dict[str, int]:
    """PSS in KiB by kind of mapping, from /proc/PID/smaps."""
    kinds: dict[str, int] = collections.Counter()
    kind = None
    try:
        with open('/proc/%d/smaps' % pid) as f:
            for line in f:
                first = line.split(None, 1)[0]
                if not first.endswith(':'):  # a mapping's header line
                    parts = line.split()
                    path = parts[5] if len(parts) > 5 else ''
                    if not path:
                        kind = 'anonymous (arenas, mmap, thread stacks)'
                    elif path.startswith('['):
                        kind = path
                    elif '.so' in os.path.basename(path):
                        kind = 'C libraries (.so)'
                    elif path.startswith('/memfd:'):
                        kind = 'memfd'
                    else:
                        kind = 'other files'
                elif first == 'Pss:':
                    kinds[kind] += int(line.split()[1])
    except OSError:
        pass
    return kinds


def report(pid: int, title: str) -> None:
    figures = scale.process_memory(pid)
    print('\n%s\n' % title)
    print('| process | ' + ' | '.join(_FIELDS) + ' |')
    print('| --- ' * (len(_FIELDS) + 1) + '|')
    total = collections.Counter()
    for number, (one, sizes) in enumerate(figures.items()):
        sizes = dict(sizes, Private=sizes.get('Private_Clean', 0)
                     + sizes.get('Private_Dirty', 0))
        total.update({k: sizes.get(k, 0) for k in _FIELDS})
        print('| %s %d | ' % ('first' if number == 0 else 'API', one)
              + ' | '.join(_cell(name, sizes.get(name, 0))
                           for name in _FIELDS) + ' |')
    print('| all | ' + ' | '.join(_cell(name, total[name])
                                  for name in _FIELDS) + ' |')
    print('\nPSS by mapping (MiB): ')
    for one in figures:
        kinds = mappings(one)
        print('  %d: %s' % (one, ', '.join(
            '%s %.1f' % (kind, size / 1024)
            for kind, size in sorted(kinds.items(), key=lambda x: -x[1])
            if size >= 512)))
    sys.stdout.flush()


def _cell(name: str, kib: int) -> str:
    return str(kib) if name == 'Threads' else '%.1f MiB' % (kib / 1024)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--fleet', default='100000x4',
                        help='NODESxCONDUCTORS')
    parser.add_argument('--api-workers', type=int, metavar='N')
    parser.add_argument('--clients', type=int, default=4)
    parser.add_argument('--seconds', type=float, default=2.0)
    parser.add_argument('--rounds', type=int, default=1,
                        help='runs of every read, a report after each')
    parser.add_argument('--idle', type=float, default=2.0,
                        help='seconds idle before each report after reads '
                        '(the API gives freed memory back once idle)')
    parser.add_argument('--database', metavar='URL',
                        help='a database server (SQLAlchemy URL without a '
                        'database name): measure ironic-lite-api on it')
    args = parser.parse_args()
    nodes, conductors = scale._fleet(args.fleet)
    workdir = tempfile.mkdtemp(prefix='ironic-lite-memory-')
    try:
        if args.database:
            service = scale.start_cluster(workdir, nodes, conductors,
                                          args.api_workers, args.database)
        else:
            service = scale.start_ironic_lite(workdir, nodes, conductors,
                                              args.api_workers)
        try:
            pid = service.process.pid
            report(pid, '### %s, %d nodes, %d conductors: started' % (
                service.name, nodes, conductors))
            uuids = service.info['uuids']
            for turn in range(args.rounds):
                for _label, request in scale.read_cases(uuids, 'bench-2'):
                    scale.measure(service.port, request, args.seconds, 1)
                    scale.measure(service.port, request, args.seconds,
                                  args.clients)
                time.sleep(args.idle)
                report(pid, '### after the reads (round %d), then %.0f s '
                       'idle' % (turn + 1, args.idle))
        finally:
            service.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
