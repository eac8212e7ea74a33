"""The all-in-one's in-process RPC transport."""

import threading
from unittest import mock

import oslo_messaging as messaging

from ironic_lite.common import context
from ironic_lite.common import exception
from ironic_lite.common import inproc_rpc
from ironic_lite.common import rpc
from ironic_lite.conf import CONF
from tests import base


class _Endpoint:
    target = messaging.Target(version='1.0')

    def __init__(self):
        self.casts = threading.Event()

    def echo(self, ctxt, value):
        return {'value': value, 'request_id': ctxt.request_id}

    def fail(self, ctxt):
        raise exception.NodeNotFound(node='n1')

    def note(self, ctxt):
        self.casts.set()


class InProcessTransportTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(base.ConfFixture())
        rpc.init('fake://')
        self.addCleanup(rpc.cleanup)
        self.endpoint = _Endpoint()
        target = messaging.Target(topic='t', server='s1')
        self.server = rpc.get_server(target, [self.endpoint])
        self.server.start()
        self.addCleanup(self.server.wait)
        self.addCleanup(self.server.stop)
        self.client = rpc.get_client(messaging.Target(topic='t',
                                                      version='1.0'))
        self.context = context.RequestContext()

    def test_fake_urls_get_the_in_process_driver(self):
        self.assertIsInstance(rpc.transport()._driver, inproc_rpc._Driver)
        self.assertTrue(inproc_rpc.is_inproc(CONF, 'fake://'))
        self.assertFalse(inproc_rpc.is_inproc(
            CONF, 'rabbit://guest:guest@127.0.0.1:5672/'))

    def test_calls_casts_and_errors_cross_without_a_blind_sleep(self):
        # The fake driver's listener sleeps 50 ms between looks at its
        # queues; this one waits for the message.
        with mock.patch.object(inproc_rpc.impl_fake.time, 'sleep',
                               side_effect=AssertionError('slept')):
            for i in range(20):
                answer = self.client.prepare(server='s1').call(
                    self.context, 'echo', value=i)
                self.assertEqual({'value': i,
                                  'request_id': self.context.request_id},
                                 answer)
            self.assertRaises(exception.NodeNotFound,
                              self.client.prepare(server='s1').call,
                              self.context, 'fail')
            self.client.prepare(server='s1').cast(self.context, 'note')
            self.assertTrue(self.endpoint.casts.wait(10))

    def test_topic_calls_reach_a_server(self):
        self.assertEqual(3, self.client.call(self.context, 'echo',
                                             value=3)['value'])
