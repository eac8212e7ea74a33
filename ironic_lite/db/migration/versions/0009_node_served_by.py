"""Record the conductor serving each node, for ?conductor= pages.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0009'
down_revision = '0008'

# As Timestamp and the list page's columns of 0008 (a migration
# never imports the project).
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql',
                                       'mariadb')
_SHOWN = ['name', 'instance_uuid', 'power_state', 'provision_state',
          'maintenance', 'uuid']


def upgrade() -> None:
    # A conductor's list page (GET /v1/nodes?conductor=) in id order
    # checked the ring position of each node it walked past: about
    # limit / share of them. With the serving conductor recorded in the
    # node (by the conductors, for one set of rings at a time) the page is
    # one range of an index, as a plain page is. NULL until recorded.
    # Only SQLite's index holds the page's columns and the ring's (InnoDB
    # keys end at 3 072 bytes; PostgreSQL reads the rows as for a plain
    # page).
    with op.batch_alter_table('nodes') as batch:
        batch.add_column(sa.Column('served_by', sa.String(255)))
    columns = ['served_by', 'id']
    if op.get_bind().dialect.name == 'sqlite':
        columns += [*_SHOWN, 'conductor_group', 'driver',
                    'ring_position']
    op.create_index('nodes_served_by_idx', 'nodes', columns)
    record = op.create_table(
        'served_by_record',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=False),
        sa.Column('fingerprint', sa.String(80)),
        sa.Column('updated_at', Timestamp),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.bulk_insert(record, [{'id': 1, 'fingerprint': None,
                             'updated_at': None}])
