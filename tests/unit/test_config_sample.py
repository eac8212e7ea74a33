"""etc/ironic-lite/ironic-lite.conf.sample lists today's options."""

import os
import subprocess
import sys

import fixtures
import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GENERATOR = os.path.join(os.path.dirname(sys.executable),
                         'oslo-config-generator')


class TestConfigSample(testtools.TestCase):

    def test_sample_is_up_to_date(self):
        output = os.path.join(self.useFixture(fixtures.TempDir()).path,
                              'sample')
        subprocess.run(
            [GENERATOR, '--config-file',
             os.path.join(ROOT, 'etc', 'ironic-lite',
                          'config-generator.conf'),
             '--output-file', output], check=True, cwd=ROOT, timeout=120)
        with open(output) as generated, open(os.path.join(
                ROOT, 'etc', 'ironic-lite',
                'ironic-lite.conf.sample')) as committed:
            self.assertEqual(generated.read(), committed.read(),
                             'Regenerate it with "tox -e genconfig"')


class TestPolicySample(testtools.TestCase):

    def test_sample_is_up_to_date(self):
        output = os.path.join(self.useFixture(fixtures.TempDir()).path,
                              'sample')
        subprocess.run(
            [os.path.join(os.path.dirname(sys.executable),
                          'oslopolicy-sample-generator'),
             '--namespace', 'ironic-lite', '--output-file', output],
            check=True, cwd=ROOT, timeout=120)
        with open(output) as generated, open(os.path.join(
                ROOT, 'etc', 'ironic-lite',
                'policy.yaml.sample')) as committed:
            self.assertEqual(generated.read(), committed.read(),
                             'Regenerate it with "tox -e genpolicy"')
