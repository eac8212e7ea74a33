"""Request bodies on the wire: size limit, broken transfers, strict JSON.

The transfer cases talk raw HTTP to a real server on 127.0.0.1, since no
client library sends a malformed chunk or a short body; the rest go through
the WSGI application, where a stream can fail as a server's would.
"""

import http.client
import io
import json
import socket

import webob

from ironic_lite.api import app
from ironic_lite.api import request_body
from ironic_lite.api import server
from ironic_lite.conf import CONF
from tests.unit.api import base as api_base

_HEADERS = ('Host: localhost\r\n'
            'X-OpenStack-Ironic-API-Version: latest\r\n'
            'Content-Type: application/json\r\n')
LIMIT = 4096


def _fault(testcase, status: int, body: bytes) -> str:
    """The faultstring of an error in Ironic's format."""
    outer = json.loads(body)
    testcase.assertEqual(['error_message'], list(outer))
    inner = json.loads(outer['error_message'])
    testcase.assertEqual(['faultcode', 'faultstring', 'debuginfo'],
                         list(inner))
    testcase.assertEqual('Client' if status < 500 else 'Server',
                         inner['faultcode'])
    return inner['faultstring']


class TestOnTheWire(api_base.APITestCase):
    """Against :class:`server.APIServer` on a free port."""

    def setUp(self):
        super().setUp()
        self.config(group='api', port=0, max_request_body_size=LIMIT)
        self.server = server.APIServer()
        self.server.start()
        self.addCleanup(self.server.stop)
        self.address = self.server.address

    def exchange(self, request: bytes, half_close: bool = False):
        """Send ``request`` as it is; the status, headers and body of the
        answer."""
        with socket.create_connection(self.address, timeout=30) as sock:
            sock.sendall(request)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            response = http.client.HTTPResponse(sock)
            response.begin()
            body = response.read()
            self.assertEqual('application/json',
                             response.getheader('Content-Type'))
            self.assertTrue(response.getheader('X-OpenStack-Request-Id'))
            # Clients read the version range from any /v1 answer.
            self.assertEqual('1.1', response.getheader(
                'X-OpenStack-Ironic-API-Minimum-Version'))
            return response.status, body

    def node_count(self) -> int:
        return len(self.get('/v1/nodes').json['nodes'])

    def test_content_length_over_the_limit_is_413_before_the_body(self):
        # Only the headers are sent: the answer cannot wait for the body.
        status, body = self.exchange(
            ('POST /v1/nodes HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n'
             % (_HEADERS, LIMIT + 1)).encode())
        self.assertEqual(413, status)
        self.assertEqual('Request is too large. Larger than '
                         'max_request_body_size (4096 bytes).',
                         _fault(self, status, body))

    def test_chunked_body_over_the_limit_is_413(self):
        document = json.dumps({'driver': 'fake-hardware',
                               'extra': {'a': 'x' * LIMIT}}).encode()
        chunks = b''.join(b'%x\r\n%s\r\n' % (len(document[i:i + 100]),
                                             document[i:i + 100])
                          for i in range(0, len(document), 100))
        status, body = self.exchange(
            ('POST /v1/nodes HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n'
             '\r\n' % _HEADERS).encode() + chunks + b'0\r\n\r\n')
        self.assertEqual(413, status)
        self.assertIn('Request is too large', _fault(self, status, body))
        self.assertEqual(0, self.node_count())

    def test_chunked_body_within_the_limit_is_taken(self):
        document = b'{"driver": "fake-hardware"}'
        status, body = self.exchange(
            ('POST /v1/nodes HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n'
             'Connection: close\r\n\r\n' % _HEADERS).encode()
            + b'%x\r\n%s\r\n0\r\n\r\n' % (len(document), document))
        self.assertEqual(201, status, body)
        self.assertEqual(1, self.node_count())

    def test_malformed_chunk_is_400(self):
        # The server finds it before the application runs.
        status, body = self.exchange(
            ('POST /v1/nodes HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n'
             '\r\n' % _HEADERS).encode() + b'zz\r\n{}\r\n0\r\n\r\n')
        self.assertEqual(400, status)
        self.assertIn('chunk', _fault(self, status, body).lower())
        self.assertEqual(0, self.node_count())

    def test_body_shorter_than_its_content_length_is_dropped(self):
        # The client sends part of the body, then closes its side: the
        # request never arrived whole, so nothing runs and the connection
        # is closed (a client that keeps waiting gets 408 at
        # [api]body_timeout, see tests/functional/test_serving.py).
        with socket.create_connection(self.address, timeout=30) as sock:
            sock.sendall(('POST /v1/nodes HTTP/1.1\r\n%sContent-Length: '
                          '100\r\n\r\n' % _HEADERS).encode()
                         + b'{"driver"')
            sock.shutdown(socket.SHUT_WR)
            self.assertEqual(b'', sock.recv(4096))
        self.assertEqual(0, self.node_count())


class _Stream(io.RawIOBase):
    """A request body: ``data``, then ``error`` raised (or the end)."""

    def __init__(self, data: bytes = b'', error: Exception | None = None,
                 endless: bool = False):
        self.data = data
        self.error = error
        self.endless = endless
        self.delivered = 0

    def read(self, size=-1):
        if self.endless:
            size = 65536 if size is None or size < 0 else size
            self.delivered += size
            return b' ' * size
        if self.data:
            chunk, self.data = self.data[:size], self.data[size:]
            self.delivered += len(chunk)
            return chunk
        if self.error is not None:
            raise self.error
        return b''


class TestInTheApplication(api_base.APITestCase):

    def call(self, stream: _Stream, content_length: int | None = None,
             content_type: str | None = 'application/json'):
        request = webob.Request.blank('/v1/nodes', method='POST', headers={
            'X-OpenStack-Ironic-API-Version': 'latest'})
        request.environ['wsgi.input'] = stream
        request.environ.pop('CONTENT_LENGTH', None)
        request.environ.pop('CONTENT_TYPE', None)
        if content_length is None:
            request.environ['HTTP_TRANSFER_ENCODING'] = 'chunked'
        else:
            request.environ['CONTENT_LENGTH'] = str(content_length)
        if content_type:
            request.environ['CONTENT_TYPE'] = content_type
        response = request.get_response(app.setup_app())
        return response.status_int, response.body

    def test_the_default_limit_is_one_mebibyte(self):
        self.assertEqual(1048576, CONF.api.max_request_body_size)
        document = json.dumps({'driver': 'fake-hardware', 'extra': {
            'a': 'x' * (1048576 - 50)}}).encode()
        document += b' ' * (1048577 - len(document))
        self.assertEqual(1048577, len(document))
        status, body = self.call(_Stream(document), len(document))
        self.assertEqual(413, status)
        status, body = self.call(_Stream(document[:-1]), len(document) - 1)
        self.assertEqual(201, status, body)

    def test_an_endless_chunked_body_is_read_no_further_than_the_limit(self):
        self.config(group='api', max_request_body_size=LIMIT)
        stream = _Stream(endless=True)
        status, body = self.call(stream)
        self.assertEqual(413, status)
        self.assertIn('Request is too large', _fault(self, status, body))
        self.assertEqual(LIMIT + 1, stream.delivered)

    def test_a_read_that_times_out_is_408(self):
        # What cheroot raises when the client stops sending mid-body.
        status, body = self.call(
            _Stream(b'{"driver"', TimeoutError('timed out')), 100)
        self.assertEqual(408, status)
        self.assertEqual('The request body did not arrive in time: timed out',
                         _fault(self, status, body))

    def test_a_connection_lost_mid_body_is_400(self):
        status, body = self.call(
            _Stream(b'{"driver"', ConnectionResetError('reset')), 100)
        self.assertEqual(400, status)
        self.assertEqual('The request body could not be read: reset',
                         _fault(self, status, body))

    def test_a_body_without_content_type_is_read_as_json(self):
        document = b'{"driver": "fake-hardware"}'
        status, body = self.call(_Stream(document), len(document),
                                 content_type=None)
        self.assertEqual(201, status, body)

    def test_a_body_that_is_not_utf8_is_400(self):
        document = b'{"driver": "fake-hardware", "name": "\xff"}'
        status, body = self.call(_Stream(document), len(document))
        self.assertEqual(400, status)
        self.assertIn('Request is not in valid JSON format: it is not UTF-8',
                      _fault(self, status, body))

    def test_every_non_finite_number_is_refused(self):
        for token in ('NaN', 'Infinity', '-Infinity', '1e400', '-1e400'):
            document = b'{"driver": "fake-hardware", "extra": {"a": %s}}' % (
                token.encode())
            status, body = self.call(_Stream(document), len(document))
            self.assertEqual(400, status, token)
        self.assertEqual([], self.get('/v1/nodes').json['nodes'])


class TestStrictParse(api_base.APITestCase):
    """:func:`request_body.document` alone."""

    def parse(self, raw: bytes):
        return request_body.document({request_body.ENVIRON_KEY: raw})

    def test_depth_is_counted_from_the_body(self):
        self.assertEqual([[]], self.parse(b'[[]]'))
        self.assertIsNotNone(self.parse(b'[' * 32 + b']' * 32))
        self.assertRaises(request_body.exception.Invalid, self.parse,
                          b'[' * 33 + b']' * 33)
        self.assertRaises(request_body.exception.Invalid, self.parse,
                          b'{"a":' * 33 + b'1' + b'}' * 33)

    def test_a_body_far_deeper_than_the_parser_can_go_is_400(self):
        self.assertRaises(request_body.exception.Invalid, self.parse,
                          b'[' * 100000 + b']' * 100000)

    def test_no_body_is_none(self):
        self.assertIsNone(self.parse(b''))
        self.assertIsNone(self.parse(None))
