"""The impact of stopping a conductor, worked out from the arcs, equals
what a ring built without it says, node by node."""

import hashlib

from ironic_lite.common import hash_ring
from ironic_lite.common import ring_impact
from tests import base
from tests.unit.common import test_hash_ring as ring_tests

PARTITIONS = 32
KEY = ('', 'ipmi')


def position(node_uuid: str) -> str:
    return hashlib.md5(node_uuid.encode('utf-8')).hexdigest()


def in_arcs(value: str, arcs) -> bool:
    return any((low is None or low <= value) and (high is None or value < high)
               for low, high in arcs)


def rings_of(hosts_per_key: dict) -> hash_ring.Rings:
    return hash_ring.Rings(
        {key: hash_ring.Ring(set(hosts), PARTITIONS)
         for key, hosts in hosts_per_key.items()}, 0, 0)


class TestOfStopping(base.TestCase):

    def setUp(self):
        super().setUp()
        self.uuids = ring_tests.node_uuids(3000)

    def check_against_a_ring_without(self, hosts: set[str],
                                     leaving: str) -> None:
        rings = rings_of({KEY: hosts})
        impact = ring_impact.of_stopping(rings, leaving, PARTITIONS)
        before = rings.rings[KEY]
        after = hash_ring.Ring(hosts - {leaving}, PARTITIONS)
        served = impact.served()[KEY]
        moved = 0
        for node_uuid in self.uuids:
            where = position(node_uuid)
            if before.owner(node_uuid) != leaving:
                self.assertFalse(in_arcs(where, served), node_uuid)
                continue
            moved += 1
            new_owner = after.owner(node_uuid)
            self.assertTrue(in_arcs(where, served), node_uuid)
            # The arcs moving to an owner hold exactly its new nodes.
            self.assertTrue(in_arcs(where, impact.moves[new_owner][KEY]),
                            node_uuid)
            for other, per_ring in impact.moves.items():
                if other != new_owner:
                    self.assertFalse(in_arcs(where, per_ring[KEY]))
            self.assertEqual(new_owner, impact.new_owner(
                '', 'ipmi', node_uuid, where))
            self.assertEqual(new_owner, impact.new_owner(
                '', 'ipmi', node_uuid, None))
        self.assertGreater(moved, 0)
        self.assertEqual({}, impact.orphaned)

    def test_moves_equal_a_ring_without_the_host(self):
        hosts = ring_tests.hosts_of(ring_tests.FLEET, '', 'fake-hardware')
        for leaving in sorted(hosts):
            self.check_against_a_ring_without(hosts, leaving)

    def test_two_hosts(self):
        self.check_against_a_ring_without({'a', 'b'}, 'a')

    def test_the_last_host_leaves_orphans(self):
        rings = rings_of({KEY: {'alone'}, ('', 'fake-hardware'): {'alone',
                                                                   'b'}})
        impact = ring_impact.of_stopping(rings, 'alone', PARTITIONS)
        self.assertEqual({KEY: ((None, None),)}, impact.orphaned)
        self.assertEqual(['b'], list(impact.moves))
        self.assertIsNone(impact.new_owner('', 'ipmi', self.uuids[0], None))
        self.assertEqual('b', impact.new_owner('', 'fake-hardware',
                                               self.uuids[0], None))

    def test_a_host_in_no_ring_moves_nothing(self):
        impact = ring_impact.of_stopping(rings_of({KEY: {'a', 'b'}}),
                                         'stopped', PARTITIONS)
        self.assertEqual(({}, {}, {}), (impact.moves, impact.orphaned,
                                        impact.served()))
