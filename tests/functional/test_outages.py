"""The database or the message broker out of reach for ten seconds under a
steady load: no 500, no request hung, no process exits, full recovery
without a restart, and nothing acknowledged is lost.

The outage is a loopback TCP proxy between the processes and the real
server (tests/functional/tcp_proxy.py says why), cut and restored by the
test; the test itself reads the database directly.
"""

import dataclasses
import json
import threading
import time

import requests
from testtools import content

from tests import services
from tests.base import wait_for
from tests.functional import base
from tests.functional import cluster as cluster_mod
from tests.functional import tcp_proxy

OUTAGE = 10.0
# No answer may take longer than the API's own bound, its wait for a
# conductor's answer (a call sent just before the broker went away is
# answered once it is back), plus a margin for a loaded machine.
REQUEST_BOUND = cluster_mod.RPC_RESPONSE_TIMEOUT + 5.0
# After the server is back: every kind of request succeeds again.
RECOVERY_BOUND = 10.0
CLIENTS = 4


@dataclasses.dataclass
class Answer:
    started: float
    took: float
    kind: str  # list, show, patch, create
    status: int | None  # None: no answer (connection error, timeout)
    body: str
    subject: str = ''  # node uuid
    key: str = ''  # the /extra key a PATCH added

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Load:
    """A few clients, each reading and writing in turn, one request at a
    time; every answer is kept. Each client patches its own nodes only, so
    that the writes of one client never race each other."""

    def __init__(self, cluster, nodes: list[str]):
        self.cluster = cluster
        self.nodes = nodes
        self.answers: list[Answer] = []
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(i,),
                                          daemon=True)
                         for i in range(CLIENTS)]

    def __enter__(self) -> 'Load':
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join(REQUEST_BOUND * 3)

    def _client(self, index: int) -> None:
        session = requests.Session()
        session.headers['X-OpenStack-Ironic-API-Version'] = 'latest'
        mine = self.nodes[index::CLIENTS]
        count = 0
        while not self._done.is_set():
            uuid = mine[count % len(mine)]
            kind = ('list', 'show', 'patch', 'create')[count % 4]
            key = 'c%d-%d' % (index, count)
            request = {
                'list': ('GET', '/v1/nodes?limit=20', None),
                'show': ('GET', '/v1/nodes/%s' % uuid, None),
                'patch': ('PATCH', '/v1/nodes/%s' % uuid,
                          [{'op': 'add', 'path': '/extra/%s' % key,
                            'value': count}]),
                'create': ('POST', '/v1/nodes',
                           {'driver': 'fake-hardware', 'name': key}),
            }[kind]
            started = time.monotonic()
            try:
                response = session.request(
                    request[0], self.cluster.api_url + request[1],
                    json=request[2], timeout=REQUEST_BOUND * 2)
                status, body = response.status_code, response.text
            except requests.RequestException as e:
                status, body = None, repr(e)
            if kind == 'create' and status == 201:
                uuid = json.loads(body)['uuid']
            self.answers.append(Answer(started, time.monotonic() - started,
                                       kind, status, body, uuid, key))
            count += 1
            self._done.wait(0.05)  # a steady, bounded load

    def since(self, moment: float) -> list[Answer]:
        return [a for a in self.answers if a.started >= moment]


class OutageTestMixin:

    def start_load_cluster(self, **kwargs):
        cluster = self.start_cluster(services.POSTGRES_URL, **kwargs)
        cluster.start_api()
        for name in ('c1', 'c2'):
            cluster.start_conductor(name, wait=False)
        for name in ('c1', 'c2'):
            cluster.wait_started(name)
        nodes = []
        for _ in range(2 * CLIENTS):
            response = cluster.request('POST', '/v1/nodes',
                                       json={'driver': 'fake-hardware'})
            self.assertEqual(201, response.status_code, response.text)
            nodes.append(response.json()['uuid'])
        return cluster, nodes

    def outage(self, load: Load, proxy: tcp_proxy.TCPProxy):
        """Steady load, the proxy cut for OUTAGE seconds, restored;
        (cut, restored) monotonic times."""
        wait_for(lambda: sum(a.ok for a in load.answers) >= 8, timeout=30,
                 message='the load to get going')
        cut = time.monotonic()
        proxy.cut()
        time.sleep(OUTAGE)  # the outage itself, not a wait for a state
        proxy.restore()
        return cut, time.monotonic()

    def wait_recovered(self, load: Load, restored: float) -> float:
        """Every kind of request answered with success again; how long
        after the restore."""
        def recovered():
            kinds = {a.kind for a in load.since(restored) if a.ok}
            return kinds == {'list', 'show', 'patch', 'create'}
        wait_for(recovered, timeout=RECOVERY_BOUND + 10,
                 message='every kind of request to succeed again')
        first = {}
        for answer in load.since(restored):
            if answer.ok:
                first.setdefault(answer.kind, answer.started + answer.took)
        return max(first.values()) - restored

    def assert_clean_answers(self, load: Load, allowed=(503,)):
        """Every answer in time, a success or an error in Ironic's format
        with a status in ``allowed``."""
        for answer in load.answers:
            self.assertLess(answer.took, REQUEST_BOUND,
                            '%s took %.1f s: %s' % (answer.kind, answer.took,
                                                    answer.body))
            if answer.ok:
                continue
            self.assertIn(answer.status, allowed,
                          '%s: %s' % (answer.kind, answer.body))
            fault = json.loads(json.loads(answer.body)['error_message'])
            self.assertNotIn('Traceback', fault['faultstring'])

    def assert_nothing_lost(self, cluster, load: Load):
        """Every acknowledged write is there; no node is left locked."""
        for answer in load.answers:
            if not answer.ok or answer.kind not in ('patch', 'create'):
                continue
            node = cluster.get('/v1/nodes/%s' % answer.subject)
            self.assertEqual(200, node.status_code, answer)
            if answer.kind == 'patch':
                self.assertIn(answer.key, node.json()['extra'], answer)
            else:
                self.assertEqual(answer.key, node.json()['name'])
        wait_for(lambda: cluster.scalar(
            'SELECT COUNT(*) FROM nodes WHERE reservation IS NOT NULL') == 0,
            timeout=5, message='no node locked')

    def outage_under_load(self, proxy, **cluster_options):
        """A cluster behind ``proxy`` under load, the proxy cut for a while
        and restored: the cluster, the load, the answers to requests made
        during the cut, when it ended and how long recovery took."""
        cluster, nodes = self.start_load_cluster(**cluster_options)
        with Load(cluster, nodes) as load:
            cut, restored = self.outage(load, proxy)
            recovery = self.wait_recovered(load, restored)
            self.addDetail('measure-recovery-s', content.text_content(
                '%.2f' % recovery))
        during = [a for a in load.answers if cut + 1 < a.started < restored]
        return cluster, load, during, restored, recovery

    def assert_all_running(self, cluster):
        for name, process in cluster.processes.items():
            self.assertIsNone(process.popen.poll(), name)


class TestDatabaseOutage(OutageTestMixin, base.FunctionalTestCase):

    def test_database_unreachable_for_ten_seconds(self):
        if not services.tcp_open('127.0.0.1', 5432):
            services.unavailable(self, 'PostgreSQL is not running')
        proxy = tcp_proxy.TCPProxy('127.0.0.1', 5432)
        self.addCleanup(proxy.close)
        cluster, load, during, restored, recovery = self.outage_under_load(
            proxy, database_port=proxy.port)
        self.assertTrue(during)
        self.assertTrue(any(a.status == 503 for a in during))
        self.assert_clean_answers(load)
        self.assert_all_running(cluster)
        # Heartbeats went on failing and then succeeded: both alive again,
        # without a restart.
        for name in ('c1', 'c2'):
            self.assertIn('Heartbeat of conductor %s failed'
                          % cluster.hostname(name),
                          ''.join(cluster.processes[name].output))
        wait_for(lambda: all(cluster.alive().values()), timeout=5,
                 message='both conductors alive')
        self.assert_nothing_lost(cluster, load)


class TestBrokerOutage(OutageTestMixin, base.FunctionalTestCase):

    def test_broker_unreachable_for_ten_seconds(self):
        if not services.tcp_open('127.0.0.1', 5672):
            services.unavailable(self, 'RabbitMQ is not running')
        proxy = tcp_proxy.TCPProxy('127.0.0.1', 5672)
        self.addCleanup(proxy.close)
        cluster, load, during, restored, recovery = self.outage_under_load(
            proxy,
            transport_url='rabbit://guest:guest@127.0.0.1:%d/' % proxy.port)
        # Reads work; writes, which need a conductor over RPC, get 503.
        self.assertTrue(any(a.kind == 'patch' for a in during))
        for answer in during:
            if answer.kind in ('list', 'show'):
                self.assertEqual(200, answer.status, answer)
            elif answer.started + answer.took < restored:
                self.assertEqual(503, answer.status, answer)
            # (A write still trying to send when the broker came back may
            # have gone through.)
        self.assert_clean_answers(load)
        self.assertLess(recovery, RECOVERY_BOUND)
        self.assert_all_running(cluster)
        self.assert_nothing_lost(cluster, load)
