"""Power actions on a node, as Ironic runs them.

The RPC part (:func:`start_power_action`) runs under the node's lock and
returns once the node shows its ``target_power_state``; the driver is
called in the worker pool (:func:`node_power_action`), which always ends
with ``target_power_state`` null, whatever the driver does: it may raise,
or never return (the conductor stops waiting for it after the action's
timeout and ``[conductor]power_driver_grace``).
"""

import threading

from oslo_log import log

from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conductor import task_manager
from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)

# Requested power state -> the state the node is in once it is done.
TARGETS = {
    states.POWER_ON: states.POWER_ON,
    states.REBOOT: states.POWER_ON,
    states.SOFT_REBOOT: states.POWER_ON,
    states.POWER_OFF: states.POWER_OFF,
    states.SOFT_POWER_OFF: states.POWER_OFF,
}
_REBOOTS = {states.REBOOT: False, states.SOFT_REBOOT: True}
_SOFT = frozenset({states.SOFT_REBOOT, states.SOFT_POWER_OFF})


def start_power_action(task, new_state: str,
                       timeout: int | None = None) -> None:
    """Validate, show the target and hand the action to the worker pool.

    :raises InvalidParameterValue, MissingParameterValue: the node's power
        data is wrong, or its driver cannot reach ``new_state``.
    :raises NoFreeConductorWorker: the pool is full; the node is as before
        but for ``last_error``.
    """
    node = task.node
    power = task.driver.power
    power.validate(task)
    if new_state not in TARGETS or \
            new_state not in power.get_supported_power_states(task):
        raise exception.InvalidParameterValue(
            err='The driver %s does not support the power state, %s'
                % (node.driver, new_state))
    previous = node.power_state

    def no_worker(task):
        task.update({'power_state': previous, 'target_power_state': None,
                     'last_error': task_manager.NO_FREE_WORKER})

    task.update({'target_power_state': TARGETS[new_state],
                 'last_error': None})
    task.spawn_after(no_worker, node_power_action, task, new_state, timeout)


def node_power_action(task, requested: str,
                      timeout: int | None = None) -> None:
    """Drive the node to ``requested`` and record the outcome: on success
    ``power_state`` is the target; on failure ``last_error`` says why.
    ``target_power_state`` ends null either way."""
    target = TARGETS[requested]
    finished = False
    try:
        finished = _act(task, requested, target, timeout)
    finally:
        if not finished:
            # _act failed to record its outcome (the database?): the node
            # must not keep showing an action in progress.
            _clear_target(task)


def _act(task, requested: str, target: str, timeout: int | None) -> bool:
    node = task.node
    if requested not in _REBOOTS:
        try:
            current = read_power_state(task)
        except Exception as e:
            LOG.warning('Could not read the power state of node %s before '
                        'changing it: %s', node.uuid, e)
            task.update({'target_power_state': None,
                         'last_error': "Failed to change power state to "
                                       "'%s'. Error: %s" % (requested, e)})
            return True
        if current == target:
            LOG.info('Node %s is already in power state %s', node.uuid,
                     target)
            task.update({'power_state': current, 'target_power_state': None,
                         'last_error': None})
            return True
        if current == states.POWER_ERROR:
            LOG.warning('The driver of node %s reports the power state '
                        '"error"; trying to reach %s anyway', node.uuid,
                        target)
    if timeout is None:
        timeout = (CONF.conductor.soft_power_off_timeout
                   if requested in _SOFT
                   else CONF.conductor.power_state_change_timeout)
    try:
        _change(task, requested, target, timeout)
    except Exception as e:
        LOG.warning('Changing the power state of node %s to %s failed: %s',
                    node.uuid, requested, e)
        values = {'target_power_state': None,
                  'last_error': "Failed to change power state to '%s' by "
                                "'%s'. Error: %s" % (target, requested, e)}
        try:
            values['power_state'] = read_power_state(task)
        except Exception as read_error:
            LOG.warning('Could not read the power state of node %s after '
                        'the failure: %s', node.uuid, read_error)
        task.update(values)
        return True
    task.update({'power_state': target, 'target_power_state': None})
    LOG.info('Node %s reached power state %s (%s)', node.uuid, target,
             requested)
    return True


def _change(task, requested: str, target: str, timeout: int) -> None:
    power = task.driver.power
    if requested in _REBOOTS:
        call, args = power.reboot, (task, timeout, _REBOOTS[requested])
    else:
        call, args = power.set_power_state, (task, requested, timeout)
    within(timeout + CONF.conductor.power_driver_grace, call, *args,
           failure=exception.PowerStateFailure(pstate=target))


def read_power_state(task) -> str:
    """The node's power state as its driver reads it (``error`` when the
    hardware says nothing sensible).

    :raises: whatever the driver raises, or DriverOperationError when it
        does not answer within ``[conductor]power_driver_grace`` seconds.
    """
    return within(CONF.conductor.power_driver_grace,
                  task.driver.power.get_power_state, task,
                  failure=exception.DriverOperationError(
                      err='The power state could not be read within %d '
                          'seconds.' % CONF.conductor.power_driver_grace))


def _clear_target(task) -> None:
    try:
        task.update({'target_power_state': None})
    except Exception:
        LOG.exception('Could not clear the target power state of node %s; '
                      'the conductor clears it when it starts again',
                      task.node.uuid)


def within(seconds: float, call, *args, failure: Exception):
    """``call(*args)``, or ``failure`` raised once it has run ``seconds``
    seconds without returning.

    A driver call cannot be interrupted: the call goes on in its own
    thread, and the node's lock is given back while it runs, rather than
    held for as long as a broken BMC or tool makes it hang.
    """
    outcome = {}
    done = threading.Event()

    def run():
        try:
            outcome['value'] = call(*args)
        except BaseException as e:
            outcome['error'] = e
        finally:
            done.set()

    thread = threading.Thread(target=run, daemon=True,
                              name='driver-%s' % call.__name__)
    thread.start()
    if not done.wait(seconds):
        LOG.error('%s did not return within %s seconds; giving up on it',
                  call.__qualname__, seconds)
        raise failure
    if 'error' in outcome:
        raise outcome['error']
    return outcome['value']
