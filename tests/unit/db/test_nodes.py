"""Node rows: create, read, update, destroy, and the node lock."""

import datetime
import sqlite3
import threading
from unittest import mock

import sqlalchemy as sa
from oslo_utils import uuidutils
from sqlalchemy import orm

from ironic_lite.common import exception
from ironic_lite.common import ring_position
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
from ironic_lite.db.sqlalchemy import models
from tests.unit.db import base as db_base

NOW = db_base.NOW

DOCUMENTS = ('driver_info', 'driver_internal_info', 'instance_info',
             'properties', 'extra', 'clean_step', 'deploy_step',
             'raid_config', 'target_raid_config')


def columns_of(row) -> dict:
    return {c.name: getattr(row, c.name)
            for c in models.Node.__table__.columns}


class NodeTests:
    """The body of the node tests; a subclass names the backend."""

    def create(self, **values):
        values.setdefault('uuid', uuidutils.generate_uuid())
        values.setdefault('driver', 'fake-hardware')
        return self.dbapi.create_node(values)

    def add_port(self, node_id, address):
        self.execute(sa.insert(models.Port).values(
            uuid=uuidutils.generate_uuid(), address=address,
            node_id=node_id, extra={'a': address}))

    def addresses_of_ports(self) -> list:
        return [(p.node_id, p.address) for p in self.rows_of(models.Port)]

    # create_node

    def test_create_returns_the_row_as_stored(self):
        db_base.freeze_time(self, NOW)
        uuid = uuidutils.generate_uuid()

        row = self.create(uuid=uuid, name='node-1', driver='ipmi',
                          conductor_group='rack-1', provision_state='enroll',
                          extra={'a': 1})

        stored = self.dbapi.get_node_by_uuid(uuid)
        self.assertEqual(columns_of(stored), columns_of(row))
        self.assertEqual((uuid, 'node-1', 'ipmi', 'rack-1', 'enroll',
                          {'a': 1}, NOW, None, None, False),
                         (stored.uuid, stored.name, stored.driver,
                          stored.conductor_group, stored.provision_state,
                          stored.extra, stored.created_at, stored.updated_at,
                          stored.reservation, stored.maintenance))

    def test_create_fills_the_ring_position(self):
        uuids = [uuidutils.generate_uuid() for _ in range(3)]
        for uuid in uuids:
            self.assertEqual(ring_position.ring_position(uuid),
                             self.create(uuid=uuid).ring_position)
        self.assertEqual(
            {(uuid, ring_position.ring_position(uuid)) for uuid in uuids},
            {(n.uuid, n.ring_position) for n in self.dbapi.get_node_list()})

    def test_unset_documents_read_back_empty(self):
        created = self.create()

        for row in (created, self.dbapi.get_node_by_id(created.id)):
            self.assertEqual(dict.fromkeys(DOCUMENTS, {}) | {'traits': []},
                             {name: getattr(row, name)
                              for name in DOCUMENTS + ('traits',)})

    def test_documents_round_trip(self):
        documents = {
            name: {'zeta': [1, 2.5, None, True], 'alpha': {'ü': 'ß'},
                   'name': name, 'empty': {}}
            for name in DOCUMENTS}
        created = self.create(traits=['CUSTOM_B', 'CUSTOM_A'], **documents)

        stored = self.dbapi.get_node_by_id(created.id)

        for name, document in documents.items():
            self.assertEqual(document, getattr(stored, name))
            # Stored as text: the keys keep the order the user gave.
            self.assertEqual(list(document), list(getattr(stored, name)))
        self.assertEqual(['CUSTOM_B', 'CUSTOM_A'], stored.traits)

    def _check_create_refused(self, error_class, message, **values):
        first = self.create(name='node-1',
                            instance_uuid=uuidutils.generate_uuid())
        before = columns_of(self.dbapi.get_node_by_id(first.id))
        attempt = {'uuid': uuidutils.generate_uuid(), 'name': 'node-2',
                   'instance_uuid': uuidutils.generate_uuid(),
                   'driver': 'ipmi'}
        attempt.update({key: getattr(first, key) for key in values})

        error = self.assertRaises(error_class, self.dbapi.create_node,
                                  attempt)

        self.assertEqual(409, error.code)
        self.assertEqual(message % attempt, str(error))
        self.assertEqual([before], [columns_of(n) for n in
                                    self.dbapi.get_node_list()])
        self.assertEqual(1, self.dbapi.count_nodes())

    def test_create_with_a_used_uuid(self):
        self._check_create_refused(
            exception.NodeAlreadyExists,
            'A node with UUID %(uuid)s already exists.', uuid=True)

    def test_create_with_a_used_name(self):
        self._check_create_refused(
            exception.DuplicateName,
            'A node with name %(name)s already exists.', name=True)

    def test_create_with_a_used_instance(self):
        self._check_create_refused(
            exception.InstanceAssociated,
            'Instance %(instance_uuid)s is already associated with a node, '
            'it cannot be associated with this other node %(uuid)s',
            instance_uuid=True)

    # get_node_by_*

    def test_get_node_by_id_uuid_and_name(self):
        self.create(name='other')
        node = self.create(name='node-1')
        for get, ident in ((self.dbapi.get_node_by_id, node.id),
                           (self.dbapi.get_node_by_uuid, node.uuid),
                           (self.dbapi.get_node_by_name, 'node-1')):
            self.assertEqual(node.uuid, get(ident).uuid)

    def test_get_unknown_node(self):
        node = self.create(name='node-1')
        unknown = uuidutils.generate_uuid()
        for get, ident in ((self.dbapi.get_node_by_id, node.id + 1),
                           (self.dbapi.get_node_by_uuid, unknown),
                           (self.dbapi.get_node_by_name, 'node-2')):
            error = self.assertRaises(exception.NodeNotFound, get, ident)
            self.assertEqual(404, error.code)
            self.assertEqual('Node %s could not be found.' % ident,
                             str(error))

    # update_node

    def test_update_returns_the_updated_row(self):
        db_base.freeze_time(self, NOW)
        node = self.create(name='node-1', extra={'a': 1})
        before = columns_of(self.dbapi.get_node_by_id(node.id))
        later = NOW + datetime.timedelta(seconds=1, microseconds=1)
        db_base.freeze_time(self, later)
        changes = {'name': 'node-2', 'extra': {'b': 2},
                   'provision_state': 'manageable', 'maintenance': True,
                   'instance_uuid': uuidutils.generate_uuid()}

        row = self.dbapi.update_node(node.id, changes)

        expected = before | changes | {'updated_at': later}
        self.assertEqual(expected, columns_of(row))
        self.assertEqual(expected,
                         columns_of(self.dbapi.get_node_by_id(node.id)))

    def _check_update_refused(self, error_class, message, column):
        taken = self.create(name='node-1',
                            instance_uuid=uuidutils.generate_uuid())
        node = self.create(name='node-2')
        before = columns_of(self.dbapi.get_node_by_id(node.id))
        changes = {column: getattr(taken, column), 'extra': {'lost': 1}}

        error = self.assertRaises(error_class, self.dbapi.update_node,
                                  node.id, changes)

        self.assertEqual(409, error.code)
        self.assertEqual(message % (before | changes), str(error))
        self.assertEqual(before,
                         columns_of(self.dbapi.get_node_by_id(node.id)))

    def test_update_to_a_used_name(self):
        self._check_update_refused(
            exception.DuplicateName,
            'A node with name %(name)s already exists.', 'name')

    def test_update_to_a_used_instance(self):
        self._check_update_refused(
            exception.InstanceAssociated,
            'Instance %(instance_uuid)s is already associated with a node, '
            'it cannot be associated with this other node %(uuid)s',
            'instance_uuid')

    def test_update_refuses_to_change_the_uuid(self):
        node = self.create()
        before = columns_of(self.dbapi.get_node_by_id(node.id))

        error = self.assertRaises(
            exception.InvalidParameterValue, self.dbapi.update_node,
            node.id, {'uuid': uuidutils.generate_uuid()})

        self.assertEqual(400, error.code)
        self.assertEqual('Cannot overwrite UUID for an existing Node.',
                         str(error))
        self.assertEqual(before,
                         columns_of(self.dbapi.get_node_by_id(node.id)))

    def test_update_unknown_node(self):
        node = self.create()
        error = self.assertRaises(exception.NodeNotFound,
                                  self.dbapi.update_node, node.id + 1,
                                  {'name': 'node-1'})
        self.assertEqual('Node %s could not be found.' % (node.id + 1),
                         str(error))
        self.assertIsNone(self.dbapi.get_node_by_id(node.id).name)

    # destroy_node

    def test_destroy_removes_the_node_and_its_ports(self):
        doomed = self.create()
        kept = self.create()
        self.add_port(doomed.id, '52:54:00:00:00:01')
        self.add_port(doomed.id, '52:54:00:00:00:02')
        self.add_port(kept.id, '52:54:00:00:00:03')

        self.dbapi.destroy_node(doomed.id)

        self.assertRaises(exception.NodeNotFound, self.dbapi.get_node_by_id,
                          doomed.id)
        self.assertEqual([kept.uuid],
                         [n.uuid for n in self.dbapi.get_node_list()])
        self.assertEqual([(kept.id, '52:54:00:00:00:03')],
                         self.addresses_of_ports())

    def test_destroy_unknown_node(self):
        node = self.create()
        self.add_port(node.id, '52:54:00:00:00:01')

        self.assertRaises(exception.NodeNotFound, self.dbapi.destroy_node,
                          node.id + 1)

        self.assertEqual(1, self.dbapi.count_nodes())
        self.assertEqual(1, len(self.addresses_of_ports()))

    # reserve_node and release_node

    def test_reserve_and_release(self):
        node = self.create()
        other = self.create()

        row = self.dbapi.reserve_node('cond-1', node.id)

        self.assertEqual((node.uuid, 'cond-1'), (row.uuid, row.reservation))
        self.assertEqual('cond-1',
                         self.dbapi.get_node_by_id(node.id).reservation)
        self.assertIsNone(self.dbapi.get_node_by_id(other.id).reservation)

        self.dbapi.release_node('cond-1', node.id)

        self.assertIsNone(self.dbapi.get_node_by_id(node.id).reservation)
        self.assertEqual('cond-2',
                         self.dbapi.reserve_node('cond-2', node.id)
                         .reservation)

    def test_reserve_returns_the_node_as_stored(self):
        node = self.create(name='node-1', extra={'a': [1, 2.5]},
                           driver_info={'ipmi_password': 'p'})
        for ident in (node.id, node.uuid):
            row = self.dbapi.reserve_node('cond-1', ident)
            self.assertEqual(columns_of(self.dbapi.get_node_by_id(node.id)),
                             columns_of(row))
            self.assertTrue(sa.inspect(row).detached)
            self.dbapi.release_node('cond-1', node.id)

    def test_reserve_a_locked_node(self):
        node = self.create()
        self.dbapi.reserve_node('cond-1', node.id)

        for host in ('cond-2', 'cond-1'):
            error = self.assertRaises(exception.NodeLocked,
                                      self.dbapi.reserve_node, host, node.id)
            self.assertEqual(409, error.code)
            self.assertEqual(
                'Node %s is locked by host cond-1, please retry after the '
                'current operation is completed.' % node.uuid, str(error))
        self.assertEqual('cond-1',
                         self.dbapi.get_node_by_id(node.id).reservation)

    def test_reserve_unknown_node(self):
        node = self.create()
        error = self.assertRaises(exception.NodeNotFound,
                                  self.dbapi.reserve_node, 'cond-1',
                                  node.id + 1)
        self.assertEqual('Node %s could not be found.' % (node.id + 1),
                         str(error))

    def test_reserve_by_uuid(self):
        node = self.create()

        row = self.dbapi.reserve_node('cond-1', node.uuid)

        self.assertEqual((node.id, 'cond-1'), (row.id, row.reservation))
        error = self.assertRaises(exception.NodeLocked,
                                  self.dbapi.reserve_node, 'cond-2',
                                  node.uuid)
        self.assertIn('locked by host cond-1', str(error))
        unknown = uuidutils.generate_uuid()
        error = self.assertRaises(exception.NodeNotFound,
                                  self.dbapi.reserve_node, 'cond-1', unknown)
        self.assertEqual('Node %s could not be found.' % unknown, str(error))

    # update_and_release_node: the same as update_node then release_node

    def test_update_and_release(self):
        node = self.create(name='node-1', extra={'a': 1})
        self.dbapi.reserve_node('cond-1', node.id)
        before = columns_of(self.dbapi.get_node_by_id(node.id))
        later = before['created_at'] + datetime.timedelta(seconds=5)
        db_base.freeze_time(self, later)
        changes = {'name': 'node-2', 'extra': {'b': 2}, 'maintenance': True}

        returned = self.dbapi.update_and_release_node('cond-1', node.id,
                                                      changes)

        stored = columns_of(self.dbapi.get_node_by_id(node.id))
        self.assertEqual(
            before | changes | {'updated_at': later, 'reservation': None},
            stored)
        # What it returns is the node as a read finds it: the conductor
        # answers with it, and the API reads it no more.
        self.assertEqual(stored, columns_of(returned))
        self.assertTrue(sa.inspect(returned).detached)

    def test_update_and_release_leaves_another_holders_lock(self):
        node = self.create()
        self.dbapi.reserve_node('cond-1', node.id)

        self.dbapi.update_and_release_node('cond-2', node.id,
                                           {'extra': {'b': 2}})

        row = self.dbapi.get_node_by_id(node.id)
        self.assertEqual(('cond-1', {'b': 2}), (row.reservation, row.extra))

    def test_update_and_release_refused_keeps_the_lock(self):
        taken = self.create(name='node-1',
                            instance_uuid=uuidutils.generate_uuid())
        node = self.create(name='node-2')
        self.dbapi.reserve_node('cond-1', node.id)
        before = columns_of(self.dbapi.get_node_by_id(node.id))

        error = self.assertRaises(
            exception.DuplicateName, self.dbapi.update_and_release_node,
            'cond-1', node.id, {'name': 'node-1', 'extra': {'lost': 1}})
        self.assertEqual('A node with name node-1 already exists.',
                         str(error))
        error = self.assertRaises(
            exception.InstanceAssociated, self.dbapi.update_and_release_node,
            'cond-1', node.id, {'instance_uuid': taken.instance_uuid})
        self.assertIn('cannot be associated with this other node %s'
                      % node.uuid, str(error))
        self.assertRaises(
            exception.InvalidParameterValue,
            self.dbapi.update_and_release_node, 'cond-1', node.id,
            {'uuid': uuidutils.generate_uuid()})
        self.assertEqual(before,
                         columns_of(self.dbapi.get_node_by_id(node.id)))

    def test_update_and_release_unknown_node(self):
        node = self.create()
        error = self.assertRaises(
            exception.NodeNotFound, self.dbapi.update_and_release_node,
            'cond-1', node.id + 1, {'extra': {}})
        self.assertEqual('Node %s could not be found.' % (node.id + 1),
                         str(error))

    def test_release_by_another_host_leaves_the_lock(self):
        node = self.create()
        self.dbapi.reserve_node('cond-1', node.id)

        self.dbapi.release_node('cond-2', node.id)

        self.assertEqual('cond-1',
                         self.dbapi.get_node_by_id(node.id).reservation)

    def test_concurrent_reserves_have_one_winner(self):
        node = self.create()
        hosts = ['cond-%d' % n for n in range(4)]
        barrier = threading.Barrier(len(hosts), timeout=10)
        winners, losers = [], []

        def reserve(host):
            barrier.wait()
            try:
                self.dbapi.reserve_node(host, node.id)
                winners.append(host)
            except exception.NodeLocked as e:
                losers.append(e.kwargs['host'])

        threads = [threading.Thread(target=reserve, args=(host,))
                   for host in hosts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        self.assertEqual(1, len(winners), (winners, losers))
        self.assertEqual(winners * 3, losers)
        self.assertEqual(winners[0],
                         self.dbapi.get_node_by_id(node.id).reservation)

    def test_concurrent_take_overs_of_a_lock_have_one_winner(self):
        node = self.create()
        other = self.create()
        self.dbapi.reserve_node('dead', node.id)
        self.assertRaises(exception.NodeLocked, self.dbapi.reserve_node,
                          'cond-1', other.id, taking_from='dead')
        hosts = ['cond-%d' % n for n in range(4)]
        barrier = threading.Barrier(len(hosts), timeout=10)
        winners = []

        def take(host):
            barrier.wait()
            try:
                self.dbapi.reserve_node(host, node.id, taking_from='dead')
                winners.append(host)
            except exception.NodeLocked:
                pass

        threads = [threading.Thread(target=take, args=(host,))
                   for host in hosts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        self.assertEqual(1, len(winners), winners)
        self.assertEqual(winners, [row.reservation for row in
                                   self.dbapi.get_node_list(
                                       {'reservation_in': winners})])
        self.assertEqual([], self.dbapi.get_node_list(
            {'reservation_in': ['dead', 'x']}))

    def test_release_reservations_of_some_hosts(self):
        nodes = {host: self.create() for host in ('cond-1', 'cond-2',
                                                  'cond-3', None)}
        for host, node in nodes.items():
            if host:
                self.dbapi.reserve_node(host, node.id)

        self.assertEqual(0, self.dbapi.release_reservations_of([]))
        self.assertEqual(2, self.dbapi.release_reservations_of(
            iter(['cond-1', 'cond-3', 'cond-9'])))

        self.assertEqual(
            {None: None, 'cond-1': None, 'cond-2': 'cond-2',
             'cond-3': None},
            {host: self.dbapi.get_node_by_id(node.id).reservation
             for host, node in nodes.items()})


class TestNodesSQLite(NodeTests, db_base.DBLayerTestCase):
    backend = db_base.SQLITE

    def test_a_busy_snapshot_is_written_again_in_a_new_transaction(self):
        # What SQLite answers at once when another connection wrote past
        # the snapshot this transaction read: seen as a 503 under 20
        # concurrent PATCHes of one node in the all-in-one.
        node = self.create()
        flush, failures = orm.Session.flush, []

        def flush_busy_once(session, *args, **kwargs):
            if not failures:
                failures.append(True)
                raise sa.exc.OperationalError(
                    'UPDATE nodes', {},
                    sqlite3.OperationalError('database is locked'))
            return flush(session, *args, **kwargs)

        with mock.patch.object(orm.Session, 'flush', flush_busy_once):
            self.dbapi.update_node(node.id, {'extra': {'a': 1}})
        self.assertEqual([True], failures)
        self.assertEqual({'a': 1}, self.dbapi.get_node_by_id(node.id).extra)

    def another_process_writing(self, node) -> sqlite3.Connection:
        """A connection of "another process" in a write transaction that
        renamed ``node`` to 'other', not yet committed."""
        other = sqlite3.connect(self.dbapi.engine.url.database,
                                isolation_level=None)
        self.addCleanup(other.close)
        other.execute('BEGIN IMMEDIATE')
        other.execute("UPDATE nodes SET name = 'other' WHERE id = ?",
                      (node.id,))
        return other

    def test_a_writer_waits_for_another_process_instead_of_retrying(self):
        # A writer begins IMMEDIATE: another process's write transaction
        # makes it wait, where a deferred one that read first would fail
        # with a busy snapshot and sleep before a new transaction.
        node = self.create()
        other = self.another_process_writing(node)
        statements, waiting = [], threading.Event()

        def seen(conn, cursor, statement, *args):
            statements.append(statement)
            if statement == 'BEGIN IMMEDIATE':
                waiting.set()

        sa.event.listen(self.dbapi.engine, 'before_cursor_execute', seen)
        self.addCleanup(sa.event.remove, self.dbapi.engine,
                        'before_cursor_execute', seen)
        # Readers are not held by the other process's write.
        self.assertIsNone(self.dbapi.get_node_by_id(node.id).name)
        self.assertEqual(['SELECT'], [s.split()[0] for s in statements])
        del statements[:]
        thread = threading.Thread(target=self.dbapi.update_node,
                                  args=(node.id, {'extra': {'a': 1}}))
        thread.start()
        self.addCleanup(thread.join)
        self.assertTrue(waiting.wait(30))
        other.execute('COMMIT')
        thread.join(30)

        self.assertEqual(1, statements.count('BEGIN IMMEDIATE'))
        row = self.dbapi.get_node_by_id(node.id)
        self.assertEqual(('other', {'a': 1}), (row.name, row.extra))

    def statements_of(self, call) -> list[str]:
        """The statements ``call()`` sends, their first words."""
        seen = []

        def statement(conn, cursor, text, *args):
            seen.append(' '.join(text.split()[:2]))

        sa.event.listen(self.dbapi.engine, 'before_cursor_execute',
                        statement)
        try:
            call()
        finally:
            sa.event.remove(self.dbapi.engine, 'before_cursor_execute',
                            statement)
        return seen

    def test_a_lock_and_a_last_write_are_a_statement_each(self):
        # No BEGIN, no COMMIT, no read: each returns the node it wrote.
        node = self.create()
        other = sqlite3.connect(self.dbapi.engine.url.database,
                                isolation_level=None, timeout=0)
        self.addCleanup(other.close)

        self.assertEqual(['UPDATE nodes'], self.statements_of(
            lambda: self.dbapi.reserve_node('cond-1', node.uuid)))
        # Committed, and the write lock given back: another connection sees
        # the lock and can write at once.
        self.assertEqual(('cond-1',), other.execute(
            'SELECT reservation FROM nodes WHERE id = ?',
            (node.id,)).fetchone())
        other.execute('BEGIN IMMEDIATE')
        other.execute('ROLLBACK')

        self.assertEqual(['UPDATE nodes'], self.statements_of(
            lambda: self.dbapi.update_and_release_node(
                'cond-1', node.id, {'extra': {'a': 1}})))
        self.assertEqual((None, '{"a": 1}'), other.execute(
            'SELECT reservation, extra FROM nodes WHERE id = ?',
            (node.id,)).fetchone())
        other.execute('BEGIN IMMEDIATE')
        other.execute('ROLLBACK')

        self.assertEqual(['INSERT INTO'], self.statements_of(
            lambda: self.create(name='node-2')))
        self.assertEqual(('node-2',), other.execute(
            "SELECT name FROM nodes WHERE name = 'node-2'").fetchone())

    def test_a_lone_write_waits_for_another_process(self):
        # A statement that is its own transaction waits for another
        # process's write (busy_timeout), as BEGIN IMMEDIATE did.
        node = self.create()
        other = self.another_process_writing(node)
        sent = threading.Event()

        def statement(*args):
            sent.set()
        sa.event.listen(self.dbapi.engine, 'before_cursor_execute',
                        statement)
        self.addCleanup(sa.event.remove, self.dbapi.engine,
                        'before_cursor_execute', statement)
        taken = []
        thread = threading.Thread(target=lambda: taken.append(
            self.dbapi.reserve_node('cond-1', node.id)))
        thread.start()
        self.addCleanup(thread.join)
        self.assertTrue(sent.wait(30))
        self.assertEqual([], taken)
        other.execute('COMMIT')
        thread.join(30)

        self.assertEqual([('other', 'cond-1')],
                         [(row.name, row.reservation) for row in taken])

    def test_other_operational_errors_are_not_retried_as_busy(self):
        self.assertFalse(db_sqlalchemy.is_sqlite_busy(sa.exc.OperationalError(
            'SELECT 1', {}, sqlite3.OperationalError('no such table: x'))))
        self.assertFalse(db_sqlalchemy.is_sqlite_busy(ValueError('locked')))


class TestNodesMySQL(NodeTests, db_base.DBLayerTestCase):
    backend = db_base.MYSQL


class TestNodesPostgreSQL(NodeTests, db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL
