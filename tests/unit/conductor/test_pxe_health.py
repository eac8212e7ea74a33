"""The PXE health probe against real directories and a real HTTP server on
127.0.0.1."""

import datetime
import os

import fixtures

from ironic_lite.conductor import pxe_health
from tests import base
from tests import http_files

_NOW = datetime.datetime(2026, 12, 2, 10, 0, 0)


class TestProbe(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(base.ConfFixture())
        root = self.useFixture(fixtures.TempDir()).path
        self.tftp_root = os.path.join(root, 'tftpboot')
        self.http_root = os.path.join(root, 'httpboot')
        images = os.path.join(root, 'images')
        for path in (self.tftp_root, self.http_root, images):
            os.mkdir(path)
        self.kernel = os.path.join(images, 'ipa.kernel')
        self.ramdisk = os.path.join(images, 'ipa.initramfs')
        for path in (self.kernel, self.ramdisk):
            with open(path, 'wb') as f:
                f.write(b'image')
        self.server = self.useFixture(http_files.FileServer(self.http_root))
        self.config(tftp_root=self.tftp_root, group='pxe')
        self.config(http_root=self.http_root, http_url=self.server.url,
                    group='deploy')
        self.config(deploy_kernel=self.kernel,
                    deploy_ramdisk='file://' + self.ramdisk,
                    pxe_health_timeout=2, group='conductor')

    def probe(self) -> dict:
        return pxe_health.probe(now=lambda: _NOW)

    def statuses(self, health: dict) -> dict:
        return {name: check['status']
                for name, check in health['checks'].items()}

    def test_healthy(self):
        health = self.probe()
        self.assertEqual(
            {'checked_at': '2026-12-02T10:00:00+00:00', 'ok': True,
             'checks': {name: {'status': 'ok', 'error': None}
                        for name in ('tftp_root', 'http_root',
                                     'deploy_kernel', 'deploy_ramdisk',
                                     'http_url')}}, health)
        # The probe files are gone.
        self.assertEqual([], os.listdir(self.http_root))
        self.assertEqual([], os.listdir(self.tftp_root))

    def test_tftp_root_removed(self):
        os.rmdir(self.tftp_root)
        health = self.probe()
        self.assertFalse(health['ok'])
        self.assertEqual({'status': 'failed', 'error': '%s does not exist '
                          'or is not a directory' % self.tftp_root},
                         health['checks']['tftp_root'])
        self.assertEqual('ok', health['checks']['http_root']['status'])

    def test_root_not_writable(self):
        if os.geteuid() == 0:
            self.skipTest('root writes to any directory')
        os.chmod(self.http_root, 0o555)
        self.addCleanup(os.chmod, self.http_root, 0o755)
        health = self.probe()
        self.assertEqual('failed', health['checks']['http_root']['status'])
        self.assertIn('is not writable', health['checks']['http_root'][
            'error'])
        self.assertIn('could not write a probe file',
                      health['checks']['http_url']['error'])

    def test_kernel_missing(self):
        os.unlink(self.kernel)
        health = self.probe()
        self.assertEqual(
            {'status': 'failed', 'error': '[conductor]deploy_kernel %s is '
             'not a file' % self.kernel}, health['checks']['deploy_kernel'])
        self.assertEqual('ok', health['checks']['deploy_ramdisk']['status'])

    def test_images_over_http(self):
        os.rename(self.kernel, os.path.join(self.http_root, 'k'))
        self.config(deploy_kernel=self.server.url + '/k',
                    deploy_ramdisk=self.server.url + '/nope',
                    group='conductor')
        health = self.probe()
        self.assertEqual('ok', health['checks']['deploy_kernel']['status'])
        self.assertEqual(
            {'status': 'failed',
             'error': 'GET %s/nope answered 404 File not found'
                      % self.server.url},
            health['checks']['deploy_ramdisk'])

    def test_http_server_down(self):
        self.server.stop()
        health = self.probe()
        check = health['checks']['http_url']
        self.assertEqual('failed', check['status'])
        self.assertIn('GET %s/.pxe-health-' % self.server.url,
                      check['error'])
        self.assertIn('refused', check['error'])
        self.assertEqual([], os.listdir(self.http_root))

    def test_http_url_serving_another_directory(self):
        other = self.useFixture(fixtures.TempDir()).path
        elsewhere = self.useFixture(http_files.FileServer(other))
        self.config(http_url=elsewhere.url + '/', group='deploy')
        check = self.probe()['checks']['http_url']
        self.assertEqual('failed', check['status'])
        self.assertIn('404', check['error'])

    def test_nothing_configured(self):
        self.config(deploy_kernel=None, deploy_ramdisk=None,
                    group='conductor')
        self.config(http_url=None, group='deploy')
        health = self.probe()
        self.assertTrue(health['ok'])
        self.assertEqual({'tftp_root': 'ok', 'http_root': 'ok',
                          'deploy_kernel': 'not_configured',
                          'deploy_ramdisk': 'not_configured',
                          'http_url': 'not_configured'},
                         self.statuses(health))
        self.assertEqual('[deploy]http_url is not set',
                         health['checks']['http_url']['error'])
