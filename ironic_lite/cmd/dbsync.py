"""ironic-lite-dbsync: create or upgrade the database schema."""

import sys

from oslo_config import cfg

from ironic_lite.common import startup
from ironic_lite.conf import CONF


def _upgrade():
    from ironic_lite.db import migration
    migration.upgrade(CONF.command.revision)
    print('Database is at revision %s' % migration.version())


def _version():
    from ironic_lite.db import migration
    print(migration.version() or 'none (empty database)')


def _create_schema():
    from ironic_lite.db import migration
    migration.create_schema()
    print('Schema created at revision %s' % migration.version())


def _add_commands(subparsers):
    upgrade = subparsers.add_parser(
        'upgrade', help='Apply the migrations up to a revision.')
    upgrade.add_argument('--revision', default='head',
                         help='Target revision (default: head).')
    upgrade.set_defaults(func=_upgrade)
    version = subparsers.add_parser(
        'version', help='Print the revision the database is at.')
    version.set_defaults(func=_version)
    create = subparsers.add_parser(
        'create_schema',
        help='Create the schema of an empty database in one step.')
    create.set_defaults(func=_create_schema)


def main(argv: list[str] | None = None) -> int:
    CONF.register_cli_opt(cfg.SubCommandOpt(
        'command', title='Commands', handler=_add_commands))
    startup.prepare(sys.argv[1:] if argv is None else argv,
                   'ironic-lite-dbsync')
    try:
        CONF.command.func()
    except RuntimeError as e:
        sys.exit(str(e))
    return 0


if __name__ == '__main__':
    sys.exit(main())
