"""The alembic migrations, on SQLite, MariaDB and PostgreSQL: they build the
schema the models describe, 0002 fills ring_position for existing nodes,
and create_schema builds the very same schema in one step."""

import datetime
import importlib.util
import os
import re

import sqlalchemy as sa
from alembic import autogenerate
from alembic import migration as alembic_migration
from oslo_db import exception as db_exc
from oslo_utils import uuidutils

from ironic_lite.common import ring_position
from ironic_lite.db import migration
from ironic_lite.db.sqlalchemy import models
from tests import base
from tests.unit.db import base as db_base

_CREATED = datetime.datetime(2020, 1, 2, 3, 4, 5)


def _normal_default(text):
    """A server default as a plain value, whatever the server's spelling.

    Equivalent spellings: SQLite wraps defaults in parentheses, PostgreSQL
    adds a cast (``''::character varying``), and MySQL/MariaDB and SQLite
    store a boolean as the integer 0 or 1 where PostgreSQL says false/true.
    """
    if text is None:
        return None
    text = str(text).strip()
    while text.startswith('(') and text.endswith(')'):
        text = text[1:-1].strip()
    text = re.sub(r'::[a-z ]+$', '', text)
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1]
    return {'false': '0', 'true': '1'}.get(text.lower(), text)


def _server_defaults_differ(context, inspected_column, metadata_column,
                            inspected_default, metadata_default,
                            rendered_metadata_default):
    return (_normal_default(inspected_default)
            != _normal_default(rendered_metadata_default))


def models_on(dialect: str) -> sa.MetaData:
    """The models' tables as ``dialect`` gets them: without the indexes
    made for other databases only (``Index.ddl_if``), which alembic's
    autogenerate does not tell apart."""
    metadata = sa.MetaData()
    for table in models.Base.metadata.sorted_tables:
        copy = table.to_metadata(metadata)
        copy.indexes = set()
        for index in table.indexes:
            condition = index._ddl_if
            if condition is not None and condition.dialect is not None:
                wanted = condition.dialect
                if dialect not in ((wanted,) if isinstance(wanted, str)
                                   else wanted):
                    continue
            sa.Index(index.name, *(copy.c[c.name] for c in index.columns),
                     unique=index.unique, **index.dialect_kwargs)
    return metadata


def schema_differences(engine) -> list:
    """What alembic's autogenerate would change to make the database match
    the models: tables, columns, types, nullability, server defaults,
    indexes, unique constraints and foreign keys."""
    with engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(
            connection, opts={
                'compare_type': True,
                'compare_server_default': _server_defaults_differ})
        return autogenerate.compare_metadata(
            context, models_on(engine.dialect.name))


def schema_snapshot(engine) -> dict:
    """Everything the database says about its tables, comparable between
    two databases of the same server."""
    inspector = sa.inspect(engine)
    snapshot = {}
    for table in sorted(inspector.get_table_names()):
        # By name: the order of the columns is immaterial (0002 appends
        # ring_position where the models put it earlier).
        columns = sorted((c['name'], repr(c['type']), c['nullable'],
                          _normal_default(c['default']))
                         for c in inspector.get_columns(table))
        foreign_keys = sorted(
            (fk['name'], tuple(fk['constrained_columns']),
             fk['referred_table'], tuple(fk['referred_columns']),
             tuple(sorted(fk['options'].items())))
            for fk in inspector.get_foreign_keys(table))
        indexes = sorted((i['name'], tuple(i['column_names']),
                          bool(i['unique']))
                         for i in inspector.get_indexes(table))
        uniques = sorted((u['name'], tuple(u['column_names']))
                         for u in inspector.get_unique_constraints(table))
        options = {k: v for k, v in inspector.get_table_options(table)
                   .items() if not k.endswith('auto_increment')}
        snapshot[table] = {
            'columns': columns,
            'primary_key': inspector.get_pk_constraint(table)[
                'constrained_columns'],
            'foreign_keys': foreign_keys, 'indexes': indexes,
            'unique_constraints': uniques, 'options': options}
    return snapshot


class MigrationTests:
    """The body of the migration tests; a subclass names the backend."""

    backend = None

    def new_engine(self) -> sa.engine.Engine:
        """An empty database of the test's own, reached the way the
        services reach theirs."""
        url = db_base.empty_database(self, self.backend)
        self.prepare_empty_database(url)
        return db_base.connect(self, url).engine

    def prepare_empty_database(self, url: str) -> None:
        """Hook: make the server's defaults hostile to a schema that
        relies on them."""

    def check_what_reflection_misses(self, engine) -> None:
        """Hook: server-specific checks of a schema at head."""

    def test_upgrade_from_empty_to_head_matches_models(self):
        engine = self.new_engine()
        self.assertIsNone(migration.version(engine))

        migration.upgrade('head', engine=engine)

        self.assertEqual(migration.head(), migration.version(engine))
        self.assertEqual([], schema_differences(engine))
        self.check_what_reflection_misses(engine)
        at_head = schema_snapshot(engine)
        migration.upgrade('head', engine=engine)
        self.assertEqual(at_head, schema_snapshot(engine))

    def test_0002_fills_ring_position_of_existing_nodes(self):
        engine = self.new_engine()
        migration.upgrade('0001', engine=engine)
        self.assertEqual('0001', migration.version(engine))
        uuids = [uuidutils.generate_uuid() for _ in range(5)]
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO conductors (hostname, online, conductor_group, "
                "created_at) VALUES ('cond-1', :yes, '', :created)"),
                {'yes': True, 'created': _CREATED})
            conductor_id = connection.scalar(sa.text(
                "SELECT id FROM conductors WHERE hostname = 'cond-1'"))
            for number, uuid in enumerate(uuids):
                connection.execute(sa.text(
                    "INSERT INTO nodes (uuid, name, driver, "
                    "conductor_affinity, extra, created_at) VALUES "
                    "(:uuid, :name, 'fake-hardware', :affinity, :extra, "
                    ":created)"),
                    {'uuid': uuid, 'name': 'node-%d' % number,
                     'affinity': conductor_id, 'extra': '{"n": %d}' % number,
                     'created': _CREATED})
            node_id = connection.scalar(sa.text(
                'SELECT id FROM nodes WHERE uuid = :uuid'),
                {'uuid': uuids[0]})
            # Ports reference nodes: rebuilding the nodes table (SQLite)
            # must keep them and their links.
            connection.execute(sa.text(
                "INSERT INTO ports (uuid, address, node_id, created_at) "
                "VALUES (:uuid, '52:54:00:12:34:56', :node, :created)"),
                {'uuid': uuidutils.generate_uuid(), 'node': node_id,
                 'created': _CREATED})

        migration.upgrade('head', engine=engine)

        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                'SELECT uuid, ring_position, conductor_affinity, extra '
                'FROM nodes')).all()
            port_node = connection.scalar(sa.text(
                'SELECT node_id FROM ports'))
        self.assertEqual(
            sorted((uuid, ring_position.ring_position(uuid), conductor_id)
                   for uuid in uuids),
            sorted(row[:3] for row in rows))
        self.assertEqual(node_id, port_node)
        column = {c['name']: c for c in
                  sa.inspect(engine).get_columns('nodes')}['ring_position']
        self.assertFalse(column['nullable'])
        with engine.begin() as connection:
            self.assertRaises(
                db_exc.DBError, connection.execute, sa.text(
                    "INSERT INTO nodes (uuid, driver, ring_position, "
                    "created_at) VALUES (:uuid, 'fake-hardware', NULL, "
                    ":created)"),
                {'uuid': uuidutils.generate_uuid(), 'created': _CREATED})

    # The ring-page index of 0008 on this database.
    RING_PAGE_COLUMNS = ('conductor_group', 'driver', 'id', 'ring_position')

    def test_0008_ring_page_index_of_an_existing_database(self):
        engine = self.new_engine()
        migration.upgrade('0007', engine=engine)
        uuids = [uuidutils.generate_uuid() for _ in range(5)]
        with engine.begin() as connection:
            for number, uuid in enumerate(uuids):
                connection.execute(sa.text(
                    "INSERT INTO nodes (uuid, name, driver, ring_position, "
                    "power_state, created_at) VALUES (:uuid, :name, "
                    "'ipmi', :position, 'power on', :created)"),
                    {'uuid': uuid, 'name': 'node-%d' % number,
                     'position': ring_position.ring_position(uuid),
                     'created': _CREATED})

        migration.upgrade('head', engine=engine)

        indexes = {i['name']: tuple(i['column_names'])
                   for i in sa.inspect(engine).get_indexes('nodes')}
        self.assertEqual(self.RING_PAGE_COLUMNS,
                         indexes['nodes_ring_page_idx'])
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT uuid, name, power_state FROM nodes WHERE "
                "conductor_group = '' AND driver = 'ipmi' ORDER BY id"))
            self.assertEqual(
                [(uuid, 'node-%d' % number, 'power on')
                 for number, uuid in enumerate(uuids)], rows.all())

    def test_0009_nodes_of_an_existing_database_are_not_recorded(self):
        engine = self.new_engine()
        migration.upgrade('0008', engine=engine)
        uuid = uuidutils.generate_uuid()
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO nodes (uuid, driver, ring_position, created_at) "
                "VALUES (:uuid, 'ipmi', :position, :created)"),
                {'uuid': uuid, 'position': ring_position.ring_position(uuid),
                 'created': _CREATED})

        migration.upgrade('head', engine=engine)

        with engine.connect() as connection:
            self.assertEqual([(uuid, None)], connection.execute(sa.text(
                'SELECT uuid, served_by FROM nodes')).all())
            self.assertEqual([(1, None)], connection.execute(sa.text(
                'SELECT id, fingerprint FROM served_by_record')).all())

    def test_create_schema_builds_the_schema_upgrade_builds(self):
        upgraded = self.new_engine()
        migration.upgrade(engine=upgraded)
        created = self.new_engine()

        migration.create_schema(created)

        self.assertEqual(migration.head(), migration.version(created))
        self.assertEqual([], schema_differences(created))
        self.assertEqual(schema_snapshot(upgraded), schema_snapshot(created))
        self.check_what_reflection_misses(created)
        # The one row of served_by_record, on neither rings.
        for engine in (upgraded, created):
            with engine.connect() as connection:
                self.assertEqual([(1, None)], connection.execute(sa.text(
                    'SELECT id, fingerprint FROM served_by_record')).all())

    def test_create_schema_refuses_a_database_with_a_schema(self):
        engine = self.new_engine()
        migration.upgrade('0001', engine=engine)
        before = schema_snapshot(engine)

        error = self.assertRaises(RuntimeError, migration.create_schema,
                                  engine)

        self.assertIn('ironic-lite-dbsync upgrade', str(error))
        self.assertEqual('0001', migration.version(engine))
        self.assertEqual(before, schema_snapshot(engine))

        # Tables whose version record was lost are an old schema too:
        # stamping them as the newest would skip the migrations they need.
        with engine.begin() as connection:
            connection.execute(sa.text('DROP TABLE alembic_version'))
        before = schema_snapshot(engine)

        self.assertRaises(RuntimeError, migration.create_schema, engine)

        self.assertIsNone(migration.version(engine))
        self.assertEqual(before, schema_snapshot(engine))


class TestFrozenRingPosition(base.TestCase):
    """0002 carries its own copy of the ring hash (a migration must not
    import live code); it must still be the hash the live code computes, or
    nodes migrated by 0002 would sit at the wrong place on the rings."""

    path = os.path.join(os.path.dirname(migration.__file__), 'versions',
                        '0002_node_ring_position.py')

    def test_0002_copy_agrees_with_the_live_ring_position(self):
        spec = importlib.util.spec_from_file_location('migration_0002',
                                                      self.path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for _ in range(2000):
            node_uuid = uuidutils.generate_uuid()
            self.assertEqual(ring_position.ring_position(node_uuid),
                             module.ring_position(node_uuid))


class TestMigrationsSQLite(MigrationTests, base.TestCase):
    backend = db_base.SQLITE
    RING_PAGE_COLUMNS = (MigrationTests.RING_PAGE_COLUMNS
                         + models.RING_PAGE_SHOWN)


class TestMigrationsMySQL(MigrationTests, base.TestCase):
    backend = db_base.MYSQL

    def prepare_empty_database(self, url):
        # Not the server's usual utf8mb4: tables must not inherit this.
        name = url.rsplit('/', 1)[1]
        engine = sa.create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(
                    'ALTER DATABASE %s CHARACTER SET latin1 '
                    'COLLATE latin1_swedish_ci' % name))
        finally:
            engine.dispose()

    def check_what_reflection_misses(self, engine):
        with engine.connect() as connection:
            tables = connection.execute(sa.text(
                'SELECT table_name, engine, table_collation '
                'FROM information_schema.tables '
                'WHERE table_schema = DATABASE() '
                "AND table_name != 'alembic_version'")).all()
            columns = connection.execute(sa.text(
                'SELECT table_name, column_name, data_type, '
                'datetime_precision, collation_name '
                'FROM information_schema.columns '
                'WHERE table_schema = DATABASE()')).all()
        self.assertEqual(
            dict.fromkeys(models.Base.metadata.tables, ('InnoDB', 'utf8mb4')),
            {table: (storage, collation.split('_', 1)[0])
             for table, storage, collation in tables})
        # Liveness is decided on heartbeats seconds apart, and paging by
        # created_at needs the stored value to be the one written.
        self.assertEqual(
            [], [c for c in columns if c[2] == 'datetime' and c[3] != 6])
        self.assertIn(('conductors', 'updated_at', 'datetime', 6, None),
                      columns)
        # The hash ring compares ring positions as bytes.
        self.assertIn(('nodes', 'ring_position', 'varchar', None,
                       'ascii_bin'), columns)


class TestMigrationsPostgreSQL(MigrationTests, base.TestCase):
    backend = db_base.POSTGRESQL

    def check_what_reflection_misses(self, engine):
        with engine.connect() as connection:
            collation = connection.scalar(sa.text(
                'SELECT collation_name FROM information_schema.columns '
                'WHERE table_catalog = current_database() '
                "AND table_name = 'nodes' "
                "AND column_name = 'ring_position'"))
        # The hash ring compares ring positions as bytes.
        self.assertEqual('C', collation)

