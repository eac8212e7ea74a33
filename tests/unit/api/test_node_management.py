"""Power, boot device, validation and maintenance of a node on the wire,
against a real in-process conductor."""

from oslo_utils import uuidutils

from ironic_lite.common import states
from ironic_lite.conductor import service
from tests.base import wait_for
from tests.unit.api import base
from tests.unit.conductor import test_power
from tests.unit.conductor.test_power import SimulatedPower


class ManagementTestCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        test_power.use_simulated_power(self)
        self.config(power_driver_grace=1, group='conductor')

    def put_json(self, path, body, version='latest', status=202):
        return self.app.put_json(path, body, headers=self.headers(version),
                                 status=status)

    def simulated_node(self, **values):
        """A node whose power is SimulatedPower, off."""
        node = self.create_node(**values)
        row = self.dbapi.get_node_by_uuid(node['uuid'])
        self.dbapi.update_node(row.id, {'power_interface':
                                        test_power.SIMULATED,
                                        'power_state': states.POWER_OFF})
        return node

    def states(self, ident):
        return self.get('/v1/nodes/%s/states' % ident).json

    def settled(self, ident):
        def done():
            body = self.states(ident)
            return body if body['target_power_state'] is None else None
        return wait_for(done, message='the power action to end')


class TestPower(ManagementTestCase):

    def test_target_shown_on_202_then_state_reached(self):
        node = self.simulated_node(name='n1')
        SimulatedPower.FAULTS[node['uuid']] = 'hang'
        response = self.put_json('/v1/nodes/n1/states/power',
                                 {'target': 'power on'})
        self.assertEqual(b'', response.body)
        self.assertEqual('http://localhost/v1/nodes/n1/states',
                         response.headers['Location'])
        body = self.states('n1')
        self.assertEqual('power on', body['target_power_state'])
        self.assertEqual('power off', body['power_state'])
        # Busy: another action waits for the lock, then gives up.
        response = self.put_json('/v1/nodes/n1/states/power',
                                 {'target': 'power off'}, status=409)
        self.assertIn('is locked by host test-conductor',
                      self.fault(response))
        SimulatedPower.RELEASE.set()
        body = self.settled('n1')
        self.assertEqual('power on', body['power_state'])
        self.assertIsNone(body['last_error'])

    def test_fake_hardware_reboot_and_soft_power_off(self):
        node = self.create_node()
        path = '/v1/nodes/%s/states/power' % node['uuid']
        self.put_json(path, {'target': 'rebooting'})
        self.assertEqual('power on', self.settled(node['uuid'])['power_state'])
        self.put_json(path, {'target': 'soft power off', 'timeout': 10})
        self.assertEqual('power off',
                         self.settled(node['uuid'])['power_state'])

    def test_driver_failure_in_last_error(self):
        node = self.simulated_node()
        SimulatedPower.FAULTS[node['uuid']] = 'raise'
        self.put_json('/v1/nodes/%s/states/power' % node['uuid'],
                      {'target': 'power on'})
        body = self.settled(node['uuid'])
        self.assertEqual("Failed to change power state to 'power on' by "
                         "'power on'. Error: IPMI call failed: power on.",
                         body['last_error'])
        self.assertEqual('power off', body['power_state'])

    def test_soft_targets_and_timeout_need_1_27(self):
        self.create_node(name='n1')
        for body in ({'target': 'soft power off'},
                     {'target': 'soft rebooting'},
                     {'target': 'power on', 'timeout': 5}):
            response = self.put_json('/v1/nodes/n1/states/power', body,
                                     version='1.26', status=406)
            self.assertEqual('Request not acceptable.',
                             self.fault(response))
        self.put_json('/v1/nodes/n1/states/power', {'target': 'power on'},
                      version='1.26')

    def test_refusals_in_ironic_order_and_words(self):
        self.create_node(name='n1')
        path = '/v1/nodes/n1/states/power'
        cases = [
            ({'target': 'power on', 'timeout': 0}, '1.26', 400,
             'timeout has to be positive integer'),
            ({'target': 'power on', 'timeout': -3}, 'latest', 400,
             'timeout has to be positive integer'),
            ({'target': 'explode'}, 'latest', 400,
             'The requested action "explode" can not be performed on node '
             '"n1" while it is in state "None".'),
            ({}, 'latest', 400, 'Missing argument: "target"'),
            ({'target': 'power on', 'colour': 'red'}, 'latest', 400,
             'Unknown argument: "colour"'),
            ({'target': 'power on', 'timeout': 'soon'}, 'latest', 400,
             "Invalid input for field/attribute timeout. Value: 'soon'. "
             "Wrong type. Expected '<class 'int'>', got '<class 'str'>'"),
        ]
        for body, version, status, message in cases:
            response = self.put_json(path, body, version=version,
                                     status=status)
            self.assertEqual(message, self.fault(response), body)
        response = self.app.put(path, headers=self.headers(), status=400)
        self.assertEqual('Missing argument: "target"', self.fault(response))
        response = self.put_json('/v1/nodes/n2/states/power',
                                 {'target': 'explode'}, status=404)
        self.assertEqual('Node n2 could not be found.', self.fault(response))

    def test_unsupported_state_refused_by_the_driver(self):
        node = self.simulated_node()
        response = self.put_json('/v1/nodes/%s/states/power' % node['uuid'],
                                 {'target': 'soft power off'}, status=400)
        self.assertEqual('The driver fake-hardware does not support the '
                         'power state, soft power off', self.fault(response))
        self.assertIsNone(self.states(node['uuid'])['target_power_state'])

    def test_cleaning_nodes_refused(self):
        node = self.create_node(name='n1')
        row = self.dbapi.get_node_by_uuid(node['uuid'])
        for state in (states.CLEANING, states.CLEANWAIT):
            self.dbapi.update_node(row.id, {'provision_state': state})
            response = self.put_json('/v1/nodes/n1/states/power',
                                     {'target': 'power off'}, status=400)
            self.assertEqual(
                'The requested action "power off" can not be performed on '
                'node "n1" while it is in state "%s".' % state,
                self.fault(response))

    def test_routing_comes_before_the_body(self):
        self.dbapi.create_node({'uuid': uuidutils.generate_uuid(),
                                'name': 'lost', 'driver': 'fake-hardware',
                                'conductor_group': 'nowhere'})
        response = self.put_json('/v1/nodes/lost/states/power',
                                 {'target': 'explode'}, status=404)
        self.assertEqual('No valid host was found. Reason: No conductor '
                         'service registered which supports driver '
                         'fake-hardware for conductor group "nowhere".',
                         self.fault(response))

    def test_full_pool_503_and_nothing_locked(self):
        self.conductor.stop()
        self.config(workers_pool_size=1, group='conductor')
        conductor = service.ConductorService(host='test-conductor')
        conductor.start()
        self.addCleanup(conductor.stop)
        busy = self.simulated_node(name='busy')
        self.simulated_node(name='other')
        SimulatedPower.FAULTS[busy['uuid']] = 'hang'
        self.put_json('/v1/nodes/busy/states/power', {'target': 'power on'})
        response = self.put_json('/v1/nodes/other/states/power',
                                 {'target': 'power on'}, status=503)
        self.assertEqual('Requested action cannot be performed due to lack '
                         'of free conductor workers.', self.fault(response))
        other = self.get('/v1/nodes/other').json
        self.assertIsNone(other['reservation'])
        self.assertIsNone(other['target_power_state'])
        self.assertEqual('power off', other['power_state'])
        self.assertEqual('No free conductor workers available',
                         other['last_error'])
        SimulatedPower.RELEASE.set()
        self.assertEqual('power on', self.settled('busy')['power_state'])
        self.assertIsNone(self.get('/v1/nodes/busy').json['reservation'])

    def test_get_on_the_power_action_is_not_served(self):
        self.create_node(name='n1')
        self.get('/v1/nodes/n1/states/power', status=404)


class TestBootDevice(ManagementTestCase):

    def test_show_set_and_supported(self):
        self.create_node(name='n1')
        path = '/v1/nodes/n1/management/boot_device'
        self.assertEqual({'boot_device': 'pxe', 'persistent': False},
                         self.get(path).json)
        self.assertEqual({'supported_boot_devices': ['pxe']},
                         self.get(path + '/supported').json)
        response = self.put_json(path, {'boot_device': 'pxe',
                                        'persistent': True}, status=204)
        self.assertEqual(b'', response.body)
        self.put_json(path, {'boot_device': 'pxe'}, status=204)

    def test_bad_requests(self):
        self.create_node(name='n1')
        path = '/v1/nodes/n1/management/boot_device'
        for body, message in [
                ({'boot_device': 'cdrom'},
                 'Invalid boot device cdrom specified.'),
                ({}, 'Missing argument: "boot_device"'),
                ({'boot_device': 'pxe', 'persistent': 'maybe'},
                 "Unrecognized value 'maybe', acceptable values are: '0', "
                 "'1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', "
                 "'y', 'yes'"),
                ({'boot_device': 'pxe', 'when': 'now'},
                 'Unknown argument: "when"'),
                (['pxe'], 'Invalid input: the request body must be a JSON '
                          'object, not list')]:
            response = self.put_json(path, body, status=400)
            self.assertEqual(message, self.fault(response), body)
        self.get('/v1/nodes/n1/management', status=405)
        self.get('/v1/nodes/n1/management/boot_device/supported/x',
                 status=404)

    def test_reading_needs_the_lock(self):
        node = self.create_node(name='n1')
        row = self.dbapi.get_node_by_uuid(node['uuid'])
        self.dbapi.reserve_node('elsewhere', row.id)
        self.get('/v1/nodes/n1/management/boot_device', status=409)
        self.get('/v1/nodes/n1/management/boot_device/supported')


class TestValidate(ManagementTestCase):

    def test_every_interface(self):
        node = self.create_node(name='n1', bios_interface='no-bios')
        result = self.get('/v1/nodes/n1/validate').json
        self.assertEqual({'boot', 'deploy', 'management', 'network', 'power',
                          'bios', 'console', 'inspect', 'raid', 'rescue',
                          'storage'}, set(result))
        self.assertEqual({'result': True}, result['power'])
        self.assertEqual({'result': False,
                          'reason': 'Driver fake-hardware does not support '
                                    'bios (disabled or not implemented).'},
                         result['bios'])
        for query in ('node=n1', 'node=%s' % node['uuid'],
                      'node_uuid=%s' % node['uuid']):
            self.assertEqual(result,
                             self.get('/v1/nodes/validate?' + query).json)

    def test_legacy_form_refusals(self):
        self.create_node(name='n1')
        response = self.get('/v1/nodes/validate', status=400)
        self.assertEqual('Missing argument: "node"', self.fault(response))
        self.get('/v1/nodes/validate?node=n1', version='1.4', status=406)
        self.get('/v1/nodes/validate?node=n9', status=404)


class TestMaintenance(ManagementTestCase):

    def test_set_with_reason_from_body_or_query_and_unset(self):
        node = self.create_node(name='n1')
        self.put_json('/v1/nodes/n1/maintenance', {'reason': 'disk'})
        shown = self.get('/v1/nodes/n1').json
        self.assertTrue(shown['maintenance'])
        self.assertEqual('disk', shown['maintenance_reason'])
        self.app.put('/v1/nodes/n1/maintenance?reason=fan',
                     headers=self.headers(), status=202)
        self.assertEqual('fan',
                         self.get('/v1/nodes/n1').json['maintenance_reason'])
        row = self.dbapi.get_node_by_uuid(node['uuid'])
        self.dbapi.update_node(row.id, {'fault': 'power failure'})
        response = self.app.delete('/v1/nodes/n1/maintenance',
                                   headers=self.headers(), status=202)
        self.assertEqual(b'', response.body)
        shown = self.get('/v1/nodes/n1').json
        self.assertFalse(shown['maintenance'])
        self.assertIsNone(shown['maintenance_reason'])
        self.assertIsNone(shown['fault'])

    def test_bad_body_and_no_conductor(self):
        self.create_node(name='n1')
        response = self.put_json('/v1/nodes/n1/maintenance',
                                 {'reason': 5}, status=400)
        self.assertIn('Wrong type', self.fault(response))
        self.put_json('/v1/nodes/n1/maintenance', {'why': 'x'}, status=400)
        self.dbapi.create_node({'uuid': uuidutils.generate_uuid(),
                                'name': 'lost', 'driver': 'fake-hardware',
                                'conductor_group': 'nowhere'})
        response = self.put_json('/v1/nodes/lost/maintenance', {},
                                 status=400)
        self.assertIn('No valid host was found', self.fault(response))
