"""Small single-statement reads sent straight to the database driver.

A node show or the conductor list reads one statement of a few rows. Run
through SQLAlchemy's Core execution, the statement's execution context,
its events, cursor wrapping and result metadata cost as much again as the
statement itself on SQLite, and a quarter of the API's whole CPU time for
the request on PostgreSQL. Here the statement is compiled once per
database dialect and, for each read, sent on a pooled connection's own
cursor; its rows come back as named tuples, each column through the
result processor its type has (times and booleans on SQLite, the JSON
documents).

Only what that covers is read here: a SELECT with no bound value that
needs converting and no expanding IN, on an engine nobody listens to for
statements (a listener, such as a test counting statements or oslo.db's
``connection_trace``, expects SQLAlchemy's execution). Everything else,
and any read that fails here, goes through SQLAlchemy
(:func:`rows` answers None), which translates errors as oslo.db has them
and, for a lost connection, reads again.

On PostgreSQL (psycopg2) each statement is also a prepared statement of
the server session (``[database]prepared_statements``): prepared with its
first read on a connection, then only executed. The backend no longer
parses, analyses and plans a 50-column SELECT for every read: half of its
CPU for a node. Prepared statements live and die with the session; a read
that fails on one (a column's type changed by a migration, say) is read
again through SQLAlchemy and its connection replaced, which leaves no
statement prepared behind. A pooler that shares server sessions between
clients (PgBouncer in transaction mode) shows itself by a statement that
is missing or already there: prepared statements are then turned off for
the engine, with a warning (tests/unit/db/test_pgbouncer.py runs a real
PgBouncer). PgBouncer's statement mode is no concern here: it refuses
every transaction block, and ironic-lite, which opens them from its first
connection on, does not run behind it at all.
"""

import collections
import functools
import hashlib
import keyword
import re
import threading
import typing
import weakref

import sqlalchemy as sa
from oslo_log import log

LOG = log.getLogger(__name__)

# The statements prepared on a pooled connection, in its record's info
# (cleared by SQLAlchemy when the connection is replaced): (the driver's
# connection, the names).
_PREPARED = 'ironic_lite.lean.prepared'

# Engines whose server sessions turned out shared (see the module's doc).
_SHARED_SESSIONS: 'weakref.WeakSet[sa.engine.Engine]' = weakref.WeakSet()

# The most statements prepared on one connection. A node's read has a
# statement per set of columns, and ``?fields=`` asks for any set: past
# this, a session's memory stops growing and the reads go unprepared.
MOST_PREPARED = 32

# PostgreSQL's errors for a prepared statement missing from the session,
# and for one already in it.
_SESSION_NOT_OURS = frozenset({'26000', '42P05'})


class _Prepared(typing.NamedTuple):
    """A statement as a prepared statement of PostgreSQL's."""
    name: str
    # Prepares it and executes it, in one round trip.
    prepare_and_execute: str
    execute: str
    # The bound values' names in the order of EXECUTE's arguments.
    names: tuple[str, ...]


class _Plan(typing.NamedTuple):
    sql: str
    # The bound values' names in order for a positional driver, else None.
    positional: tuple[str, ...] | None
    compiled: sa.engine.Compiled
    # (index, processor) of each column whose type converts its values.
    processors: tuple[tuple[int, typing.Callable], ...]
    row: type
    # PostgreSQL through psycopg2: the statement as a prepared one.
    prepared: _Prepared | None


class _Row(tuple):
    """A row read here: attributes and indexes as SQLAlchemy's Row."""

    __slots__ = ()

    @property
    def _mapping(self) -> dict:
        return self._asdict()


@functools.lru_cache(maxsize=256)
def _plan(statement: sa.Select, dialect) -> _Plan | None:
    """How ``statement`` is read here on ``dialect``; None if it is not."""
    compiled = statement.compile(dialect=dialect)
    for bind in compiled.binds.values():
        if bind.expanding or bind.type.dialect_impl(dialect).bind_processor(
                dialect) is not None:
            return None
    names = list(statement.selected_columns.keys())
    if any(not name.isidentifier() or keyword.iskeyword(name)
           or name.startswith('_') for name in names) or len(
               set(names)) != len(names):
        return None
    processors = []
    for index, column in enumerate(statement.selected_columns):
        processor = column.type.dialect_impl(dialect).result_processor(
            dialect, None)
        if processor is not None:
            processors.append((index, processor))
    row = type('Row', (collections.namedtuple('_Fields', names), _Row),
               {'__slots__': ()})
    positional = (tuple(compiled.positiontup) if compiled.positional
                  else None)
    return _Plan(compiled.string, positional, compiled, tuple(processors),
                 row, _prepared(compiled, dialect))


# A bound value (psycopg2's pyformat), or an escaped percent sign.
_PYFORMAT = re.compile(r'%%|%\(([^)]+)\)s')


def _prepared(compiled: sa.engine.Compiled, dialect) -> _Prepared | None:
    """``compiled`` as a prepared statement, on PostgreSQL through
    psycopg2; else None."""
    if dialect.name != 'postgresql' or dialect.driver != 'psycopg2' or (
            compiled.escaped_bind_names):
        return None
    names: list[str] = []

    def placeholder(match):
        name = match.group(1)
        if name is None:
            # Left escaped: psycopg2 unescapes it as it binds EXECUTE's
            # arguments into the same string.
            return '%%'
        if name not in names:
            names.append(name)
        return '$%d' % (names.index(name) + 1)
    body = _PYFORMAT.sub(placeholder, compiled.string)
    # Named after the statement: the same name for the same statement in
    # every process (a shared session then says "already exists").
    name = 'ironic_lite_' + hashlib.sha1(body.encode()).hexdigest()[:20]
    execute = 'EXECUTE ' + name
    if names:
        execute += '(%s)' % ', '.join(['%s'] * len(names))
    return _Prepared(name, 'PREPARE %s AS %s; %s' % (name, body, execute),
                     execute, tuple(names))


def rows(engine: sa.engine.Engine, statement: sa.Select,
         parameters: typing.Mapping | None,
         unpinged: threading.local, prepare: bool = True) -> list | None:
    """Every row of ``statement`` read on the driver's cursor, or None
    when it is not read here (see the module's doc); the caller then
    reads it through SQLAlchemy.

    ``unpinged``: the flag the pool's checkout ping looks at (set while
    the connection is taken: a read is not pinged, a failed one is read
    again through SQLAlchemy, which pings). ``prepare``: as a prepared
    statement where the database has them (see the module's doc).
    """
    dispatch = engine.dispatch
    if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
        return None
    dialect = engine.dialect
    plan = _plan(statement, dialect)
    if plan is None:
        return None
    values = plan.compiled.construct_params(parameters)
    prepared = plan.prepared
    if not prepare or engine in _SHARED_SESSIONS:
        prepared = None
    error = dialect.loaded_dbapi.Error
    unpinged.on = True
    try:
        connection = engine.raw_connection()
    except error:
        return None
    finally:
        unpinged.on = False
    try:
        driver = connection.dbapi_connection
        # PostgreSQL: no BEGIN before the statement, no ROLLBACK after.
        autocommit = (dialect.name == 'postgresql'
                      and not driver.autocommit)
        if autocommit:
            driver.autocommit = True
        cursor = connection.cursor()
        try:
            if prepared is not None and not _execute_prepared(
                    connection, driver, cursor, prepared, values):
                prepared = None
            if prepared is None:
                if plan.positional is not None:
                    values = tuple(values[name] for name in plan.positional)
                cursor.execute(plan.sql, values)
            found = cursor.fetchall()
        finally:
            cursor.close()
            if autocommit and not driver.closed:
                driver.autocommit = False
    except error as e:
        if prepared is not None:
            _failed_prepared(engine, e)
            # A new connection: none of its statements prepared, nor left
            # half-prepared (a PREPARE stays when the EXECUTE sent with it
            # fails, and preparing it again would say "already exists").
            connection.invalidate(e)
        elif dialect.is_disconnect(e, connection.dbapi_connection, None):
            connection.invalidate(e)
        connection.close()
        return None
    connection.close()
    make = plan.row._make
    if not plan.processors:
        return [make(values) for values in found]
    result = []
    for values in found:
        values = list(values)
        for index, processor in plan.processors:
            values[index] = processor(values[index])
        result.append(make(values))
    return result


def _execute_prepared(connection, driver, cursor, prepared: _Prepared,
                      values: dict) -> bool:
    """EXECUTE ``prepared``, first PREPARE-d if this session has not;
    False, sending nothing, if the session holds as many as it may."""
    known = connection.info.get(_PREPARED)
    if known is None or known[0] is not driver:
        known = connection.info[_PREPARED] = (driver, set())
    arguments = tuple(values[name] for name in prepared.names)
    if prepared.name in known[1]:
        cursor.execute(prepared.execute, arguments)
        return True
    if len(known[1]) >= MOST_PREPARED:
        return False
    cursor.execute(prepared.prepare_and_execute, arguments)
    known[1].add(prepared.name)
    return True


def _failed_prepared(engine: sa.engine.Engine, error: Exception) -> None:
    """Turn prepared statements off for ``engine`` if ``error`` says its
    server sessions are shared."""
    if getattr(error, 'pgcode', None) not in _SESSION_NOT_OURS:
        return
    if engine not in _SHARED_SESSIONS:
        _SHARED_SESSIONS.add(engine)
        LOG.warning('The database server session of a connection is not '
                    'its own (%(error)s): a pooler between ironic-lite and '
                    'PostgreSQL in transaction pooling mode? '
                    'Prepared statements are off for this process from '
                    'now on; set [database]prepared_statements = false '
                    'to say so.', {'error': str(error).strip()})
