"""One UUID, one spelling: every spelling ``is_uuid_like`` takes names the
same node, and only the canonical one (lowercase, dashed) is stored."""

import uuid

from tests.unit.api import base

CANONICAL = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'
INSTANCE = '6c5a9b1e-3b0f-4a8e-9d4b-1f2e3d4c5b6a'


def spellings(value: str) -> list[str]:
    """What oslo's is_uuid_like accepts besides the canonical form."""
    hex_ = uuid.UUID(value).hex
    return [value.upper(), hex_, hex_.upper(), '{%s}' % value,
            'urn:uuid:%s' % value, '{%s}' % hex_.upper()]


class TestUuidSpellings(base.APITestCase):

    def test_a_node_is_stored_with_the_canonical_uuid(self):
        node = self.create_node(uuid='{%s}' % CANONICAL.upper())
        self.assertEqual(CANONICAL, node['uuid'])
        self.assertEqual(CANONICAL,
                         self.dbapi.get_node_by_uuid(CANONICAL).uuid)

    def test_the_same_machine_cannot_be_enrolled_once_per_spelling(self):
        self.create_node(uuid=CANONICAL)
        for spelling in spellings(CANONICAL):
            response = self.post_json('/v1/nodes', {
                'driver': 'fake-hardware', 'uuid': spelling}, status=409)
            self.assertIn(CANONICAL, self.fault(response))
        self.assertEqual(1, len(self.get('/v1/nodes').json['nodes']))

    def test_every_spelling_in_the_url_finds_the_node(self):
        self.create_node(uuid=CANONICAL, name='n1')
        for spelling in spellings(CANONICAL):
            self.assertEqual(
                CANONICAL, self.get('/v1/nodes/%s' % spelling).json['uuid'])
            self.assertEqual(
                'enroll', self.get('/v1/nodes/%s/states' % spelling).json[
                    'provision_state'])

    def test_instance_uuid_is_canonical_on_create_and_patch(self):
        node = self.create_node(instance_uuid='urn:uuid:' + INSTANCE.upper())
        self.assertEqual(INSTANCE, node['instance_uuid'])
        other = self.create_node()
        self.patch_json('/v1/nodes/%s' % other['uuid'], [
            {'op': 'add', 'path': '/instance_uuid',
             'value': uuid.UUID(INSTANCE).hex}], status=409)
        other = self.patch_json('/v1/nodes/%s' % other['uuid'], [
            {'op': 'add', 'path': '/instance_uuid',
             'value': '{%s}' % CANONICAL.upper()}]).json
        self.assertEqual(CANONICAL, other['instance_uuid'])

    def test_the_instance_filter_takes_every_spelling(self):
        node = self.create_node(instance_uuid=INSTANCE)
        for spelling in spellings(INSTANCE):
            listed = self.get('/v1/nodes?instance_uuid=%s'
                              % spelling.replace('{', '%7B').replace(
                                  '}', '%7D')).json['nodes']
            self.assertEqual([node['uuid']], [n['uuid'] for n in listed])

    def test_the_marker_takes_every_spelling(self):
        first = self.create_node(uuid=CANONICAL)
        second = self.create_node()
        for spelling in spellings(first['uuid']):
            listed = self.get('/v1/nodes?marker=%s'
                              % spelling.replace('{', '%7B').replace(
                                  '}', '%7D')).json['nodes']
            self.assertEqual([second['uuid']], [n['uuid'] for n in listed])
