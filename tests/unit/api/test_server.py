"""The API's HTTP server on 127.0.0.1: what it answers when the request
never reaches the application, and how it stops."""

import ctypes
import gc
import http.client
import resource
import socket
import threading
import time
import weakref
from unittest import mock

import fixtures
import testtools
from waitress import adjustments

from ironic_lite.api import server
from ironic_lite.common import startup
from tests import base
from tests import rawhttp


def hello_app(environ, start_response):
    body = environ['wsgi.input'].read()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


def _accepts(address: rawhttp.Address) -> bool:
    try:
        socket.create_connection(address, timeout=5).close()
    except (ConnectionRefusedError, ConnectionResetError):
        # Reset: the listening socket closed with the connection still in
        # its backlog; it does not accept either.
        return False
    return True


class ServerTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.config(port=0, group='api')

    def start(self, application=hello_app) -> rawhttp.Address:
        self.server = server.APIServer(application=application)
        self.server.start()
        self.addCleanup(self.server.stop)
        return self.server.address


class TestErrorsInIronicFormat(ServerTestCase):
    """Requests the server refuses itself, answered as the API would."""

    def setUp(self):
        super().setUp()
        self.address = self.start()

    def assertFault(self, status: int, response: rawhttp.Response,
                    faultcode: str = 'Client') -> str:
        self.assertEqual(status, response.status, response.raw)
        self.assertEqual('application/json',
                         response.headers['content-type'])
        self.assertEqual(str(len(response.body)),
                         response.headers['content-length'])
        fault = response.fault()
        self.assertEqual(faultcode, fault['faultcode'])
        self.assertIsNone(fault['debuginfo'])
        self.assertTrue(fault['faultstring'])
        return fault['faultstring']

    def test_malformed_request_line(self):
        response = rawhttp.exchange(self.address, b'NONSENSE\r\n\r\n')
        self.assertFault(400, response)

    def test_malformed_header(self):
        response = rawhttp.exchange(
            self.address, b'GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n')
        self.assertFault(400, response)

    def test_malformed_chunked_body(self):
        response = rawhttp.exchange(
            self.address,
            b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
            b'Content-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n')
        self.assertFault(400, response)

    def test_invalid_content_length(self):
        response = rawhttp.exchange(
            self.address,
            b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n')
        self.assertFault(400, response)

    def test_headers_too_large(self):
        response = rawhttp.exchange(
            self.address, b'GET / HTTP/1.1\r\nHost: x\r\nX-Big: '
            + b'a' * (server.MAX_HEADER_BYTES + 1) + b'\r\n\r\n')
        self.assertFault(431, response)

    def test_body_over_the_servers_cap(self):
        response = rawhttp.exchange(
            self.address, b'POST / HTTP/1.1\r\nHost: x\r\n'
            b'Content-Length: %d\r\n\r\n{' % (server.max_body_bytes() + 1))
        self.assertFault(413, response)

    def test_unsupported_transfer_coding(self):
        response = rawhttp.exchange(
            self.address, b'POST / HTTP/1.1\r\nHost: x\r\n'
            b'Transfer-Encoding: gzip\r\n\r\n')
        self.assertFault(501, response, faultcode='Server')

    def test_application_crash(self):
        def crashing_app(environ, start_response):
            raise RuntimeError('boom')

        address = self.start(application=crashing_app)
        response = rawhttp.exchange(
            address, b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        message = self.assertFault(500, response, faultcode='Server')
        self.assertNotIn('boom', message)


class TestBodies(ServerTestCase):

    def setUp(self):
        super().setUp()
        self.address = self.start()

    def test_body_below_the_cap_reaches_the_application(self):
        # Within the server's cap: it reaches the application whole.
        body = b'x' * (server.max_body_bytes() * 3 // 4)
        connection = http.client.HTTPConnection(*self.address, timeout=30)
        self.addCleanup(connection.close)
        connection.request('POST', '/', body=body)
        response = connection.getresponse()
        self.assertEqual(200, response.status)
        self.assertEqual(body, response.read())

    def test_chunked_body_reaches_the_application(self):
        response = rawhttp.exchange(
            self.address,
            b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
            b'Connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n')
        self.assertEqual(200, response.status)
        self.assertEqual(b'{}', response.body)


class TestFreeMemoryGivenBack(ServerTestCase):

    def setUp(self):
        super().setUp()
        self.released = threading.Event()
        self.useFixture(fixtures.MockPatch(
            'ironic_lite.common.startup.release_free_memory',
            side_effect=self.released.set))
        self.useFixture(fixtures.MockPatchObject(server, 'SWEEP_SECONDS',
                                                 0.05))
        self.address = self.start()

    def post(self, size: int) -> None:
        connection = http.client.HTTPConnection(*self.address, timeout=30)
        self.addCleanup(connection.close)
        connection.request('POST', '/', body=b'x' * size)
        response = connection.getresponse()
        self.assertEqual(size, len(response.read()))

    def test_once_idle_after_a_large_answer(self):
        self.post(server.RELEASE_AFTER_BYTES)
        self.assertTrue(self.released.wait(10))

    def test_not_after_small_answers(self):
        self.post(server.RELEASE_AFTER_BYTES - 1)
        # Sweeps go by (the loop's timeout is a sweep): no release.
        self.assertFalse(self.released.wait(0.5))


class TestReleaseFreeMemory(testtools.TestCase):

    def test_only_where_malloc_was_tuned(self):
        libc = mock.Mock()
        with mock.patch.object(startup, '_tuned_libc', libc):
            startup.release_free_memory()
        libc.malloc_trim.assert_called_once_with(0)
        with mock.patch.object(startup, '_tuned_libc', None):
            startup.release_free_memory()  # nothing to call

    def test_frees_what_cycles_hold(self):
        class Cycle:
            pass

        if gc.isenabled():
            gc.disable()  # only the call under test collects
            self.addCleanup(gc.enable)
        held = Cycle()
        held.itself = held
        gone = weakref.ref(held)
        del held
        with mock.patch.object(startup, '_tuned_libc', None):
            startup.release_free_memory()
        self.assertIsNone(gone())

    def test_glibc_gives_memory_back(self):
        if not hasattr(ctypes.CDLL(None), 'gnu_get_libc_version'):
            self.skipTest('not glibc')
        with mock.patch.object(startup, '_tuned_libc', ctypes.CDLL(None)):
            startup.release_free_memory()


class TestConnectionLimit(ServerTestCase):

    def test_a_connection_over_the_limit_waits_for_one_to_close(self):
        self.config(max_connections=3, group='api')
        address = self.start()
        idle = rawhttp.open_idle_connections(self, address, 3)
        waiting = socket.create_connection(address, timeout=1)
        self.addCleanup(waiting.close)
        waiting.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        # Connected by the kernel, in the backlog, not yet accepted.
        self.assertRaises(TimeoutError, waiting.recv, 1)
        idle[0].close()
        waiting.settimeout(30)
        self.assertEqual(200, rawhttp.Response(waiting.recv(65536)).status)


class TestOpenFileLimit(testtools.TestCase):

    def _allow(self, needed: int, soft: int, hard: int):
        with mock.patch.object(resource, 'getrlimit',
                               return_value=(soft, hard)), \
                mock.patch.object(resource, 'setrlimit') as setrlimit:
            server._allow_open_files(needed)
        return setrlimit

    def test_raised_to_fit(self):
        self._allow(1256, 1024, 4096).assert_called_once_with(
            resource.RLIMIT_NOFILE, (1256, 4096))

    def test_raised_up_to_the_hard_limit(self):
        self._allow(5000, 1024, 4096).assert_called_once_with(
            resource.RLIMIT_NOFILE, (4096, 4096))

    def test_left_alone_when_enough(self):
        self._allow(1256, 20000, 20000).assert_not_called()


class TestStop(ServerTestCase):

    def test_stop_with_slow_clients_connected(self):
        self.config(header_timeout=600, group='api')
        address = self.start()
        slow = rawhttp.start_slow_clients(self, address, 10, interval=0.2)
        base.wait_for(lambda: all(c.lines_sent >= 2 for c in slow),
                      message='slow clients under way')
        started = time.monotonic()
        self.server.stop()
        # Not a performance figure: the slow clients would hold a server
        # that waits for them for ten minutes.
        self.assertLess(time.monotonic() - started, 10)
        base.wait_for(lambda: not any(c.open for c in slow),
                      message='slow clients disconnected')
        self.assertRaises(OSError, rawhttp.exchange, address,
                          b'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 5)

    def test_stop_lets_a_request_in_progress_finish(self):
        entered = threading.Event()
        release = threading.Event()

        def waiting_app(environ, start_response):
            entered.set()
            release.wait(30)
            start_response('200 OK', [('Content-Length', '4')])
            return [b'done']

        address = self.start(application=waiting_app)
        result = {}

        def request():
            result['response'] = rawhttp.exchange(
                address, b'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 30)

        client = threading.Thread(target=request, daemon=True)
        client.start()
        self.assertTrue(entered.wait(30))
        stopper = threading.Thread(target=self.server.stop, daemon=True)
        stopper.start()
        base.wait_for(lambda: not _accepts(address),
                      message='the server to stop listening')
        release.set()
        stopper.join(30)
        client.join(30)
        self.assertFalse(stopper.is_alive())
        self.assertEqual(200, result['response'].status)
        self.assertEqual(b'done', result['response'].body)

    def test_stop_twice(self):
        self.start()
        self.server.stop()
        self.server.stop()


class TestLoopLeavesRunningTasksAlone(testtools.TestCase):
    """While a task runs, its thread sends its output: the event loop does
    not poll the connection for writing (it would spin against that
    thread for the GIL), unless the output outgrows the high watermark or
    the connection is closing."""

    def channel(self, **state) -> server._Channel:
        channel = object.__new__(server._Channel)
        vars(channel).update(adj=adjustments.Adjustments(), requests=[],
                             will_close=False, close_when_flushed=False,
                             total_outbufs_len=0)
        vars(channel).update(state)
        return channel

    def test_writable(self):
        high = adjustments.Adjustments().outbuf_high_watermark
        self.assertFalse(self.channel(requests=['running'],
                                      total_outbufs_len=100).writable())
        self.assertTrue(self.channel(total_outbufs_len=100).writable())
        self.assertTrue(self.channel(requests=['running'],
                                     total_outbufs_len=high).writable())
        self.assertTrue(self.channel(requests=['running'],
                                     will_close=True).writable())
        self.assertTrue(self.channel(requests=['running'],
                                     close_when_flushed=True).writable())
        self.assertFalse(self.channel().writable())


class TestHeadersLeaveWithTheBody(ServerTestCase):
    """A small answer goes out in one send(): status line, headers and
    body together; the others as before."""

    def sends(self, application, request: bytes) -> tuple[list, bytes]:
        sent = []
        send = server._Channel.send

        def counted(channel, data, do_close=True):
            sent.append(bytes(data))
            return send(channel, data, do_close)

        self.useFixture(fixtures.MockPatchObject(server._Channel, 'send',
                                                 counted))
        address = self.start(application)
        response = rawhttp.exchange(address, request)
        return sent, response

    def app(self, status: str, chunks: list[bytes], length: bool = True):
        def application(environ, start_response):
            headers = [('Content-Type', 'text/plain')]
            if length:
                headers.append(('Content-Length',
                                str(sum(map(len, chunks)))))
            start_response(status, headers)
            return chunks
        return application

    def test_small_answer_one_send(self):
        sent, response = self.sends(
            self.app('200 OK', [b'hello']),
            b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        self.assertEqual(1, len(sent), sent)
        self.assertEqual(200, response.status)
        self.assertEqual(b'hello', response.body)
        self.assertEqual('5', response.headers['content-length'])

    def test_several_chunks_and_none(self):
        sent, response = self.sends(
            self.app('200 OK', [b'', b'one', b'two']),
            b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        self.assertEqual(2, len(sent), sent)
        self.assertTrue(sent[0].endswith(b'\r\n\r\none'), sent)
        self.assertEqual(b'onetwo', response.body)

    def test_no_content(self):
        sent, response = self.sends(
            self.app('204 No Content', [b'']),
            b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        self.assertEqual(204, response.status)
        self.assertEqual(b'', response.body)

    def test_large_body_after_the_headers(self):
        body = b'x' * (server.COALESCE_BYTES + 1)
        sent, response = self.sends(
            self.app('200 OK', [body]),
            b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        self.assertTrue(sent[0].endswith(b'\r\n\r\n'), sent[0][-20:])
        self.assertEqual(body, response.body)

    def test_chunked(self):
        sent, response = self.sends(
            self.app('200 OK', [b'abc', b'de'], length=False),
            b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        self.assertEqual(200, response.status)
        self.assertEqual(b'3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n', response.body)
