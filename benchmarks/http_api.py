"""The API's read requests through HTTP, on the all-in-one ``ironic-lite``
with a fresh SQLite fleet.

Seeds a new database (``--nodes`` nodes in 2 conductor groups x 2 hardware
types; the all-in-one's conductor plus three registered ones, two per
group), starts ``ironic-lite`` on it and measures each request with
keep-alive clients: one client in sequence, then ``--clients`` at once
(median, p90 and requests per second).

    python benchmarks/http_api.py [--nodes 10000] [--clients 4]
        [--seconds 3] [--profile FILE]

``--profile FILE`` runs every request the server's application answers
under cProfile (waitress's event loop is not included) and writes the
statistics to FILE when the server stops; use it with ``--clients 1``.
Read them with ``python -m pstats FILE``.
"""

import argparse
import concurrent.futures
import http.client
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, '.')

HEADERS = {'X-OpenStack-Ironic-API-Version': '1.49',
           'Connection': 'keep-alive'}
GROUPS = ('', 'rack-b')
HARDWARE_TYPES = ('fake-hardware', 'ipmi')
# The all-in-one's conductor serves the first group; three more are
# registered, never heartbeat again and stay alive for the timeout below.
CONDUCTORS = (('bench-1', ''), ('bench-2', ''), ('bench-3', 'rack-b'),
              ('bench-4', 'rack-b'))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _write_config(workdir: str, port: int) -> str:
    path = os.path.join(workdir, 'ironic-lite.conf')
    with open(path, 'w') as f:
        f.write('[DEFAULT]\nhost = %s\nstate_path = %s\n'
                'enabled_hardware_types = %s\n'
                '[database]\nconnection = sqlite:///%s/ironic-lite.sqlite\n'
                '[api]\nhost_ip = 127.0.0.1\nport = %d\n'
                '[conductor]\nheartbeat_timeout = 86400\n'
                'sync_power_state_interval = 0\n'
                'power_failure_recovery_interval = 0\n'
                'graceful_shutdown_timeout = 5\n'
                % (CONDUCTORS[0][0], workdir, ','.join(HARDWARE_TYPES),
                   workdir, port))
    return path


def seed(config: str, nodes: int) -> list[str]:
    """A fresh database with the fleet; the node UUIDs."""
    from oslo_utils import timeutils
    from oslo_utils import uuidutils

    from ironic_lite.common import ring_position
    from ironic_lite.conf import CONF
    from ironic_lite.db import api as db_api
    from ironic_lite.db import migration
    from ironic_lite.db.sqlalchemy import models

    CONF(['--config-file', config], project='ironic-lite')
    migration.upgrade()
    dbapi = db_api.get_instance()
    for hostname, group in CONDUCTORS[1:]:
        row = dbapi.register_conductor(
            hostname, group, list(HARDWARE_TYPES),
            take_over_if_older_than=timeutils.utcnow())
        dbapi.register_conductor_hardware_interfaces(row.id, [
            {'hardware_type': hw, 'interface_type': 'power',
             'interface_name': 'fake' if hw == 'fake-hardware'
             else 'ipmitool', 'default': True}
            for hw in HARDWARE_TYPES])
    now = timeutils.utcnow()
    rows = []
    for i in range(nodes):
        uuid = uuidutils.generate_uuid()
        rows.append({
            'uuid': uuid, 'name': 'node-%06d' % i,
            'driver': HARDWARE_TYPES[i % 2],
            'conductor_group': GROUPS[(i // 2) % 2],
            'ring_position': ring_position.ring_position(uuid),
            'provision_state': 'available', 'power_state': 'power off',
            'driver_info': {'ipmi_address': '192.0.2.%d' % (i % 250),
                            'ipmi_username': 'admin',
                            'ipmi_password': 'secret'},
            'properties': {'cpus': 8, 'memory_mb': 65536,
                           'local_gb': 100, 'cpu_arch': 'x86_64'},
            'extra': {'rack': 'r%d' % (i % 40)},
            'instance_info': {}, 'driver_internal_info': {},
            'resource_class': 'baremetal', 'created_at': now,
            'maintenance': False, 'console_enabled': False,
            'protected': False})
    with dbapi.engine.begin() as connection:
        for start in range(0, len(rows), 2000):
            connection.execute(models.Node.__table__.insert(),
                               rows[start:start + 2000])
    dbapi.engine.dispose()
    return [row['uuid'] for row in rows]


class Client:
    """One keep-alive connection."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection('127.0.0.1', port,
                                                     timeout=60)

    def get(self, path: str) -> float:
        start = time.perf_counter()
        self.connection.request('GET', path, headers=HEADERS)
        response = self.connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise RuntimeError('GET %s: %s %s' % (path, response.status,
                                                  body[:300]))
        return elapsed

    def close(self):
        self.connection.close()


def _summary(times: list[float], wall: float) -> str:
    times = sorted(times)
    p90 = times[max(int(len(times) * 0.9) - 1, 0)]
    return '%.1f ms | %.1f ms | %.0f' % (statistics.median(times) * 1000,
                                         p90 * 1000, len(times) / wall)


def measure(port: int, paths, seconds: float, clients: int) -> str:
    """Requests for ``seconds`` from ``clients`` connections; ``paths()``
    gives the next path."""
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    times: list[float] = []

    def run():
        client = Client(port)
        client.get(paths())  # warm up the connection
        mine = []
        while time.monotonic() < stop:
            mine.append(client.get(paths()))
        client.close()
        with lock:
            times.extend(mine)

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(run) for _ in range(clients)]:
            future.result()
    return _summary(times, time.monotonic() - start)


def _wait_serving(port: int, process, log: str, deadline: float) -> None:
    """Until the API answers and the conductor has taken its nodes over
    (which writes each of them: not to be measured)."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError('ironic-lite exited: %s' % process.returncode)
        with open(log) as f:
            taken = 'took over' in f.read()
        try:
            Client(port).get('/v1/conductors')
            if taken:
                return
        except (OSError, RuntimeError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise RuntimeError('ironic-lite did not start')


def serve(argv: list[str], profile: str | None) -> int:
    """The all-in-one ``ironic-lite``; with ``profile``, each request's
    WSGI call profiled."""
    from ironic_lite.api import app
    from ironic_lite.cmd import all_in_one
    from ironic_lite.cmd import common

    if profile:
        import cProfile

        profiler = cProfile.Profile()
        setup_app = app.setup_app

        def profiled_app():
            application = setup_app()

            def call(environ, start_response):
                profiler.enable()
                try:
                    return list(application(environ, start_response))
                finally:
                    profiler.disable()
            return call

        exit_now = common.exit_now

        def dump_and_exit(status):
            profiler.dump_stats(profile)
            exit_now(status)

        app.setup_app = profiled_app
        common.exit_now = dump_and_exit
    return all_in_one.main(argv)


def main() -> int:
    if sys.argv[1:2] == ['--serve']:
        return serve(sys.argv[2:], None)
    if sys.argv[1:2] == ['--serve-profiled']:
        return serve(sys.argv[3:], sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', type=int, default=10000)
    parser.add_argument('--clients', type=int, default=4)
    parser.add_argument('--seconds', type=float, default=3.0)
    parser.add_argument('--profile', metavar='FILE')
    parser.add_argument('--only', help='run only cases whose label '
                        'contains this')
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix='ironic-lite-bench-')
    port = _free_port()
    config = _write_config(workdir, port)
    uuids = seed(config, args.nodes)
    command = [sys.executable, os.path.abspath(__file__)]
    if args.profile:
        command += ['--serve-profiled', os.path.abspath(args.profile)]
    else:
        command += ['--serve']
    command += ['--config-file', config]
    log_path = os.path.join(workdir, 'ironic-lite.log')
    log = open(log_path, 'w')
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_serving(port, process, log_path, time.monotonic() + 120)
        # Ring owners of each conductor, so every one serves a full page.
        host = CONDUCTORS[2][0]
        rng = random.Random(42)
        cases = [
            ('GET /v1/conductors', lambda: '/v1/conductors'),
            ('GET /v1/conductors/{h}', lambda: '/v1/conductors/' + host),
            ('GET /v1/nodes/{uuid}',
             lambda: '/v1/nodes/' + rng.choice(uuids)),
            ('GET /v1/nodes?limit=1000', lambda: '/v1/nodes?limit=1000'),
            ('GET /v1/nodes/detail?limit=1000',
             lambda: '/v1/nodes/detail?limit=1000'),
            ('GET /v1/nodes?conductor=H&limit=1000',
             lambda: '/v1/nodes?conductor=%s&limit=1000' % host),
        ]
        print('%d nodes, %d conductors, %s s per measure\n'
              % (args.nodes, len(CONDUCTORS), args.seconds))
        print('| request | 1 client: median | p90 | r/s '
              '| %d clients: median | p90 | r/s |' % args.clients)
        print('| --- | --- | --- | --- | --- | --- | --- |')
        for label, paths in cases:
            if args.only and args.only not in label:
                continue
            sequential = measure(port, paths, args.seconds, 1)
            concurrent = measure(port, paths, args.seconds, args.clients)
            print('| %s | %s | %s |' % (label, sequential, concurrent),
                  flush=True)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if os.environ.get("BENCH_KEEP"):
            print(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
