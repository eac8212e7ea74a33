"""What a hardware type is: for each interface type, the implementations it
supports, its default first."""

import dataclasses

from ironic_lite.common.interfaces import INTERFACE_TYPES


@dataclasses.dataclass(frozen=True)
class HardwareType:
    name: str
    # interface type -> supported implementation names, the default first
    interfaces: dict[str, tuple[str, ...]]

    def __post_init__(self):
        missing = set(INTERFACE_TYPES) - set(self.interfaces)
        if missing:
            raise ValueError('Hardware type %s lacks the interface types %s'
                             % (self.name, sorted(missing)))

    def default(self, interface_type: str) -> str:
        return self.interfaces[interface_type][0]

    def supports(self, interface_type: str, name: str) -> bool:
        return name in self.interfaces[interface_type]

    def registrations(self):
        """Rows for conductor_hardware_interfaces."""
        for interface_type in INTERFACE_TYPES:
            for name in self.interfaces[interface_type]:
                yield {'hardware_type': self.name,
                       'interface_type': interface_type,
                       'interface_name': name,
                       'default': name == self.default(interface_type)}
