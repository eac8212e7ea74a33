"""ironic-lite-api with several worker processes: the first and the others
it starts each serve, writes from any of them reach the conductor, and none
outlives the first."""

import concurrent.futures
import http.client
import json
import os
import signal
import socket
import time
import urllib.parse

from testtools import content

from tests import base as test_base
from tests import services
from tests.functional import base

WORKERS = 2
HEADERS = {'X-OpenStack-Ironic-API-Version': '1.49',
           'Content-Type': 'application/json'}


def children(pid: int) -> set[int]:
    """The live child processes of ``pid``."""
    found = set()
    for task in os.listdir('/proc/%d/task' % pid):
        with open('/proc/%d/task/%s/children' % (pid, task)) as f:
            found.update(int(p) for p in f.read().split())
    return {p for p in found if alive(p)}


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ('Z', 'X')


def _socket_inodes(local_port: int, remote_port: int) -> set[str]:
    """Inodes of the TCP sockets from ``local_port`` to ``remote_port``
    (on 127.0.0.1)."""
    inodes = set()
    with open('/proc/net/tcp') as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local = int(fields[1].split(':')[1], 16)
            remote = int(fields[2].split(':')[1], 16)
            if (local, remote) == (local_port, remote_port):
                inodes.add(fields[9])
    return inodes


def serving_pid(connection: http.client.HTTPConnection,
                candidates: set[int]) -> int | None:
    """Which of ``candidates`` holds the server end of ``connection``."""
    server_port = connection.sock.getpeername()[1]
    client_port = connection.sock.getsockname()[1]
    wanted = {'socket:[%s]' % i
              for i in _socket_inodes(server_port, client_port)}
    for pid in candidates:
        directory = '/proc/%d/fd' % pid
        try:
            for fd in os.listdir(directory):
                try:
                    if os.readlink(os.path.join(directory, fd)) in wanted:
                        return pid
                except FileNotFoundError:
                    continue
        except FileNotFoundError:
            continue
    return None


class APIWorkersTestCase(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        # A database server, as ironic-lite-api is deployed; a scratch
        # database of its own.
        self.cluster = self.start_cluster(services.POSTGRES_URL)
        self.cluster.options['api'] = {'port': 0, 'api_workers': WORKERS}

    def start_api(self) -> tuple[base.Process, set[int]]:
        """The API and the workers it started (not counting itself, which
        serves too)."""
        api = self.cluster.start_api()
        workers = children(api.popen.pid)
        self.addCleanup(self._kill, workers)
        self.assertEqual(WORKERS - 1, len(workers), workers)
        parsed = urllib.parse.urlsplit(self.cluster.api_url)
        self.address = parsed.hostname, parsed.port
        return api, workers

    @staticmethod
    def _kill(pids: set[int]) -> None:
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    def request(self, connection, method: str, path: str, body=None):
        connection.request(method, path, headers=HEADERS,
                           body=None if body is None else json.dumps(body))
        response = connection.getresponse()
        return response.status, json.loads(response.read() or 'null')

    def assert_gone(self, pids: set[int], timeout: float = 15) -> None:
        test_base.wait_for(lambda: not any(alive(p) for p in pids),
                           timeout=timeout,
                           message='the API workers %s to end' % pids)
        with socket.socket() as s:
            self.assertNotEqual(0, s.connect_ex(self.address),
                                'something still listens')


class TestAPIWorkers(APIWorkersTestCase):

    def test_every_worker_serves_writes_reach_the_conductor_sigterm_stops(
            self):
        self.cluster.start_conductor('c1')
        api, others = self.start_api()
        workers = others | {api.popen.pid}

        # New connections until each worker has answered several: the
        # kernel hands each to whichever worker accepts first.
        per_worker = 4
        served: dict[int, list] = {pid: [] for pid in workers}

        def one_more():
            connection = http.client.HTTPConnection(*self.address,
                                                    timeout=30)
            self.addCleanup(connection.close)
            status, body = self.request(connection, 'GET', '/v1/conductors')
            self.assertEqual(200, status, body)
            self.assertEqual([self.cluster.hostname('c1')],
                             [c['hostname'] for c in body['conductors']])
            pid = serving_pid(connection, workers)
            self.assertIn(pid, workers)
            served[pid].append(connection)
            return all(len(c) >= per_worker for c in served.values())

        test_base.wait_for(one_more, timeout=60,
                           message='every worker to serve connections')

        # Clients at once, each on a connection of its own, half of them
        # served by each worker: every write goes to the conductor over
        # RabbitMQ, every read sees it.
        mine = [served[pid][k] for pid in sorted(workers)
                for k in range(per_worker)]

        def client(index):
            connection = mine[index]
            status, node = self.request(connection, 'POST', '/v1/nodes', {
                'name': 'node-%d' % index, 'driver': 'fake-hardware',
                'extra': {'index': index}})
            self.assertEqual(201, status, node)
            status, node = self.request(
                connection, 'PATCH', '/v1/nodes/%s' % node['uuid'],
                [{'op': 'add', 'path': '/extra/patched', 'value': index}])
            self.assertEqual(200, status, node)
            return node['uuid']

        with concurrent.futures.ThreadPoolExecutor(len(mine)) as pool:
            uuids = list(pool.map(client, range(len(mine))))
        for index, uuid in enumerate(uuids):
            for pid in workers:
                status, node = self.request(served[pid][0], 'GET',
                                            '/v1/nodes/%s' % uuid)
                self.assertEqual(200, status, node)
                self.assertEqual({'index': index, 'patched': index},
                                 node['extra'])
                self.assertEqual(self.cluster.hostname('c1'),
                                 node['conductor'])
        for connections in served.values():
            for connection in connections:
                connection.close()

        started = time.monotonic()
        self.assertEqual(0, api.stop(signal.SIGTERM))
        self.addDetail('sigterm-to-exit', content.text_content(
            '%.2f s' % (time.monotonic() - started)))
        self.assert_gone(workers, timeout=5)

    def test_kill_9_of_the_first_process_leaves_no_worker(self):
        api, workers = self.start_api()
        api.stop(signal.SIGKILL)
        # Each worker gets SIGTERM from the kernel as its parent dies and
        # stops as it would on SIGTERM.
        self.assert_gone(workers)

    def test_a_worker_that_dies_is_replaced(self):
        api, workers = self.start_api()
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        test_base.wait_for(
            lambda: len(children(api.popen.pid) - workers) == 1,
            timeout=30, message='a new worker')
        replacement = children(api.popen.pid) - workers
        self.addCleanup(self._kill, replacement)

        # The replacement (a new program) serves too.
        def served_by_replacement():
            connection = http.client.HTTPConnection(*self.address,
                                                    timeout=30)
            self.addCleanup(connection.close)
            status, _ = self.request(connection, 'GET', '/v1/conductors')
            self.assertEqual(200, status)
            return serving_pid(connection, replacement) is not None

        test_base.wait_for(served_by_replacement, timeout=60,
                           message='the new worker to serve a connection')
        self.assertEqual(0, api.stop(signal.SIGTERM))
        self.assert_gone(workers | replacement, timeout=5)

    def test_a_port_in_use_stops_the_start_and_every_worker(self):
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        self.cluster.options['api']['port'] = taken.getsockname()[1]
        api = self.cluster._start('api', 'ironic-lite-api')
        self.assertEqual(1, api.popen.wait(60), ''.join(api.output))
        self.assertIn('Cannot listen on 127.0.0.1:%d'
                      % taken.getsockname()[1], ''.join(api.output))
        # The worker it forked before it tried the port ends with it.
        config = api.command[-1]
        test_base.wait_for(lambda: not running_with(config), timeout=15,
                           message='the forked worker to end')


def running_with(argument: str) -> set[int]:
    """The live processes with ``argument`` on their command line."""
    found = set()
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                arguments = f.read().split(b'\0')
        except OSError:
            continue
        if argument.encode() in arguments and alive(int(entry)):
            found.add(int(entry))
    return found
