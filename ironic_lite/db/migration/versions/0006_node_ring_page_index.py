"""Index a conductor's nodes in id order, for ?conductor= pages.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from alembic import op

revision = '0006'
down_revision = '0005'


def upgrade() -> None:
    # (conductor_group, driver) picks a ring, id is the order of a page and
    # ring_position, read from the index, tells whether the node is on the
    # conductor's arcs: a page of a conductor's nodes reads about one index
    # entry per node of the page and per conductor of the ring, whatever
    # the size of the fleet.
    with op.batch_alter_table('nodes') as batch:
        batch.create_index('nodes_ring_page_idx',
                           ['conductor_group', 'driver', 'id',
                            'ring_position'])
