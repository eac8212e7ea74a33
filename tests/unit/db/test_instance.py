"""The process-wide database connection: made on first use, discarded
before a fork."""

from unittest import mock

from ironic_lite.db import api as db_api
from tests import base


class DiscardInstanceTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(db_api.set_instance, None)

    def test_the_connection_made_is_disposed_and_forgotten(self):
        connection = mock.Mock()
        db_api.set_instance(connection)
        db_api.discard_instance()
        connection.dispose.assert_called_once_with()
        self.assertIsNone(db_api._INSTANCE)

    def test_none_made_none_made_now(self):
        db_api.set_instance(None)
        with mock.patch('ironic_lite.db.sqlalchemy.api.Connection') as made:
            db_api.discard_instance()
        made.assert_not_called()
        self.assertIsNone(db_api._INSTANCE)
