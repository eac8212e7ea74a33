"""ironic-lite behind a real Keystone: tokens it issues, the real CLI."""

import subprocess

import requests

from tests import services
from tests.functional import base
from tests.functional import identity
from tests.unit.api import test_policy

LATEST = {'X-OpenStack-Ironic-API-Version': '1.49'}


class TestKeystone(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        if not identity.available():
            services.unavailable(self, 'no Keystone virtualenv at %s; make '
                                       'it with "tox -e keystone"'
                                 % identity.VENV)
        self.keystone = self.useFixture(identity.Keystone(self.workdir))
        self.start_all_in_one(default={'auth_strategy': 'keystone'}, extra={
            'keystone_authtoken': {
                'www_authenticate_uri': self.keystone.url,
                'auth_url': self.keystone.url,
                'auth_type': 'password',
                'username': 'admin',
                'password': identity.ADMIN_PASSWORD,
                'user_domain_id': 'default',
                'project_name': 'admin',
                'project_domain_id': 'default',
                # bootstrap registers only Keystone's public endpoint.
                'interface': 'public',
            }})

    def get(self, path: str, token: str | None = None) -> requests.Response:
        headers = dict(LATEST)
        if token:
            headers['X-Auth-Token'] = token
        return requests.get(self.url + path, headers=headers, timeout=30)

    def test_tokens_and_the_cli(self):
        # One test: setting Keystone up takes most of a minute.
        self.check_tokens()
        self.check_policy_matrix()
        self.check_openstack_cli()

    def check_tokens(self):
        for path in ('/', '/v1', '/v1/'):
            self.assertEqual(200, self.get(path).status_code)
        missing = self.get('/v1/conductors')
        self.assertEqual(401, missing.status_code)
        self.assertEqual('Keystone uri="%s"' % self.keystone.url,
                         missing.headers['WWW-Authenticate'])
        self.assertIn('X-OpenStack-Request-Id', missing.headers)
        self.assertEqual(401, self.get('/v1/conductors',
                                       'not-a-token').status_code)

        admin = self.get('/v1/conductors', self.keystone.admin_token)
        self.assertEqual(200, admin.status_code, admin.text)
        self.assertEqual(['functional-aio'],
                         [c['hostname'] for c in admin.json()['conductors']])

        # A system reader reads, and is refused a write by the policy.
        reader_id = self.keystone.create_user('watcher', 'watcher-secret')
        self.keystone.grant_system_role(reader_id, 'reader')
        reader = self.keystone.token('watcher', 'watcher-secret',
                                     {'system': {'all': True}})
        self.assertEqual(200, self.get('/v1/nodes', reader).status_code)
        refused = requests.post(
            self.url + '/v1/nodes', json={'driver': 'fake-hardware'},
            headers=dict(LATEST, **{'X-Auth-Token': reader}), timeout=30)
        self.assertEqual(403, refused.status_code, refused.text)
        self.assertIn('baremetal:node:create', refused.text)

    def check_policy_matrix(self):
        """The unit tests' policy matrix, its reads and the creation and
        deletion of nodes, with tokens of this Keystone."""
        project_id = self.keystone.create_project('tenant')
        member_id = self.keystone.create_user('tenant-user', 'tenant-pw')
        self.keystone.grant_project_role(project_id, member_id, 'member')
        tokens = {
            'system_admin': self.keystone.admin_token,
            'system_reader': self.keystone.token(
                'watcher', 'watcher-secret', {'system': {'all': True}}),
            'project_member': self.keystone.token(
                'tenant-user', 'tenant-pw', {'project': {
                    'name': 'tenant', 'domain': {'id': 'default'}}}),
            'anonymous': None,
        }
        rows = [row for row in test_policy.MATRIX
                if row[0] == 'GET' or row[3] in (
                    'baremetal:node:create', 'baremetal:node:delete')]
        admin = dict(LATEST, **{'X-Auth-Token': tokens['system_admin']})
        problems = []
        for index, (caller, token) in enumerate(tokens.items()):
            headers = dict(LATEST)
            if token:
                headers['X-Auth-Token'] = token
            for serial, row in enumerate(rows):
                method, path, body = row[:3]
                node = requests.post(
                    self.url + '/v1/nodes', json={'driver': 'fake-hardware'},
                    headers=admin, timeout=30).json()['uuid']
                port = requests.post(self.url + '/v1/ports', json={
                    'address': '52:54:00:01:%02x:%02x' % (index, serial),
                    'node_uuid': node},
                    headers=admin, timeout=30).json()['uuid']
                path = path.format(node=node, port=port,
                                   conductor='functional-aio')
                response = requests.request(
                    method, self.url + path, json=body, headers=headers,
                    timeout=60)
                expected, _rule, empty = test_policy.expected(caller, row)
                if response.status_code != expected:
                    problems.append('%s %s as %s: %s, expected %s' % (
                        method, row[1], caller, response.status_code,
                        expected))
                elif empty and response.json()[row[1].split('/')[2]]:
                    # The project owns none of the nodes: it lists none.
                    problems.append('%s %s as %s: not empty' % (
                        method, row[1], caller))
        self.assertEqual([], problems)
        listed = self.get('/v1/nodes', tokens['project_member'])
        self.assertEqual((200, []), (listed.status_code,
                                     listed.json()['nodes']))

    def check_openstack_cli(self):
        self.keystone.register_endpoint('baremetal', self.url)
        # The API's URL comes from Keystone's catalog.
        result = subprocess.run(base.executable('openstack') + [
            '--os-auth-type', 'password',
            '--os-auth-url', self.keystone.url,
            '--os-username', 'admin',
            '--os-password', identity.ADMIN_PASSWORD,
            '--os-user-domain-id', 'default',
            '--os-system-scope', 'all',
            '--os-interface', 'public',
            '--os-region-name', 'RegionOne',
            'baremetal', 'conductor', 'list', '-f', 'value', '-c', 'Hostname'],
            capture_output=True, text=True, env=self.client_env, timeout=120)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('functional-aio', result.stdout.strip())
