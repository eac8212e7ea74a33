"""Slow, idle and many clients against the all-in-one's HTTP server."""

import http.client
import os
import threading
import time
import urllib.parse

from testtools import content

from tests import base as test_base
from tests import rawhttp
from tests.functional import base
from tests.functional import test_api_workers as api_workers

# How long a plain request may take while others misbehave: generous for a
# loaded 2-core machine, far below the seconds a starved server takes.
ANSWER_BOUND = 2.0
# Linux retransmits a dropped SYN after one second: a connect that takes
# longer found the listen queue full.
SYN_RETRY = 1.0


class ServingTestCase(base.FunctionalTestCase):

    def start(self, **api_options) -> rawhttp.Address:
        self.first = self.start_all_in_one(api_options=api_options).popen.pid
        parsed = urllib.parse.urlsplit(self.url)
        return parsed.hostname, parsed.port

    def timed_get(self, address: rawhttp.Address,
                  path: str = '/') -> tuple[int, float]:
        """The status of ``GET path`` on a new connection, and the seconds
        from sending the request to reading the whole answer. Which API
        process answered, and the sockets each holds, in the test's
        details (a slow answer is then told apart)."""
        connection = http.client.HTTPConnection(*address, timeout=30)
        self.addCleanup(connection.close)
        connection.connect()
        started = time.monotonic()
        connection.request('GET', path)
        response = connection.getresponse()
        response.read()
        seconds = time.monotonic() - started
        processes = {self.first} | api_workers.children(self.first)
        self.addDetail('timed-get', content.text_content(
            '%.3f s, answered by %s; sockets per API process: %s' % (
                seconds, api_workers.serving_pid(connection, processes),
                {pid: _sockets(pid) for pid in sorted(processes)})))
        return response.status, seconds


def _sockets(pid: int) -> int | None:
    """How many sockets process ``pid`` holds open (None: gone)."""
    directory = '/proc/%d/fd' % pid
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return None
    held = 0
    for name in names:
        try:
            held += os.readlink(os.path.join(directory, name)).startswith(
                'socket:')
        except FileNotFoundError:
            continue
    return held


class TestSlowClients(ServingTestCase):
    """Clients that send their headers a line at a time, or nothing."""

    def setUp(self):
        super().setUp()
        # A deadline far beyond the test: the slow clients stay connected
        # while the plain request is made, so it is the serving model, not
        # the deadline, that keeps it fast.
        self.address = self.start(header_timeout=120)

    def _assert_not_delayed(self, slow: list[rawhttp.SlowClient]):
        test_base.wait_for(lambda: all(c.lines_sent >= 2 for c in slow),
                           timeout=30, message='slow clients under way')
        status, seconds = self.timed_get(self.address)
        self.assertEqual(200, status)
        self.assertLess(seconds, ANSWER_BOUND)
        self.assertTrue(all(c.open for c in slow),
                        'a slow client was disconnected')

    def test_eight_slow_clients(self):
        slow = rawhttp.start_slow_clients(self, self.address, 8, interval=2)
        self._assert_not_delayed(slow)

    def test_forty_slow_clients_and_idle_connections(self):
        rawhttp.open_idle_connections(self, self.address, 40)
        slow = rawhttp.start_slow_clients(self, self.address, 40, interval=3)
        self._assert_not_delayed(slow)


class TestDeadlines(ServingTestCase):
    HEADER_TIMEOUT = 2
    BODY_TIMEOUT = 3
    IDLE_TIMEOUT = 5
    # Deadlines are enforced by a sweep that runs about every second.
    LATE = 3

    def setUp(self):
        super().setUp()
        self.address = self.start(header_timeout=self.HEADER_TIMEOUT,
                                  body_timeout=self.BODY_TIMEOUT,
                                  idle_timeout=self.IDLE_TIMEOUT)

    def assertCutOff(self, client: rawhttp.SlowClient, timeout: float):
        test_base.wait_for(lambda: not client.open, timeout=15,
                           message='the server to hang up')
        held = client.closed_at - client.connected_at
        self.assertGreaterEqual(held, timeout - 0.5)
        self.assertLess(held, timeout + self.LATE)
        self.assertEqual(408, client.response.status)
        self.assertEqual('application/json',
                         client.response.headers['content-type'])
        self.assertEqual('Client', client.response.fault()['faultcode'])

    def test_client_trickling_headers_is_cut_off(self):
        [client] = rawhttp.start_slow_clients(self, self.address, 1,
                                              interval=0.5)
        self.assertCutOff(client, self.HEADER_TIMEOUT)

    def test_client_trickling_a_body_is_cut_off(self):
        [client] = rawhttp.start_slow_clients(self, self.address, 1,
                                              interval=0.5,
                                              request=rawhttp.slow_body())
        self.assertCutOff(client, self.BODY_TIMEOUT)

    def test_body_shorter_than_its_length_is_answered_408(self):
        # The head, then nothing: the client will not send the rest.
        [client] = rawhttp.start_slow_clients(
            self, self.address, 1, interval=60,
            request=(b'PUT /v1/nodes/x HTTP/1.1\r\nHost: x\r\n'
                     b'Content-Type: application/json\r\n'
                     b'Content-Length: 100\r\n\r\n{"a": ', b''))
        self.assertCutOff(client, self.BODY_TIMEOUT)

    def test_silent_connection_is_cut_off(self):
        [sock] = rawhttp.open_idle_connections(self, self.address, 1)
        connected = time.monotonic()
        self.assertEqual(b'', rawhttp.read_to_end(sock))
        self.assertLess(time.monotonic() - connected,
                        self.HEADER_TIMEOUT + self.LATE)

    def test_idle_keep_alive_connection_is_closed(self):
        connection = http.client.HTTPConnection(*self.address, timeout=30)
        self.addCleanup(connection.close)
        connection.request('GET', '/')
        response = connection.getresponse()
        response.read()
        answered = time.monotonic()
        self.assertFalse(response.will_close)
        # Between requests the header deadline does not run, only this.
        self.assertEqual(b'', rawhttp.read_to_end(connection.sock))
        idle = time.monotonic() - answered
        self.assertGreaterEqual(idle, self.IDLE_TIMEOUT - 0.5)
        self.assertLess(idle, self.IDLE_TIMEOUT + self.LATE)


class TestManyClients(ServingTestCase):

    def setUp(self):
        super().setUp()
        self.address = self.start()

    def test_hundred_clients_at_once(self):
        count = 100
        barrier = threading.Barrier(count)
        results = [None] * count

        def client(index):
            barrier.wait()
            started = time.monotonic()
            connection = http.client.HTTPConnection(*self.address,
                                                    timeout=60)
            try:
                connection.connect()
                connected = time.monotonic() - started
                connection.request('GET', '/')
                response = connection.getresponse()
                response.read()
                results[index] = (response.status, connected)
            finally:
                connection.close()

        threads = [threading.Thread(target=client, args=(i,), daemon=True)
                   for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        self.assertEqual([200] * count, [r and r[0] for r in results])
        slowest = max(r[1] for r in results)
        self.assertLess(slowest, SYN_RETRY,
                        'a connection waited for a SYN retransmission')

    def test_keep_alive(self):
        connection = http.client.HTTPConnection(*self.address, timeout=30)
        self.addCleanup(connection.close)
        statuses = []
        for path in ('/', '/v1'):
            connection.request('GET', path)
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
            if path == '/':
                first_socket = connection.sock
                self.assertFalse(response.will_close)
        self.assertEqual([200, 200], statuses)
        self.assertIs(first_socket, connection.sock)
