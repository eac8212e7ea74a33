"""Options of the [DEFAULT] group, named as Ironic names them."""

import os
import socket

from oslo_config import cfg

_ALL_IN_ONE_STATE = os.path.join(os.path.expanduser('~'), '.local', 'state',
                                 'ironic-lite')

service_opts = [
    cfg.StrOpt('host',
               default=socket.gethostname(),
               sample_default='localhost',
               help='Name of this conductor. It must be unique among the '
                    'conductors sharing a database; it is the RPC server '
                    'name and the hostname the API shows.'),
    cfg.StrOpt('state_path',
               default=_ALL_IN_ONE_STATE,
               sample_default='~/.local/state/ironic-lite',
               help='Directory where ironic-lite keeps its state: the '
                    'SQLite database of the all-in-one setup and the PXE '
                    'files.'),
    cfg.ListOpt('enabled_hardware_types',
                default=['ipmi', 'fake-hardware'],
                help='Hardware types this conductor enables. Nodes may only '
                     'use a hardware type that some alive conductor of '
                     'their conductor group enables.'),
    cfg.StrOpt('auth_strategy',
               default='noauth',
               choices=[('noauth', 'no authentication: every request is '
                                   'an administrator')],
               help='How API requests are authenticated. Keystone '
                    'authentication is not available yet; run the API '
                    'where only trusted clients reach it.'),
]

hash_ring_opts = [
    cfg.IntOpt('hash_partition_exponent',
               default=5,
               min=0, max=16,
               help='Each conductor takes 2^hash_partition_exponent points '
                    'on the consistent hash ring. Every API and conductor '
                    'process of a deployment must use the same value.'),
    cfg.IntOpt('hash_ring_reset_interval',
               default=15,
               min=1,
               help='Seconds a process trusts its cached view of the alive '
                    'conductors before reading it again from the database. '
                    'A conductor that joins or leaves gracefully is also '
                    'announced to the API at once.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(service_opts)
    conf.register_opts(hash_ring_opts)


def list_opts():
    return service_opts + hash_ring_opts
