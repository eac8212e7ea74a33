"""Keyset pagination of nodes and conductors: walking every page, each
starting after the last row of the previous one, visits every row once, in
order, whatever the sort key (NULLs and ties included) and the filters."""

import datetime
import functools
import itertools
import random

import sqlalchemy as sa
from oslo_utils import uuidutils

from ironic_lite.db.sqlalchemy import models
from tests.unit.db import base as db_base

NOW = db_base.NOW
_MICRO = datetime.timedelta(microseconds=1)
# 1: every row is a marker once; 4: ties across page ends, a short last
# page.
_LIMITS = (1, 4)


def expected_order(rows, key, sort_dir) -> list:
    """Rows sorted as the API promises: by key then id, NULLs of the key
    last going up; going down is the exact reverse."""
    ordered = sorted(rows, key=lambda r: (r[key] is None, r[key], r['id']))
    return ordered[::-1] if sort_dir == 'desc' else ordered


class _Walker:
    """What the two list tests share: walk all pages, compare."""

    def walk(self, list_page, marker_of, limit, sort_key, sort_dir) -> list:
        seen = []
        marker = None
        for _ in range(200):
            page = list_page(limit=limit, marker=marker, sort_key=sort_key,
                             sort_dir=sort_dir)
            self.assertLessEqual(len(page), limit)
            seen.extend(page)
            if len(page) < limit:
                return seen
            # As the API does: the marker is looked up again by its name.
            marker = marker_of(page[-1])
        self.fail('pagination does not end')

    def check_every_walk(self, rows, list_page, marker_of, ident, sort_key):
        for sort_dir, limit in itertools.product(('asc', 'desc'), _LIMITS):
            expected = [r[ident] for r in
                        expected_order(rows, sort_key, sort_dir)]
            walked = [getattr(r, ident) for r in self.walk(
                list_page, marker_of, limit, sort_key, sort_dir)]
            self.assertEqual(expected, walked,
                             'sort_key=%s sort_dir=%s limit=%s'
                             % (sort_key, sort_dir, limit))


class NodePaginationTests(_Walker):
    """The body of the node list tests; a subclass names the backend."""

    def setUp(self):
        super().setUp()
        self.nodes = self._create_nodes()

    def _create_nodes(self) -> list[dict]:
        """Nodes whose id order is none of the sort orders, with NULLs and
        ties in every sort key."""
        shuffled = random.Random(4).sample(range(13), 13)
        nodes = []
        for n in shuffled:
            values = {
                'uuid': uuidutils.generate_uuid(), 'driver': 'fake-hardware',
                # Names of one shape order alike in every collation.
                'name': None if n % 4 == 0 else 'node-%02d' % n,
                # Ties of three, and neighbours one microsecond apart.
                'created_at': NOW + (n // 3) * _MICRO,
                'provision_state': (None, 'active', 'available',
                                    'manageable')[n % 4 if n % 5 else 0],
            }
            row = self.dbapi.create_node(values)
            nodes.append({c.name: getattr(row, c.name)
                          for c in models.Node.__table__.columns})
        return nodes

    def list_page(self, filters=None, **kwargs):
        return self.dbapi.get_node_list(filters, **kwargs)

    def marker_of(self, row):
        return self.dbapi.get_node_by_uuid(row.uuid)

    def check_walks(self, sort_key):
        self.check_every_walk(self.nodes, self.list_page, self.marker_of,
                              'uuid', sort_key)

    def test_by_id(self):
        self.check_walks('id')

    def test_by_name_with_nulls(self):
        self.assertIn(None, [n['name'] for n in self.nodes])
        self.check_walks('name')

    def test_by_created_at_with_ties(self):
        self.check_walks('created_at')

    def test_by_provision_state_with_nulls_and_ties(self):
        self.check_walks('provision_state')

    def test_plain_rows_walk_alike(self):
        # Plain pages after a marker are statements built once, with the
        # marker's values bound (a NULL one is another statement).
        def plain_page(**kwargs):
            return self.dbapi.get_node_list(columns=('uuid', 'name'),
                                            plain=True, **kwargs)
        for sort_key in ('id', 'name', 'created_at', 'provision_state'):
            self.check_every_walk(self.nodes, plain_page, self.marker_of,
                                  'uuid', sort_key)

    def test_one_page_without_limit(self):
        self.assertEqual(
            [n['uuid'] for n in expected_order(self.nodes, 'name', 'desc')],
            [n.uuid for n in self.dbapi.get_node_list(sort_key='name',
                                                      sort_dir='desc')])
        self.assertEqual(len(self.nodes), self.dbapi.count_nodes())


class NodeFilterPaginationTests(_Walker):
    """Filters combined with paging, and count_nodes."""

    GROUPS = ('', 'rack-1')

    def setUp(self):
        super().setUp()
        self.nodes = []
        for n in random.Random(7).sample(range(24), 24):
            values = {
                'uuid': uuidutils.generate_uuid(),
                'name': None if n % 5 == 0 else 'node-%02d' % n,
                'driver': ('fake-hardware', 'ipmi')[n % 2],
                'maintenance': n % 3 == 0,
                'instance_uuid': (uuidutils.generate_uuid() if n % 4 < 2
                                  else None),
                'provision_state': ('available', 'active', None)[n % 3],
                'resource_class': ('gold', None, 'silver')[n % 3 - 1],
                'fault': 'power failure' if n % 6 == 0 else None,
                'conductor_group': self.GROUPS[n % 5 == 1],
            }
            row = self.dbapi.create_node(values)
            self.nodes.append({c.name: getattr(row, c.name)
                               for c in models.Node.__table__.columns})

    @staticmethod
    def matches(node, filters) -> bool:
        for name, wanted in filters.items():
            if name == 'associated':
                if (node['instance_uuid'] is not None) != wanted:
                    return False
            elif node[name] != wanted:
                return False
        return True

    def test_filters_with_paging(self):
        associated = next(n['instance_uuid'] for n in self.nodes
                          if n['instance_uuid'])
        cases = [
            {'maintenance': False}, {'associated': False},
            {'provision_state': 'active'}, {'driver': 'ipmi'},
            {'resource_class': 'gold'}, {'conductor_group': ''},
            {'instance_uuid': associated},
            {'maintenance': False, 'associated': True, 'driver': 'ipmi'},
            {'provision_state': 'available', 'resource_class': 'silver',
             'conductor_group': ''},
            {'maintenance': True, 'fault': 'power failure',
             'associated': False},
            {'driver': 'fake-hardware', 'provision_state': 'active',
             'maintenance': False, 'conductor_group': 'rack-1'},
            {'driver': 'no-such-driver'},
        ]
        for filters in cases:
            matching = [n for n in self.nodes if self.matches(n, filters)]
            # An empty expectation would let a filter that drops all pass.
            self.assertEqual(filters == {'driver': 'no-such-driver'},
                             not matching, filters)
            self.assertEqual(len(matching),
                             self.dbapi.count_nodes(filters), filters)
            for (sort_key, sort_dir), plain in itertools.product(
                    (('id', 'asc'), ('name', 'desc')), (False, True)):
                walked = self.walk(
                    functools.partial(self.dbapi.get_node_list, filters,
                                      columns=('uuid',), plain=plain),
                    lambda row: self.dbapi.get_node_by_uuid(row.uuid),
                    3, sort_key, sort_dir)
                self.assertEqual(
                    [n['uuid'] for n in
                     expected_order(matching, sort_key, sort_dir)],
                    [n.uuid for n in walked], (filters, sort_key, plain))

    def test_none_means_no_filter(self):
        filters = dict.fromkeys(('maintenance', 'associated',
                                 'provision_state', 'driver',
                                 'resource_class', 'fault',
                                 'conductor_group', 'instance_uuid'))
        self.assertEqual(len(self.nodes), self.dbapi.count_nodes(filters))
        self.assertEqual(len(self.nodes),
                         len(self.dbapi.get_node_list(filters)))


class ConductorPaginationTests(_Walker):
    """The body of the conductor list tests."""

    def setUp(self):
        super().setUp()
        self.conductors = []
        for n in random.Random(5).sample(range(9), 9):
            db_base.freeze_time(self, NOW + (n // 2) * _MICRO)
            row = self.dbapi.register_conductor(
                'cond-%02d' % n, ('', 'rack-1', 'rack-2')[n % 3],
                ['fake-hardware'], take_over_if_older_than=NOW)
            if n % 4 == 1:  # never beat, as far as the row says
                self.execute(sa.update(models.Conductor)
                             .where(models.Conductor.id == row.id)
                             .values(updated_at=None))
            self.conductors.append(
                {c.name: getattr(self.dbapi.get_conductor(row.hostname),
                                 c.name)
                 for c in models.Conductor.__table__.columns})

    def check_walks(self, sort_key):
        self.check_every_walk(
            self.conductors, self.dbapi.get_conductor_list,
            lambda row: self.dbapi.get_conductor(row.hostname), 'hostname',
            sort_key)

    def test_by_hostname(self):
        self.check_walks('hostname')

    def test_by_conductor_group_with_ties(self):
        self.check_walks('conductor_group')

    def test_by_updated_at_with_nulls_and_ties(self):
        self.assertIn(None, [c['updated_at'] for c in self.conductors])
        self.check_walks('updated_at')


class TestNodePaginationSQLite(NodePaginationTests,
                               db_base.DBLayerTestCase):
    backend = db_base.SQLITE


class TestNodePaginationMySQL(NodePaginationTests, db_base.DBLayerTestCase):
    backend = db_base.MYSQL


class TestNodePaginationPostgreSQL(NodePaginationTests,
                                   db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL


class TestNodeFiltersSQLite(NodeFilterPaginationTests,
                            db_base.DBLayerTestCase):
    backend = db_base.SQLITE


class TestNodeFiltersMySQL(NodeFilterPaginationTests,
                           db_base.DBLayerTestCase):
    backend = db_base.MYSQL


class TestNodeFiltersPostgreSQL(NodeFilterPaginationTests,
                                db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL


class TestConductorPaginationSQLite(ConductorPaginationTests,
                                    db_base.DBLayerTestCase):
    backend = db_base.SQLITE


class TestConductorPaginationMySQL(ConductorPaginationTests,
                                   db_base.DBLayerTestCase):
    backend = db_base.MYSQL


class TestConductorPaginationPostgreSQL(ConductorPaginationTests,
                                        db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL
