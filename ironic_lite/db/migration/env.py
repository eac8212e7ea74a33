"""Alembic environment: runs migrations on the engine the caller gives."""

from alembic import context

from ironic_lite.db.sqlalchemy import models

target_metadata = models.Base.metadata


def _run(connection) -> None:
    context.configure(connection=connection,
                      target_metadata=target_metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_on_sqlite(connection) -> None:
    """SQLite changes a table by copying it and dropping the original;
    with foreign keys enforced, dropping ``nodes`` fails while ports point
    at it, so enforcement is off while the migrations run (the copies keep
    every row and key).

    The pragma is a no-op inside a transaction, and SQLAlchemy (through
    oslo.db) opens one before any statement: it goes straight to the
    driver, between transactions.
    """
    def foreign_keys(state):
        connection.connection.driver_connection.execute(
            'PRAGMA foreign_keys=%s' % state)

    foreign_keys('OFF')
    try:
        _run(connection)
    finally:
        if connection.in_transaction():
            connection.rollback()
        foreign_keys('ON')


def run_migrations_online() -> None:
    engine = context.config.attributes['engine']
    with engine.connect() as connection:
        if connection.dialect.name == 'sqlite':
            _run_on_sqlite(connection)
        else:
            _run(connection)


run_migrations_online()
