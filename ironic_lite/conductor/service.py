"""A conductor's life: register, heartbeat, serve RPC, unregister."""

import datetime
import threading
import time

import oslo_messaging as messaging
from oslo_db import exception as db_exc
from oslo_log import log
from oslo_utils import timeutils

from ironic_lite import version
from ironic_lite.common import exception
from ironic_lite.common import hash_ring
from ironic_lite.common import membership
from ironic_lite.common import rpc
from ironic_lite.conductor import deployments
from ironic_lite.conductor import event_history
from ironic_lite.conductor import host_lock
from ironic_lite.conductor import inflight
from ironic_lite.conductor import manager
from ironic_lite.conductor import pxe_health
from ironic_lite.conductor import served_by
from ironic_lite.conf import CONF
from ironic_lite.db import api as db_api
from ironic_lite.drivers import hardware_types

LOG = log.getLogger(__name__)

# After announcing its leave, a conductor still answers RPC this long: calls
# sent before the senders heard of it are refused (NodeNotOwned, which makes
# the sender ask the new owner) instead of waiting in this conductor's queue
# until they time out.
_LINGER = 0.5
# Stopping a rabbit listener waits for its current poll to time out (up to
# 5 s); past this, the process rather ends with the listener running, once
# no call is under way.
_CLOSE_WAIT = 0.5
# How long a sweep of orphaned node locks waits for the RPC calls under way
# to end; it tries again at the next heartbeat otherwise.
_SWEEP_WAIT = 5.0
# Ironic's last_error for a power action its conductor stopped in the middle.
POWER_ACTION_ABORTED = ('Pending power operation was aborted due to '
                        'conductor restart')


class ConductorService:
    """One conductor: ``start()`` it, ``stop()`` it.

    Starting locks the host name on this machine (see ``host_lock``), claims
    it in ``conductors`` (refused while another process with that name is
    alive; a row whose process is known dead is taken over at once), starts
    the heartbeat, the RPC server on ``ironic-lite.conductor_manager`` with
    the host as server name (waiting for the message broker if it is down),
    and only then registers the hardware interfaces, which puts the
    conductor into the hash rings, and announces it.

    Stopping leaves first and drains after: heartbeats end, the row goes
    offline and loses its hardware interfaces (out of the rings), the leave
    is announced, and only then are the RPC calls and tasks under way given
    ``[conductor]graceful_shutdown_timeout`` to finish. The row stays for
    operators.
    """

    def __init__(self, host: str | None = None, dbapi=None,
                 ring_manager: hash_ring.HashRingManager | None = None):
        self.host = host or CONF.host
        self.dbapi = dbapi or db_api.get_instance()
        self.ring_manager = ring_manager or hash_ring.get_manager()
        self.manager = None
        self._rpc_server = None
        self._rpc_started = False
        self._endpoint: inflight.TrackedEndpoint | None = None
        self._claimed = False
        self._host_lock: host_lock.HostLock | None = None
        self._membership_server = None
        self._stopping = threading.Event()
        self._takeover_due = threading.Event()
        # Held by a heartbeat while it writes, and by leaving: no heartbeat
        # can bring the row back online once it has gone offline.
        self._heartbeat_turn = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.linger = _LINGER
        # Set when the database went away while work was under way: a task
        # may have taken a node lock and failed to give it back.
        self._locks_in_doubt = threading.Event()

    def start(self) -> None:
        """:raises ConductorAlreadyRegistered: the host name is taken by an
        alive conductor (ConductorAlreadyRunning: by a process of this
        machine). :raises NoDriversLoaded, DriverNotFound:"""
        hardware = hardware_types.load(CONF.enabled_hardware_types)
        if not hardware:
            raise exception.NoDriversLoaded(conductor=self.host)
        group = CONF.conductor.conductor_group.lower()

        self._host_lock = host_lock.HostLock(CONF.state_path, self.host)
        dead_beats = self._host_lock.acquire()
        conductor_id = self._claim(hardware, group, dead_beats)
        self._claimed = True
        cleared = self.dbapi.clear_target_power_state_of(
            self.host, POWER_ACTION_ABORTED)
        if cleared:
            LOG.warning('Cleared the target power state of %d nodes whose '
                        'power action %s left unfinished', cleared,
                        self.host)
        released = self.dbapi.release_reservations_of([self.host])
        if released:
            LOG.warning('Released %d node locks %s held before it stopped',
                        released, self.host)
        self._stopping.clear()
        self._start_thread('heartbeat', self._heartbeat_loop)

        self.manager = manager.ConductorManager(
            self.host, conductor_id, hardware, self.dbapi, self.ring_manager)
        self._endpoint = inflight.TrackedEndpoint(
            self.manager, on_database_error=self._locks_in_doubt.set)
        self._rpc_server = rpc.get_server(
            messaging.Target(topic=rpc.TOPIC, server=self.host),
            [self._endpoint])
        self._rpc_server.start()
        self._rpc_started = True
        self._membership_server = membership.start_listener(
            self.ring_manager, on_change=self._takeover_due.set)

        self._register_interfaces(conductor_id, hardware)
        self.ring_manager.reset()
        membership.announce_join(self.host)
        self._fail_stuck_nodes()
        self._start_thread('takeover', self._takeover_loop)
        self._start_periodic('power-sync', self.manager.sync_power_states,
                             CONF.conductor.sync_power_state_interval)
        self._start_periodic('power-recovery',
                             self.manager.recover_power_failures,
                             CONF.conductor.power_failure_recovery_interval)
        self._start_periodic('provision-timeouts',
                             lambda: deployments.check_deploy_timeouts(
                                 self.manager),
                             CONF.conductor.check_provision_state_interval)
        self._start_periodic('record-served-by', self._record_served_by,
                             CONF.conductor.record_served_by_interval)
        if CONF.conductor.pxe_health_interval > 0:
            self._start_thread('pxe-health', self._pxe_health_loop)
        self._start_periodic('conductor-events-prune',
                             lambda: event_history.prune(self.dbapi),
                             CONF.conductor.conductor_events_prune_interval)
        LOG.info('Conductor %s started (group "%s", hardware types %s)',
                 self.host, group, ', '.join(hardware))

    def _start_thread(self, name: str, target) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _start_periodic(self, name: str, one_pass, interval: int) -> None:
        """Run ``one_pass`` every ``interval`` seconds (0: never) until the
        conductor stops; a failed pass is logged and the next one comes."""
        if interval <= 0:
            return

        def loop():
            while not self._stopping.wait(interval):
                try:
                    one_pass()
                except inflight.DATABASE_UNREACHABLE as e:
                    LOG.warning('%s: the database is unreachable (%s); '
                                'trying again in %s seconds', name, e,
                                interval)
                except Exception:
                    LOG.exception('%s failed; trying again in %s seconds',
                                  name, interval)

        self._start_thread(name, loop)

    def _claim(self, hardware: dict, group: str,
               dead_beats: list[datetime.datetime] = ()) -> int:
        timeout = CONF.conductor.heartbeat_timeout
        stamp = timeutils.utcnow()
        self._host_lock.record(stamp)
        row = self.dbapi.register_conductor(
            self.host, group, drivers=list(hardware),
            take_over_if_older_than=stamp - datetime.timedelta(
                seconds=timeout),
            take_over_if_beat_at=dead_beats, at=stamp,
            version=version.version_string())
        self._host_lock.confirm(stamp)
        return row.id

    def _register_interfaces(self, conductor_id: int, hardware: dict):
        self.dbapi.register_conductor_hardware_interfaces(
            conductor_id, [item for hw in hardware.values()
                           for item in hw.registrations()])

    def _heartbeat_loop(self) -> None:
        interval = CONF.conductor.heartbeat_interval
        while not self._stopping.wait(interval):
            with self._heartbeat_turn:
                if self._stopping.is_set():
                    return
                self._heartbeat(interval)

    def _heartbeat(self, interval: int) -> None:
        try:
            stamp = timeutils.utcnow()
            self._host_lock.record(stamp)
            if self.dbapi.touch_conductor(self.host, at=stamp):
                LOG.warning('Conductor %s is back after a missed '
                            'heartbeat', self.host)
            self._host_lock.confirm(stamp)
            if self._locks_in_doubt.is_set():
                self._takeover_due.set()  # the database is back: sweep
            self._release_locks_of_dead_conductors()
            event_history.record_missed_heartbeats(self.dbapi, self.host)
        except exception.ConductorNotFound:
            LOG.warning('The row of conductor %s disappeared; '
                        'registering it again', self.host)
            self._reregister()
        except inflight.DATABASE_UNREACHABLE as e:
            self._locks_in_doubt.set()
            # Expected while the database is away: no traceback each time.
            LOG.warning('Heartbeat of conductor %s failed, the database is '
                        'unreachable (%s); trying again in %s seconds',
                        self.host, e, interval)
        except Exception:
            # Whatever goes wrong, the heartbeat must go on: a
            # conductor whose heartbeat stops loses its nodes.
            LOG.exception('Heartbeat of conductor %s failed; trying '
                          'again in %s seconds', self.host, interval)

    def _pxe_health_loop(self) -> None:
        """Probe the PXE environment at start, then every
        ``[conductor]pxe_health_interval`` seconds."""
        interval = CONF.conductor.pxe_health_interval
        while True:
            try:
                self.dbapi.set_conductor_pxe_health(self.host,
                                                    pxe_health.probe())
            except inflight.DATABASE_UNREACHABLE as e:
                LOG.warning('Could not store the PXE health of %s, the '
                            'database is unreachable (%s)', self.host, e)
            except Exception:
                LOG.exception('Probing the PXE environment of %s failed',
                              self.host)
            if self._stopping.wait(interval):
                return

    def _release_locks_of_dead_conductors(self) -> None:
        cutoff = timeutils.utcnow() - datetime.timedelta(
            seconds=CONF.conductor.heartbeat_timeout)
        # Silent, not merely offline: one that has just left may still be
        # finishing work under its locks.
        dead = set(self.dbapi.get_silent_conductors(cutoff)) - {self.host}
        if self.manager is None:  # not serving yet: only free the locks
            released = self.dbapi.release_reservations_of(dead)
        else:
            # Their work died with them: fail it, as Ironic's orphan check.
            released = deployments.take_over_orphans(self.manager, dead)
        if released:
            LOG.warning('Released %d node locks held by conductors that '
                        'are no longer alive: %s', released,
                        ', '.join(sorted(dead)))

    def _fail_stuck_nodes(self) -> None:
        try:
            failed = deployments.fail_stuck_nodes(self.manager)
        except Exception:
            LOG.exception('Failing the nodes left in flight before %s '
                          'started failed', self.host)
            return
        if failed:
            LOG.warning('Conductor %s failed %d nodes whose work could not '
                        'be resumed', self.host, failed)

    def _reregister(self) -> None:
        try:
            hardware = hardware_types.load(CONF.enabled_hardware_types)
            conductor_id = self._claim(
                hardware, CONF.conductor.conductor_group.lower())
            self._register_interfaces(conductor_id, hardware)
            self.manager.conductor_id = conductor_id
            self.ring_manager.reset()
        except (exception.IronicLiteException, db_exc.DBError):
            LOG.exception('Registering conductor %s again failed',
                          self.host)

    def _takeover_loop(self) -> None:
        interval = CONF.conductor.sync_local_state_interval
        self._takeover_due.set()  # a first pass right after joining
        while not self._stopping.is_set():
            self._takeover_due.wait(interval)
            if self._stopping.is_set():
                return
            self._takeover_due.clear()
            try:
                if self._locks_in_doubt.is_set():
                    self._release_orphaned_locks()
                self.manager.take_over_nodes()
            except inflight.DATABASE_UNREACHABLE:
                self._locks_in_doubt.set()
                LOG.warning('Taking over nodes failed, the database is '
                            'unreachable; trying again later')
            except Exception:
                # The next pass tries again; the thread must not die.
                LOG.exception('Taking over nodes failed; trying again in '
                              '%s seconds', interval)
            # The new rings' record too, not to wait for its next pass.
            try:
                self._record_served_by()
            except inflight.DATABASE_UNREACHABLE as e:
                LOG.warning('Recording the conductor of the nodes failed, '
                            'the database is unreachable (%s)', e)
            except Exception:
                LOG.exception('Recording the conductor of the nodes failed')

    def _record_served_by(self) -> None:
        """Record in the nodes the conductors serving them, on this
        conductor's rings (:mod:`served_by`), unless turned off."""
        if CONF.conductor.record_served_by_interval > 0:
            served_by.record(self.dbapi, self.ring_manager.current(),
                             version.version_string())

    def _release_orphaned_locks(self) -> None:
        """Give back the node locks of this conductor that no task holds:
        those a task could not give back while the database was away.

        Every lock a conductor takes is held by an RPC call, by the
        take-over pass or by work in the worker pool; this runs in the
        take-over thread, while no call is under way (new ones wait a
        moment at the door), and spares the nodes the pool holds.
        """
        endpoint = self._endpoint
        if endpoint is None:
            return

        workers = self.manager.workers

        def release():
            # Work in the pool holds its locks and releases them itself.
            released = self.dbapi.release_reservations_of(
                [self.host], except_node_ids=workers.held_nodes())
            self._locks_in_doubt.clear()
            if released:
                LOG.warning('Released %d node locks of %s that no task '
                            'held any more, left behind while the database '
                            'was unreachable', released, self.host)

        endpoint.exclusively(release, _SWEEP_WAIT)

    def stop(self, timeout: float | None = None) -> bool:
        """Leave the hash rings, then give the work under way ``timeout``
        seconds (default ``[conductor]graceful_shutdown_timeout``) to
        finish; whether it all did.

        Also safe while ``start()`` still waits for the message broker, and
        twice.
        """
        if timeout is None:
            timeout = CONF.conductor.graceful_shutdown_timeout
        deadline = time.monotonic() + timeout
        self.leave(timeout)
        drained = self.drain(max(0.0, deadline - time.monotonic()))
        if drained and self._host_lock is not None:
            # Released early only when nothing runs any more; otherwise the
            # process's exit releases it.
            self._host_lock.release()
            self._host_lock = None
        return drained

    def leave(self, timeout: float | None = None) -> None:
        """Out of the hash rings now: heartbeats end, the row goes offline
        and loses its hardware interfaces, and the leave is announced, so
        the API sends this conductor's nodes elsewhere at once. Work under
        way goes on; see :meth:`drain`."""
        self._stopping.set()
        self._takeover_due.set()
        if not self._claimed:
            return  # the host name belongs to another process
        self._claimed = False
        if timeout is None:
            timeout = CONF.conductor.graceful_shutdown_timeout
        # Wait for a heartbeat being written; one stuck on an unreachable
        # database must not hold the stop up.
        turn = self._heartbeat_turn.acquire(timeout=timeout)
        try:
            self.dbapi.unregister_conductor(self.host)
        except exception.ConductorNotFound:
            pass
        except (db_exc.DBError, *inflight.DATABASE_UNREACHABLE) as e:
            LOG.warning('Could not mark conductor %s offline (%s); the '
                        'others drop it once its heartbeat is older than '
                        '%s seconds', self.host, e,
                        CONF.conductor.heartbeat_timeout)
        finally:
            if turn:
                self._heartbeat_turn.release()
        self.ring_manager.reset()
        membership.announce_leave(self.host)
        LOG.info('Conductor %s left the hash rings', self.host)

    def drain(self, timeout: float) -> bool:
        """Finish the RPC calls under way, then stop taking calls; wait up
        to ``timeout`` seconds for that and for the conductor's threads;
        whether all ended."""
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        endpoint = self._endpoint if self._rpc_started else None
        servers = [self._membership_server]
        if endpoint is not None:
            servers.append(self._rpc_server)
            # Calls sent before the senders heard of the leave get an
            # answer rather than wait in the queue.
            time.sleep(min(self.linger, timeout))
        servers = [server for server in servers if server is not None]
        self._membership_server = self._rpc_server = self._endpoint = None
        self._rpc_started = False

        def stop_servers():
            for server in servers:  # stop all first: each stop takes a while
                server.stop()
            for server in servers:  # calls under way finish here
                server.wait()

        stopper = threading.Thread(target=stop_servers, name='rpc-stop',
                                   daemon=True)
        stopper.start()
        stopper.join(min(left(), _CLOSE_WAIT))
        idle = endpoint is None or endpoint.wait_idle(left())
        workers = self.manager.workers if self.manager else None
        workers_idle = workers is None or workers.wait_idle(left())
        if workers is not None:
            workers.shutdown(wait=False)
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(left())
        running = [thread.name for thread in threads if thread.is_alive()]
        if endpoint is not None and not idle:
            running.append('%d RPC calls' % endpoint.busy)
        if not workers_idle:
            running.append('%d tasks in the worker pool' % workers.busy)
        if running:
            LOG.warning('Conductor %s stopped with work still under way '
                        '(%s) after %s seconds', self.host,
                        ', '.join(running), timeout)
            return False
        LOG.info('Conductor %s stopped', self.host)
        return True
