"""ironic-lite-dbsync, run as a process: main() registers its sub-command
on the global configuration and parses the command line, which must not
leak into the other tests of this process."""

import os
import subprocess
import sys

import fixtures
import sqlalchemy as sa

from ironic_lite.db import migration
from tests import base

_MAIN = ('import sys\n'
         'from ironic_lite.cmd import dbsync\n'
         'sys.exit(dbsync.main(sys.argv[1:]))\n')


class TestDBSync(base.TestCase):

    def setUp(self):
        super().setUp()
        directory = self.useFixture(fixtures.TempDir()).path
        self.url = 'sqlite:///' + os.path.join(directory, 'db.sqlite')
        self.config_file = os.path.join(directory, 'ironic-lite.conf')
        with open(self.config_file, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n'
                    '[database]\nconnection = %s\n' % (directory, self.url))
        self.engine = sa.create_engine(self.url)
        self.addCleanup(self.engine.dispose)

    def dbsync(self, *args, status=0) -> str:
        """Run the command; its standard output."""
        result = subprocess.run(
            [sys.executable, '-c', _MAIN, '--config-file', self.config_file,
             *args],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(status, result.returncode,
                         'stdout: %s\nstderr: %s'
                         % (result.stdout, result.stderr))
        return result.stdout if status == 0 else result.stderr

    def test_version_upgrade_and_create_schema(self):
        # One scenario: every run of the command costs a process start.
        self.assertEqual('none (empty database)\n', self.dbsync('version'))

        self.assertEqual('Database is at revision 0001\n',
                         self.dbsync('upgrade', '--revision', '0001'))
        self.assertEqual('0001', migration.version(self.engine))

        head = migration.head()
        self.assertEqual('Database is at revision %s\n' % head,
                         self.dbsync('upgrade'))
        self.assertEqual(head, migration.version(self.engine))
        self.assertIn('ring_position', {c['name'] for c in sa.inspect(
            self.engine).get_columns('nodes')})

        error = self.dbsync('create_schema', status=1)
        self.assertIn('already has a schema', error)
        self.assertIn('ironic-lite-dbsync upgrade', error)
        self.assertEqual(head, migration.version(self.engine))
