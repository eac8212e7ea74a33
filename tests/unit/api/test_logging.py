"""The API's log lines: the id of their own request, and a traceback only
for what nobody expected."""

import logging

import fixtures
from oslo_context import context as oslo_context

from ironic_lite.common import context
from tests.unit.api import base


class _RequestIdFormatter(logging.Formatter):
    """Prefixes the id of the thread's current request context at the time
    of the call, as oslo.log's ContextFormatter does."""

    def format(self, record):
        current = oslo_context.get_current()
        record.request_id = getattr(current, 'request_id', None) or '-'
        return super().format(record)


class TestRequestLogs(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(
            name='ironic_lite', level=logging.INFO,
            format='%(levelname)s [%(request_id)s] %(message)s',
            formatter=_RequestIdFormatter))
        # What a thread that served something else holds: the context of
        # that other work.
        context.RequestContext(request_id='req-of-another-request')
        self.addCleanup(context.clear_current)

    def lines(self, request_id: str) -> list[str]:
        return [line for line in self.log.output.splitlines()
                if request_id in line]

    def test_a_client_error_is_one_info_line_with_its_request_id(self):
        response = self.app.post(
            '/v1/nodes', b'{"driver": "fake-hardware", "name": "\xff"}',
            headers=self.headers(**{'Content-Type': 'application/json'}),
            status=400)
        request_id = response.headers['X-OpenStack-Request-Id']
        self.assertEqual(
            ['INFO [%s] POST /v1/nodes answered 400 Bad Request: Request is '
             'not in valid JSON format: it is not UTF-8 (\'utf-8\' codec '
             'can\'t decode byte 0xff in position 37: invalid start byte)'
             % request_id], self.lines(request_id))
        self.assertNotIn('req-of-another-request', self.log.output)
        self.assertNotIn('Traceback', self.log.output)
        self.assertNotIn('ERROR', self.log.output)

    def test_a_refused_body_is_logged_with_its_request_id(self):
        self.config(group='api', max_request_body_size=10)
        response = self.app.post(
            '/v1/nodes', b'{"driver": "fake-hardware"}',
            headers=self.headers(**{'Content-Type': 'application/json'}),
            status=413)
        request_id = response.headers['X-OpenStack-Request-Id']
        [line] = self.lines(request_id)
        self.assertTrue(line.startswith(
            'INFO [%s] POST /v1/nodes answered 413' % request_id), line)

    def test_an_unexpected_error_logs_a_traceback_with_its_request_id(self):
        def broken(*args, **kwargs):
            raise RuntimeError('secret internals')

        self.dbapi.get_node_list = broken
        response = self.get('/v1/nodes', status=500)
        request_id = response.headers['X-OpenStack-Request-Id']
        lines = self.lines(request_id)
        self.assertTrue(lines[0].startswith('ERROR [%s] Unexpected error'
                                            % request_id), lines)
        self.assertIn('Traceback', self.log.output)
        self.assertIn('RuntimeError: secret internals', self.log.output)
        self.assertNotIn('req-of-another-request', self.log.output)

    def test_the_context_is_forgotten_after_the_request(self):
        response = self.get('/v1/nodes')
        self.assertTrue(response.headers['X-OpenStack-Request-Id'])
        self.assertIsNone(oslo_context.get_current())

    def test_successive_requests_each_log_their_own_id(self):
        ids = []
        for _ in range(3):
            response = self.get('/v1/nodes/nope', status=404)
            ids.append(response.headers['X-OpenStack-Request-Id'])
        self.assertEqual(3, len(set(ids)))
        for request_id in ids:
            self.assertEqual(1, len(self.lines(request_id)))
