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
"""

import collections
import functools
import keyword
import threading
import typing

import sqlalchemy as sa


class _Plan(typing.NamedTuple):
    sql: str
    # The bound values' names in order for a positional driver, else None.
    positional: tuple[str, ...] | None
    compiled: sa.engine.Compiled
    # (index, processor) of each column whose type converts its values.
    processors: tuple[tuple[int, typing.Callable], ...]
    row: type


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
                 row)


def rows(engine: sa.engine.Engine, statement: sa.Select,
         parameters: typing.Mapping | None,
         unpinged: threading.local) -> list | None:
    """Every row of ``statement`` read on the driver's cursor, or None
    when it is not read here (see the module's doc); the caller then
    reads it through SQLAlchemy.

    ``unpinged``: the flag the pool's checkout ping looks at (set while
    the connection is taken: a read is not pinged, a failed one is read
    again through SQLAlchemy, which pings).
    """
    dispatch = engine.dispatch
    if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
        return None
    dialect = engine.dialect
    plan = _plan(statement, dialect)
    if plan is None:
        return None
    values = plan.compiled.construct_params(parameters)
    if plan.positional is not None:
        values = tuple(values[name] for name in plan.positional)
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
            cursor.execute(plan.sql, values)
            found = cursor.fetchall()
        finally:
            cursor.close()
            if autocommit and not driver.closed:
                driver.autocommit = False
    except error as e:
        if dialect.is_disconnect(e, connection.dbapi_connection, None):
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
