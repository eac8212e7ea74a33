"""Options of the [pxe] and [deploy] groups, named as Ironic names them.

Ironic's defaults are /tftpboot and /httpboot; ironic-lite's are under
$state_path so that the all-in-one runs without root. A production
conductor points them at the directories its TFTP and HTTP servers serve.
"""

from oslo_config import cfg

pxe_opts = [
    cfg.StrOpt('tftp_root',
               default='$state_path/tftpboot',
               help='Directory the TFTP server serves. The pxe boot '
                    'interface writes <tftp_root>/<node uuid>/config, the '
                    'node\'s kernels and ramdisks beside it, and one link '
                    '<tftp_root>/pxelinux.cfg/01-<mac> per PXE-enabled '
                    'port. Ironic\'s default is /tftpboot; set it so on a '
                    'real deployment.'),
    cfg.StrOpt('pxe_append_params',
               default='nofb nomodeset vga=normal',
               help='Kernel command line arguments added to every PXE and '
                    'iPXE boot entry.'),
    cfg.StrOpt('pxe_config_subdir',
               default='pxelinux.cfg',
               help='Directory under tftp_root (iPXE: http_root) holding '
                    'the per-MAC links to the node configurations.'),
    cfg.StrOpt('pxe_bootfile_name',
               default='pxelinux.0',
               help='Boot loader the DHCP server hands to PXE clients. '
                    'ironic-lite does not manage DHCP: configure your DHCP '
                    'server with it.'),
    cfg.IntOpt('image_download_timeout',
               default=60,
               min=1,
               help='Seconds to wait for an HTTP(S) server while '
                    'downloading a kernel or ramdisk into tftp_root or '
                    'http_root.'),
]

deploy_opts = [
    cfg.StrOpt('http_url',
               help='URL of the HTTP server serving http_root, as the '
                    'booting nodes reach it, e.g. http://192.0.2.1:8080. '
                    'Required by the ipxe boot interface.'),
    cfg.StrOpt('http_root',
               default='$state_path/httpboot',
               help='Directory the HTTP server serves. The ipxe boot '
                    'interface writes <http_root>/boot.ipxe, '
                    '<http_root>/<node uuid>/config with the node\'s '
                    'kernels and ramdisks, and one link '
                    '<http_root>/pxelinux.cfg/<mac> per PXE-enabled port. '
                    'Ironic\'s default is /httpboot.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(pxe_opts, group='pxe')
    conf.register_opts(deploy_opts, group='deploy')


def list_opts():
    return pxe_opts


def list_deploy_opts():
    return deploy_opts
