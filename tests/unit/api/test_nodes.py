"""/v1/nodes on the wire where YAML would be clumsy: every versioned field
at every version, paging through many nodes with every filter, and
configuration that changes the answers."""

import copy
import threading
import urllib.parse

import fixtures
import oslo_messaging as messaging
import sqlalchemy as sa
from oslo_utils import uuidutils

from ironic_lite import version
from ironic_lite.api import versions
from ironic_lite.api.controllers.v1 import node as node_api
from ironic_lite.common import context
from ironic_lite.common import hash_ring
from ironic_lite.conductor import manager
from ironic_lite.conductor import rpcapi
from ironic_lite.conductor import served_by
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
from ironic_lite.db.sqlalchemy import models as db_models
from tests.base import wait_for
from tests.unit.api import base

# Every field of a node at 1.49, as Ironic 12.0 lists them.
ALL_FIELDS = frozenset({
    'uuid', 'name', 'instance_uuid', 'driver', 'driver_info',
    'driver_internal_info', 'clean_step', 'deploy_step', 'raid_config',
    'target_raid_config', 'instance_info', 'properties', 'extra',
    'reservation', 'conductor_group', 'power_state', 'target_power_state',
    'provision_state', 'provision_updated_at', 'target_provision_state',
    'maintenance', 'maintenance_reason', 'fault', 'console_enabled',
    'last_error', 'resource_class', 'inspection_finished_at',
    'inspection_started_at', 'automated_clean', 'protected',
    'protected_reason', 'bios_interface', 'boot_interface',
    'console_interface', 'deploy_interface', 'inspect_interface',
    'management_interface', 'network_interface', 'power_interface',
    'raid_interface', 'rescue_interface', 'storage_interface',
    'vendor_interface', 'traits', 'created_at', 'updated_at',
    'chassis_uuid', 'conductor'})

# Ironic's VERSIONED_FIELDS (api/controllers/v1/utils.py, 12.0).
IRONIC_FIELD_SINCE = {
    'driver_internal_info': 3, 'name': 5, 'inspection_finished_at': 6,
    'inspection_started_at': 6, 'clean_step': 7, 'raid_config': 12,
    'target_raid_config': 12, 'network_interface': 20, 'resource_class': 21,
    'boot_interface': 31, 'console_interface': 31, 'deploy_interface': 31,
    'inspect_interface': 31, 'management_interface': 31,
    'power_interface': 31, 'raid_interface': 31, 'vendor_interface': 31,
    'storage_interface': 33, 'traits': 37, 'rescue_interface': 38,
    'bios_interface': 40, 'fault': 42, 'deploy_step': 44,
    'conductor_group': 46, 'automated_clean': 47, 'protected': 48,
    'protected_reason': 48, 'conductor': 49}

DEFAULT_FIELDS = {'uuid', 'name', 'instance_uuid', 'power_state',
                  'provision_state', 'maintenance'}

# A value each versioned field could be written with, were it writable.
SAMPLE_VALUES = {
    'driver_internal_info': {}, 'name': 'node-x',
    'inspection_finished_at': None, 'inspection_started_at': None,
    'clean_step': {}, 'raid_config': {}, 'target_raid_config': {},
    'network_interface': 'noop', 'resource_class': 'gold',
    'boot_interface': 'fake', 'console_interface': 'fake',
    'deploy_interface': 'fake', 'inspect_interface': 'fake',
    'management_interface': 'fake', 'power_interface': 'fake',
    'raid_interface': 'fake', 'vendor_interface': 'fake',
    'storage_interface': 'noop', 'traits': ['CUSTOM_GOLD'],
    'rescue_interface': 'fake', 'bios_interface': 'fake',
    'fault': 'power failure', 'deploy_step': {}, 'conductor_group': 'rack2',
    'automated_clean': True, 'protected': True, 'protected_reason': 'x',
    'conductor': 'test-conductor'}
# Fields a client may never write: Ironic says so whatever the version.
READ_ONLY = frozenset({
    'driver_internal_info', 'inspection_finished_at',
    'inspection_started_at', 'clean_step', 'raid_config',
    'target_raid_config', 'fault', 'deploy_step', 'conductor'})

NOT_ACCEPTABLE = 'Request not acceptable.'


# The versions just before and at each change of what a node shows.
_AROUND_EACH_VERSION = sorted(
    {versions.MIN_MINOR, versions.MAX_MINOR}
    | {since + delta for since in [*IRONIC_FIELD_SINCE.values(),
                                   versions.Minor.STATES_LINK]
       for delta in (-1, 0)})


def _visible_at(minor: int) -> set:
    return {field for field in ALL_FIELDS
            if IRONIC_FIELD_SINCE.get(field, 1) <= minor}


def _version(minor: int) -> str:
    return '1.%d' % minor


class NodeTestCase(base.APITestCase):

    def make_node(self, **values) -> dict:
        """A node row written straight to the database: quicker than a
        POST, for tests about reading."""
        values.setdefault('uuid', uuidutils.generate_uuid())
        values.setdefault('driver', 'fake-hardware')
        values.setdefault('provision_state', 'enroll')
        row = self.dbapi.create_node(values)
        return {'uuid': row.uuid, 'name': row.name}

    def pages(self, path, version='latest'):
        """Every page of a list, following next links; checks that a page
        has a next link exactly when it is full."""
        pages = []
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        while path:
            self.assertLess(len(pages), 50, 'next links go round')
            body = self.get(path, version=version).json
            pages.append(body)
            nxt = body.get('next')
            if nxt:
                split = urllib.parse.urlsplit(nxt)
                path = split.path + '?' + split.query
                limit = int(urllib.parse.parse_qs(split.query)['limit'][0])
                self.assertEqual(limit, len(body['nodes']), nxt)
                query = urllib.parse.parse_qs(split.query)
            else:
                path = None
                if 'limit' in query:
                    self.assertLess(len(body['nodes']),
                                    int(query['limit'][0]))
        return pages


class TestVersionedFields(NodeTestCase):
    """Each versioned field is hidden below its version, present from it,
    and refused in ?fields, POST and PATCH below it."""

    def setUp(self):
        super().setUp()
        self.node = self.make_node(name='node-0', resource_class='gold')

    def test_the_field_table_is_ironics(self):
        self.assertEqual(IRONIC_FIELD_SINCE,
                         {k: int(v)
                          for k, v in versions.NODE_FIELD_SINCE.items()})

    def test_show_and_detail_around_each_version(self):
        for minor in _AROUND_EACH_VERSION:
            expected = _visible_at(minor) | {'links', 'ports'}
            if minor >= versions.Minor.STATES_LINK:
                expected.add('states')
            shown = self.get('/v1/nodes/%s' % self.node['uuid'],
                             version=_version(minor)).json
            self.assertEqual(expected, set(shown), 'show at 1.%d' % minor)
            (listed,) = self.get('/v1/nodes/detail',
                                 version=_version(minor)).json['nodes']
            self.assertEqual(expected, set(listed), 'detail at 1.%d' % minor)
            if minor >= versions.Minor.DETAIL_PARAM:
                (listed,) = self.get('/v1/nodes?detail=True',
                                     version=_version(minor)).json['nodes']
                self.assertEqual(expected, set(listed))

    def test_default_list_around_each_version(self):
        for minor in _AROUND_EACH_VERSION:
            (listed,) = self.get('/v1/nodes',
                                 version=_version(minor)).json['nodes']
            expected = DEFAULT_FIELDS & _visible_at(minor) | {'links'}
            self.assertEqual(expected, set(listed), 'list at 1.%d' % minor)

    def test_post_response_around_each_version(self):
        for minor in _AROUND_EACH_VERSION:
            created = self.create_node(version=_version(minor))
            expected = _visible_at(minor) | {'links', 'ports'}
            if minor >= versions.Minor.STATES_LINK:
                expected.add('states')
            self.assertEqual(expected, set(created), 'POST at 1.%d' % minor)
        created = self.create_node(
            version='1.48', name='node-1', conductor_group='',
            resource_class='gold', automated_clean=False,
            network_interface='flat', storage_interface='noop',
            rescue_interface='no-rescue', bios_interface='no-bios')
        self.assertEqual(('node-1', 'gold', False, 'flat', 'no-rescue'),
                         (created['name'], created['resource_class'],
                          created['automated_clean'],
                          created['network_interface'],
                          created['rescue_interface']))

    def test_fields_below_and_at_each_version(self):
        for field, since in IRONIC_FIELD_SINCE.items():
            older = _version(since - 1)
            for path in ('/v1/nodes?fields=uuid,%s' % field,
                         '/v1/nodes/%s?fields=%s' % (self.node['uuid'],
                                                     field)):
                response = self.get(path, version=older, status=406)
                self.assertEqual(NOT_ACCEPTABLE, self.fault(response))
            at = _version(max(since, versions.Minor.FIELDS))
            shown = self.get('/v1/nodes/%s?fields=%s'
                             % (self.node['uuid'], field), version=at).json
            self.assertEqual({field, 'links'}, set(shown))
            (listed,) = self.get('/v1/nodes?fields=%s' % field,
                                 version=at).json['nodes']
            self.assertEqual({field, 'links'}, set(listed))

    def test_post_below_each_version(self):
        for field, since in IRONIC_FIELD_SINCE.items():
            response = self.post_json(
                '/v1/nodes', {'driver': 'fake-hardware',
                              field: SAMPLE_VALUES[field]},
                version=_version(since - 1), status='*')
            message = self.fault(response)
            if field in READ_ONLY:
                self.assertEqual(400, response.status_int, field)
                self.assertIn('Cannot set read only field.', message)
            else:
                self.assertEqual(406, response.status_int, field)
                self.assertEqual(NOT_ACCEPTABLE, message)
        self.assertEqual(1, len(self.get('/v1/nodes').json['nodes']))

    def test_patch_below_each_version(self):
        for field, since in IRONIC_FIELD_SINCE.items():
            response = self.patch_json(
                '/v1/nodes/%s' % self.node['uuid'],
                [{'op': 'add', 'path': '/%s' % field,
                  'value': SAMPLE_VALUES[field]}],
                version=_version(since - 1), status='*')
            message = self.fault(response)
            if field in READ_ONLY:
                self.assertEqual(400, response.status_int, field)
                self.assertEqual("'/%s' is an internal attribute and can "
                                 'not be updated' % field, message)
            else:
                self.assertEqual(406, response.status_int, field)
                self.assertEqual(NOT_ACCEPTABLE, message)
        after = self.get('/v1/nodes/%s' % self.node['uuid']).json
        self.assertEqual('node-0', after['name'])
        self.assertEqual('gold', after['resource_class'])
        self.assertEqual('', after['conductor_group'])


class TestPaging(NodeTestCase):
    """Pages follow one another, keep what was asked and end when a page is
    not full."""

    def setUp(self):
        super().setUp()
        self.instance = uuidutils.generate_uuid()
        specs = [
            dict(name='a0'),
            dict(name='a1', driver='ipmi', resource_class='gold'),
            dict(name='a2', maintenance=True, fault='power failure'),
            dict(name='a3', instance_uuid=self.instance,
                 provision_state='active'),
            dict(name='a4', resource_class='gold'),
            dict(name='a5', conductor_group='rack2'),
            dict(name='a6', driver='ipmi', maintenance=True,
                 fault='power failure'),
            dict(name='a7', resource_class='gold', provision_state='active'),
        ]
        self.nodes = {spec['name']: self.make_node(**spec) for spec in specs}
        self.spec = {spec['name']: spec for spec in specs}

    def names(self, pages) -> list:
        return [node['name'] for page in pages for node in page['nodes']]

    def test_every_node_once_whatever_the_page_size(self):
        # One node a page, a short last page, an empty last page, one page.
        for limit in (1, 3, 4, 9):
            for path in ('/v1/nodes?limit=%d' % limit,
                         '/v1/nodes/detail?limit=%d' % limit,
                         '/v1/nodes/?detail=True&limit=%d' % limit):
                names = self.names(self.pages(path))
                self.assertEqual(sorted(self.nodes), names, path)

    def test_sorting_through_pages(self):
        ordered = sorted(self.nodes)
        for key in ('name', 'created_at', 'id', 'uuid'):
            for direction in ('asc', 'desc'):
                names = self.names(self.pages(
                    '/v1/nodes?limit=3&sort_key=%s&sort_dir=%s'
                    % (key, direction)))
                if key == 'uuid':
                    self.assertEqual(sorted(ordered), sorted(names))
                    uuids = [self.nodes[n]['uuid'] for n in names]
                    self.assertEqual(sorted(uuids,
                                            reverse=direction == 'desc'),
                                     uuids)
                    continue
                expected = ordered[::-1] if direction == 'desc' else ordered
                self.assertEqual(expected, names, (key, direction))
        # Ironic's list of fields that cannot be sort keys.
        for key in ('properties', 'driver_info', 'extra', 'instance_info',
                    'driver_internal_info', 'clean_step', 'deploy_step',
                    'raid_config', 'target_raid_config', 'traits'):
            response = self.get('/v1/nodes?sort_key=%s' % key, status=400)
            self.assertEqual('The sort_key value %s is an invalid field for '
                             'sorting' % key, self.fault(response))

    def test_sorting_by_a_key_with_nulls_through_pages(self):
        names = self.names(self.pages(
            '/v1/nodes?limit=2&sort_key=resource_class'))
        self.assertEqual(sorted(self.nodes), sorted(names))
        self.assertEqual(['a1', 'a4', 'a7'], names[:3])

    def test_next_carries_every_filter(self):
        cases = {
            'driver=ipmi': {'a1', 'a6'},
            'provision_state=active': {'a3', 'a7'},
            'maintenance=False': {'a0', 'a1', 'a3', 'a4', 'a5', 'a7'},
            'maintenance=True': {'a2', 'a6'},
            'associated=False': set(self.nodes) - {'a3'},
            'associated=True': {'a3'},
            'resource_class=gold': {'a1', 'a4', 'a7'},
            'conductor_group=rack2': {'a5'},
            'conductor_group=': set(self.nodes) - {'a5'},
            'fault=power%20failure': {'a2', 'a6'},
            'instance_uuid=%s' % self.instance: {'a3'},
            'conductor=test-conductor': set(self.nodes) - {'a5'},
            'driver=fake-hardware&maintenance=False&resource_class=gold':
                {'a4', 'a7'},
        }
        for query, expected in cases.items():
            for resource in ('nodes', 'nodes/detail'):
                path = '/v1/%s?limit=1&%s' % (resource, query)
                pages = self.pages(path)
                self.assertEqual(sorted(expected), self.names(pages), path)
                asked = urllib.parse.parse_qs(query, keep_blank_values=True)
                for page in pages:
                    if 'next' not in page:
                        continue
                    link = urllib.parse.urlsplit(page['next'])
                    self.assertEqual('/v1/%s' % resource, link.path)
                    given = urllib.parse.parse_qs(link.query,
                                                  keep_blank_values=True)
                    for name, values in asked.items():
                        self.assertEqual(values, given[name], page['next'])

    def test_next_carries_fields_detail_and_sorting(self):
        pages = self.pages('/v1/nodes?limit=3&fields=name,driver'
                           '&sort_key=name&sort_dir=desc&driver=ipmi')
        self.assertEqual(['a6', 'a1'], self.names(pages))
        self.assertEqual({'name', 'driver', 'links'},
                         set(pages[0]['nodes'][0]))
        pages = self.pages('/v1/nodes?limit=2&fields=name,driver'
                           '&sort_key=name&sort_dir=desc')
        self.assertEqual(sorted(self.nodes, reverse=True), self.names(pages))
        for page in pages:
            for node in page['nodes']:
                self.assertEqual({'name', 'driver', 'links'}, set(node))
        pages = self.pages('/v1/nodes?limit=5&detail=True')
        self.assertIn('detail=True', pages[0]['next'])
        self.assertIn('conductor', pages[1]['nodes'][0])

    def test_max_limit_is_the_default_page_and_the_cap(self):
        self.config(group='api', max_limit=3)
        for path in ('/v1/nodes', '/v1/nodes?limit=100',
                     '/v1/nodes/detail?limit=4'):
            body = self.get(path).json
            self.assertEqual(3, len(body['nodes']), path)
            self.assertIn('limit=3', body['next'])
            self.assertEqual(sorted(self.nodes),
                             self.names(self.pages(path)))
        body = self.get('/v1/nodes?limit=2').json
        self.assertEqual(2, len(body['nodes']))
        self.assertIn('limit=2', body['next'])

    def test_a_page_at_1_1(self):
        pages = self.pages('/v1/nodes?limit=3', version='1.1')
        self.assertEqual(3, len(pages))
        self.assertEqual(8, sum(len(page['nodes']) for page in pages))
        self.assertNotIn('name', pages[0]['nodes'][0])

    def test_public_endpoint_changes_every_link(self):
        self.config(group='api',
                    public_endpoint='https://bm.example.com:6385/baremetal/')
        base_url = 'https://bm.example.com:6385/baremetal'
        uuid = self.nodes['a0']['uuid']
        body = self.get('/v1/nodes?limit=2').json
        self.assertTrue(body['next'].startswith(base_url + '/v1/nodes?'))
        self.assertEqual(
            [{'href': '%s/v1/nodes/%s' % (base_url, uuid), 'rel': 'self'},
             {'href': '%s/nodes/%s' % (base_url, uuid), 'rel': 'bookmark'}],
            body['nodes'][0]['links'])
        shown = self.get('/v1/nodes/%s' % uuid).json
        self.assertEqual('%s/v1/nodes/%s/states' % (base_url, uuid),
                         shown['states'][0]['href'])
        self.assertEqual('%s/nodes/%s/states' % (base_url, uuid),
                         shown['states'][1]['href'])
        detail = self.get('/v1/nodes/detail?limit=1').json
        self.assertTrue(detail['next'].startswith(
            base_url + '/v1/nodes/detail?'))
        response = self.post_json('/v1/nodes', {'driver': 'fake-hardware'})
        self.assertEqual('%s/v1/nodes/%s' % (base_url, response.json['uuid']),
                         response.headers['Location'])
        self.assertEqual('%s/v1/nodes/%s/ports' % (base_url, uuid),
                         shown['ports'][0]['href'])
        self.assertEqual('%s/nodes/%s/ports' % (base_url, uuid),
                         shown['ports'][1]['href'])
        for link in (response.json['links'] + response.json['states']
                     + response.json['ports']):
            self.assertTrue(link['href'].startswith(base_url + '/'), link)


class TestNodeChanges(NodeTestCase):
    """What a PATCH or a DELETE does to what is stored."""

    def test_patching_another_key_keeps_the_real_password(self):
        node = self.create_node(driver_info={'ipmi_password': 's3cret',
                                             'ipmi_address': '192.0.2.1'})
        self.assertEqual('******', node['driver_info']['ipmi_password'])
        patched = self.patch_json('/v1/nodes/%s' % node['uuid'], [
            {'op': 'add', 'path': '/driver_info/ipmi_username',
             'value': 'admin'}]).json
        self.assertEqual('******', patched['driver_info']['ipmi_password'])
        stored = self.dbapi.get_node_by_uuid(node['uuid']).driver_info
        self.assertEqual({'ipmi_password': 's3cret',
                          'ipmi_address': '192.0.2.1',
                          'ipmi_username': 'admin'}, stored)

    def test_a_patch_applies_its_operations_in_order(self):
        node = self.create_node(name='node-0', extra={'a': 1})
        # Ironic applies an empty JSON patch and answers with the node.
        unchanged = self.patch_json('/v1/nodes/node-0', []).json
        self.assertEqual((node['uuid'], {'a': 1}),
                         (unchanged['uuid'], unchanged['extra']))
        patched = self.patch_json('/v1/nodes/%s' % node['uuid'], [
            {'op': 'add', 'path': '/extra/b', 'value': 2},
            {'op': 'remove', 'path': '/extra/a'},
            {'op': 'replace', 'path': '/name', 'value': 'node-1'},
            {'op': 'remove', 'path': '/name'},
            {'op': 'add', 'path': '/maintenance', 'value': 'yes'},
        ]).json
        self.assertEqual({'b': 2}, patched['extra'])
        self.assertIsNone(patched['name'])
        self.assertIs(True, patched['maintenance'])

    def test_deleting_depends_on_state_maintenance_and_protection(self):
        node = self.create_node(name='node-0')
        self.dbapi.update_node(
            self.dbapi.get_node_by_uuid(node['uuid']).id,
            {'provision_state': 'active'})
        response = self.app.delete('/v1/nodes/node-0',
                                   headers=self.headers(), status=409)
        self.assertRegex(self.fault(response),
                         '^Can not delete node "%s" while it is in provision '
                         'state "active"' % node['uuid'])

        self.patch_json('/v1/nodes/node-0', [
            {'op': 'replace', 'path': '/protected', 'value': True}])
        self.patch_json('/v1/nodes/node-0', [
            {'op': 'replace', 'path': '/maintenance', 'value': True}])
        response = self.app.delete('/v1/nodes/node-0',
                                   headers=self.headers(), status=403)
        self.assertEqual('Node %s is protected and cannot be undeployed, '
                         'rebuilt or deleted' % node['uuid'],
                         self.fault(response))
        self.get('/v1/nodes/node-0')

        self.patch_json('/v1/nodes/node-0', [
            {'op': 'replace', 'path': '/protected', 'value': False}])
        self.app.delete('/v1/nodes/node-0', headers=self.headers(),
                        status=204)
        self.get('/v1/nodes/%s' % node['uuid'], status=404)

        other = self.create_node()
        self.app.delete('/v1/nodes/%s' % other['uuid'],
                        headers=self.headers(), status=204)
        self.assertEqual([], self.get('/v1/nodes').json['nodes'])

    def test_an_unexpected_failure_is_an_opaque_500(self):
        def broken(*args, **kwargs):
            raise RuntimeError('secret internals')

        self.dbapi.get_node_list = broken
        response = self.get('/v1/nodes', status=500)
        self.assertEqual('application/json', response.content_type)
        self.assertNotIn('secret internals', response.text)
        self.assertNotIn('Traceback', response.text)
        self.assertIn('"faultcode": "Server"',
                      response.json['error_message'])


_CONDUCTOR_THREADS = frozenset({
    'heartbeat', 'takeover', 'power-sync', 'power-recovery',
    'provision-timeouts', 'pxe-health', 'conductor-events-prune',
    'record-served-by'})


class TestWriteCosts(NodeTestCase):
    """The transactions a write costs (issue #10): a regression here is
    a slower write, with nothing else to show it."""

    def count_statements(self, request) -> tuple:
        """(transactions begun for statements on nodes, statements on
        nodes) ``request()`` made (the API's reads of the alive conductors
        come and go with its caches: a BEGIN counts when the connection's
        next statement is on nodes)."""
        seen = []

        def statement(conn, cursor, text, *args):
            # Not the conductor's own threads (take-over, periodic tasks),
            # whose reads come when they come.
            if threading.current_thread().name in _CONDUCTOR_THREADS:
                return
            seen.append((id(conn), ' '.join(text.split())))

        def on_nodes(text):
            return ' nodes ' in text + ' ' or ' nodes(' in text

        engine = self.dbapi.engine
        sa.event.listen(engine, 'before_cursor_execute', statement)
        try:
            request()
        finally:
            sa.event.remove(engine, 'before_cursor_execute', statement)
        begun = 0
        for index, (conn, text) in enumerate(seen):
            following = [later for other, later in seen[index + 1:]
                         if other == conn][:1]
            begun += (text.startswith('BEGIN') and bool(following)
                      and on_nodes(following[0]))
        return begun, [text.split()[0] for _, text in seen
                       if on_nodes(text)]

    def test_post_and_patch(self):
        node = {}

        def post():
            node.update(self.post_json('/v1/nodes', {
                'driver': 'fake-hardware', 'name': 'node-1'}).json)

        # The conductor's create, which returns the row as stored, and the
        # conductor returns it to the API: no transaction around the lone
        # statement, no read.
        self.assertEqual((0, ['INSERT']), self.count_statements(post))

        def patch():
            self.patch_json('/v1/nodes/node-1', [
                {'op': 'add', 'path': '/extra/a', 'value': 1}])

        # The API's read; the lock taken (the node returned) in one
        # statement; the change written with the lock given back (the node
        # returned to the API) in another.
        self.assertEqual((0, ['SELECT', 'UPDATE', 'UPDATE']),
                         self.count_statements(patch))
        row = self.dbapi.get_node_by_uuid(node['uuid'])
        self.assertEqual(({'a': 1}, None), (row.extra, row.reservation))


class TestAnswerWithoutTheNode(NodeTestCase):
    """When a conductor's answer holds no node (as before RPC 1.4), the
    API reads the node, and answers the same as when the conductor returns
    it."""

    def answers_with_and_without_the_node(self, method: str, request):
        answers = [request(0)]
        send = getattr(rpcapi.ConductorAPI, method)
        self.useFixture(fixtures.MonkeyPatch(
            'ironic_lite.conductor.rpcapi.ConductorAPI.' + method,
            lambda *args, **kwargs: send(*args, **kwargs) and None))
        answers.append(request(1))
        return answers

    def test_create(self):
        def post(n):
            return self.post_json('/v1/nodes', {
                'driver': 'fake-hardware', 'name': 'node-%d' % n,
                'extra': {'a': [1, 2.5]}})

        new, old = self.answers_with_and_without_the_node('create_node',
                                                          post)
        self.assertEqual(new.headers['Location'].replace(
            new.json['uuid'], old.json['uuid']), old.headers['Location'])
        for body in (new.json, old.json):
            self.assertEqual(
                body, self.get('/v1/nodes/' + body['uuid']).json)

    def test_update(self):
        uuids = [self.create_node(name='node-%d' % n)['uuid']
                 for n in range(2)]

        def patch(n):
            return self.patch_json('/v1/nodes/' + uuids[n], [
                {'op': 'add', 'path': '/extra/a', 'value': {'b': 1}},
                {'op': 'replace', 'path': '/maintenance', 'value': True}])

        for response in self.answers_with_and_without_the_node(
                'update_node', patch):
            body = response.json
            self.assertEqual((True, {'a': {'b': 1}}),
                             (body['maintenance'], body['extra']))
            self.assertEqual(
                body, self.get('/v1/nodes/' + body['uuid']).json)


class TestConductorOfAnEarlierRelease(NodeTestCase):
    """Conductors and API services are upgraded one at a time: a
    conductor that speaks RPC 1.3 (its dispatcher refuses anything sent
    as 1.4) still creates, updates, powers and deletes nodes for this API,
    which answers as it does with a conductor of its own release."""

    def setUp(self):
        super().setUp()
        # The target the conductor's RPC server dispatches by.
        self.useFixture(fixtures.MockPatchObject(
            self.conductor._endpoint, 'target',
            messaging.Target(version='1.3')))

    def test_the_conductor_refuses_1_4(self):
        # What makes this a conductor of the earlier release.
        api = rpcapi.get_api()
        self.assertRaises(
            messaging.UnsupportedVersion, api._call,
            context.get_admin_context(), self.conductor.host, 'create_node',
            version='1.4', values={}, return_node=True)

    def test_node_life(self):
        created = self.post_json('/v1/nodes', {
            'driver': 'fake-hardware', 'name': 'node-1',
            'extra': {'a': [1, 2.5]}})
        uuid = created.json['uuid']
        self.assertEqual(created.json, self.get('/v1/nodes/' + uuid).json)
        self.assertTrue(created.headers['Location'].endswith(
            '/v1/nodes/' + uuid))

        patched = self.patch_json('/v1/nodes/node-1', [
            {'op': 'add', 'path': '/extra/b', 'value': 1}])
        self.assertEqual({'a': [1, 2.5], 'b': 1}, patched.json['extra'])
        self.assertEqual(patched.json, self.get('/v1/nodes/' + uuid).json)

        self.app.put_json('/v1/nodes/node-1/states/power',
                          {'target': 'power on'},
                          headers=self.headers(), status=202)

        def powered():
            body = self.get('/v1/nodes/node-1/states').json
            return body['power_state'] == 'power on' and body

        self.assertIsNone(
            wait_for(powered, message='power on')['target_power_state'])

        self.app.delete('/v1/nodes/node-1', headers=self.headers(),
                        status=204)
        self.get('/v1/nodes/' + uuid, status=404)

    def test_every_call_is_sent_at_a_version_it_knows(self):
        self.assertLessEqual(set(rpcapi.ConductorAPI.CALL_VERSIONS.values()),
                             {'1.0', '1.1', '1.2', '1.3'})
        # Every endpoint of the conductor but the pings has its version.
        endpoints = {name for name in vars(manager.ConductorManager)
                     if not name.startswith('_')
                     and callable(getattr(manager.ConductorManager, name))}
        self.assertEqual(set(rpcapi.ConductorAPI.CALL_VERSIONS),
                         endpoints & set(vars(rpcapi.ConductorAPI)))


class TestPatchRaces(NodeTestCase):
    """A PATCH is applied to the node as it is under its lock: a write that
    lands between the API's read and the conductor's is never lost."""

    def setUp(self):
        super().setUp()
        self.node = self.create_node(name='node-0', extra={'doc': {'a': 1}})
        self.node_id = self.dbapi.get_node_by_uuid(self.node['uuid']).id
        self.sent = []

    def race(self, times: int, same_key: bool = True):
        """Another client's write lands after the API read the node, before
        each of the first ``times`` updates it sends: a key added to
        ``extra['doc']``, which the patches below change too, or to
        ``extra``."""
        send = rpcapi.ConductorAPI.update_node

        def racing(api, context, node, changes, **kwargs):
            self.sent.append(changes)
            if len(self.sent) <= times:
                extra = copy.deepcopy(self.extra())
                key = 'other-%d' % len(self.sent)
                (extra['doc'] if same_key else extra)[key] = True
                self.dbapi.update_node(self.node_id, {'extra': extra})
            return send(api, context, node, changes, **kwargs)
        self.useFixture(fixtures.MonkeyPatch(
            'ironic_lite.conductor.rpcapi.ConductorAPI.update_node', racing))

    def extra(self) -> dict:
        return self.dbapi.get_node_by_id(self.node_id).extra

    def assert_locked(self, host: str, response) -> None:
        self.assertEqual(
            'Node %s is locked by host %s, please retry after the current '
            'operation is completed.' % (self.node['uuid'], host),
            self.fault(response))
        self.assertEqual('1', response.headers['Retry-After'])

    def test_a_write_between_read_and_lock_is_kept(self):
        self.race(times=1)
        patched = self.patch_json('/v1/nodes/node-0', [
            {'op': 'add', 'path': '/extra/doc/b', 'value': 2}]).json
        expected = {'doc': {'a': 1, 'b': 2, 'other-1': True}}
        self.assertEqual(expected, patched['extra'])
        self.assertEqual(expected, self.extra())
        self.assertEqual(2, len(self.sent))

    def test_writes_to_other_keys_of_a_document_need_no_second_try(self):
        self.race(times=1, same_key=False)
        patched = self.patch_json('/v1/nodes/node-0', [
            {'op': 'add', 'path': '/extra/b', 'value': 2}]).json
        self.assertEqual({'doc': {'a': 1}, 'b': 2, 'other-1': True},
                         patched['extra'])
        self.assertEqual(1, len(self.sent))

    def test_a_document_replaced_whole_is_what_the_patch_says(self):
        # The other client's key lands first; the replacement, applied
        # again to the node as it is, leaves only what it names.
        self.race(times=1, same_key=False)
        patched = self.patch_json('/v1/nodes/node-0', [
            {'op': 'replace', 'path': '/extra', 'value': {'only': 1}}]).json
        self.assertEqual({'only': 1}, patched['extra'])
        self.assertEqual({'only': 1}, self.extra())
        self.assertEqual(2, len(self.sent))

    def test_the_patch_is_applied_again_to_the_node_as_it_is(self):
        # Each attempt starts from the writes before it.
        self.race(times=2)
        patched = self.patch_json('/v1/nodes/node-0', [
            {'op': 'remove', 'path': '/extra/doc/a'},
            {'op': 'add', 'path': '/extra/doc/b', 'value': 2}]).json
        self.assertEqual({'doc': {'b': 2, 'other-1': True, 'other-2': True}},
                         patched['extra'])
        self.assertEqual(3, len(self.sent))
        self.assertEqual({'doc': {'b': 2, 'other-1': True}},
                         self.sent[1]['extra'])

    def test_a_node_that_keeps_changing_is_409_with_retry_after(self):
        self.race(times=1000)
        self.assert_locked('test-conductor', self.patch_json(
            '/v1/nodes/node-0', [
                {'op': 'add', 'path': '/extra/doc/b', 'value': 2}],
            status=409))
        self.assertEqual(node_api._PATCH_ATTEMPTS, len(self.sent))
        self.assertEqual(
            {'a'} | {'other-%d' % i
                     for i in range(1, node_api._PATCH_ATTEMPTS + 1)},
            set(self.extra()['doc']))

    def test_a_busy_node_is_409_with_retry_after(self):
        self.dbapi.reserve_node('other-conductor', self.node_id)
        self.assert_locked('other-conductor', self.patch_json(
            '/v1/nodes/node-0', [
                {'op': 'add', 'path': '/extra/b', 'value': 2}], status=409))
        self.assert_locked('other-conductor', self.app.delete(
            '/v1/nodes/node-0', headers=self.headers(), status=409))
        self.assertEqual({'doc': {'a': 1}}, self.extra())

    def test_a_renaming_patch_is_applied_again_by_uuid(self):
        self.race(times=1)
        patched = self.patch_json('/v1/nodes/node-0', [
            {'op': 'replace', 'path': '/name', 'value': 'node-1'},
            {'op': 'add', 'path': '/extra/doc/b', 'value': 2}]).json
        self.assertEqual('node-1', patched['name'])
        self.assertEqual({'doc': {'a': 1, 'b': 2, 'other-1': True}},
                         patched['extra'])
        self.assertEqual(2, len(self.sent))

    def test_other_errors_are_not_retried(self):
        self.race(times=0)
        self.create_node(name='node-1')
        self.patch_json('/v1/nodes/node-0', [
            {'op': 'replace', 'path': '/name', 'value': 'node-1'}],
            status=409)
        self.assertEqual(1, len(self.sent))


class TestPatchSize(NodeTestCase):
    """A patch costs in proportion to its length, which is capped."""

    def test_more_operations_than_the_cap_is_400(self):
        node = self.create_node()
        self.config(max_patch_operations=3, group='api')
        ops = [{'op': 'add', 'path': '/extra/k%d' % i, 'value': i}
               for i in range(4)]
        response = self.patch_json('/v1/nodes/%s' % node['uuid'], ops,
                                   status=400)
        self.assertEqual('The patch has 4 operations; at most 3 are '
                         'allowed.', self.fault(response))
        self.assertEqual({}, self.get('/v1/nodes/%s' % node['uuid'])
                         .json['extra'])

    def test_a_patch_at_the_default_cap_is_applied_in_order(self):
        node = self.create_node()
        cap = 1000
        self.assertEqual(cap, node_api.CONF.api.max_patch_operations)
        ops = [{'op': 'add', 'path': '/extra/k%d' % i, 'value': [i]}
               for i in range(cap - 2)]
        # Later operations see what earlier ones did, and change it without
        # changing the patch (it may be applied again after a race).
        ops += [{'op': 'add', 'path': '/extra/k0/-', 'value': 'x'},
                {'op': 'remove', 'path': '/extra/k1'}]
        patched = self.patch_json('/v1/nodes/%s' % node['uuid'], ops).json
        self.assertEqual(cap - 3, len(patched['extra']))
        self.assertEqual([0, 'x'], patched['extra']['k0'])
        self.assertEqual([0], ops[0]['value'])

    def test_the_error_names_the_failing_operation(self):
        node = self.create_node(extra={'a': 1})
        response = self.patch_json('/v1/nodes/%s' % node['uuid'], [
            {'op': 'remove', 'path': '/extra/a'},
            {'op': 'remove', 'path': '/extra/a'}], status=400)
        self.assertEqual(
            "Couldn't apply patch '{'op': 'remove', 'path': '/extra/a'}'. "
            "Reason: can't remove a non-existent object 'a'",
            self.fault(response))
        self.assertEqual({'a': 1}, self.get('/v1/nodes/%s' % node['uuid'])
                         .json['extra'])


class TestConductorPagesByRecord(NodeTestCase):
    """``?conductor=`` pages read by the conductors' record of each node's
    conductor (``nodes.served_by``) hold what the API's rings give, the
    nodes not recorded yet included, and are read from the rings' arcs
    when the record is of other rings."""

    def setUp(self):
        super().setUp()
        self.arcs_pages = self.useFixture(fixtures.MockPatchObject(
            db_sqlalchemy, '_ring_page',
            side_effect=db_sqlalchemy._ring_page)).mock
        self.rings = hash_ring.get_manager().current()
        # The conductor's first pass after joining records its rings.
        wait_for(lambda: self.dbapi.get_served_by_fingerprint()
                 == self.rings.fingerprint, message='the first record')
        # Its next passes when the tests say.
        self.config(record_served_by_interval=0, group='conductor')

    def record(self):
        served_by.record(self.dbapi, self.rings, version.version_string())

    def pages_of(self, path) -> list:
        self.arcs_pages.reset_mock()
        return [node['name'] for page in self.pages(path)
                for node in page['nodes']]

    def test_pages_read_the_record(self):
        names = ['n%d' % i for i in range(7)]
        for name in names:
            self.make_node(name=name)
        self.make_node(name='elsewhere', conductor_group='rack9')
        # Not recorded yet: read with the record, on the arcs.
        self.assertEqual(names, self.pages_of(
            '/v1/nodes?conductor=test-conductor&limit=3'))
        self.assertEqual(0, self.arcs_pages.call_count)
        self.record()
        column = {row.name: row.served_by for row in self.dbapi.get_node_list(
            columns=('name', 'served_by'), plain=True)}
        self.assertEqual(dict.fromkeys(names, 'test-conductor',
                                       ) | {'elsewhere': ''}, column)
        for path in ('/v1/nodes?conductor=test-conductor&limit=3',
                     '/v1/nodes/detail?conductor=test-conductor&limit=2',
                     '/v1/nodes?conductor=test-conductor&limit=3'
                     '&sort_dir=desc'):
            expected = names[::-1] if 'desc' in path else names
            self.assertEqual(expected, self.pages_of(path), path)
            self.assertEqual(0, self.arcs_pages.call_count, path)
        self.assertEqual([], self.pages_of('/v1/nodes?conductor=other'))

    def test_a_record_of_other_rings_is_not_read(self):
        for i in range(3):
            self.make_node(name='n%d' % i)
        self.record()
        record = db_models.ServedByRecord.__table__
        with self.dbapi.engine.begin() as connection:
            connection.execute(record.update().values(fingerprint='x' * 64))
        self.assertEqual(['n0', 'n1', 'n2'], self.pages_of(
            '/v1/nodes?conductor=test-conductor&limit=2'))
        self.assertEqual(2, self.arcs_pages.call_count)

    def test_a_node_moved_to_another_ring_is_recorded_again(self):
        node = self.make_node(name='moving')
        self.make_node(name='staying')
        self.record()
        self.patch_json('/v1/nodes/%s' % node['uuid'],
                        [{'op': 'replace', 'path': '/driver',
                          'value': 'ipmi'}])
        self.assertIsNone(
            self.dbapi.get_node_by_uuid(node['uuid']).served_by)
        self.assertEqual(['moving', 'staying'], self.pages_of(
            '/v1/nodes?conductor=test-conductor'))
        self.assertEqual(0, self.arcs_pages.call_count)
        self.record()
        self.assertEqual('test-conductor',
                         self.dbapi.get_node_by_uuid(node['uuid']).served_by)
