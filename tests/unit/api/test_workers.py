"""How many API worker processes ironic-lite-api starts."""

from unittest import mock

from ironic_lite.api import workers
from tests import base


class TestWorkerCount(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(base.ConfFixture())

    def test_the_option_when_set(self):
        self.config(api_workers=3, group='api')
        self.assertEqual(3, workers.worker_count())

    def test_one_per_core_by_default_at_most_four(self):
        for cores, expected in ((1, 1), (2, 2), (4, 4), (16, 4)):
            with mock.patch('os.sched_getaffinity',
                            return_value=set(range(cores))):
                self.assertEqual(expected, workers.worker_count())
