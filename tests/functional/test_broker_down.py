"""RabbitMQ out of reach: the conductor waits for it, saying so; the API
still answers reads and refuses work needing a conductor with 503."""

import json
import re
import signal

from oslo_utils import timeutils

from tests import services
from tests.base import wait_for
from tests.functional import base

# Nothing listens on port 1 of the loopback.
UNREACHABLE_BROKER = 'rabbit://guest:guest@127.0.0.1:1/'


class TestBrokerUnreachable(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.cluster = self.start_cluster(services.POSTGRES_URL,
                                          UNREACHABLE_BROKER)

    def test_conductor_waits_and_api_answers_503(self):
        conductor = self.cluster.start_conductor('c1', wait=False)
        conductor.wait_for_line(re.compile(
            r'Connection failed: .*retrying in'))
        self.cluster.start_api()

        response = self.cluster.get('/v1/nodes')
        self.assertEqual(200, response.status_code)
        self.assertEqual({'nodes': []}, response.json())
        response = self.cluster.get('/v1/conductors')
        self.assertEqual(200, response.status_code)

        # Without the broker the conductor cannot take work, so it is not
        # in the hash ring yet.
        self.assert_503('No conductor is alive')

        # A conductor that registered before the broker went away: the API
        # finds it in the ring, and the broker out of reach.
        self.cluster.execute(
            "INSERT INTO conductors (hostname, drivers, online, "
            "conductor_group, created_at, updated_at) VALUES ('earlier', "
            "'[\"fake-hardware\"]', :yes, '', :now, :now)",
            yes=True, now=timeutils.utcnow())
        self.cluster.execute(
            "INSERT INTO conductor_hardware_interfaces (conductor_id, "
            "hardware_type, interface_type, interface_name, \"default\", "
            "created_at) SELECT id, 'fake-hardware', 'power', 'fake', :yes, "
            ":now FROM conductors WHERE hostname = 'earlier'",
            yes=True, now=timeutils.utcnow())
        # (The API reads its rings again on such a miss, once a second.)
        wait_for(lambda: 'The message broker is unavailable' in
                 self.fault_503(), timeout=5,
                 message='the API to see the conductor')
        self.assertEqual({'nodes': []}, self.cluster.get('/v1/nodes').json())

        # Still waiting for the broker, it stops cleanly when asked to.
        self.assertEqual(0, self.cluster.stop('c1', signal.SIGTERM))
        self.assertFalse(self.cluster.alive()[self.cluster.hostname('c1')])

    def fault_503(self) -> str:
        """Create a node: refused with 503 in Ironic's format; why."""
        response = self.cluster.request(
            'POST', '/v1/nodes', json={'driver': 'fake-hardware'})
        self.assertEqual(503, response.status_code, response.text)
        self.assertEqual('application/json',
                         response.headers['Content-Type'])
        fault = json.loads(response.json()['error_message'])
        self.assertEqual('Server', fault['faultcode'])
        self.assertNotIn('Traceback', response.text)
        return fault['faultstring']

    def assert_503(self, message: str) -> None:
        self.assertIn(message, self.fault_503())
