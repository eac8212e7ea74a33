"""common/ring_position.py stands below the database and the hash ring."""

import subprocess
import sys

from tests import base


class RingPositionLayeringTest(base.TestCase):

    def test_models_do_not_import_the_hash_ring(self):
        # The hash ring imports the database; the models importing the ring
        # back was an import cycle. A fresh interpreter shows what loading
        # the models really pulls in.
        code = ('import sys\n'
                'import ironic_lite.db.sqlalchemy.models\n'
                'print("ironic_lite.common.hash_ring" in sys.modules)\n')
        result = subprocess.run([sys.executable, '-c', code], check=True,
                                capture_output=True, text=True)
        self.assertEqual('False', result.stdout.strip())
