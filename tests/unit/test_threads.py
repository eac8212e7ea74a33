"""ironic-lite runs on threads: no eventlet, no monkey-patching."""

import importlib
import socket
import threading

import testtools
from oslo_service import backend

MODULES = ('ironic_lite.cmd.all_in_one', 'ironic_lite.cmd.api',
           'ironic_lite.cmd.conductor', 'ironic_lite.api.app',
           'ironic_lite.conductor.service', 'ironic_lite.conductor.rpcapi')


class TestThreads(testtools.TestCase):

    def test_nothing_is_monkey_patched(self):
        for name in MODULES:
            importlib.import_module(name)
        self.assertEqual(backend.BackendType.THREADING,
                         backend.get_backend_type())
        self.assertEqual('socket', socket.socket.__module__)
        self.assertEqual('threading', threading.Thread.__module__)
        try:
            from eventlet import patcher
        except ImportError:
            return
        for module in ('socket', 'thread', 'time', 'select', 'os'):
            self.assertFalse(patcher.is_monkey_patched(module), module)
