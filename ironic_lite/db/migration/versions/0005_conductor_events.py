"""Conductor membership history and PXE health.

``conductor_events``: every join, graceful leave, missed heartbeat and
rejoin, kept for a bounded time. ``conductor_event_totals``: how many of
each kind were ever recorded, which pruning the history never lowers (the
membership-changes metric is a counter).
``conductors.heartbeat_missed``: set by the one conductor that recorded a
missed heartbeat, so that no other records it again.
``conductors.pxe_health``: the last probe of the conductor's PXE
environment, a JSON document.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0005'
down_revision = '0004'

# Copies of the column types as they were when this was written (a
# migration never imports the project).
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql',
                                       'mariadb')
_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def upgrade() -> None:
    with op.batch_alter_table('conductors') as batch:
        batch.add_column(sa.Column('heartbeat_missed', sa.Boolean,
                                   nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('pxe_health', sa.Text, nullable=True))

    op.create_table(
        'conductor_events',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('created_at', Timestamp, nullable=False),
        sa.Column('hostname', sa.String(255), nullable=False),
        sa.Column('conductor_group', sa.String(255), nullable=False,
                  server_default=''),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('recorded_by', sa.String(255), nullable=False),
        sa.Column('last_heartbeat', Timestamp, nullable=True),
        sa.Index('conductor_events_hostname_idx', 'hostname', 'id'),
        sa.Index('conductor_events_created_at_idx', 'created_at'),
        **_TABLE_ARGS)

    op.create_table(
        'conductor_event_totals',
        sa.Column('kind', sa.String(32), primary_key=True),
        sa.Column('total', sa.BigInteger, nullable=False,
                  server_default='0'),
        **_TABLE_ARGS)
