"""Authentication of the real services, as the stock clients meet it."""

import os
import re
import subprocess

import bcrypt
import requests

from tests.functional import base

BASIC_AUTH = ('--os-auth-type', 'http_basic', '--os-username', 'operator',
              '--os-password')


class TestHTTPBasic(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        user_file = os.path.join(self.workdir, 'htpasswd')
        # What "htpasswd -B" writes, at bcrypt's default cost.
        hashed = bcrypt.hashpw(b'correct horse', bcrypt.gensalt())
        with open(user_file, 'w') as f:
            f.write('operator:%s\n' % hashed.decode('ascii'))
        self.start_all_in_one(default={
            'auth_strategy': 'http_basic',
            'http_basic_auth_user_file': user_file})

    def test_cli_with_basic_credentials(self):
        conductors = self.cli_json(
            'conductor', 'list',
            global_args=BASIC_AUTH + ('correct horse',))
        self.assertEqual(['functional-aio'],
                         [c['hostname'] for c in conductors])
        node = self.cli_json('node', 'create', '--driver', 'fake-hardware',
                             global_args=BASIC_AUTH + ('correct horse',))
        self.assertEqual('enroll', node['provision_state'])

    def test_cli_with_a_wrong_password(self):
        failed = self.run_cli('conductor', 'list', expect_failure=True,
                              global_args=BASIC_AUTH + ('wrong',))
        # As against Ironic: the client does not read the body of this
        # error, but shows the request id.
        self.assertRegex(failed.stderr,
                         r'Unauthorized \(HTTP 401\) \(Request-ID: req-')
        failed = self.run_cli('conductor', 'list', expect_failure=True)
        self.assertIn('Unauthorized (HTTP 401)', failed.stderr)

    def test_raw_http(self):
        for path in ('/', '/v1', '/v1/'):
            self.assertEqual(200, requests.get(self.url + path,
                                               timeout=10).status_code)
        missing = requests.get(self.url + '/v1/nodes', timeout=10)
        self.assertEqual(401, missing.status_code)
        self.assertEqual('Basic realm="Baremetal API"',
                         missing.headers['WWW-Authenticate'])
        self.assertEqual({'error': {'message': 'Authorization required',
                                    'code': 401}}, missing.json())
        self.assertIn('X-OpenStack-Request-Id', missing.headers)
        good = requests.get(self.url + '/v1/nodes', timeout=10,
                            auth=('operator', 'correct horse'))
        self.assertEqual(200, good.status_code)
        malformed = requests.get(self.url + '/v1/nodes', timeout=10,
                                 headers={'Authorization': 'Basic %%%'})
        self.assertEqual(400, malformed.status_code)
        self.assertEqual('Could not decode authorization token',
                         malformed.json()['error']['message'])


class TestOpenDoor(base.FunctionalTestCase):
    """noauth serves on loopback only, unless the operator insists."""

    def run_refused(self, command: str, **api) -> str:
        config = base.write_config(self.workdir, {
            'DEFAULT': {'state_path': self.workdir},
            'api': {'port': 0, **api}})
        result = subprocess.run(
            base.executable(command) + ['--config-file', config],
            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(0, result.returncode, result.stdout)
        self.assertNotIn('listening', result.stdout)
        return result.stderr

    def test_commands_refuse_a_remote_address(self):
        for command in ('ironic-lite', 'ironic-lite-api'):
            stderr = self.run_refused(command, host_ip='0.0.0.0')
            self.assertIn('Refusing to listen on 0.0.0.0: '
                          '[DEFAULT]auth_strategy is noauth', stderr)
            self.assertIn('[api]allow_unauthenticated_remote = true', stderr)

    def test_override_serves(self):
        self.start_all_in_one(
            api_options={'host_ip': '0.0.0.0',
                         'allow_unauthenticated_remote': 'true'},
            url_line=re.compile(r'API: http://0\.0\.0\.0:(\d+)'))
        url = 'http://127.0.0.1:%s' % self.url
        self.assertEqual(200, requests.get(url + '/v1/nodes',
                                           timeout=10).status_code)
