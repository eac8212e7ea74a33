"""/v1/drivers: the hardware types of the alive conductors."""

import datetime

from oslo_utils import timeutils

from ironic_lite.api.controllers.v1 import driver as driver_api
from ironic_lite.common import hash_ring
from ironic_lite.drivers import factory
from tests import base as tests_base
from tests.unit.api import base

INTERFACES = ('bios', 'boot', 'console', 'deploy', 'inspect', 'management',
              'network', 'power', 'raid', 'rescue', 'storage', 'vendor')
# The version each interface's driver fields appear at.
INTERFACE_SINCE = {'storage': 33, 'rescue': 38, 'bios': 40}


class DriverTestCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        driver_api._PROPERTIES.clear()
        self.addCleanup(driver_api._PROPERTIES.clear)

    def add_conductor(self, hostname, hardware_type, group='',
                      alive=True, default=True):
        long_ago = timeutils.utcnow() - datetime.timedelta(days=1)
        row = self.dbapi.register_conductor(
            hostname, group, [hardware_type],
            take_over_if_older_than=long_ago,
            at=None if alive else long_ago)
        self.dbapi.register_conductor_hardware_interfaces(row.id, [
            {'hardware_type': hardware_type, 'interface_type': 'power',
             'interface_name': 'ipmitool', 'default': default},
            {'hardware_type': hardware_type, 'interface_type': 'vendor',
             'interface_name': 'no-vendor', 'default': False}])
        hash_ring.get_manager().reset()


class TestDrivers(DriverTestCase):

    def test_list(self):
        self.add_conductor('cond-b', 'ipmi', group='rack2')
        self.add_conductor('cond-dead', 'ipmi', alive=False)
        self.add_conductor('cond-c', 'redfish')
        body = self.get('/v1/drivers').json
        self.assertEqual(['fake-hardware', 'ipmi', 'redfish'],
                         [item['name'] for item in body['drivers']])
        ipmi = body['drivers'][1]
        self.assertEqual(['cond-b', 'test-conductor'], ipmi['hosts'])
        self.assertEqual('dynamic', ipmi['type'])
        self.assertEqual(
            [{'href': 'http://localhost/v1/drivers/ipmi', 'rel': 'self'},
             {'href': 'http://localhost/drivers/ipmi', 'rel': 'bookmark'}],
            ipmi['links'])
        self.assertEqual(
            [{'href': 'http://localhost/v1/drivers/ipmi/properties',
              'rel': 'self'},
             {'href': 'http://localhost/drivers/ipmi/properties',
              'rel': 'bookmark'}], ipmi['properties'])
        self.assertEqual({'name', 'hosts', 'type', 'links', 'properties'},
                         set(ipmi))

    def test_fields_at_each_version(self):
        for minor in range(1, 50):
            version = '1.%d' % minor
            expected = {'name', 'hosts', 'links'}
            if minor >= 14:
                expected.add('properties')
            if minor >= 30:
                expected.add('type')
            listed = self.get('/v1/drivers', version=version).json
            self.assertEqual(expected, set(listed['drivers'][0]), version)
            if minor >= 30:
                expected |= {
                    '%s_%s_interface%s' % (kind, name,
                                           's' if kind == 'enabled' else '')
                    for name in INTERFACES for kind in ('default', 'enabled')
                    if INTERFACE_SINCE.get(name, 30) <= minor}
                detailed = self.get('/v1/drivers?detail=true',
                                    version=version).json
                self.assertEqual(expected, set(detailed['drivers'][0]),
                                 version)
            shown = self.get('/v1/drivers/ipmi', version=version).json
            self.assertEqual(expected, set(shown), version)

    def test_interfaces_are_what_the_alive_conductors_registered(self):
        shown = self.get('/v1/drivers/fake-hardware').json
        self.assertEqual('fake', shown['default_power_interface'])
        self.assertEqual(['fake', 'no-vendor'],
                         shown['enabled_vendor_interfaces'])
        self.add_conductor('cond-c', 'redfish')
        shown = self.get('/v1/drivers/redfish').json
        self.assertEqual(['cond-c'], shown['hosts'])
        self.assertEqual('ipmitool', shown['default_power_interface'])
        self.assertEqual(['no-vendor'], shown['enabled_vendor_interfaces'])
        self.assertIsNone(shown['default_vendor_interface'])
        self.assertEqual([], shown['enabled_boot_interfaces'])

    def test_type_filter(self):
        self.assertEqual(
            [], self.get('/v1/drivers?type=classic').json['drivers'])
        self.assertEqual(
            2, len(self.get('/v1/drivers?type=dynamic').json['drivers']))
        response = self.get('/v1/drivers?type=fancy', status=400)
        self.assertEqual('"type" filter must be one of "classic" or '
                         '"dynamic", if specified.', self.fault(response))
        for query in ('type=dynamic', 'detail=true'):
            response = self.get('/v1/drivers?' + query, version='1.29',
                                status=406)
            self.assertEqual('Request not acceptable. The minimal required '
                             'API version should be 1.30',
                             self.fault(response))

    def test_unknown(self):
        self.add_conductor('cond-dead', 'redfish', alive=False)
        for name in ('nope', 'redfish'):
            response = self.get('/v1/drivers/%s' % name, status=404)
            self.assertEqual('Could not find the following driver(s) or '
                             'hardware type(s): %s.' % name,
                             self.fault(response))


class TestProperties(DriverTestCase):

    def test_properties_from_a_conductor_then_cached(self):
        expected = factory.properties('ipmi')
        self.assertEqual(expected,
                         self.get('/v1/drivers/ipmi/properties').json)
        response = self.get('/v1/drivers/redfish/properties', status=404)
        self.assertEqual("The driver 'redfish' is unknown.",
                         self.fault(response))
        self.conductor.stop()
        tests_base.wait_for(
            lambda: not hash_ring.get_manager().rings(),
            message='the conductor to leave the rings')
        # Asked once: served by the API process without a conductor.
        self.assertEqual(expected,
                         self.get('/v1/drivers/ipmi/properties').json)
        response = self.get('/v1/drivers/fake-hardware/properties',
                            status=404)
        self.assertEqual('No conductors registered.', self.fault(response))
        self.assertEqual([], self.get('/v1/drivers').json['drivers'])
