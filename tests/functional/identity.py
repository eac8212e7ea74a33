"""A real Keystone on 127.0.0.1 for the functional tests.

Keystone runs from its own virtualenv (its pins need not match ours), made
by ``tox -e keystone``: SQLite, fernet tokens, ``keystone-manage
bootstrap``, served by ``keystone_server.py``.
"""

import os
import re
import socket
import subprocess

import fixtures
import requests

from tests.base import wait_for
from tests.functional import base

VENV = os.environ.get('IRONIC_LITE_KEYSTONE_VENV') or os.path.join(
    os.path.dirname(os.path.dirname(base.BIN)), 'keystone')
ADMIN_PASSWORD = 'keystone-admin-secret'
_LISTENING = re.compile(r'keystone listening on (http://\S+)')


def available() -> bool:
    return os.path.exists(os.path.join(VENV, 'bin', 'keystone-manage'))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Keystone(fixtures.Fixture):
    """Keystone serving ``url`` (``.../v3``), bootstrapped with user
    ``admin`` (system admin, admin of project ``admin``)."""

    def __init__(self, workdir: str):
        super().__init__()
        self.directory = os.path.join(workdir, 'keystone')

    def _setUp(self):
        os.makedirs(self.directory)
        keys = {name: os.path.join(self.directory, name)
                for name in ('fernet', 'fernet-receipts', 'credential')}
        for path in keys.values():
            os.makedirs(path)
        port = _free_port()
        self.url = 'http://127.0.0.1:%d/v3' % port
        config = base.write_config(self.directory, {
            'database': {'connection': 'sqlite:///%s/keystone.db'
                                       % self.directory},
            'token': {'provider': 'fernet'},
            'fernet_tokens': {'key_repository': keys['fernet']},
            'fernet_receipts': {'key_repository': keys['fernet-receipts']},
            'credential': {'key_repository': keys['credential']},
        })
        user = ['--keystone-user', str(os.getuid()),
                '--keystone-group', str(os.getgid())]
        for command in (['db_sync'], ['fernet_setup'] + user,
                        ['credential_setup'] + user,
                        ['bootstrap', '--bootstrap-password', ADMIN_PASSWORD,
                         '--bootstrap-public-url', self.url,
                         '--bootstrap-region-id', 'RegionOne']):
            self._manage(config, command)
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=config)
        process = base.Process(
            [os.path.join(VENV, 'bin', 'python'),
             os.path.join(os.path.dirname(__file__), 'keystone_server.py'),
             str(port)],
            os.path.join(self.directory, 'keystone.log'), env=env)
        process.start()
        self.addCleanup(process.stop)
        process.wait_for_line(_LISTENING, timeout=60)
        wait_for(lambda: self._up(), timeout=30, message='Keystone /v3')
        self.admin_token = self.token('admin', ADMIN_PASSWORD,
                                      {'system': {'all': True}})

    def _manage(self, config: str, command: list[str]) -> None:
        result = subprocess.run(
            [os.path.join(VENV, 'bin', 'keystone-manage'), '--config-file',
             config] + command, capture_output=True, text=True, timeout=300)
        if result.returncode:
            raise AssertionError('keystone-manage %s failed:\n%s%s' % (
                command[0], result.stdout, result.stderr))

    def _up(self) -> bool:
        try:
            return requests.get(self.url, timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    def token(self, username: str, password: str, scope: dict | None
              ) -> str:
        """A token issued by this Keystone; ``scope`` as in its API
        (``{'system': {'all': True}}``, ``{'project': {...}}``), None for
        an unscoped one."""
        auth = {'identity': {'methods': ['password'], 'password': {'user': {
            'name': username, 'domain': {'id': 'default'},
            'password': password}}}}
        if scope is not None:
            auth['scope'] = scope
        response = requests.post(self.url + '/auth/tokens', timeout=30,
                                 json={'auth': auth})
        response.raise_for_status()
        return response.headers['X-Subject-Token']

    def admin(self, method: str, path: str, **body) -> dict:
        """A call of Keystone's API as the system admin."""
        response = requests.request(
            method, self.url + path, timeout=30, json=body or None,
            headers={'X-Auth-Token': self.admin_token})
        response.raise_for_status()
        return response.json() if response.content else {}

    def role_id(self, name: str) -> str:
        return self.admin('GET', '/roles?name=%s' % name)['roles'][0]['id']

    def create_user(self, name: str, password: str) -> str:
        return self.admin('POST', '/users', user={
            'name': name, 'password': password,
            'domain_id': 'default'})['user']['id']

    def grant_system_role(self, user_id: str, role: str) -> None:
        self.admin('PUT', '/system/users/%s/roles/%s'
                   % (user_id, self.role_id(role)))

    def create_project(self, name: str) -> str:
        return self.admin('POST', '/projects', project={
            'name': name, 'domain_id': 'default'})['project']['id']

    def grant_project_role(self, project_id: str, user_id: str,
                           role: str) -> None:
        self.admin('PUT', '/projects/%s/users/%s/roles/%s'
                   % (project_id, user_id, self.role_id(role)))

    def register_endpoint(self, service_type: str, url: str) -> None:
        service = self.admin('POST', '/services', service={
            'type': service_type, 'name': service_type})['service']
        self.admin('POST', '/endpoints', endpoint={
            'service_id': service['id'], 'interface': 'public',
            'url': url, 'region_id': 'RegionOne'})
