"""The fast read path of nodes (plain rows, stored JSON passed on, orjson)
answers exactly what rendering the node objects answers."""

import json
import types

import sqlalchemy as sa

from ironic_lite.api import versions
from ironic_lite.api.controllers.v1 import node as node_api
from ironic_lite.common import context
from ironic_lite.db.sqlalchemy import models
from tests.unit.api import base


class TestNodeReads(base.APITestCase):

    def store(self, uuid: str, **documents) -> None:
        """Write documents straight to the database (None: SQL NULL)."""
        with self.dbapi.engine.begin() as connection:
            connection.execute(
                models.Node.__table__.update()
                .where(models.Node.__table__.c.uuid == uuid)
                .values(**documents))

    def rendered_from_objects(self, uuid: str) -> dict:
        """The node as the ORM object renderer shows it, through the JSON
        encoding WSME uses."""
        request = types.SimpleNamespace(
            environ={}, context=context.get_admin_context(),
            host_url='http://localhost',
            version=versions.MAX_MINOR,
            ring_manager=self.conductor.ring_manager)
        row = self.dbapi.get_node_by_uuid(uuid)
        return json.loads(json.dumps(node_api.full(request, row)))

    def test_show_and_detail_equal_the_object_rendering(self):
        node = self.create_node(name='node-0')
        self.store(node['uuid'],
                   driver_info={'ipmi_address': '192.0.2.1',
                                'ipmi_password': 'p', 'port': 2 ** 70,
                                'nested': {
                                    'auth_token': 't', 'x': 'password=z'},
                                'ssh_key_contents': 'KEY',
                                # A key only lower() makes a secret one.
                                'to\u212aen': 'kelvin', 'caf\u00e9': 1},
                   instance_info={'image_url': 'http://secret',
                                  'root_gb': 10},
                   properties={'cpus': 8, 'big': 2 ** 70,
                               'nested': {'a': [1, 2.5, None, True]}},
                   extra={'\u00e9t\u00e9': 'caf\u00e9', 'q': '"\\'},
                   traits=['CUSTOM_A'])
        expected = self.rendered_from_objects(node['uuid'])
        shown = self.get('/v1/nodes/%s' % node['uuid']).json
        self.assertEqual(expected, shown)
        self.assertEqual('******', shown['driver_info']['ipmi_password'])
        self.assertEqual('******', shown['driver_info']['to\u212aen'])
        self.assertEqual('******', shown['driver_info']['ssh_key_contents'])
        self.assertEqual('******', shown['instance_info']['image_url'])
        self.assertEqual(2 ** 70, shown['properties']['big'])
        self.assertEqual(2 ** 70, shown['driver_info']['port'])
        detail = self.get('/v1/nodes/detail').json['nodes']
        self.assertEqual([expected], detail)
        listed = self.get('/v1/nodes?detail=True').json['nodes']
        self.assertEqual([expected], listed)

    def test_documents_without_secrets_are_passed_on(self):
        node = self.create_node()
        self.store(node['uuid'], driver_info={'ipmi_address': 'a'},
                   instance_info={'root_gb': 10})
        self.store(node['uuid'], extra=None, traits=None)
        shown = self.get('/v1/nodes/%s?fields=driver_info,instance_info,'
                         'extra,traits' % node['uuid']).json
        self.assertEqual({'ipmi_address': 'a'}, shown['driver_info'])
        self.assertEqual({'root_gb': 10}, shown['instance_info'])
        self.assertEqual({}, shown['extra'])
        self.assertEqual([], shown['traits'])

    def test_a_sqlite_file_keeps_its_connections(self):
        self.assertIsInstance(self.dbapi.engine.pool, sa.pool.QueuePool)
