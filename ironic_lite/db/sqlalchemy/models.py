"""SQLAlchemy models. The schema itself is created by the alembic migrations
in ironic_lite/db/migration; a test checks that both agree."""

import json

import sqlalchemy as sa
from oslo_utils import timeutils
from sqlalchemy import orm
from sqlalchemy.dialects import mysql

from ironic_lite.common import ring_position


class JSONEncoded(sa.types.TypeDecorator):
    """A JSON document stored as text, the same on every database.

    Native JSON columns differ: MySQL reorders keys, SQLite and PostgreSQL do
    not. Text keeps what the user stored, byte for byte.
    """

    impl = sa.Text
    cache_ok = True

    def __init__(self, empty=dict):
        super().__init__()
        self._empty = empty

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value)

    def process_result_value(self, value, dialect):
        return self._empty() if value is None else json.loads(value)


# Microseconds on MySQL/MariaDB too: liveness is decided on these timestamps.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql',
                                       'mariadb')

# The hex md5 a node occupies on the hash ring. Compared with < and >, so its
# collation must order like bytes.
RingPosition = (sa.String(32)
                .with_variant(mysql.VARCHAR(32, charset='ascii',
                                            collation='ascii_bin'),
                              'mysql', 'mariadb')
                .with_variant(sa.String(32, collation='C'), 'postgresql'))


class Base(orm.DeclarativeBase):
    pass


# What the migrations give every table, so that create_schema does the same
# whatever the database's defaults are.
TABLE_OPTIONS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


class TimestampMixin:
    created_at = sa.Column(Timestamp, default=timeutils.utcnow,
                           nullable=False)
    updated_at = sa.Column(Timestamp, onupdate=timeutils.utcnow)


class Conductor(TimestampMixin, Base):
    __tablename__ = 'conductors'
    __table_args__ = (
        sa.UniqueConstraint('hostname', name='uniq_conductors0hostname'),
        TABLE_OPTIONS,
    )

    id = sa.Column(sa.Integer, primary_key=True)
    hostname = sa.Column(sa.String(255), nullable=False)
    drivers = sa.Column(JSONEncoded(empty=list))
    online = sa.Column(sa.Boolean, nullable=False, default=True)
    conductor_group = sa.Column(sa.String(255), nullable=False, default='',
                                server_default='')
    # The ironic-lite release the conductor runs, as it registered.
    version = sa.Column(sa.String(64))
    # Set when a missed heartbeat of this conductor has been recorded in
    # conductor_events; the conditional write on it makes that happen once.
    heartbeat_missed = sa.Column(sa.Boolean, nullable=False, default=False,
                                 server_default=sa.false())
    # The last probe of the conductor's own PXE environment.
    pxe_health = sa.Column(JSONEncoded(empty=lambda: None))


class ConductorHardwareInterface(TimestampMixin, Base):
    __tablename__ = 'conductor_hardware_interfaces'
    __table_args__ = (
        sa.UniqueConstraint('conductor_id', 'hardware_type', 'interface_type',
                            'interface_name',
                            name='uniq_conductorhardwareinterfaces0'),
        TABLE_OPTIONS,
    )

    id = sa.Column(sa.Integer, primary_key=True)
    conductor_id = sa.Column(sa.Integer,
                             sa.ForeignKey('conductors.id',
                                           ondelete='CASCADE'),
                             nullable=False)
    hardware_type = sa.Column(sa.String(255), nullable=False)
    interface_type = sa.Column(sa.String(16), nullable=False)
    interface_name = sa.Column(sa.String(255), nullable=False)
    default = sa.Column(sa.Boolean, nullable=False, default=False,
                        server_default=sa.false())


# The columns a node list page shows by default (api/controllers/v1/node.py
# DEFAULT_FIELDS; the page reads the id too), held by SQLite's ring-page
# index after its key.
RING_PAGE_SHOWN = ('name', 'instance_uuid', 'power_state',
                   'provision_state', 'maintenance', 'uuid')


class Node(TimestampMixin, Base):
    __tablename__ = 'nodes'
    __table_args__ = (
        sa.UniqueConstraint('uuid', name='uniq_nodes0uuid'),
        sa.UniqueConstraint('instance_uuid', name='uniq_nodes0instance_uuid'),
        sa.UniqueConstraint('name', name='uniq_nodes0name'),
        sa.Index('nodes_ring_idx', 'conductor_group', 'driver',
                 'ring_position', 'provision_state', 'id'),
        # SQLite: with the columns a list page shows after the key, so
        # that a conductor's list page is read from the index alone
        # (migration 0008). Not elsewhere: InnoDB keys end at 3 072 bytes,
        # and PostgreSQL's planner, on a table without statistics yet,
        # then sorts each ring rather than walk the wider index.
        sa.Index('nodes_ring_page_idx', 'conductor_group', 'driver', 'id',
                 'ring_position').ddl_if(
                     dialect=('postgresql', 'mysql', 'mariadb')),
        sa.Index('nodes_ring_page_idx', 'conductor_group', 'driver', 'id',
                 'ring_position', *RING_PAGE_SHOWN).ddl_if(dialect='sqlite'),
        # A conductor's nodes in id order, by the conductor recorded as
        # serving them (served_by, below): a ?conductor= page reads one
        # range. On SQLite with what the page shows, and the ring columns
        # for the nodes not recorded yet (NULL), so that the page reads the
        # index alone; elsewhere the key only, as nodes_ring_page_idx.
        sa.Index('nodes_served_by_idx', 'served_by', 'id').ddl_if(
            dialect=('postgresql', 'mysql', 'mariadb')),
        sa.Index('nodes_served_by_idx', 'served_by', 'id',
                 *RING_PAGE_SHOWN, 'conductor_group', 'driver',
                 'ring_position').ddl_if(dialect='sqlite'),
        sa.Index('nodes_provision_state_idx', 'provision_state'),
        sa.Index('nodes_reservation_idx', 'reservation'),
        sa.Index('nodes_owner_idx', 'owner'),
        sa.Index('nodes_lessee_idx', 'lessee'),
        TABLE_OPTIONS,
    )

    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    name = sa.Column(sa.String(255))
    instance_uuid = sa.Column(sa.String(36))
    driver = sa.Column(sa.String(255), nullable=False)
    ring_position = sa.Column(
        RingPosition, nullable=False,
        default=lambda ctx: ring_position.ring_position(
            ctx.get_current_parameters()['uuid']))
    conductor_group = sa.Column(sa.String(255), nullable=False, default='',
                                server_default='')
    reservation = sa.Column(sa.String(255))
    # The conductor serving the node on the rings of
    # ServedByRecord.fingerprint ('' for none of them), as the conductors
    # record it; NULL until recorded, and again once the node's driver or
    # conductor group changes. Never shown: the API names a node's
    # conductor from its own rings; it reads a conductor's nodes by this
    # column only while its rings are the recorded ones.
    served_by = sa.Column(sa.String(255))
    conductor_affinity = sa.Column(
        sa.Integer,
        sa.ForeignKey('conductors.id', name='nodes_conductor_affinity_fk',
                      ondelete='SET NULL'))

    power_state = sa.Column(sa.String(15))
    target_power_state = sa.Column(sa.String(15))
    provision_state = sa.Column(sa.String(15))
    target_provision_state = sa.Column(sa.String(15))
    provision_updated_at = sa.Column(Timestamp)
    last_error = sa.Column(sa.Text)
    maintenance = sa.Column(sa.Boolean, nullable=False, default=False,
                            server_default=sa.false())
    maintenance_reason = sa.Column(sa.Text)
    fault = sa.Column(sa.String(255))
    console_enabled = sa.Column(sa.Boolean, nullable=False, default=False,
                                server_default=sa.false())
    inspection_started_at = sa.Column(Timestamp)
    inspection_finished_at = sa.Column(Timestamp)
    automated_clean = sa.Column(sa.Boolean)
    protected = sa.Column(sa.Boolean, nullable=False, default=False,
                          server_default=sa.false())
    protected_reason = sa.Column(sa.Text)
    resource_class = sa.Column(sa.String(80))
    # Keystone project ids: who owns the node and who leases it. Not API
    # fields before 1.50/1.65; the policy and the lists of project-scoped
    # callers go by them.
    owner = sa.Column(sa.String(255))
    lessee = sa.Column(sa.String(255))

    driver_info = sa.Column(JSONEncoded())
    driver_internal_info = sa.Column(JSONEncoded())
    instance_info = sa.Column(JSONEncoded())
    properties = sa.Column(JSONEncoded())
    extra = sa.Column(JSONEncoded())
    clean_step = sa.Column(JSONEncoded())
    deploy_step = sa.Column(JSONEncoded())
    raid_config = sa.Column(JSONEncoded())
    target_raid_config = sa.Column(JSONEncoded())
    traits = sa.Column(JSONEncoded(empty=list))

    bios_interface = sa.Column(sa.String(255))
    boot_interface = sa.Column(sa.String(255))
    console_interface = sa.Column(sa.String(255))
    deploy_interface = sa.Column(sa.String(255))
    inspect_interface = sa.Column(sa.String(255))
    management_interface = sa.Column(sa.String(255))
    network_interface = sa.Column(sa.String(255))
    power_interface = sa.Column(sa.String(255))
    raid_interface = sa.Column(sa.String(255))
    rescue_interface = sa.Column(sa.String(255))
    storage_interface = sa.Column(sa.String(255))
    vendor_interface = sa.Column(sa.String(255))


class ServedByRecord(Base):
    """The one row saying on which rings ``nodes.served_by`` was worked
    out: ``hash_ring.Rings.fingerprint`` of them, NULL before the first
    record. Written in the same transaction as the nodes' column."""

    __tablename__ = 'served_by_record'
    __table_args__ = (TABLE_OPTIONS,)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    # Or 'recording:' and the fingerprint while a conductor records them.
    fingerprint = sa.Column(sa.String(80))
    updated_at = sa.Column(Timestamp)


class Port(TimestampMixin, Base):
    __tablename__ = 'ports'
    __table_args__ = (
        sa.UniqueConstraint('uuid', name='uniq_ports0uuid'),
        sa.UniqueConstraint('address', name='uniq_ports0address'),
        TABLE_OPTIONS,
    )

    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    address = sa.Column(sa.String(18), nullable=False)
    node_id = sa.Column(sa.Integer,
                        sa.ForeignKey('nodes.id', name='ports_node_id_fk'),
                        nullable=False, index=True)
    extra = sa.Column(JSONEncoded())
    internal_info = sa.Column(JSONEncoded())
    local_link_connection = sa.Column(JSONEncoded())
    pxe_enabled = sa.Column(sa.Boolean, nullable=False, default=True,
                            server_default=sa.true())
    physical_network = sa.Column(sa.String(64))


class ConductorEvent(Base):
    """One change of a conductor's membership (see conductor_events in
    migration 0005)."""

    __tablename__ = 'conductor_events'
    __table_args__ = (
        sa.Index('conductor_events_hostname_idx', 'hostname', 'id'),
        sa.Index('conductor_events_created_at_idx', 'created_at'),
        TABLE_OPTIONS,
    )

    id = sa.Column(sa.Integer, primary_key=True)
    created_at = sa.Column(Timestamp, default=timeutils.utcnow,
                           nullable=False)
    hostname = sa.Column(sa.String(255), nullable=False)
    conductor_group = sa.Column(sa.String(255), nullable=False, default='',
                                server_default='')
    kind = sa.Column(sa.String(32), nullable=False)
    # The conductor that wrote the event: itself, or for a missed
    # heartbeat the survivor that noticed.
    recorded_by = sa.Column(sa.String(255), nullable=False)
    last_heartbeat = sa.Column(Timestamp)


class ConductorEventTotal(Base):
    """How many events of a kind were ever recorded, pruned ones too."""

    __tablename__ = 'conductor_event_totals'
    __table_args__ = (TABLE_OPTIONS,)

    kind = sa.Column(sa.String(32), primary_key=True)
    total = sa.Column(sa.BigInteger, nullable=False, default=0,
                      server_default='0')
