"""The provision state machine's table."""

import testtools

from ironic_lite.common import states


class TestMachine(testtools.TestCase):

    def test_moves(self):
        self.assertEqual(states.VERIFYING,
                         states.next_state(states.ENROLL, 'manage'))
        self.assertEqual(states.DEPLOYING,
                         states.next_state(states.DEPLOYFAIL, 'deploy'))
        self.assertEqual(states.DELETING,
                         states.next_state(states.ACTIVE, 'delete'))

    def test_invalid_moves(self):
        self.assertIsNone(states.next_state(states.ENROLL, 'deploy'))
        self.assertIsNone(states.next_state(states.ACTIVE, 'no-such-event'))
        self.assertIsNone(states.next_state('no-such-state', 'deploy'))

    def test_every_verb_is_an_event_of_the_machine(self):
        events = {event for _, event, _ in states._TRANSITIONS}
        self.assertLessEqual(set(states.VERBS.values()), events)

    def test_targets(self):
        self.assertEqual(states.ACTIVE, states.target_of(states.DEPLOYING))
        self.assertIsNone(states.target_of(states.AVAILABLE))
        self.assertTrue(states.is_stable(states.ENROLL))
        self.assertFalse(states.is_stable(states.DEPLOYFAIL))
