"""The conductor's RPC endpoints: the work the API sends to a node's
conductor."""

import types

import oslo_messaging as messaging
from oslo_log import log

from ironic_lite.common import context as ironic_context
from ironic_lite.common import exception
from ironic_lite.common import hash_ring
from ironic_lite.common import interfaces
from ironic_lite.common import states
from ironic_lite.conductor import deployments
from ironic_lite.conductor import management
from ironic_lite.conductor import power
from ironic_lite.conductor import power_sync
from ironic_lite.conductor import rebase
from ironic_lite.conductor import rpcapi
from ironic_lite.conductor import task_manager
from ironic_lite.conductor import traits as node_traits
from ironic_lite.conf import CONF
from ironic_lite.drivers.modules import network

LOG = log.getLogger(__name__)

# Exceptions that are answers, not failures: no traceback in the log.
_EXPECTED = (exception.Invalid, exception.NotFound, exception.Conflict,
             exception.NotAuthorized, exception.TemporaryFailure)


_TAKEOVER_BATCH = 100



class ConductorManager:
    """Handles node work for the nodes the hash ring gives this conductor."""

    target = messaging.Target(version=rpcapi.ConductorAPI.RPC_API_VERSION)

    def __init__(self, host: str, conductor_id: int, hardware_types: dict,
                 dbapi, ring_manager: hash_ring.HashRingManager):
        self.host = host
        self.conductor_id = conductor_id
        self.hardware_types = hardware_types
        self.dbapi = dbapi
        self.ring_manager = ring_manager
        self.workers = task_manager.WorkerPool(
            CONF.conductor.workers_pool_size)
        self.power_sync = power_sync.PowerSync(self)

    def _check_owner(self, node) -> None:
        """Refuse a node the ring gives to another conductor.

        The sender used its own view of the ring; when it differs from ours,
        ours is read again first, so only a real disagreement is refused.
        """
        owner = None
        for attempt in (1, 2):
            try:
                owner = self.ring_manager.conductor_for(node)
            except (exception.NoValidHost, exception.TemporaryFailure):
                owner = None
            if owner == self.host:
                return
            if attempt == 1:
                self.ring_manager.reset()
        raise exception.NodeNotOwned(host=self.host, node=node.uuid,
                                     owner=owner)

    def _acquire(self, context, node_ident, purpose: str,
                 wait: bool = True, shared: bool = False):
        """Hold a node as this conductor; work spawned under the lock runs
        in this conductor's worker pool."""
        return task_manager.acquire(context, node_ident, purpose=purpose,
                                    wait=wait, host=self.host,
                                    dbapi=self.dbapi, shared=shared,
                                    workers=self.workers)

    def _hardware_type(self, driver: str):
        try:
            return self.hardware_types[driver]
        except KeyError:
            raise exception.NoValidHost(
                reason='Conductor %s does not enable hardware type %s.'
                       % (self.host, driver))

    @staticmethod
    def _settle_interfaces(hardware_type, node_values: dict,
                           requested: set[str]) -> dict:
        """Interface fields for a node of ``hardware_type``.

        Interfaces in ``requested`` must be supported by the hardware type;
        the other ones keep a supported value or get the default.
        """
        settled = {}
        for interface_type, field in zip(interfaces.INTERFACE_TYPES,
                                         interfaces.NODE_FIELDS, strict=True):
            name = node_values.get(field)
            if name is None:
                name = hardware_type.default(interface_type)
            elif not hardware_type.supports(interface_type, name):
                if field in requested:
                    raise exception.InterfaceNotSupported(
                        interface_type=interface_type,
                        interface_impl=name,
                        hardware_type=hardware_type.name,
                        valid=', '.join(
                            hardware_type.interfaces[interface_type]))
                name = hardware_type.default(interface_type)
            settled[field] = name
        return settled

    @staticmethod
    def _check_protection(node_values: dict) -> None:
        if node_values.get('protected_reason') and not node_values.get(
                'protected'):
            raise exception.InvalidParameterValue(
                err='Cannot set protected_reason without protected')
        if node_values.get('protected') and node_values.get(
                'provision_state') not in (states.ACTIVE,):
            raise exception.InvalidState(
                'Protection can only be set on a node in state active; node '
                '%s is in state %s.' % (node_values.get('uuid'),
                                        node_values.get('provision_state')))

    @messaging.expected_exceptions(*_EXPECTED)
    def create_node(self, context, values: dict,
                    return_node: bool = False) -> str | dict:
        """Create a node; its UUID, or with ``return_node`` the node as
        stored (:func:`rpcapi.node_to_wire`)."""
        node = types.SimpleNamespace(**values)
        self._check_owner(node)
        hardware_type = self._hardware_type(node.driver)
        requested = {k for k, v in values.items()
                     if k in interfaces.NODE_FIELDS and v is not None}
        values = {**values,
                  **self._settle_interfaces(hardware_type, values, requested),
                  'conductor_affinity': self.conductor_id}
        self._check_protection(values)
        row = self.dbapi.create_node(values)
        LOG.info('Created node %s (%s)', row.uuid, row.driver)
        return rpcapi.node_to_wire(row) if return_node else row.uuid

    @messaging.expected_exceptions(*_EXPECTED)
    def update_node(self, context, node_uuid: str, changes: dict,
                    reset_interfaces: bool | None = None,
                    expected: dict | None = None,
                    mergeable: list | None = None) -> dict:
        """Apply ``changes`` to a node; the node as stored after
        (:func:`rpcapi.node_to_wire`).

        ``expected`` holds, for the fields ``changes`` were computed from,
        the values the caller read; ``mergeable`` names the JSON documents
        among them that were edited key by key. Changes that overlap a write
        made since raise NodeChanged, and nothing is written (see
        :mod:`rebase`).
        """
        with self._acquire(context, node_uuid, 'node update') as task:
            current = task.node
            changes, conflicts = rebase.rebase(
                changes, expected or {}, current,
                mergeable=frozenset(mergeable or ()))
            if conflicts:
                raise exception.NodeChanged(node=current.uuid,
                                            host=self.host,
                                            fields=', '.join(conflicts))
            merged = {column.name: getattr(current, column.name)
                      for column in current.__table__.columns}
            merged.update(changes)
            self._check_owner(types.SimpleNamespace(**merged))

            driver_changed = merged['driver'] != current.driver
            if reset_interfaces and not driver_changed:
                raise exception.InvalidParameterValue(
                    err='The reset_interfaces parameter can be set only '
                        'when the node driver is updated.')
            # Interfaces must fit the hardware type. Changing the driver
            # keeps the current ones (refused if they do not fit) unless the
            # caller asks to reset those it does not name, as in Ironic.
            strict = {k for k, v in changes.items()
                      if k in interfaces.NODE_FIELDS and v is not None}
            if driver_changed:
                if reset_interfaces:
                    merged.update(dict.fromkeys(
                        set(interfaces.NODE_FIELDS) - strict))
                else:
                    strict = set(interfaces.NODE_FIELDS)
            hardware_type = self._hardware_type(merged['driver'])
            merged.update(self._settle_interfaces(hardware_type, merged,
                                                  strict))

            new_instance = changes.get('instance_uuid')
            if (new_instance and current.instance_uuid
                    and new_instance != current.instance_uuid):
                raise exception.NodeAssociated(
                    node=current.uuid, instance=current.instance_uuid)
            if changes.get('maintenance') is False:
                merged['maintenance_reason'] = None
                merged['fault'] = None
            self._check_protection(merged)

            values = {key: value for key, value in merged.items()
                      if getattr(current, key) != value}
            values['conductor_affinity'] = self.conductor_id
            task.update(values, release=True)
        LOG.info('Updated node %s: %s', node_uuid, sorted(values))
        return rpcapi.node_to_wire(task.node)

    @messaging.expected_exceptions(*_EXPECTED)
    def destroy_node(self, context, node_uuid: str) -> None:
        with self._acquire(context, node_uuid, 'node delete') as task:
            node = task.node
            self._check_owner(node)
            if node.protected:
                raise exception.NodeProtected(node=node.uuid)
            if node.instance_uuid:
                raise exception.NodeAssociated(node=node.uuid,
                                               instance=node.instance_uuid)
            if (node.provision_state not in states.DELETE_ALLOWED_STATES
                    and not node.maintenance):
                raise exception.InvalidState(
                    'Can not delete node "%s" while it is in provision '
                    'state "%s". Valid provision states to start deletion '
                    'are %s, in addition to any state in maintenance mode.'
                    % (node.uuid, node.provision_state,
                       ', '.join(sorted(states.DELETE_ALLOWED_STATES))))
            task.destroy()
        LOG.info('Deleted node %s', node_uuid)

    def take_over_nodes(self) -> int:
        """Become the conductor of record of the nodes the ring now gives
        this conductor; how many it took.

        A node another conductor holds is left for the next pass.
        """
        context = ironic_context.get_admin_context()
        filters = {
            'ring_arcs': self.ring_manager.arcs_of(self.host),
            'conductor_affinity_not': self.conductor_id,
            'reserved': False,
        }
        taken, marker = 0, None
        while True:
            rows = self.dbapi.get_node_list(filters, limit=_TAKEOVER_BATCH,
                                            marker=marker)
            for row in rows:
                try:
                    with self._acquire(context, row.id, 'take over',
                                       wait=False) as task:
                        self._check_owner(task.node)
                        deployments.take_over(self, task)
                        taken += 1
                except (exception.NodeLocked, exception.NodeNotFound,
                        exception.NodeNotOwned):
                    continue
            if len(rows) < _TAKEOVER_BATCH:
                break
            marker = rows[-1]
        if taken:
            LOG.info('Conductor %s took over %d nodes', self.host, taken)
        return taken

    # Ports: written by the conductor of their node, under the node's lock.

    @messaging.expected_exceptions(*_EXPECTED)
    def create_port(self, context, node_uuid: str, values: dict) -> str:
        """Create a port of a node (``values`` are its columns, without
        node_id); returns its UUID."""
        with self._acquire(context, node_uuid, 'port create') as task:
            self._check_owner(task.node)
            internal_info = network.internal_info_for_extra(
                None, values.get('extra'), values.get('internal_info'))
            if internal_info is not None:
                values = {**values, 'internal_info': internal_info}
            row = self.dbapi.create_port({**values,
                                          'node_id': task.node.id})
        LOG.info('Created port %s (%s) of node %s', row.uuid, row.address,
                 node_uuid)
        return row.uuid

    @messaging.expected_exceptions(*_EXPECTED)
    def update_port(self, context, port_uuid: str, changes: dict,
                    expected: dict | None = None,
                    mergeable: list | None = None) -> None:
        """Apply ``changes`` (columns; node_id moves the port) to a port,
        refusing lost updates as :meth:`update_node` does (PortChanged)."""
        port = self.dbapi.get_port_by_uuid(port_uuid)
        node_id = changes.get('node_id', port.node_id)
        with self._acquire(context, node_id, 'port update') as task:
            node = task.node
            self._check_owner(node)
            port = self.dbapi.get_port_by_uuid(port_uuid)
            changes, conflicts = rebase.rebase(
                changes, expected or {}, port,
                mergeable=frozenset(mergeable or ()))
            if conflicts:
                raise exception.PortChanged(port=port_uuid, host=self.host,
                                            fields=', '.join(conflicts))
            _check_port_update(port, node, changes)
            internal_info = network.internal_info_for_extra(
                port.extra, changes.get('extra', port.extra),
                port.internal_info)
            if internal_info is not None:
                changes['internal_info'] = internal_info
            if changes:
                self.dbapi.update_port(port.id, changes)
        LOG.info('Updated port %s: %s', port_uuid, sorted(changes))

    @messaging.expected_exceptions(*_EXPECTED)
    def destroy_port(self, context, port_uuid: str) -> None:
        port = self.dbapi.get_port_by_uuid(port_uuid)
        with self._acquire(context, port.node_id, 'port delete') as task:
            node = task.node
            self._check_owner(node)
            if _is_in_use(node):
                raise exception.InvalidState(
                    'Cannot delete the port %s as node %s is active or has '
                    'instance UUID assigned' % (port_uuid, node.uuid))
            self.dbapi.destroy_port(port.id)
        LOG.info('Deleted port %s of node %s', port_uuid, node.uuid)

    # Drivers

    @messaging.expected_exceptions(*_EXPECTED)
    def get_driver_properties(self, context, driver_name: str) -> dict:
        """The driver_info keys the hardware type's default interfaces
        read, with their descriptions."""
        if driver_name not in self.hardware_types:
            raise exception.DriverNotFound(
                "The driver '%s' is unknown." % driver_name)
        from ironic_lite.drivers import factory
        return factory.properties(driver_name)

    # Power and management (the work is in power.py and management.py)

    @messaging.expected_exceptions(*_EXPECTED)
    def change_node_power_state(self, context, node_uuid: str,
                                new_state: str,
                                timeout: int | None = None) -> None:
        """Start a power action; returns once the node shows its
        ``target_power_state`` and the work is in the worker pool."""
        with self._acquire(context, node_uuid, 'changing power state to '
                           '%s' % new_state) as task:
            self._check_owner(task.node)
            power.start_power_action(task, new_state, timeout)

    @messaging.expected_exceptions(*_EXPECTED)
    def get_boot_device(self, context, node_uuid: str) -> dict:
        # Exclusive, as Ironic's: reading it talks to the BMC.
        with self._acquire(context, node_uuid, 'getting boot device') as task:
            self._check_owner(task.node)
            return management.management_of(task).get_boot_device(task)

    @messaging.expected_exceptions(*_EXPECTED)
    def set_boot_device(self, context, node_uuid: str, device: str,
                        persistent: bool = False) -> None:
        with self._acquire(context, node_uuid, 'setting boot device') as task:
            self._check_owner(task.node)
            management.set_boot_device(task, device, persistent)

    @messaging.expected_exceptions(*_EXPECTED)
    def get_supported_boot_devices(self, context, node_uuid: str) -> list:
        with self._acquire(context, node_uuid, 'getting supported boot '
                           'devices', shared=True) as task:
            self._check_owner(task.node)
            return management.management_of(
                task, validate=False).get_supported_boot_devices(task)

    @messaging.expected_exceptions(*_EXPECTED)
    def validate_driver_interfaces(self, context, node_uuid: str) -> dict:
        with self._acquire(context, node_uuid, 'validating driver '
                           'interfaces', shared=True) as task:
            self._check_owner(task.node)
            return management.validate_interfaces(task)

    def sync_power_states(self) -> None:
        """One pass of the periodic power state sync."""
        self.power_sync.sync()

    def recover_power_failures(self) -> None:
        """One pass of the periodic power failure recovery."""
        self.power_sync.recover()

    # Provision states (the work is in deployments.py)

    @messaging.expected_exceptions(*_EXPECTED)
    def do_node_deploy(self, context, node_uuid: str, rebuild: bool = False,
                       configdrive: str | None = None) -> None:
        deployments.do_node_deploy(self, context, node_uuid, rebuild,
                                   configdrive)

    @messaging.expected_exceptions(*_EXPECTED)
    def do_node_tear_down(self, context, node_uuid: str) -> None:
        deployments.do_node_tear_down(self, context, node_uuid)

    @messaging.expected_exceptions(*_EXPECTED)
    def do_provisioning_action(self, context, node_uuid: str,
                               action: str) -> None:
        deployments.do_provisioning_action(self, context, node_uuid, action)

    # VIFs, recorded by the node's network interface.

    @messaging.expected_exceptions(*_EXPECTED)
    def vif_list(self, context, node_uuid: str) -> list[dict]:
        with self._acquire(context, node_uuid, 'list VIFs',
                           shared=True) as task:
            self._check_owner(task.node)
            return task.driver.network.vif_list(task)

    @messaging.expected_exceptions(*_EXPECTED)
    def vif_attach(self, context, node_uuid: str, vif_info: dict) -> None:
        with self._acquire(context, node_uuid, 'attach VIF') as task:
            self._check_owner(task.node)
            task.driver.network.validate(task)
            task.driver.network.vif_attach(task, vif_info)
        LOG.info('VIF %s attached to node %s', vif_info['id'], node_uuid)

    @messaging.expected_exceptions(*_EXPECTED)
    def vif_detach(self, context, node_uuid: str, vif_id: str) -> None:
        with self._acquire(context, node_uuid, 'detach VIF') as task:
            self._check_owner(task.node)
            task.driver.network.validate(task)
            task.driver.network.vif_detach(task, vif_id)
        LOG.info('VIF %s detached from node %s', vif_id, node_uuid)

    # Traits

    @messaging.expected_exceptions(*_EXPECTED)
    def add_node_traits(self, context, node_uuid: str, traits: list[str],
                        replace: bool = False) -> None:
        with self._acquire(context, node_uuid, 'add node traits') as task:
            self._check_owner(task.node)
            node_traits.add(task, traits, replace)

    @messaging.expected_exceptions(*_EXPECTED)
    def remove_node_traits(self, context, node_uuid: str,
                           traits: list[str] | None = None) -> None:
        with self._acquire(context, node_uuid, 'remove node traits') as task:
            self._check_owner(task.node)
            node_traits.remove(task, traits)


# What a port update may change in which node state (Ironic's rules).
_CONNECTIVITY = ('portgroup_id', 'pxe_enabled', 'local_link_connection',
                 'physical_network')
_CONNECTIVITY_STATES = (states.ENROLL, states.INSPECTING, states.INSPECTWAIT,
                        states.MANAGEABLE)


def _is_in_use(node) -> bool:
    """Active or holding an instance, and not in maintenance: its ports'
    addresses must stay."""
    return ((node.provision_state == states.ACTIVE
             or node.instance_uuid is not None) and not node.maintenance)


def _check_port_update(port, node, changes: dict) -> None:
    """:raises InvalidState: the node's state forbids the change."""
    if 'address' in changes and _is_in_use(node):
        raise exception.InvalidState(
            'Cannot update hardware address for port %s as node %s is '
            'active or has instance UUID assigned' % (port.uuid, node.uuid))
    if (set(changes) & set(_CONNECTIVITY) and not node.maintenance
            and node.provision_state not in _CONNECTIVITY_STATES):
        raise exception.InvalidState(
            'Port %s can not have any connectivity attributes (%s) updated '
            'unless node %s is in a %s state or in maintenance mode.'
            % (port.uuid, ', '.join(_CONNECTIVITY), node.uuid,
               ', '.join(_CONNECTIVITY_STATES)))
