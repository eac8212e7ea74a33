"""Node ownership on the hash ring is exactly tooz's, as Ironic computes it.

The expected owners come from :class:`ReferenceRing`, a reimplementation of
tooz's algorithm written from its description (wire reference §5.2), not from
tooz or ironic_lite code, so a mistake in either shows up as a difference.
"""

import bisect
import datetime
import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import types
import uuid

import fixtures
import sqlalchemy as sa
from oslo_utils import timeutils
from tooz import hashring

from ironic_lite.common import exception
from ironic_lite.common import hash_ring
from ironic_lite.common import ring_position
from ironic_lite.conf import CONF
from ironic_lite.db.sqlalchemy import models
from tests import base

NODE_COUNT = 10_000

# Conductors of the tests: hostname -> (group, hardware types). Hostnames
# with ports, brackets and non-ASCII letters check the UTF-8 key encoding.
FLEET = {
    'conductor-1.example.org': ('', ('fake-hardware', 'ipmi')),
    'conductor-2.example.org': ('', ('fake-hardware',)),
    'conductor-3.example.org': ('', ('fake-hardware', 'ipmi')),
    '[fd00::3]:6385': ('', ('ipmi',)),
    'rack2-a': ('rack2', ('fake-hardware', 'ipmi')),
    'rack2-b': ('rack2', ('ipmi',)),
    'rack2-\u00fc': ('rack2', ('fake-hardware', 'ipmi')),
}
RING_KEYS = (('', 'fake-hardware'), ('', 'ipmi'),
             ('rack2', 'fake-hardware'), ('rack2', 'ipmi'))


def md5_int(data: bytes) -> int:
    return int(hashlib.md5(data).hexdigest(), 16)


class ReferenceRing:
    """tooz's consistent hash ring, from its description.

    Host ``h`` takes the points ``md5(h * (r + 2))`` for ``r`` in
    ``range(partitions)`` (tooz updates one md5 with the key again and
    again). A node sits at ``md5(uuid)``; its hosts are met walking the
    ring from the first point strictly greater than that, wrapping.
    """

    def __init__(self, hosts, partitions: int = 32):
        self.hosts = frozenset(hosts)
        self.ring = {}
        for host in self.hosts:
            key = host.encode('utf-8')
            for r in range(partitions):
                self.ring[md5_int(key * (r + 2))] = host
        self.points = sorted(self.ring)

    def owner_at(self, position: int) -> str:
        return self.walk_from(position, 1)[0]

    def owner(self, node_uuid: str) -> str:
        return self.owner_at(md5_int(node_uuid.encode('utf-8')))

    def walk_from(self, position: int, replicas: int) -> list[str]:
        """The first ``replicas`` distinct hosts after ``position``."""
        index = bisect.bisect_right(self.points, position)
        met = []
        while len(met) < min(replicas, len(self.hosts)):
            host = self.ring[self.points[index % len(self.points)]]
            if host not in met:
                met.append(host)
            index += 1
        return met


def node_uuids(count: int = NODE_COUNT, seed: int = 20261127) -> list[str]:
    """The same ``count`` random version 4 UUIDs on every run."""
    rng = random.Random(seed)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4))
            for _ in range(count)]


def node(node_uuid: str, driver: str, group: str = ''):
    return types.SimpleNamespace(uuid=node_uuid, driver=driver,
                                 conductor_group=group)


def register_conductor(dbapi, hostname: str, group: str = '',
                       hardware_types=('fake-hardware',),
                       heartbeat_age: float = 0, online: bool = True):
    """A conductor row as a started conductor leaves it, with a heartbeat
    ``heartbeat_age`` seconds old."""
    now = timeutils.utcnow()
    row = dbapi.register_conductor(
        hostname, group, list(hardware_types),
        take_over_if_older_than=now - datetime.timedelta(days=1))
    dbapi.register_conductor_hardware_interfaces(
        row.id, [{'hardware_type': hardware_type, 'interface_type': 'power',
                  'interface_name': 'fake', 'default': True}
                 for hardware_type in hardware_types])
    if heartbeat_age or not online:
        set_heartbeat(dbapi, hostname, heartbeat_age, online)
    return row


def set_heartbeat(dbapi, hostname: str, age: float,
                  online: bool = True) -> None:
    """Make a conductor's last heartbeat ``age`` seconds old."""
    table = models.Conductor.__table__
    with dbapi.engine.begin() as connection:
        connection.execute(
            table.update().where(table.c.hostname == hostname).values(
                online=online,
                updated_at=timeutils.utcnow()
                - datetime.timedelta(seconds=age)))


def register_fleet(dbapi, fleet=FLEET) -> None:
    for hostname, (group, hardware_types) in fleet.items():
        register_conductor(dbapi, hostname, group, hardware_types)


def hosts_of(fleet, group: str, hardware_type: str) -> set[str]:
    return {hostname for hostname, (g, types_) in fleet.items()
            if g == group and hardware_type in types_}


class ReferenceRingTest(base.TestCase):
    """The reference itself agrees with tooz's documented behaviour."""

    def test_points_are_cumulative_md5(self):
        key = b'conductor-1.example.org'
        cumulative = hashlib.md5(key)
        for r in range(32):
            cumulative.update(key)
            self.assertEqual(int(cumulative.hexdigest(), 16),
                             md5_int(key * (r + 2)))

    def test_agrees_with_tooz(self):
        hosts = hosts_of(FLEET, '', 'ipmi')
        reference = ReferenceRing(hosts)
        tooz_ring = hashring.HashRing(hosts, partitions=32)
        self.assertEqual(reference.points, tooz_ring._partitions)
        for node_uuid in node_uuids(2000):
            self.assertEqual({reference.owner(node_uuid)},
                             tooz_ring.get_nodes(node_uuid.encode()))

    def test_ring_position_is_md5_hex(self):
        for node_uuid in node_uuids(100):
            position = ring_position.ring_position(node_uuid)
            self.assertRegex(position, '^[0-9a-f]{32}$')
            self.assertEqual(md5_int(node_uuid.encode()), int(position, 16))


class FleetTestCase(base.DBTestCase):
    """The conductors of register_fleet, a manager and 10 000 node UUIDs."""

    def setUp(self):
        super().setUp()
        register_fleet(self.dbapi)
        self.manager = hash_ring.HashRingManager(self.dbapi)
        self.uuids = node_uuids()


class OwnershipTest(FleetTestCase):

    def setUp(self):
        super().setUp()
        # Node i belongs to the ring RING_KEYS[i % 4].
        self.nodes = [node(u, RING_KEYS[i % 4][1], RING_KEYS[i % 4][0])
                      for i, u in enumerate(self.uuids)]

    def owners(self, manager=None) -> list[str]:
        manager = manager or self.manager
        return [manager.conductor_for(n) for n in self.nodes]

    def expected_owners(self, fleet=FLEET) -> list[str]:
        references = {key: ReferenceRing(hosts_of(fleet, *key))
                      for key in RING_KEYS}
        return [references[(n.conductor_group, n.driver)].owner(n.uuid)
                for n in self.nodes]

    def test_owner_of_every_node(self):
        expected = self.expected_owners()
        self.assertEqual(expected, self.owners())
        # Every conductor of every ring got nodes: the fleet is not trivial.
        self.assertEqual({h for h, (g, t) in FLEET.items()}, set(expected))

    def test_owner_at_a_stored_ring_position_is_the_owner(self):
        # What the API's lists use instead of hashing every UUID again.
        rings = self.manager.current()
        for n in self.nodes:
            ring = rings.get_ring(n.driver, n.conductor_group)
            self.assertEqual(
                ring.owner(n.uuid),
                ring.owner_at(ring_position.ring_position(n.uuid)))

    def test_rings_are_per_group_and_hardware_type(self):
        self.assertEqual(
            {key: hosts_of(FLEET, *key) for key in RING_KEYS},
            {key: set(ring.hosts)
             for key, ring in self.manager.rings().items()})

    def test_removing_a_conductor_moves_only_its_nodes(self):
        before = self.owners()
        self.dbapi.unregister_conductor('conductor-3.example.org')
        self.manager.reset()
        after = self.owners()

        moved = [i for i, (old, new)
                 in enumerate(zip(before, after, strict=True)) if old != new]
        self.assertEqual(
            [i for i, old in enumerate(before)
             if old == 'conductor-3.example.org'], moved)
        self.assertGreater(len(moved), 500)
        fleet = {h: v for h, v in FLEET.items()
                 if h != 'conductor-3.example.org'}
        self.assertEqual(self.expected_owners(fleet), after)

    def test_group_rack2_never_owns_nodes_of_the_default_group(self):
        rack2 = {h for h, (g, t) in FLEET.items() if g == 'rack2'}
        for n, owner in zip(self.nodes, self.owners(), strict=True):
            self.assertEqual(n.conductor_group == 'rack2', owner in rack2)

    def test_default_group_is_not_served_by_another_group(self):
        self.dbapi.unregister_conductor('conductor-2.example.org')
        self.dbapi.unregister_conductor('conductor-1.example.org')
        self.dbapi.unregister_conductor('conductor-3.example.org')
        self.manager.reset()
        # rack2 conductors enable fake-hardware, but not for group ''.
        error = self.assertRaises(
            exception.NoValidHost, self.manager.conductor_for,
            node(self.uuids[0], 'fake-hardware', ''))
        self.assertEqual(
            'No valid host was found. Reason: No conductor service '
            'registered which supports driver fake-hardware for conductor '
            'group "".', str(error))

    def test_unknown_driver_or_group(self):
        error = self.assertRaises(
            exception.NoValidHost, self.manager.conductor_for,
            node(self.uuids[0], 'redfish', ''))
        self.assertEqual(
            'No valid host was found. Reason: No conductor service '
            'registered which supports driver redfish for conductor group '
            '"".', str(error))
        error = self.assertRaises(
            exception.NoValidHost, self.manager.conductor_for,
            node(self.uuids[0], 'ipmi', 'rack9'))
        self.assertEqual(
            'No valid host was found. Reason: No conductor service '
            'registered which supports driver ipmi for conductor group '
            '"rack9".', str(error))
        self.assertEqual(404, error.code)

    def test_offline_and_stale_conductors_are_never_in_a_ring(self):
        timeout = CONF.conductor.heartbeat_timeout
        register_conductor(self.dbapi, 'offline', '', ('fake-hardware',
                                                       'ipmi'), online=False)
        register_conductor(self.dbapi, 'stale', '', ('fake-hardware',
                                                     'ipmi'),
                           heartbeat_age=timeout + 1)
        register_conductor(self.dbapi, 'stale-rack2', 'rack2', ('ipmi',),
                           heartbeat_age=timeout + 1)
        register_conductor(self.dbapi, 'almost-stale', 'rack2', ('ipmi',),
                           heartbeat_age=timeout - 5)
        self.manager.reset()

        rings = self.manager.rings()
        for hostname in ('offline', 'stale', 'stale-rack2'):
            self.assertFalse(any(hostname in r.hosts
                                 for r in rings.values()))
            self.assertEqual({}, self.manager.arcs_of(hostname))
        self.assertIn('almost-stale', rings[('rack2', 'ipmi')].hosts)
        fleet = dict(FLEET, **{'almost-stale': ('rack2', ('ipmi',))})
        self.assertEqual(self.expected_owners(fleet), self.owners())

    def test_every_manager_names_the_first_host_walking_the_ring(self):
        references = {key: ReferenceRing(hosts_of(FLEET, *key))
                      for key in RING_KEYS}
        expected = [references[(n.conductor_group, n.driver)].walk_from(
            md5_int(n.uuid.encode()), 3)[0] for n in self.nodes]
        for _ in range(3):
            manager = hash_ring.HashRingManager(self.dbapi)
            self.assertEqual(expected, self.owners(manager))

    def test_every_process_names_the_same_host(self):
        """Ironic pops a host from a set, which depends on the string hash
        seed of the process; ironic-lite must not."""
        key = ('', 'fake-hardware')
        uuids = [n.uuid for n in self.nodes
                 if (n.conductor_group, n.driver) == key]
        reference = ReferenceRing(hosts_of(FLEET, *key))
        expected = [reference.owner(u) for u in uuids]

        answers = self._owners_in_subprocesses(('1', '2'), key, uuids)
        for answer in answers:
            self.assertEqual(expected, answer['owners'])
        # Proof that the seeds matter: tooz's set order differs between
        # the two processes, so set.pop() would have disagreed.
        self.assertNotEqual(answers[0]['popped'], answers[1]['popped'])

    _OWNERS_SCRIPT = '''
import json, sys, types
from tooz import hashring
from ironic_lite.conf import CONF
CONF([], project='ironic-lite', default_config_files=[])
from ironic_lite.common import hash_ring
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
url, group, driver = sys.argv[1:4]
uuids = json.load(sys.stdin)
manager = hash_ring.HashRingManager(db_sqlalchemy.Connection(url))
owners = [manager.conductor_for(types.SimpleNamespace(
    uuid=u, driver=driver, conductor_group=group)) for u in uuids]
ring = hashring.HashRing(manager.get_ring(driver, group).hosts)
popped = [ring.get_nodes(u.encode(), replicas=3).pop() for u in uuids]
json.dump({'owners': owners, 'popped': popped}, sys.stdout)
'''

    def _owners_in_subprocesses(self, hash_seeds, key, uuids) -> list:
        """What processes with these string hash seeds answer, run at the
        same time."""
        url = str(self.dbapi.engine.url)
        processes = [subprocess.Popen(
            [sys.executable, '-c', self._OWNERS_SCRIPT, url, key[0], key[1]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONHASHSEED=seed,
                     PYTHONWARNINGS='ignore'))
            for seed in hash_seeds]
        answers = []
        for process in processes:
            try:
                stdout, stderr = process.communicate(json.dumps(uuids),
                                                     timeout=60)
            finally:
                process.kill()
            self.assertEqual(0, process.returncode, stderr)
            answers.append(json.loads(stdout))
        return answers


class ArcsTest(FleetTestCase):
    """``arcs_of`` partitions each ring exactly as ``owner`` does."""

    def assertTiles(self, ring) -> list[tuple]:
        """Every position is in exactly one arc; the arcs, sorted."""
        arcs = sorted(((low, high, host) for host in ring.hosts
                       for low, high in ring.arcs_of(host)),
                      key=lambda arc: arc[0] or '')
        self.assertIsNone(arcs[0][0])
        self.assertIsNone(arcs[-1][1])
        for (_, high, host), (low, _, next_host) in zip(arcs, arcs[1:],
                                                        strict=False):
            self.assertIsNotNone(high)
            self.assertEqual(high, low)  # no gap and no overlap
            self.assertNotEqual(host, next_host)  # merged
        for _, high, _ in arcs:
            if high is not None:
                self.assertRegex(high, '^[0-9a-f]{32}$')
        return arcs

    @staticmethod
    def arc_finder(arcs):
        """The host of the arc a position is in, among sorted tiling
        arcs."""
        lows = [arc[0] or '' for arc in arcs]

        def arc_host(position: str) -> str:
            return arcs[bisect.bisect_right(lows, position) - 1][2]
        return arc_host

    def test_arcs_partition_every_ring(self):
        positions = [ring_position.ring_position(u) for u in self.uuids]
        for (group, driver) in RING_KEYS:
            ring = self.manager.get_ring(driver, group)
            reference = ReferenceRing(ring.hosts)
            arc_host = self.arc_finder(self.assertTiles(ring))
            for node_uuid, position in zip(self.uuids, positions,
                                           strict=True):
                owner = ring.owner(node_uuid)
                self.assertEqual(owner, arc_host(position))
                self.assertEqual(reference.owner(node_uuid), owner)
            # At and around every point: a point belongs to the next one.
            for point in reference.points:
                for p in (point - 1, point, point + 1):
                    if 0 <= p < 2 ** 128:
                        self.assertEqual(reference.owner_at(p),
                                         arc_host(format(p, '032x')))
            for p in (0, 2 ** 128 - 1):
                self.assertEqual(reference.owner_at(p),
                                 arc_host(format(p, '032x')))

    def test_manager_arcs_of_names_every_ring_of_a_host(self):
        for hostname, (group, hardware_types) in FLEET.items():
            arcs = self.manager.arcs_of(hostname)
            self.assertEqual({(group, t) for t in hardware_types},
                             set(arcs))
            for (g, t), host_arcs in arcs.items():
                self.assertEqual(
                    self.manager.get_ring(t, g).arcs_of(hostname),
                    host_arcs)
                self.assertTrue(host_arcs)
        self.assertEqual({}, self.manager.arcs_of('nobody'))

    def test_single_host_owns_the_whole_ring(self):
        ring = hash_ring.Ring({'only'}, 32)
        self.assertEqual(((None, None),), ring.arcs_of('only'))
        self.assertEqual((), ring.arcs_of('other'))

    def test_host_owning_the_wrap(self):
        """The host of the first point also owns the positions after the
        last point: one arc open at its start, one open at its end (merged
        with the arc of the last point when it owns that point too)."""
        seen = set()
        for i in range(40):
            hosts = {'h%d' % i, 'h%d' % (i + 1), 'h%d' % (i + 2)}
            ring = hash_ring.Ring(hosts, 4)
            reference = ReferenceRing(hosts, 4)
            first = reference.ring[reference.points[0]]
            last = reference.ring[reference.points[-1]]
            arcs = ring.arcs_of(first)
            self.assertIsNone(arcs[0][0])
            self.assertIsNone(arcs[-1][1])
            last_point = format(reference.points[-1], '032x')
            self.assertEqual(first != last, arcs[-1][0] == last_point)
            seen.add(first == last)
            self.assertTiles(ring)
        self.assertEqual({True, False}, seen)


class FakeClock:
    """A monotonic clock and a wall clock that move together."""

    def __init__(self, testcase):
        self.now = 1000.0
        timeutils.set_time_override(timeutils.utcnow())
        testcase.addCleanup(timeutils.clear_time_override)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        timeutils.advance_time_seconds(seconds)


class ManagerCacheTest(base.DBTestCase):

    def setUp(self):
        super().setUp()
        self.clock = FakeClock(self)
        self.config(hash_ring_reset_interval=15)
        self.config(heartbeat_timeout=60, group='conductor')
        register_conductor(self.dbapi, 'a')
        register_conductor(self.dbapi, 'b')
        self.reads = self.useFixture(fixtures.MockPatchObject(
            self.dbapi, 'get_alive_hardware',
            wraps=self.dbapi.get_alive_hardware)).mock
        self.manager = hash_ring.HashRingManager(self.dbapi,
                                                 monotonic=self.clock)
        self.node = node(node_uuids(1)[0], 'fake-hardware')

    def hosts(self) -> set[str]:
        return set(self.manager.get_ring('fake-hardware', '').hosts)

    def test_rings_are_reused_within_the_reset_interval(self):
        for _ in range(100):
            self.manager.conductor_for(self.node)
            self.manager.arcs_of('a')
            self.clock.advance(0.14)
        self.assertEqual(1, self.reads.call_count)

    def test_rings_are_read_again_after_the_reset_interval(self):
        self.assertEqual({'a', 'b'}, self.hosts())
        register_conductor(self.dbapi, 'c')
        self.clock.advance(14.9)
        self.assertEqual({'a', 'b'}, self.hosts())
        self.assertEqual(1, self.reads.call_count)
        self.clock.advance(0.1)
        self.assertEqual({'a', 'b', 'c'}, self.hosts())
        self.assertEqual(2, self.reads.call_count)
        self.hosts()
        self.assertEqual(2, self.reads.call_count)

    def test_rings_are_read_again_when_a_heartbeat_gets_too_old(self):
        set_heartbeat(self.dbapi, 'b', age=55)
        self.assertEqual({'a', 'b'}, self.hosts())
        self.clock.advance(4.9)
        self.assertEqual({'a', 'b'}, self.hosts())
        self.assertEqual(1, self.reads.call_count)
        self.clock.advance(0.2)
        self.assertEqual({'a'}, self.hosts())
        self.assertEqual(2, self.reads.call_count)
        # Then the full interval again.
        self.clock.advance(14.9)
        self.hosts()
        self.assertEqual(2, self.reads.call_count)

    def test_reset_drops_the_rings(self):
        self.hosts()
        register_conductor(self.dbapi, 'c')
        self.manager.reset()
        self.assertEqual({'a', 'b', 'c'}, self.hosts())
        self.assertEqual(2, self.reads.call_count)

    def test_reset_during_a_load_is_not_lost(self):
        """A conductor announces itself while another thread is reading
        the conductors: the ring read before the announcement is not kept."""
        reading = threading.Event()
        proceed = threading.Event()
        original = type(self.dbapi).get_alive_hardware

        def slow_read(*args, **kwargs):
            rows = original(self.dbapi, *args, **kwargs)
            if not reading.is_set():
                reading.set()
                proceed.wait(10)
            return rows

        self.reads.side_effect = slow_read
        loader = threading.Thread(target=self.hosts)
        loader.start()
        self.assertTrue(reading.wait(10))
        register_conductor(self.dbapi, 'c')
        self.manager.reset()
        proceed.set()
        loader.join(10)
        self.assertEqual({'a', 'b', 'c'}, self.hosts())

    def test_a_miss_reads_again_at_most_once_a_second(self):
        """A conductor that joined unannounced (no message broker) serves
        work routed for its ring without waiting for the interval."""
        ipmi_node = node(node_uuids(2)[1], 'ipmi')
        self.assertRaises(exception.NoValidHost, self.manager.conductor_for,
                          ipmi_node)
        register_conductor(self.dbapi, 'c', hardware_types=('ipmi',))
        self.assertRaises(exception.NoValidHost, self.manager.conductor_for,
                          ipmi_node)
        self.assertEqual(1, self.reads.call_count)
        self.clock.advance(1)
        self.assertEqual('c', self.manager.conductor_for(ipmi_node))
        self.assertEqual(2, self.reads.call_count)
        # A request's own rings do not reload; their answers stay coherent.
        rings = self.manager.current()
        self.assertRaises(exception.NoValidHost, rings.conductor_for,
                          node(ipmi_node.uuid, 'ipmi', group='rack9'))
        self.clock.advance(5)
        self.assertRaises(exception.NoValidHost, rings.conductor_for,
                          node(ipmi_node.uuid, 'ipmi', group='rack9'))
        self.assertEqual(2, self.reads.call_count)

    def test_no_conductor_at_all(self):
        self.dbapi.unregister_conductor('a')
        self.dbapi.unregister_conductor('b')
        self.manager.reset()
        error = self.assertRaises(exception.TemporaryFailure,
                                  self.manager.conductor_for, self.node)
        self.assertEqual(503, error.code)
        self.assertEqual({}, self.manager.arcs_of('a'))

    def test_only_stale_conductors(self):
        set_heartbeat(self.dbapi, 'a', age=61)
        set_heartbeat(self.dbapi, 'b', age=3600)
        self.manager.reset()
        self.assertRaises(exception.TemporaryFailure,
                          self.manager.conductor_for, self.node)

    def test_process_wide_manager(self):
        self.assertIs(hash_ring.get_manager(), hash_ring.get_manager())


class SchemaPositionTest(base.DBTestCase):
    """Nodes created through the database API store their position."""

    def test_created_node_has_its_ring_position(self):
        for node_uuid in node_uuids(20):
            row = self.dbapi.create_node({'uuid': node_uuid,
                                          'driver': 'fake-hardware'})
            self.assertEqual(ring_position.ring_position(node_uuid),
                             row.ring_position)
        with self.dbapi.engine.connect() as connection:
            stored = dict(connection.execute(
                sa.select(models.Node.uuid, models.Node.ring_position))
                .all())
        self.assertEqual({u: ring_position.ring_position(u) for u in stored},
                         stored)
