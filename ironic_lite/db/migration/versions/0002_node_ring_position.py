"""Store each node's position on the hash ring, for ?conductor= in SQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from ironic_lite.common import hash_ring
from ironic_lite.db.sqlalchemy.models import RingPosition

revision = '0002'
down_revision = '0001'


def upgrade() -> None:
    with op.batch_alter_table('nodes') as batch:
        batch.add_column(sa.Column('ring_position', RingPosition))

    nodes = sa.table('nodes', sa.column('id', sa.Integer),
                     sa.column('uuid', sa.String),
                     sa.column('ring_position', sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(nodes.c.id, nodes.c.uuid)).all()
    for node_id, uuid in rows:
        connection.execute(
            nodes.update().where(nodes.c.id == node_id)
            .values(ring_position=hash_ring.ring_position(uuid)))

    with op.batch_alter_table('nodes') as batch:
        batch.alter_column('ring_position', existing_type=RingPosition,
                           nullable=False)
        batch.create_index('nodes_ring_idx',
                           ['conductor_group', 'driver', 'ring_position'])
