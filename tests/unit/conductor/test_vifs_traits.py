"""VIFs and traits on the conductor, called through RPC (fake://) as the
API calls them: each change is made under the node's lock, so concurrent
ones are either made or refused (NodeLocked), never lost."""

import threading

from ironic_lite.common import exception
from tests.unit.conductor import test_manager


def concurrently(call, arguments: list) -> list:
    """Run ``call(argument)`` for each argument in threads of its own; the
    arguments of the calls that succeeded. A call may only fail with
    NodeLocked."""
    done, errors = [], []

    def run(argument):
        try:
            call(argument)
            done.append(argument)
        except exception.NodeLocked:
            pass
        except Exception as e:  # the caller's assertion names it
            errors.append(e)
    threads = [threading.Thread(target=run, args=(argument,))
               for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise AssertionError('unexpected failures: %s' % errors)
    return done


class TestVifs(test_manager.ManagerTestCase):

    def flat_node_with_ports(self, count: int):
        row = self.create(network_interface='flat')
        for i in range(count):
            self.rpcapi.create_port(self.context, row, {
                'uuid': 'a0000000-0000-4000-8000-00000000000%d' % i,
                'address': '52:54:00:00:00:%02x' % i,
                'pxe_enabled': True})
        return row

    def test_concurrent_attaches_take_distinct_ports(self):
        row = self.flat_node_with_ports(4)
        attached = concurrently(
            lambda vif: self.rpcapi.vif_attach(self.context, row,
                                               {'id': vif}),
            ['vif-%d' % i for i in range(4)])
        self.assertTrue(attached)
        vifs = [port.internal_info.get('tenant_vif_port_id')
                for port in self.dbapi.get_ports_by_node_id(row.id)]
        self.assertEqual(sorted(attached), sorted(filter(None, vifs)))
        self.assertEqual(sorted(attached), sorted(
            v['id'] for v in self.rpcapi.vif_list(self.context, row)))
        self.assertIsNone(self.dbapi.get_node_by_id(row.id).reservation)

    def test_no_free_port(self):
        row = self.flat_node_with_ports(1)
        self.rpcapi.vif_attach(self.context, row, {'id': 'vif-0'})
        self.assertRaises(exception.NoFreePhysicalPorts,
                          self.rpcapi.vif_attach, self.context, row,
                          {'id': 'vif-1'})

    def test_oldest_pxe_port_first(self):
        row = self.flat_node_with_ports(3)
        ports = self.dbapi.get_ports_by_node_id(row.id)
        self.dbapi.update_port(ports[0].id, {'pxe_enabled': False})
        self.rpcapi.vif_attach(self.context, row, {'id': 'first'})
        self.rpcapi.vif_attach(self.context, row, {'id': 'second'})
        self.rpcapi.vif_attach(self.context, row, {'id': 'third'})
        self.assertEqual(
            ['third', 'first', 'second'],
            [port.internal_info['tenant_vif_port_id']
             for port in self.dbapi.get_ports_by_node_id(row.id)])

    def test_locked_node(self):
        row = self.flat_node_with_ports(1)
        self.config(node_locked_retry_attempts=1, group='conductor')
        self.dbapi.reserve_node('someone-else', row.id)
        self.assertRaises(exception.NodeLocked, self.rpcapi.vif_attach,
                          self.context, row, {'id': 'vif'})
        self.assertEqual([], self.rpcapi.vif_list(self.context, row))


class TestTraits(test_manager.ManagerTestCase):

    def test_concurrent_adds_none_lost(self):
        row = self.create()
        added = concurrently(
            lambda trait: self.rpcapi.add_node_traits(self.context, row,
                                                      [trait]),
            ['CUSTOM_T%d' % i for i in range(8)])
        self.assertTrue(added)
        self.assertEqual(sorted(added),
                         sorted(self.dbapi.get_node_by_id(row.id).traits))

    def test_replace_and_remove(self):
        row = self.create()
        self.rpcapi.add_node_traits(self.context, row, ['CUSTOM_A'])
        self.rpcapi.add_node_traits(self.context, row,
                                    ['CUSTOM_B', 'CUSTOM_C'], replace=True)
        self.assertEqual(['CUSTOM_B', 'CUSTOM_C'],
                         self.dbapi.get_node_by_id(row.id).traits)
        self.assertRaises(exception.NodeTraitNotFound,
                          self.rpcapi.remove_node_traits, self.context, row,
                          ['CUSTOM_A'])
        self.rpcapi.remove_node_traits(self.context, row, ['CUSTOM_B'])
        self.assertEqual(['CUSTOM_C'],
                         self.dbapi.get_node_by_id(row.id).traits)
        self.rpcapi.remove_node_traits(self.context, row)
        self.assertEqual([], self.dbapi.get_node_by_id(row.id).traits)
