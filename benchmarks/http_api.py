"""The API's requests through HTTP, on the all-in-one ``ironic-lite``
with a fresh SQLite fleet.

Seeds a new database (``--nodes`` nodes in 2 conductor groups x 2 hardware
types; the all-in-one's conductor plus three registered ones, two per
group), starts ``ironic-lite`` on it and measures each request with
keep-alive clients: one client in sequence, then ``--clients`` at once
(median, p90 and requests per second), and the CPU time the service's
processes used per request (from /proc: the figure to compare on a machine
shared with other work).

    python benchmarks/http_api.py [--nodes 10000] [--clients 4]
        [--seconds 3] [--profile FILE] [--only WORD,...]
        [--service all-in-one|api] [--workers N]

``--service api`` runs ``ironic-lite-api`` (``--workers`` processes) and
the conductor ``ironic-lite-conductor`` apart, over this machine's RabbitMQ,
instead of the all-in-one.

``--profile FILE`` runs every request the server's application answers
under cProfile (waitress's event loop is not included) and writes the
statistics to FILE when the server stops; use it with ``--clients 1``.
It profiles the first process only: the all-in-one then serves from one
process unless ``--workers`` says otherwise. With a FILE ending in
``.yappi`` the whole server process is profiled with yappi instead,
every thread (the conductor's too), in CPU time, from the
moment the conductor has taken its nodes over to the stop. Read either
with ``python -m pstats FILE``.
"""

import argparse
import http.client
import itertools
import json
import multiprocessing
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
from collections.abc import Iterator

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


def _write_config(workdir: str, port: int, args) -> str:
    path = os.path.join(workdir, 'ironic-lite.conf')
    default = ('host = %s\nstate_path = %s\nenabled_hardware_types = %s\n'
               % (CONDUCTORS[0][0], workdir, ','.join(HARDWARE_TYPES)))
    if args.service == 'api':
        default += ('transport_url = %s\ncontrol_exchange = '
                    'ironic-lite-bench-%d\n' % (args.transport_url,
                                                 os.getpid()))
    api = 'host_ip = 127.0.0.1\nport = %d\n' % port
    if args.workers:
        api += 'api_workers = %d\n' % args.workers
    with open(path, 'w') as f:
        f.write('[DEFAULT]\n%s'
                '[database]\nconnection = sqlite:///%s/ironic-lite.sqlite\n'
                '[api]\n%s'
                '[conductor]\nheartbeat_timeout = 86400\n'
                'sync_power_state_interval = 0\n'
                'power_failure_recovery_interval = 0\n'
                'graceful_shutdown_timeout = 5\n'
                % (default, workdir, api))
    return path


def node_rows(count: int, now, new_uuid) -> Iterator[dict]:
    """The fleet's node rows, as both ironic-lite's and Ironic's schemas
    name the columns: 2 groups x 2 hardware types, IPMI driver_info with a
    password; ``new_uuid()`` gives each node its UUID."""
    from ironic_lite.common import ring_position

    for i in range(count):
        node_uuid = new_uuid()
        yield {
            'uuid': node_uuid, 'name': 'node-%06d' % i,
            'driver': HARDWARE_TYPES[i % 2],
            'conductor_group': GROUPS[(i // 2) % 2],
            'ring_position': ring_position.ring_position(node_uuid),
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
            'protected': False}


def seed(config: str, nodes: int) -> list[str]:
    """A fresh database with the fleet; the node UUIDs."""
    from oslo_utils import timeutils
    from oslo_utils import uuidutils

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
    rows = list(node_rows(nodes, timeutils.utcnow(),
                          uuidutils.generate_uuid))
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

    def get(self, path) -> float:
        """One request; ``path`` is a path to GET, or a (method, path,
        JSON body) triple."""
        method, body = 'GET', None
        headers = HEADERS
        if not isinstance(path, str):
            method, path, body = path
            headers = dict(HEADERS, **{'Content-Type': 'application/json'})
        start = time.perf_counter()
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - start
        if response.status not in (200, 201):
            raise RuntimeError('%s %s: %s %s' % (method, path,
                                                 response.status,
                                                 answer[:300]))
        return elapsed

    def close(self):
        self.connection.close()


def _summary(times: list[float], wall: float) -> str:
    times = sorted(times)
    p90 = times[max(int(len(times) * 0.9) - 1, 0)]
    return '%.1f ms | %.1f ms | %.0f' % (statistics.median(times) * 1000,
                                         p90 * 1000, len(times) / wall)


def run_clients(port: int, request, seconds: float, clients: int,
                client_class=None) -> tuple[list[float], float]:
    """``request(client, index)`` -> seconds, repeated for ``seconds`` (at
    least once) by each of ``clients`` keep-alive connections, each in a
    process of its own: client threads in one process would share a GIL
    and measure it. The indexes of the clients are disjoint (client ``c``
    of ``n`` uses ``c``, ``c + n``, ...); a first request of each, not
    measured, warms its connection up. The times, and the wall-clock
    seconds of the whole."""
    client_class = client_class or Client
    stop = time.monotonic() + seconds
    context = multiprocessing.get_context('fork')
    results = context.Queue()

    def run(number):
        random.seed()  # each client its own random choices
        client = client_class(port)
        indexes = itertools.count(number, clients)
        request(client, next(indexes))
        mine = []
        while not mine or time.monotonic() < stop:
            mine.append(request(client, next(indexes)))
        client.close()
        results.put(mine)

    start = time.monotonic()
    processes = [context.Process(target=run, args=(number,))
                 for number in range(clients)]
    for process in processes:
        process.start()
    times: list[float] = []
    for _ in processes:
        times.extend(results.get(timeout=seconds + 120))
    wall = time.monotonic() - start
    for process in processes:
        process.join()
        if process.exitcode:
            raise RuntimeError('a client failed: %s' % process.exitcode)
    return times, wall


def measure(port: int, paths, seconds: float, clients: int,
            service_pids: list[int] = ()) -> str:
    """:func:`run_clients` of GETs of ``paths()`` (the next path); with
    ``service_pids``, the CPU time of those processes and their children
    per request too (the figure that holds on a busy machine)."""
    used = service_cpu(service_pids)
    times, wall = run_clients(port, lambda client, index: client.get(
        paths()), seconds, clients)
    summary = _summary(times, wall)
    if service_pids:
        summary += ' | %.3f ms' % ((service_cpu(service_pids) - used)
                                   / len(times) * 1000)
    return summary


def with_children(pid: int) -> list[int]:
    """``pid`` and its child processes (API workers), from /proc."""
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            return [pid] + [int(child) for child in f.read().split()]
    except OSError:
        return [pid]


def service_cpu(pids) -> float:
    """Seconds of CPU (user and system) used so far by ``pids`` and their
    child processes (API workers), from /proc; a process that is gone
    counts nothing."""
    tick = os.sysconf('SC_CLK_TCK')
    total = 0
    for pid in pids:
        for member in with_children(pid):
            try:
                with open('/proc/%d/stat' % member) as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total / tick


def _local_ring():
    """The ring of the all-in-one's conductor group: writes go to nodes it
    owns, since the other conductors are only registered."""
    from ironic_lite.common import hash_ring
    from ironic_lite.conf import CONF
    return hash_ring.Ring({h for h, g in CONDUCTORS if g == GROUPS[0]},
                          2 ** CONF.hash_partition_exponent)


def _writable(uuids: list[str]) -> list[str]:
    """The seeded fake-hardware nodes of the all-in-one's conductor."""
    ring = _local_ring()
    return [u for i, u in enumerate(uuids)
            if HARDWARE_TYPES[i % 2] == 'fake-hardware'
            and GROUPS[(i // 2) % 2] == GROUPS[0]
            and ring.owner(u) == CONDUCTORS[0][0]]


def _creations():
    """New nodes, each with a name of its own, on the all-in-one's
    conductor."""
    from oslo_utils import uuidutils
    ring = _local_ring()
    counter = itertools.count()
    lock = threading.Lock()

    def next_request():
        with lock:
            n = next(counter)
            uuid = uuidutils.generate_uuid()
            while ring.owner(uuid) != CONDUCTORS[0][0]:
                uuid = uuidutils.generate_uuid()
        return ('POST', '/v1/nodes', json.dumps({
            'uuid': uuid,
            'name': 'bench-new-%d-%d' % (os.getpid(), n),
            'driver': 'fake-hardware',
            'driver_info': {'ipmi_address': '192.0.2.1'},
            'properties': {'cpus': 8}, 'extra': {'n': n}}))
    return next_request


def _patches(uuids: list[str]):
    """PATCHes of random nodes' ``extra``."""
    def next_request():
        uuid, value = random.choice(uuids), random.random()
        return ('PATCH', '/v1/nodes/' + uuid, json.dumps([
            {'op': 'add', 'path': '/extra/bench', 'value': value}]))
    return next_request


def _wait_serving(port: int, processes, log: str, deadline: float) -> None:
    """Until the API answers and the conductor has taken its nodes over
    (which writes each of them: not to be measured)."""
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError('%s exited: %s' % (process.args,
                                                      process.returncode))
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

    if profile and profile.endswith('.yappi'):
        # Every thread (the conductor's RPC server and workers too), in
        # CPU time, from start to stop; read with yappi's own API.
        import yappi

        yappi.set_clock_type('cpu')
        # From SIGUSR1 on, which comes once the server is ready: not the
        # start, not the conductor's take-over of the fleet.
        signal.signal(signal.SIGUSR1, lambda signum, frame: yappi.start())
        exit_now = common.exit_now

        def dump_and_exit(status):
            yappi.stop()
            yappi.get_func_stats().save(profile, type='pstat')
            exit_now(status)

        common.exit_now = dump_and_exit
    elif profile:
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
    parser.add_argument('--service', choices=('all-in-one', 'api'),
                        default='all-in-one',
                        help='all-in-one: ironic-lite (fake:// RPC); api: '
                        'ironic-lite-api and ironic-lite-conductor over '
                        'RabbitMQ')
    parser.add_argument('--workers', type=int,
                        help='[api]api_workers (default: the default)')
    parser.add_argument('--transport-url',
                        default='rabbit://guest:guest@127.0.0.1:5672/')
    parser.add_argument('--only', help='run only cases whose label '
                        'contains one of these comma-separated words')
    args = parser.parse_args()
    if args.profile and args.workers is None and args.service != 'api':
        args.workers = 1  # what is profiled: the first process

    workdir = tempfile.mkdtemp(prefix='ironic-lite-bench-')
    port = _free_port()
    config = _write_config(workdir, port, args)
    uuids = seed(config, args.nodes)
    if args.service == 'api':
        # The API alone, and the conductor bench-1 in a process of its own.
        bindir = os.path.dirname(sys.executable)
        commands = {name: [os.path.join(bindir, name), '--config-file',
                           config]
                    for name in ('ironic-lite-conductor', 'ironic-lite-api')}
    else:
        command = [sys.executable, os.path.abspath(__file__)]
        if args.profile:
            command += ['--serve-profiled', os.path.abspath(args.profile)]
        else:
            command += ['--serve']
        commands = {'ironic-lite': command + ['--config-file', config]}
    logs, processes = [], []
    for name, command in commands.items():
        logs.append(open(os.path.join(workdir, name + '.log'), 'w'))
        processes.append(subprocess.Popen(command, stdout=logs[-1],
                                          stderr=subprocess.STDOUT))
    log_path = logs[0].name
    try:
        _wait_serving(port, processes, log_path, time.monotonic() + 600)
        if args.profile and args.profile.endswith('.yappi'):
            processes[0].send_signal(signal.SIGUSR1)
        # Ring owners of each conductor, so every one serves a full page.
        host = CONDUCTORS[2][0]
        cases = [
            ('GET /v1/conductors', lambda: '/v1/conductors'),
            ('GET /v1/conductors/{h}', lambda: '/v1/conductors/' + host),
            ('GET /v1/nodes/{uuid}',
             lambda: '/v1/nodes/' + random.choice(uuids)),
            ('GET /v1/nodes?limit=1000', lambda: '/v1/nodes?limit=1000'),
            ('GET /v1/nodes/detail?limit=1000',
             lambda: '/v1/nodes/detail?limit=1000'),
            ('GET /v1/nodes?conductor=H&limit=1000',
             lambda: '/v1/nodes?conductor=%s&limit=1000' % host),
            ('POST /v1/nodes', _creations()),
            ('PATCH /v1/nodes/{uuid}', _patches(_writable(uuids))),
        ]
        print('%s, %d nodes, %d conductors, %s s per measure, '
              'api_workers %s\n' % (args.service, args.nodes,
                                     len(CONDUCTORS), args.seconds,
                                     args.workers or 'default'))
        print('| request | 1 client: median | p90 | r/s | server CPU '
              '/ request | %d clients: median | p90 | r/s | server CPU / '
              'request |' % args.clients)
        print('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
        pids = [process.pid for process in processes]
        for label, paths in cases:
            if args.only and not any(
                    part in label for part in args.only.split(',')):
                continue
            sequential = measure(port, paths, args.seconds, 1, pids)
            concurrent = measure(port, paths, args.seconds, args.clients,
                                 pids)
            print('| %s | %s | %s |' % (label, sequential, concurrent),
                  flush=True)
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
        if os.environ.get("BENCH_KEEP"):
            print(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
