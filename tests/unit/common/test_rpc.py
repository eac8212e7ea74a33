"""The process's RPC transport."""

from ironic_lite.common import rpc
from tests import base


class TransportTest(base.TestCase):

    def tearDown(self):
        rpc.cleanup()
        super().tearDown()

    def test_cleanup_closes_and_forgets_the_transport(self):
        rpc.init('fake://')
        first = rpc.transport()
        rpc.cleanup()
        self.assertRaises(RuntimeError, rpc.transport)
        rpc.init('fake://')
        self.assertIsNot(first, rpc.transport())

    def test_cleanup_without_a_transport_does_nothing(self):
        rpc.cleanup()
        self.assertRaises(RuntimeError, rpc.transport)
