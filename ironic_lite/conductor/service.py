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
from ironic_lite.conf import CONF
from ironic_lite.db import api as db_api
from ironic_lite.drivers import hardware_types

LOG = log.getLogger(__name__)


class ConductorService:
    """One conductor: ``start()`` it, ``stop()`` it.

    Started, it has a row in ``conductors`` marked online, its hardware
    interfaces registered, a heartbeat thread refreshing ``updated_at`` every
    ``[conductor]heartbeat_interval`` seconds and an RPC server on
    ``ironic-lite.conductor_manager`` with its host as server name. Stopped,
    it takes no more work and its row says offline; the row stays so that
    operators still see it.
    """

    def __init__(self, host: str | None = None, dbapi=None,
                 ring_manager: hash_ring.HashRingManager | None = None):
        self.host = host or CONF.host
        self.dbapi = dbapi or db_api.get_instance()
        self.ring_manager = ring_manager or hash_ring.get_manager()
        self.manager = None
        self._rpc_server = None
        self._stop_heartbeat = threading.Event()
        self._heartbeat_thread = None

    def start(self) -> None:
        hardware = hardware_types.load(CONF.enabled_hardware_types)
        if not hardware:
            raise exception.NoDriversLoaded(conductor=self.host)
        group = CONF.conductor.conductor_group.lower()

        released = self.dbapi.release_reservations_of([self.host])
        if released:
            LOG.warning('Released %d node locks %s held before it stopped',
                        released, self.host)
        conductor_id = self._register(hardware, group)

        self.manager = manager.ConductorManager(
            self.host, conductor_id, hardware, self.dbapi, self.ring_manager)
        self._rpc_server = rpc.get_server(
            messaging.Target(topic=rpc.TOPIC, server=self.host),
            [self.manager])
        self._rpc_server.start()

        self._stop_heartbeat.clear()
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name='heartbeat', daemon=True)
        self._heartbeat_thread.start()
        self.ring_manager.reset()
        LOG.info('Conductor %s started (group "%s", hardware types %s)',
                 self.host, group, ', '.join(hardware))

    def _register(self, hardware: dict, group: str) -> int:
        timeout = CONF.conductor.heartbeat_timeout
        row = self.dbapi.register_conductor(
            self.host, group, drivers=list(hardware),
            take_over_if_older_than=timeutils.utcnow()
            - datetime.timedelta(seconds=timeout))
        self.dbapi.register_conductor_hardware_interfaces(
            row.id, [item for hw in hardware.values()
                     for item in hw.registrations()])
        return row.id

    def _heartbeat_loop(self) -> None:
        interval = CONF.conductor.heartbeat_interval
        while not self._stop_heartbeat.wait(interval):
            try:
                self.dbapi.touch_conductor(self.host)
            except exception.ConductorNotFound:
                LOG.warning('The row of conductor %s disappeared; '
                            'registering it again', self.host)
                self._reregister()
            except db_exc.DBError:
                LOG.exception('Heartbeat of conductor %s failed; trying '
                              'again in %s seconds', self.host, interval)

    def _reregister(self) -> None:
        try:
            hardware = hardware_types.load(CONF.enabled_hardware_types)
            conductor_id = self._register(
                hardware, CONF.conductor.conductor_group.lower())
            self.manager.conductor_id = conductor_id
            self.ring_manager.reset()
        except (exception.IronicLiteException, db_exc.DBError):
            LOG.exception('Registering conductor %s again failed',
                          self.host)

    def stop(self) -> None:
        """Stop taking work, finish what runs, and go offline."""
        if self._rpc_server is not None:
            self._rpc_server.stop()
            self._rpc_server.wait()
            self._rpc_server = None
        self._stop_heartbeat.set()
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join()
            self._heartbeat_thread = None
        try:
            self.dbapi.unregister_conductor(self.host)
        except exception.ConductorNotFound:
            pass
        self.ring_manager.reset()
        LOG.info('Conductor %s stopped', self.host)
