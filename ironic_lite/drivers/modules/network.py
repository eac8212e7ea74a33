"""Network interfaces: where a node's VIFs (virtual interfaces, the IDs of
Neutron ports) are recorded.

ironic-lite has no Neutron, so neither interface plugs anything:

* ``noop`` does what Ironic's ``noop`` does: attaching and detaching are
  silent no-ops and a node lists no VIFs.
* ``flat`` records VIFs as Ironic's ``flat`` does, on the node's ports
  (``internal_info.tenant_vif_port_id``; the legacy ``extra.vif_port_id`` is
  read too), so clients that need them stored (Nova) find them; it calls no
  Neutron, so no VIF's physical network is known, and no port is updated
  or bound.
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


def _preference(port) -> tuple:
    """Higher is preferred: a PXE-enabled port, then the oldest.

    Ironic first prefers a port on the VIF's physical network (which it asks
    Neutron for), then portgroups; ironic-lite knows neither.
    """
    return bool(port.pxe_enabled), -port.id


class FlatNetwork(NetworkInterface):
    """VIFs recorded on the node's ports, one VIF per port."""

    def vif_list(self, task) -> list[dict]:
        return [{'id': vif} for vif in map(vif_of, task.ports) if vif]

    def vif_attach(self, task, vif_info: dict) -> None:
        vif_id = vif_info['id']
        for port in task.ports:
            if vif_of(port) == vif_id:
                raise exception.VifAlreadyAttached(
                    vif=vif_id, object_type='Port', object_uuid=port.uuid)
        free = [port for port in task.ports if not vif_of(port)]
        if not free:
            raise exception.NoFreePhysicalPorts(vif=vif_id)
        port = max(free, key=_preference)
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


def internal_info_for_extra(old_extra: dict | None, new_extra: dict | None,
                            internal_info: dict | None) -> dict | None:
    """A port's ``internal_info`` after its ``extra`` changes from
    ``old_extra`` to ``new_extra``, or None if it stays: a legacy
    ``extra.vif_port_id`` set by a client is recorded where VIFs are, and
    removing it removes that VIF, as in Ironic."""
    old = (old_extra or {}).get(LEGACY_VIF_KEY)
    new = (new_extra or {}).get(LEGACY_VIF_KEY)
    internal_info = dict(internal_info or {})
    if new == old:
        return None
    if new:
        internal_info[TENANT_VIF_KEY] = new
    elif internal_info.get(TENANT_VIF_KEY) == old:
        del internal_info[TENANT_VIF_KEY]
    else:
        return None
    return internal_info
