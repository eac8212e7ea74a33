"""Node locks and the work done under them.

    with task_manager.acquire(context, uuid, purpose='update') as task:
        task.update({'extra': {...}})

An exclusive task takes ``nodes.reservation`` with a conditional UPDATE on
entry and gives it back on exit, whatever happens inside. A shared task takes
no lock and only reads.

Long work (power, deploy) is handed to the conductor's worker pool from
inside the block, as Ironic does::

    with task_manager.acquire(context, uuid, workers=pool) as task:
        task.process_event('deploy', callback=do_deploy, call_args=(task,))

The state moves and is saved in the block; on leaving it, the work is
submitted and the lock passes to it: it is released when the work ends,
whatever happens. A full pool raises NoFreeConductorWorker, undoes the move
(``err_handler``) and releases the lock at once.
"""

import contextlib
import threading
import time

import futurist
from oslo_log import log
from oslo_utils import timeutils

from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conf import CONF
from ironic_lite.db import api as db_api

LOG = log.getLogger(__name__)

NO_FREE_WORKER = 'No free conductor workers available'


class WorkerPool:
    """A bounded pool of threads for the long work of tasks.

    Full means every thread is busy: work is refused rather than queued,
    so a client learns at once (503) instead of waiting behind others.
    """

    def __init__(self, size: int):
        self.size = size
        self._slots = threading.BoundedSemaphore(size)
        self._executor = futurist.ThreadPoolExecutor(max_workers=size)
        self._guard = threading.Lock()
        self._idle = threading.Condition(self._guard)
        self._running = 0
        # node id -> how many pieces of work hold its lock in this pool
        self._nodes: dict[int, int] = {}

    @property
    def busy(self) -> int:
        return self._running

    def held_nodes(self) -> frozenset[int]:
        """The nodes whose locks work in this pool holds."""
        with self._guard:
            return frozenset(self._nodes)

    def submit(self, node_id: int, fn, *args, **kwargs):
        """Run ``fn`` in a free thread.

        :raises NoFreeConductorWorker: every thread is busy.
        """
        if not self._slots.acquire(blocking=False):
            raise exception.NoFreeConductorWorker()
        with self._guard:
            self._running += 1
            self._nodes[node_id] = self._nodes.get(node_id, 0) + 1
        try:
            return self._executor.submit(self._run, node_id, fn, args,
                                         kwargs)
        except BaseException:
            self._done(node_id)
            raise

    def _run(self, node_id, fn, args, kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            self._done(node_id)

    def _done(self, node_id: int) -> None:
        with self._guard:
            self._running -= 1
            self._nodes[node_id] -= 1
            if not self._nodes[node_id]:
                del self._nodes[node_id]
            if not self._running:
                self._idle.notify_all()
        self._slots.release()

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for all work to end."""
        with self._guard:
            return self._idle.wait_for(lambda: not self._running, timeout)

    def shutdown(self, wait: bool = False) -> None:
        self._executor.shutdown(wait=wait)


class Task:
    """A node, held for one operation."""

    def __init__(self, context, node, shared: bool, purpose: str, dbapi,
                 host: str, workers: WorkerPool | None = None,
                 hardware_type=None):
        self.context = context
        self.node = node
        self.shared = shared
        self.purpose = purpose
        self.host = host
        self._dbapi = dbapi
        self._workers = workers
        self._hardware_type = hardware_type
        self._ports = None
        self._driver = None
        # The lock went back with the last write (update(release=True)).
        self.released = False
        # (fn, args, kwargs, err_handler) to run once the block ends
        self._spawn = None

    @property
    def ports(self) -> list:
        if self._ports is None:
            self._ports = self._dbapi.get_ports_by_node_id(self.node.id)
        return self._ports

    @property
    def driver(self):
        """The node's interfaces (``task.driver.power``, ...)."""
        if self._driver is None:
            from ironic_lite.drivers import factory  # conductor side only
            self._driver = factory.build(self.node, self._hardware_type)
        return self._driver

    def update(self, values: dict, release: bool = False) -> None:
        """Write ``values`` to the node; needs the exclusive lock.

        :param release: this is the block's last write: the lock goes back
            in the same statement (unless work spawned in the block holds
            it). ``task.node`` is the node as stored after, either way.
        """
        self._check_holding('change')
        if release and self._spawn is None:
            self.node = self._dbapi.update_and_release_node(
                self.host, self.node.id, values)
            self.released = True
            return
        self.node = self._dbapi.update_node(self.node.id, values)

    def _check_holding(self, verb: str) -> None:
        if self.shared:
            raise RuntimeError('A shared task cannot %s node %s'
                               % (verb, self.node.uuid))
        if self.released:
            raise RuntimeError('Node %s was given back; a task cannot %s '
                               'it any more' % (self.node.uuid, verb))

    def update_port(self, port, values: dict) -> None:
        """Write ``values`` to one of the node's ports; needs the exclusive
        lock."""
        if self.shared:
            raise RuntimeError('A shared task cannot change port %s'
                               % port.uuid)
        updated = self._dbapi.update_port(port.id, values)
        self._ports = [updated if p.id == port.id else p
                       for p in self.ports]

    def destroy(self) -> None:
        self._check_holding('delete')
        self._dbapi.destroy_node(self.node.id)

    def spawn_after(self, err_handler, fn, *args, **kwargs) -> None:
        """Run ``fn(*args, **kwargs)`` in the worker pool once the block
        ends; the lock goes with it. If the pool is full,
        ``err_handler(task)`` runs (under the lock) before
        NoFreeConductorWorker is raised."""
        if self.shared or self._workers is None:
            raise RuntimeError('Only an exclusive task of a conductor can '
                               'hand work to its workers')
        self._check_holding('work on')
        self._spawn = (fn, args, kwargs, err_handler)

    def process_event(self, event: str, callback=None, call_args=(),
                      call_kwargs=None, err_handler=None,
                      target_state: str | None = None,
                      values: dict | None = None) -> None:
        """Move the node's provision state by ``event`` and save it, with
        ``values`` in the same write.

        With a ``callback``, the work follows in the worker pool (see
        :meth:`spawn_after`): ``last_error`` is cleared and the target
        kept; a full pool puts the states back (or ``err_handler`` runs).

        :raises InvalidStateRequested: no such move from the current state.
        """
        current = self.node.provision_state
        new = states.next_state(current, event)
        if new is None:
            raise exception.InvalidStateRequested(
                action=event, node=self.node.uuid, state=current)
        if callback is None and states.is_stable(new):
            target = None
        else:
            target = target_state or states.target_of(new)
        update = {'provision_state': new, 'target_provision_state': target,
                  'provision_updated_at': timeutils.utcnow(),
                  **(values or {})}
        if callback is not None:
            update.setdefault('last_error', None)
            previous = (current, self.node.target_provision_state)
            self.spawn_after(err_handler or _restore_provision(previous),
                             callback, *call_args, **(call_kwargs or {}))
        LOG.info('Node %s moved from %s to %s on %s (target %s)',
                 self.node.uuid, current, new, event, target)
        self.update(update)

    def _hand_over(self, release) -> bool:
        """Submit the spawned work, if any; whether it now holds the lock
        (and will call ``release`` when it ends)."""
        if self._spawn is None:
            return False
        fn, args, kwargs, err_handler = self._spawn
        self._spawn = None
        try:
            self._workers.submit(self.node.id, _run_holding, self, release,
                                 fn, args, kwargs)
        except exception.NoFreeConductorWorker:
            LOG.warning('No free worker for %s of node %s', self.purpose,
                        self.node.uuid)
            err_handler(self)
            raise
        return True


def _restore_provision(previous):
    def restore(task):
        state, target = previous
        task.update({'provision_state': state,
                     'target_provision_state': target,
                     'last_error': NO_FREE_WORKER})
    return restore


def _run_holding(task: Task, release, fn, args, kwargs) -> None:
    """Work under a node lock handed over by its task, released at the
    end whatever happens."""
    try:
        fn(*args, **kwargs)
    except Exception as e:
        LOG.exception('%s of node %s failed', task.purpose, task.node.uuid)
        try:
            node = task._dbapi.get_node_by_id(task.node.id)
            if not node.last_error:
                task.update({'last_error': 'Async execution of %s failed '
                             'with error: %s' % (fn.__name__, e)})
        except Exception:
            LOG.exception('Could not record the failure of %s on node %s',
                          task.purpose, task.node.uuid)
    finally:
        try:
            release()
        except Exception:
            # The conductor's sweep gives back locks no work holds.
            LOG.exception('Could not release node %s after %s',
                          task.node.uuid, task.purpose)


class _Turns:
    """Threads of this process that want the same node wait here for their
    turn, rather than polling the database lock and giving up while a
    sibling thread holds it: the hash ring sends all of a node's work to one
    conductor, so that is where a busy node is usually busy."""

    def __init__(self):
        self._guard = threading.Lock()
        self._nodes: dict[str, list] = {}  # node UUID -> [lock, users]

    @contextlib.contextmanager
    def turn(self, node_uuid: str, timeout: float):
        """Hold the node's turn; yields whether it came within ``timeout``
        seconds (0: do not wait)."""
        with self._guard:
            entry = self._nodes.setdefault(node_uuid, [threading.Lock(), 0])
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
                    del self._nodes[node_uuid]


_TURNS = _Turns()


def _lookup(dbapi, node_ident):
    if isinstance(node_ident, int):
        return dbapi.get_node_by_id(node_ident)
    return dbapi.get_node_by_uuid(node_ident)


@contextlib.contextmanager
def acquire(context, node_ident, *, shared: bool = False,
            purpose: str = 'unspecified action', wait: bool = True,
            host: str | None = None, dbapi=None,
            workers: WorkerPool | None = None, hardware_type=None):
    """Hold a node (by id or UUID) for the ``with`` block.

    :param host: the conductor taking the lock (default ``[DEFAULT]host``).
    :param wait: retry a busy node ``[conductor]node_locked_retry_attempts``
        times; else give up at once.
    :param workers: the pool that work spawned in the block runs in.
    :raises NodeNotFound: no such node.
    :raises NodeLocked: another conductor holds it.
    :raises NoFreeConductorWorker: work was spawned and the pool is full.
    """
    dbapi = dbapi or db_api.get_instance()
    host = host or CONF.host
    if shared:
        node = _lookup(dbapi, node_ident)
        LOG.debug('Node %s read for %s', node.uuid, purpose)
        yield Task(context, node, shared, purpose, dbapi, host,
                   hardware_type=hardware_type)
        return
    # Turns go by UUID; the lock is taken by UUID too, which reads the node
    # in the same transaction: no read before it.
    uuid = (node_ident if not isinstance(node_ident, int)
            else _lookup(dbapi, node_ident).uuid)
    attempts = CONF.conductor.node_locked_retry_attempts if wait else 1
    interval = CONF.conductor.node_locked_retry_interval
    with _TURNS.turn(uuid, interval * (attempts - 1)) as got:
        if not got:
            raise exception.NodeLocked(node=uuid, host=host)
        for attempt in range(1, attempts + 1):
            try:
                node = dbapi.reserve_node(host, uuid)
                break
            except exception.NodeLocked:
                if attempt == attempts:
                    raise
                time.sleep(interval)
        LOG.debug('Node %s locked for %s', node.uuid, purpose)

        def release():
            dbapi.release_node(host, node.id)
            LOG.debug('Node %s released after %s', node.uuid, purpose)

        task = None
        handed_over = False
        try:
            task = Task(context, node, shared, purpose, dbapi, host,
                        workers=workers, hardware_type=hardware_type)
            yield task
            handed_over = task._hand_over(release)
        finally:
            if not handed_over and not (task and task.released):
                release()
