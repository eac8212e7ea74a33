"""Rings built without tooz's object are still tooz's rings, at the sizes of
a large deployment, and the rings of one group's hardware types are built
once."""

from tooz import hashring

from ironic_lite.common import hash_ring
from tests import base
from tests.unit.common import test_hash_ring as ring_tests


class LargeRingTest(base.TestCase):

    def test_256_conductors_same_points_and_owners_as_tooz(self):
        hosts = {'conductor-%03d.example.org' % i for i in range(256)}
        hosts.add('cönductor-ü')  # names are hashed as UTF-8
        ring = hash_ring.Ring(hosts, 32)
        tooz_ring = hashring.HashRing(hosts, partitions=32)

        self.assertEqual([format(p, '032x') for p in tooz_ring._partitions],
                         ring._points)
        self.assertEqual([tooz_ring._ring[p] for p in tooz_ring._partitions],
                         ring._owners)
        for node_uuid in ring_tests.node_uuids(3000):
            self.assertEqual(tooz_ring.get_nodes(node_uuid.encode()),
                             {ring.owner(node_uuid)})

    def test_other_partition_counts(self):
        hosts = {'a', 'b', 'c'}
        for partitions in (1, 4, 1024):
            tooz_ring = hashring.HashRing(hosts, partitions=partitions)
            self.assertEqual(
                [format(p, '032x') for p in tooz_ring._partitions],
                hash_ring.Ring(hosts, partitions)._points)


# Group '' has the same members for both types, group 'b' does not.
SHARED_FLEET = {
    'c1': ('', ('fake-hardware', 'ipmi')),
    'c2': ('', ('ipmi', 'fake-hardware')),
    'b1': ('b', ('fake-hardware', 'ipmi')),
    'b2': ('b', ('ipmi',)),
}


class SharedRingTest(base.DBTestCase):

    def test_hardware_types_with_the_same_members_share_one_ring(self):
        ring_tests.register_fleet(self.dbapi, SHARED_FLEET)
        rings = hash_ring.HashRingManager(self.dbapi).current().rings

        self.assertEqual(4, len(rings))
        for (group, hardware_type), ring in rings.items():
            self.assertEqual(
                ring_tests.hosts_of(SHARED_FLEET, group, hardware_type),
                set(ring.hosts))
        self.assertIs(rings[('', 'ipmi')], rings[('', 'fake-hardware')])
        self.assertIsNot(rings[('b', 'ipmi')], rings[('b', 'fake-hardware')])
