"""Which conductor serves which node: consistent hash rings of the alive
conductors, the single source of truth for node ownership.

There is one ring per (conductor group, hardware type), tooz's consistent
hash ring (``tooz.hashring.HashRing``, as Ironic builds it) of the alive
conductors of that group that enable that hardware type, each taking
``2**hash_partition_exponent`` points. A node belongs to the first
conductor met walking the ring from the md5 of its UUID, so the API and every
conductor, building the ring from the same database rows, name the same
conductor, and the same one Ironic names.

Because ownership only depends on the md5 of the UUID, each node stores that
md5 (``ring_position``) and a conductor's share of a ring is a few arcs of
md5 values: "the nodes of conductor H" is a range query, not a scan.
"""

import bisect
import collections
import datetime
import hashlib
import threading
import time

from oslo_log import log
from oslo_utils import timeutils

from ironic_lite.common import exception
from ironic_lite.common import ring_position
from ironic_lite.conf import CONF
from ironic_lite.db import api as db_api

LOG = log.getLogger(__name__)

RingKey = tuple[str, str]  # (conductor_group, hardware_type)
Arc = tuple[str | None, str | None]  # low <= position < high; None is open


class Ring:
    """One consistent hash ring, tooz's, and the arcs each of its hosts
    owns."""

    def __init__(self, hosts: set[str], partitions: int):
        self.hosts = frozenset(hosts)
        self.partitions = partitions
        # tooz's points, worked out as tooz does (each host's md5 updated
        # with its name once per partition; the hexdigest after each update
        # is a point) but kept as the hexdigest: fixed-width lowercase hex
        # sorts as tooz's integers do, and the stored ring_position is
        # compared with it as it is. Building a tooz HashRing, then turning
        # its integers back into hex, took 3 us a point: 47 ms for 256
        # conductors. The ring tests compare every answer with tooz's.
        ring: dict[str, str] = {}
        for host in sorted(self.hosts):
            key = host.encode('utf-8')
            digest = hashlib.md5(key, usedforsecurity=False)
            for _ in range(partitions):
                digest.update(key)
                ring[digest.hexdigest()] = host
        self._points = sorted(ring)
        self._owners = [ring[point] for point in self._points]

    def owner(self, node_uuid: str) -> str:
        """The conductor of a node: the first host walking the ring.

        With several replicas Ironic picks any of them at random; taking the
        first keeps the choice the same in every process.
        """
        return self.owner_at(ring_position.ring_position(node_uuid))

    def owner_at(self, position: str) -> str:
        """The conductor of the node at ``position`` (its stored
        ``ring_position``): :meth:`owner` without hashing the UUID again,
        for lists of many nodes."""
        index = bisect.bisect_right(self._points, position)
        return self._owners[index if index < len(self._owners) else 0]

    def arcs_of(self, host: str) -> tuple[Arc, ...]:
        """The ring positions owned by ``host``, as merged half-open arcs.

        A position p belongs to the owner of the first point strictly greater
        than p, wrapping after the last point to the first one.
        """
        points, owners = self._points, self._owners
        arcs: list[list] = []
        for i, owner in enumerate(owners):
            if owner != host:
                continue
            low = points[i - 1] if i else None
            if arcs and arcs[-1][1] == low:
                arcs[-1][1] = points[i]  # continues the previous arc
            else:
                arcs.append([low, points[i]])
        if owners and owners[0] == host:
            # Positions after the last point wrap to the first one.
            if arcs and arcs[-1][1] == points[-1]:
                arcs[-1][1] = None
            else:
                arcs.append([points[-1], None])
        return tuple((low, high) for low, high in arcs)


class Rings:
    """The rings from one read of the alive conductors. Immutable: answers
    given from one object are consistent with each other."""

    def __init__(self, rings: dict[RingKey, Ring], loaded_at: float,
                 valid_until: float):
        self.rings = rings
        self.loaded_at = loaded_at
        self.valid_until = valid_until
        self._arcs: dict[str, dict[RingKey, tuple[Arc, ...]]] = {}
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        """What tells these rings apart from others: equal for rings of
        the same members and partitions, in any process."""
        if self._fingerprint is None:
            text = repr(sorted((key, ring.partitions, sorted(ring.hosts))
                               for key, ring in self.rings.items()))
            self._fingerprint = hashlib.sha256(
                text.encode('utf-8')).hexdigest()
        return self._fingerprint

    def get_ring(self, driver: str, conductor_group: str) -> Ring:
        """The ring serving nodes of this hardware type and group.

        :raises TemporaryFailure: no conductor is alive at all.
        :raises NoValidHost: no alive conductor of the group enables the
            hardware type.
        """
        if not self.rings:
            raise exception.TemporaryFailure(
                'No conductor is alive. Please retry once a conductor has '
                'started.')
        try:
            return self.rings[(conductor_group, driver)]
        except KeyError:
            raise exception.NoValidHost(
                reason='No conductor service registered which supports '
                       'driver %s for conductor group "%s".'
                       % (driver, conductor_group))

    def conductor_for(self, node) -> str:
        """The hostname of the conductor serving ``node``.

        ``node`` needs ``uuid``, ``driver`` and ``conductor_group``.
        :raises TemporaryFailure, NoValidHost: as :meth:`get_ring`.
        """
        return self.get_ring(node.driver, node.conductor_group).owner(
            node.uuid)

    def arcs_of(self, hostname: str) -> dict[RingKey, tuple[Arc, ...]]:
        """Every ring ``hostname`` belongs to, with the arcs it owns there."""
        arcs = self._arcs.get(hostname)
        if arcs is None:
            arcs = self._arcs[hostname] = {
                key: ring.arcs_of(hostname)
                for key, ring in self.rings.items() if hostname in ring.hosts}
        return arcs


class HashRingManager:
    """The rings of this process, cached and rebuilt on membership change.

    The cache is process-wide. It is read again from the database after
    ``hash_ring_reset_interval`` seconds, as soon as the heartbeat of one of
    its conductors grows older than ``heartbeat_timeout`` (so a crashed
    conductor leaves the rings on time), and at once on :meth:`reset`, which
    the conductors' join and leave announcements trigger. Work routed for a
    node no ring serves reads them again too, at most once a second: a
    conductor may have joined unannounced.
    """

    # Seconds a cache must have lived before a miss reloads it.
    MISS_RELOAD_AFTER = 1.0

    def __init__(self, dbapi=None, monotonic=time.monotonic):
        self._dbapi = dbapi
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._rings: Rings | None = None
        # Counts resets, so that rings read before a reset are not cached.
        self._generation = 0

    @property
    def dbapi(self):
        return self._dbapi or db_api.get_instance()

    def reset(self) -> None:
        """Forget the rings; the next question reads the database again.

        Rings another thread is reading at this moment may predate the
        change that caused the reset: they answer that thread's question
        but are not cached.
        """
        self._generation += 1
        self._rings = None

    def current(self) -> Rings:
        """The rings to answer with now; one object serves one request."""
        rings = self._rings
        if rings is None or self._monotonic() >= rings.valid_until:
            with self._lock:
                rings = self._rings
                if rings is None or self._monotonic() >= rings.valid_until:
                    generation = self._generation
                    rings = self._load()
                    if generation == self._generation:
                        self._rings = rings
        return rings

    def rings(self) -> dict[RingKey, Ring]:
        return self.current().rings

    def _load(self) -> Rings:
        timeout = datetime.timedelta(
            seconds=CONF.conductor.heartbeat_timeout)
        now_wall = timeutils.utcnow()
        now = self._monotonic()
        rows = self.dbapi.get_alive_hardware(heartbeat_after=now_wall
                                             - timeout)
        hosts = collections.defaultdict(set)
        valid_until = now + CONF.hash_ring_reset_interval
        for row in rows:
            hosts[(row.conductor_group, row.hardware_type)].add(row.hostname)
            expires_in = (row.updated_at + timeout - now_wall).total_seconds()
            valid_until = min(valid_until, now + max(expires_in, 0))
        partitions = 2 ** CONF.hash_partition_exponent
        # The rings of a group's hardware types usually have the same
        # members: one ring object serves them all.
        built: dict[frozenset, Ring] = {}
        rings = {}
        for key, members in hosts.items():
            members = frozenset(members)
            if members not in built:
                built[members] = Ring(members, partitions)
            rings[key] = built[members]
        LOG.debug('Loaded hash rings: %s',
                  {k: sorted(r.hosts) for k, r in rings.items()})
        return Rings(rings, now, valid_until)

    def get_ring(self, driver: str, conductor_group: str) -> Ring:
        """As :meth:`Rings.get_ring`, reading the rings again on a miss."""
        rings = self.current()
        try:
            return rings.get_ring(driver, conductor_group)
        except (exception.TemporaryFailure, exception.NoValidHost):
            if self._monotonic() - rings.loaded_at < self.MISS_RELOAD_AFTER:
                raise
            with self._lock:
                if self._rings is rings:
                    self.reset()
            return self.current().get_ring(driver, conductor_group)

    def conductor_for(self, node) -> str:
        """The hostname of the conductor serving ``node``.

        ``node`` needs ``uuid``, ``driver`` and ``conductor_group``.
        :raises TemporaryFailure, NoValidHost: as :meth:`Rings.get_ring`.
        """
        return self.get_ring(node.driver, node.conductor_group).owner(
            node.uuid)

    def arcs_of(self, hostname: str) -> dict[RingKey, tuple[Arc, ...]]:
        """Every ring ``hostname`` belongs to, with the arcs it owns there."""
        return self.current().arcs_of(hostname)


_MANAGER = HashRingManager()


def get_manager() -> HashRingManager:
    """The hash ring manager shared by everything in this process."""
    return _MANAGER
