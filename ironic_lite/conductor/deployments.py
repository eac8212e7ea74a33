"""Provision work: deploy, tear down, verify, clean, inspect, adopt, abort,
and the passes that fail what can no longer go on (callback timeouts, the
nodes of dead conductors, the nodes left in flight by a restart).

Each RPC entry point takes the node's lock, checks what must be answered
at once (the API's 4xx), moves the state machine and hands the long part to
the conductor's worker pool: the API's 202 finds the node in its
intermediate state. Workers always end in a state: a failure is a ``fail``
event with ``last_error``, never a node left in a ``...ing`` state.

These functions take the :class:`~ironic_lite.conductor.manager.
ConductorManager` as ``manager`` (its host, id, database, ring and pool).
"""

import datetime

from oslo_log import log
from oslo_utils import timeutils

from ironic_lite.common import context as ironic_context
from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conductor import task_manager
from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)

# driver_internal_info keys that belong to one deployment.
_INSTANCE_KEYS = ('instance', 'clean_steps', 'root_uuid_or_disk_id',
                  'is_whole_disk_image', 'deploy_boot_mode')
_CLEAN_FAILURE = 'clean failure'
_NO_AGENT = ('Automated cleaning of node %(node)s needs an agent ramdisk to '
             'run its clean steps, and ironic-lite has none for deploy '
             'interface %(deploy)s. Set [conductor]automated_clean to False '
             "(and the node's automated_clean to false) to skip cleaning.")
TAKE_OVER_ABORTED = 'Operation was aborted due to conductor take over'
POWER_ABORTED = ('Pending power operation was aborted due to conductor take '
                 'over')


def _describe(error: Exception) -> str:
    return (error.faultstring if isinstance(error, exception.
                                            IronicLiteException)
            else str(error))


def _fail(task, message: str, event: str = 'fail', **values) -> None:
    LOG.error('Node %s: %s', task.node.uuid, message)
    task.process_event(event, values={'last_error': message, **values})


def _record_power_state(task) -> None:
    """Best effort: the power state after a deploy or a tear-down."""
    try:
        power_state = task.driver.power.get_power_state(task)
    except Exception as e:
        LOG.warning('Could not read the power state of node %s: %s',
                    task.node.uuid, _describe(e))
        return
    if power_state != task.node.power_state:
        task.update({'power_state': power_state})


# Deploy


def do_node_deploy(manager, context, node_uuid: str, rebuild: bool = False,
                   configdrive: str | None = None) -> None:
    event = 'rebuild' if rebuild else 'deploy'
    with manager._acquire(context, node_uuid, 'node deployment') as task:
        manager._check_owner(task.node)
        node = task.node
        if node.maintenance:
            raise exception.NodeInMaintenance(op='provisioning',
                                              node=node.uuid)
        if rebuild and node.protected:
            raise exception.NodeProtected(node=node.uuid)
        try:
            task.driver.power.validate(task)
            task.driver.deploy.validate(task)
        except exception.IronicLiteException as e:
            raise type(e)('Failed to validate deploy or power info for '
                          'node %s. Error: %s' % (node.uuid, e.faultstring))
        task.process_event(event, callback=_deploy,
                           call_args=(manager, task, configdrive))


def _deploy(manager, task, configdrive: str | None) -> None:
    if configdrive:
        task.update({'instance_info': {**task.node.instance_info,
                                       'configdrive': configdrive}})
    try:
        task.driver.deploy.prepare(task)
    except Exception as e:
        LOG.exception('Preparing node %s to deploy failed', task.node.uuid)
        _fail(task, 'Failed to prepare to deploy: %s' % _describe(e))
        return
    try:
        result = task.driver.deploy.deploy(task)
    except Exception as e:
        LOG.exception('Deploying node %s failed', task.node.uuid)
        _clean_up(task)
        _fail(task, 'Failed to deploy. Exception: %s' % _describe(e))
        return
    if result == states.DEPLOYWAIT:
        task.process_event('wait')
        return
    task.process_event('done',
                       values={'conductor_affinity': manager.conductor_id})
    _record_power_state(task)


def _clean_up(task) -> None:
    try:
        task.driver.deploy.clean_up(task)
    except Exception:
        LOG.exception('Cleaning up after the deploy of node %s failed',
                      task.node.uuid)


# Tear-down and cleaning


def do_node_tear_down(manager, context, node_uuid: str) -> None:
    with manager._acquire(context, node_uuid, 'node tear down') as task:
        manager._check_owner(task.node)
        node = task.node
        if node.protected:
            raise exception.NodeProtected(node=node.uuid)
        try:
            task.driver.power.validate(task)
        except exception.IronicLiteException as e:
            raise exception.InvalidParameterValue(
                'Failed to validate power driver interface. Can not '
                'delete instance. Error: %s' % e.faultstring)
        task.process_event('delete', callback=_tear_down,
                           call_args=(task,))


def _wiped(node) -> dict:
    internal = {key: value
                for key, value in node.driver_internal_info.items()
                if key not in _INSTANCE_KEYS}
    return {'instance_info': {}, 'instance_uuid': None,
            'driver_internal_info': internal}


def _tear_down(task) -> None:
    try:
        task.driver.deploy.clean_up(task)
        task.driver.deploy.tear_down(task)
    except Exception as e:
        LOG.exception('Tearing down node %s failed', task.node.uuid)
        _fail(task, 'Failed to tear down. Error: %s' % _describe(e),
              event='error', **_wiped(task.node))
        return
    task.process_event('clean', values=_wiped(task.node))
    _record_power_state(task)
    _automated_clean(task)


def _automated_clean(task) -> None:
    """Clean a node in ``cleaning`` on its way to ``available``.

    Skipped unless ``[conductor]automated_clean`` or the node's
    ``automated_clean`` asks for it, as in Ironic. There is no agent ramdisk
    here: a deploy interface that needs one to clean fails the node at once
    rather than leaving it in ``clean wait`` until a timeout.
    """
    node = task.node
    if not CONF.conductor.automated_clean and not node.automated_clean:
        LOG.info('Automated cleaning of node %s is disabled', node.uuid)
        task.process_event('done')
        return
    try:
        task.driver.power.validate(task)
        task.driver.network.validate(task)
    except Exception as e:
        _clean_failed(task, 'Validation failed. Cannot clean node %s. '
                      'Error: %s' % (node.uuid, _describe(e)))
        return
    prepare = getattr(task.driver.deploy, 'prepare_cleaning', None)
    try:
        result = None if prepare is None else prepare(task)
    except Exception as e:
        LOG.exception('Preparing node %s for cleaning failed', node.uuid)
        _clean_failed(task, 'Failed to prepare node %s for cleaning: %s'
                      % (node.uuid, _describe(e)))
        return
    if prepare is None or result == states.CLEANWAIT:
        _clean_failed(task, _NO_AGENT % {
            'node': node.uuid, 'deploy': task.driver.deploy.name})
        return
    task.process_event('done')


def _clean_failed(task, message: str) -> None:
    _fail(task, message, maintenance=True, maintenance_reason=message,
          fault=_CLEAN_FAILURE)


# The other verbs


def do_provisioning_action(manager, context, node_uuid: str,
                           action: str) -> None:
    """``action`` is a machine event: manage, provide, inspect, adopt,
    abort, clean, rescue, unrescue."""
    with manager._acquire(context, node_uuid, 'provision action %s'
               % action) as task:
        manager._check_owner(task.node)
        node = task.node
        state = node.provision_state
        if action == 'manage' and state == states.ENROLL:
            task.process_event('manage', callback=_verify,
                               call_args=(task,))
        elif action == 'provide' and state == states.MANAGEABLE:
            task.process_event('provide', callback=_automated_clean,
                               call_args=(task,))
        elif action == 'inspect':
            _start_inspection(task)
        elif action == 'adopt' and state in (states.MANAGEABLE,
                                             states.ADOPTFAIL):
            task.process_event('adopt', callback=_adopt,
                               call_args=(manager, task))
        elif action == 'abort':
            _abort(task)
        elif action == 'clean':
            if node.maintenance:
                raise exception.NodeInMaintenance(op='cleaning',
                                                  node=node.uuid)
            _check_event(task, action)
            raise exception.InvalidParameterValue(
                'Manual cleaning is not supported: ironic-lite has no '
                'agent ramdisk to run clean steps on node %s.' % node.uuid)
        elif action in ('rescue', 'unrescue'):
            _check_event(task, action)
            raise exception.InvalidParameterValue(
                'Rescue is not supported: ironic-lite has no rescue '
                'ramdisk to boot node %s into.' % node.uuid)
        elif action in ('manage', 'provide', 'adopt'):
            task.process_event(action)
        else:
            raise exception.InvalidParameterValue(
                'The requested action "%s" could not be understood.'
                % action)


def _check_event(task, event: str) -> None:
    if states.next_state(task.node.provision_state, event) is None:
        raise exception.InvalidStateRequested(
            action=event, node=task.node.uuid,
            state=task.node.provision_state)


def _verify(task) -> None:
    node = task.node
    try:
        task.driver.power.validate(task)
    except Exception as e:
        _fail(task, 'Failed to validate power driver interface for node '
              '%s. Error: %s' % (node.uuid, _describe(e)))
        return
    try:
        power_state = task.driver.power.get_power_state(task)
    except Exception as e:
        _fail(task, 'Failed to get power state for node %s. Error: %s'
              % (node.uuid, _describe(e)))
        return
    task.process_event('done', values={'power_state': power_state})


def _start_inspection(task) -> None:
    _check_event(task, 'inspect')
    node = task.node
    try:
        task.driver.power.validate(task)
        task.driver.inspect.validate(task)
    except exception.UnsupportedDriverExtension:
        raise
    except exception.IronicLiteException as e:
        raise type(e)('Failed to validate inspection or power info. '
                      'Error: %s' % e.faultstring)
    task.process_event('inspect', callback=_inspect, call_args=(task,),
                       values={'inspection_started_at': timeutils.utcnow(),
                               'inspection_finished_at': None})
    LOG.info('Inspecting node %s', node.uuid)


def _inspect(task) -> None:
    inspect_hardware = getattr(task.driver.inspect, 'inspect_hardware',
                               None)
    try:
        # The fake interface finds nothing to inspect, as Ironic's.
        result = (states.MANAGEABLE if inspect_hardware is None
                  else inspect_hardware(task))
    except Exception as e:
        LOG.exception('Inspecting node %s failed', task.node.uuid)
        _fail(task, 'Failed to inspect hardware. Reason: %s'
              % _describe(e))
        return
    if result == states.INSPECTWAIT:
        task.process_event('wait')
        return
    task.process_event('done', values={
        'inspection_finished_at': timeutils.utcnow()})


def _adopt(manager, task) -> None:
    try:
        task.driver.boot.validate(task)
        take_over(manager, task, raise_errors=True)
    except Exception as e:
        LOG.exception('Adopting node %s failed', task.node.uuid)
        _fail(task, 'Error while attempting to adopt node %s: %s.'
              % (task.node.uuid, _describe(e)))
        return
    task.process_event('done')


def _abort(task) -> None:
    node = task.node
    state = node.provision_state
    if state == states.CLEANWAIT:
        message = 'By request, the clean operation was aborted'
    elif state == states.INSPECTWAIT:
        message = 'Inspection was aborted by request.'
    elif state == states.RESCUEWAIT:
        message = 'Rescue operation was aborted by the user.'
    else:
        raise exception.InvalidStateRequested(action='abort', node=node.uuid,
                                              state=state)
    LOG.info('Node %s: %s', node.uuid, message)
    task.process_event('abort', target_state=node.target_provision_state,
                       values={'last_error': message})


# Take-over


def take_over(manager, task, raise_errors: bool = False) -> None:
    """Make this conductor the node's conductor of record; for an active
    node, rebuild what its deploy left on the old conductor (boot files).

    A failure is recorded in ``last_error`` and logged (or raised with
    ``raise_errors``); the node is taken over all the same.
    """
    node = task.node
    if (node.provision_state in (states.ACTIVE, states.ADOPTING)
            and not node.maintenance):
        try:
            task.driver.deploy.prepare(task)
            task.driver.deploy.take_over(task)
        except Exception as e:
            if raise_errors:
                raise
            LOG.exception('Taking over node %s failed', node.uuid)
            task.update({'last_error': 'Failed to take over node %s: %s'
                         % (node.uuid, _describe(e))})
    task.update({'conductor_affinity': manager.conductor_id})


# Passes


def _nodes_served(manager, **filters) -> list:
    return manager.dbapi.get_node_list({
        'ring_arcs': manager.ring_manager.arcs_of(manager.host),
        **filters})


def check_deploy_timeouts(manager) -> int:
    """Fail the deploys of this conductor's nodes that waited longer than
    ``[conductor]deploy_callback_timeout`` for a callback; how many."""
    timeout = CONF.conductor.deploy_callback_timeout
    if not timeout:
        return 0
    cutoff = timeutils.utcnow() - datetime.timedelta(seconds=timeout)
    context = ironic_context.get_admin_context()
    failed = 0
    for row in _nodes_served(manager, provision_state=states.DEPLOYWAIT,
                             reserved=False, maintenance=False):
        if row.provision_updated_at is None or \
                row.provision_updated_at >= cutoff:
            continue
        try:
            with manager._acquire(context, row.id, 'deploy timeout',
                                  wait=False) as task:
                node = task.node
                if (node.provision_state != states.DEPLOYWAIT
                        or node.maintenance
                        or node.provision_updated_at is None
                        or node.provision_updated_at >= cutoff):
                    continue
                task.process_event(
                    'fail', callback=_clean_up, call_args=(task,),
                    values={'last_error': 'Timeout reached while waiting '
                            'for callback for node %s' % node.uuid})
                failed += 1
        except (exception.NodeLocked, exception.NodeNotFound,
                exception.NoFreeConductorWorker) as e:
            LOG.info('Deploy timeout of node %s left for the next pass: '
                     '%s', row.uuid, _describe(e))
    return failed


def fail_stuck_nodes(manager) -> int:
    """At start-up: fail the unreserved nodes of this conductor left in a
    state whose work no conductor runs any more; how many."""
    context = ironic_context.get_admin_context()
    failed = 0
    for state in sorted(states.STUCK_STATES_TREATED_AS_FAIL):
        for row in _nodes_served(manager, provision_state=state,
                                 reserved=False):
            try:
                with manager._acquire(context, row.id, 'start-up',
                                      wait=False) as task:
                    if task.node.provision_state != state:
                        continue
                    _fail(task, "The %s state can't be resumed by "
                          'conductor %s. Moving to fail state.'
                          % (state, manager.host))
                    failed += 1
            except (exception.NodeLocked, exception.NodeNotFound):
                continue
    return failed


def take_over_orphans(manager, dead_hosts) -> int:
    """Handle the nodes whose locks conductors in ``dead_hosts`` held when
    they died: take each lock from the dead holder (one conditional write:
    of several survivors, one gets it), null a pending power target, fail
    the work that died with its conductor, and release. How many locks
    it released."""
    context = ironic_context.get_admin_context()
    dbapi = manager.dbapi
    handled = 0
    dead_hosts = sorted(dead_hosts)
    if not dead_hosts:
        return 0
    for row in dbapi.get_node_list({'reservation_in': dead_hosts}):
        dead = row.reservation
        try:
            node = dbapi.reserve_node(manager.host, row.id,
                                      taking_from=dead)
        except (exception.NodeLocked, exception.NodeNotFound):
            continue  # another survivor got it, or it is gone
        try:
            task = task_manager.Task(context, node, False,
                                     'orphan take-over', dbapi, manager.host)
            _abort_orphaned_work(task)
        except Exception:
            LOG.exception('Handling node %s, orphaned by %s, failed',
                          node.uuid, dead)
        finally:
            dbapi.release_node(manager.host, node.id)
        handled += 1
        LOG.warning('Released the lock of node %s held by dead conductor '
                    '%s', node.uuid, dead)
    return handled


def _abort_orphaned_work(task) -> None:
    node = task.node
    if node.maintenance:
        return
    if node.target_power_state is not None:
        task.update({'target_power_state': None,
                     'last_error': POWER_ABORTED})
    if node.provision_state in states.STUCK_STATES_TREATED_AS_FAIL:
        _fail(task, TAKE_OVER_ABORTED)
