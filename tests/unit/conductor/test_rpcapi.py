"""A node as a conductor answers with it, through a broker's JSON."""

import datetime
import json

import testtools

from ironic_lite.conductor import rpcapi
from ironic_lite.db.sqlalchemy import models

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
