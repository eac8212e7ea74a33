"""Ports and drivers through the stock ``baremetal`` CLI, unchanged,
against the all-in-one."""

from tests.functional import base


class TestPortsAndDriversThroughClients(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.start_all_in_one()

    def test_ports(self):
        node = self.cli_json('node', 'create', '--driver', 'fake-hardware',
                             '--name', 'n1')
        port = self.cli_json(
            'port', 'create', '52:54:00:AB:CD:EF', '--node', node['uuid'],
            '--physical-network', 'physnet1',
            '--local-link-connection', 'switch_id=0a:1b:2c:3d:4e:5f',
            '--local-link-connection', 'port_id=Eth1')
        self.assertEqual('52:54:00:ab:cd:ef', port['address'])
        self.assertEqual(node['uuid'], port['node_uuid'])
        self.assertEqual('physnet1', port['physical_network'])
        self.assertTrue(port['pxe_enabled'])

        listed = self.cli_json('port', 'list', '--node', 'n1')
        self.assertEqual([(port['uuid'], '52:54:00:ab:cd:ef')],
                         [(p['uuid'], p['address']) for p in listed])
        long_list = self.cli_json('port', 'list', '--long', '--address',
                                  '52:54:00:ab:cd:ef')
        self.assertEqual([node['uuid']],
                         [p['node_uuid'] for p in long_list])

        duplicate = self.run_cli('port', 'create', '52:54:00:ab:cd:ef',
                                 '--node', node['uuid'],
                                 expect_failure=True)
        self.assertIn('A port with MAC address 52:54:00:ab:cd:ef already '
                      'exists. (HTTP 409)', duplicate.stderr)
        bad = self.run_cli('port', 'create', '52-54-00-ab-cd-e0', '--node',
                           node['uuid'], expect_failure=True)
        self.assertIn('Expected a MAC address but received '
                      '52-54-00-ab-cd-e0. (HTTP 400)', bad.stderr)

        self.run_cli('port', 'set', port['uuid'], '--extra', 'rack=r1',
                     '--pxe-disabled')
        shown = self.cli_json('port', 'show', port['uuid'])
        self.assertEqual({'rack': 'r1'}, shown['extra'])
        self.assertFalse(shown['pxe_enabled'])

        self.run_cli('port', 'delete', port['uuid'])
        self.assertEqual([], self.cli_json('port', 'list'))
        gone = self.run_cli('port', 'show', port['uuid'],
                            expect_failure=True)
        self.assertIn('Port %s could not be found. (HTTP 404)'
                      % port['uuid'], gone.stderr)

    def test_drivers(self):
        listed = self.cli_json('driver', 'list')
        self.assertEqual(
            [('fake-hardware', 'functional-aio'), ('ipmi', 'functional-aio')],
            sorted((d['name'], d['hosts'])
                   for d in listed))
        shown = self.cli_json('driver', 'show', 'ipmi')
        self.assertEqual('dynamic', shown['type'])
        self.assertEqual('ipmitool', shown['default_power_interface'])
        missing = self.run_cli('driver', 'show', 'nope',
                               expect_failure=True)
        self.assertIn('Could not find the following driver(s) or hardware '
                      'type(s): nope. (HTTP 404)', missing.stderr)
        properties = self.cli_json('driver', 'property', 'list', 'ipmi')
        self.assertIn('ipmi_address', [p['property'] for p in properties])
