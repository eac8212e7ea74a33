"""Options of the [ipmi] group, named as Ironic names them, and the
power-wait timeouts of [conductor] that the power interfaces use."""

from oslo_config import cfg

opts = [
    cfg.StrOpt('ipmitool_path',
               default='ipmitool',
               help='The ipmitool binary: a name looked up in PATH or an '
                    'absolute path. Without it every IPMI call fails with '
                    'an error saying ipmitool is not installed.'),
    cfg.IntOpt('command_retry_timeout',
               default=60,
               min=1,
               help='Maximum seconds to retry IPMI operations. It bounds '
                    'ipmitool\'s own retries (-R/-N) and the retries of '
                    'transient BMC errors ("Node busy", "Timeout", ...).'),
    cfg.IntOpt('min_command_interval',
               default=5,
               min=0,
               help='Minimum seconds between two IPMI commands sent to the '
                    'same BMC. It is also ipmitool\'s per-try timeout '
                    '(-N, at least 1 second).'),
    cfg.BoolOpt('kill_on_timeout',
                default=True,
                help='Kill an ipmitool process (SIGKILL) that has not '
                     'exited once command_retry_timeout plus '
                     'min_command_interval have passed. When False it is '
                     'first asked to stop (SIGTERM) and killed 5 seconds '
                     'later: a conductor worker never waits on a hung '
                     'ipmitool.'),
    cfg.BoolOpt('disable_boot_timeout',
                default=True,
                help='Before setting the boot device, tell the BMC not to '
                     'drop the boot flags after 60 seconds (IPMI raw '
                     '0x00 0x08 0x03 0x08). A node\'s '
                     'driver_info["ipmi_disable_boot_timeout"] overrides '
                     'it.'),
]

def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group='ipmi')


def list_opts():
    return opts
