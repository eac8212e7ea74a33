"""The authentication strategies, through the whole WSGI application."""

import base64
import json
import os

import bcrypt
import webtest
from keystonemiddleware import auth_token
from oslo_middleware import request_id

from ironic_lite.api import app
from ironic_lite.api import auth
from ironic_lite.api import metrics
from ironic_lite.api import versions
from ironic_lite.api.middleware import basic_auth
from ironic_lite.api.middleware import parsable_error
from ironic_lite.cmd import common
from ironic_lite.common import context
from ironic_lite.common import exception
from ironic_lite.conf import CONF
from tests import base
from tests.unit.api.base import APIFixtures

LATEST = {versions.VERSION_HEADER: 'latest'}


def htpasswd_line(username: str, password: str) -> str:
    # The lowest cost bcrypt allows: the tests check the logic, not the
    # hash's strength.
    hashed = bcrypt.hashpw(password.encode('utf-8'), bcrypt.gensalt(4))
    return '%s:%s\n' % (username, hashed.decode('ascii'))


def basic(username, password) -> dict:
    if isinstance(username, str):
        username = username.encode('utf-8')
    if isinstance(password, str):
        password = password.encode('utf-8')
    token = base64.b64encode(username + b':' + password).decode('ascii')
    return dict(LATEST, Authorization='Basic ' + token)


class AuthTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        fixtures = APIFixtures(self.useFixture)
        self.user_file = os.path.join(fixtures.conf.state_path, 'htpasswd')

    def write_users(self, *lines: str) -> None:
        with open(self.user_file, 'w') as f:
            f.writelines(lines)

    def make_app(self, strategy: str) -> webtest.TestApp:
        self.config(auth_strategy=strategy,
                    http_basic_auth_user_file=self.user_file)
        return webtest.TestApp(app.setup_app())

    def assert_request_id(self, response) -> None:
        self.assertRegex(response.headers['X-OpenStack-Request-Id'],
                         request_id.ID_FORMAT)
        self.assertEqual(response.headers['X-OpenStack-Request-Id'],
                         response.headers['Openstack-Request-Id'])


class TestHTTPBasic(AuthTestCase):

    def setUp(self):
        super().setUp()
        self.write_users('# operators\n', '\n',
                         htpasswd_line('admin', 'secret'),
                         htpasswd_line('other', 'pass:with:colons'))
        self.app = self.make_app('http_basic')

    def assert_refused(self, response, code: int, message: str) -> None:
        self.assertEqual('application/json', response.content_type)
        self.assertEqual({'error': {'message': message, 'code': code}},
                         response.json)
        self.assert_request_id(response)
        if code == 401:
            self.assertEqual('Basic realm="Baremetal API"',
                             response.headers['WWW-Authenticate'])
        else:
            self.assertNotIn('WWW-Authenticate', response.headers)

    def test_version_documents_are_public(self):
        for path in ('/', '/v1', '/v1/'):
            response = self.app.get(path, headers=LATEST)
            self.assertEqual(200, response.status_int, path)
            self.assert_request_id(response)

    def test_everything_else_needs_credentials(self):
        for path in ('/v1/conductors', '/v1/nodes', '/v1/drivers',
                     '/v1/ports', '/v1/nodes/detail', '/v1x', '/v1/v1',
                     '//v1/nodes', '/nope'):
            response = self.app.get(path, headers=LATEST, status=401)
            self.assert_refused(response, 401, 'Authorization required')
        response = self.app.post_json('/v1/nodes', {'driver': 'ipmi'},
                                      headers=LATEST, status=401)
        self.assert_refused(response, 401, 'Authorization required')

    def test_good_credentials(self):
        response = self.app.get('/v1/conductors',
                                headers=basic('admin', 'secret'))
        self.assertEqual(1, len(response.json['conductors']))
        self.assert_request_id(response)
        node = self.app.post_json('/v1/nodes', {'driver': 'fake-hardware'},
                                  headers=basic('other', 'pass:with:colons'),
                                  status=201).json
        self.app.get('/v1/nodes/%s' % node['uuid'],
                     headers=basic('admin', 'secret'))

    def test_wrong_password_and_unknown_user(self):
        for headers in (basic('admin', 'Secret'), basic('admin', ''),
                        basic('nobody', 'secret'), basic('', 'secret'),
                        basic('admin', 'x' * 100),
                        basic('admin', 'sec\0ret'),
                        basic('other', 'pass')):
            response = self.app.get('/v1/conductors', headers=headers,
                                    status=401)
            self.assert_refused(response, 401,
                                'Incorrect username or password')

    def test_malformed_authorization_header(self):
        def token(raw: bytes) -> str:
            return 'Basic ' + base64.b64encode(raw).decode('ascii')

        cases = [
            ('Basic', 'Could not parse Authorization header'),
            ('  Basic   ', 'Could not parse Authorization header'),
            ('Bearer abc', 'Unsupported authorization type "Bearer"'),
            ('Digest username="admin"',
             'Unsupported authorization type "Digest"'),
            ('Basic !!!!', 'Could not decode authorization token'),
            ('Basic YWRtaW4', 'Could not decode authorization token'),
            ('Basic é', 'Could not decode authorization token'),
            (token(b'no-colon'), 'Could not decode authorization token'),
            (token(b'\xff\xfe:secret'),
             'Could not decode authorization token'),
        ]
        for header, message in cases:
            response = self.app.get(
                '/v1/conductors', status=400,
                headers=dict(LATEST, Authorization=header))
            self.assert_refused(response, 400, message)
        # The scheme is case-insensitive, as HTTP says.
        self.app.get('/v1/conductors', headers=dict(
            LATEST, Authorization=basic('admin', 'secret')[
                'Authorization'].replace('Basic', 'bAsIc')))

    def test_user_file_is_read_on_each_request(self):
        self.app.get('/v1/conductors', headers=basic('new', 'pw'),
                     status=401)
        with open(self.user_file, 'a') as f:
            f.write(htpasswd_line('new', 'pw'))
        self.app.get('/v1/conductors', headers=basic('new', 'pw'))

    def test_unreadable_user_file_is_a_server_error(self):
        os.unlink(self.user_file)
        response = self.app.get('/v1/conductors',
                                headers=basic('admin', 'secret'),
                                status=500)
        self.assertEqual({'error': {'message':
                                    'Problem reading auth user file',
                                    'code': 500}}, response.json)


class TestMetricsBehindAuth(AuthTestCase):
    """/metrics needs credentials, unless [api]metrics_public."""

    def setUp(self):
        super().setUp()
        self.write_users(htpasswd_line('admin', 'secret'))

    def test_protected_by_default(self):
        self.make_app('http_basic').get('/metrics', status=401)

    def test_public_when_configured(self):
        self.config(metrics_public=True, group='api')
        response = self.make_app('http_basic').get('/metrics')
        self.assertIn('ironic_lite_conductor_up', response.text)


class TestBasicAuthMiddleware(AuthTestCase):
    """What the middleware hands to the application."""

    def setUp(self):
        super().setUp()
        self.write_users(htpasswd_line('admin', 'secret'))
        self.environs = []

        def application(environ, start_response):
            self.environs.append(dict(environ))
            start_response('200 OK', [('Content-Type', 'text/plain')])
            return [b'ok']

        self.app = webtest.TestApp(
            basic_auth.BasicAuthMiddleware(application, self.user_file))

    def test_identity_replaces_what_the_client_claims(self):
        headers = basic('admin', 'secret')
        headers.update({'X-Roles': 'admin', 'X-User-Id': 'mallory',
                        'X-Project-Id': 'p', 'X-Identity-Status':
                        'Confirmed', 'OpenStack-System-Scope': 'all'})
        self.app.get('/v1/nodes', headers=headers)
        environ = self.environs[0]
        self.assertEqual('admin', environ['HTTP_X_USER'])
        self.assertEqual('admin', environ['HTTP_X_USER_NAME'])
        for key in ('HTTP_AUTHORIZATION', 'HTTP_X_ROLES', 'HTTP_X_USER_ID',
                    'HTTP_X_PROJECT_ID', 'HTTP_X_IDENTITY_STATUS',
                    'HTTP_OPENSTACK_SYSTEM_SCOPE'):
            self.assertNotIn(key, environ)
        ctx = context.RequestContext.from_environ(environ)
        self.assertEqual('admin', ctx.user_id)
        self.assertEqual('admin', ctx.user_name)
        self.assertEqual([], ctx.roles)
        self.assertIsNone(ctx.project_id)

    def test_broken_user_files_stop_the_start(self):
        self.assertRaises(exception.ConfigInvalid,
                          basic_auth.BasicAuthMiddleware, None,
                          self.user_file + '.missing')
        self.write_users('admin:{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc=\n')
        error = self.assertRaises(exception.ConfigInvalid,
                                  basic_auth.BasicAuthMiddleware, None,
                                  self.user_file)
        self.assertIn('Only bcrypt digested passwords are supported for '
                      'admin', str(error))
        self.write_users('just-a-name\n')
        self.assertRaises(exception.ConfigInvalid,
                          basic_auth.read_user_file, self.user_file)

    def test_first_entry_of_a_user_wins(self):
        self.write_users(htpasswd_line('admin', 'first'),
                         htpasswd_line('admin', 'second'))
        self.app.get('/', headers=basic('admin', 'first'))
        self.app.get('/', headers=basic('admin', 'second'), status=401)


class TestKeystone(AuthTestCase):

    WWW_AUTHENTICATE_URI = 'http://127.0.0.1:1/identity/v3'

    def setUp(self):
        super().setUp()
        for group, opts in auth_token.list_opts():
            CONF.register_opts(opts, group=group)
        self.config(group='keystone_authtoken',
                    www_authenticate_uri=self.WWW_AUTHENTICATE_URI,
                    delay_auth_decision=False)
        self.app = self.make_app('keystone')

    def test_auth_token_is_in_the_pipeline(self):
        pipeline = self.app.app
        self.assertIsInstance(pipeline, app.RequestId)
        self.assertIsInstance(pipeline.application, metrics.RequestMetrics)
        public_routes = pipeline.application.app
        self.assertIsInstance(public_routes, auth.PublicRoutes)
        self.assertIsInstance(public_routes.auth, auth_token.AuthProtocol)
        self.assertIs(public_routes.app, public_routes.auth._app)
        self.assertEqual(self.WWW_AUTHENTICATE_URI,
                         public_routes.auth._www_authenticate_uri)

    def test_version_documents_are_public(self):
        for path in ('/', '/v1', '/v1/'):
            self.app.get(path, headers=LATEST)

    def test_no_token_is_refused_without_asking_keystone(self):
        response = self.app.get('/v1/conductors', headers=LATEST,
                                status=401)
        self.assertEqual('Keystone uri="%s"' % self.WWW_AUTHENTICATE_URI,
                         response.headers['WWW-Authenticate'])
        self.assertEqual(401, response.json['error']['code'])
        self.assertEqual('Unauthorized', response.json['error']['title'])
        self.assert_request_id(response)


class TestNoauth(AuthTestCase):

    def test_every_path_is_open_and_context_is_admin(self):
        test_app = self.make_app('noauth')
        self.assertIsInstance(test_app.app.application.app,
                              parsable_error.ParsableErrorMiddleware)
        response = test_app.get('/v1/conductors', headers=dict(
            LATEST, **{'X-Auth-Token': 'notused'}))
        self.assert_request_id(response)

    def test_a_valid_inbound_request_id_becomes_the_global_one(self):
        test_app = self.make_app('noauth')
        inbound = context.new_request_id()
        response = test_app.get('/v1', headers={
            'X-OpenStack-Request-Id': inbound})
        self.assertNotEqual(inbound,
                            response.headers['X-OpenStack-Request-Id'])


class TestOpenDoor(base.TestCase):

    def test_loopback_addresses(self):
        for host in ('127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost',
                     'LOCALHOST', 'localhost.', '::ffff:127.0.0.1'):
            self.assertTrue(auth.is_loopback(host), host)
        for host in ('0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::2',
                     'example.com', 'localhost.example.com', '',
                     '::ffff:10.0.0.1'):
            self.assertFalse(auth.is_loopback(host), host)

    def test_noauth_refuses_a_remote_address(self):
        self.assertIsNone(auth.open_door_reason('127.0.0.1'))
        reason = auth.open_door_reason('0.0.0.0')
        self.assertIn('Refusing to listen on 0.0.0.0', reason)
        self.assertIn('[api]allow_unauthenticated_remote = true', reason)
        self.assertIn('[DEFAULT]auth_strategy is noauth', reason)

    def test_override_and_other_strategies_may_listen_anywhere(self):
        self.config(allow_unauthenticated_remote=True, group='api')
        self.assertIsNone(auth.open_door_reason('0.0.0.0'))
        self.config(allow_unauthenticated_remote=False, group='api')
        for strategy in ('http_basic', 'keystone'):
            self.config(auth_strategy=strategy)
            self.assertIsNone(auth.open_door_reason('0.0.0.0'))

    def test_commands_exit_before_listening(self):
        self.config(host_ip='0.0.0.0', group='api')
        error = self.assertRaises(SystemExit, common.refuse_unsafe_api)
        self.assertIn('allow_unauthenticated_remote', str(error.code))
        self.config(host_ip='127.0.0.1', group='api')
        common.refuse_unsafe_api()
        self.config(auth_strategy='http_basic',
                    http_basic_auth_user_file='/nonexistent/htpasswd')
        error = self.assertRaises(SystemExit, common.refuse_unsafe_api)
        self.assertIn('[DEFAULT]http_basic_auth_user_file', str(error.code))
        self.assertIn('/nonexistent/htpasswd', str(error.code))



class TestAuthMiddlewareFailure(AuthTestCase):

    def test_a_crash_of_the_middleware_is_an_opaque_500(self):
        def crashing(environ, start_response):
            raise RuntimeError('internal endpoint for identity service not '
                               'found')

        def application(environ, start_response):
            raise AssertionError('must not be reached')

        test_app = webtest.TestApp(app.RequestId(
            auth.PublicRoutes(application, crashing)))
        response = test_app.get('/v1/nodes', status=500)
        self.assertEqual('Server', json.loads(
            response.json['error_message'])['faultcode'])
        self.assertNotIn('identity', response.text)
        self.assert_request_id(response)
