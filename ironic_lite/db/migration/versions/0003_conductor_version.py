"""Record the release each conductor runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    # Nullable: conductors registered before this migration never said.
    with op.batch_alter_table('conductors') as batch:
        batch.add_column(sa.Column('version', sa.String(64), nullable=True))
