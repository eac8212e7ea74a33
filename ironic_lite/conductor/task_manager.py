"""Node locks: a task is a ``with`` block holding a node.

    with task_manager.acquire(context, uuid, purpose='update') as task:
        task.update({'extra': {...}})

An exclusive task takes ``nodes.reservation`` with a conditional UPDATE on
entry and gives it back on exit, whatever happens inside. A shared task takes
no lock and only reads.
"""

import contextlib
import threading
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


class _Turns:
    """Threads of this process that want the same node wait here for their
    turn, rather than polling the database lock and giving up while a
    sibling thread holds it: the hash ring sends all of a node's work to one
    conductor, so that is where a busy node is usually busy."""

    def __init__(self):
        self._guard = threading.Lock()
        self._nodes: dict[int, list] = {}  # node id -> [lock, users]

    @contextlib.contextmanager
    def turn(self, node_id: int, timeout: float):
        """Hold the node's turn; yields whether it came within ``timeout``
        seconds (0: do not wait)."""
        with self._guard:
            entry = self._nodes.setdefault(node_id, [threading.Lock(), 0])
            entry[1] += 1
        try:
            got = entry[0].acquire(timeout=timeout) if timeout > 0 \
                else entry[0].acquire(blocking=False)
            try:
                yield got
            finally:
                if got:
                    entry[0].release()
        finally:
            with self._guard:
                entry[1] -= 1
                if not entry[1]:
                    del self._nodes[node_id]


_TURNS = _Turns()


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
    if shared:
        LOG.debug('Node %s read for %s', node.uuid, purpose)
        yield Task(context, node, shared, purpose, dbapi)
        return
    attempts = CONF.conductor.node_locked_retry_attempts if wait else 1
    interval = CONF.conductor.node_locked_retry_interval
    with _TURNS.turn(node.id, interval * (attempts - 1)) as got:
        if not got:
            raise exception.NodeLocked(node=node.uuid, host=host)
        for attempt in range(1, attempts + 1):
            try:
                node = dbapi.reserve_node(host, node.id)
                break
            except exception.NodeLocked:
                if attempt == attempts:
                    raise
                time.sleep(interval)
        LOG.debug('Node %s locked for %s', node.uuid, purpose)
        try:
            yield Task(context, node, shared, purpose, dbapi)
        finally:
            dbapi.release_node(host, node.id)
