"""The policy matrix: who may call what, behind Keystone.

keystonemiddleware is replaced, in these tests only, by a middleware that
trusts the identity headers it would have set (``X-Identity-Status``,
``X-Roles``, ``OpenStack-System-Scope``, ``X-Project-Id``, ...) and answers 401
without them; the rest of the application, the policy included, is the
real one.
"""

import json
import os
from unittest import mock

import fixtures
import webtest
from keystonemiddleware import auth_token

from ironic_lite.api import app
from ironic_lite.api import policy
from ironic_lite.api import versions
from tests import base
from tests.unit.api.base import APIFixtures

VIF = '4e4b0fe6-9c36-4e6e-a7d8-1b9a9d6a0001'


class IdentityHeaders:
    """Stands for keystonemiddleware's ``AuthProtocol`` (same signature):
    a confirmed identity goes through, anything else is a 401."""

    def __init__(self, app, conf):
        self._app = app

    def __call__(self, environ, start_response):
        if environ.get('HTTP_X_IDENTITY_STATUS') != 'Confirmed':
            body = json.dumps({'error': {
                'code': 401, 'title': 'Unauthorized',
                'message': 'The request you have made requires '
                'authentication.'}}).encode('utf-8')
            start_response('401 Unauthorized', [
                ('Content-Type', 'application/json'),
                ('Content-Length', str(len(body)))])
            return [body]
        return self._app(environ, start_response)


def _identity(roles, **scope) -> dict:
    headers = {'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u1',
               'X-User-Name': 'someone', 'X-User-Domain-Id': 'default',
               'X-Roles': roles}
    headers.update(scope)
    return headers


_SYSTEM = {'OpenStack-System-Scope': 'all'}


def _project(name):
    return {'X-Project-Id': 'p-' + name, 'X-Project-Name': name,
            'X-Project-Domain-Id': 'default'}


# The callers. Keystone's implied roles are spelled out: keystonemiddleware
# passes them all in X-Roles.
CALLERS = {
    'system_admin': _identity('admin,member,reader', **_SYSTEM),
    'system_reader': _identity('reader', **_SYSTEM),
    'project_member': _identity('member,reader', **_project('tenant')),
    'anonymous': {},
    # The deprecated rules, still honoured by default.
    'legacy_admin': _identity('baremetal_admin,member,reader',
                              **_project('baremetal')),
    'legacy_observer': _identity('baremetal_observer,member,reader',
                                 **_project('baremetal')),
}

# Who gets what, by the kind of rule (Ironic's secure-RBAC defaults as a
# 1.49 client sees them: no node owners or lessees yet).
_OK = {'system_admin', 'legacy_admin'}
_READ = _OK | {'system_reader', 'legacy_observer'}
ADMIN, MEMBER, READER = 'admin', 'member', 'reader'
_ALLOWED = {ADMIN: _OK, MEMBER: _OK, READER: _READ}

# (method, path, body, rule, kind, success status). {node} and {port} are
# a node and a port of the row's own, {conductor} the conductor's host; a
# caller not allowed gets 403 naming the rule, an anonymous one 401.
MATRIX = [
    ('GET', '/metrics', None, 'baremetal:metrics:get', READER, 200),
    ('GET', '/v1/conductors', None, 'baremetal:conductor:get', READER, 200),
    ('GET', '/v1/conductors/{conductor}', None,
     'baremetal:conductor:get', READER, 200),
    ('GET', '/v1/nodes/{node}/conductor', None, 'baremetal:conductor:get',
     READER, 200),
    ('GET', '/v1/drivers', None, 'baremetal:driver:get', READER, 200),
    ('GET', '/v1/drivers/fake-hardware', None, 'baremetal:driver:get',
     READER, 200),
    ('GET', '/v1/drivers/fake-hardware/properties', None,
     'baremetal:driver:get_properties', READER, 200),
    ('GET', '/v1/nodes', None, 'baremetal:node:get', READER, 200),
    ('GET', '/v1/nodes/detail', None, 'baremetal:node:get', READER, 200),
    ('GET', '/v1/nodes/{node}', None, 'baremetal:node:get', READER, 200),
    ('POST', '/v1/nodes', {'driver': 'fake-hardware'},
     'baremetal:node:create', ADMIN, 201),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'add', 'path': '/extra/a', 'value': 1}],
     'baremetal:node:update', MEMBER, 200),
    ('DELETE', '/v1/nodes/{node}', None, 'baremetal:node:delete', ADMIN,
     204),
    ('GET', '/v1/nodes/{node}/states', None, 'baremetal:node:get_states',
     READER, 200),
    ('PUT', '/v1/nodes/{node}/states/power', {'target': 'power on'},
     'baremetal:node:set_power_state', MEMBER, 202),
    ('PUT', '/v1/nodes/{node}/states/provision', {'target': 'manage'},
     'baremetal:node:set_provision_state', MEMBER, 202),
    ('GET', '/v1/nodes/{node}/validate', None, 'baremetal:node:validate',
     MEMBER, 200),
    ('GET', '/v1/nodes/validate?node={node}', None,
     'baremetal:node:validate', MEMBER, 200),
    ('PUT', '/v1/nodes/{node}/maintenance', {'reason': 'x'},
     'baremetal:node:set_maintenance', MEMBER, 202),
    ('DELETE', '/v1/nodes/{node}/maintenance', None,
     'baremetal:node:clear_maintenance', MEMBER, 202),
    ('GET', '/v1/nodes/{node}/management/boot_device', None,
     'baremetal:node:get_boot_device', MEMBER, 200),
    ('GET', '/v1/nodes/{node}/management/boot_device/supported', None,
     'baremetal:node:get_boot_device', MEMBER, 200),
    ('PUT', '/v1/nodes/{node}/management/boot_device',
     {'boot_device': 'pxe'}, 'baremetal:node:set_boot_device', MEMBER,
     204),
    ('GET', '/v1/nodes/{node}/vifs', None, 'baremetal:node:vif:list',
     READER, 200),
    ('POST', '/v1/nodes/{node}/vifs', {'id': VIF},
     'baremetal:node:vif:attach', MEMBER, 204),
    ('DELETE', '/v1/nodes/{node}/vifs/' + VIF, None,
     'baremetal:node:vif:detach', MEMBER, 204),
    ('GET', '/v1/nodes/{node}/traits', None, 'baremetal:node:traits:list',
     READER, 200),
    ('PUT', '/v1/nodes/{node}/traits', {'traits': ['CUSTOM_A']},
     'baremetal:node:traits:set', MEMBER, 204),
    ('PUT', '/v1/nodes/{node}/traits/CUSTOM_B', None,
     'baremetal:node:traits:set', MEMBER, 204),
    ('DELETE', '/v1/nodes/{node}/traits', None,
     'baremetal:node:traits:delete', MEMBER, 204),
    ('GET', '/v1/ports', None, 'baremetal:port:get', READER, 200),
    ('GET', '/v1/ports/detail', None, 'baremetal:port:get', READER, 200),
    ('GET', '/v1/ports/{port}', None, 'baremetal:port:get', READER, 200),
    ('GET', '/v1/nodes/{node}/ports', None, 'baremetal:port:get', READER,
     200),
    ('POST', '/v1/ports', {'address': '52:54:00:aa:bb:cc',
                           'node_uuid': '{node}'},
     'baremetal:port:create', ADMIN, 201),
    ('PATCH', '/v1/ports/{port}',
     [{'op': 'add', 'path': '/extra/a', 'value': 1}],
     'baremetal:port:update', MEMBER, 200),
    ('DELETE', '/v1/ports/{port}', None, 'baremetal:port:delete', ADMIN,
     204),
]


def expected_status(caller: str, kind: str, success: int) -> int:
    if caller == 'anonymous':
        return 401
    return success if caller in _ALLOWED[kind] else 403


class PolicyTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        fixtures_ = APIFixtures(self.useFixture)
        self.state_path = fixtures_.conf.state_path
        self.dbapi = fixtures_.database.dbapi
        policy.reset()
        self.addCleanup(policy.reset)
        self.useFixture(fixtures.MonkeyPatch(
            'keystonemiddleware.auth_token.AuthProtocol', IdentityHeaders))
        for group, opts in auth_token.list_opts():
            base.CONF.register_opts(opts, group=group)
        self.config(auth_strategy='keystone')
        self.app = webtest.TestApp(app.setup_app())
        self.serial = 0

    def headers(self, caller: str) -> dict:
        return dict(CALLERS[caller],
                    **{versions.VERSION_HEADER: 'latest'})

    def make_node(self, **values) -> dict:
        """A node (fake-hardware) and a port of its own."""
        self.serial += 1
        values.setdefault('driver', 'fake-hardware')
        admin = self.headers('system_admin')
        node = self.app.post_json('/v1/nodes', values, headers=admin).json
        port = self.app.post_json('/v1/ports', {
            'address': '52:54:00:00:00:%02x' % self.serial,
            'node_uuid': node['uuid']}, headers=admin).json
        return {'node': node['uuid'], 'port': port['uuid'],
                'conductor': 'test-conductor'}

    def call(self, caller: str, row, names: dict):
        method, path, body, _rule, _kind, _success = row
        path = path.format(**names)
        if isinstance(body, dict):
            body = {key: value.format(**names) if isinstance(value, str)
                    else value for key, value in body.items()}
        kwargs = {'headers': self.headers(caller), 'expect_errors': True}
        if body is None:
            return self.app.request(path, method=method, **kwargs)
        return getattr(self.app, method.lower() + '_json')(
            path, body, **kwargs)

    def check_row(self, caller: str, row) -> list[str]:
        """What is wrong with ``row`` for ``caller``; nothing, if all is
        as the matrix says."""
        _method, _path, _body, rule, kind, success = row
        expected = expected_status(caller, kind, success)
        response = self.call(caller, row, self.make_node())
        problems = []
        if response.status_int != expected:
            problems.append('%s %s as %s: %s, expected %s: %s' % (
                row[0], row[1], caller, response.status_int, expected,
                response.text[:200]))
        elif expected == 403:
            fault = json.loads(response.json['error_message'])
            wanted = 'Access was denied to the following resource: %s' % rule
            if fault['faultstring'] != wanted:
                problems.append('%s %s as %s: %r' % (
                    row[0], row[1], caller, fault['faultstring']))
        return problems

    def check_matrix(self, caller: str) -> None:
        problems = []
        for row in MATRIX:
            problems.extend(self.check_row(caller, row))
        self.assertEqual([], problems)


class TestMatrix(PolicyTestCase):

    def test_system_admin(self):
        self.check_matrix('system_admin')

    def test_system_reader(self):
        self.check_matrix('system_reader')

    def test_project_member(self):
        self.check_matrix('project_member')

    def test_anonymous(self):
        self.check_matrix('anonymous')

    def legacy_rules(self):
        # oslo.policy enforces the new defaults unless told otherwise; the
        # legacy roles are honoured with enforce_new_defaults = false.
        policy.get_enforcer()  # registers [oslo_policy]
        self.config(enforce_new_defaults=False, group='oslo_policy')
        policy.reset()

    def test_legacy_admin(self):
        self.legacy_rules()
        self.check_matrix('legacy_admin')

    def test_legacy_observer(self):
        self.legacy_rules()
        self.check_matrix('legacy_observer')

    def test_legacy_roles_refused_under_the_new_defaults(self):
        problems = []
        for caller in ('legacy_admin', 'legacy_observer'):
            for row in MATRIX:
                response = self.call(caller, row, self.make_node())
                if response.status_int != 403:
                    problems.append((caller, row[0], row[1]))
        self.assertEqual([], problems)

    def test_every_rule_of_an_operation_is_in_the_matrix(self):
        operations = {rule.name for rule in policy.RULES
                      if isinstance(rule, policy.policy.DocumentedRuleDefault)}
        self.assertEqual(operations, {row[3] for row in MATRIX})

    def test_each_authorize_call_matters(self):
        # Lifting one rule at a time, as if its authorize calls were
        # deleted, makes the matrix fail for a caller it refuses.
        real_authorize = policy.authorize
        for rule in sorted({row[3] for row in MATRIX}):
            def lifted(name, context, target=None, _rule=rule):
                if name != _rule:
                    real_authorize(name, context, target)
            with fixtures.MonkeyPatch(
                    'ironic_lite.api.policy.authorize', lifted):
                problems = []
                for row in MATRIX:
                    if row[3] == rule:
                        problems.extend(
                            self.check_row('project_member', row))
            self.assertNotEqual([], problems, rule)


class TestSecrets(PolicyTestCase):

    def _node(self, caller: str) -> dict:
        names = self.make_node(
            driver_info={'ipmi_password': 'hunter2', 'ipmi_address': 'bmc'},
            instance_info={'image_url': 'http://x/image',
                           'configdrive': 'H4sI', 'root_gb': 10})
        return self.app.get('/v1/nodes/%s' % names['node'],
                            headers=self.headers(caller)).json

    def test_masked_even_for_the_system_admin_by_default(self):
        node = self._node('system_admin')
        self.assertEqual({'ipmi_password': '******', 'ipmi_address': 'bmc'},
                         node['driver_info'])
        self.assertEqual({'image_url': '******', 'configdrive': '******',
                          'root_gb': 10}, node['instance_info'])

    def test_shown_where_the_policy_allows(self):
        policy_file = os.path.join(self.state_path, 'policy.yaml')
        with open(policy_file, 'w') as f:
            f.write('"show_password": "role:admin and system_scope:all"\n'
                    '"show_instance_secrets": "role:admin"\n')
        policy.get_enforcer()  # registers [oslo_policy]
        self.config(policy_file=policy_file, group='oslo_policy')
        policy.reset()
        node = self._node('system_admin')
        self.assertEqual('hunter2', node['driver_info']['ipmi_password'])
        self.assertEqual('http://x/image',
                         node['instance_info']['image_url'])
        node = self._node('system_reader')
        self.assertEqual('******', node['driver_info']['ipmi_password'])
        self.assertEqual('******', node['instance_info']['configdrive'])

    def test_masked_for_noauth_callers_too(self):
        self.config(auth_strategy='noauth')
        test_app = webtest.TestApp(app.setup_app())
        headers = {versions.VERSION_HEADER: 'latest'}
        node = test_app.post_json('/v1/nodes', {
            'driver': 'fake-hardware',
            'driver_info': {'ipmi_password': 'hunter2'}},
            headers=headers).json
        self.assertEqual('******', node['driver_info']['ipmi_password'])


class TestOtherStrategies(base.TestCase):

    def test_everyone_is_admin_without_keystone(self):
        self.useFixture(base.ConfFixture())
        for strategy in ('noauth', 'http_basic'):
            self.config(auth_strategy=strategy)
            context = policy_context()
            for rule in policy.RULES:
                policy.authorize(rule.name, context)


def policy_context():
    from ironic_lite.common import context
    return context.RequestContext(roles=[], is_admin=False)


class TestPolicyFileChecks(base.TestCase):
    """The policy file is looked at once per interval, not per check."""

    def setUp(self):
        super().setUp()
        self.useFixture(base.ConfFixture())
        policy.reset()
        self.addCleanup(policy.reset)
        self.policy_file = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'policy.yaml')
        self._write('"show_password": "!"\n')
        policy.get_enforcer()  # registers [oslo_policy]
        self.config(policy_file=self.policy_file, group='oslo_policy')
        policy.reset()
        from ironic_lite.common import context
        self.context = context.RequestContext(roles=['admin'],
                                              system_scope='all')

    def _write(self, text: str) -> None:
        with open(self.policy_file, 'w') as f:
            f.write(text)

    def test_an_edit_takes_effect_after_the_interval(self):
        clock = [1000.0]
        self.useFixture(fixtures.MockPatch(
            'ironic_lite.api.policy.time.monotonic', lambda: clock[0]))
        self.assertFalse(policy.check('show_password', self.context))
        self._write('"show_password": "role:admin"\n')
        # Made newer than the first version whatever the file system's
        # time resolution.
        os.utime(self.policy_file, (2e9, 2e9))
        clock[0] += policy.POLICY_RECHECK_SECONDS / 2
        self.assertFalse(policy.check('show_password', self.context))
        clock[0] += policy.POLICY_RECHECK_SECONDS
        self.assertTrue(policy.check('show_password', self.context))

    def test_no_file_lookup_between_checks(self):
        policy.check('show_password', self.context)
        with mock.patch('os.stat', side_effect=AssertionError('stat')), \
                mock.patch('os.path.exists',
                           side_effect=AssertionError('exists')):
            for _ in range(20):
                self.assertFalse(policy.check('show_password',
                                              self.context))
