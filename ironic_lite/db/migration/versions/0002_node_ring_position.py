"""Store each node's position on the hash ring, for ?conductor= in SQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import hashlib

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0002'
down_revision = '0001'

# A migration must give the same result whenever it runs, so it carries its
# own copies of the column type and of the hash, as they were when it was
# written, instead of importing the live ones (which may change later). A
# unit test checks the hash still agrees with common/ring_position.py.
RingPosition = (sa.String(32)
                .with_variant(mysql.VARCHAR(32, charset='ascii',
                                            collation='ascii_bin'),
                              'mysql', 'mariadb')
                .with_variant(sa.String(32, collation='C'), 'postgresql'))


def ring_position(node_uuid: str) -> str:
    """The md5 of the node's UUID, 32 lowercase hex digits."""
    return hashlib.md5(node_uuid.encode('utf-8'),
                       usedforsecurity=False).hexdigest()


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
            .values(ring_position=ring_position(uuid)))

    with op.batch_alter_table('nodes') as batch:
        batch.alter_column('ring_position', existing_type=RingPosition,
                           nullable=False)
        batch.create_index('nodes_ring_idx',
                           ['conductor_group', 'driver', 'ring_position'])
