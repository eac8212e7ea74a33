"""Nova's ironic virt driver, replayed: the openstacksdk calls it makes to
spawn, power and destroy an instance, in its order and with its
arguments, against ``ironic-lite`` driving an ``ipmi`` node behind a
virtual BMC."""

import uuid

import openstack

from tests import services
from tests.base import wait_for
from tests.functional import base
from tests.functional import test_hardware as hardware

# nova/virt/ironic/driver.py's _NODE_FIELDS.
NODE_FIELDS = ('uuid', 'power_state', 'target_power_state',
               'provision_state', 'target_provision_state', 'last_error',
               'maintenance', 'properties', 'instance_uuid', 'traits',
               'resource_class')
CONFIGDRIVE = 'H4sICAAAAAAC/2NvbmZpZ2RyaXZlAAMAAAAAAAAAAAA='


class NovaFlowMixin(hardware.HardwareMixin):
    """The flow; subclasses start the service and say what it logged."""

    def start_service(self) -> None:
        raise NotImplementedError

    def service_output(self) -> str:
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        hardware._require_ipmitool(self)
        self.images = self.make_images()
        self.start_service()
        # As Nova's utils.get_sdk_adapter: discovery at connect time.
        self.conn = openstack.connect(
            auth_type='none', baremetal_endpoint_override=self.url,
            load_envvars=False, load_yaml_config=False,
            strict_proxies=True)
        self.addCleanup(self.conn.close)

    def wait_power(self, ident: str, state: str) -> None:
        seen = {}

        def settled():
            seen.update(self.node(ident))
            return (seen['power_state'] == state
                    and seen['target_power_state'] is None)
        wait_for(settled, timeout=hardware.ACTION_TIMEOUT,
                 message=lambda: 'node %s to be %s (it is %s, last_error '
                 '%s)' % (ident, state, seen.get('power_state'),
                          seen.get('last_error')))

    def instance_node(self, instance: str):
        """_validate_instance_and_node: the node of an instance."""
        nodes = list(self.conn.baremetal.nodes(instance_id=instance,
                                               fields=NODE_FIELDS))
        self.assertEqual(1, len(nodes))
        return nodes[0]

    def test_spawn_power_and_destroy(self):
        bmc = self.start_bmc()
        mac = hardware._mac(9)
        node_uuid = self.enroll('nova-node', bmc, self.images, mac)
        self.run_cli('node', 'set', node_uuid, '--network-interface',
                     'flat', '--resource-class', 'baremetal',
                     '--property', 'cpus=2', '--property', 'memory_mb=1024',
                     '--property', 'local_gb=10')
        self.run_cli('node', 'add', 'trait', node_uuid, 'CUSTOM_GOLD')
        self.act('manage', node_uuid, 'manageable')
        self.act('provide', node_uuid, 'available')
        self.assertEqual('off', bmc.power)
        baremetal = self.conn.baremetal

        # _refresh_cache and _get_node.
        listed = {n.id: n for n in baremetal.nodes(fields=NODE_FIELDS)}
        self.assertIn(node_uuid, listed)
        node = baremetal.get_node(node_uuid, fields=NODE_FIELDS)
        self.assertEqual(['CUSTOM_GOLD'], node.traits)
        self.assertEqual('baremetal', node.resource_class)
        self.assertEqual(2, int(node.properties['cpus']))
        self.assertIsNone(node.instance_id)
        self.assertEqual('available', node.provision_state)
        self.assertEqual('power off', node.power_state)
        self.assertEqual(
            [node_uuid], [n.id for n in baremetal.nodes(
                associated=False, provision_state='available',
                resource_class='baremetal', fields=NODE_FIELDS)])

        # spawn: instance_info, then the node taken for the instance.
        instance = str(uuid.uuid4())
        baremetal.patch_node(node, [
            {'op': 'add', 'path': '/instance_info/root_gb', 'value': '10'},
            {'op': 'add', 'path': '/instance_info/display_name',
             'value': 'vm-1'}])
        baremetal.update_node(node, retry_on_conflict=False,
                              instance_id=instance)
        self.assertEqual(node_uuid, self.instance_node(instance).id)
        self.assertEqual([node_uuid], [n.id for n in baremetal.nodes(
            associated=True, fields=NODE_FIELDS)])

        validation = baremetal.validate_node(node_uuid, required=None)
        for interface in ('power', 'deploy', 'management', 'boot',
                          'network'):
            self.assertTrue(validation[interface].result,
                            '%s: %s' % (interface,
                                        validation[interface].reason))

        # _plug_vifs.
        vif = str(uuid.uuid4())
        baremetal.attach_vif_to_node(node_uuid, vif,
                                     retry_on_conflict=False)
        self.assertEqual([vif], baremetal.list_node_vifs(node_uuid))
        ports = list(baremetal.ports(node=node_uuid, details=True))
        self.assertEqual([(mac, vif)], [
            (p.address, p.internal_info.get('tenant_vif_port_id'))
            for p in ports])

        # The deploy, with a config drive string.
        baremetal.set_node_provision_state(node_uuid, 'active',
                                           config_drive=CONFIGDRIVE)
        node = self.wait_state(node_uuid, 'active')
        self.assertEqual('power on', node['power_state'])
        self.assertEqual(instance, node['instance_uuid'])
        self.assert_deployed_by_bmc(bmc)
        # Handed to the deploy (which says it cannot write it).
        self.assertIn('ignores the configdrive of node %s' % node_uuid,
                      self.service_output())
        self.assertEqual('active', self.instance_node(instance)
                         .provision_state)

        # power_off, power_on, reboot.
        baremetal.set_node_power_state(node_uuid, 'power off')
        self.wait_power(node_uuid, 'power off')
        self.assertEqual('off', bmc.power)
        baremetal.set_node_power_state(node_uuid, 'power on')
        self.wait_power(node_uuid, 'power on')
        self.assertEqual('on', bmc.power)
        baremetal.set_node_power_state(node_uuid, 'rebooting')
        self.wait_power(node_uuid, 'power on')
        self.assertEqual('on', bmc.power)
        self.assertIn(('power', 'off'), bmc.events[-3:])

        # destroy: unprovision, unplug the VIFs, give the node back.
        baremetal.set_node_provision_state(node_uuid, 'deleted')
        node = self.wait_state(node_uuid, 'available')
        self.assertEqual('power off', node['power_state'])
        self.assertEqual('off', bmc.power)
        baremetal.detach_vif_from_node(node_uuid, vif)
        self.assertEqual([], baremetal.list_node_vifs(node_uuid))
        baremetal.update_node(node_uuid, instance_id=None, instance_info={})
        node = baremetal.get_node(node_uuid, fields=NODE_FIELDS)
        self.assertIsNone(node.instance_id)
        self.assertEqual([], list(baremetal.nodes(instance_id=instance,
                                                  fields=NODE_FIELDS)))
        self.assertEqual({}, self.node(node_uuid)['instance_info'])


class TestNovaFlowAllInOne(NovaFlowMixin, base.FunctionalTestCase):
    """``ironic-lite``: SQLite, RPC in the process."""

    def start_service(self) -> None:
        self.process = self.start_all_in_one(
            conductor={'power_state_change_timeout': 10,
                       'sync_power_state_interval': 3600},
            extra={'ipmi': hardware.IPMI_OPTIONS})

    def service_output(self) -> str:
        return ''.join(self.process.output)


class TestNovaFlowClusterPostgreSQL(NovaFlowMixin, base.FunctionalTestCase):
    """``ironic-lite-api`` and two conductors over RabbitMQ and
    PostgreSQL."""

    def start_service(self) -> None:
        self.cluster = hardware.start_hardware_cluster(
            self, services.POSTGRES_URL)
        self.url = self.cluster.api_url

    def service_output(self) -> str:
        return self.cluster.output()
