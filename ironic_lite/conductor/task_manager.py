"""Node locks: a task is a ``with`` block holding a node.

    with task_manager.acquire(context, uuid, purpose='update') as task:
        task.update({'extra': {...}})

An exclusive task takes ``nodes.reservation`` with a conditional UPDATE on
entry and gives it back on exit, whatever happens inside. A shared task takes
no lock and only reads.
"""

import contextlib
import time

from oslo_log import log

from ironic_lite.common import exception
from ironic_lite.conf import CONF
from ironic_lite.db import api as db_api

LOG = log.getLogger(__name__)


class Task:
    """A node, held for one operation."""

    def __init__(self, context, node, shared: bool, purpose: str, dbapi):
        self.context = context
        self.node = node
        self.shared = shared
        self.purpose = purpose
        self._dbapi = dbapi

    def update(self, values: dict) -> None:
        """Write ``values`` to the node; needs the exclusive lock."""
        if self.shared:
            raise RuntimeError('A shared task cannot change node %s'
                               % self.node.uuid)
        self.node = self._dbapi.update_node(self.node.id, values)

    def destroy(self) -> None:
        if self.shared:
            raise RuntimeError('A shared task cannot delete node %s'
                               % self.node.uuid)
        self._dbapi.destroy_node(self.node.id)


def _lookup(dbapi, node_ident):
    if isinstance(node_ident, int):
        return dbapi.get_node_by_id(node_ident)
    return dbapi.get_node_by_uuid(node_ident)


@contextlib.contextmanager
def acquire(context, node_ident, *, shared: bool = False,
            purpose: str = 'unspecified action', wait: bool = True,
            host: str | None = None, dbapi=None):
    """Hold a node (by id or UUID) for the ``with`` block.

    :param host: the conductor taking the lock (default ``[DEFAULT]host``).
    :param wait: retry a busy node ``[conductor]node_locked_retry_attempts``
        times; else give up at once.
    :raises NodeNotFound: no such node.
    :raises NodeLocked: another conductor holds it.
    """
    dbapi = dbapi or db_api.get_instance()
    host = host or CONF.host
    node = _lookup(dbapi, node_ident)
    if not shared:
        attempts = CONF.conductor.node_locked_retry_attempts if wait else 1
        for attempt in range(1, attempts + 1):
            try:
                node = dbapi.reserve_node(host, node.id)
                break
            except exception.NodeLocked:
                if attempt == attempts:
                    raise
                time.sleep(CONF.conductor.node_locked_retry_interval)
    LOG.debug('Node %s %s for %s', node.uuid,
              'read' if shared else 'locked', purpose)
    try:
        yield Task(context, node, shared, purpose, dbapi)
    finally:
        if not shared:
            dbapi.release_node(host, node.id)
