"""A bounded soak of a cluster: clients reading and writing for minutes
while one conductor is restarted; counts 5xx answers and how the API's
memory (RSS) grows.

Real processes (one ironic-lite-api, three ironic-lite-conductor) on a
scratch MariaDB database and this machine's RabbitMQ, with the functional
tests' timings. Each client, one request at a time, lists nodes, shows one,
patches one of its own nodes (adding a key), creates a node and now and
then deletes one it created. Halfway through, one conductor gets SIGTERM
and is started again. Prints a JSON summary; exits 1 when a 5xx was seen
or the RSS grew by 10 % or more.

    python benchmarks/soak.py [--minutes 5] [--clients 8]
"""

import argparse
import collections
import json
import shutil
import signal
import sys
import tempfile
import threading
import time

import requests

sys.path.insert(0, '.')

from tests import services  # noqa: E402
from tests.functional import cluster as cluster_mod  # noqa: E402

# RSS is first sampled after this long: imports, caches and pools settle.
WARM_UP = 30.0
# Seconds between two samples of the API's RSS.
SAMPLE_EVERY = 15.0


def rss_kib(pid: int) -> int:
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError('no VmRSS for %d' % pid)


class Clients:

    def __init__(self, cluster, count: int):
        self.cluster = cluster
        self.count = count
        self.statuses = collections.Counter()
        self.errors_5xx: list[tuple[float, str, int, str]] = []
        self.failures: list[str] = []  # no answer at all
        self.latencies: list[float] = []
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(i,))
                        for i in range(count)]

    def client(self, index: int) -> None:
        session = requests.Session()
        session.headers['X-OpenStack-Ironic-API-Version'] = 'latest'
        url = self.cluster.api_url
        mine: list[str] = []
        count = 0
        while not self.done.is_set():
            step = count % 5
            if step == 4 and len(mine) > 3:
                method, path = 'DELETE', '/v1/nodes/%s' % mine.pop(0)
                body = None
            elif step in (3, 4) or not mine:
                method, path, body = 'POST', '/v1/nodes', {
                    'driver': 'fake-hardware',
                    'name': 's%d-%d' % (index, count)}
            elif step == 0:
                method, path, body = 'GET', '/v1/nodes?limit=50', None
            elif step == 1:
                method, path, body = 'GET', '/v1/nodes/%s' % mine[-1], None
            else:
                method, path, body = 'PATCH', '/v1/nodes/%s' % mine[-1], [
                    {'op': 'add', 'path': '/extra/k%d' % count,
                     'value': count}]
            started = time.monotonic()
            try:
                response = session.request(method, url + path, json=body,
                                           timeout=60)
            except requests.RequestException as e:
                self.failures.append('%s %s: %r' % (method, path, e))
                count += 1
                continue
            self.latencies.append(time.monotonic() - started)
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.errors_5xx.append((time.time(), method,
                                        response.status_code,
                                        response.text[:300]))
            if method == 'POST' and response.status_code == 201:
                mine.append(response.json()['uuid'])
            count += 1


def soak(minutes: float, clients_count: int) -> dict:
    workdir = tempfile.mkdtemp(prefix='ironic-lite-soak-')
    scratch = services.ScratchDatabase(services.MYSQL_URL)
    cluster = cluster_mod.Cluster(workdir, scratch.create(),
                                  services.RABBIT_URL)
    try:
        cluster.dbsync()
        api = cluster.start_api()
        for name in ('c1', 'c2', 'c3'):
            cluster.start_conductor(name, wait=False)
        for name in ('c1', 'c2', 'c3'):
            cluster.wait_started(name)
        clients = Clients(cluster, clients_count)
        started = time.monotonic()
        for thread in clients.threads:
            thread.start()
        duration = minutes * 60
        samples = []

        def sample_until(moment: float) -> None:
            while time.monotonic() < moment:
                time.sleep(max(0.0, min(SAMPLE_EVERY,
                                        moment - time.monotonic())))
                samples.append((round(time.monotonic() - started),
                                rss_kib(api.popen.pid)))

        time.sleep(min(WARM_UP, duration / 4))
        rss_start = rss_kib(api.popen.pid)

        sample_until(started + duration / 2)
        restart_at = time.monotonic() - started
        status = cluster.stop('c2', signal.SIGTERM)
        cluster.start_conductor('c2')
        restarted_in = time.monotonic() - started - restart_at

        sample_until(started + duration)
        rss_end = rss_kib(api.popen.pid)
        clients.done.set()
        for thread in clients.threads:
            thread.join(120)
        latencies = sorted(clients.latencies)
        locked = cluster.scalar(
            'SELECT COUNT(*) FROM nodes WHERE reservation IS NOT NULL')
        return {
            'minutes': minutes,
            'clients': clients_count,
            'requests': sum(clients.statuses.values()),
            'statuses': dict(sorted(clients.statuses.items())),
            '5xx': len(clients.errors_5xx),
            '5xx_samples': clients.errors_5xx[:5],
            'no_answer': len(clients.failures),
            'no_answer_samples': clients.failures[:5],
            'latency_s': {
                'median': round(latencies[len(latencies) // 2], 3),
                'p99': round(latencies[int(len(latencies) * 0.99)], 3),
                'max': round(latencies[-1], 3)},
            'conductor_restart': {'at_s': round(restart_at, 1),
                                  'exit_status': status,
                                  'stop_and_start_s': round(restarted_in, 2)},
            'api_rss_kib': {'after_warm_up': rss_start, 'end': rss_end,
                            'growth_pct': round(
                                100.0 * (rss_end - rss_start) / rss_start,
                                1),
                            'samples_s_kib': samples},
            'nodes_left_locked': locked,
            'processes_alive': {name: p.popen.poll() is None
                                for name, p in cluster.processes.items()},
        }
    finally:
        cluster.shutdown()
        scratch.drop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--minutes', type=float, default=5)
    parser.add_argument('--clients', type=int, default=8)
    args = parser.parse_args()
    result = soak(args.minutes, args.clients)
    print(json.dumps(result, indent=2))
    ok = (result['5xx'] == 0 and not result['no_answer']
          and result['api_rss_kib']['growth_pct'] < 10)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
