"""The hot reads (ironic_lite.api.hot_reads) answer exactly as pecan does.

Every request is sent to the whole application twice, once with the hot
path and once without, and the two answers must be the same: status,
every header in order (request ids aside, which differ by design) and the
body byte for byte. The requests cover what the hot path serves (every
version, fields, nodes by UUID and by name, conductors with awkward
hostnames, keystone callers of every kind) and what it must leave to
pecan (errors of every sort, other methods, paths, parameters and Accept
headers).
"""

import datetime
import io
import os
import sys
from unittest import mock

import fixtures
from keystonemiddleware import auth_token
from oslo_utils import timeutils

from ironic_lite.api import app
from ironic_lite.api import hot_reads
from ironic_lite.api import policy
from ironic_lite.api import versions
from tests import base
from tests.unit.api import base as api_base
from tests.unit.api import test_auth
from tests.unit.api import test_policy

_REQUEST_IDS = frozenset({'openstack-request-id', 'x-openstack-request-id'})
_HOSTNAMES = ('host:8090', '[::1]:8090', 'bench.example.com')
_VERSIONS = (None, 'latest', 'LATEST', '1.48', '1.50', '2.1', '1.0', 'abc',
             '1', ' 1.49 ', '')


def _environ(method: str, path: str, headers: dict) -> dict:
    # As a server hands the path over: its UTF-8 bytes as latin-1.
    path, _, query = path.encode('utf-8').decode('latin-1').partition('?')
    environ = {
        'REQUEST_METHOD': method, 'PATH_INFO': path, 'QUERY_STRING': query,
        'SCRIPT_NAME': '', 'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '6385',
        'SERVER_PROTOCOL': 'HTTP/1.1', 'HTTP_HOST': '127.0.0.1:6385',
        'REMOTE_ADDR': '127.0.0.1', 'wsgi.url_scheme': 'http',
        'wsgi.input': io.BytesIO(b''), 'wsgi.errors': sys.stderr,
        'wsgi.version': (1, 0), 'wsgi.multithread': True,
        'wsgi.multiprocess': False, 'wsgi.run_once': False}
    for name, value in headers.items():
        if value is not None:
            environ['HTTP_' + name.upper().replace('-', '_')] = value
    return environ


def _answer(application, method: str, path: str, headers: dict):
    started = []
    chunks = application(_environ(method, path, headers),
                         lambda status, hdrs, exc_info=None:
                         started.append((status, hdrs)))
    try:
        body = b''.join(chunks)
    finally:
        if hasattr(chunks, 'close'):
            chunks.close()
    status, hdrs = started[0]
    ids = {value for name, value in hdrs if name.lower() in _REQUEST_IDS}
    hdrs = [(name, '<id>' if name.lower() in _REQUEST_IDS else value)
            for name, value in hdrs]
    return status, hdrs, body, ids


class HotReadsMixin:
    """Compare the two applications; count what the hot path served."""

    def make_apps(self) -> None:
        self.hot = app.setup_app()
        self.pecan = app.setup_app(hot=False)
        self.served = []
        self.missed = []
        answer = hot_reads.HotReads._answer

        def counted(middleware, environ, *args):
            result = answer(middleware, environ, *args)
            if result is not None:
                self.served.append(environ['PATH_INFO'])
            return result
        self.useFixture(fixtures.MonkeyPatch(
            'ironic_lite.api.hot_reads.HotReads._answer', counted))
        # The conductors' heartbeat ages are part of their answers.
        timeutils.set_time_override(timeutils.utcnow())
        self.addCleanup(timeutils.clear_time_override)

    def compare(self, path: str, method: str = 'GET', **headers) -> str:
        """Send one request to both; return the status."""
        served = len(self.served)
        hot = _answer(self.hot, method, path, headers)
        slow = _answer(self.pecan, method, path, headers)
        where = '%s %s %s' % (method, path, headers)
        self.assertEqual(slow[:3], hot[:3], where)
        # One id per answer, under both names.
        self.assertEqual(1, len(hot[3]), where)
        if len(self.served) > served:
            self.assertEqual('200 OK', hot[0])
        else:
            self.missed.append((hot[0], where))
        return hot[0]

    def assert_every_success_served(self) -> None:
        """Pecan answered only errors (the requests of the test being
        ones the hot path takes)."""
        self.assertEqual([], [where for status, where in self.missed
                              if status == '200 OK'])
        self.assertNotEqual([], self.served)

    def check_served(self, count: int) -> None:
        """The hot path answered ``count`` requests (it must not fall
        through everything: the comparison would prove nothing)."""
        self.assertEqual(count, len(self.served), self.served)
        del self.served[:]


class TestHotReadsNoauth(HotReadsMixin, api_base.APITestCase):

    def setUp(self):
        super().setUp()
        self.nodes = [
            self.create_node(name='node-1', driver_info={
                'ipmi_password': 'secret', 'ipmi_address': '192.0.2.1'},
                instance_info={'image_url': 'http://example.com/image'},
                extra={'big': 2 ** 70, 'text': 'é'}),
            self.create_node(),
        ]
        # A node no conductor serves (its conductor is null).
        self.nodes.insert(1, {'uuid': self.dbapi.create_node({
            'uuid': 'f2b5d3a4-9c3e-4e0f-8a7b-6c5d4e3f2a1b', 'name': 'node-2',
            'driver': 'ipmi', 'conductor_group': 'rack-a',
            'properties': {'cpus': 8}}).uuid})
        now = timeutils.utcnow()
        for hostname in _HOSTNAMES:
            self.dbapi.register_conductor(
                hostname, '', ['fake-hardware'],
                take_over_if_older_than=now - datetime.timedelta(hours=1))
        self.make_apps()

    def test_every_version(self):
        node = self.nodes[0]
        paths = ['/v1/nodes/%s' % node['uuid'], '/v1/nodes/node-1',
                 '/v1/conductors', '/v1/conductors/test-conductor']
        minors = [str(minor) for minor in versions.Minor]
        for version in ['1.%s' % minor for minor in minors] + list(
                _VERSIONS):
            for path in paths:
                self.compare(path, **{versions.VERSION_HEADER: version})
        self.assert_every_success_served()

    def test_other_version_header(self):
        for value in ('baremetal 1.40', 'baremetal latest', 'compute 1.2'):
            self.compare('/v1/nodes/node-1', **{'OpenStack-API-Version':
                                                value})
            self.compare('/v1/conductors', **{
                'OpenStack-API-Version': value,
                versions.VERSION_HEADER: '1.49'})

    def test_nodes(self):
        uuid = self.nodes[1]['uuid']
        idents = [uuid, uuid.upper(), uuid.replace('-', ''),
                  '{%s}' % uuid, 'node-2', self.nodes[2]['uuid'],
                  'no-such-node', '8c1d7a6a-5a0f-4e4b-9d8e-2a1b3c4d5e6f',
                  'detail', 'validate', 'new', 'edit', 'delete', 'get_all',
                  'a' * 256, 'node%201', 'nødé', '%s/' % uuid,
                  '%s/states' % uuid, '%s/conductor' % uuid]
        for ident in idents:
            for version in ('1.49', '1.4', '1.9', None):
                self.compare('/v1/nodes/%s' % ident,
                             **{versions.VERSION_HEADER: version})

    def test_fields(self):
        uuid = self.nodes[0]['uuid']
        queries = ['fields=uuid,name', 'fields=conductor',
                   'fields=driver_info,instance_info,extra',
                   'fields=UUID,Name', 'fields=name,name', 'fields=bogus',
                   'fields=uuid,bogus', 'fields=traits', 'fields=',
                   'fields=,', 'fields=uuid&fields=name', 'fields=uu%69d',
                   'detail=true', 'limit=1', 'fields=hostname,alive',
                   'fields=node_count', 'fields=uuid&']
        for path in ('/v1/nodes/%s' % uuid, '/v1/nodes/node-1',
                     '/v1/conductors/test-conductor', '/v1/conductors'):
            for query in queries:
                for version in ('1.49', '1.7', '1.8', '1.20'):
                    self.compare('%s?%s' % (path, query),
                                 **{versions.VERSION_HEADER: version})

    def test_conductors(self):
        for hostname in _HOSTNAMES + ('test-conductor', 'nobody', 'get_all',
                                      'get_one', 'new', '%5B::1%5D:8090'):
            for suffix in ('', '/', '/events', '/impact', '?fields=alive'):
                self.compare('/v1/conductors/%s%s' % (hostname, suffix),
                             **{versions.VERSION_HEADER: '1.49'})
        for path in ('/v1/conductors', '/v1/conductors/', '/conductors',
                     '/v1/conductors?detail=true', '/v1/conductors?limit=2',
                     '/v1/conductors?alive=true', '/v1//conductors'):
            self.compare(path, **{versions.VERSION_HEADER: 'latest'})

    def test_methods_accept_and_bodies(self):
        uuid = self.nodes[0]['uuid']
        for path in ('/v1/nodes/%s' % uuid, '/v1/conductors'):
            for method in ('HEAD', 'OPTIONS', 'PUT'):
                self.compare(path, method=method,
                             **{versions.VERSION_HEADER: '1.48'})
            for accept in (None, '*/*', 'application/json', 'text/html',
                           'application/xml', 'application/json;q=0.5',
                           'text/plain, */*'):
                self.compare(path, Accept=accept,
                             **{versions.VERSION_HEADER: '1.49'})
        self.check_served(2 * 3)

    def test_request_ids(self):
        # An incoming global request id is taken only in its canonical
        # form; the request's own id is always new.
        seen = {}

        def remember(environ, start_response):
            seen.update(environ)
            start_response('200 OK', [('Content-Length', '0')])
            return []
        good = 'req-%s' % self.nodes[0]['uuid']
        for value, kept in ((good, good), ('req-1234', None),
                            (good.upper(), None), ('', None)):
            seen.clear()
            status, headers, body, ids = _answer(
                app.RequestId(remember), 'GET', '/v1/conductors',
                {'X-Openstack-Request-Id': value})
            self.assertEqual(kept, seen.get('openstack.global_request_id'))
            self.assertEqual({seen['openstack.request_id']}, ids)
            self.assertNotEqual(value, seen['openstack.request_id'])

    def test_request_id_on_answers_without_one(self):
        def bare(environ, start_response):
            start_response('302 Found', [('Location', '/v1/nodes')])
            return [b'moved']
        for method, body in (('GET', b'moved'), ('HEAD', b'')):
            status, headers, answer, ids = _answer(
                app.RequestId(bare), method, '/v1', {})
            self.assertEqual('302 Found', status)
            self.assertEqual(body, answer)
            # oslo.middleware's names, the Location made absolute, as
            # webob did.
            self.assertEqual(
                [('Location', 'http://127.0.0.1:6385/v1/nodes'),
                 ('x-openstack-request-id', '<id>'),
                 ('Openstack-Request-Id', '<id>')], headers)
            self.assertEqual(1, len(ids))


class TestHotReadsKeystone(HotReadsMixin, base.TestCase):
    """Behind Keystone: the policy decides, and a project sees only the
    nodes it owns or leases (others are not found)."""

    def setUp(self):
        super().setUp()
        fixtures_ = api_base.APIFixtures(self.useFixture)
        self.dbapi = fixtures_.database.dbapi
        policy.reset()
        self.addCleanup(policy.reset)
        self.useFixture(fixtures.MonkeyPatch(
            'keystonemiddleware.auth_token.AuthProtocol',
            test_policy.IdentityHeaders))
        for group, opts in auth_token.list_opts():
            base.CONF.register_opts(opts, group=group)
        self.config(auth_strategy='keystone')
        self.make_apps()
        self.uuids = []
        for owner, lessee in (('p-tenant', None), ('p-landlord', 'p-tenant'),
                              (None, None)):
            row = self.dbapi.create_node({
                'uuid': '1be26c0b-03f2-4d2e-ae87-c02d7f33c12%d'
                        % len(self.uuids),
                'driver': 'fake-hardware', 'owner': owner,
                'lessee': lessee,
                'driver_info': {'ipmi_password': 'x'}})
            self.uuids.append(row.uuid)

    def test_callers(self):
        paths = ['/v1/nodes/%s' % uuid for uuid in self.uuids] + [
            '/v1/conductors', '/v1/conductors/test-conductor']
        statuses = {}
        for caller, headers in test_policy.CALLERS.items():
            for path in paths:
                for version in ('1.49', '1.1'):
                    status = self.compare(path, **dict(
                        headers, **{versions.VERSION_HEADER: version}))
                    statuses[caller, path, version] = status[:3]
        owned, leased, other = ('/v1/nodes/%s' % uuid for uuid in self.uuids)
        self.assertEqual('200', statuses['project_member', owned, '1.49'])
        self.assertEqual('200', statuses['project_member', leased, '1.49'])
        self.assertEqual('404', statuses['project_member', other, '1.49'])
        self.assertEqual('200', statuses['system_reader', other, '1.49'])
        self.assertEqual('401', statuses['anonymous', other, '1.49'])
        self.assert_every_success_served()

    def test_a_denied_rule(self):
        self.useFixture(fixtures.MonkeyPatch(
            'ironic_lite.api.policy.POLICY_RECHECK_SECONDS', 0))
        headers = dict(test_policy.CALLERS['system_admin'],
                       **{versions.VERSION_HEADER: '1.49'})
        self.assertEqual('200', self.compare('/v1/conductors',
                                             **headers)[:3])
        api_base.APITestCase.deny_rule(self, 'baremetal:conductor:get')
        self.assertEqual('403', self.compare('/v1/conductors',
                                             **headers)[:3])


class TestHotReadsHTTPBasic(HotReadsMixin, base.TestCase):
    """Behind http_basic: the users of the file, and the refusals of the
    others (answered before either path)."""

    def setUp(self):
        super().setUp()
        fixtures_ = api_base.APIFixtures(self.useFixture)
        user_file = os.path.join(fixtures_.conf.state_path, 'htpasswd')
        with open(user_file, 'w') as f:
            f.write(test_auth.htpasswd_line('admin', 'secret'))
        self.config(auth_strategy='http_basic',
                    http_basic_auth_user_file=user_file)
        self.uuid = fixtures_.database.dbapi.create_node({
            'uuid': '5d0c8f0e-6a55-4c4e-9b89-2f3f4d5e6a7b',
            'driver': 'fake-hardware'}).uuid
        self.make_apps()

    def test_users(self):
        for headers in (test_auth.basic('admin', 'secret'),
                        test_auth.basic('admin', 'wrong'), {}):
            for path in ('/v1/nodes/%s' % self.uuid, '/v1/conductors'):
                self.compare(path, **dict(
                    headers, **{versions.VERSION_HEADER: '1.49'}))
        self.assert_every_success_served()


class TestPolicyAnswers(base.TestCase):
    """policy.check remembers its answers only while the rules stay."""

    def test_rules_changed(self):
        policy.reset()
        self.addCleanup(policy.reset)
        context = mock.Mock()
        context.to_policy_values.return_value = {'roles': ['admin'],
                                                 'project_id': None}
        context.project_name = None
        self.assertFalse(policy.check('show_password', context))
        enforcer = policy.get_enforcer()
        from oslo_policy import policy as oslo_policy
        enforcer.set_rules(oslo_policy.Rules.from_dict(
            {'show_password': 'role:admin'}), overwrite=False)
        self.assertTrue(policy.check('show_password', context))
        context.to_policy_values.return_value = {'roles': ['reader'],
                                                 'project_id': None}
        self.assertFalse(policy.check('show_password', context))
