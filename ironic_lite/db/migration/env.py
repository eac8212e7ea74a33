"""Alembic environment: runs migrations on the engine the caller gives."""

from alembic import context

from ironic_lite.db.sqlalchemy import models

target_metadata = models.Base.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes['engine']
    with engine.connect() as connection:
        context.configure(connection=connection,
                          target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
