"""The all-in-one's extra workers: what they pass to the first process,
and how."""

import json
import re
import threading

import webtest
import yaml

from ironic_lite.api import forwarding
from ironic_lite.api import server
from ironic_lite.api import versions
from ironic_lite.api.controllers.v1 import driver
from ironic_lite.common import rpc
from tests import base as test_base
from tests.unit.api import base

OPENAPI = 'api-ref/source/openapi.yaml'
REFUSED = 'The conductor is unavailable'


class TestNeedsPrimary(test_base.TestCase):

    def test_writes_always(self):
        for method in ('POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'):
            self.assertTrue(forwarding.needs_primary(method, '/v1/nodes'))
            self.assertTrue(forwarding.needs_primary(method, '/'))

    def test_reads_of_the_conductor(self):
        for path in ('/v1/nodes/validate', '/v1/nodes/n1/validate',
                     '/v1/nodes/n1/vifs', '/v1/nodes/n1/vifs/',
                     '/v1/nodes/n1/management/boot_device',
                     '/v1/nodes/n1/management/boot_device/supported',
                     '/v1/drivers/ipmi/properties'):
            self.assertTrue(forwarding.needs_primary('GET', path), path)
            self.assertTrue(forwarding.needs_primary('HEAD', path), path)

    def test_other_reads_stay(self):
        for path in ('/', '/v1', '/v1/nodes', '/v1/nodes/detail',
                     '/v1/nodes/n1', '/v1/nodes/validate/x',
                     '/v1/nodes/n1/states', '/v1/nodes/n1/conductor',
                     '/v1/conductors', '/v1/conductors/vifs',
                     '/v1/drivers/ipmi', '/metrics', '/v2/nodes/n1/vifs'):
            self.assertFalse(forwarding.needs_primary('GET', path), path)


class TestEveryConductorReadIsForwarded(base.APITestCase):
    """Every GET of the API, answered as in a worker whose RPC refuses:
    those that need the conductor are exactly those a worker passes on."""

    def test_openapi_reads(self):
        node = self.create_node(name='n1')
        port = self.post_json('/v1/ports', {
            'node_uuid': node['uuid'], 'address': '52:54:00:12:34:56'}).json
        rpc.refuse_calls('a test')
        self.addCleanup(setattr, rpc, '_REFUSAL', None)
        # What another test asked the conductor may still be remembered.
        driver._PROPERTIES.clear()
        values = {'node_ident': node['uuid'], 'port_uuid': port['uuid'],
                  'hostname': self.conductor.host,
                  'driver_name': 'fake-hardware', 'vif_id': 'v1',
                  'trait': 'CUSTOM_A'}
        with open(OPENAPI) as f:
            paths = yaml.safe_load(f)['paths']
        checked = []
        for template, operations in paths.items():
            if 'get' not in operations:
                continue
            path = re.sub(r'\{(\w+)\}', lambda m: values[m.group(1)],
                          template)
            query = {'/v1/nodes/validate': {'node': node['uuid']}}.get(
                template)
            response = self.app.get(path, query, headers=self.headers(),
                                    expect_errors=True)
            asked = (response.status_int == 503
                     and REFUSED in response.text)
            self.assertEqual(forwarding.needs_primary('GET', path), asked,
                             '%s: %s %s' % (path, response.status,
                                            response.text[:300]))
            checked.append(template)
        self.assertIn('/v1/nodes/{node_ident}/vifs', checked)
        self.assertIn('/v1/nodes/{node_ident}', checked)


class _Primary:
    """A WSGI app on a private Unix socket that records what it gets."""

    def __init__(self, test):
        self.seen = []
        self.release = threading.Event()
        test.addCleanup(self.release.set)
        sock, self.address = server.private_unix_socket()
        self.server = server.APIServer(self, sock=sock)
        self.server.start()
        test.addCleanup(self.server.stop)

    def __call__(self, environ, start_response):
        self.seen.append({
            'method': environ['REQUEST_METHOD'],
            'path': environ['PATH_INFO'],
            'query': environ['QUERY_STRING'],
            'body': environ['wsgi.input'].read(
                int(environ.get('CONTENT_LENGTH') or 0)),
            'headers': {k: v for k, v in environ.items()
                        if k.startswith('HTTP_') or k == 'CONTENT_TYPE'}})
        if environ['PATH_INFO'].endswith('/slow'):
            self.release.wait(30)
        body = b'{"answered": "by the first process"}'
        start_response('201 Created', [
            ('Content-Type', 'application/json'),
            ('Content-Length', str(len(body))),
            ('Location', 'http://example.com/v1/nodes/n1'),
            ('X-OpenStack-Request-Id', 'req-from-primary')])
        return [body]


def _local(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'answered here']


class TestForwardToPrimary(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(test_base.ConfFixture())

    def app(self, address: str, timeout: float = 10) -> webtest.TestApp:
        return webtest.TestApp(forwarding.ForwardToPrimary(
            _local, address, timeout))

    def test_a_write_goes_to_the_first_process_whole(self):
        primary = _Primary(self)
        response = self.app(primary.address).post(
            '/v1/nodes/a%20b%2Fc?x=1&y=%2F', b'{"name": "n1"}',
            headers={'Content-Type': 'application/json',
                     'X-Auth-Token': 'tok',
                     'X-OpenStack-Ironic-API-Version': '1.49',
                     'Connection': 'keep-alive'}, status=201)
        self.assertEqual({'answered': 'by the first process'}, response.json)
        self.assertEqual('http://example.com/v1/nodes/n1',
                         response.headers['Location'])
        self.assertEqual('req-from-primary',
                         response.headers['X-OpenStack-Request-Id'])
        [seen] = primary.seen
        self.assertEqual('POST', seen['method'])
        # What this worker's server decoded, the first process decodes.
        self.assertEqual('/v1/nodes/a b/c', seen['path'])
        self.assertEqual('x=1&y=%2F', seen['query'])
        self.assertEqual(b'{"name": "n1"}', seen['body'])
        headers = seen['headers']
        self.assertEqual('tok', headers['HTTP_X_AUTH_TOKEN'])
        self.assertEqual('1.49',
                         headers['HTTP_X_OPENSTACK_IRONIC_API_VERSION'])
        self.assertEqual('application/json', headers['CONTENT_TYPE'])
        self.assertNotEqual('keep-alive', headers.get('HTTP_CONNECTION'))

    def test_a_read_of_the_conductor_goes_too(self):
        primary = _Primary(self)
        self.app(primary.address).get('/v1/nodes/n1/vifs', status=201)
        self.assertEqual(['/v1/nodes/n1/vifs'],
                         [s['path'] for s in primary.seen])

    def test_other_reads_stay_here(self):
        primary = _Primary(self)
        response = self.app(primary.address).get('/v1/nodes/n1')
        self.assertEqual(b'answered here', response.body)
        self.assertEqual([], primary.seen)

    def test_first_process_gone_is_503_in_ironic_format(self):
        primary = _Primary(self)
        primary.server.stop()
        response = self.app(primary.address).patch(
            '/v1/nodes/n1', b'[]', status=503)
        self._assert_fault(response, 'stopping or restarting')

    def test_first_process_too_slow_is_504(self):
        primary = _Primary(self)
        response = self.app(primary.address, timeout=0.2).delete(
            '/v1/nodes/slow', status=504)
        self._assert_fault(response, 'may still be in progress')

    def _assert_fault(self, response, words: str) -> None:
        fault = json.loads(response.json['error_message'])
        self.assertEqual('Server', fault['faultcode'])
        self.assertIn(words, fault['faultstring'])
        self.assertTrue(response.headers['X-OpenStack-Request-Id']
                        .startswith('req-'))
        self.assertEqual(versions.MAX_VERSION_STRING,
                         response.headers[versions.MAX_VERSION_HEADER])
