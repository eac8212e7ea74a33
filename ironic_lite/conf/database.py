"""Options of the [database] group (oslo.db), defaulting to SQLite."""

from oslo_config import cfg
from oslo_db import options as db_options

ALL_IN_ONE_CONNECTION = 'sqlite:///$state_path/ironic-lite.sqlite'

opts = [
    cfg.StrOpt('sqlite_durability',
               default='normal',
               choices=[
                   ('normal', 'the write-ahead log is synced to disk at '
                    'each checkpoint, not at each commit'),
                   ('full', 'every commit waits for the disk')],
               help='How a SQLite database (kept in write-ahead-log mode) '
                    'syncs its commits to disk. With "normal" the database '
                    'stays consistent after any crash and a crashed or '
                    'killed process loses nothing, but a power loss or an '
                    'operating system crash may undo the transactions of '
                    'its last moments. With "full" no committed transaction '
                    'is ever lost, and each waits for the disk (an fsync, a '
                    'few milliseconds on ordinary disks; a PATCH of a node '
                    'writes three times). Ignored by other databases. '
                    'oslo.db\'s sqlite_synchronous = false still turns '
                    'syncing off entirely.'),
    cfg.BoolOpt('prepared_statements',
                default=True,
                help='Whether the small reads of one statement (a node, '
                     'the conductor list, a conductor) are server-side '
                     'prepared statements on PostgreSQL: prepared once on '
                     'each database connection, then only executed, which '
                     'spares the server parsing and planning them for '
                     'every request. Turn off behind a connection pooler '
                     'that shares one server session between clients '
                     '(PgBouncer in transaction pooling mode); when a read '
                     'finds its session shared, they are turned off for '
                     'the process with a warning. (PgBouncer\'s statement '
                     'mode refuses the transactions ironic-lite opens: it '
                     'cannot run behind it at all.) Ignored by other '
                     'databases.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    db_options.set_defaults(conf, connection=ALL_IN_ONE_CONNECTION)
    conf.register_opts(opts, group='database')


def list_opts():
    return db_options.list_opts()[0][1] + opts
