"""Changes computed from a node as read, applied to the node as it is."""

import types

import testtools

from ironic_lite.conductor import rebase


def node(**fields):
    return types.SimpleNamespace(**fields)


class TestRebase(testtools.TestCase):

    def test_unchanged_node_takes_the_changes_as_they_are(self):
        changes = {'name': 'b', 'extra': {'x': 1}}
        self.assertEqual(
            (changes, []),
            rebase.rebase(changes, {'name': 'a', 'extra': {}},
                          node(name='a', extra={})))

    def test_a_changed_value_is_a_conflict(self):
        self.assertEqual(
            ({'name': 'b'}, ['name']),
            rebase.rebase({'name': 'b'}, {'name': 'a'}, node(name='c')))

    def test_other_keys_of_a_document_are_merged(self):
        base = {'keep': 0, 'edit': 1, 'drop': 2}
        new = {'keep': 0, 'edit': 10, 'add': 3}
        now = {'keep': 0, 'edit': 1, 'drop': 2, 'theirs': 4}
        self.assertEqual(
            ({'extra': {'keep': 0, 'edit': 10, 'theirs': 4, 'add': 3}}, []),
            rebase.rebase({'extra': new}, {'extra': base}, node(extra=now),
                          mergeable={'extra'}))

    def test_a_document_replaced_whole_is_never_merged(self):
        # PATCH replace /extra {"a": 1} means extra is {"a": 1} after it,
        # whatever another client added meanwhile.
        self.assertEqual(
            ['extra'],
            rebase.rebase({'extra': {'a': 1}}, {'extra': {}},
                          node(extra={'b': 2}))[1])

    def test_the_same_key_changed_by_both_is_a_conflict(self):
        for now in ({'b': 5}, {'a': 1, 'b': None}):
            self.assertEqual(
                ['extra'],
                rebase.rebase({'extra': {'a': 1, 'b': 3}},
                              {'extra': {'a': 1}}, node(extra=now),
                              mergeable={'extra'})[1],
                now)
        # A key removed by one and changed by the other.
        self.assertEqual(
            ['extra'],
            rebase.rebase({'extra': {}}, {'extra': {'a': 1}},
                          node(extra={'a': {'deep': 1}}),
                          mergeable={'extra'})[1])

    def test_keys_the_changes_do_not_touch_may_differ(self):
        for now in ({'a': 2}, {}):
            self.assertEqual(
                ({'extra': {**now, 'b': 3}}, []),
                rebase.rebase({'extra': {'a': 1, 'b': 3}},
                              {'extra': {'a': 1}}, node(extra=now),
                              mergeable={'extra'}))

    def test_a_nested_change_conflicts_on_its_top_key(self):
        self.assertEqual(
            ['properties'],
            rebase.rebase({'properties': {'d': {'x': 1, 'y': 2}}},
                          {'properties': {'d': {'x': 1}}},
                          node(properties={'d': {'x': 1, 'z': 3}}),
                          mergeable={'properties'})[1])

    def test_values_compare_as_json(self):
        self.assertEqual(
            ['extra'],
            rebase.rebase({'extra': {'a': 2}}, {'extra': {'a': True}},
                          node(extra={'a': 1}))[1])
        self.assertEqual(
            ({'maintenance': True}, ['maintenance']),
            rebase.rebase({'maintenance': True}, {'maintenance': 0},
                          node(maintenance=False)))
        nan = float('nan')
        self.assertEqual(
            [], rebase.rebase({'extra': {'a': 1}}, {'extra': {'a': nan}},
                              node(extra={'a': nan}))[1])
        self.assertEqual(
            [], rebase.rebase({'extra': {}}, {'extra': {'a': 1, 'b': 2}},
                              node(extra={'b': 2, 'a': 1}))[1])

    def test_a_document_replaced_by_something_else_is_a_conflict(self):
        self.assertEqual(
            ['extra'],
            rebase.rebase({'extra': {'a': 1}}, {'extra': {}},
                          node(extra=None))[1])
