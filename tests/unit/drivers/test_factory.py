"""A node's driver, built from its interface fields."""

import types

import testtools

from ironic_lite.common import exception
from ironic_lite.drivers import base
from ironic_lite.drivers import factory


def _node(**fields):
    return types.SimpleNamespace(driver='fake-hardware', **fields)


class TestBuild(testtools.TestCase):

    def test_defaults_of_the_hardware_type(self):
        driver = factory.build(_node())
        self.assertEqual('fake', driver.power.name)
        self.assertEqual('power', driver.power.interface_type)
        self.assertIsInstance(driver.deploy, base.DeployInterface)
        self.assertEqual('noop', driver.network.name)

    def test_the_node_fields_choose(self):
        driver = factory.build(_node(console_interface='no-console'))
        self.assertIsInstance(driver.console, base.UnsupportedInterface)
        self.assertRaises(exception.UnsupportedDriverExtension,
                          driver.console.validate,
                          types.SimpleNamespace(node=_node()))

    def test_unknown_hardware_type(self):
        self.assertRaises(exception.DriverNotFound, factory.build,
                          types.SimpleNamespace(driver='nope'))

    def test_unknown_implementation(self):
        self.assertRaises(exception.InterfaceNotFound, factory.interface,
                          'power', 'nope')

    def test_fake_management(self):
        management = factory.interface('management', 'fake')
        self.assertEqual(['pxe'], management.get_supported_boot_devices(None))
        self.assertRaises(exception.InvalidParameterValue,
                          management.set_boot_device, None, 'disk')
