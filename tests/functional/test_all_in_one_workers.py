"""The all-in-one with several API processes: every one serves, the writes
and the conductor's reads that reach the others are answered by the first,
and none outlives it."""

import concurrent.futures
import http.client
import json
import os
import re
import signal
import urllib.parse

from tests import base as test_base
from tests.functional import base
from tests.functional import test_api_workers as api_workers

PROCESSES = 2
HEADERS = api_workers.HEADERS


class TestAllInOneWorkers(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.process = self.start_all_in_one(
            host='aio-workers', api_options={'api_workers': PROCESSES},
            # Printed once every process serves.
            url_line=re.compile(r'is running\. API: (http://127\.0\.0\.1:\d+)'))
        self.first = self.process.popen.pid
        self.others = api_workers.children(self.first)
        self.addCleanup(api_workers.APIWorkersTestCase._kill, self.others)
        self.assertEqual(PROCESSES - 1, len(self.others), self.others)
        parsed = urllib.parse.urlsplit(self.url)
        self.address = parsed.hostname, parsed.port

    def request(self, connection, method: str, path: str, body=None):
        connection.request(method, path, headers=HEADERS,
                           body=None if body is None else json.dumps(body))
        response = connection.getresponse()
        return response, json.loads(response.read() or 'null')

    def connections_per_process(self, per_process: int) -> dict:
        """New connections until each process serves ``per_process``."""
        serving = self.others | {self.first}
        served: dict[int, list] = {pid: [] for pid in serving}

        def one_more():
            connection = http.client.HTTPConnection(*self.address,
                                                    timeout=30)
            self.addCleanup(connection.close)
            response, _ = self.request(connection, 'GET', '/v1/conductors')
            self.assertEqual(200, response.status)
            pid = api_workers.serving_pid(connection, serving)
            self.assertIn(pid, serving)
            served[pid].append(connection)
            return all(len(c) >= per_process for c in served.values())

        test_base.wait_for(one_more, timeout=60,
                           message='every process to serve connections')
        return served

    def test_every_process_serves_and_writes_reach_the_conductor(self):
        served = self.connections_per_process(3)
        mine = [c for pid in sorted(served) for c in served[pid][:3]]

        def client(index):
            connection = mine[index]
            response, node = self.request(connection, 'POST', '/v1/nodes', {
                'name': 'node-%d' % index, 'driver': 'fake-hardware',
                'extra': {'index': index}})
            self.assertEqual(201, response.status, node)
            self.assertEqual('aio-workers', node['conductor'])
            self.assertTrue(response.getheader('Location').startswith(
                self.url + '/v1/nodes/'))
            uuid = node['uuid']
            response, node = self.request(
                connection, 'PATCH', '/v1/nodes/%s' % uuid,
                [{'op': 'add', 'path': '/extra/patched', 'value': index}])
            self.assertEqual(200, response.status, node)
            # A read of the conductor's, and an asynchronous action.
            response, device = self.request(
                connection, 'GET',
                '/v1/nodes/%s/management/boot_device' % uuid)
            self.assertEqual(200, response.status, device)
            self.assertIn('boot_device', device)
            response, _ = self.request(
                connection, 'PUT', '/v1/nodes/%s/states/power' % uuid,
                {'target': 'power on'})
            self.assertEqual(202, response.status)
            return uuid

        with concurrent.futures.ThreadPoolExecutor(len(mine)) as pool:
            uuids = list(pool.map(client, range(len(mine))))

        for pid, connections in served.items():
            connection = connections[0]
            for index, uuid in enumerate(uuids):
                test_base.wait_for(
                    lambda c=connection, u=uuid: self.request(
                        c, 'GET', '/v1/nodes/%s' % u)[1]['power_state']
                    == 'power on', timeout=30,
                    message='node %s powered on, seen by %d' % (uuid, pid))
                response, node = self.request(connection, 'GET',
                                              '/v1/nodes/%s' % uuid)
                self.assertEqual({'index': index, 'patched': index},
                                 node['extra'])
            # Errors of the first process come back as they are.
            response, error = self.request(connection, 'PATCH',
                                           '/v1/nodes/missing', [])
            self.assertEqual(404, response.status)
            self.assertIn('Node missing could not be found.',
                          json.loads(error['error_message'])['faultstring'])
            self.assertTrue(response.getheader(
                'X-OpenStack-Request-Id').startswith('req-'))
            self.assertEqual('1.49', response.getheader(
                'X-OpenStack-Ironic-API-Maximum-Version'))

        # The stock CLI, whichever process its connections reach.
        listed = self.cli_json('node', 'list')
        self.assertEqual(sorted(uuids), sorted(n['uuid'] for n in listed))
        self.run_cli('node', 'delete', *uuids[:2])
        self.assertEqual(len(uuids) - 2, len(self.cli_json('node', 'list')))

        self.assertEqual(0, self.process.stop(signal.SIGTERM))
        self.assert_gone(self.others, timeout=5)

    def test_kill_9_of_the_first_process_leaves_no_worker(self):
        self.process.stop(signal.SIGKILL)
        self.assert_gone(self.others)

    def test_a_worker_that_dies_is_replaced(self):
        victim = min(self.others)
        os.kill(victim, signal.SIGKILL)
        test_base.wait_for(
            lambda: len(api_workers.children(self.first) - self.others) == 1,
            timeout=30, message='a new worker')
        replacement = api_workers.children(self.first) - self.others
        self.addCleanup(api_workers.APIWorkersTestCase._kill, replacement)
        self.others = (self.others - {victim}) | replacement
        # The replacement serves, reads and writes.
        served = self.connections_per_process(1)
        for connections in served.values():
            response, node = self.request(connections[0], 'POST',
                                          '/v1/nodes',
                                          {'driver': 'fake-hardware'})
            self.assertEqual(201, response.status, node)
        self.assertEqual(0, self.process.stop(signal.SIGTERM))
        self.assert_gone(self.others, timeout=5)

    def assert_gone(self, pids: set[int], timeout: float = 15) -> None:
        test_base.wait_for(
            lambda: not any(api_workers.alive(p) for p in pids),
            timeout=timeout, message='the API workers %s to end' % pids)
