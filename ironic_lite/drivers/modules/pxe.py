"""PXELINUX and iPXE boot: the files a node boots from.

For a node, under the root (``[pxe]tftp_root`` for ``pxe``,
``[deploy]http_root`` for ``ipxe``)::

    <root>/<node uuid>/config              the rendered boot configuration
    <root>/<node uuid>/deploy_kernel       from driver_info
    <root>/<node uuid>/deploy_ramdisk
    <root>/<node uuid>/kernel              from instance_info
    <root>/<node uuid>/ramdisk
    <root>/pxelinux.cfg/01-aa-bb-cc-dd-ee-ff   (iPXE: aa-bb-cc-dd-ee-ff)
                                           -> ../<node uuid>/config, one per
                                              PXE-enabled port
    <http_root>/boot.ipxe                  iPXE only: chains to the above

Every path is made by :func:`safe_path`, which refuses anything that would
land outside the root, whatever the node's data says. Files are written to
a temporary name and renamed, so a booting machine never reads half a file.
"""

import contextlib
import logging
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid as uuidlib

from oslo_utils import strutils
from oslo_utils import uuidutils

from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conf import CONF
from ironic_lite.drivers import base

LOG = logging.getLogger(__name__)

DEPLOY_IMAGES = ('deploy_kernel', 'deploy_ramdisk')
INSTANCE_IMAGES = ('kernel', 'ramdisk')
CONFIG = 'config'
_MAC = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}((:[0-9a-f]{2}){14})?$')
_SCHEMES = ('file', 'http', 'https')

COMMON_PROPERTIES = {
    'deploy_kernel': 'Local path, file:// or http(s):// URL of the '
                     'deployment kernel. Required.',
    'deploy_ramdisk': 'Local path, file:// or http(s):// URL of the '
                      'ramdisk that is mounted at boot time. Required.',
    'force_persistent_boot_device': 'True to set the boot device to PXE '
                                    'persistently when booting the deploy '
                                    'ramdisk. Optional.',
}


def deploy_images(node) -> dict[str, str | None]:
    """The node's deploy kernel and ramdisk: its driver_info's, else the
    ``[conductor]`` defaults, as Ironic does."""
    driver_info = node.driver_info or {}
    return {key: driver_info.get(key) or getattr(CONF.conductor, key)
            for key in DEPLOY_IMAGES}


# --- paths ---------------------------------------------------------------

def safe_path(root: str, *parts: str) -> str:
    """``root/part/...``, or PXEFailure if it would not be inside ``root``.

    Each part is one path component: no separator, no ``.``/``..``, no NUL.
    The parent directory, with every symbolic link resolved, must still be
    inside the resolved root, so a link planted in the root cannot lead
    out; the last component itself is only ever replaced or removed, never
    followed.
    """
    root_real = os.path.realpath(root)
    for part in parts:
        if (not isinstance(part, str) or part in ('', '.', '..')
                or '/' in part or '\x00' in part):
            raise exception.PXEFailure(
                reason='refusing the path component %r under %s'
                       % (part, root))
    path = os.path.join(root_real, *parts)
    parent = os.path.realpath(os.path.dirname(path))
    if os.path.commonpath([root_real, parent]) != root_real:
        raise exception.PXEFailure(
            reason='%s leads outside %s' % (os.path.join(root, *parts),
                                            root))
    return path


def _makedirs(root: str, *parts: str) -> str:
    os.makedirs(root, exist_ok=True)
    path = safe_path(root, *parts)
    if os.path.islink(path):
        raise exception.PXEFailure(
            reason='%s is a symbolic link; refusing to write through it'
                   % path)
    os.makedirs(path, exist_ok=True)
    # Made, it must still resolve inside the root.
    safe_path(root, *parts, 'x')
    return path


def _write_atomic(path: str, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path),
                                     prefix='.tmp-')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # TFTP and HTTP servers run as other users.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _symlink_atomic(target: str, path: str) -> None:
    temporary = os.path.join(os.path.dirname(path),
                             '.tmp-%s' % uuidlib.uuid4().hex)
    os.symlink(target, temporary)
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# --- images --------------------------------------------------------------

def _check_source(source, key: str, where: str) -> None:
    if not isinstance(source, str) or '\x00' in source:
        raise exception.InvalidParameterValue(
            err='%s in %s must be a string.' % (key, where))
    scheme = urllib.parse.urlparse(source).scheme
    if scheme in _SCHEMES or (not scheme and os.path.isabs(source)):
        return
    raise exception.InvalidParameterValue(
        err='%s in %s "%s" is not supported: give an absolute local path, '
            'a file:// URL or an http(s):// URL.' % (key, where, source))


def fetch_image(source: str, destination: str) -> None:
    """Put the image ``source`` at ``destination``: a local file is
    hard-linked (copied if it cannot be), an HTTP(S) URL downloaded.

    :raises PXEFailure:
    """
    parsed = urllib.parse.urlparse(source)
    temporary = os.path.join(os.path.dirname(destination),
                             '.tmp-%s' % uuidlib.uuid4().hex)
    try:
        if parsed.scheme in ('http', 'https'):
            _download(source, temporary)
        else:
            path = (urllib.parse.unquote(parsed.path)
                    if parsed.scheme == 'file' else source)
            real = os.path.realpath(path)
            if not os.path.isfile(real):
                raise exception.PXEFailure(
                    reason='image %s is not a regular file' % source)
            try:
                os.link(real, temporary)
            except OSError:
                shutil.copyfile(real, temporary)
            os.chmod(temporary, 0o644)
        os.replace(temporary, destination)
    except OSError as e:
        raise exception.PXEFailure(
            reason='could not place image %s at %s: %s'
                   % (source, destination, e.strerror or e))
    finally:
        _unlink(temporary)


def _download(url: str, path: str) -> None:
    try:
        with urllib.request.urlopen(
                url, timeout=CONF.pxe.image_download_timeout) as response, \
                open(path, 'wb') as f:
            shutil.copyfileobj(response, f)
    except (urllib.error.URLError, TimeoutError, ValueError) as e:
        reason = getattr(e, 'reason', e)
        raise exception.PXEFailure(
            reason='failed to download %s: %s' % (url, reason))


# --- rendering -----------------------------------------------------------

def _kernel_arguments(node) -> str:
    arguments = (node.instance_info or {}).get('ramdisk_kernel_arguments')
    if not arguments:
        return ''
    arguments = str(arguments)
    if any(c in arguments for c in '\n\r\x00'):
        raise exception.InvalidParameterValue(
            err='instance_info ramdisk_kernel_arguments must be one line.')
    return arguments


def _append(*extra: str) -> str:
    return ' '.join(a for a in (CONF.pxe.pxe_append_params,) + extra if a)


def render_pxelinux(node, default: str) -> str:
    path = '%s/' % node.uuid
    return (
        'default {default}\n'
        '\n'
        'label deploy\n'
        'kernel {path}deploy_kernel\n'
        'append initrd={path}deploy_ramdisk selinux=0 troubleshoot=0 text '
        '{deploy_append} coreos.configdrive=0\n'
        'ipappend 2\n'
        '\n'
        'label boot_ramdisk\n'
        'kernel {path}kernel\n'
        'append initrd={path}ramdisk root=/dev/ram0 text {ramdisk_append}\n'
    ).format(default=default, path=path, deploy_append=_append(),
             ramdisk_append=_append(_kernel_arguments(node)))


def _ipxe_label(label: str, kernel: str, arguments: str,
                initrd: str) -> str:
    """An iPXE label that tries again, 10 times in all, then powers off."""
    return (
        ':{label}\n'
        'imgfree\n'
        'kernel {kernel} {arguments} || goto retry_{label}\n'
        'initrd {initrd} || goto retry_{label}\n'
        'boot\n'
        '\n'
        ':retry_{label}\n'
        'iseq ${{attempts}} 10 && goto fail ||\n'
        'inc attempts\n'
        'sleep 5\n'
        'goto {label}\n'
        '\n'
    ).format(label=label, kernel=kernel, arguments=arguments, initrd=initrd)


def render_ipxe(node, default: str) -> str:
    url = '%s/%s' % (CONF.deploy.http_url.rstrip('/'), node.uuid)
    return (
        '#!ipxe\n'
        '\n'
        'set attempts:int32 0\n'
        'goto %s\n'
        '\n' % default
        + _ipxe_label('deploy', url + '/deploy_kernel',
                      'selinux=0 troubleshoot=0 text %s BOOTIF=${mac} '
                      'initrd=deploy_ramdisk coreos.configdrive=0'
                      % _append(), url + '/deploy_ramdisk')
        + _ipxe_label('boot_ramdisk', url + '/kernel',
                      'root=/dev/ram0 text %s initrd=ramdisk'
                      % _append(_kernel_arguments(node)), url + '/ramdisk')
        + ':fail\n'
        'echo Booting failed 10 times; powering off.\n'
        'sleep 10\n'
        'poweroff\n')


BOOT_IPXE = (
    '#!ipxe\n'
    '\n'
    '# Chain to the configuration of the first NIC that has one.\n'
    'set idx:int32 0\n'
    ':next_nic\n'
    'isset ${net${idx}/mac} || goto no_config\n'
    'chain --autofree %(subdir)s/${net${idx}/mac:hexhyp} ||\n'
    'inc idx\n'
    'goto next_nic\n'
    '\n'
    ':no_config\n'
    'echo No boot configuration for any NIC of this machine.\n'
    'sleep 10\n'
    'exit\n'
)


# --- the interfaces ------------------------------------------------------

class PXEBoot(base.BootInterface):
    """PXELINUX configuration under ``[pxe]tftp_root``."""

    name = 'pxe'
    capabilities = ('ramdisk_boot',)

    def root(self) -> str:
        return CONF.pxe.tftp_root

    def render(self, node, default: str) -> str:
        return render_pxelinux(node, default)

    def mac_link_name(self, port) -> str:
        prefix = '20-' if (getattr(port, 'extra', None) or {}).get(
            'client-id') else '01-'
        return prefix + _mac(port).replace(':', '-')

    def get_properties(self) -> dict[str, str]:
        return dict(COMMON_PROPERTIES)

    def validate(self, task) -> None:
        node = task.node
        if not task.ports:
            raise exception.MissingParameterValue(
                err='Node %s does not have any port associated with it.'
                    % node.uuid)
        driver_info = deploy_images(node)
        missing = [key for key in DEPLOY_IMAGES if not driver_info.get(key)]
        if missing:
            raise exception.MissingParameterValue(
                err="Cannot validate PXE bootloader. Some parameters were "
                    "missing in node's driver_info. Missing are: %s"
                    % missing)
        instance_info = node.instance_info or {}
        missing = [key for key in ('image_source',) + INSTANCE_IMAGES
                   if not instance_info.get(key)]
        if missing:
            raise exception.MissingParameterValue(
                err='Cannot validate image information for node %s because '
                    'one or more parameters are missing from its '
                    'instance_info. Missing are: %s' % (node.uuid, missing))
        for key in DEPLOY_IMAGES:
            _check_source(driver_info[key], key, 'driver_info')
        for key in INSTANCE_IMAGES:
            _check_source(instance_info[key], key, 'instance_info')
        _kernel_arguments(node)
        for port in task.ports:
            if getattr(port, 'pxe_enabled', True):
                _mac(port, error=exception.InvalidParameterValue)

    def prepare_ramdisk(self, task, ramdisk_params: dict) -> None:
        node = task.node
        self._place_images(node, DEPLOY_IMAGES, deploy_images(node))
        self._write_config(task, 'deploy')
        persistent = strutils.bool_from_string(
            (node.driver_info or {}).get('force_persistent_boot_device'))
        task.driver.management.set_boot_device(task, 'pxe',
                                               persistent=persistent)

    def clean_up_ramdisk(self, task) -> None:
        for name in DEPLOY_IMAGES:
            _unlink(safe_path(self.root(), _component(task.node.uuid), name))

    def prepare_instance(self, task) -> None:
        """Boot the instance kernel and ramdisk over the network.

        For an ``active`` node (a conductor taking it over) only the files
        are rebuilt: the BMC is not touched.
        """
        node = task.node
        self._place_images(node, INSTANCE_IMAGES, node.instance_info or {})
        self._write_config(task, 'boot_ramdisk')
        if node.provision_state != states.ACTIVE:
            task.driver.management.set_boot_device(task, 'pxe',
                                                   persistent=True)

    def clean_up_instance(self, task) -> None:
        node = task.node
        root = self.root()
        target = '../%s/%s' % (node.uuid, CONFIG)
        subdir = safe_path(root, CONF.pxe.pxe_config_subdir)
        links = set()
        for port in task.ports:
            with contextlib.suppress(exception.PXEFailure):
                links.add(self.mac_link_name(port))
        if os.path.isdir(subdir) and not os.path.islink(subdir):
            for name in os.listdir(subdir):
                path = os.path.join(subdir, name)
                if (os.path.islink(path)
                        and os.readlink(path) == target):
                    links.add(name)
        for name in links:
            path = safe_path(root, CONF.pxe.pxe_config_subdir, name)
            if os.path.islink(path) and os.readlink(path) == target:
                _unlink(path)
        directory = safe_path(root, _component(node.uuid))
        if os.path.islink(directory):
            _unlink(directory)
        elif os.path.isdir(directory):
            shutil.rmtree(directory)
        LOG.info('Removed the boot files of node %s from %s', node.uuid,
                 root)

    # --- helpers ---------------------------------------------------------

    def _place_images(self, node, names, sources: dict) -> None:
        root = self.root()
        _makedirs(root, _component(node.uuid))
        for name in names:
            source = sources.get(name)
            if not source:
                raise exception.PXEFailure(
                    reason='node %s has no %s' % (node.uuid, name))
            try:
                _check_source(source, name, 'node data')
            except exception.InvalidParameterValue as e:
                raise exception.PXEFailure(reason=str(e))
            fetch_image(source, safe_path(root, node.uuid, name))

    def _write_config(self, task, default: str) -> None:
        node = task.node
        root = self.root()
        _makedirs(root, _component(node.uuid))
        try:
            text = self.render(node, default)
        except exception.InvalidParameterValue as e:
            raise exception.PXEFailure(reason=str(e))
        _write_atomic(safe_path(root, node.uuid, CONFIG), text.encode())
        subdir = CONF.pxe.pxe_config_subdir
        _makedirs(root, subdir)
        for port in task.ports:
            if not getattr(port, 'pxe_enabled', True):
                continue
            link = safe_path(root, subdir, self.mac_link_name(port))
            _symlink_atomic('../%s/%s' % (node.uuid, CONFIG), link)
        LOG.info('Wrote the %s boot configuration of node %s under %s',
                 default, node.uuid, root)


class IPXEBoot(PXEBoot):
    """iPXE configuration under ``[deploy]http_root``, fetched over HTTP
    from ``[deploy]http_url``."""

    name = 'ipxe'

    def root(self) -> str:
        return CONF.deploy.http_root

    def render(self, node, default: str) -> str:
        return render_ipxe(node, default)

    def mac_link_name(self, port) -> str:
        return _mac(port).replace(':', '-')

    def validate(self, task) -> None:
        if not CONF.deploy.http_url or not CONF.deploy.http_root:
            raise exception.MissingParameterValue(
                err='iPXE boot is enabled but no HTTP URL or HTTP root was '
                    'specified.')
        super().validate(task)

    def _write_config(self, task, default: str) -> None:
        if not CONF.deploy.http_url:
            raise exception.PXEFailure(
                reason='iPXE boot is enabled but no HTTP URL or HTTP root '
                       'was specified.')
        super()._write_config(task, default)
        root = self.root()
        script = (BOOT_IPXE % {'subdir': CONF.pxe.pxe_config_subdir}).encode()
        path = safe_path(root, 'boot.ipxe')
        try:
            with open(path, 'rb') as f:
                unchanged = f.read() == script and not os.path.islink(path)
        except OSError:
            unchanged = False
        if not unchanged:
            _write_atomic(path, script)


def _component(name: str) -> str:
    if not uuidutils.is_uuid_like(name):
        raise exception.PXEFailure(
            reason='refusing node UUID %r as a directory name' % name)
    return name


def _mac(port, error=exception.PXEFailure) -> str:
    address = getattr(port, 'address', None)
    mac = address.lower() if isinstance(address, str) else ''
    if not _MAC.match(mac):
        message = 'port %s has an invalid MAC address %r' % (
            getattr(port, 'uuid', '?'), address)
        if error is exception.PXEFailure:
            raise exception.PXEFailure(reason=message)
        raise error(err=message)
    return mac
