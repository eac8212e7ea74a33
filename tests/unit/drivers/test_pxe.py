"""PXE and iPXE boot files, written for real in a temporary directory."""

import functools
import http.server
import os
import threading

from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conf import CONF
from ironic_lite.drivers.modules import pxe
from tests import base
from tests.unit.drivers import task as task_double

MAC1 = '52:54:00:12:34:56'
MAC2 = '52:54:00:ab:cd:ef'


class PXETestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.images = os.path.join(self.conf_fixture.state_path, 'images')
        os.makedirs(self.images)
        for name in ('deploy_kernel', 'deploy_ramdisk', 'kernel', 'ramdisk'):
            with open(os.path.join(self.images, name), 'w') as f:
                f.write('%s bytes' % name)
        self.outside = os.path.join(self.conf_fixture.state_path, 'outside')
        os.makedirs(self.outside)
        self.calls = []

    @property
    def tftp_root(self):
        return CONF.pxe.tftp_root

    def image(self, name):
        return os.path.join(self.images, name)

    def task(self, boot=None, ports=None, **node_values):
        node_values.setdefault('driver_info', {
            'deploy_kernel': self.image('deploy_kernel'),
            'deploy_ramdisk': 'file://' + self.image('deploy_ramdisk')})
        node_values.setdefault('instance_info', {
            'image_source': 'file://' + self.image('kernel'),
            'kernel': self.image('kernel'),
            'ramdisk': 'file://' + self.image('ramdisk'),
            'ramdisk_kernel_arguments': 'console=ttyS0'})
        node = task_double.make_node(**node_values)
        if ports is None:
            ports = [task_double.make_port(MAC1),
                     task_double.make_port(MAC2, pxe_enabled=False)]
        return task_double.Task(
            node, ports, boot=boot or pxe.PXEBoot(),
            management=task_double.RecordingManagement(self.calls))

    def read(self, *parts):
        with open(os.path.join(*parts)) as f:
            return f.read()

    def assertNothingOutside(self):
        self.assertEqual([], os.listdir(self.outside))

    def leftovers(self, root):
        return [name for _, _, names in os.walk(root) for name in names
                if name.startswith('.tmp-')]


class TestPrepareInstance(PXETestCase):

    def test_files_links_and_boot_device(self):
        task = self.task()
        task.driver.boot.prepare_instance(task)
        uuid = task.node.uuid
        node_dir = os.path.join(self.tftp_root, uuid)
        self.assertEqual(['config', 'kernel', 'ramdisk'],
                         sorted(os.listdir(node_dir)))
        self.assertEqual('kernel bytes', self.read(node_dir, 'kernel'))
        self.assertEqual('ramdisk bytes', self.read(node_dir, 'ramdisk'))
        config = self.read(node_dir, 'config')
        self.assertTrue(config.startswith('default boot_ramdisk\n'))
        self.assertIn('kernel %s/kernel\n' % uuid, config)
        self.assertIn('append initrd=%s/ramdisk root=/dev/ram0 text nofb '
                      'nomodeset vga=normal console=ttyS0\n' % uuid, config)
        self.assertIn('label deploy\nkernel %s/deploy_kernel\n' % uuid,
                      config)
        link = os.path.join(self.tftp_root, 'pxelinux.cfg',
                            '01-52-54-00-12-34-56')
        self.assertEqual('../%s/config' % uuid, os.readlink(link))
        self.assertEqual(config, self.read(link))
        # The port that does not PXE boot gets no link.
        self.assertEqual(['01-52-54-00-12-34-56'],
                         os.listdir(os.path.join(self.tftp_root,
                                                 'pxelinux.cfg')))
        self.assertEqual([('bootdev', 'pxe', True)], self.calls)
        self.assertEqual([], self.leftovers(self.tftp_root))

    def test_active_node_gets_its_files_and_no_bmc_call(self):
        task = self.task(provision_state=states.ACTIVE)
        task.driver.boot.prepare_instance(task)
        self.assertTrue(os.path.exists(os.path.join(
            self.tftp_root, task.node.uuid, 'config')))
        self.assertEqual([], self.calls)

    def test_rewriting_replaces_files(self):
        task = self.task()
        task.driver.boot.prepare_instance(task)
        task.node.instance_info['ramdisk_kernel_arguments'] = 'quiet'
        task.driver.boot.prepare_instance(task)
        config = self.read(self.tftp_root, task.node.uuid, 'config')
        self.assertIn('vga=normal quiet\n', config)
        self.assertEqual([], self.leftovers(self.tftp_root))

    def test_infiniband_port_link_prefix(self):
        task = self.task(ports=[task_double.make_port(
            MAC1, **{'client-id': 'ff:00:00:00'})])
        task.driver.boot.prepare_instance(task)
        self.assertEqual(['20-52-54-00-12-34-56'],
                         os.listdir(os.path.join(self.tftp_root,
                                                 'pxelinux.cfg')))

    def test_append_params_option(self):
        self.config(pxe_append_params='ipa-debug=1', group='pxe')
        task = self.task()
        task.driver.boot.prepare_instance(task)
        self.assertIn('root=/dev/ram0 text ipa-debug=1 console=ttyS0',
                      self.read(self.tftp_root, task.node.uuid, 'config'))

    def test_missing_image_file(self):
        task = self.task()
        task.node.instance_info['kernel'] = self.image('nope')
        e = self.assertRaises(exception.PXEFailure,
                              task.driver.boot.prepare_instance, task)
        self.assertIn('is not a regular file', str(e))

    def test_device_is_not_an_image(self):
        task = self.task()
        task.node.instance_info['kernel'] = '/dev/zero'
        self.assertRaises(exception.PXEFailure,
                          task.driver.boot.prepare_instance, task)


class TestPrepareRamdisk(PXETestCase):

    def test_deploy_files_and_boot_device(self):
        task = self.task()
        task.driver.boot.prepare_ramdisk(task, {})
        node_dir = os.path.join(self.tftp_root, task.node.uuid)
        self.assertEqual(['config', 'deploy_kernel', 'deploy_ramdisk'],
                         sorted(os.listdir(node_dir)))
        config = self.read(node_dir, 'config')
        self.assertTrue(config.startswith('default deploy\n'))
        self.assertIn('append initrd=%s/deploy_ramdisk selinux=0 '
                      'troubleshoot=0 text nofb nomodeset vga=normal '
                      'coreos.configdrive=0\nipappend 2\n'
                      % task.node.uuid, config)
        self.assertEqual([('bootdev', 'pxe', False)], self.calls)

    def test_forced_persistent_boot_device(self):
        task = self.task()
        task.node.driver_info['force_persistent_boot_device'] = 'True'
        task.driver.boot.prepare_ramdisk(task, {})
        self.assertEqual([('bootdev', 'pxe', True)], self.calls)

    def test_conductor_default_deploy_images(self):
        # As Ironic: a node whose driver_info names no deploy image boots
        # [conductor]deploy_kernel and deploy_ramdisk.
        self.config(deploy_kernel=self.image('deploy_kernel'),
                    deploy_ramdisk='file://' + self.image('deploy_ramdisk'),
                    group='conductor')
        task = self.task(driver_info={'deploy_kernel': self.image('kernel')})
        task.driver.boot.validate(task)
        task.driver.boot.prepare_ramdisk(task, {})
        node_dir = os.path.join(self.tftp_root, task.node.uuid)
        self.assertEqual('kernel bytes', self.read(node_dir, 'deploy_kernel'))
        self.assertEqual('deploy_ramdisk bytes',
                         self.read(node_dir, 'deploy_ramdisk'))

    def test_clean_up_ramdisk_removes_only_the_deploy_images(self):
        task = self.task()
        task.driver.boot.prepare_ramdisk(task, {})
        task.driver.boot.clean_up_ramdisk(task)
        self.assertEqual(['config'], os.listdir(
            os.path.join(self.tftp_root, task.node.uuid)))


class TestCleanUp(PXETestCase):

    def test_removes_the_node_dir_and_its_links_only(self):
        mine = self.task()
        other = self.task(ports=[task_double.make_port(MAC2)])
        mine.driver.boot.prepare_instance(mine)
        other.driver.boot.prepare_instance(other)
        # A port deleted since: its link still goes.
        mine.ports = []
        mine.driver.boot.clean_up_instance(mine)
        self.assertEqual(sorted(['pxelinux.cfg', other.node.uuid]),
                         sorted(os.listdir(self.tftp_root)))
        self.assertEqual(['01-52-54-00-ab-cd-ef'], os.listdir(
            os.path.join(self.tftp_root, 'pxelinux.cfg')))

    def test_nothing_to_clean(self):
        task = self.task()
        task.driver.boot.clean_up_instance(task)
        task.driver.boot.clean_up_ramdisk(task)

    def test_planted_node_dir_link_is_removed_not_followed(self):
        task = self.task()
        os.makedirs(self.tftp_root)
        with open(os.path.join(self.outside, 'precious'), 'w') as f:
            f.write('keep')
        os.symlink(self.outside, os.path.join(self.tftp_root,
                                              task.node.uuid))
        task.driver.boot.clean_up_instance(task)
        self.assertEqual(['precious'], os.listdir(self.outside))
        self.assertFalse(os.path.lexists(
            os.path.join(self.tftp_root, task.node.uuid)))


class TestPathEscapes(PXETestCase):

    def test_safe_path_refuses_components_that_leave_the_root(self):
        root = os.path.join(self.conf_fixture.state_path, 'root')
        for parts in (('..',), ('../outside',), ('a', '..', '..'),
                      ('/etc/passwd',), ('a\x00b',), ('',), ('.',),
                      ('a/b',)):
            self.assertRaises(exception.PXEFailure, pxe.safe_path, root,
                              *parts)
        self.assertEqual(os.path.join(os.path.realpath(root), 'a', 'b'),
                         pxe.safe_path(root, 'a', 'b'))

    def test_safe_path_refuses_a_planted_directory_link(self):
        root = os.path.join(self.conf_fixture.state_path, 'root')
        os.makedirs(root)
        os.symlink(self.outside, os.path.join(root, 'escape'))
        e = self.assertRaises(exception.PXEFailure, pxe.safe_path, root,
                              'escape', 'file')
        self.assertIn('leads outside', str(e))

    def test_node_uuid_cannot_name_a_path(self):
        for uuid in ('../../outside', '/tmp/x', '..', 'a\x00b',
                     'not-a-uuid'):
            task = self.task(uuid=uuid)
            self.assertRaises(exception.PXEFailure,
                              task.driver.boot.prepare_instance, task)
            self.assertRaises(exception.PXEFailure,
                              task.driver.boot.clean_up_instance, task)
        self.assertNothingOutside()

    def test_port_address_cannot_name_a_path(self):
        for address in ('../../outside/x', '/etc/passwd', 'aa:bb\x00',
                        '52:54:00:12:34:56/..'):
            task = self.task(ports=[task_double.make_port(address)])
            self.assertRaises(exception.PXEFailure,
                              task.driver.boot.prepare_instance, task)
            self.assertRaises(exception.InvalidParameterValue,
                              task.driver.boot.validate, task)
        self.assertNothingOutside()

    def test_planted_directory_links_refused(self):
        for name in ('node dir', 'pxelinux.cfg'):
            task = self.task()
            if name == 'node dir':
                name = task.node.uuid
            link = os.path.join(self.tftp_root, name)
            os.makedirs(self.tftp_root, exist_ok=True)
            os.symlink(self.outside, link)
            self.assertRaises(exception.PXEFailure,
                              task.driver.boot.prepare_instance, task)
            self.assertNothingOutside()
            os.unlink(link)

    def test_planted_file_links_are_replaced_not_written_through(self):
        task = self.task()
        victim = os.path.join(self.outside, 'victim')
        with open(victim, 'w') as f:
            f.write('untouched')
        node_dir = os.path.join(self.tftp_root, task.node.uuid)
        os.makedirs(node_dir)
        os.makedirs(os.path.join(self.tftp_root, 'pxelinux.cfg'))
        for path in (os.path.join(node_dir, 'config'),
                     os.path.join(node_dir, 'kernel'),
                     os.path.join(self.tftp_root, 'pxelinux.cfg',
                                  '01-52-54-00-12-34-56')):
            os.symlink(victim, path)
        task.driver.boot.prepare_instance(task)
        self.assertEqual('untouched', self.read(victim))
        self.assertFalse(os.path.islink(os.path.join(node_dir, 'config')))
        self.assertEqual('kernel bytes', self.read(node_dir, 'kernel'))


class TestValidate(PXETestCase):

    def test_valid(self):
        task = self.task()
        task.driver.boot.validate(task)

    def test_no_ports(self):
        task = self.task(ports=[])
        e = self.assertRaises(exception.MissingParameterValue,
                              task.driver.boot.validate, task)
        self.assertEqual('Node %s does not have any port associated with '
                         'it.' % task.node.uuid, str(e))

    def test_missing_deploy_images(self):
        task = self.task(driver_info={})
        e = self.assertRaises(exception.MissingParameterValue,
                              task.driver.boot.validate, task)
        self.assertEqual("Cannot validate PXE bootloader. Some parameters "
                         "were missing in node's driver_info. Missing are: "
                         "['deploy_kernel', 'deploy_ramdisk']", str(e))
        task = self.task(driver_info={'deploy_kernel': '/k'})
        e = self.assertRaises(exception.MissingParameterValue,
                              task.driver.boot.validate, task)
        self.assertTrue(str(e).endswith("Missing are: ['deploy_ramdisk']"))

    def test_missing_instance_info(self):
        task = self.task(instance_info={})
        e = self.assertRaises(exception.MissingParameterValue,
                              task.driver.boot.validate, task)
        self.assertEqual(
            'Cannot validate image information for node %s because one or '
            'more parameters are missing from its instance_info. Missing '
            "are: ['image_source', 'kernel', 'ramdisk']" % task.node.uuid,
            str(e))

    def test_unsupported_image_reference(self):
        task = self.task()
        task.node.instance_info['kernel'] = 'glance-image-id'
        e = self.assertRaises(exception.InvalidParameterValue,
                              task.driver.boot.validate, task)
        self.assertIn('kernel in instance_info "glance-image-id" is not '
                      'supported', str(e))

    def test_kernel_arguments_are_one_line(self):
        task = self.task()
        task.node.instance_info['ramdisk_kernel_arguments'] = \
            'a\nlabel evil'
        self.assertRaises(exception.InvalidParameterValue,
                          task.driver.boot.validate, task)
        self.assertRaises(exception.PXEFailure,
                          task.driver.boot.prepare_instance, task)

    def test_ipxe_needs_http_url(self):
        task = self.task(boot=pxe.IPXEBoot())
        e = self.assertRaises(exception.MissingParameterValue,
                              task.driver.boot.validate, task)
        self.assertEqual('iPXE boot is enabled but no HTTP URL or HTTP root '
                         'was specified.', str(e))

    def test_properties_and_capability(self):
        for boot in (pxe.PXEBoot(), pxe.IPXEBoot()):
            self.assertIn('ramdisk_boot', boot.capabilities)
            self.assertEqual({'deploy_kernel', 'deploy_ramdisk',
                              'force_persistent_boot_device'},
                             set(boot.get_properties()))


class TestIPXE(PXETestCase):

    def setUp(self):
        super().setUp()
        self.config(http_url='http://192.0.2.1:8080/', group='deploy')

    def test_files_under_http_root(self):
        task = self.task(boot=pxe.IPXEBoot())
        task.driver.boot.validate(task)
        task.driver.boot.prepare_instance(task)
        root = CONF.deploy.http_root
        self.assertFalse(os.path.exists(self.tftp_root))
        uuid = task.node.uuid
        config = self.read(root, uuid, 'config')
        self.assertTrue(config.startswith('#!ipxe\n'))
        self.assertIn('goto boot_ramdisk\n', config)
        self.assertIn('kernel http://192.0.2.1:8080/%s/kernel root=/dev/ram0 '
                      'text nofb nomodeset vga=normal console=ttyS0 '
                      'initrd=ramdisk' % uuid, config)
        self.assertIn('BOOTIF=${mac}', config)
        link = os.path.join(root, 'pxelinux.cfg', '52-54-00-12-34-56')
        self.assertEqual('../%s/config' % uuid, os.readlink(link))
        script = self.read(root, 'boot.ipxe')
        self.assertIn('chain --autofree pxelinux.cfg/${net${idx}/mac:hexhyp}',
                      script)
        self.assertEqual('kernel bytes', self.read(root, uuid, 'kernel'))

    def test_boot_script_rewritten_only_when_changed(self):
        task = self.task(boot=pxe.IPXEBoot())
        task.driver.boot.prepare_ramdisk(task, {})
        path = os.path.join(CONF.deploy.http_root, 'boot.ipxe')
        before = os.stat(path).st_ino
        task.driver.boot.prepare_instance(task)
        self.assertEqual(before, os.stat(path).st_ino)
        with open(path, 'w') as f:
            f.write('#!ipxe\nexit\n')
        task.driver.boot.prepare_instance(task)
        self.assertIn('next_nic', self.read(path))

    def test_deploy_label(self):
        task = self.task(boot=pxe.IPXEBoot())
        task.driver.boot.prepare_ramdisk(task, {})
        config = self.read(CONF.deploy.http_root, task.node.uuid, 'config')
        self.assertIn('goto deploy\n', config)
        self.assertIn('initrd http://192.0.2.1:8080/%s/deploy_ramdisk'
                      % task.node.uuid, config)


class _Quiet(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


class TestDownload(PXETestCase):

    def setUp(self):
        super().setUp()
        handler = functools.partial(_Quiet, directory=self.images)
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      handler)
        thread = threading.Thread(target=self.server.serve_forever,
                                  daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]

    def test_images_downloaded(self):
        task = self.task()
        task.node.instance_info.update(kernel=self.url + '/kernel',
                                       ramdisk=self.url + '/ramdisk')
        task.driver.boot.validate(task)
        task.driver.boot.prepare_instance(task)
        node_dir = os.path.join(self.tftp_root, task.node.uuid)
        self.assertEqual('kernel bytes', self.read(node_dir, 'kernel'))
        self.assertEqual('ramdisk bytes', self.read(node_dir, 'ramdisk'))

    def test_missing_image_on_the_server(self):
        task = self.task()
        task.node.instance_info['kernel'] = self.url + '/nope'
        e = self.assertRaises(exception.PXEFailure,
                              task.driver.boot.prepare_instance, task)
        self.assertIn('failed to download %s/nope' % self.url, str(e))
        self.assertEqual([], self.leftovers(self.tftp_root))
