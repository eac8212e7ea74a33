"""Schema migrations (alembic). The only way the schema is created."""

import os

import alembic.command
import alembic.config
import alembic.migration
import sqlalchemy as sa

from ironic_lite.db import api as db_api

_HERE = os.path.dirname(os.path.abspath(__file__))


def _config(engine: sa.engine.Engine) -> alembic.config.Config:
    config = alembic.config.Config()
    config.set_main_option('script_location', _HERE)
    config.attributes['engine'] = engine
    return config


def _engine(engine=None) -> sa.engine.Engine:
    return engine if engine is not None else db_api.get_instance().engine


def upgrade(revision: str = 'head', engine=None) -> None:
    """Bring the schema up to ``revision``."""
    alembic.command.upgrade(_config(_engine(engine)), revision)


def version(engine=None) -> str | None:
    """The revision the database is at; None when it has no schema."""
    with _engine(engine).connect() as connection:
        context = alembic.migration.MigrationContext.configure(connection)
        return context.get_current_revision()


def head() -> str:
    """The newest revision this code knows."""
    from alembic import script
    scripts = script.ScriptDirectory.from_config(_config(None))
    return scripts.get_current_head()


def create_schema(engine=None) -> None:
    """Create the schema of an empty database straight from the models, and
    record it as the newest revision."""
    from ironic_lite.db.sqlalchemy import models
    engine = _engine(engine)
    # Tables without a recorded revision are an older schema too: stamping
    # them as the newest would skip the migrations they still need.
    existing = set(sa.inspect(engine).get_table_names())
    if version(engine) is not None or existing & set(
            models.Base.metadata.tables):
        raise RuntimeError('The database already has a schema; use '
                           '"ironic-lite-dbsync upgrade".')
    models.Base.metadata.create_all(engine)
    with engine.begin() as connection:
        # As migration 0009: nodes.served_by not recorded yet.
        connection.execute(models.ServedByRecord.__table__.insert(),
                           {'id': 1})
    alembic.command.stamp(_config(engine), 'head')
