"""A virtual BMC that speaks real IPMI 2.0 (RMCP+) on 127.0.0.1, for
ipmitool to talk to.

It is a ``pyghmi.ipmi.bmc.Bmc`` served by a thread of its own on a UDP port
of its own. It does not join pyghmi's process-wide IO thread (which never
stops): its thread reads its socket and hands each packet to pyghmi's
session code, so ``stop()`` leaves no thread and no socket behind.
"""

import collections
import select
import socket
import struct
import threading
import time
import uuid

from pyghmi.ipmi import bmc
from pyghmi.ipmi.private import session as ipmi_session

# IPMI boot flags (parameter 5), data byte 1.
_FLAG_VALID = 0x80
_FLAG_PERSISTENT = 0x40
# Boot device selector (data byte 2, bits 5-2) as pyghmi names them.
_SELECTORS = {0: 'default', 1: 'network', 2: 'hd', 3: 'safe', 5: 'optical',
              6: 'setup', 0xf: 'floppy'}
_NAMES = {'network': 'pxe', 'hd': 'disk', 'safe': 'safe',
          'optical': 'cdrom', 'setup': 'bios', 'default': 'default',
          'floppy': 'floppy'}


class VirtualBMC(bmc.Bmc):
    """One node's BMC.

    ``events`` lists what ipmitool asked for, in order:
    ``('power', 'on'|'off'|'soft'|'reset'|'cycle')`` and
    ``('bootdev', <pxe|disk|cdrom|bios|safe|default>, <persistent>)``.

    Knobs: ``username``/``password``; ``down`` (answer nothing);
    ``power_delay`` (seconds a power change takes to show in the status);
    ``busy`` (how many chassis control commands to answer "Node busy").
    """

    def __init__(self, username: str = 'admin', password: str = 'password',
                 power_delay: float = 0.0, power: str = 'off'):
        # IpmiServer.__init__ is not called: it binds through pyghmi's
        # shared socket pool and starts its never-ending IO thread.
        self.revision = 0
        self.deviceid = 0
        self.firmwaremajor = 1
        self.firmwareminor = 0
        self.ipmiversion = 2
        self.additionaldevices = 0
        self.mfgid = 0
        self.prodid = 0
        self.pktqueue = collections.deque([])
        self.uuid = uuid.uuid4()
        self.authdata = {username: password}
        # channel 1, IPMI 2.0 only, no per-message authentication.
        self.authcap = struct.pack('BBBBBBBBB', 0, 1, 0b10000000,
                                   0b00000100, 0b00000010, 0, 0, 0, 0)
        self.kg = None
        self.timeout = 60

        self.serversocket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.serversocket.bind(('127.0.0.1', 0))
        self.address = '127.0.0.1'
        self.port = self.serversocket.getsockname()[1]

        self.down = False
        self.busy = 0
        self.power_delay = power_delay
        self.events: list[tuple] = []
        self._power = power
        self._power_changes_at = 0.0
        self._target_power = power
        self._boot_device = 'default'
        self._boot_persistent = False
        self._stopping = threading.Event()
        self._thread = None

    # --- the fixture's life ----------------------------------------------

    def start(self) -> 'VirtualBMC':
        ipmi_session.Session.bmc_handlers[self.serversocket] = {0: self}
        self._thread = threading.Thread(target=self._serve,
                                        name='virtual-bmc-%d' % self.port,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
            if self._thread.is_alive():
                raise RuntimeError('virtual BMC thread did not stop')
            self._thread = None
        handlers = ipmi_session.Session.bmc_handlers
        handlers.pop(self.serversocket, None)
        for key, sessions in list(handlers.items()):
            if isinstance(sessions, dict):
                mine = [port for port, s in sessions.items()
                        if getattr(s, 'bmc', None) is self]
                for port in mine:
                    sessions.pop(port, None)
                if not sessions:
                    handlers.pop(key, None)
        self.serversocket.close()

    def driver_info(self, **extra) -> dict:
        """The ipmi driver_info of a node behind this BMC."""
        username, password = next(iter(self.authdata.items()))
        return {'ipmi_address': self.address, 'ipmi_port': self.port,
                'ipmi_username': username, 'ipmi_password': password,
                **extra}

    def _serve(self) -> None:
        sock = self.serversocket
        while not self._stopping.is_set():
            readable, _, _ = select.select([sock], [], [], 0.1)
            if not readable:
                continue
            try:
                data, client = sock.recvfrom(3000)
            except OSError:
                continue
            if self.down or len(data) < 4:
                continue
            sessions = ipmi_session.Session.bmc_handlers.get(client)
            if isinstance(sessions, dict) and self.port in sessions:
                target = sessions[self.port]
                target.pktqueue.append((data, client, sock, True))
            else:
                target = self
                target.pktqueue.append((data, client, sock, False))
            try:
                target.process_pktqueue()
            except Exception:  # noqa: BLE001 - a bad packet must not stop it
                continue

    # --- what the BMC does -----------------------------------------------

    def handle_raw_request(self, request, session):
        if self.busy and request['netfn'] == 0 and request['command'] == 2:
            self.busy -= 1
            return session.send_ipmi_response(code=0xc0)  # Node busy
        return super().handle_raw_request(request, session)

    @property
    def power(self) -> str:
        """'on' or 'off', as the status shows it now."""
        if time.monotonic() >= self._power_changes_at:
            self._power = self._target_power
        return self._power

    def _set_power(self, event: str, state: str) -> None:
        self.events.append(('power', event))
        self._target_power = state
        self._power_changes_at = time.monotonic() + self.power_delay

    def get_power_state(self):
        return self.power

    def power_on(self):
        self._set_power('on', 'on')

    def power_off(self):
        self._set_power('off', 'off')

    def power_shutdown(self):
        self._set_power('soft', 'off')

    def power_reset(self):
        self._set_power('reset', 'on')

    def power_cycle(self):
        self._set_power('cycle', 'on')

    def get_boot_device(self):
        return self._boot_device

    def set_boot_device(self, bootdevice):
        self._boot_device = bootdevice

    @property
    def boot_device(self) -> tuple[str, bool]:
        """The boot device as ironic names it, and whether persistent."""
        return _NAMES.get(self._boot_device,
                          self._boot_device), self._boot_persistent

    def set_system_boot_options(self, request, session):
        data = request['data']
        if data and data[0] == 5 and len(data) >= 3:
            selector = (data[2] >> 2) & 0b1111
            if selector not in _SELECTORS:
                return session.send_ipmi_response(code=0xcc)
            self._boot_device = _SELECTORS[selector]
            self._boot_persistent = bool(data[1] & _FLAG_PERSISTENT)
            self.events.append(('bootdev', self.boot_device[0],
                                self._boot_persistent))
            return session.send_ipmi_response()
        return super().set_system_boot_options(request, session)

    def get_system_boot_options(self, request, session):
        if request['data'] and request['data'][0] == 5:
            flags = _FLAG_VALID
            if self._boot_persistent:
                flags |= _FLAG_PERSISTENT
            selector = {v: k for k, v in _SELECTORS.items()}.get(
                self._boot_device, 0)
            return session.send_ipmi_response(
                data=[1, 5, flags, selector << 2, 0, 0, 0])
        return session.send_ipmi_response(code=0x80)
