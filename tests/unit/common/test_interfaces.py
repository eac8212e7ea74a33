"""The one list of interface types reaches every place that needs it."""

import testtools

from ironic_lite.api.controllers.v1 import node as node_api
from ironic_lite.common import interfaces
from ironic_lite.db.sqlalchemy import models


class InterfacesTest(testtools.TestCase):

    def test_every_interface_field_is_a_node_column_and_an_api_field(self):
        columns = set(models.Node.__table__.columns.keys())
        for field in interfaces.NODE_FIELDS:
            self.assertIn(field, columns)
            self.assertIn(field, node_api.FIELDS)
