"""Node states, as Ironic names them on the wire, and the one table of the
provision state machine (``MACHINE``), shared by the API (which checks a
verb before sending it) and the conductors (which move nodes)."""

from automaton import exceptions as automaton_exceptions
from automaton import machines

# Provision states.
NOSTATE = None
ENROLL = 'enroll'
VERIFYING = 'verifying'
MANAGEABLE = 'manageable'
AVAILABLE = 'available'
ACTIVE = 'active'
DEPLOYING = 'deploying'
DEPLOYWAIT = 'wait call-back'
DEPLOYFAIL = 'deploy failed'
DEPLOYDONE = 'deploy complete'  # returned by drivers, never stored
DELETING = 'deleting'
DELETED = 'deleted'  # the verb, and what tear_down returns; never stored
CLEANING = 'cleaning'
CLEANWAIT = 'clean wait'
CLEANFAIL = 'clean failed'
INSPECTING = 'inspecting'
INSPECTWAIT = 'inspect wait'
INSPECTFAIL = 'inspect failed'
ADOPTING = 'adopting'
ADOPTFAIL = 'adopt failed'
RESCUE = 'rescue'
RESCUING = 'rescuing'
RESCUEWAIT = 'rescue wait'
RESCUEFAIL = 'rescue failed'
UNRESCUING = 'unrescuing'
UNRESCUEFAIL = 'unrescue failed'
ERROR = 'error'

# Power states.
POWER_ON = 'power on'
POWER_OFF = 'power off'
REBOOT = 'rebooting'
SOFT_REBOOT = 'soft rebooting'
SOFT_POWER_OFF = 'soft power off'
POWER_ERROR = 'error'
POWER_STATES = (POWER_ON, POWER_OFF, REBOOT, SOFT_REBOOT, SOFT_POWER_OFF)

# A node may be deleted in these provision states, or in any state while it
# is in maintenance.
DELETE_ALLOWED_STATES = frozenset({MANAGEABLE, ENROLL, ADOPTFAIL, AVAILABLE})

STABLE_STATES = frozenset({ENROLL, MANAGEABLE, AVAILABLE, ACTIVE, ERROR,
                           RESCUE})
# In-progress states a conductor fails when it finds a node left in one by
# a conductor that is gone (the work cannot be resumed).
STUCK_STATES_TREATED_AS_FAIL = frozenset({
    DEPLOYING, CLEANING, VERIFYING, INSPECTING, ADOPTING, RESCUING,
    UNRESCUING})

# API verb (``target`` of PUT .../states/provision) -> machine event.
VERBS = {
    'active': 'deploy',
    'deleted': 'delete',
    'rebuild': 'rebuild',
    'manage': 'manage',
    'provide': 'provide',
    'inspect': 'inspect',
    'abort': 'abort',
    'clean': 'clean',
    'adopt': 'adopt',
    'rescue': 'rescue',
    'unrescue': 'unrescue',
}

# state -> (target it works towards; whether it is stable)
_STATES = {
    ENROLL: (None, True),
    VERIFYING: (MANAGEABLE, False),
    MANAGEABLE: (None, True),
    AVAILABLE: (None, True),
    ACTIVE: (None, True),
    DEPLOYING: (ACTIVE, False),
    DEPLOYWAIT: (ACTIVE, False),
    DEPLOYFAIL: (ACTIVE, False),
    DELETING: (AVAILABLE, False),
    CLEANING: (AVAILABLE, False),
    CLEANWAIT: (AVAILABLE, False),
    CLEANFAIL: (AVAILABLE, False),
    INSPECTING: (MANAGEABLE, False),
    INSPECTWAIT: (MANAGEABLE, False),
    INSPECTFAIL: (MANAGEABLE, False),
    ADOPTING: (ACTIVE, False),
    ADOPTFAIL: (ACTIVE, False),
    RESCUE: (None, True),
    RESCUING: (RESCUE, False),
    RESCUEWAIT: (RESCUE, False),
    RESCUEFAIL: (RESCUE, False),
    UNRESCUING: (ACTIVE, False),
    UNRESCUEFAIL: (ACTIVE, False),
    ERROR: (None, True),
}

# (from, event, to): Ironic 12.0.0's transitions.
_TRANSITIONS = [
    (ENROLL, 'manage', VERIFYING),
    (VERIFYING, 'done', MANAGEABLE),
    (VERIFYING, 'fail', ENROLL),
    (MANAGEABLE, 'provide', CLEANING),
    (MANAGEABLE, 'clean', CLEANING),
    (MANAGEABLE, 'inspect', INSPECTING),
    (MANAGEABLE, 'adopt', ADOPTING),
    (AVAILABLE, 'deploy', DEPLOYING),
    (AVAILABLE, 'manage', MANAGEABLE),
    (DEPLOYING, 'wait', DEPLOYWAIT),
    (DEPLOYING, 'done', ACTIVE),
    (DEPLOYING, 'fail', DEPLOYFAIL),
    (DEPLOYWAIT, 'resume', DEPLOYING),
    (DEPLOYWAIT, 'fail', DEPLOYFAIL),
    (DEPLOYWAIT, 'delete', DELETING),
    (DEPLOYFAIL, 'rebuild', DEPLOYING),
    (DEPLOYFAIL, 'deploy', DEPLOYING),
    (DEPLOYFAIL, 'delete', DELETING),
    (ACTIVE, 'rebuild', DEPLOYING),
    (ACTIVE, 'delete', DELETING),
    (ACTIVE, 'rescue', RESCUING),
    (DELETING, 'clean', CLEANING),
    (DELETING, 'error', ERROR),
    (CLEANING, 'wait', CLEANWAIT),
    (CLEANING, 'done', AVAILABLE),
    (CLEANING, 'manage', MANAGEABLE),
    (CLEANING, 'fail', CLEANFAIL),
    (CLEANWAIT, 'resume', CLEANING),
    (CLEANWAIT, 'fail', CLEANFAIL),
    (CLEANWAIT, 'abort', CLEANFAIL),
    (CLEANFAIL, 'manage', MANAGEABLE),
    (ERROR, 'rebuild', DEPLOYING),
    (ERROR, 'delete', DELETING),
    (INSPECTING, 'done', MANAGEABLE),
    (INSPECTING, 'wait', INSPECTWAIT),
    (INSPECTING, 'fail', INSPECTFAIL),
    (INSPECTWAIT, 'done', MANAGEABLE),
    (INSPECTWAIT, 'fail', INSPECTFAIL),
    (INSPECTWAIT, 'abort', INSPECTFAIL),
    (INSPECTFAIL, 'manage', MANAGEABLE),
    (INSPECTFAIL, 'inspect', INSPECTING),
    (ADOPTING, 'done', ACTIVE),
    (ADOPTING, 'fail', ADOPTFAIL),
    (ADOPTFAIL, 'adopt', ADOPTING),
    (ADOPTFAIL, 'manage', MANAGEABLE),
    (RESCUING, 'done', RESCUE),
    (RESCUING, 'wait', RESCUEWAIT),
    (RESCUING, 'fail', RESCUEFAIL),
    (RESCUEWAIT, 'resume', RESCUING),
    (RESCUEWAIT, 'fail', RESCUEFAIL),
    (RESCUEWAIT, 'abort', RESCUEFAIL),
    (RESCUEWAIT, 'delete', DELETING),
    (UNRESCUING, 'done', ACTIVE),
    (UNRESCUING, 'fail', UNRESCUEFAIL),
    *((state, event, to)
      for state in (RESCUE, RESCUEFAIL, UNRESCUEFAIL)
      for event, to in (('rescue', RESCUING), ('unrescue', UNRESCUING),
                        ('delete', DELETING))),
]


def _build() -> machines.FiniteMachine:
    machine = machines.FiniteMachine()
    for state in _STATES:
        machine.add_state(state)
    for source, event, destination in _TRANSITIONS:
        machine.add_transition(source, destination, event)
    return machine


MACHINE = _build()
MACHINE.freeze()


def target_of(state: str) -> str | None:
    """The stable state ``state`` works towards (None if it is stable)."""
    return _STATES[state][0]


def is_stable(state: str) -> bool:
    return _STATES[state][1]


def next_state(state: str, event: str) -> str | None:
    """Where ``event`` takes a node in ``state``; None if it cannot."""
    if state not in _STATES:
        return None
    machine = MACHINE.copy()
    machine.initialize(state)
    try:
        machine.process_event(event)
    except (automaton_exceptions.NotFound,
            automaton_exceptions.InvalidState):
        return None
    return machine.current_state
