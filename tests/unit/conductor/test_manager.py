"""The conductor's RPC endpoints, called through RPC (fake://) as the API
calls them."""

import types

from oslo_utils import uuidutils

from ironic_lite.common import context
from ironic_lite.common import exception
from ironic_lite.common import hash_ring
from ironic_lite.common import states
from ironic_lite.conductor import rpcapi
from ironic_lite.conductor import service
from ironic_lite.db.sqlalchemy import models
from tests import base

# Not compared: the conductor's own pass may record the node's conductor
# (served_by) at any moment of a test.
_RECORDED = 'served_by'


def columns_of(row) -> dict:
    return {c.name: getattr(row, c.name)
            for c in models.Node.__table__.columns if c.name != _RECORDED}


def answered(node) -> dict:
    """The columns of a node a call answered with, as columns_of."""
    return {k: v for k, v in vars(node).items() if k != _RECORDED}


def target(**values):
    values.setdefault('uuid', uuidutils.generate_uuid())
    values.setdefault('driver', 'fake-hardware')
    values.setdefault('conductor_group', '')
    return types.SimpleNamespace(**values)


class ManagerTestCase(base.DBTestCase):

    def setUp(self):
        super().setUp()
        self.service = self.useFixture(base.ConductorFixture()).service
        self.rpcapi = rpcapi.get_api()
        self.context = context.get_admin_context()

    def create(self, **values):
        values.setdefault('driver', 'fake-hardware')
        values.setdefault('provision_state', states.ENROLL)
        node = target(**values)
        values.update(uuid=node.uuid, conductor_group=node.conductor_group)
        created = self.rpcapi.create_node(self.context, node, values)
        row = self.dbapi.get_node_by_uuid(node.uuid)
        self.assertEqual(columns_of(row), answered(created))
        return row

    def update(self, row, changes, reset_interfaces=None, expected=None,
               mergeable=None):
        view = target(uuid=row.uuid, driver=changes.get('driver', row.driver),
                      conductor_group=row.conductor_group)
        updated = self.rpcapi.update_node(
            self.context, view, changes, reset_interfaces=reset_interfaces,
            expected=expected, mergeable=mergeable)
        row = self.dbapi.get_node_by_id(row.id)
        # The conductor answers with the node as stored.
        self.assertEqual(columns_of(row), answered(updated))
        return row


class TestCreate(ManagerTestCase):

    def test_interfaces_default_to_the_hardware_type(self):
        row = self.create(driver='ipmi')
        self.assertEqual(('ipmitool', 'pxe', 'noop', 'ramdisk'),
                         (row.power_interface, row.boot_interface,
                          row.network_interface, row.deploy_interface))
        self.assertEqual(self.service.manager.conductor_id,
                         row.conductor_affinity)

    def test_chosen_interface_kept(self):
        row = self.create(network_interface='flat')
        self.assertEqual('flat', row.network_interface)

    def test_unsupported_interface_refused_with_the_valid_ones(self):
        e = self.assertRaises(exception.InterfaceNotSupported, self.create,
                              driver='ipmi', power_interface='fake')
        self.assertEqual(400, e.code)
        self.assertIn("power interface implementation 'fake' is not "
                      'supported by hardware type ipmi. Valid: ipmitool.',
                      e.faultstring)
        self.assertNotIn('Traceback', e.faultstring)
        self.assertEqual([], self.dbapi.get_node_list())

    def test_protection_only_for_active_nodes(self):
        self.assertRaises(exception.InvalidState, self.create,
                          protected=True)
        self.assertRaises(exception.InvalidParameterValue, self.create,
                          protected_reason='why')


class TestUpdate(ManagerTestCase):

    def test_driver_change_with_reset_resets_interfaces(self):
        row = self.create(network_interface='flat')
        row = self.update(row, {'driver': 'ipmi'}, reset_interfaces=True)
        self.assertEqual(('ipmi', 'ipmitool', 'noop'),
                         (row.driver, row.power_interface,
                          row.network_interface))

    def test_driver_change_with_reset_keeps_named_interfaces(self):
        row = self.create()
        row = self.update(row, {'driver': 'ipmi',
                                'network_interface': 'flat'},
                          reset_interfaces=True)
        self.assertEqual(('ipmitool', 'flat'), (row.power_interface,
                                                row.network_interface))

    def test_driver_change_needs_compatible_interfaces(self):
        row = self.create()
        for reset in (None, False):
            e = self.assertRaises(exception.InterfaceNotSupported,
                                  self.update, row, {'driver': 'ipmi'},
                                  reset_interfaces=reset)
            self.assertIn('not supported by hardware type ipmi',
                          e.faultstring)
        self.assertEqual('fake-hardware',
                         self.dbapi.get_node_by_id(row.id).driver)

    def test_driver_change_keeping_compatible_interfaces(self):
        row = self.create(driver='ipmi', network_interface='flat')
        row = self.update(row, {'driver': 'ipmi'})  # no change at all
        row = self.update(row, {
            'driver': 'fake-hardware', 'bios_interface': 'no-bios',
            'boot_interface': 'fake', 'console_interface': 'no-console',
            'deploy_interface': 'fake', 'inspect_interface': 'no-inspect',
            'management_interface': 'fake', 'power_interface': 'fake',
            'raid_interface': 'no-raid', 'rescue_interface': 'no-rescue',
            'vendor_interface': 'no-vendor'})
        self.assertEqual(('fake-hardware', 'flat', 'noop'),
                         (row.driver, row.network_interface,
                          row.storage_interface))

    def test_reset_interfaces_needs_a_driver_change(self):
        row = self.create()
        self.assertRaises(exception.InvalidParameterValue, self.update, row,
                          {'extra': {'a': 1}}, reset_interfaces=True)

    def test_removed_interface_gets_the_default(self):
        row = self.create(network_interface='flat')
        row = self.update(row, {'network_interface': None})
        self.assertEqual('noop', row.network_interface)

    def test_instance_cannot_be_replaced_by_another(self):
        row = self.create(instance_uuid=uuidutils.generate_uuid())
        e = self.assertRaises(exception.NodeAssociated, self.update, row,
                              {'instance_uuid': uuidutils.generate_uuid()})
        self.assertEqual(409, e.code)
        row = self.update(row, {'instance_uuid': None})
        self.assertIsNone(row.instance_uuid)

    def test_leaving_maintenance_clears_reason_and_fault(self):
        row = self.create(maintenance=True)
        self.dbapi.update_node(row.id, {'maintenance_reason': 'x',
                                        'fault': 'power failure'})
        row = self.update(row, {'maintenance': False})
        self.assertEqual((False, None, None), (row.maintenance,
                                               row.maintenance_reason,
                                               row.fault))

    def test_changes_from_values_still_there_are_written(self):
        row = self.create(extra={'a': 1}, name='n1')
        row = self.update(row, {'extra': {'a': 1, 'b': 2}, 'name': 'n2'},
                          expected={'extra': {'a': 1}, 'name': 'n1'})
        self.assertEqual(({'a': 1, 'b': 2}, 'n2'), (row.extra, row.name))

    def test_changes_to_other_keys_of_a_document_are_merged(self):
        row = self.create(extra={'a': 1, 'c': 3})
        self.dbapi.update_node(row.id, {'extra': {'a': 1, 'c': 3,
                                                  'other': 4}})
        row = self.update(row, {'extra': {'a': 1, 'b': 2}},
                          expected={'extra': {'a': 1, 'c': 3}},
                          mergeable=['extra'])
        self.assertEqual({'a': 1, 'b': 2, 'other': 4}, row.extra)

    def test_changes_from_values_no_longer_there_are_refused(self):
        row = self.create(extra={'a': 1}, name='n1')
        self.dbapi.update_node(row.id, {'name': 'n3'})
        e = self.assertRaises(
            exception.NodeChanged, self.update, row,
            {'extra': {'a': 1, 'b': 2}, 'name': 'n2'},
            expected={'extra': {'a': 1}, 'name': 'n1'})
        self.assertEqual(409, e.code)
        self.assertEqual('Node %s changed on conductor test-conductor since '
                         'it was read: name.' % row.uuid, e.faultstring)
        self.assertEqual('test-conductor', e.kwargs['host'])
        row = self.dbapi.get_node_by_id(row.id)
        self.assertEqual(({'a': 1}, 'n3', None),
                         (row.extra, row.name, row.reservation))

    def test_locked_node(self):
        row = self.create()
        self.dbapi.reserve_node('someone', row.id)
        e = self.assertRaises(exception.NodeLocked, self.update, row,
                              {'extra': {'a': 1}})
        self.assertEqual(409, e.code)


class TestDestroy(ManagerTestCase):

    def destroy(self, row):
        self.rpcapi.destroy_node(self.context, target(
            uuid=row.uuid, driver=row.driver,
            conductor_group=row.conductor_group))

    def test_deletable_states(self):
        row = self.create()
        self.destroy(row)
        self.assertRaises(exception.NodeNotFound, self.dbapi.get_node_by_id,
                          row.id)

    def test_active_node_only_in_maintenance(self):
        row = self.create(provision_state=states.ACTIVE)
        e = self.assertRaises(exception.InvalidState, self.destroy, row)
        self.assertIn('while it is in provision state "active"',
                      e.faultstring)
        self.dbapi.update_node(row.id, {'maintenance': True})
        self.destroy(row)

    def test_associated_and_protected_nodes_stay(self):
        row = self.create(instance_uuid=uuidutils.generate_uuid())
        self.assertRaises(exception.NodeAssociated, self.destroy, row)
        row = self.create(provision_state=states.ACTIVE, protected=True)
        e = self.assertRaises(exception.NodeProtected, self.destroy, row)
        self.assertEqual(403, e.code)


class TestOwnership(ManagerTestCase):
    """Work reaches the conductor the ring names, even when the sender's
    view of the ring is out of date."""

    def test_node_of_a_group_it_does_not_serve_is_refused(self):
        other = service.ConductorService(host='rack2-conductor')
        self.config(conductor_group='rack2', group='conductor')
        other.start()
        self.addCleanup(other.stop)
        self.config(conductor_group='', group='conductor')
        node = target(conductor_group='rack2')
        e = self.assertRaises(
            exception.NodeNotOwned, self.rpcapi._call, self.context,
            'test-conductor', 'create_node',
            values={'uuid': node.uuid, 'driver': 'fake-hardware',
                    'conductor_group': 'rack2'})
        self.assertIn('its conductor is rack2-conductor', e.faultstring)

    def test_stale_sender_retries_with_a_fresh_ring(self):
        # The API process loaded its rings before a second conductor
        # joined; the joiner now owns some nodes.
        stale = hash_ring.HashRingManager(monotonic=lambda: 0.0)
        api = rpcapi.ConductorAPI(ring_manager=stale)
        self.assertEqual({'test-conductor'},
                         set(stale.get_ring('fake-hardware', '').hosts))
        joiner = service.ConductorService(host='joiner')
        joiner.start()
        self.addCleanup(joiner.stop)
        fresh = hash_ring.get_manager()
        node = next(n for n in (target() for _ in range(1000))
                    if fresh.conductor_for(n) == 'joiner')
        api.create_node(self.context, node, {
            'uuid': node.uuid, 'driver': 'fake-hardware',
            'conductor_group': '', 'provision_state': states.ENROLL})
        row = self.dbapi.get_node_by_uuid(node.uuid)
        self.assertEqual(joiner.manager.conductor_id, row.conductor_affinity)
        self.assertEqual({'test-conductor', 'joiner'},
                         set(stale.get_ring('fake-hardware', '').hosts))
