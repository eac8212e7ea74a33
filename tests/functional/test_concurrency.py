"""No lost update, ever: many clients writing one node at once, against the
all-in-one and a cluster of real processes. A write answered 2xx is in the
node afterwards; one that is not gets 409 with Retry-After, never a 5xx."""

import collections
import concurrent.futures
import json
import re
import threading
import time

import requests
from testtools import content

from tests import services
from tests.functional import base

HEADERS = {'X-OpenStack-Ironic-API-Version': 'latest',
           'Content-Type': 'application/json'}
PATCHES_PER_CLIENT = 5
_LOCKED = re.compile(r'^Node [0-9a-f-]{36} is locked by host \S+, please '
                     r'retry after the current operation is completed\.$')


def fault(response: requests.Response) -> str:
    return json.loads(response.json()['error_message'])['faultstring']


class ConcurrencyMixin:

    def create_node(self, url: str, **values) -> dict:
        values.setdefault('driver', 'fake-hardware')
        response = requests.post(url + '/v1/nodes', json=values,
                                 headers=HEADERS, timeout=60)
        self.assertEqual(201, response.status_code, response.text)
        return response.json()

    def patch_concurrently(self, urls: list[str], uuid: str,
                           clients: int) -> None:
        """``clients`` threads, each with its own HTTP session and API (in
        turn from ``urls``), add their own keys to the node's extra."""
        start = threading.Barrier(clients)

        def client(number: int):
            url = '%s/v1/nodes/%s' % (urls[number % len(urls)], uuid)
            results = []
            with requests.Session() as http:
                http.headers.update(HEADERS)
                start.wait(timeout=60)
                for value in range(PATCHES_PER_CLIENT):
                    key = 'client%d-%d' % (number, value)
                    response = http.patch(url, timeout=120, json=[
                        {'op': 'add', 'path': '/extra/' + key,
                         'value': value}])
                    results.append((key, value, response))
            return results

        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            results = [result for results in pool.map(client, range(clients))
                       for result in results]
        statuses = collections.Counter(r.status_code for _, _, r in results)
        self.addDetail('statuses-%d-clients' % clients,
                       content.text_content(str(dict(statuses))))
        for _, _, response in results:
            self.assertIn(response.status_code, (200, 409), response.text)
        landed = {key: value for key, value, response in results
                  if response.status_code == 200}
        self.assertTrue(landed, 'no PATCH went through')
        node = requests.get('%s/v1/nodes/%s' % (urls[0], uuid),
                            headers=HEADERS, timeout=60).json()
        self.assertEqual(landed, node['extra'])
        self.assertIsNone(node['reservation'])
        for _, _, response in results:
            if response.status_code == 409:
                self.assertRegex(fault(response), _LOCKED)
                self.assertEqual('1', response.headers.get('Retry-After'))

    def test_8_and_20_clients_patching_one_node(self):
        for clients in (8, 20):
            node = self.create_node(self.urls[0])
            self.patch_concurrently(self.urls, node['uuid'], clients)


class TestAllInOne(ConcurrencyMixin, base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.start_all_in_one(api_options={'max_patch_operations': 15000})
        self.urls = [self.url]

    def test_a_long_patch_costs_in_proportion_to_its_length(self):
        # Each operation once applied to a fresh copy of the node: 15 000
        # took minutes. Applied in one pass, well under a second.
        node = self.create_node(self.url)
        ops = [{'op': 'add', 'path': '/extra/k%d' % i, 'value': i}
               for i in range(15000)]
        started = time.monotonic()
        response = requests.patch('%s/v1/nodes/%s' % (self.url, node['uuid']),
                                  json=ops, headers=HEADERS, timeout=120)
        elapsed = time.monotonic() - started
        self.addDetail('15000-operations-s',
                       content.text_content('%.2f' % elapsed))
        self.assertEqual(200, response.status_code, response.text)
        self.assertEqual(15000, len(response.json()['extra']))
        self.assertLess(elapsed, 30)

        response = requests.patch('%s/v1/nodes/%s' % (self.url, node['uuid']),
                                  json=ops + ops[:1], headers=HEADERS,
                                  timeout=60)
        self.assertEqual(400, response.status_code, response.text)
        self.assertEqual('The patch has 15001 operations; at most 15000 are '
                         'allowed.', fault(response))


class ClusterMixin(ConcurrencyMixin):
    """Two API processes and two conductors."""

    server_url: str

    def setUp(self):
        super().setUp()
        self.cluster = self.start_cluster(self.server_url)
        for name in ('api', 'api2'):
            self.cluster.start_api(name)
        for name in ('c1', 'c2'):
            self.cluster.start_conductor(name, wait=False)
        for name in ('c1', 'c2'):
            self.cluster.wait_started(name)
        self.urls = [self.cluster.api_urls[name] for name in ('api', 'api2')]

    def create_at_once(self, name: str) -> list[requests.Response]:
        """Each API process asked, at the same moment, to create a node
        named ``name``."""
        start = threading.Barrier(len(self.urls))

        def create(url):
            with requests.Session() as http:
                start.wait(timeout=60)
                return http.post(url + '/v1/nodes', headers=HEADERS,
                                 json={'driver': 'fake-hardware',
                                       'name': name}, timeout=60)

        with concurrent.futures.ThreadPoolExecutor(len(self.urls)) as pool:
            return list(pool.map(create, self.urls))

    def test_two_apis_creating_one_name(self):
        for attempt in range(5):
            name = 'twin-%d' % attempt
            responses = self.create_at_once(name)
            self.assertEqual([201, 409],
                             sorted(r.status_code for r in responses),
                             [r.text for r in responses])
            refused = next(r for r in responses if r.status_code == 409)
            self.assertEqual('A node with name %s already exists.' % name,
                             fault(refused))
            created = next(r for r in responses if r.status_code == 201)
            shown = requests.get('%s/v1/nodes/%s' % (self.urls[1], name),
                                 headers=HEADERS, timeout=60)
            self.assertEqual(created.json()['uuid'], shown.json()['uuid'])
        nodes = requests.get(self.urls[0] + '/v1/nodes', headers=HEADERS,
                             timeout=60).json()['nodes']
        self.assertEqual(5, len(nodes))


class TestClusterMariaDB(ClusterMixin, base.FunctionalTestCase):
    server_url = services.MYSQL_URL


class TestClusterPostgreSQL(ClusterMixin, base.FunctionalTestCase):
    server_url = services.POSTGRES_URL
