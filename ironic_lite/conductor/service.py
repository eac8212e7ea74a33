"""A conductor's life: register, heartbeat, serve RPC, unregister."""

import datetime
import threading

import oslo_messaging as messaging
from oslo_db import exception as db_exc
from oslo_log import log
from oslo_utils import timeutils

from ironic_lite.common import exception
from ironic_lite.common import hash_ring
from ironic_lite.common import rpc
from ironic_lite.conductor import manager
from ironic_lite.conductor import membership
from ironic_lite.conf import CONF
from ironic_lite.db import api as db_api
from ironic_lite.drivers import hardware_types

LOG = log.getLogger(__name__)


class ConductorService:
    """One conductor: ``start()`` it, ``stop()`` it.

    Starting claims the host name in ``conductors`` (refused while another
    process with that name is alive), starts the heartbeat, the RPC server on
    ``ironic-lite.conductor_manager`` with the host as server name (waiting
    for the message broker if it is down), and only then registers the
    hardware interfaces, which puts the conductor into the hash rings, and
    announces it. Stopping does the reverse: no more RPC (tasks in flight
    finish), out of the rings, row marked offline and kept for operators.
    """

    def __init__(self, host: str | None = None, dbapi=None,
                 ring_manager: hash_ring.HashRingManager | None = None):
        self.host = host or CONF.host
        self.dbapi = dbapi or db_api.get_instance()
        self.ring_manager = ring_manager or hash_ring.get_manager()
        self.manager = None
        self._rpc_server = None
        self._rpc_started = False
        self._claimed = False
        self._membership_server = None
        self._stopping = threading.Event()
        self._takeover_due = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """:raises ConductorAlreadyRegistered: the host name is taken by an
        alive conductor. :raises NoDriversLoaded, DriverNotFound:"""
        hardware = hardware_types.load(CONF.enabled_hardware_types)
        if not hardware:
            raise exception.NoDriversLoaded(conductor=self.host)
        group = CONF.conductor.conductor_group.lower()

        conductor_id = self._claim(hardware, group)
        self._claimed = True
        released = self.dbapi.release_reservations_of([self.host])
        if released:
            LOG.warning('Released %d node locks %s held before it stopped',
                        released, self.host)
        self._stopping.clear()
        self._start_thread('heartbeat', self._heartbeat_loop)

        self.manager = manager.ConductorManager(
            self.host, conductor_id, hardware, self.dbapi, self.ring_manager)
        self._rpc_server = rpc.get_server(
            messaging.Target(topic=rpc.TOPIC, server=self.host),
            [self.manager])
        self._rpc_server.start()
        self._rpc_started = True
        self._membership_server = membership.start_listener(
            self.ring_manager, on_change=self._takeover_due.set)

        self._register_interfaces(conductor_id, hardware)
        self.ring_manager.reset()
        membership.announce_join(self.host)
        self._start_thread('takeover', self._takeover_loop)
        LOG.info('Conductor %s started (group "%s", hardware types %s)',
                 self.host, group, ', '.join(hardware))

    def _start_thread(self, name: str, target) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _claim(self, hardware: dict, group: str) -> int:
        timeout = CONF.conductor.heartbeat_timeout
        row = self.dbapi.register_conductor(
            self.host, group, drivers=list(hardware),
            take_over_if_older_than=timeutils.utcnow()
            - datetime.timedelta(seconds=timeout))
        return row.id

    def _register_interfaces(self, conductor_id: int, hardware: dict):
        self.dbapi.register_conductor_hardware_interfaces(
            conductor_id, [item for hw in hardware.values()
                           for item in hw.registrations()])

    def _heartbeat_loop(self) -> None:
        interval = CONF.conductor.heartbeat_interval
        while not self._stopping.wait(interval):
            try:
                self.dbapi.touch_conductor(self.host)
                self._release_locks_of_dead_conductors()
            except exception.ConductorNotFound:
                LOG.warning('The row of conductor %s disappeared; '
                            'registering it again', self.host)
                self._reregister()
            except Exception:
                # Whatever goes wrong, the heartbeat must go on: a
                # conductor whose heartbeat stops loses its nodes.
                LOG.exception('Heartbeat of conductor %s failed; trying '
                              'again in %s seconds', self.host, interval)

    def _release_locks_of_dead_conductors(self) -> None:
        cutoff = timeutils.utcnow() - datetime.timedelta(
            seconds=CONF.conductor.heartbeat_timeout)
        dead = set(self.dbapi.get_offline_conductors(cutoff)) - {self.host}
        released = self.dbapi.release_reservations_of(dead)
        if released:
            LOG.warning('Released %d node locks held by conductors that '
                        'are no longer alive: %s', released,
                        ', '.join(sorted(dead)))

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
                self.manager.take_over_nodes()
            except Exception:
                # The next pass tries again; the thread must not die.
                LOG.exception('Taking over nodes failed; trying again in '
                              '%s seconds', interval)

    def stop(self) -> None:
        """Stop taking work, finish what runs, and go offline.

        Also safe while ``start()`` still waits for the message broker.
        """
        servers = [self._membership_server]
        if self._rpc_started:
            servers.append(self._rpc_server)
        servers = [server for server in servers if server is not None]
        for server in servers:  # stop all first: each stop takes a while
            server.stop()
        for server in servers:  # tasks in flight finish here
            server.wait()
        self._membership_server = self._rpc_server = None
        self._rpc_started = False
        self._stopping.set()
        self._takeover_due.set()
        for thread in self._threads:
            thread.join()
        self._threads = []
        if not self._claimed:
            return  # the host name belongs to another process
        self._claimed = False
        try:
            self.dbapi.unregister_conductor(self.host)
        except exception.ConductorNotFound:
            pass
        self.ring_manager.reset()
        membership.announce_leave(self.host)
        LOG.info('Conductor %s stopped', self.host)
