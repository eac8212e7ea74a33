"""How long the node ``conductor`` field the API shows lags behind a change
of conductors: one joins, one stops gracefully, one is killed (SIGKILL).

Runs real processes (ironic-lite-api and three ironic-lite-conductor) on a
scratch MariaDB database and this machine's RabbitMQ, with the functional
tests' timings (heartbeat 1 s, timeout 5 s), and prints a Markdown table.

    python benchmarks/staleness.py [--rounds 5] [--nodes 60]
"""

import argparse
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, '.')

from tests import services  # noqa: E402
from tests.functional import cluster as cluster_mod  # noqa: E402

POLL = 0.02


def wait_until(predicate, timeout=60):
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise RuntimeError('gave up after %ss' % timeout)
        time.sleep(POLL)
    return time.monotonic()


def measure(cluster, nodes: int) -> dict[str, float]:
    for i in range(nodes):
        response = cluster.request('POST', '/v1/nodes',
                                   json={'driver': 'fake-hardware',
                                         'name': 'n%d' % i})
        response.raise_for_status()
    c3 = cluster.hostname('c3')

    # Join: from the moment the conductor says it started.
    process = cluster.start_conductor('c3', wait=False)
    process.wait_for_line(re.compile(re.escape(
        'ironic-lite-conductor %s started' % c3)))
    started = time.monotonic()
    joined = wait_until(lambda: c3 in cluster.node_owners().values())

    # Graceful stop: from the moment the process has exited.
    cluster.stop('c3', signal.SIGTERM)
    stopped = time.monotonic()
    left = wait_until(lambda: c3 not in cluster.node_owners().values())

    # Crash: from the kill.
    cluster.start_conductor('c3')
    wait_until(lambda: c3 in cluster.node_owners().values())
    cluster.stop('c3', signal.SIGKILL)
    killed = time.monotonic()
    dropped = wait_until(lambda: c3 not in cluster.node_owners().values())
    return {'join': joined - started, 'graceful stop': left - stopped,
            'SIGKILL': dropped - killed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--nodes', type=int, default=60)
    args = parser.parse_args()

    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        workdir = tempfile.mkdtemp(prefix='ironic-lite-bench-')
        scratch = services.ScratchDatabase(services.MYSQL_URL)
        cluster = cluster_mod.Cluster(workdir, scratch.create(),
                                      services.RABBIT_URL)
        try:
            cluster.dbsync()
            cluster.start_api()
            cluster.start_conductor('c1')
            cluster.start_conductor('c2')
            for event, seconds in measure(cluster, args.nodes).items():
                results.setdefault(event, []).append(seconds)
        finally:
            cluster.shutdown()
            scratch.drop()
            shutil.rmtree(workdir, ignore_errors=True)

    print('| event | target | min | median | max | rounds |')
    print('| --- | --- | --- | --- | --- | --- |')
    targets = {'join': '≤ 2 s', 'graceful stop': '≤ 2 s',
               'SIGKILL': '≤ %d s (timeout + 2 s)'
               % (cluster_mod.HEARTBEAT_TIMEOUT + 2)}
    for event, values in results.items():
        print('| %s | %s | %.2f s | %.2f s | %.2f s | %d |' % (
            event, targets[event], min(values), statistics.median(values),
            max(values), len(values)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
