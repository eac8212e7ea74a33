"""Large node pages take turns in a process (listing.LargePages)."""

import threading
from unittest import mock

import testtools

from ironic_lite.api.controllers.v1 import listing
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
from tests import base as tests_base
from tests.unit.api import base


class TestLargePagesTakeTurns(base.APITestCase):

    def setUp(self):
        super().setUp()
        for i in range(3):
            self.create_node(name='node-%d' % i)
        self.lock = threading.Lock()
        self.large_inside = 0
        self.most_large_inside = 0
        # The first read waits for self.go: the page holding the turn.
        self.first_entered = threading.Event()
        self.go = threading.Event()
        self.addCleanup(self.go.set)
        real = db_sqlalchemy.Connection.get_node_list

        def reading(dbapi, filters, limit=None, **kwargs):
            large = limit is not None and limit >= listing.LARGE_PAGE_ITEMS
            with self.lock:
                first = not self.first_entered.is_set()
                self.first_entered.set()
                if large:
                    self.large_inside += 1
                    self.most_large_inside = max(self.most_large_inside,
                                                 self.large_inside)
            try:
                if first:
                    self.go.wait(60)
                return real(dbapi, filters, limit=limit, **kwargs)
            finally:
                if large:
                    with self.lock:
                        self.large_inside -= 1

        patcher = mock.patch.object(db_sqlalchemy.Connection,
                                    'get_node_list', autospec=True,
                                    side_effect=reading)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _in_thread(self, path: str) -> dict:
        answer = {}

        def get():
            answer['response'] = self.app.get(
                path, headers=self.headers(), expect_errors=True)
        thread = threading.Thread(target=get)
        thread.start()
        self.addCleanup(thread.join, 60)
        self.addCleanup(self.go.set)  # (cleanups run last first)
        answer['thread'] = thread
        return answer

    def test_one_large_page_at_a_time_and_all_complete(self):
        first = self._in_thread('/v1/nodes/detail?limit=1000')
        self.assertTrue(self.first_entered.wait(30))
        second = self._in_thread('/v1/nodes?limit=500')
        # The second waits for its turn, not reading.
        tests_base.wait_for(lambda: listing.LARGE_PAGES.waiting == 1,
                            timeout=30)
        self.assertEqual(1, self.large_inside)
        # A small page does not wait for the turn.
        small = self.get('/v1/nodes?limit=2').json
        self.assertEqual(2, len(small['nodes']))
        self.go.set()
        for answer in (first, second):
            answer['thread'].join(60)
            self.assertFalse(answer['thread'].is_alive())
            self.assertEqual(200, answer['response'].status_int)
            self.assertEqual(3, len(answer['response'].json['nodes']))
        self.assertEqual(1, self.most_large_inside)
        self.assertEqual(0, listing.LARGE_PAGES.waiting)

    def test_small_pages_take_no_turn(self):
        self.assertNotIsInstance(listing.LARGE_PAGES.turn(
            listing.LARGE_PAGE_ITEMS - 1), listing.LargePages)
        self.assertIs(listing.LARGE_PAGES, listing.LARGE_PAGES.turn(
            listing.LARGE_PAGE_ITEMS))


class TestLargePages(tests_base.TestCase):

    def test_a_failure_gives_the_turn_back(self):
        pages = listing.LargePages()
        with testtools.ExpectedException(ValueError):
            with pages.turn(1000):
                raise ValueError()
        self.assertFalse(pages._turn.locked())
        self.assertEqual(0, pages.waiting)
