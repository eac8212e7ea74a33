"""The periodic power passes of a conductor, over the nodes the hash ring
gives it: the power state sync (Ironic's ``_sync_power_states``) and the
recovery of nodes in maintenance for a power failure."""

from oslo_log import log

from ironic_lite.common import context as ironic_context
from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conductor import power
from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)

_PAGE = 100
# Nodes whose power belongs to a ramdisk or an operator setting them up.
_NOT_SYNCED = frozenset({states.DEPLOYWAIT, states.CLEANWAIT, states.ENROLL})
POWER_FAILURE = 'power failure'
ABORTED_BY_TAKE_OVER = ('Pending power operation was aborted due to '
                        'conductor take over')
# Errors that end one node's turn in a pass, not the pass.
_SKIP = (exception.NodeLocked, exception.NodeNotFound)


class PowerSync:
    """Runs the passes; remembers, per node, how many passes in a row
    could not read its power state or found it different from the
    database."""

    def __init__(self, manager):
        self._manager = manager
        self.failures: dict[int, int] = {}

    def _nodes(self, filters: dict):
        """The nodes of this conductor matching ``filters``, page by
        page."""
        manager = self._manager
        filters = {**filters,
                   'ring_arcs': manager.ring_manager.arcs_of(manager.host)}
        marker = None
        while True:
            rows = manager.dbapi.get_node_list(filters, limit=_PAGE,
                                               marker=marker)
            yield from rows
            if len(rows) < _PAGE:
                return
            marker = rows[-1]

    def sync(self) -> None:
        """One pass of the power state sync."""
        context = ironic_context.get_admin_context()
        seen = set()
        for row in self._nodes({'maintenance': False, 'reserved': False}):
            seen.add(row.id)
            if row.provision_state in _NOT_SYNCED:
                continue
            try:
                if row.target_power_state:
                    self._abort_orphaned_action(context, row)
                else:
                    self._sync_node(context, row)
            except _SKIP:
                continue
            except Exception:
                LOG.exception('Power state sync of node %s failed', row.uuid)
        self.failures = {node_id: count for node_id, count
                         in self.failures.items() if node_id in seen}

    def _abort_orphaned_action(self, context, row) -> None:
        """A target without a lock: the work that was to reach it died
        with its conductor."""
        with self._manager._acquire(context, row.id, 'power state sync',
                                    wait=False) as task:
            if task.node.target_power_state:
                LOG.warning('Node %s shows the target power state %s that '
                            'no work is reaching; clearing it', row.uuid,
                            task.node.target_power_state)
                task.update({'target_power_state': None,
                             'last_error': ABORTED_BY_TAKE_OVER})

    def _read(self, context, row):
        """(node, state read, error) with a shared task; node None when the
        node is not to be synced now."""
        with self._manager._acquire(context, row.id, 'power state sync',
                                    shared=True) as task:
            node = task.node
            if node.maintenance or node.reservation or \
                    node.target_power_state:
                return None, None, None
            if node.power_state is None:
                try:
                    task.driver.power.validate(task)
                except exception.Invalid as e:
                    LOG.debug('Power state sync skips node %s: %s',
                              node.uuid, e)
                    return None, None, None
            try:
                return node, power.read_power_state(task), None
            except Exception as e:
                return node, None, e

    def _sync_node(self, context, row) -> None:
        node, actual, error = self._read(context, row)
        if node is None:
            return
        expected = node.power_state
        readable = error is None and actual != states.POWER_ERROR
        if readable and actual == expected:
            self.failures.pop(node.id, None)
            return
        if readable and expected is None:
            LOG.info('Power state of node %s is %s', node.uuid, actual)
            self._write(context, node, {'power_state': actual})
            self.failures.pop(node.id, None)
            return
        count = self.failures.get(node.id, 0) + 1
        self.failures[node.id] = count
        if count > CONF.conductor.power_state_sync_max_retries:
            self._power_failure(context, node, actual, error)
            self.failures.pop(node.id, None)
        elif not readable:
            LOG.warning('Power state sync could not read the power state of '
                        'node %s (%d of %d attempts): %s', node.uuid, count,
                        CONF.conductor.power_state_sync_max_retries,
                        error or actual)
        elif CONF.conductor.force_power_state_during_sync and \
                expected in (states.POWER_ON, states.POWER_OFF):
            LOG.warning('Node %s is in power state %s, the database says %s; '
                        'driving it back to %s', node.uuid, actual,
                        expected, expected)
            self._drive(context, node, expected)
        else:
            LOG.warning('Node %s is in power state %s, the database says %s; '
                        'recording %s', node.uuid, actual, expected, actual)
            self._write(context, node, {'power_state': actual})

    def _write(self, context, node, values: dict) -> None:
        """Write ``values`` unless the node changed since it was read."""
        with self._manager._acquire(context, node.id, 'power state sync',
                                    wait=False) as task:
            if task.node.power_state == node.power_state and \
                    not task.node.maintenance and \
                    not task.node.target_power_state:
                task.update(values)

    def _drive(self, context, node, expected: str) -> None:
        with self._manager._acquire(context, node.id, 'power state sync',
                                    wait=False) as task:
            if task.node.power_state != expected or \
                    task.node.maintenance or task.node.target_power_state:
                return
            task.update({'target_power_state': expected, 'last_error': None})
            power.node_power_action(task, expected)

    def _power_failure(self, context, node, actual, error) -> None:
        message = ("During sync_power_state, max retries exceeded for node "
                   "%s, node state %s does not match expected state '%s'. "
                   "Updating DB state to '%s' Switching node to maintenance "
                   "mode." % (node.uuid, actual, node.power_state, actual))
        if error is not None:
            message += ' Error: %s' % error
        LOG.error(message)
        self._write(context, node, {
            'power_state': actual, 'maintenance': True,
            'maintenance_reason': message, 'fault': POWER_FAILURE,
            'last_error': message})

    def recover(self) -> None:
        """One pass of the power failure recovery: a node in maintenance
        for a power failure whose power state can be read again leaves
        maintenance."""
        context = ironic_context.get_admin_context()
        for row in self._nodes({'maintenance': True,
                                'fault': POWER_FAILURE,
                                'reserved': False}):
            if row.provision_state == states.ENROLL:
                continue
            try:
                self._recover_node(context, row)
            except _SKIP:
                continue
            except Exception:
                LOG.exception('Power failure recovery of node %s failed',
                              row.uuid)

    def _recover_node(self, context, row) -> None:
        with self._manager._acquire(context, row.id, 'power failure '
                                    'recovery', shared=True) as task:
            try:
                actual = power.read_power_state(task)
            except Exception as e:
                LOG.debug('Node %s still fails to read its power state: %s',
                          row.uuid, e)
                return
        if actual == states.POWER_ERROR:
            return
        with self._manager._acquire(context, row.id, 'power failure '
                                    'recovery', wait=False) as task:
            if task.node.maintenance and task.node.fault == POWER_FAILURE:
                LOG.info('Node %s answers again (power state %s); it leaves '
                         'maintenance', row.uuid, actual)
                task.update({'power_state': actual, 'maintenance': False,
                             'maintenance_reason': None, 'fault': None})
