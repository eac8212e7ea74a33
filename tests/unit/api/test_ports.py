"""/v1/ports on the wire where YAML would be clumsy: every field at every
version, paging, the node state rules, concurrent writes."""

import concurrent.futures
import urllib.parse

from oslo_utils import uuidutils

from ironic_lite.api.controllers.v1 import port as port_api
from tests.unit.api import base

# Every field of a port at 1.49, and the version that added it (Ironic
# 12.0's port API).
IRONIC_FIELD_SINCE = {
    'uuid': 1, 'address': 1, 'node_uuid': 1, 'extra': 1, 'created_at': 1,
    'updated_at': 1, 'internal_info': 18, 'local_link_connection': 19,
    'pxe_enabled': 19, 'portgroup_uuid': 24, 'physical_network': 34}
SAMPLE_VALUES = {
    'internal_info': {}, 'local_link_connection': {},
    'pxe_enabled': False, 'portgroup_uuid': None,
    'physical_network': 'physnet1'}
NOT_ACCEPTABLE = 'Request not acceptable.'


def _visible_at(minor: int) -> set:
    return {name for name, since in IRONIC_FIELD_SINCE.items()
            if since <= minor}


class PortTestCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.node = self.create_node(name='node-0')

    def make_port(self, address, node_uuid=None, version='latest',
                  **values) -> dict:
        values.update(address=address,
                      node_uuid=node_uuid or self.node['uuid'])
        return self.post_json('/v1/ports', values, version=version).json

    def set_node(self, **values) -> None:
        """Node states the API cannot set yet, written to the database."""
        row = self.dbapi.get_node_by_uuid(self.node['uuid'])
        self.dbapi.update_node(row.id, values)


class TestFields(PortTestCase):

    def test_the_field_table_is_ironics(self):
        self.assertEqual(
            IRONIC_FIELD_SINCE,
            {name: int(field.since or 1)
             for name, field in port_api.FIELDS.items()})

    def test_show_and_detail_at_every_version(self):
        created = self.make_port('52:54:00:00:00:01')
        for minor in range(1, 50):
            version = '1.%d' % minor
            expected = _visible_at(minor) | {'links'}
            shown = self.get('/v1/ports/%s' % created['uuid'],
                             version=version).json
            self.assertEqual(expected, set(shown), version)
            detail = self.get('/v1/ports/detail', version=version).json
            self.assertEqual(expected, set(detail['ports'][0]), version)
            listed = self.get('/v1/ports', version=version).json
            self.assertEqual({'uuid', 'address', 'links'},
                             set(listed['ports'][0]), version)

    def test_newer_fields_refused_below_their_version(self):
        created = self.make_port('52:54:00:00:00:01')
        for name, since in IRONIC_FIELD_SINCE.items():
            if since == 1:
                continue
            below = '1.%d' % max(since - 1, 8)
            if since <= 8:
                continue
            response = self.get('/v1/ports?fields=%s' % name,
                                version=below, status=406)
            self.assertEqual(NOT_ACCEPTABLE, self.fault(response), name)
            response = self.get('/v1/ports/%s?fields=%s'
                                % (created['uuid'], name),
                                version=below, status=406)
            self.assertEqual(NOT_ACCEPTABLE, self.fault(response), name)
            response = self.get('/v1/ports?sort_key=%s' % name,
                                version=below, status=406)
            self.assertEqual(NOT_ACCEPTABLE, self.fault(response), name)
            if name == 'internal_info':
                continue  # read-only at any version
            response = self.post_json(
                '/v1/ports', {'address': '52:54:00:00:00:99',
                              'node_uuid': self.node['uuid'],
                              name: SAMPLE_VALUES[name]},
                version=below, status=406)
            self.assertEqual(NOT_ACCEPTABLE, self.fault(response), name)
            response = self.patch_json(
                '/v1/ports/%s' % created['uuid'],
                [{'op': 'replace', 'path': '/%s' % name,
                  'value': SAMPLE_VALUES[name]}], version=below,
                status=406)
            self.assertEqual(NOT_ACCEPTABLE, self.fault(response), name)

    def test_fields_selects(self):
        created = self.make_port('52:54:00:00:00:01')
        shown = self.get('/v1/ports/%s?fields=address,node_uuid'
                         % created['uuid']).json
        self.assertEqual({'address', 'node_uuid', 'links'}, set(shown))
        self.assertEqual(self.node['uuid'], shown['node_uuid'])
        response = self.get('/v1/ports?fields=uuid', version='1.7',
                            status=406)
        self.assertEqual(NOT_ACCEPTABLE, self.fault(response))
        response = self.get('/v1/ports?fields=uuid,spongebob', status=400)
        self.assertEqual('Field(s) "spongebob" are not valid',
                         self.fault(response))
        response = self.get('/v1/ports?detail=true', version='1.42',
                            status=400)
        self.assertEqual('Invalid query parameter ?detail=True received.',
                         self.fault(response))


class TestCreate(PortTestCase):

    def test_create_stores_the_mac_lowercase(self):
        response = self.app.post_json(
            '/v1/ports', {'address': '52:54:00:AB:CD:EF',
                          'node_uuid': self.node['uuid'],
                          'local_link_connection': {
                              'switch_id': '0a:1b:2c:3d:4e:5f',
                              'port_id': 'Ethernet3/1'},
                          'physical_network': 'physnet1',
                          'extra': {'rack': 'r14'}},
            headers=self.headers(), status=201)
        port = response.json
        self.assertEqual('http://localhost/v1/ports/%s' % port['uuid'],
                         response.location)
        self.assertEqual('52:54:00:ab:cd:ef', port['address'])
        self.assertTrue(port['pxe_enabled'])
        self.assertEqual({}, port['internal_info'])
        self.assertIsNone(port['portgroup_uuid'])
        self.assertEqual('physnet1', port['physical_network'])
        self.assertEqual(port, self.get('/v1/ports/%s' % port['uuid']).json)
        [row] = self.dbapi.get_ports_by_node_id(
            self.dbapi.get_node_by_uuid(self.node['uuid']).id)
        self.assertEqual('52:54:00:ab:cd:ef', row.address)

    def test_bad_macs(self):
        for bad in ('52-54-00-ab-cd-ef', '52:54:00:ab:cd', 'nope', 5,
                    '52:54:00:ab:cd:eg', None):
            response = self.post_json(
                '/v1/ports', {'address': bad,
                              'node_uuid': self.node['uuid']}, status=400)
            if bad is None:
                self.assertEqual("Invalid input for field/attribute address."
                                 " Value: 'None'. Mandatory field missing.",
                                 self.fault(response))
            else:
                self.assertEqual('Expected a MAC address but received %s.'
                                 % bad, self.fault(response))

    def test_duplicate_mac_is_409(self):
        self.make_port('52:54:00:00:00:01')
        response = self.post_json('/v1/ports', {
            'address': '52:54:00:00:00:01'.upper(),
            'node_uuid': self.node['uuid']}, status=409)
        self.assertEqual('A port with MAC address 52:54:00:00:00:01 already '
                         'exists.', self.fault(response))

    def test_unknown_node_is_400(self):
        node_uuid = uuidutils.generate_uuid()
        response = self.post_json('/v1/ports', {
            'address': '52:54:00:00:00:01', 'node_uuid': node_uuid},
            status=400)
        self.assertEqual('Node %s could not be found.' % node_uuid,
                         self.fault(response))

    def test_refusals(self):
        cases = [
            ({'address': '52:54:00:00:00:01'},
             "Invalid input for field/attribute node_uuid. Value: 'None'. "
             'Mandatory field missing.'),
            ({'address': '52:54:00:00:00:01', 'node_uuid': 'node-0'},
             'Expected a UUID but received node-0.'),
            ({'address': '52:54:00:00:00:01',
              'node_uuid': self.node['uuid'], 'internal_info': {}},
             "Invalid input for field/attribute internal_info. Value: '{}'. "
             'Cannot set read only field.'),
            ({'address': '52:54:00:00:00:01',
              'node_uuid': self.node['uuid'], 'colour': 'red'},
             'Unknown attribute for argument port: colour'),
            ({'address': '52:54:00:00:00:01',
              'node_uuid': self.node['uuid'],
              'portgroup_uuid': self.node['uuid']},
             'Portgroup %s could not be found.' % self.node['uuid']),
            ({'address': '52:54:00:00:00:01',
              'node_uuid': self.node['uuid'], 'physical_network': 'p' * 65},
             "Invalid input for field/attribute physical_network. Value: "
             "'%s'. Value should have a maximum character requirement of 64"
             % ('p' * 65)),
            ({'address': '52:54:00:00:00:01',
              'node_uuid': self.node['uuid'], 'pxe_enabled': 'maybe'},
             "Unrecognized value 'maybe', acceptable values are: '0', '1', "
             "'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"),
            ([], 'The request body must be a JSON object describing the '
                 'port.'),
        ]
        for body, message in cases:
            response = self.post_json('/v1/ports', body, status=400)
            self.assertEqual(message, self.fault(response), body)
        self.assertEqual([], self.get('/v1/ports').json['ports'])

    def test_concurrent_creates_of_one_mac(self):
        # On four nodes: the database, not a node lock, decides.
        nodes = [self.node['uuid']] + [
            self.create_node(name='node-%d' % i)['uuid'] for i in (1, 2, 3)]

        def create(node_uuid):
            return self.app.post_json(
                '/v1/ports', {'address': '52:54:00:00:00:42',
                              'node_uuid': node_uuid},
                headers=self.headers(), expect_errors=True)

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(create, nodes))
        statuses = sorted(response.status_int for response in responses)
        self.assertEqual([201, 409, 409, 409], statuses)
        for response in responses:
            if response.status_int == 409:
                self.assertEqual('A port with MAC address 52:54:00:00:00:42 '
                                 'already exists.', self.fault(response))
        self.assertEqual(1, len(self.get('/v1/ports').json['ports']))


class TestUpdateAndDelete(PortTestCase):

    def setUp(self):
        super().setUp()
        self.port = self.make_port('52:54:00:00:00:01')
        self.path = '/v1/ports/%s' % self.port['uuid']

    def test_patch(self):
        other = self.create_node(name='node-1')
        changed = self.patch_json(self.path, [
            {'op': 'replace', 'path': '/address',
             'value': '52:54:00:00:00:AA'},
            {'op': 'add', 'path': '/extra/rack', 'value': 'r1'},
            {'op': 'replace', 'path': '/pxe_enabled', 'value': False},
            {'op': 'replace', 'path': '/node_uuid', 'value': other['uuid']},
        ]).json
        self.assertEqual('52:54:00:00:00:aa', changed['address'])
        self.assertEqual({'rack': 'r1'}, changed['extra'])
        self.assertFalse(changed['pxe_enabled'])
        self.assertEqual(other['uuid'], changed['node_uuid'])
        self.assertIsNotNone(changed['updated_at'])
        self.assertEqual(changed, self.get(self.path).json)

    def test_patch_refusals(self):
        self.make_port('52:54:00:00:00:02')
        missing = uuidutils.generate_uuid()
        cases = [
            ([{'op': 'remove', 'path': '/address'}], 400,
             "'/address' is a mandatory attribute and can not be removed"),
            ([{'op': 'remove', 'path': '/node_uuid'}], 400,
             "'/node_uuid' is a mandatory attribute and can not be removed"),
            ([{'op': 'replace', 'path': '/internal_info', 'value': {}}], 400,
             "'/internal_info' is an internal attribute and can not be "
             'updated'),
            ([{'op': 'replace', 'path': '/uuid', 'value': missing}], 400,
             "'/uuid' is an internal attribute and can not be updated"),
            ([{'op': 'replace', 'path': '/address', 'value': 'x'}], 400,
             'Expected a MAC address but received x.'),
            ([{'op': 'replace', 'path': '/node_uuid', 'value': missing}],
             400, 'Node %s could not be found.' % missing),
            ([{'op': 'add', 'path': '/colour', 'value': 'red'}], 400,
             'Adding a new attribute (/colour) to the root of the resource '
             'is not allowed'),
            ([{'op': 'replace', 'path': '/address',
               'value': '52:54:00:00:00:02'}], 409,
             'A port with MAC address 52:54:00:00:00:02 already exists.'),
        ]
        for patch, status, message in cases:
            response = self.patch_json(self.path, patch, status=status)
            self.assertEqual(message, self.fault(response), patch)
        self.assertEqual(self.port, self.get(self.path).json)

    def test_address_of_an_active_node(self):
        self.set_node(provision_state='active')
        response = self.patch_json(self.path, [
            {'op': 'replace', 'path': '/address',
             'value': '52:54:00:00:00:03'}], status=409)
        self.assertEqual(
            'Cannot update hardware address for port %s as node %s is '
            'active or has instance UUID assigned'
            % (self.port['uuid'], self.node['uuid']), self.fault(response))
        # extra may change; in maintenance the address too.
        self.patch_json(self.path, [{'op': 'add', 'path': '/extra/a',
                                     'value': 1}])
        self.set_node(maintenance=True)
        self.patch_json(self.path, [
            {'op': 'replace', 'path': '/address',
             'value': '52:54:00:00:00:03'}])

    def test_connectivity_outside_the_states_that_allow_it(self):
        self.set_node(provision_state='available')
        response = self.patch_json(self.path, [
            {'op': 'replace', 'path': '/pxe_enabled', 'value': False}],
            status=409)
        self.assertEqual(
            'Port %s can not have any connectivity attributes '
            '(portgroup_id, pxe_enabled, local_link_connection, '
            'physical_network) updated unless node %s is in a enroll, '
            'inspecting, inspect wait, manageable state or in maintenance '
            'mode.' % (self.port['uuid'], self.node['uuid']),
            self.fault(response))
        self.set_node(provision_state='manageable')
        self.patch_json(self.path, [
            {'op': 'replace', 'path': '/pxe_enabled', 'value': False}])

    def test_inspecting_node_from_1_39(self):
        self.set_node(provision_state='inspecting')
        patch = [{'op': 'add', 'path': '/extra/a', 'value': 1}]
        response = self.patch_json(self.path, patch, status=409)
        self.assertEqual('Cannot update port "%s" on "%s" while it is in '
                         'state "inspecting".'
                         % (self.port['uuid'], self.node['uuid']),
                         self.fault(response))
        self.patch_json(self.path, patch, version='1.38')

    def test_locked_node_is_409(self):
        row = self.dbapi.get_node_by_uuid(self.node['uuid'])
        self.dbapi.reserve_node('other-conductor', row.id)
        response = self.patch_json(self.path, [
            {'op': 'add', 'path': '/extra/a', 'value': 1}], status=409)
        self.assertIn('is locked by host', self.fault(response))
        response = self.app.delete(self.path, headers=self.headers(),
                                   status=409)
        self.assertIn('is locked by host', self.fault(response))
        response = self.post_json('/v1/ports', {
            'address': '52:54:00:00:00:09', 'node_uuid': self.node['uuid']},
            status=409)
        self.assertIn('is locked by host', self.fault(response))
        self.dbapi.release_node('other-conductor', row.id)

    def test_delete(self):
        self.set_node(instance_uuid=uuidutils.generate_uuid())
        response = self.app.delete(self.path, headers=self.headers(),
                                   status=409)
        self.assertEqual('Cannot delete the port %s as node %s is active or '
                         'has instance UUID assigned'
                         % (self.port['uuid'], self.node['uuid']),
                         self.fault(response))
        self.set_node(instance_uuid=None)
        self.app.delete(self.path, headers=self.headers(), status=204)
        response = self.get(self.path, status=404)
        self.assertEqual('Port %s could not be found.' % self.port['uuid'],
                         self.fault(response))

    def test_deleting_the_node_deletes_its_ports(self):
        self.app.delete('/v1/nodes/node-0', headers=self.headers(),
                        status=204)
        self.get(self.path, status=404)


class TestLists(PortTestCase):

    def setUp(self):
        super().setUp()
        self.other = self.create_node(name='node-1')
        self.macs = ['52:54:00:00:00:%02x' % i for i in range(7)]
        for index, mac in enumerate(self.macs):
            self.make_port(mac, node_uuid=(self.node if index % 2
                                           else self.other)['uuid'])

    def pages(self, path) -> list[str]:
        seen = []
        while path:
            body = self.get(path).json
            seen += [item['address'] for item in body['ports']]
            next_url = body.get('next')
            path = None
            if next_url:
                split = urllib.parse.urlsplit(next_url)
                self.assertIn('limit=', split.query)
                path = split.path + '?' + split.query
        return seen

    def test_paging_with_filters(self):
        self.assertEqual(self.macs, self.pages('/v1/ports?limit=2'))
        self.assertEqual(self.macs[1::2],
                         self.pages('/v1/ports?node=node-0&limit=2'))
        self.assertEqual(
            list(reversed(self.macs[0::2])),
            self.pages('/v1/ports/detail?node_uuid=%s&limit=1&sort_key='
                       'address&sort_dir=desc' % self.other['uuid']))
        self.assertEqual(self.macs[1::2],
                         self.pages('/v1/nodes/node-0/ports?limit=1'))
        self.assertEqual(self.macs[1::2],
                         self.pages('/v1/nodes/node-0/ports/detail?limit=3'))
        body = self.get('/v1/ports?limit=2&fields=address,node_uuid').json
        self.assertIn('fields=address,node_uuid', body['next'])

    def test_address_filter(self):
        body = self.get('/v1/ports?address=52:54:00:00:00:03').json
        self.assertEqual(['52:54:00:00:00:03'],
                         [item['address'] for item in body['ports']])
        body = self.get('/v1/ports?address=52:54:00:00:00:03&node=node-1')
        self.assertEqual([], body.json['ports'])
        response = self.get('/v1/ports?address=zz', status=400)
        self.assertEqual('Expected a MAC address but received zz.',
                         self.fault(response))

    def test_filter_errors(self):
        response = self.get('/v1/ports?node=node-0', version='1.4',
                            status=406)
        self.assertEqual(NOT_ACCEPTABLE, self.fault(response))
        response = self.get('/v1/nodes/node-0/ports', version='1.4',
                            status=406)
        response = self.get('/v1/ports?node=node-9', status=404)
        self.assertEqual('Node node-9 could not be found.',
                         self.fault(response))
        response = self.get('/v1/ports?portgroup=pg', status=404)
        self.assertEqual('Portgroup pg could not be found.',
                         self.fault(response))
        response = self.get('/v1/ports?portgroup=pg', version='1.23',
                            status=406)
        response = self.get('/v1/ports?portgroup=pg&node=node-0',
                            status=403)
        self.assertEqual('Operation not permitted.', self.fault(response))
        missing = uuidutils.generate_uuid()
        response = self.get('/v1/ports?marker=%s' % missing, status=404)
        self.assertEqual('Port %s could not be found.' % missing,
                         self.fault(response))
        for key, message in (
                ('extra', 'The sort_key value extra is an invalid field for '
                          'sorting'),
                ('node_uuid', 'The sort_key value "node_uuid" is an invalid '
                              'field for sorting')):
            response = self.get('/v1/ports?sort_key=%s' % key, status=400)
            self.assertEqual(message, self.fault(response))

    def test_below_a_node_is_read_only(self):
        port = self.get('/v1/ports').json['ports'][0]
        node_ports = '/v1/nodes/node-0/ports'
        responses = [
            self.get('%s/%s' % (node_ports, port['uuid']), status=403),
            self.app.post_json(node_ports, {'address': '52:54:00:00:01:01'},
                               headers=self.headers(), status=403),
            self.patch_json('%s/%s' % (node_ports, port['uuid']), [],
                            status=403),
            self.app.delete('%s/%s' % (node_ports, port['uuid']),
                            headers=self.headers(), status=403),
        ]
        for response in responses:
            self.assertEqual('Operation not permitted.',
                             self.fault(response))
        response = self.get('/v1/nodes/node-9/ports', status=404)
        self.assertEqual('Node node-9 could not be found.',
                         self.fault(response))
