"""patching.apply: what a patch changes, and what it leaves alone."""

import types

from ironic_lite.api.controllers.v1 import node as node_api
from ironic_lite.api.controllers.v1 import patching
from ironic_lite.common import exception
from tests import base


class TestApply(base.TestCase):

    def setUp(self):
        super().setUp()
        self.request = types.SimpleNamespace(version=49)
        self.document = {'extra': {'a': {'b': 1}}, 'properties': {'c': [1]},
                         'driver_info': {'d': 'e'}, 'name': 'node-1'}

    def apply(self, patch):
        return patching.apply(self.request, node_api.FIELDS, self.document,
                              patch)

    def test_only_what_the_patch_touches_changes_and_nothing_read(self):
        changes = self.apply([
            {'op': 'add', 'path': '/extra/a/x', 'value': 2},
            {'op': 'remove', 'path': '/properties/c'}])

        self.assertEqual({'extra': {'a': {'b': 1, 'x': 2}},
                          'properties': {}}, changes)
        # The node as read is not changed (it may be patched again).
        self.assertEqual({'extra': {'a': {'b': 1}}, 'properties': {'c': [1]},
                          'driver_info': {'d': 'e'}, 'name': 'node-1'},
                         self.document)

    def test_a_later_operation_leaves_an_earlier_value_alone(self):
        value = {'k': 1}
        patch = [{'op': 'add', 'path': '/extra/new', 'value': value},
                 {'op': 'add', 'path': '/extra/new/k', 'value': 2}]

        self.assertEqual({'extra': {'a': {'b': 1}, 'new': {'k': 2}}},
                         self.apply(patch))
        self.assertEqual({'k': 1}, value)

    def test_a_failing_operation_changes_nothing(self):
        self.assertRaises(exception.PatchError, self.apply, [
            {'op': 'add', 'path': '/extra/a/y', 'value': 3},
            {'op': 'remove', 'path': '/extra/missing'}])
        self.assertEqual({'a': {'b': 1}}, self.document['extra'])

