"""The project that owns each node and the one it is leased to.

The API shows neither field before 1.50 (owner) and 1.65 (lessee), but the
policy checks a project-scoped caller against them and node and port lists
filter on them, as Ironic does.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'


def upgrade() -> None:
    # Nullable: a node nobody owns or leases is a node only the system
    # personas see.
    with op.batch_alter_table('nodes') as batch:
        batch.add_column(sa.Column('owner', sa.String(255), nullable=True))
        batch.add_column(sa.Column('lessee', sa.String(255), nullable=True))
        batch.create_index('nodes_owner_idx', ['owner'])
        batch.create_index('nodes_lessee_idx', ['lessee'])
