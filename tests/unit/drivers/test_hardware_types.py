"""Hardware types: what each supports, what a conductor enables."""

from ironic_lite.common import exception
from ironic_lite.common.interfaces import INTERFACE_TYPES
from ironic_lite.conf import CONF
from ironic_lite.drivers import hardware_types
from tests import base


class TestHardwareTypes(base.TestCase):

    def load(self):
        return hardware_types.load(['ipmi', 'fake-hardware'])

    def test_ipmi_defaults(self):
        ipmi = self.load()['ipmi']
        self.assertEqual(
            {'bios': 'no-bios', 'boot': 'pxe', 'console': 'no-console',
             'deploy': 'ramdisk', 'inspect': 'no-inspect',
             'management': 'ipmitool', 'network': 'noop',
             'power': 'ipmitool', 'raid': 'no-raid', 'rescue': 'no-rescue',
             'storage': 'noop', 'vendor': 'no-vendor'},
            {t: ipmi.default(t) for t in INTERFACE_TYPES})
        self.assertEqual(('pxe', 'ipxe'), ipmi.interfaces['boot'])
        self.assertTrue(ipmi.supports('network', 'flat'))
        self.assertFalse(ipmi.supports('deploy', 'fake'))

    def test_default_options_enable_everything_supported(self):
        for interface_type in INTERFACE_TYPES:
            supported = {name for hw in hardware_types.ALL.values()
                         for name in hw.interfaces[interface_type]}
            self.assertEqual(
                supported,
                set(CONF['enabled_%s_interfaces' % interface_type]),
                interface_type)
        for name, hw in self.load().items():
            self.assertEqual(hardware_types.ALL[name], hw)

    def test_only_enabled_interfaces_are_registered(self):
        self.config(enabled_boot_interfaces=['fake', 'ipxe'])
        ipmi = self.load()['ipmi']
        self.assertEqual(('ipxe',), ipmi.interfaces['boot'])
        rows = [r for r in ipmi.registrations()
                if r['interface_type'] == 'boot']
        self.assertEqual([{'hardware_type': 'ipmi', 'interface_type': 'boot',
                           'interface_name': 'ipxe', 'default': True}], rows)

    def test_configured_default_comes_first(self):
        self.config(default_boot_interface='ipxe',
                    default_network_interface='flat')
        loaded = self.load()
        self.assertEqual(('ipxe', 'pxe'), loaded['ipmi'].interfaces['boot'])
        self.assertEqual('flat', loaded['ipmi'].default('network'))
        self.assertEqual('flat', loaded['fake-hardware'].default('network'))
        # fake-hardware does not support ipxe: its own default stays.
        self.assertEqual('fake', loaded['fake-hardware'].default('boot'))

    def test_default_not_enabled_stops_the_start(self):
        self.config(default_boot_interface='ipxe',
                    enabled_boot_interfaces=['fake', 'pxe'])
        e = self.assertRaises(exception.DriverLoadError, self.load)
        self.assertIn('default_boot_interface "ipxe" is not in '
                      'enabled_boot_interfaces', str(e))

    def test_hardware_type_without_enabled_interface_stops_the_start(self):
        self.config(enabled_deploy_interfaces=['fake'])
        e = self.assertRaises(exception.DriverLoadError, self.load)
        self.assertEqual(
            'Driver, hardware type or interface ipmi could not be loaded. '
            'Reason: none of the deploy interfaces it supports (ramdisk) is '
            'in enabled_deploy_interfaces.', str(e))
        # A conductor that enables only fake-hardware starts.
        self.assertEqual(['fake-hardware'],
                         list(hardware_types.load(['fake-hardware'])))

    def test_unknown_hardware_type(self):
        self.assertRaises(exception.DriverNotFound, hardware_types.load,
                          ['ipmi', 'spongebob'])
