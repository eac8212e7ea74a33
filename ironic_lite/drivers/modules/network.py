"""Network interfaces: where a node's VIFs (virtual interfaces, the IDs of
Neutron ports) are recorded.

ironic-lite has no Neutron, so neither interface plugs anything:

* ``noop`` does what Ironic's ``noop`` does: attaching and detaching are
  silent no-ops and a node lists no VIFs.
* ``flat`` records VIFs as Ironic's ``flat`` does, on the node's ports
  (``internal_info.tenant_vif_port_id``; the legacy ``extra.vif_port_id`` is
  read too), so clients that need them stored (Nova) find them; it calls no
  Neutron, so no VIF's physical network is known and none is preferred.
"""

from ironic_lite.common import exception
from ironic_lite.drivers import base

# Where a port records its VIF, and where older clients put it.
TENANT_VIF_KEY = 'tenant_vif_port_id'
LEGACY_VIF_KEY = 'vif_port_id'


def vif_of(port) -> str | None:
    """The VIF a port carries, if any."""
    return ((port.internal_info or {}).get(TENANT_VIF_KEY)
            or (port.extra or {}).get(LEGACY_VIF_KEY))


class NetworkInterface(base.BaseInterface):
    interface_type = 'network'

    def vif_list(self, task) -> list[dict]:
        """``[{"id": <vif>}, ...]``."""
        raise NotImplementedError

    def vif_attach(self, task, vif_info: dict) -> None:
        """Record ``vif_info["id"]`` on a free port of the node.

        :raises VifAlreadyAttached, NoFreePhysicalPorts:
        """
        raise NotImplementedError

    def vif_detach(self, task, vif_id: str) -> None:
        """:raises VifNotAttached:"""
        raise NotImplementedError


class NoopNetwork(NetworkInterface):
    """Ironic's ``noop``: VIFs are accepted and forgotten."""

    def vif_list(self, task) -> list[dict]:
        return []

    def vif_attach(self, task, vif_info: dict) -> None:
        pass

    def vif_detach(self, task, vif_id: str) -> None:
        pass


def _rank(port, physical_networks: frozenset[str]) -> tuple:
    """Higher is preferred: a port on one of the VIF's physical networks,
    then a PXE-enabled one, then the oldest (Ironic also prefers portgroups,
    which ironic-lite does not have)."""
    return (bool(physical_networks)
            and port.physical_network in physical_networks,
            bool(port.pxe_enabled), -port.id)


class FlatNetwork(NetworkInterface):
    """VIFs recorded on the node's ports, one VIF per port."""

    # The physical networks of a VIF come from Neutron, which ironic-lite
    # does not talk to: every free port is a candidate.
    physical_networks: frozenset[str] = frozenset()

    def vif_list(self, task) -> list[dict]:
        return [{'id': vif} for vif in map(vif_of, task.ports) if vif]

    def vif_attach(self, task, vif_info: dict) -> None:
        vif_id = vif_info['id']
        for port in task.ports:
            if vif_of(port) == vif_id:
                raise exception.VifAlreadyAttached(
                    vif=vif_id, object_type='Port', object_uuid=port.uuid)
        free = [port for port in task.ports if not vif_of(port)
                and (not self.physical_networks
                     or port.physical_network in self.physical_networks)]
        if not free:
            raise exception.NoFreePhysicalPorts(vif=vif_id)
        port = max(free, key=lambda p: _rank(p, self.physical_networks))
        task.update_port(port, {'internal_info': {
            **(port.internal_info or {}), TENANT_VIF_KEY: vif_id}})

    def vif_detach(self, task, vif_id: str) -> None:
        for port in task.ports:
            if vif_of(port) != vif_id:
                continue
            internal_info = dict(port.internal_info or {})
            extra = dict(port.extra or {})
            internal_info.pop(TENANT_VIF_KEY, None)
            if extra.get(LEGACY_VIF_KEY) == vif_id:
                extra.pop(LEGACY_VIF_KEY)
            task.update_port(port, {'internal_info': internal_info,
                                    'extra': extra})
            return
        raise exception.VifNotAttached(vif=vif_id, node=task.node.uuid)
