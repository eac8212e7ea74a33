"""``ironic_lite.api.wsgi:application``, as any WSGI server loads it."""

import os
import subprocess
import sys
import textwrap

import fixtures
import testtools

SCRIPT = textwrap.dedent('''
    import json
    import webtest
    from ironic_lite.api import wsgi
    app = webtest.TestApp(wsgi.application)
    response = app.get('/v1', headers={
        'X-OpenStack-Ironic-API-Version': 'latest'})
    print(response.status_int, response.headers[
        'X-OpenStack-Ironic-API-Version'])
    print(json.dumps(app.get('/v1/conductors', headers={
        'X-OpenStack-Ironic-API-Version': 'latest'}).json))
''')


class TestWSGIApplication(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.directory = self.useFixture(fixtures.TempDir()).path
        self.database = 'sqlite:///%s/wsgi.sqlite' % self.directory

    def run_app(self, **default) -> subprocess.CompletedProcess:
        config = os.path.join(self.directory, 'api.conf')
        with open(config, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n' % self.directory)
            for key, value in default.items():
                f.write('%s = %s\n' % (key, value))
            f.write('[database]\nconnection = %s\n' % self.database)
        env = dict(os.environ, IRONIC_LITE_CONFIG_FILES=config)
        return subprocess.run([sys.executable, '-c', SCRIPT], env=env,
                              capture_output=True, text=True, timeout=120)

    def test_application_reads_its_configuration_files(self):
        from ironic_lite.db import migration
        from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
        connection = db_sqlalchemy.Connection(self.database)
        migration.upgrade(engine=connection.engine)
        connection.dispose()
        result = self.run_app(transport_url='fake://')
        self.assertEqual(0, result.returncode, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual('200 1.49', lines[0])
        self.assertEqual('{"conductors": []}', lines[1])

    def test_application_needs_a_message_broker(self):
        result = self.run_app()
        self.assertNotEqual(0, result.returncode)
        self.assertIn('needs [DEFAULT]transport_url', result.stderr)
