"""Process set-up shared by the console scripts."""

import ctypes
import os
import subprocess
import sys
from unittest import mock

import fixtures
import testtools

from ironic_lite.common import startup

# Whether a fresh process tunes malloc (mallopt's answers: glibc has no
# call to read the parameters back).
_PROBE = ('from ironic_lite.common import startup; '
          'print(startup.tune_malloc())')


def _probe(**environ) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in startup._MALLOC_ENVIRONMENT}
    env.update(environ)
    return subprocess.run([sys.executable, '-c', _PROBE], env=env,
                          capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()


class TuneMallocTest(testtools.TestCase):

    def test_glibc_is_tuned(self):
        if not hasattr(ctypes.CDLL(None), 'gnu_get_libc_version'):
            self.skipTest('not glibc')
        self.assertEqual('True', _probe())

    def test_the_environment_tuning_malloc_wins(self):
        for name in startup._MALLOC_ENVIRONMENT:
            self.assertEqual('False', _probe(**{name: '4'}), name)

    def test_another_c_library_is_left_alone(self):
        with mock.patch.dict(os.environ, clear=False) as environ:
            for name in startup._MALLOC_ENVIRONMENT:
                environ.pop(name, None)
            with mock.patch('ctypes.CDLL', return_value=object()):
                self.assertFalse(startup.tune_malloc())


class AllInOneImportsTest(testtools.TestCase):
    """What a serving all-in-one must not carry (memory, start time)."""

    def test_noauth_all_in_one_imports_no_keystone(self):
        probe = ('import sys; '
                 'from ironic_lite.cmd import all_in_one; '
                 'from ironic_lite.api import app; '
                 'from ironic_lite.conductor import service; '
                 'app.setup_app(); '
                 'print(sorted(m for m in sys.modules if m.split(".")[0] in '
                 '("keystonemiddleware", "keystoneauth1")))')
        out = subprocess.run([sys.executable, '-c', probe],
                             capture_output=True, text=True, check=True,
                             timeout=120).stdout.strip().splitlines()
        self.assertEqual('[]', out[-1])


def _run_apart_probe(body: str) -> subprocess.CompletedProcess:
    """``body`` run by a fresh process that has ``startup`` imported and
    ``apart(function)`` calling ``startup.run_apart(function, 'Probe')``;
    what it prints, its status."""
    probe = ('import os, signal, sys\n'
             'from ironic_lite.common import startup\n'
             'def apart(function):\n'
             '    return startup.run_apart(function, "Probe")\n' + body)
    return subprocess.run([sys.executable, '-c', probe], capture_output=True,
                          text=True, timeout=120)


class RunApartTest(testtools.TestCase):
    """What a serving process does once runs in a child forked for it."""

    def test_what_it_imports_stays_in_the_child(self):
        out = _run_apart_probe(
            'status = apart(lambda: __import__("alembic.command"))\n'
            'print(status, "alembic" in sys.modules)\n')
        self.assertEqual('0 False', out.stdout.strip(), out.stderr)

    def test_its_exit_status_is_given_back(self):
        out = _run_apart_probe(
            'print(apart(lambda: sys.exit(3)), apart(lambda: sys.exit()))\n'
            'print(apart(lambda: sys.exit("The schema is old")))\n')
        self.assertEqual(['3 0', '1'], out.stdout.split('\n')[:2],
                         out.stderr)
        self.assertIn('The schema is old', out.stderr)

    def test_an_error_is_logged_and_fails(self):
        out = _run_apart_probe(
            'def fail():\n'
            '    raise ValueError("no such revision")\n'
            'print(apart(fail))\n')
        self.assertEqual('1', out.stdout.strip(), out.stderr)
        self.assertIn('Probe failed', out.stderr)
        self.assertIn('ValueError: no such revision', out.stderr)

    def test_a_child_killed_fails(self):
        out = _run_apart_probe(
            'print(apart(lambda: os.kill(os.getpid(), signal.SIGKILL)))\n')
        self.assertEqual('1', out.stdout.strip(), out.stderr)
        self.assertIn('Probe failed: its process was killed by signal 9',
                      out.stderr)

    def test_runs_here_while_another_thread_runs(self):
        # (A fork would copy this thread only, and the locks the others
        # hold stay held in the child.)
        calls = []
        with mock.patch.object(startup, 'single_threaded',
                               return_value=False):
            status = startup.run_apart(lambda: calls.append(os.getpid()),
                                       'Probe')
        self.assertEqual((0, [os.getpid()]), (status, calls))

    def test_a_schema_not_the_newest_is_refused(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'old.sqlite')
        out = _run_apart_probe(
            'from ironic_lite.conf import CONF\n'
            'CONF([], project="ironic-lite")\n'
            'CONF.set_override("connection", "sqlite:///%s", "database")\n'
            'try:\n'
            '    startup.require_current_schema()\n'
            'except SystemExit as e:\n'
            '    print("exit", e.code, "alembic" in sys.modules)\n' % path)
        self.assertEqual('exit 1 False', out.stdout.strip(), out.stderr)
        self.assertIn('The database schema is at revision none, this code '
                      'needs', out.stderr)
        self.assertIn('Run "ironic-lite-dbsync upgrade" first.', out.stderr)
