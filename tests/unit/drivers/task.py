"""A stand-in for the conductor's task, as drivers/base.py describes it,
for driving interfaces directly."""

import types
import uuid as uuidlib


def make_node(**values) -> types.SimpleNamespace:
    node = {'uuid': str(uuidlib.uuid4()), 'driver': 'ipmi',
            'driver_info': {}, 'instance_info': {},
            'driver_internal_info': {}, 'properties': {},
            'provision_state': 'deploying', 'power_state': None}
    node.update(values)
    return types.SimpleNamespace(**node)


def make_port(address: str, pxe_enabled: bool = True, **extra):
    return types.SimpleNamespace(uuid=str(uuidlib.uuid4()), address=address,
                                 pxe_enabled=pxe_enabled, extra=extra)


class Task:
    """The node, its ports and its interfaces; ``update`` writes the node
    and remembers what it wrote."""

    def __init__(self, node, ports=(), **interfaces):
        self.node = node
        self.ports = list(ports)
        self.driver = types.SimpleNamespace(**interfaces)
        self.host = 'test-conductor'
        self.shared = False
        self.updates: list[dict] = []

    def update(self, values: dict) -> None:
        self.updates.append(values)
        for key, value in values.items():
            setattr(self.node, key, value)


class RecordingManagement:
    """A management interface that remembers the boot devices asked for."""

    def __init__(self, calls: list):
        self.calls = calls

    def set_boot_device(self, task, device, persistent=False):
        self.calls.append(('bootdev', device, persistent))


class RecordingPower:
    def __init__(self, calls: list):
        self.calls = calls

    def set_power_state(self, task, state, timeout=None):
        self.calls.append(('power', state))
