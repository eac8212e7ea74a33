"""ipmitool driver_info checks and output parsing; talking to a BMC is in
tests/functional/test_ipmitool.py."""

from ironic_lite.common import exception
from ironic_lite.drivers.modules import ipmitool
from tests import base
from tests.unit.drivers import task as task_double

BOOTPARAM = '''Boot parameter version: 1
Boot parameter 5 is valid/unlocked
Boot parameter data: %s
 Boot Flags :
   - Boot Flag Valid
   - Options apply to %s
   - BIOS PC Compatible (legacy) boot
   - Boot Device Selector : %s
'''


def parse(**driver_info):
    return ipmitool.parse_driver_info(
        task_double.make_node(driver_info=driver_info))


class TestDriverInfo(base.TestCase):

    def test_defaults(self):
        info = parse(ipmi_address='10.0.0.1')
        self.assertEqual(
            {'address': '10.0.0.1', 'port': None, 'username': None,
             'password': '', 'priv_level': 'ADMINISTRATOR',
             'protocol_version': '2.0', 'cipher_suite': None,
             'bridge_args': [], 'force_boot_device': False,
             'disable_boot_timeout': True}, info)

    def test_missing_address(self):
        e = self.assertRaises(exception.MissingParameterValue, parse,
                              ipmi_username='admin')
        self.assertEqual("Missing the following IPMI credentials in node's "
                         "driver_info: ['ipmi_address'].", str(e))

    def test_invalid_values(self):
        cases = [
            ({'ipmi_priv_level': 'ROOT'},
             'Invalid privilege level value:ROOT, the valid value can be one '
             'of ADMINISTRATOR, CALLBACK, OPERATOR, USER'),
            ({'ipmi_protocol_version': '3'},
             'Invalid IPMI protocol version value 3, the valid value can be '
             'one of 2.0, 1.5'),
            ({'ipmi_port': 'abc'}, 'ipmi_port "abc" is not a valid integer.'),
            ({'ipmi_port': 70000},
             'ipmi_port "70000" is out of range. Valid port numbers must be '
             'between 1 and 65535.'),
            ({'ipmi_cipher_suite': '18'},
             'Invalid value for ipmi_cipher_suite: "18". It must be an '
             'integer between 0 and 17.'),
            ({'ipmi_force_boot_device': 'maybe'},
             'Invalid value for ipmi_force_boot_device: "maybe". It must be '
             'a boolean.'),
            ({'ipmi_bridging': 'triple'},
             'Parameter ipmi_bridging=triple is invalid. Valid values are: '
             'no, single, dual.'),
            ({'ipmi_username': 'a\x00b'},
             'ipmi_username must not contain NUL or newline characters.'),
        ]
        for extra, message in cases:
            e = self.assertRaises(exception.InvalidParameterValue, parse,
                                  ipmi_address='10.0.0.1', **extra)
            self.assertEqual(message, str(e))
        self.assertRaises(exception.InvalidParameterValue, parse,
                          ipmi_address='-oProxyCommand')

    def test_all_settings_on_the_command_line(self):
        info = parse(ipmi_address='bmc.example', ipmi_port='6230',
                     ipmi_username='admin', ipmi_password='secret',
                     ipmi_priv_level='OPERATOR', ipmi_protocol_version='1.5',
                     ipmi_cipher_suite=3, ipmi_bridging='dual',
                     ipmi_transit_channel='0', ipmi_transit_address='0x82',
                     ipmi_target_channel='7', ipmi_target_address='0x72')
        self.config(command_retry_timeout=60, min_command_interval=5,
                    group='ipmi')
        self.assertEqual(
            ['ipmitool', '-I', 'lan', '-H', 'bmc.example', '-L', 'OPERATOR',
             '-p', '6230', '-U', 'admin', '-C', '3', '-B', '0', '-T', '0x82',
             '-b', '7', '-t', '0x72', '-R', '12', '-N', '5', '-f', '/pw',
             'power', 'status'],
            ipmitool._command_line(info, '/pw', ['power', 'status']))

    def test_bridging_needs_its_addresses(self):
        e = self.assertRaises(exception.MissingParameterValue, parse,
                              ipmi_address='a', ipmi_bridging='single')
        self.assertEqual("['ipmi_target_channel', 'ipmi_target_address'] "
                         "not provided", str(e))

    def test_properties(self):
        for interface in (ipmitool.IPMIPower(), ipmitool.IPMIManagement()):
            properties = interface.get_properties()
            self.assertIn('Required', properties['ipmi_address'])
            self.assertIn('ipmi_password', properties)


class TestParsing(base.TestCase):

    def test_boot_devices(self):
        for selector, device in (('Force PXE', 'pxe'),
                                 ('Force Boot from default Hard-Drive',
                                  'disk'),
                                 ('Force Boot from default Hard-Drive, '
                                  'request Safe-Mode', 'safe'),
                                 ('Force Boot into BIOS Setup', 'bios'),
                                 ('Force Boot from CD/DVD', 'cdrom'),
                                 ('No override', None)):
            self.assertEqual(
                {'boot_device': device, 'persistent': False},
                ipmitool.parse_boot_device(BOOTPARAM % (
                    '8004000000', 'only next boot', selector)))
        self.assertEqual(
            {'boot_device': 'pxe', 'persistent': True},
            ipmitool.parse_boot_device(BOOTPARAM % (
                'c004000000', 'all future boots', 'Force PXE')))

    def test_invalid_boot_device_refused_before_any_call(self):
        task = task_double.Task(task_double.make_node(
            driver_info={'ipmi_address': '127.0.0.1'}))
        e = self.assertRaises(exception.InvalidParameterValue,
                              ipmitool.IPMIManagement().set_boot_device,
                              task, 'floppy')
        self.assertEqual('Invalid boot device floppy specified.', str(e))

    def test_invalid_power_state(self):
        self.config(ipmitool_path='/nonexistent/ipmitool', group='ipmi')
        task = task_double.Task(task_double.make_node(
            driver_info={'ipmi_address': '127.0.0.1'}))
        e = self.assertRaises(exception.InvalidParameterValue,
                              ipmitool.IPMIPower().set_power_state,
                              task, 'power sideways')
        self.assertEqual('set_power_state called with invalid power state '
                         'power sideways.', str(e))
