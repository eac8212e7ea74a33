"""The initial schema: conductors, their hardware interfaces, nodes, ports.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0001'
down_revision = None

# A migration must build the same schema whenever it runs, so it carries its
# own copies of the column types as they were when it was written, instead
# of importing the live models (which may change later). Only what reaches
# the database matters here: a JSON document is stored as text (the models
# encode and decode it), and timestamps keep microseconds on MySQL/MariaDB.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql',
                                       'mariadb')
JSONDocument = sa.Text

_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _timestamps():
    return [sa.Column('created_at', Timestamp, nullable=False),
            sa.Column('updated_at', Timestamp)]


def upgrade() -> None:
    op.create_table(
        'conductors',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('hostname', sa.String(255), nullable=False),
        sa.Column('drivers', JSONDocument),
        sa.Column('online', sa.Boolean, nullable=False),
        sa.Column('conductor_group', sa.String(255), nullable=False,
                  server_default=''),
        *_timestamps(),
        sa.UniqueConstraint('hostname', name='uniq_conductors0hostname'),
        **_TABLE_ARGS)

    op.create_table(
        'conductor_hardware_interfaces',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('conductor_id', sa.Integer,
                  sa.ForeignKey('conductors.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('hardware_type', sa.String(255), nullable=False),
        sa.Column('interface_type', sa.String(16), nullable=False),
        sa.Column('interface_name', sa.String(255), nullable=False),
        sa.Column('default', sa.Boolean, nullable=False,
                  server_default=sa.false()),
        *_timestamps(),
        sa.UniqueConstraint('conductor_id', 'hardware_type',
                            'interface_type', 'interface_name',
                            name='uniq_conductorhardwareinterfaces0'),
        **_TABLE_ARGS)

    interfaces = [sa.Column('%s_interface' % name, sa.String(255))
                  for name in ('bios', 'boot', 'console', 'deploy',
                               'inspect', 'management', 'network', 'power',
                               'raid', 'rescue', 'storage', 'vendor')]
    documents = [sa.Column(name, JSONDocument)
                 for name in ('driver_info', 'driver_internal_info',
                              'instance_info', 'properties', 'extra',
                              'clean_step', 'deploy_step', 'raid_config',
                              'target_raid_config')]
    op.create_table(
        'nodes',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('name', sa.String(255)),
        sa.Column('instance_uuid', sa.String(36)),
        sa.Column('driver', sa.String(255), nullable=False),
        sa.Column('conductor_group', sa.String(255), nullable=False,
                  server_default=''),
        sa.Column('reservation', sa.String(255)),
        sa.Column('conductor_affinity', sa.Integer,
                  sa.ForeignKey('conductors.id',
                                name='nodes_conductor_affinity_fk',
                                ondelete='SET NULL')),
        sa.Column('power_state', sa.String(15)),
        sa.Column('target_power_state', sa.String(15)),
        sa.Column('provision_state', sa.String(15)),
        sa.Column('target_provision_state', sa.String(15)),
        sa.Column('provision_updated_at', Timestamp),
        sa.Column('last_error', sa.Text),
        sa.Column('maintenance', sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column('maintenance_reason', sa.Text),
        sa.Column('fault', sa.String(255)),
        sa.Column('console_enabled', sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column('inspection_started_at', Timestamp),
        sa.Column('inspection_finished_at', Timestamp),
        sa.Column('automated_clean', sa.Boolean),
        sa.Column('protected', sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column('protected_reason', sa.Text),
        sa.Column('resource_class', sa.String(80)),
        *documents,
        sa.Column('traits', JSONDocument),
        *interfaces,
        *_timestamps(),
        sa.UniqueConstraint('uuid', name='uniq_nodes0uuid'),
        sa.UniqueConstraint('instance_uuid', name='uniq_nodes0instance_uuid'),
        sa.UniqueConstraint('name', name='uniq_nodes0name'),
        sa.Index('nodes_provision_state_idx', 'provision_state'),
        sa.Index('nodes_reservation_idx', 'reservation'),
        **_TABLE_ARGS)

    op.create_table(
        'ports',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('address', sa.String(18), nullable=False),
        sa.Column('node_id', sa.Integer,
                  sa.ForeignKey('nodes.id', name='ports_node_id_fk'),
                  nullable=False),
        sa.Column('extra', JSONDocument),
        sa.Column('internal_info', JSONDocument),
        sa.Column('local_link_connection', JSONDocument),
        sa.Column('pxe_enabled', sa.Boolean, nullable=False,
                  server_default=sa.true()),
        sa.Column('physical_network', sa.String(64)),
        *_timestamps(),
        sa.UniqueConstraint('uuid', name='uniq_ports0uuid'),
        sa.UniqueConstraint('address', name='uniq_ports0address'),
        sa.Index('ix_ports_node_id', 'node_id'),
        **_TABLE_ARGS)
