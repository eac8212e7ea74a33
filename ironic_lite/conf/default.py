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
                                   'an administrator. The API then only '
                                   'listens on a loopback address, unless '
                                   '[api]allow_unauthenticated_remote is '
                                   'set.'),
                        ('http_basic', 'HTTP basic authentication against '
                                       'the bcrypt entries of '
                                       'http_basic_auth_user_file'),
                        ('keystone', 'Keystone tokens, checked by '
                                     'keystonemiddleware auth_token as '
                                     'configured in [keystone_authtoken]')],
               help='How API requests are authenticated. The version '
                    'documents (/ and /v1) are public with every '
                    'strategy.'),
    cfg.StrOpt('http_basic_auth_user_file',
               default='/etc/ironic-lite/htpasswd',
               help='With auth_strategy = http_basic: the Apache-style user '
                    'file, one "user:bcrypt-hash" line per user (as '
                    '"htpasswd -B" writes it). Only bcrypt hashes are '
                    'accepted; the file is read again on each request, so '
                    'changes apply without a restart.'),
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

# By default every implementation the shipped hardware types support is
# enabled; a conductor registers, per hardware type, the supported ones
# that are enabled.
_ENABLED_BY_DEFAULT = {
    'bios': ['fake', 'no-bios'],
    'boot': ['fake', 'pxe', 'ipxe'],
    'console': ['fake', 'no-console'],
    'deploy': ['fake', 'ramdisk'],
    'inspect': ['fake', 'no-inspect'],
    'management': ['fake', 'ipmitool'],
    'network': ['flat', 'noop'],
    'power': ['fake', 'ipmitool'],
    'raid': ['fake', 'no-raid'],
    'rescue': ['fake', 'no-rescue'],
    'storage': ['noop'],
    'vendor': ['fake', 'no-vendor'],
}

interface_opts = []
for _type, _enabled in _ENABLED_BY_DEFAULT.items():
    interface_opts += [
        cfg.ListOpt('enabled_%s_interfaces' % _type,
                    default=_enabled,
                    help='%s interface implementations this conductor '
                         'enables. Each enabled hardware type needs at '
                         'least one of its supported ones enabled, or the '
                         'conductor does not start.' % _type.capitalize()),
        cfg.StrOpt('default_%s_interface' % _type,
                   help='%s interface given to new nodes that name none. '
                        'Unset: the first implementation the node\'s '
                        'hardware type supports that is enabled. It must be '
                        'in enabled_%s_interfaces.' % (_type.capitalize(),
                                                        _type)),
    ]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(service_opts)
    conf.register_opts(hash_ring_opts)
    conf.register_opts(interface_opts)


def list_opts():
    return service_opts + hash_ring_opts + interface_opts
