"""Many conductors at once: real ironic-lite-api and ironic-lite-conductor
processes over RabbitMQ and MariaDB (then PostgreSQL). The conductor the API
names for a node must be the conductor that does its work, also while
conductors stop, crash and come back."""

import concurrent.futures
import json
import re
import signal
import threading
import time

from testtools import content

from tests import services
from tests.base import wait_for
from tests.functional import base
from tests.functional import cluster as cluster_mod

DEFAULT_GROUP = ''
RACK2 = 'rack2'

# From SIGTERM: out of the API's view (the figure, with room for a
# loaded 2-core machine), and the process gone.
LEAVE_BOUND = 0.5
LEAVE_MARGIN = 0.5
EXIT_BOUND = 3.0
# No request may take longer than this while a conductor stops.
REQUEST_BOUND = 10.0


class ClusterTestMixin:
    """The tests; subclasses pick the database server."""

    server_url: str

    def setUp(self):
        super().setUp()
        self.cluster = self.start_cluster(self.server_url)
        self.cluster.start_api()
        self.url = self.cluster.api_url
        for name, group in (('c1', DEFAULT_GROUP), ('c2', DEFAULT_GROUP),
                            ('c3', RACK2)):
            self.cluster.start_conductor(name, group, wait=False)
        for name in ('c1', 'c2', 'c3'):
            self.cluster.wait_started(name)
        self.c1, self.c2, self.c3 = (self.cluster.hostname(n)
                                     for n in ('c1', 'c2', 'c3'))
        self.group_members = {DEFAULT_GROUP: {self.c1, self.c2},
                              RACK2: {self.c3}}

    def create_nodes(self, count: int) -> dict[str, str]:
        """``count`` nodes, every other one in rack2; uuid -> group."""
        def create(i):
            group = RACK2 if i % 2 else DEFAULT_GROUP
            response = self.cluster.request(
                'POST', '/v1/nodes', json={'driver': 'fake-hardware',
                                           'name': 'node-%d' % i,
                                           'conductor_group': group})
            self.assertEqual(201, response.status_code, response.text)
            return response.json()['uuid'], group
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            return dict(pool.map(create, range(count)))

    def patch_all(self, uuids, value: str) -> None:
        def patch(uuid):
            # A conductor's take-over pass may hold the node for a moment:
            # 409 NodeLocked is an answer to retry, as the stock clients
            # retry it; anything else but 200 is a failure.
            def attempt():
                response = self.cluster.request(
                    'PATCH', '/v1/nodes/%s' % uuid,
                    json=[{'op': 'add', 'path': '/extra/touched', 'value':
                           value}])
                return None if response.status_code == 409 else [response]
            [response] = wait_for(attempt, timeout=20, interval=0.2,
                                message='node %s to be unlocked' % uuid)
            self.assertEqual(200, response.status_code, response.text)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(patch, uuids))

    def assert_owned_within_groups(self, groups: dict[str, str],
                                   members: dict[str, set[str]]):
        owners = self.cluster.node_owners()
        for uuid, group in groups.items():
            self.assertIn(owners[uuid], members[group], uuid)
        return owners

    def conductor_pages(self, hostname: str) -> list[str]:
        """The UUIDs of every ``?conductor=`` page, following the next
        links, in order."""
        uuids, path = [], '/v1/nodes?conductor=%s&limit=7' % hostname
        while path:
            response = self.cluster.get(path)
            self.assertEqual(200, response.status_code, response.text)
            body = response.json()
            uuids += [node['uuid'] for node in body['nodes']]
            path = body.get('next', '').split('/v1', 1)[-1]
            path = '/v1' + path if path else None
        return uuids

    def assert_pages_match_owners(self) -> None:
        """Each conductor's pages hold the nodes the API names it for,
        once each, in order."""
        owners = self.cluster.node_owners()
        for hostname in {self.c1, self.c2, self.c3}:
            pages = self.conductor_pages(hostname)
            self.assertEqual(sorted(u for u, h in owners.items()
                                    if h == hostname), sorted(pages))
            self.assertEqual(len(pages), len(set(pages)))

    def recorded(self) -> bool:
        """The conductors have recorded every node's conductor."""
        fingerprint = self.cluster.scalar(
            'SELECT fingerprint FROM served_by_record')
        return bool(fingerprint and not fingerprint.startswith(
            'recording:') and not self.cluster.scalar(
            'SELECT COUNT(*) FROM nodes WHERE served_by IS NULL'))

    def test_every_node_is_served_by_the_conductor_the_api_names(self):
        conductors = self.cli_json('conductor', 'list', openstack=True)
        self.assertEqual(
            sorted([{'hostname': self.c1, 'conductor_group': '',
                     'alive': True},
                    {'hostname': self.c2, 'conductor_group': '',
                     'alive': True},
                    {'hostname': self.c3, 'conductor_group': 'rack2',
                     'alive': True}], key=lambda c: c['hostname']),
            sorted(conductors, key=lambda c: c['hostname']))

        groups = self.create_nodes(300)
        owners = self.assert_owned_within_groups(groups, self.group_members)
        self.assertEqual({self.c1, self.c2, self.c3}, set(owners.values()))
        # The conductors record each node's conductor (a pass every
        # [conductor]record_served_by_interval): ?conductor= pages say the
        # same before and after.
        self.assert_pages_match_owners()
        wait_for(self.recorded, timeout=cluster_mod.RECORD_INTERVAL + 20,
                 message='the nodes\' conductors to be recorded')
        self.assert_pages_match_owners()
        # Creation already ran on the named conductor; an update through
        # RPC must land there too, for every node.
        self.cluster.execute('UPDATE nodes SET conductor_affinity = NULL')
        self.patch_all(groups, 'yes')
        self.assertEqual(owners, self.cluster.affinities())

    def test_graceful_stop_crash_and_return(self):
        groups = self.create_nodes(40)
        before = self.assert_owned_within_groups(groups, self.group_members)
        c1_nodes = {u for u, owner in before.items() if owner == self.c1}
        self.assertTrue(c1_nodes)

        # Graceful stop: out at once.
        self.assertEqual(0, self.cluster.stop('c1', signal.SIGTERM))
        stopped = time.monotonic()
        wait_for(lambda: not self.cluster.alive()[self.c1]
                 and self.c1 not in self.cluster.node_owners().values(),
                 timeout=2, message='c1 to leave the API view')
        self.addDetail('graceful-stop-staleness-s', content.text_content(
            '%.2f' % (time.monotonic() - stopped)))
        owners = self.assert_owned_within_groups(
            groups, {DEFAULT_GROUP: {self.c2}, RACK2: {self.c3}})
        for uuid in c1_nodes:
            self.assertEqual(self.c2, owners[uuid])
        # ?conductor= pages too, whether the new rings are recorded yet or
        # not.
        self.assertEqual(sorted(u for u, h in owners.items()
                                if h == self.c2),
                         sorted(self.conductor_pages(self.c2)))
        self.assertEqual([], self.conductor_pages(self.c1))

        # Back again: it takes its share back, and does the work for it.
        self.cluster.start_conductor('c1', DEFAULT_GROUP)
        wait_for(lambda: self.cluster.node_owners() == before, timeout=2,
                 message='c1 to take its nodes back')
        wait_for(lambda: {u for u, h in self.cluster.affinities().items()
                          if h == self.c1} == c1_nodes, timeout=10,
                 message='c1 to take over its nodes')

        # A crash: out once its heartbeat is too old, its locks released.
        c2_nodes = sorted(u for u, owner in before.items()
                          if owner == self.c2)
        self.cluster.execute(
            'UPDATE nodes SET reservation = :host WHERE uuid = :uuid',
            host=self.c2, uuid=c2_nodes[0])
        self.cluster.stop('c2', signal.SIGKILL)
        killed = time.monotonic()
        limit = cluster_mod.HEARTBEAT_TIMEOUT + 2
        wait_for(lambda: not self.cluster.alive()[self.c2]
                 and self.c2 not in self.cluster.node_owners().values(),
                 timeout=limit, message='c2 to leave the API view')
        self.addDetail('crash-staleness-s', content.text_content(
            '%.2f' % (time.monotonic() - killed)))
        wait_for(lambda: self.cluster.scalar(
            'SELECT COUNT(*) FROM nodes WHERE reservation IS NOT NULL') == 0,
            timeout=limit, message='the lock of c2 to be released')
        self.patch_all(c2_nodes, 'after-crash')
        self.assertEqual(self.c1, self.cluster.affinities()[c2_nodes[0]])

        # The crashed conductor comes back: its row, left online, is taken
        # over, and so are its nodes.
        self.cluster.start_conductor('c2', DEFAULT_GROUP)
        wait_for(lambda: self.cluster.node_owners() == before, timeout=2,
                 message='c2 to take its nodes back')
        wait_for(lambda: {u for u, h in self.cluster.affinities().items()
                          if h == self.c2} == set(c2_nodes), timeout=10,
                 message='c2 to take over its nodes')

    def provision(self, uuid: str, target: str) -> None:
        response = self.cluster.request(
            'PUT', '/v1/nodes/%s/states/provision' % uuid,
            json={'target': target})
        self.assertEqual(202, response.status_code, response.text)

    def states(self, uuid: str) -> dict:
        return self.cluster.get('/v1/nodes/%s/states' % uuid).json()

    def settled(self, uuid: str, state: str) -> dict:
        return wait_for(lambda: (lambda s: s['provision_state'] == state
                                 and s['target_provision_state'] is None
                                 and s)(self.states(uuid)),
                        timeout=20, message='node in %s' % state)

    def test_a_deploy_killed_with_its_conductor_fails(self):
        groups = self.create_nodes(2)
        uuid = next(u for u, group in groups.items()
                    if group == DEFAULT_GROUP)
        owner = self.cluster.node_owners()[uuid]
        dying, survivor = (('c1', self.c2) if owner == self.c1
                           else ('c2', self.c1))
        self.provision(uuid, 'manage')
        self.settled(uuid, 'manageable')
        self.provision(uuid, 'provide')
        self.settled(uuid, 'available')
        # The fake deploy ends at once: the node is left as a deploy under
        # way on its conductor is, then that conductor dies.
        self.cluster.execute(
            "UPDATE nodes SET provision_state = 'deploying', "
            "target_provision_state = 'active', reservation = :host "
            'WHERE uuid = :uuid', host=owner, uuid=uuid)
        self.cluster.stop(dying, signal.SIGKILL)
        killed = time.monotonic()
        node = wait_for(
            lambda: (lambda s: s['provision_state'] == 'deploy failed'
                     and s)(self.states(uuid)),
            timeout=cluster_mod.HEARTBEAT_TIMEOUT
            + cluster_mod.HEARTBEAT_INTERVAL + 3,
            message='the deploy of the dead conductor to fail')
        self.addDetail('orphan-failed-after-s', content.text_content(
            '%.2f' % (time.monotonic() - killed)))
        self.assertEqual(('active', 'Operation was aborted due to '
                          'conductor take over'),
                         (node['target_provision_state'],
                          node['last_error']))
        # The survivor writes the failure under its own lock, released
        # right after: released soon, not left held, is what counts.
        wait_for(lambda: self.cluster.scalar(
            'SELECT reservation FROM nodes WHERE uuid = :uuid',
            uuid=uuid) is None, timeout=10,
            message='the lock of %s to be released' % uuid)
        # The new owner acts on it.
        self.assertEqual(survivor, self.cluster.node_owners()[uuid])
        self.provision(uuid, 'deleted')
        self.settled(uuid, 'available')
        self.provision(uuid, 'active')
        self.settled(uuid, 'active')

    def test_sigterm_leaves_first_and_loses_no_call(self):
        groups = self.create_nodes(40)
        before = self.assert_owned_within_groups(groups, self.group_members)
        c1_nodes = sorted(u for u, owner in before.items()
                          if owner == self.c1)
        self.assertGreaterEqual(len(c1_nodes), 4)

        # Clients patch c1's nodes (each client its own nodes, one request
        # at a time) while c1 stops; each request adds two keys at once.
        results, done = [], threading.Event()

        def client(index):
            mine = c1_nodes[index::4]
            count = 0
            while not done.is_set():
                uuid = mine[count % len(mine)]
                key = 'c%d-%d' % (index, count)
                started = time.monotonic()
                response = self.cluster.request(
                    'PATCH', '/v1/nodes/%s' % uuid, json=[
                        {'op': 'add', 'path': '/extra/%s-a' % key,
                         'value': 1},
                        {'op': 'add', 'path': '/extra/%s-b' % key,
                         'value': 2}])
                results.append((uuid, key, response,
                                time.monotonic() - started))
                count += 1

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            clients = [pool.submit(client, i) for i in range(4)]
            try:
                wait_for(lambda: len(results) >= 8,
                         message='the clients to get going')
                process = self.cluster.processes['c1']
                process.popen.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
                wait_for(lambda: not self.cluster.alive()[self.c1]
                         and self.c1 not in
                         self.cluster.node_owners().values(),
                         timeout=LEAVE_BOUND + LEAVE_MARGIN, interval=0.01,
                         message='c1 to leave the API view')
                left = time.monotonic() - signalled
                status = process.popen.wait(
                    max(0.0, signalled + EXIT_BOUND - time.monotonic()))
                exited = time.monotonic() - signalled
                sent = len(results)
                wait_for(lambda: len(results) >= sent + 8,
                         message='requests after the stop')
            finally:
                done.set()
                for future in clients:
                    future.result()
        self.addDetail('sigterm-to-left-s', content.text_content(
            '%.3f' % left))
        self.addDetail('sigterm-to-exit-s', content.text_content(
            '%.3f' % exited))
        self.assertEqual(0, status)

        # Every request answered in time: 200, or a clean error in Ironic's
        # format; each one's two keys are both there or both absent, and
        # both there when it was acknowledged.
        nodes = {uuid: self.cluster.get('/v1/nodes/%s' % uuid).json()
                 for uuid in c1_nodes}
        for uuid, key, response, took in results:
            self.assertLess(took, REQUEST_BOUND, (key, response.text))
            if response.status_code != 200:
                self.assertIn(response.status_code, (409, 503),
                              response.text)
                fault = json.loads(response.json()['error_message'])
                self.assertNotIn('Traceback', fault['faultstring'])
            extra = nodes[uuid]['extra']
            present = ('%s-a' % key in extra, '%s-b' % key in extra)
            self.assertIn(present, [(True, True), (False, False)], key)
            if response.status_code == 200:
                self.assertEqual((True, True), present, key)
        # The nodes went on being served, by c2 now.
        self.assertTrue(any(r.status_code == 200
                            for _, _, r, _ in results[sent:]))
        self.assertEqual({self.c2}, {self.cluster.node_owners()[u]
                                     for u in c1_nodes})

    def test_second_conductor_with_the_same_name_refuses_to_start(self):
        twin = self.cluster.start_conductor('c1', DEFAULT_GROUP,
                                            wait=False)
        twin.wait_for_line(re.compile(
            'already registered and alive'))
        self.assertEqual(1, twin.popen.wait(30))
        self.assertTrue(self.cluster.alive()[self.c1])


class TestClusterMariaDB(ClusterTestMixin, base.FunctionalTestCase):
    server_url = services.MYSQL_URL


class TestClusterPostgreSQL(ClusterTestMixin, base.FunctionalTestCase):
    server_url = services.POSTGRES_URL
