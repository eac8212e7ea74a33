"""The client side of the conductor RPC API, used by the API service.

Each call about a node goes to the conductor the hash ring names for it.
"""

import datetime
import random
import threading
import types

import oslo_messaging as messaging
from oslo_log import log

from ironic_lite.common import exception
from ironic_lite.common import hash_ring
from ironic_lite.common import membership
from ironic_lite.common import rpc
from ironic_lite.db.sqlalchemy import models

LOG = log.getLogger(__name__)


class ConductorAPI:
    """Calls into the conductors.

    API version history:
        1.0 - create_node, update_node, destroy_node
        1.1 - update_node takes ``expected``, the values its changes were
              computed from, and ``mergeable``
        1.2 - create_port, update_port, destroy_port, get_driver_properties,
              change_node_power_state, get_boot_device, set_boot_device,
              get_supported_boot_devices, validate_driver_interfaces,
              do_node_deploy, do_node_tear_down, do_provisioning_action
        1.3 - vif_list, vif_attach, vif_detach, add_node_traits,
              remove_node_traits
        1.4 - update_node answers with the node as stored, and
              create_node too when asked (``return_node``)
    """

    RPC_API_VERSION = '1.4'

    # The version each call needs, the one that gave it the arguments it
    # is sent with. A conductor of an earlier release answers every call
    # it knows, so that conductors and API services can be upgraded one
    # at a time. (update_node answers with the node from 1.4 on, and
    # with nothing before: the API then reads the node.)
    CALL_VERSIONS = {
        'create_node': '1.0',
        'update_node': '1.1',
        'destroy_node': '1.0',
        'create_port': '1.2',
        'update_port': '1.2',
        'destroy_port': '1.2',
        'get_driver_properties': '1.2',
        'change_node_power_state': '1.2',
        'get_boot_device': '1.2',
        'set_boot_device': '1.2',
        'get_supported_boot_devices': '1.2',
        'validate_driver_interfaces': '1.2',
        'do_node_deploy': '1.2',
        'do_node_tear_down': '1.2',
        'do_provisioning_action': '1.2',
        'vif_list': '1.3',
        'vif_attach': '1.3',
        'vif_detach': '1.3',
        'add_node_traits': '1.3',
        'remove_node_traits': '1.3',
    }

    # Attempts to hand a message to the broker before giving up with 503.
    SEND_RETRIES = 2

    def __init__(self, ring_manager: hash_ring.HashRingManager | None = None):
        self.ring_manager = ring_manager or hash_ring.get_manager()
        self._client = None
        # The first call sets up the reply queue, and the transport waits
        # for the broker forever doing so: check the broker first, until one
        # call went through.
        self._broker_seen = False

    @property
    def client(self) -> messaging.RPCClient:
        if self._client is None:
            self._client = rpc.get_client(messaging.Target(
                topic=rpc.TOPIC, version=self.RPC_API_VERSION))
        return self._client

    def get_conductor_for(self, node) -> str:
        """The hostname of the conductor serving ``node``.

        :raises TemporaryFailure: no conductor is alive.
        :raises NoValidHost: none enables the node's hardware type in its
            conductor group.
        """
        return self.ring_manager.conductor_for(node)

    def _call_owner(self, context, node, method: str,
                    version: str | None = None, **kwargs):
        """Call ``method`` on the node's conductor.

        A conductor refuses a node it does not own (NodeNotOwned) when this
        process's view of the ring is older than its own: read the ring
        again and retry once.
        """
        for attempt in (1, 2):
            host = self.get_conductor_for(node)
            try:
                return self._call(context, host, method, version=version,
                                  **kwargs)
            except exception.NodeNotOwned:
                if attempt == 2:
                    raise
                LOG.info('Conductor %s does not own node %s any more; '
                         'reloading the hash ring', host, node.uuid)
                self.ring_manager.reset()

    def _call(self, context, host: str, method: str,
              version: str | None = None, **kwargs):
        """Call ``method`` on ``host``, sent as ``version`` (by default
        the version the call needs, CALL_VERSIONS)."""
        rpc.check_allowed()
        if not self._broker_seen:
            membership.check_broker(context)
        cctxt = self.client.prepare(
            server=host, retry=self.SEND_RETRIES,
            version=version or self.CALL_VERSIONS[method])
        try:
            result = cctxt.call(context, method, **kwargs)
        except (exception.IronicLiteException, messaging.RemoteError):
            self._broker_seen = True  # the conductor answered
            raise
        except messaging.MessagingTimeout:
            raise exception.ServiceUnavailable(
                service='Conductor %s' % host,
                reason='it did not answer in time')
        except rpc.TRANSPORT_ERRORS as e:
            raise exception.ServiceUnavailable(
                service='The message broker', reason=e)
        self._broker_seen = True
        return result

    def create_node(self, context, node, values: dict):
        """Create a node on its conductor; the node as stored (see
        :func:`node_from_wire`).

        ``node`` carries the uuid, driver and conductor_group the new node
        will have, which choose the conductor. A conductor older than
        RPC 1.4 answers with the UUID only: None then, and the caller reads
        the node.
        """
        try:
            return node_from_wire(self._call_owner(
                context, node, 'create_node', version='1.4', values=values,
                return_node=True))
        except (messaging.UnsupportedVersion, messaging.RemoteError) as e:
            # Refused before anything was done: the conductor does not
            # know 1.4 (over a broker the refusal comes as a RemoteError).
            if (isinstance(e, messaging.RemoteError)
                    and e.exc_type != 'UnsupportedVersion'):
                raise
        return node_from_wire(self._call_owner(
            context, node, 'create_node', values=values))

    def update_node(self, context, node, changes: dict,
                    reset_interfaces: bool | None = None,
                    expected: dict | None = None,
                    mergeable: list | None = None):
        """Apply ``changes`` to an existing node; the node as stored after
        (see :func:`node_from_wire`).

        ``node`` is the node as it will be after the change, so a change of
        driver or group goes to the conductor that will serve it.
        ``expected`` maps fields to the values ``changes`` were computed
        from; ``mergeable`` names the JSON documents among them that were
        edited key by key, not replaced whole.

        :raises NodeChanged: the node no longer has the ``expected`` values;
            nothing was written.
        :raises NodeLocked: the conductor could not lock the node.
        """
        return node_from_wire(self._call_owner(
            context, node, 'update_node', node_uuid=node.uuid,
            changes=changes, reset_interfaces=reset_interfaces,
            expected=expected, mergeable=mergeable))

    def destroy_node(self, context, node) -> None:
        self._call_owner(context, node, 'destroy_node', node_uuid=node.uuid)

    # Ports go to the conductor of their node.

    def create_port(self, context, node, values: dict) -> str:
        """Create a port of ``node`` (its routing view); its UUID.

        :raises MACAlreadyExists: a port has the address.
        :raises NodeLocked: the node stayed busy.
        """
        return self._call_owner(context, node, 'create_port',
                                node_uuid=node.uuid, values=values)

    def update_port(self, context, node, port_uuid: str, changes: dict,
                    expected: dict | None = None,
                    mergeable: list | None = None) -> None:
        """Apply ``changes`` to a port of ``node`` (the node it will be
        on); ``expected`` and ``mergeable`` as for :meth:`update_node`.

        :raises PortChanged: the port no longer has the ``expected``
            values; nothing was written.
        """
        self._call_owner(context, node, 'update_port', port_uuid=port_uuid,
                         changes=changes, expected=expected,
                         mergeable=mergeable)

    def destroy_port(self, context, node, port_uuid: str) -> None:
        self._call_owner(context, node, 'destroy_port', port_uuid=port_uuid)

    def get_driver_properties(self, context, driver_name: str) -> dict:
        """Ask any alive conductor enabling the hardware type.

        :raises DriverNotFound: no conductor is alive, or none enables it.
        """
        rings = self.ring_manager.rings()
        if not rings:
            raise exception.DriverNotFound('No conductors registered.')
        hosts = sorted({host for (_group, hardware), ring in rings.items()
                        if hardware == driver_name for host in ring.hosts})
        if not hosts:
            raise exception.DriverNotFound(
                "The driver '%s' is unknown." % driver_name)
        return self._call(context, random.choice(hosts),
                          'get_driver_properties', driver_name=driver_name)

    def change_node_power_state(self, context, node, new_state: str,
                                timeout: int | None = None) -> None:
        """Start a power action; returns once the node shows its
        ``target_power_state``.

        :raises InvalidParameterValue: bad power data, or a state the
            driver does not support.
        :raises NodeLocked:
        :raises NoFreeConductorWorker:
        """
        self._call_owner(context, node, 'change_node_power_state',
                         node_uuid=node.uuid, new_state=new_state,
                         timeout=timeout)

    def get_boot_device(self, context, node) -> dict:
        """``{"boot_device": ..., "persistent": ...}``."""
        return self._call_owner(context, node, 'get_boot_device',
                                node_uuid=node.uuid)

    def set_boot_device(self, context, node, device: str,
                        persistent: bool = False) -> None:
        self._call_owner(context, node, 'set_boot_device',
                         node_uuid=node.uuid, device=device,
                         persistent=persistent)

    def get_supported_boot_devices(self, context, node) -> list:
        return self._call_owner(context, node, 'get_supported_boot_devices',
                                node_uuid=node.uuid)

    def validate_driver_interfaces(self, context, node) -> dict:
        """Each interface's ``{"result": bool[, "reason": text]}``."""
        return self._call_owner(context, node, 'validate_driver_interfaces',
                                node_uuid=node.uuid)

    def do_node_deploy(self, context, node, rebuild: bool = False,
                       configdrive: str | None = None) -> None:
        """Start deploying (``rebuild``: redeploying) a node; returns once
        it is ``deploying``, the work under way.

        :raises NodeInMaintenance, NodeProtected, InvalidStateRequested:
        :raises NodeLocked, NoFreeConductorWorker:
        """
        self._call_owner(context, node, 'do_node_deploy',
                         node_uuid=node.uuid, rebuild=rebuild,
                         configdrive=configdrive)

    def do_node_tear_down(self, context, node) -> None:
        """Start tearing a node down; returns once it is ``deleting``."""
        self._call_owner(context, node, 'do_node_tear_down',
                         node_uuid=node.uuid)

    def do_provisioning_action(self, context, node, action: str) -> None:
        """Apply a provision event other than deploy/delete (``manage``,
        ``provide``, ``inspect``, ``adopt``, ``abort``, ``clean``, ...)."""
        self._call_owner(context, node, 'do_provisioning_action',
                         node_uuid=node.uuid, action=action)

    def vif_list(self, context, node) -> list[dict]:
        """The VIFs recorded for ``node``: ``[{"id": <vif>}, ...]``."""
        return self._call_owner(context, node, 'vif_list',
                                node_uuid=node.uuid)

    def vif_attach(self, context, node, vif_info: dict) -> None:
        """Attach ``vif_info["id"]`` to a free port of ``node``.

        :raises VifAlreadyAttached, NoFreePhysicalPorts, NodeLocked:
        """
        self._call_owner(context, node, 'vif_attach', node_uuid=node.uuid,
                         vif_info=vif_info)

    def vif_detach(self, context, node, vif_id: str) -> None:
        """:raises VifNotAttached, NodeLocked:"""
        self._call_owner(context, node, 'vif_detach', node_uuid=node.uuid,
                         vif_id=vif_id)

    def add_node_traits(self, context, node, traits: list[str],
                        replace: bool = False) -> None:
        """Add (``replace``: set) traits of ``node``; they are valid.

        :raises InvalidParameterValue: too many traits.
        """
        self._call_owner(context, node, 'add_node_traits',
                         node_uuid=node.uuid, traits=traits,
                         replace=replace)

    def remove_node_traits(self, context, node,
                           traits: list[str] | None = None) -> None:
        """Remove traits of ``node``, all of them if ``traits`` is None.

        :raises NodeTraitNotFound:
        """
        self._call_owner(context, node, 'remove_node_traits',
                         node_uuid=node.uuid, traits=traits)


# A node crosses RPC as its columns, the times as ISO 8601 text: what a
# broker carries is JSON.
_NODE_COLUMNS = tuple(column.name for column in models.Node.__table__.columns)
_NODE_TIMES = frozenset(
    column.name for column in models.Node.__table__.columns
    if column.type.python_type is datetime.datetime)


def node_to_wire(node) -> dict:
    """What a conductor answers with for a node row (columns)."""
    values = {name: getattr(node, name) for name in _NODE_COLUMNS}
    for name in _NODE_TIMES:
        if values[name] is not None:
            values[name] = values[name].isoformat()
    return values


def node_from_wire(values):
    """The node a conductor answered with (:func:`node_to_wire`), read as
    a row is (``node.extra``); None for an answer that holds none (a UUID,
    as create_node answers without ``return_node``), whose caller reads
    the node itself."""
    if not isinstance(values, dict):
        return None
    values = dict(values)
    for name in _NODE_TIMES:
        if values[name] is not None:
            values[name] = datetime.datetime.fromisoformat(values[name])
    return types.SimpleNamespace(**values)


_API = None
_API_LOCK = threading.Lock()


def get_api() -> ConductorAPI:
    """The process-wide client; it shares the process's hash rings."""
    global _API
    with _API_LOCK:
        if _API is None:
            _API = ConductorAPI()
        return _API
