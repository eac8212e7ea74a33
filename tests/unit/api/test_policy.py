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
    # A project user with a role the policy does not know.
    'project_other': _identity('other', **_project('tenant')),
    'anonymous': {},
    # The deprecated rules, still honoured by default.
    'legacy_admin': _identity('baremetal_admin,member,reader',
                              **_project('baremetal')),
    'legacy_observer': _identity('baremetal_observer,member,reader',
                                 **_project('baremetal')),
}

# Who gets what, by the kind of rule: Ironic's secure-RBAC defaults. The
# nodes of the matrix belong to no project (a 1.49 client cannot set
# owner or lessee), so a project-scoped caller lists none of them and is
# told the others do not exist.
ADMIN, MEMBER, READER = 'admin', 'member', 'reader'
_SYSTEM_ALLOWED = {ADMIN: {'system_admin'},
                   MEMBER: {'system_admin'},
                   READER: {'system_admin', 'system_reader'}}
# What a project-scoped caller gets where the system personas are refused
# or allowed: a list of its project's nodes (none), a 404 for a node or
# port of another project, or a 403 for what is not about one node.
LIST, HIDDEN, REFUSED = 'list', 'hidden', 'refused'
# The rules whose legacy default lets baremetal_observer in (Ironic's
# "rule:is_admin or rule:is_observer" and the list rules that refer to
# it); every other one is "rule:is_admin".
LEGACY_READ = {
    'baremetal:node:list_all', 'baremetal:node:get',
    'baremetal:node:get_boot_device', 'baremetal:node:get_states',
    'baremetal:node:traits:list', 'baremetal:port:list_all',
    'baremetal:port:get', 'baremetal:driver:get',
    'baremetal:driver:get_properties', 'baremetal:conductor:get',
    'baremetal:conductor:get_impact', 'baremetal:conductor_group:get',
    'baremetal:metrics:get'}
PROJECT_CALLERS = ('project_member', 'project_other')

# (method, path, body, rule, kind, project, success status). {node} and
# {port} are a node and a port of the row's own, {conductor} the
# conductor's host. A list row names its list_all rule; a caller it
# refuses is then held to the list rule.
MATRIX = [
    ('GET', '/metrics', None, 'baremetal:metrics:get', READER, REFUSED,
     200),
    ('GET', '/v1/conductors', None, 'baremetal:conductor:get', READER,
     REFUSED, 200),
    ('GET', '/v1/conductors/{conductor}', None,
     'baremetal:conductor:get', READER, REFUSED, 200),
    ('GET', '/v1/conductors/{conductor}/events', None,
     'baremetal:conductor:get', READER, REFUSED, 200),
    ('GET', '/v1/conductor_events', None, 'baremetal:conductor:get',
     READER, REFUSED, 200),
    ('GET', '/v1/nodes/{node}/conductor', None, 'baremetal:conductor:get',
     READER, REFUSED, 200),
    ('GET', '/v1/conductors/{conductor}/impact', None,
     'baremetal:conductor:get_impact', READER, REFUSED, 200),
    ('GET', '/v1/conductor_groups', None, 'baremetal:conductor_group:get',
     READER, REFUSED, 200),
    ('GET', '/v1/drivers', None, 'baremetal:driver:get', READER, REFUSED,
     200),
    ('GET', '/v1/drivers/fake-hardware', None, 'baremetal:driver:get',
     READER, REFUSED, 200),
    ('GET', '/v1/drivers/fake-hardware/properties', None,
     'baremetal:driver:get_properties', READER, REFUSED, 200),
    ('GET', '/v1/nodes', None, 'baremetal:node:list_all', READER, LIST,
     200),
    ('GET', '/v1/nodes/detail', None, 'baremetal:node:list_all', READER,
     LIST, 200),
    ('GET', '/v1/nodes/{node}', None, 'baremetal:node:get', READER, HIDDEN,
     200),
    ('POST', '/v1/nodes', {'driver': 'fake-hardware'},
     'baremetal:node:create', ADMIN, REFUSED, 201),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'replace', 'path': '/resource_class', 'value': 'x'}],
     'baremetal:node:update', MEMBER, HIDDEN, 200),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'add', 'path': '/extra/a', 'value': 1}],
     'baremetal:node:update_extra', MEMBER, HIDDEN, 200),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'add', 'path': '/instance_info/a', 'value': 1}],
     'baremetal:node:update_instance_info', MEMBER, HIDDEN, 200),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'replace', 'path': '/automated_clean', 'value': False}],
     'baremetal:node:disable_cleaning', MEMBER, HIDDEN, 200),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'add', 'path': '/driver_info/a', 'value': 1}],
     'baremetal:node:update:driver_info', MEMBER, HIDDEN, 200),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'add', 'path': '/properties/a', 'value': 1}],
     'baremetal:node:update:properties', MEMBER, HIDDEN, 200),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'replace', 'path': '/chassis_uuid', 'value': None}],
     'baremetal:node:update:chassis_uuid', ADMIN, HIDDEN, 200),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'add', 'path': '/instance_uuid', 'value': VIF}],
     'baremetal:node:update:instance_uuid', MEMBER, HIDDEN, 200),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'replace', 'path': '/driver', 'value': 'fake-hardware'}],
     'baremetal:node:update:driver_interfaces', MEMBER, HIDDEN, 200),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'replace', 'path': '/conductor_group', 'value': ''}],
     'baremetal:node:update:conductor_group', MEMBER, HIDDEN, 200),
    ('PATCH', '/v1/nodes/{node}',
     [{'op': 'add', 'path': '/name', 'value': 'renamed'}],
     'baremetal:node:update:name', MEMBER, HIDDEN, 200),
    ('DELETE', '/v1/nodes/{node}', None, 'baremetal:node:delete', ADMIN,
     HIDDEN, 204),
    ('GET', '/v1/nodes/{node}/states', None, 'baremetal:node:get_states',
     READER, HIDDEN, 200),
    ('PUT', '/v1/nodes/{node}/states/power', {'target': 'power on'},
     'baremetal:node:set_power_state', MEMBER, HIDDEN, 202),
    ('PUT', '/v1/nodes/{node}/states/provision', {'target': 'manage'},
     'baremetal:node:set_provision_state', MEMBER, HIDDEN, 202),
    ('GET', '/v1/nodes/{node}/validate', None, 'baremetal:node:validate',
     MEMBER, HIDDEN, 200),
    ('GET', '/v1/nodes/validate?node={node}', None,
     'baremetal:node:validate', MEMBER, HIDDEN, 200),
    ('PUT', '/v1/nodes/{node}/maintenance', {'reason': 'x'},
     'baremetal:node:set_maintenance', MEMBER, HIDDEN, 202),
    ('DELETE', '/v1/nodes/{node}/maintenance', None,
     'baremetal:node:clear_maintenance', MEMBER, HIDDEN, 202),
    ('GET', '/v1/nodes/{node}/management/boot_device', None,
     'baremetal:node:get_boot_device', MEMBER, HIDDEN, 200),
    ('GET', '/v1/nodes/{node}/management/boot_device/supported', None,
     'baremetal:node:get_boot_device', MEMBER, HIDDEN, 200),
    ('PUT', '/v1/nodes/{node}/management/boot_device',
     {'boot_device': 'pxe'}, 'baremetal:node:set_boot_device', MEMBER,
     HIDDEN, 204),
    ('GET', '/v1/nodes/{node}/vifs', None, 'baremetal:node:vif:list',
     READER, HIDDEN, 200),
    ('POST', '/v1/nodes/{node}/vifs', {'id': VIF},
     'baremetal:node:vif:attach', MEMBER, HIDDEN, 204),
    ('DELETE', '/v1/nodes/{node}/vifs/' + VIF, None,
     'baremetal:node:vif:detach', MEMBER, HIDDEN, 204),
    ('GET', '/v1/nodes/{node}/traits', None, 'baremetal:node:traits:list',
     READER, HIDDEN, 200),
    ('PUT', '/v1/nodes/{node}/traits', {'traits': ['CUSTOM_A']},
     'baremetal:node:traits:set', MEMBER, HIDDEN, 204),
    ('PUT', '/v1/nodes/{node}/traits/CUSTOM_B', None,
     'baremetal:node:traits:set', MEMBER, HIDDEN, 204),
    ('DELETE', '/v1/nodes/{node}/traits', None,
     'baremetal:node:traits:delete', MEMBER, HIDDEN, 204),
    ('GET', '/v1/ports', None, 'baremetal:port:list_all', READER, LIST,
     200),
    ('GET', '/v1/ports/detail', None, 'baremetal:port:list_all', READER,
     LIST, 200),
    ('GET', '/v1/ports/{port}', None, 'baremetal:port:get', READER, HIDDEN,
     200),
    ('GET', '/v1/nodes/{node}/ports', None, 'baremetal:port:list_all',
     READER, HIDDEN, 200),
    ('POST', '/v1/ports', {'address': '52:54:00:aa:bb:cc',
                           'node_uuid': '{node}'},
     'baremetal:port:create', ADMIN, REFUSED, 201),
    ('PATCH', '/v1/ports/{port}',
     [{'op': 'add', 'path': '/extra/a', 'value': 1}],
     'baremetal:port:update', MEMBER, HIDDEN, 200),
    ('DELETE', '/v1/ports/{port}', None, 'baremetal:port:delete', ADMIN,
     HIDDEN, 204),
]


def list_rule(rule: str) -> str:
    """The rule a list row holds project-scoped callers to."""
    return rule.replace(':list_all', ':list')


LIST_RULES = {list_rule(row[3]) for row in MATRIX if row[5] == LIST}


def expected(caller: str, row, legacy: bool = False
             ) -> tuple[int, str | None, bool]:
    """(status, the rule a 403 names, whether a list must be empty) for
    ``caller`` on ``row``; ``legacy``: under the deprecated defaults."""
    _m, _p, _b, rule, kind, project, success = row
    if caller == 'anonymous':
        return 401, None, False
    if legacy:
        allowed = caller == 'legacy_admin' or rule in LEGACY_READ
        return (success, None, False) if allowed else (403, rule, False)
    if caller.startswith('system_'):
        if caller in _SYSTEM_ALLOWED[kind]:
            return success, None, False
        return 403, rule, False
    # Project-scoped callers; under the new defaults the legacy roles
    # are plain project members.
    if project == HIDDEN:
        return 404, None, False
    if project == LIST and caller != 'project_other':
        return success, None, True
    if project == LIST:
        return 403, list_rule(rule), False
    return 403, rule, False


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
        method, path, body = row[:3]
        path = path.format(**names)
        if isinstance(body, dict):
            body = {key: value.format(**names) if isinstance(value, str)
                    else value for key, value in body.items()}
        kwargs = {'headers': self.headers(caller), 'expect_errors': True}
        if body is None:
            return self.app.request(path, method=method, **kwargs)
        return getattr(self.app, method.lower() + '_json')(
            path, body, **kwargs)

    def check_row(self, caller: str, row, legacy: bool = False
                  ) -> list[str]:
        """What is wrong with ``row`` for ``caller``; nothing, if all is
        as the matrix says."""
        status, rule, empty = expected(caller, row, legacy)
        response = self.call(caller, row, self.make_node())
        where = '%s %s as %s' % (row[0], row[1], caller)
        if response.status_int != status:
            return ['%s: %s, expected %s: %s' % (
                where, response.status_int, status, response.text[:200])]
        if status == 403:
            fault = json.loads(response.json['error_message'])
            wanted = 'Access was denied to the following resource: %s' % rule
            if fault['faultstring'] != wanted:
                return ['%s: %r' % (where, fault['faultstring'])]
        if empty:
            found = response.json[row[1].split('/')[2]]
            if found:
                return ['%s: lists %d of no project' % (where, len(found))]
        elif status == 200 and row[4] == READER and '/ports' in row[1] \
                and 'ports' in response.json and not response.json['ports']:
            return ['%s: lists no port' % where]
        return []

    def check_matrix(self, caller: str, legacy: bool = False) -> None:
        problems = []
        for row in MATRIX:
            problems.extend(self.check_row(caller, row, legacy))
        self.assertEqual([], problems)


class TestMatrix(PolicyTestCase):

    def test_system_admin(self):
        self.check_matrix('system_admin')

    def test_system_reader(self):
        self.check_matrix('system_reader')

    def test_project_member(self):
        self.check_matrix('project_member')

    def test_project_user_without_a_known_role(self):
        self.check_matrix('project_other')

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
        self.check_matrix('legacy_admin', legacy=True)

    def test_legacy_observer(self):
        self.legacy_rules()
        self.check_matrix('legacy_observer', legacy=True)

    def test_legacy_roles_are_project_members_under_the_new_defaults(self):
        for caller in ('legacy_admin', 'legacy_observer'):
            self.check_matrix(caller)

    def test_every_rule_of_an_operation_is_in_the_matrix(self):
        operations = {rule.name for rule in policy.RULES
                      if isinstance(rule, policy.policy.DocumentedRuleDefault)}
        in_matrix = {row[3] for row in MATRIX} | LIST_RULES
        self.assertEqual(operations, in_matrix)

    def test_each_rule_is_checked_where_the_matrix_says(self):
        # With one rule refusing everyone, each of its rows refuses the
        # caller who would otherwise pass, naming that rule: deleting the
        # check of any rule from any endpoint fails this test. (Under the
        # defaults some checks never decide alone: a node's readers are
        # also the readers of its states.)
        policy_file = os.path.join(self.state_path, 'policy.yaml')
        policy.get_enforcer()  # registers [oslo_policy]
        self.config(policy_file=policy_file, group='oslo_policy')
        rules = {row[3] for row in MATRIX} | LIST_RULES
        problems = []


        def refuse(rule):
            with open(policy_file, 'w') as f:
                f.write('"%s": "!"\n' % rule if rule else '{}\n')
            policy.reset()

        for rule in sorted(rules):
            # The list rule only decides for project-scoped callers.
            caller = ('project_member' if rule in LIST_RULES
                      else 'system_admin')
            for row in MATRIX:
                if rule != row[3] and (row[5] != LIST
                                       or rule != list_rule(row[3])):
                    continue
                refuse(None)
                names = self.make_node()
                refuse(rule)
                response = self.call(caller, row, names)
                text = response.text
                if response.status_int != 403 or rule + '\\"' not in text:
                    problems.append('%s %s with %s refused: %s %s' % (
                        row[0], row[1], rule, response.status_int,
                        text[:150]))
        self.assertEqual([], problems)


class TestProjects(PolicyTestCase):
    """A project sees and operates the nodes it owns or leases, as Ironic's
    defaults let it, and lists only those."""

    def setUp(self):
        super().setUp()
        self.owned = self.make_node()
        self.leased = self.make_node()
        self.other = self.make_node()
        self.dbapi.update_node(
            self.dbapi.get_node_by_uuid(self.owned['node']).id,
            {'owner': 'p-tenant'})
        self.dbapi.update_node(
            self.dbapi.get_node_by_uuid(self.leased['node']).id,
            {'owner': 'p-landlord', 'lessee': 'p-tenant'})

    def request(self, method, path, body=None, caller='project_member'):
        row = (method, path, body)
        return self.call(caller, row, {})

    def test_lists_hold_the_nodes_and_ports_of_the_project(self):
        for path, key, kind in (('/v1/nodes', 'nodes', 'node'),
                                ('/v1/nodes/detail', 'nodes', 'node'),
                                ('/v1/ports', 'ports', 'port'),
                                ('/v1/ports/detail', 'ports', 'port')):
            found = self.request('GET', path).json[key]
            self.assertEqual(
                sorted([self.owned[kind], self.leased[kind]]),
                sorted(item['uuid'] for item in found), path)
        everything = self.request('GET', '/v1/nodes',
                                  caller='system_reader').json['nodes']
        self.assertEqual(3, len(everything))

    def test_owner_and_lessee_rights(self):
        owned, leased = self.owned['node'], self.leased['node']
        cases = [
            ('GET', '/v1/nodes/%s' % owned, None, 200),
            ('GET', '/v1/nodes/%s/ports' % leased, None, 200),
            ('GET', '/v1/ports/%s' % self.leased['port'], None, 200),
            ('PUT', '/v1/nodes/%s/states/power' % leased,
             {'target': 'power on'}, 202),
            # Provisioning: the owner's members, the lessee's admins.
            ('PUT', '/v1/nodes/%s/states/provision' % owned,
             {'target': 'manage'}, 202),
            ('PUT', '/v1/nodes/%s/states/provision' % leased,
             {'target': 'manage'}, 403),
            # Traits and ports: the owner's admins.
            ('PUT', '/v1/nodes/%s/traits/CUSTOM_A' % owned, None, 403),
            ('PATCH', '/v1/ports/%s' % self.owned['port'],
             [{'op': 'add', 'path': '/extra/a', 'value': 1}], 403),
            ('DELETE', '/v1/nodes/%s' % owned, None, 403),
            ('GET', '/v1/nodes/%s' % self.other['node'], None, 404),
            ('GET', '/v1/ports/%s' % self.other['port'], None, 404),
        ]
        problems = []
        for method, path, body, status in cases:
            response = self.request(method, path, body)
            if response.status_int != status:
                problems.append((method, path, response.status_int,
                                 response.text[:150]))
        self.assertEqual([], problems)

    def test_an_unowned_node_is_no_project_less_callers(self):
        # A domain-scoped token has no project: "project_id:%(node.owner)s"
        # must not match a node nobody owns (oslo.policy would compare
        # 'None' with 'None').
        CALLERS['domain_member'] = _identity(
            'member,reader', **{'X-Domain-Id': 'default',
                                'X-Domain-Name': 'Default'})
        self.addCleanup(CALLERS.pop, 'domain_member')
        response = self.request('GET', '/v1/nodes/%s' % self.other['node'],
                                caller='domain_member')
        self.assertEqual(403, response.status_int, response.text)


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
