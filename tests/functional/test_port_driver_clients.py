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

    def test_drivers_and_validation_through_openstack(self):
        """What ``openstack baremetal`` shows of the drivers and of a node's
        validation, as it would show Ironic's answers. This client
        (python-ironicclient 6) names the driver columns by field, ``name``
        and ``hosts``; older ones labelled them "Supported driver(s)" and
        "Active host(s)"."""
        listed = self.cli_json('driver', 'list', openstack=True)
        self.assertEqual(
            [{'name': 'fake-hardware', 'hosts': 'functional-aio'},
             {'name': 'ipmi', 'hosts': 'functional-aio'}],
            sorted(listed, key=lambda d: d['name']))

        properties = {
            p['property']: p['description'] for p in self.cli_json(
                'driver', 'property', 'list', 'ipmi', openstack=True)}
        self.assertEqual('IP address or hostname of the node. Required.',
                         properties['ipmi_address'])
        self.assertEqual('password. Optional.',
                         properties['ipmi_password'])
        self.assertIn('deploy_kernel', properties)

        # The interfaces Ironic's default configuration gives fake-hardware
        # where it has nothing better than no-*.
        disabled = ('bios', 'console', 'inspect', 'raid', 'rescue')
        node = self.cli_json(
            'node', 'create', '--driver', 'fake-hardware', '--name', 'v1',
            *('--%s-interface=no-%s' % (name, name) for name in disabled),
            openstack=True)
        results = {
            row['Interface']: (row['Result'], row['Reason'])
            for row in self.cli_json('node', 'validate', node['uuid'],
                                     openstack=True)}
        expected = {name: (True, '') for name in (
            'boot', 'deploy', 'management', 'network', 'power', 'storage')}
        expected.update({
            name: (False, 'Driver fake-hardware does not support %s '
                          '(disabled or not implemented).' % name)
            for name in disabled})
        self.assertEqual(expected, results)
