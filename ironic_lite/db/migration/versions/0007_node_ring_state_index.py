"""Count a conductor's nodes per provision state from the ring index.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from alembic import op

revision = '0007'
down_revision = '0006'


def upgrade() -> None:
    # GET /v1/conductors/{hostname} counts the conductor's nodes per
    # provision state over its arcs of the rings. With the state in the
    # index the count reads index entries only, not one table row per
    # node. The arcs read of a ?conductor= page ranges over the same first
    # three columns as before and wants the ids: PostgreSQL's indexes do
    # not hold the primary key (SQLite's and InnoDB's do), so it is named,
    # and the read stays in the index there too. The name stays, so that
    # the hints naming it stay right.
    with op.batch_alter_table('nodes') as batch:
        batch.drop_index('nodes_ring_idx')
        batch.create_index('nodes_ring_idx',
                           ['conductor_group', 'driver', 'ring_position',
                            'provision_state', 'id'])
