"""The conductor RPC client: a node as a conductor answers with it,
through a broker's JSON; conductors of an earlier release."""

import datetime
import json
import types

import fixtures
import oslo_messaging as messaging
import testtools
from oslo_utils import uuidutils

from ironic_lite.common import context
from ironic_lite.common import states
from ironic_lite.conductor import rpcapi
from ironic_lite.db.sqlalchemy import models
from tests import base
from tests import services

_COLUMNS = [column.name for column in models.Node.__table__.columns]


class TestNodeOnTheWire(testtools.TestCase):

    def node(self, **values):
        row = dict.fromkeys(_COLUMNS)
        row.update(values)
        return type('Row', (), row)()

    def test_a_node_round_trips_through_json(self):
        node = self.node(
            id=7, uuid='1be26c0b-03f2-4d2d-ae87-c02d7f33c123',
            name='node-1', extra={'a': [1, 2.5, None, {'b': 'c'}]},
            traits=[], maintenance=True,
            created_at=datetime.datetime(2026, 12, 3, 1, 2, 3),
            updated_at=datetime.datetime(2026, 12, 3, 1, 2, 3, 456789),
            provision_updated_at=None)

        wire = json.loads(json.dumps(rpcapi.node_to_wire(node)))
        back = rpcapi.node_from_wire(wire)

        self.assertEqual({name: getattr(node, name) for name in _COLUMNS},
                         vars(back))
        self.assertEqual('2026-12-03T01:02:03.456789', wire['updated_at'])

    def test_an_answer_without_a_node(self):
        # What conductors answered before RPC 1.4: the caller reads.
        self.assertIsNone(rpcapi.node_from_wire(None))
        self.assertIsNone(rpcapi.node_from_wire(
            '1be26c0b-03f2-4d2d-ae87-c02d7f33c123'))


class TestConductorOfAnEarlierRelease(base.DBTestCase):
    """A conductor that speaks RPC 1.3 (its dispatcher refuses what is sent
    as 1.4), over the real broker, where its refusal comes back as a
    RemoteError: conductors and API services are upgraded one at a time.
    (tests/unit/api/test_nodes.py does the same through the API.)"""

    def setUp(self):
        super().setUp()
        if not services.tcp_open('127.0.0.1', 5672):
            services.unavailable(self, 'RabbitMQ is not running on '
                                 '127.0.0.1:5672')
        self.config(transport_url=services.RABBIT_URL)
        # A queue of its own: other test processes may use the broker.
        host = 'test-rpc-1-3-%s' % uuidutils.generate_uuid()
        self.config(host=host)
        conductor = self.useFixture(base.ConductorFixture(
            host=host, transport_url=services.RABBIT_URL)).service
        self.useFixture(fixtures.MockPatchObject(
            conductor._endpoint, 'target', messaging.Target(version='1.3')))
        self.rpcapi = rpcapi.get_api()
        self.context = context.get_admin_context()

    def test_create_and_update(self):
        uuid = uuidutils.generate_uuid()
        node = types.SimpleNamespace(uuid=uuid, driver='fake-hardware',
                                     conductor_group='')
        # Sent as 1.4 first, refused, then as 1.0: no node in the answer.
        self.assertIsNone(self.rpcapi.create_node(
            self.context, node, dict(vars(node), name='node-1',
                                     provision_state=states.ENROLL)))
        row = self.dbapi.get_node_by_uuid(uuid)
        self.assertEqual('node-1', row.name)

        updated = self.rpcapi.update_node(self.context, node,
                                          {'extra': {'a': 1}})
        self.assertEqual({'a': 1}, updated.extra)
        self.assertEqual({'a': 1}, self.dbapi.get_node_by_uuid(uuid).extra)

    def test_a_refusal_is_a_remote_error(self):
        # What the fallback above relies on over a broker.
        host = self.rpcapi.get_conductor_for(types.SimpleNamespace(
            uuid=uuidutils.generate_uuid(), driver='fake-hardware',
            conductor_group=''))
        e = self.assertRaises(
            messaging.RemoteError, self.rpcapi._call, self.context, host,
            'destroy_node', version='1.4',
            node_uuid=uuidutils.generate_uuid())
        self.assertEqual('UnsupportedVersion', e.exc_type)
