"""Power and management through the real ``ipmitool`` binary.

Every call runs ``ipmitool -I lanplus|lan -H <address> -L <privilege>
[-p <port>] [-U <user>] [-C <cipher suite>] [bridging] -R <n> -N <s>
-f <password file> <command words>``. The password goes into a fresh 0600
file that is deleted as soon as ipmitool has exited: it is never on a
command line, and never in a log line or an error message.
"""

import contextlib
import logging
import os
import re
import subprocess
import tempfile
import threading
import time

from oslo_utils import strutils

from ironic_lite.common import exception
from ironic_lite.common import states
from ironic_lite.conf import CONF
from ironic_lite.drivers import base

LOG = logging.getLogger(__name__)

PRIV_LEVELS = ('ADMINISTRATOR', 'CALLBACK', 'OPERATOR', 'USER')
PROTOCOL_INTERFACES = {'2.0': 'lanplus', '1.5': 'lan'}
BRIDGING_TYPES = ('no', 'single', 'dual')
BOOT_DEVICES = ('pxe', 'disk', 'cdrom', 'bios', 'safe')
# Boot device selector values for the UEFI persistent raw command.
_EFI_PERSISTENT_SELECTOR = {'pxe': '0x04', 'disk': '0x08', 'cdrom': '0x14',
                            'bios': '0x18', 'safe': '0x0c'}
# Errors of a BMC that is there but busy: the same command is tried again.
TRANSIENT_ERRORS = ('insufficient resources for session', 'Node busy',
                    'Timeout', 'Out of space',
                    'BMC initialization in progress')
# After SIGTERM (kill_on_timeout False), the seconds before SIGKILL.
_TERM_GRACE = 5

REQUIRED_PROPERTIES = {
    'ipmi_address': 'IP address or hostname of the node. Required.',
}
OPTIONAL_PROPERTIES = {
    'ipmi_password': 'password. Optional.',
    'ipmi_port': 'remote IPMI RMCP port. Optional.',
    'ipmi_priv_level': 'privilege level; default is ADMINISTRATOR. One of '
                       '%s. Optional.' % ', '.join(PRIV_LEVELS),
    'ipmi_username': 'username; default is NULL user. Optional.',
    'ipmi_bridging': 'bridging_type; default is "no". One of "single", '
                     '"dual", "no". Optional.',
    'ipmi_transit_channel': 'transit channel for bridged request. Required '
                            'only if ipmi_bridging is set to "dual".',
    'ipmi_transit_address': 'transit address for bridged request. Required '
                            'only if ipmi_bridging is set to "dual".',
    'ipmi_target_channel': 'destination channel for bridged request. '
                           'Required only if ipmi_bridging is set to '
                           '"single" or "dual".',
    'ipmi_target_address': 'destination address for bridged request. '
                           'Required only if ipmi_bridging is set to '
                           '"single" or "dual".',
    'ipmi_local_address': 'local IPMB address for bridged requests. Used '
                          'only if ipmi_bridging is set to "single" or '
                          '"dual". Optional.',
    'ipmi_protocol_version': 'the version of the IPMI protocol; default is '
                             '"2.0". One of "1.5", "2.0". Optional.',
    'ipmi_force_boot_device': 'Whether Ironic should specify the boot '
                              'device to the BMC each time the server is '
                              'turned on, eg. because the BMC is not '
                              'capable of remembering the selected boot '
                              'device across power cycles; default value '
                              'is False. Optional.',
    'ipmi_disable_boot_timeout': 'By default ironic will send a raw IPMI '
                                 'command to disable the 60 second timeout '
                                 'for booting. Setting this option to '
                                 'False will NOT send that command; '
                                 'default value is True. Optional.',
    'ipmi_cipher_suite': 'The number of a cipher suite to use (ipmitool '
                         '-C); ipmitool\'s default when unset. Optional.',
}
COMMON_PROPERTIES = {**REQUIRED_PROPERTIES, **OPTIONAL_PROPERTIES}


# --- driver_info ---------------------------------------------------------

def _text(info: dict, key: str) -> str | None:
    value = info.get(key)
    if value is None or value == '':
        return None
    value = str(value)
    if '\x00' in value or '\n' in value:
        raise exception.InvalidParameterValue(
            err='%s must not contain NUL or newline characters.' % key)
    return value


def _port(value, name: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise exception.InvalidParameterValue(
            err='%s "%s" is not a valid integer.' % (name, value))
    if not 1 <= port <= 65535:
        raise exception.InvalidParameterValue(
            err='%s "%s" is out of range. Valid port numbers must be between '
                '1 and 65535.' % (name, value))
    return port


def _boolean(info: dict, key: str, default: bool) -> bool:
    value = info.get(key)
    if value is None:
        return default
    try:
        return strutils.bool_from_string(value, strict=True)
    except ValueError:
        raise exception.InvalidParameterValue(
            err='Invalid value for %s: "%s". It must be a boolean.'
                % (key, value))


def parse_driver_info(node) -> dict:
    """The IPMI settings of ``node``, checked, without contacting the BMC.

    :raises MissingParameterValue, InvalidParameterValue:
    """
    info = node.driver_info or {}
    missing = [key for key in REQUIRED_PROPERTIES if not info.get(key)]
    if missing:
        raise exception.MissingParameterValue(
            err="Missing the following IPMI credentials in node's "
                "driver_info: %s." % missing)
    address = _text(info, 'ipmi_address')
    if address.startswith('-') or any(c.isspace() for c in address):
        raise exception.InvalidParameterValue(
            err='Invalid ipmi_address "%s".' % address)

    priv_level = _text(info, 'ipmi_priv_level') or 'ADMINISTRATOR'
    if priv_level not in PRIV_LEVELS:
        raise exception.InvalidParameterValue(
            err='Invalid privilege level value:%s, the valid value can be '
                'one of %s' % (priv_level, ', '.join(PRIV_LEVELS)))

    version = _text(info, 'ipmi_protocol_version') or '2.0'
    if version not in PROTOCOL_INTERFACES:
        raise exception.InvalidParameterValue(
            err='Invalid IPMI protocol version value %s, the valid value can '
                'be one of %s' % (version, ', '.join(PROTOCOL_INTERFACES)))

    port = info.get('ipmi_port')
    if port not in (None, ''):
        port = _port(port, 'ipmi_port')
    else:
        port = None

    cipher_suite = info.get('ipmi_cipher_suite')
    if cipher_suite not in (None, ''):
        try:
            cipher_suite = int(cipher_suite)
        except (TypeError, ValueError):
            cipher_suite = -1
        if not 0 <= cipher_suite <= 17:
            raise exception.InvalidParameterValue(
                err='Invalid value for ipmi_cipher_suite: "%s". It must be '
                    'an integer between 0 and 17.'
                    % info.get('ipmi_cipher_suite'))
    else:
        cipher_suite = None

    bridging = _text(info, 'ipmi_bridging') or 'no'
    if bridging not in BRIDGING_TYPES:
        raise exception.InvalidParameterValue(
            err='Parameter ipmi_bridging=%s is invalid. Valid values are: '
                '%s.' % (bridging, ', '.join(BRIDGING_TYPES)))
    bridge_args = []
    if bridging != 'no':
        needed = ['ipmi_target_channel', 'ipmi_target_address']
        if bridging == 'dual':
            needed = ['ipmi_transit_channel', 'ipmi_transit_address'] + needed
        absent = [key for key in needed if not info.get(key)]
        if absent:
            raise exception.MissingParameterValue(
                err='%s not provided' % absent)
        flags = {'ipmi_local_address': '-m', 'ipmi_transit_channel': '-B',
                 'ipmi_transit_address': '-T', 'ipmi_target_channel': '-b',
                 'ipmi_target_address': '-t'}
        for key in ['ipmi_local_address'] + needed:
            value = _text(info, key)
            if value is not None:
                bridge_args += [flags[key], value]

    password = info.get('ipmi_password')
    password = '' if password is None else str(password)
    return {
        'address': address,
        'port': port,
        'username': _text(info, 'ipmi_username'),
        'password': password,
        'priv_level': priv_level,
        'protocol_version': version,
        'cipher_suite': cipher_suite,
        'bridge_args': bridge_args,
        'force_boot_device': _boolean(info, 'ipmi_force_boot_device', False),
        'disable_boot_timeout': _boolean(
            info, 'ipmi_disable_boot_timeout',
            CONF.ipmi.disable_boot_timeout),
    }


# --- running ipmitool ----------------------------------------------------

class _BMCSpacing:
    """At most one command per ``[ipmi]min_command_interval`` per BMC; the
    commands to one BMC run one at a time."""

    def __init__(self):
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}

    @contextlib.contextmanager
    def turn(self, address: str):
        with self._guard:
            lock = self._locks.setdefault(address, threading.Lock())
        with lock:
            last = self._last.get(address)
            if last is not None:
                wait = last + CONF.ipmi.min_command_interval - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            try:
                yield
            finally:
                self._last[address] = time.monotonic()


_SPACING = _BMCSpacing()


def _scrub(text: str, password: str) -> str:
    if password:
        text = text.replace(password, '******')
    return text.strip()


def _bmc_name(info: dict) -> str:
    if info['port']:
        return '%s port %s' % (info['address'], info['port'])
    return info['address']


def _failure(info: dict, words: list[str], detail: str):
    return exception.IPMIFailure(
        'IPMI call failed: %s. BMC %s: %s'
        % (' '.join(words), _bmc_name(info), detail), cmd=' '.join(words))


def _command_line(info: dict, password_file: str, words: list[str]):
    interval = max(CONF.ipmi.min_command_interval, 1)
    tries = max(CONF.ipmi.command_retry_timeout // interval, 1)
    args = [CONF.ipmi.ipmitool_path,
            '-I', PROTOCOL_INTERFACES[info['protocol_version']],
            '-H', info['address'], '-L', info['priv_level']]
    if info['port']:
        args += ['-p', str(info['port'])]
    if info['username']:
        args += ['-U', info['username']]
    if info['cipher_suite'] is not None:
        args += ['-C', str(info['cipher_suite'])]
    args += info['bridge_args']
    args += ['-R', str(tries), '-N', str(interval), '-f', password_file]
    return args + words


def _run_once(info: dict, words: list[str]) -> tuple[int, str, str]:
    """One ipmitool invocation: its exit status, stdout and stderr."""
    fd, password_file = tempfile.mkstemp(prefix='ironic-lite-ipmi-')
    try:
        with os.fdopen(fd, 'w') as f:
            # ipmitool reads an empty file as no password at all.
            f.write(info['password'] or '\0')
        args = _command_line(info, password_file, words)
        LOG.debug('Running %s', ' '.join(args))
        try:
            process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, errors='replace',
                start_new_session=True)
        except FileNotFoundError:
            raise _failure(info, words,
                           'ipmitool is not installed: "%s" was not found '
                           '([ipmi]ipmitool_path).'
                           % CONF.ipmi.ipmitool_path)
        except OSError as e:
            raise _failure(info, words, 'ipmitool could not be run: %s'
                           % e.strerror)
        limit = (CONF.ipmi.command_retry_timeout
                 + max(CONF.ipmi.min_command_interval, 1))
        try:
            out, err = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise _failure(info, words,
                           'ipmitool did not answer within %s seconds and '
                           'was stopped.' % limit)
        return process.returncode, out, err
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(password_file)


def _stop(process: subprocess.Popen) -> None:
    if CONF.ipmi.kill_on_timeout:
        process.kill()
    else:
        process.terminate()
        try:
            process.communicate(timeout=_TERM_GRACE)
            return
        except subprocess.TimeoutExpired:
            process.kill()
    process.communicate()


def exec_ipmitool(info: dict, words: list[str]) -> str:
    """Run one ipmitool command against the BMC of ``info``; its stdout.

    Transient BMC errors are retried until ``[ipmi]command_retry_timeout``.

    :raises IPMIFailure: ipmitool failed or is missing; the message names
        the command and the BMC, never the password.
    """
    deadline = time.monotonic() + CONF.ipmi.command_retry_timeout
    while True:
        with _SPACING.turn(info['address']):
            status, out, err = _run_once(info, words)
        if status == 0:
            return out
        err = _scrub(err or out, info['password'])
        transient = any(e in err for e in TRANSIENT_ERRORS)
        if transient and time.monotonic() < deadline:
            LOG.warning('IPMI command "%s" to BMC %s failed, retrying: %s',
                        ' '.join(words), _bmc_name(info), err)
            continue
        LOG.error('IPMI command "%s" to BMC %s failed (exit status %s): %s',
                  ' '.join(words), _bmc_name(info), status, err)
        raise _failure(info, words, err or 'exit status %s' % status)


# --- power ---------------------------------------------------------------

def _power_status(info: dict) -> str:
    out = exec_ipmitool(info, ['power', 'status'])
    if out == 'Chassis Power is on\n':
        return states.POWER_ON
    if out == 'Chassis Power is off\n':
        return states.POWER_OFF
    return states.POWER_ERROR


def _wait_for(info: dict, target: str, timeout: float) -> None:
    """Poll the power state with back-off until it is ``target``.

    :raises PowerStateFailure: not reached within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    delay = 1.0
    state = None
    while True:
        time.sleep(max(min(delay, deadline - time.monotonic()), 0))
        state = _power_status(info)
        if state == target or time.monotonic() >= deadline:
            break
        delay = min(delay * 2, 5.0)
    if state != target:
        LOG.error('BMC %s did not reach "%s" within %s seconds; it is "%s"',
                  _bmc_name(info), target, timeout, state)
        raise exception.PowerStateFailure(pstate=target)


def _timeout(timeout: int | None, soft: bool) -> int:
    if timeout:
        return timeout
    if soft:
        return CONF.conductor.soft_power_off_timeout
    return CONF.conductor.power_state_change_timeout


class _IPMIDriverInfo:
    """What the power and the management interface share: the driver_info
    they read and its check."""

    name = 'ipmitool'

    def get_properties(self) -> dict[str, str]:
        return dict(COMMON_PROPERTIES)

    def validate(self, task) -> None:
        parse_driver_info(task.node)


class IPMIPower(_IPMIDriverInfo, base.PowerInterface):

    def get_supported_power_states(self, task) -> list[str]:
        return list(states.POWER_STATES)

    def get_power_state(self, task) -> str:
        return _power_status(parse_driver_info(task.node))

    def set_power_state(self, task, power_state: str,
                        timeout: int | None = None) -> None:
        info = parse_driver_info(task.node)
        if power_state == states.POWER_ON:
            self._power_on(task, info, timeout)
        elif power_state == states.POWER_OFF:
            exec_ipmitool(info, ['power', 'off'])
            _wait_for(info, states.POWER_OFF, _timeout(timeout, False))
        elif power_state == states.SOFT_POWER_OFF:
            exec_ipmitool(info, ['power', 'soft'])
            _wait_for(info, states.POWER_OFF, _timeout(timeout, True))
        elif power_state == states.REBOOT:
            self.reboot(task, timeout)
        elif power_state == states.SOFT_REBOOT:
            self.reboot(task, timeout, soft=True)
        else:
            raise exception.InvalidParameterValue(
                err='set_power_state called with invalid power state %s.'
                    % power_state)

    def reboot(self, task, timeout: int | None = None,
               soft: bool = False) -> None:
        """Off (unless already off), then on; never ``power cycle`` nor
        ``power reset``."""
        info = parse_driver_info(task.node)
        if soft:
            exec_ipmitool(info, ['power', 'soft'])
            _wait_for(info, states.POWER_OFF, _timeout(timeout, True))
        elif _power_status(info) != states.POWER_OFF:
            exec_ipmitool(info, ['power', 'off'])
            _wait_for(info, states.POWER_OFF, _timeout(timeout, False))
        self._power_on(task, info, timeout)

    @staticmethod
    def _power_on(task, info: dict, timeout: int | None) -> None:
        if info['force_boot_device']:
            device = (task.node.driver_internal_info or {}).get(
                'persistent_boot_device')
            if device:
                _send_boot_device(task, info, device, persistent=False)
        exec_ipmitool(info, ['power', 'on'])
        _wait_for(info, states.POWER_ON, _timeout(timeout, False))


# --- management ----------------------------------------------------------

def _is_uefi(node) -> bool:
    mode = (node.instance_info or {}).get('deploy_boot_mode')
    if mode:
        return mode == 'uefi'
    capabilities = ((node.properties or {}).get('capabilities') or '')
    if isinstance(capabilities, dict):
        return capabilities.get('boot_mode') == 'uefi'
    return 'boot_mode:uefi' in str(capabilities).split(',')


def _send_boot_device(task, info: dict, device: str,
                      persistent: bool) -> None:
    if info['disable_boot_timeout']:
        exec_ipmitool(info, ['raw', '0x00', '0x08', '0x03', '0x08'])
    uefi = _is_uefi(task.node)
    if uefi and persistent:
        exec_ipmitool(info, ['raw', '0x00', '0x08', '0x05', '0xe0',
                             _EFI_PERSISTENT_SELECTOR[device],
                             '0x00', '0x00', '0x00'])
        return
    words = ['chassis', 'bootdev', device]
    options = [o for o, wanted in (('persistent', persistent),
                                   ('efiboot', uefi)) if wanted]
    if options:
        words.append('options=%s' % ','.join(options))
    exec_ipmitool(info, words)


_SELECTOR = re.compile(r'Boot Device Selector\s*:\s*(.*)')


def parse_boot_device(out: str) -> dict:
    """``chassis bootparam get 5`` output as a boot device answer."""
    device = None
    match = _SELECTOR.search(out)
    if match:
        selector = match.group(1)
        if 'PXE' in selector:
            device = 'pxe'
        elif 'Safe-Mode' in selector:
            device = 'safe'
        elif 'Hard-Drive' in selector:
            device = 'disk'
        elif 'BIOS' in selector:
            device = 'bios'
        elif 'CD/DVD' in selector:
            device = 'cdrom'
    return {'boot_device': device,
            'persistent': 'Options apply to all future boots' in out}


class IPMIManagement(_IPMIDriverInfo, base.ManagementInterface):

    def get_supported_boot_devices(self, task) -> list[str]:
        return list(BOOT_DEVICES)

    def set_boot_device(self, task, device: str,
                        persistent: bool = False) -> None:
        if device not in BOOT_DEVICES:
            raise exception.InvalidParameterValue(
                err='Invalid boot device %s specified.' % device)
        info = parse_driver_info(task.node)
        if info['force_boot_device']:
            # Sent again before every power on: the BMC is not trusted to
            # remember it.
            internal = dict(task.node.driver_internal_info or {})
            internal['persistent_boot_device'] = device if persistent \
                else None
            internal['is_next_boot_persistent'] = persistent
            task.update({'driver_internal_info': internal})
            persistent = False
        _send_boot_device(task, info, device, persistent)

    def get_boot_device(self, task) -> dict:
        info = parse_driver_info(task.node)
        return parse_boot_device(
            exec_ipmitool(info, ['chassis', 'bootparam', 'get', '5']))
