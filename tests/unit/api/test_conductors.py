"""Conductor liveness as the API shows it, and a node's conductor."""

import datetime

from oslo_utils import timeutils

from tests.unit.api import base


class TestAlive(base.APITestCase):

    def register(self, hostname, group='', age=0):
        row = self.dbapi.register_conductor(
            hostname, group, ['fake-hardware'],
            take_over_if_older_than=timeutils.utcnow())
        self.dbapi.register_conductor_hardware_interfaces(row.id, [{
            'hardware_type': 'fake-hardware', 'interface_type': 'power',
            'interface_name': 'fake', 'default': True}])
        if age:
            with self.dbapi.engine.begin() as connection:
                connection.exec_driver_sql(
                    'UPDATE conductors SET updated_at = ? WHERE id = ?',
                    (timeutils.utcnow() - datetime.timedelta(seconds=age),
                     row.id))
        return row

    def alive(self, hostname):
        return self.get('/v1/conductors/%s' % hostname).json['alive']

    def test_heartbeat_within_the_timeout_is_alive(self):
        self.config(heartbeat_timeout=10, group='conductor')
        self.register('fresh', age=9)
        self.assertIs(True, self.alive('fresh'))

    def test_heartbeat_older_than_the_timeout_is_dead(self):
        self.config(heartbeat_timeout=10, group='conductor')
        self.register('old', age=30)
        self.assertIs(False, self.alive('old'))
        listed = self.get('/v1/conductors?fields=hostname,alive').json
        self.assertIn({'hostname': 'old', 'alive': False,
                       'links': listed['conductors'][1]['links']},
                      listed['conductors'])

    def test_unregistered_is_dead_at_once(self):
        self.register('leaving')
        self.dbapi.unregister_conductor('leaving')
        self.assertIs(False, self.alive('leaving'))
        self.assertEqual(0, self.get('/v1/conductors/leaving').json[
            'node_count'])

    def test_public_endpoint_in_links(self):
        self.config(public_endpoint='https://bm.example.com:6385',
                    group='api')
        links = self.get('/v1/conductors/test-conductor').json['links']
        self.assertEqual([
            {'href': 'https://bm.example.com:6385/v1/conductors/'
                     'test-conductor', 'rel': 'self'},
            {'href': 'https://bm.example.com:6385/conductors/test-conductor',
             'rel': 'bookmark'},
            {'href': 'https://bm.example.com:6385/v1/nodes?conductor='
                     'test-conductor', 'rel': 'nodes'}], links)


class TestNodeConductor(base.APITestCase):

    def test_conductor_of_a_node(self):
        node = self.create_node(name='n1')
        shown = self.get('/v1/nodes/n1/conductor').json
        self.assertEqual('test-conductor', shown['hostname'])
        self.assertIs(True, shown['alive'])
        self.assertEqual(1, shown['node_count'])
        by_uuid = self.get('/v1/nodes/%s/conductor' % node['uuid']).json
        # The heartbeat ages between the two requests.
        shown.pop('seconds_since_heartbeat')
        by_uuid.pop('seconds_since_heartbeat')
        self.assertEqual(shown, by_uuid)
        fields = self.get('/v1/nodes/n1/conductor?fields=hostname').json
        self.assertEqual({'hostname', 'links'}, set(fields))

    def test_node_nobody_serves(self):
        node = self.create_node(name='n1')
        self.dbapi.update_node(self.dbapi.get_node_by_name('n1').id,
                               {'conductor_group': 'nowhere'})
        response = self.get('/v1/nodes/n1/conductor', status=404)
        self.assertIn('No alive conductor can serve node %s'
                      % node['uuid'], self.fault(response))
        self.assertIsNone(self.get('/v1/nodes/n1').json['conductor'])

    def test_unknown_node_and_old_version(self):
        response = self.get('/v1/nodes/nope/conductor', status=404)
        self.assertEqual('Node nope could not be found.',
                         self.fault(response))
        self.create_node(name='n1')
        self.get('/v1/nodes/n1/conductor', version='1.48', status=404)
