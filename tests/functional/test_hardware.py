"""Conductors drive real hardware: ``ipmi`` nodes behind virtual BMCs that
speak real IPMI, driven through the real ``ipmitool`` by real conductor
processes, enrolled and deployed with the real ``baremetal`` CLI; the PXE
files land on the host of the conductor the API names."""

import os
import shutil
import signal
import time

import requests

from tests import services
from tests.base import wait_for
from tests.functional import base
from tests.functional import cluster as cluster_mod
from tests.functional import virtual_bmc

PASSWORD = 'S3cret-vbmc-pw'
# How long a deploy or tear-down may take here (ipmitool round trips on a
# loaded 2-core machine).
ACTION_TIMEOUT = 90
# ipmitool options for tests: no spacing between commands, short retries.
IPMI_OPTIONS = {'min_command_interval': 0, 'command_retry_timeout': 3}
STABLE = ('enroll', 'manageable', 'available', 'active', 'error')


def _require_ipmitool(testcase):
    if shutil.which('ipmitool') is None:
        services.unavailable(
            testcase, 'ipmitool is not installed (apt-get install ipmitool)')


def _mac(i: int) -> str:
    return '52:54:00:00:%02x:%02x' % (i // 256, i % 256)


def start_hardware_cluster(testcase, server_url: str):
    """``ironic-lite-api`` and conductors ``c1`` and ``c2`` on
    ``server_url``, with ipmitool options for tests; the cluster."""
    cluster = testcase.start_cluster(server_url)
    cluster.options = {'ipmi': IPMI_OPTIONS}
    cluster.start_api()
    for name in ('c1', 'c2'):
        cluster.start_conductor(
            name, wait=False, power_state_change_timeout=10,
            check_provision_state_interval=1,
            sync_power_state_interval=3600)
    for name in ('c1', 'c2'):
        cluster.wait_started(name)
    return cluster


class HardwareMixin:
    """Enrol and drive ipmi nodes through the CLI and the REST API."""

    url: str

    def make_images(self) -> dict[str, str]:
        """Kernel and ramdisk files, deploy and instance, on local disk."""
        directory = os.path.join(self.workdir, 'images')
        os.makedirs(directory, exist_ok=True)
        paths = {}
        for name in ('deploy_kernel', 'deploy_ramdisk', 'kernel', 'ramdisk'):
            paths[name] = os.path.join(directory, name)
            with open(paths[name], 'wb') as f:
                f.write(b'image %s\n' % name.encode())
        return paths

    def start_bmc(self, **kwargs) -> virtual_bmc.VirtualBMC:
        bmc = virtual_bmc.VirtualBMC(password=PASSWORD, **kwargs).start()
        self.addCleanup(bmc.stop)
        return bmc

    def enroll(self, name: str, bmc, images: dict, mac: str) -> str:
        """An ipmi node with one port, through the CLI; its UUID."""
        driver_info = bmc.driver_info(deploy_kernel=images['deploy_kernel'],
                                      deploy_ramdisk=images['deploy_ramdisk'])
        args = ['node', 'create', '--driver', 'ipmi', '--name', name]
        for key, value in driver_info.items():
            args += ['--driver-info', '%s=%s' % (key, value)]
        node = self.cli_json(*args)
        self.assertEqual('******', node['driver_info']['ipmi_password'])
        self.assertNotIn(PASSWORD, str(node))
        self.set_instance_info(node['uuid'], images)
        port = self.cli_json('port', 'create', mac, '--node', node['uuid'])
        self.assertEqual(mac, port['address'])
        return node['uuid']

    def set_instance_info(self, uuid: str, images: dict) -> None:
        """What the ramdisk deploy boots (tear-down wipes it, as Ironic's
        does)."""
        self.run_cli('node', 'set', uuid,
                     '--instance-info', 'image_source=%s' % images['kernel'],
                     '--instance-info', 'kernel=%s' % images['kernel'],
                     '--instance-info', 'ramdisk=%s' % images['ramdisk'])

    def node(self, ident: str) -> dict:
        response = requests.get(
            '%s/v1/nodes/%s' % (self.url, ident), timeout=30,
            headers={'X-OpenStack-Ironic-API-Version': '1.49'})
        self.assertEqual(200, response.status_code, response.text)
        self.assertNotIn(PASSWORD, response.text)
        return response.json()

    def wait_state(self, ident: str, state: str,
                   timeout: float = ACTION_TIMEOUT) -> dict:
        """Poll until the node is in ``state`` with nothing in progress (a
        stable state has no target then; a failure state keeps it)."""
        seen = {}

        def settled():
            seen.update(self.node(ident))
            return (seen['provision_state'] == state
                    and (seen['target_provision_state'] is None
                         or state not in STABLE)
                    and seen['reservation'] is None)
        wait_for(settled, timeout=timeout,
                 message=lambda: 'node %s to be %s (it is %s, target %s, '
                 'last_error %s)' % (ident, state, seen.get(
                     'provision_state'), seen.get('target_provision_state'),
                     seen.get('last_error')))
        return seen

    def act(self, verb: str, ident: str, state: str) -> dict:
        """``baremetal node <verb>``, then wait for ``state``."""
        self.run_cli('node', verb, ident)
        return self.wait_state(ident, state)

    def pxe_files(self, state_path: str, uuid: str, mac: str) -> list[str]:
        """The PXE files of a node present under one conductor's
        ``tftp_root``."""
        root = os.path.join(state_path, 'tftpboot')
        candidates = [os.path.join(root, uuid, 'config'),
                      os.path.join(root, uuid, 'kernel'),
                      os.path.join(root, uuid, 'ramdisk'),
                      os.path.join(root, 'pxelinux.cfg',
                                   '01-' + mac.replace(':', '-'))]
        return [path for path in candidates if os.path.exists(path)]

    def assert_deployed_by_bmc(self, bmc) -> None:
        """The BMC was set to boot from PXE, then powered on."""
        events = list(bmc.events)
        bootdevs = [i for i, event in enumerate(events)
                    if event[0] == 'bootdev' and event[1] == 'pxe']
        power_ons = [i for i, event in enumerate(events)
                     if event == ('power', 'on')]
        self.assertTrue(bootdevs and power_ons, events)
        self.assertLess(bootdevs[-1], power_ons[-1], events)
        self.assertEqual('on', bmc.power)


class TestAllInOneHardware(HardwareMixin, base.FunctionalTestCase):
    """``ironic-lite`` (SQLite, RPC in the process) and one virtual BMC."""

    def setUp(self):
        super().setUp()
        _require_ipmitool(self)
        self.images = self.make_images()

    def start(self, ipmi=None, **conductor):
        self.process = self.start_all_in_one(
            conductor={'power_state_change_timeout': 10,
                       'sync_power_state_interval': 3600, **conductor},
            extra={'ipmi': {**IPMI_OPTIONS, **(ipmi or {})}})

    def test_deploy_and_undeploy(self):
        self.start()
        bmc = self.start_bmc()
        mac = _mac(1)
        uuid = self.enroll('aio-node', bmc, self.images, mac)
        self.assertEqual('enroll', self.node(uuid)['provision_state'])
        self.act('manage', uuid, 'manageable')
        self.assertEqual('power off', self.node(uuid)['power_state'])
        self.act('provide', uuid, 'available')
        node = self.act('deploy', uuid, 'active')
        self.assertEqual('power on', node['power_state'])
        self.assertIsNone(node['last_error'])
        self.assert_deployed_by_bmc(bmc)
        files = self.pxe_files(self.workdir, uuid, mac)
        self.assertEqual(4, len(files), files)
        with open(os.path.join(self.workdir, 'tftpboot', uuid,
                               'config')) as f:
            self.assertIn('boot_ramdisk', f.read())

        node = self.act('undeploy', uuid, 'available')
        self.assertEqual('power off', node['power_state'])
        self.assertEqual('off', bmc.power)
        self.assertEqual([], self.pxe_files(self.workdir, uuid, mac))

    def test_failures_leave_nothing_stuck_and_no_password_anywhere(self):
        self.start()
        down = self.start_bmc()
        wrong = self.start_bmc()
        uuid_down = self.enroll('bmc-down', down, self.images, _mac(2))
        uuid_wrong = self.enroll('bmc-wrong', wrong, self.images, _mac(3))
        down.down = True
        wrong.authdata = {'admin': 'not-the-password'}
        for uuid in (uuid_down, uuid_wrong):
            self.run_cli('node', 'manage', uuid)
            node = self.wait_state(uuid, 'enroll')
            self.assertIn('Failed to', node['last_error'])
            self.assertIsNone(node['target_power_state'])
            self.run_cli('node', 'power', 'on', uuid)
            wait_for(lambda u=uuid: self.node(u)['target_power_state'] is None,
                     timeout=ACTION_TIMEOUT,
                     message='the power action to end')
            node = self.node(uuid)
            self.assertIn("Failed to change power state to 'power on'",
                          node['last_error'])
            # The lock is released just after the state is written, and
            # a power-sync pass may hold it briefly: released soon, not
            # stuck, is what counts.
            wait_for(lambda u=uuid: self.node(u)['reservation'] is None,
                     timeout=ACTION_TIMEOUT,
                     message='the lock of %s to be released' % uuid)
        # The API answers all along, and the password is nowhere.
        listing = requests.get(self.url + '/v1/nodes/detail', timeout=30)
        self.assertEqual(200, listing.status_code)
        self.assertNotIn(PASSWORD, listing.text)
        self.assertNotIn(PASSWORD, ''.join(self.process.output))
        with open(self.process.log_path) as f:
            self.assertNotIn(PASSWORD, f.read())

    def test_ipmitool_missing(self):
        self.start(ipmi={'ipmitool_path': '/nonexistent/ipmitool'})
        bmc = self.start_bmc()
        uuid = self.enroll('no-ipmitool', bmc, self.images, _mac(4))
        self.run_cli('node', 'power', 'on', uuid)
        wait_for(lambda: self.node(uuid)['target_power_state'] is None,
                 timeout=ACTION_TIMEOUT, message='the power action to end')
        self.assertIn('ipmitool is not installed',
                      self.node(uuid)['last_error'])

    def test_a_full_worker_pool_refuses_and_leaves_nothing_locked(self):
        self.start(workers_pool_size=1)
        slow = self.start_bmc(power_delay=8)
        other = self.start_bmc()
        first = self.enroll('first', slow, self.images, _mac(5))
        second = self.enroll('second', other, self.images, _mac(6))
        for uuid in (first, second):
            self.act('manage', uuid, 'manageable')
            self.act('provide', uuid, 'available')
        headers = {'X-OpenStack-Ironic-API-Version': '1.49'}
        deploy = {'target': 'active'}
        response = requests.put(
            '%s/v1/nodes/%s/states/provision' % (self.url, first),
            json=deploy, headers=headers, timeout=30)
        self.assertEqual(202, response.status_code, response.text)
        response = requests.put(
            '%s/v1/nodes/%s/states/provision' % (self.url, second),
            json=deploy, headers=headers, timeout=30)
        self.assertEqual(503, response.status_code, response.text)
        self.assertIn('lack of free conductor workers',
                      response.json()['error_message'])
        node = self.node(second)
        self.assertEqual('available', node['provision_state'])
        self.assertIsNone(node['target_provision_state'])
        self.assertIsNone(node['reservation'])
        self.wait_state(first, 'active')
        # Once the pool is free, the refused deploy goes through.
        self.act('deploy', second, 'active')


class ClusterHardwareMixin(HardwareMixin):
    """``ironic-lite-api`` and two ``ironic-lite-conductor`` over RabbitMQ
    and a real database server."""

    server_url: str

    def setUp(self):
        super().setUp()
        _require_ipmitool(self)
        self.images = self.make_images()
        self.cluster = start_hardware_cluster(self, self.server_url)
        self.url = self.cluster.api_url
        self.names = {self.cluster.hostname(n): n for n in ('c1', 'c2')}

    def owner(self, uuid: str) -> str:
        """The short name of the conductor the API names for the node."""
        return self.names[self.node(uuid)['conductor']]

    def files_by_conductor(self, uuid: str, mac: str) -> dict[str, int]:
        return {name: len(self.pxe_files(self.cluster.state_path(name),
                                         uuid, mac))
                for name in ('c1', 'c2')}

    def test_deploy_on_the_conductor_the_api_names(self):
        bmcs, nodes = {}, {}
        for i in range(4):
            bmc = self.start_bmc()
            mac = _mac(10 + i)
            uuid = self.enroll('hw-%d' % i, bmc, self.images, mac)
            bmcs[uuid], nodes[uuid] = bmc, mac
        for verb, state in (('manage', 'manageable'),
                            ('provide', 'available'),
                            ('deploy', 'active')):
            for uuid in nodes:
                self.run_cli('node', verb, uuid)
            for uuid in nodes:
                self.wait_state(uuid, state)
        owners = {}
        for uuid, mac in nodes.items():
            self.assert_deployed_by_bmc(bmcs[uuid])
            owners[uuid] = self.owner(uuid)
            found = self.files_by_conductor(uuid, mac)
            self.assertEqual(4, found[owners[uuid]], found)
            self.assertEqual(0, sum(found.values()) - found[owners[uuid]],
                             found)

        # Undeploy one: powered off, its files gone.
        undeployed = next(iter(nodes))
        self.act('undeploy', undeployed, 'available')
        self.assertEqual('off', bmcs[undeployed].power)
        self.assertEqual({'c1': 0, 'c2': 0},
                         self.files_by_conductor(undeployed,
                                                 nodes[undeployed]))

        # Stop a conductor that serves an active node: the new owner
        # rebuilds its files.
        active = [u for u in nodes if u != undeployed]
        moved = [u for u in active if owners[u] == owners[active[0]]]
        stopped = owners[active[0]]
        survivor = 'c2' if stopped == 'c1' else 'c1'
        self.cluster.stop(stopped)
        for uuid in moved:
            wait_for(lambda u=uuid: self.owner(u) == survivor, timeout=30,
                     message='the API to name the survivor')
            wait_for(lambda u=uuid: self.files_by_conductor(
                u, nodes[u])[survivor] == 4, timeout=60,
                message='the survivor to rebuild the PXE files of %s'
                        % uuid)
        self.assertEqual('on', bmcs[moved[0]].power)

    def test_kill_9_in_the_middle_of_a_deploy(self):
        bmc = self.start_bmc(power_delay=60)
        mac = _mac(20)
        uuid = self.enroll('killed', bmc, self.images, mac)
        self.act('manage', uuid, 'manageable')
        self.act('provide', uuid, 'available')
        self.run_cli('node', 'deploy', uuid)
        owner = self.owner(uuid)
        # The deploy waits for the BMC to power on.
        wait_for(lambda: ('power', 'on') in bmc.events, timeout=60,
                 message='the deploy to power the node on')
        self.assertEqual('deploying', self.node(uuid)['provision_state'])
        killed_at = time.monotonic()
        self.cluster.stop(owner, signal.SIGKILL)
        node = self.wait_state(uuid, 'deploy failed', timeout=60)
        # Within heartbeat_timeout plus one heartbeat of the survivor (the
        # pass that releases a dead conductor's locks), with room for a
        # loaded machine.
        took = time.monotonic() - killed_at
        self.assertLess(took, cluster_mod.HEARTBEAT_TIMEOUT
                        + cluster_mod.HEARTBEAT_INTERVAL + 5)
        self.assertIn('conductor take over', node['last_error'])
        bmc.power_delay = 0
        node = self.act('undeploy', uuid, 'available')
        self.assertEqual({}, node['instance_info'])
        self.set_instance_info(uuid, self.images)
        node = self.act('deploy', uuid, 'active')
        self.assertNotEqual(owner, self.names[node['conductor']])


class TestClusterHardwareMariaDB(ClusterHardwareMixin,
                                 base.FunctionalTestCase):
    server_url = services.MYSQL_URL
