"""Process set-up shared by the console scripts."""

import ctypes
import os
import subprocess
import sys
from unittest import mock

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
