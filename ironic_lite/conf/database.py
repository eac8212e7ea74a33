"""Options of the [database] group (oslo.db), defaulting to SQLite."""

from oslo_config import cfg
from oslo_db import options as db_options

ALL_IN_ONE_CONNECTION = 'sqlite:///$state_path/ironic-lite.sqlite'


def register_opts(conf: cfg.ConfigOpts) -> None:
    db_options.set_defaults(conf, connection=ALL_IN_ONE_CONNECTION)


def list_opts():
    return db_options.list_opts()[0][1]
