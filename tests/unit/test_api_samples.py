"""The API reference's samples are what the API answers today."""

import os
import subprocess
import sys

import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class TestAPISamples(testtools.TestCase):

    def test_samples_are_up_to_date(self):
        result = subprocess.run(
            [sys.executable, os.path.join(ROOT, 'tools', 'api_samples.py'),
             '--check'], capture_output=True, text=True, cwd=ROOT,
            timeout=300)
        self.assertEqual(0, result.returncode,
                         'Regenerate them with "tox -e samples":\n%s%s'
                         % (result.stdout, result.stderr))
