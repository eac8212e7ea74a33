"""On SQLite, the ring-page index holds the list page's columns.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from alembic import op

revision = '0008'
down_revision = '0007'


def upgrade() -> None:
    # A conductor's list page (GET /v1/nodes?conductor=) walks its rings
    # in id order through this index, and read each node on its arcs from
    # the table: a B-tree seek per node of the page. With the columns a
    # list shows by default after the key, SQLite reads the page from the
    # index alone, in order. The name stays. Only SQLite: InnoDB keys end
    # at 3 072 bytes (three VARCHAR(255) in utf8mb4 are more), and
    # PostgreSQL's planner, on a freshly loaded table (no statistics),
    # sorts each ring rather than walk the wider index.
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table('nodes') as batch:
        batch.drop_index('nodes_ring_page_idx')
        batch.create_index('nodes_ring_page_idx',
                           ['conductor_group', 'driver', 'id',
                            'ring_position', 'name', 'instance_uuid',
                            'power_state', 'provision_state', 'maintenance',
                            'uuid'])
