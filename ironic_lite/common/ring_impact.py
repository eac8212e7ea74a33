"""What stopping one conductor would do to the hash rings, worked out from
the rings alone: nothing is stopped, nothing is written.

A tooz ring places each host's points from the host's name only, so the
ring without a host is the same ring with that host's points taken out.
A node the host owns belongs to the first point after its position; once
the host's points are gone, it belongs to the first point left after
them. Every node of one of the host's arcs (a run of positions ending at
one of its points) therefore goes to the same new owner, the owner of the
arc's first position in the ring without the host: the move is a set of
whole arcs, which the database counts and lists by range, as it does for
``?conductor=``.
"""

import dataclasses

from ironic_lite.common import hash_ring

RingKey = hash_ring.RingKey
Arc = hash_ring.Arc

# Sorts before every md5 in hex: the first position of an arc open below.
_LOWEST_POSITION = ''


@dataclasses.dataclass(frozen=True)
class Impact:
    """The nodes a conductor serves and where they would go without it."""

    hostname: str
    # Each new owner, with the arcs (per ring) whose nodes would go to it.
    moves: dict[str, dict[RingKey, tuple[Arc, ...]]]
    # The arcs (per ring) whose nodes no alive conductor would serve: the
    # host is the last one of that ring.
    orphaned: dict[RingKey, tuple[Arc, ...]]
    # Each ring the host is in, as it would be without it (None: empty).
    rings_after: dict[RingKey, hash_ring.Ring | None]

    def served(self) -> dict[RingKey, tuple[Arc, ...]]:
        """Every arc the host serves now, per ring."""
        arcs: dict[RingKey, list[Arc]] = {}
        for per_ring in [*self.moves.values(), self.orphaned]:
            for key, key_arcs in per_ring.items():
                arcs.setdefault(key, []).extend(key_arcs)
        return {key: tuple(sorted(key_arcs, key=_arc_order))
                for key, key_arcs in arcs.items()}

    def new_owner(self, conductor_group: str, driver: str, uuid: str,
                  position: str | None) -> str | None:
        """Who would serve a node the host serves now; None: nobody.

        ``position`` is the node's stored ``ring_position`` (None: hash the
        UUID).
        """
        ring = self.rings_after.get((conductor_group, driver))
        if ring is None:
            return None
        return ring.owner(uuid) if position is None else ring.owner_at(
            position)


def _arc_order(arc: Arc) -> str:
    return _LOWEST_POSITION if arc[0] is None else arc[0]


def of_stopping(rings: hash_ring.Rings, hostname: str,
                partitions: int) -> Impact:
    """The :class:`Impact` of ``hostname`` leaving ``rings`` (built with
    ``partitions`` points per host). A host in no ring (not alive) serves
    nothing: its impact is empty."""
    moves: dict[str, dict[RingKey, list[Arc]]] = {}
    orphaned: dict[RingKey, tuple[Arc, ...]] = {}
    rings_after: dict[RingKey, hash_ring.Ring | None] = {}
    for key, ring in sorted(rings.rings.items()):
        if hostname not in ring.hosts:
            continue
        arcs = ring.arcs_of(hostname)
        remaining = ring.hosts - {hostname}
        if not remaining:
            rings_after[key] = None
            orphaned[key] = arcs
            continue
        after = rings_after[key] = hash_ring.Ring(set(remaining), partitions)
        for arc in arcs:
            low = _LOWEST_POSITION if arc[0] is None else arc[0]
            moves.setdefault(after.owner_at(low), {}).setdefault(
                key, []).append(arc)
    return Impact(
        hostname=hostname,
        moves={owner: {key: tuple(arcs) for key, arcs in per_ring.items()}
               for owner, per_ring in sorted(moves.items())},
        orphaned=orphaned, rings_after=rings_after)
