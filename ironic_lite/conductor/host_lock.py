"""Which process of this machine runs the conductor of a host name.

A conductor holds an exclusive ``fcntl.flock`` on
``<state_path>/conductor-<host>.lock`` for its whole life. The kernel drops
the lock when the process dies, however it dies, so a free lock proves that
no process of this machine with this state path runs the conductor any more.

That alone cannot tell a crashed process of this machine from a live twin on
another machine, which holds a lock elsewhere but the same database row. So
the holder also writes into the file, before each heartbeat, the heartbeat
times it is about to give its row. A later process that gets the lock may
take the row over at once if the row's last heartbeat is one of them: the
row then belongs to the process that died. Any other heartbeat was written
by someone else, and the row is only taken over once it is older than
``[conductor]heartbeat_timeout``.
"""

import datetime
import errno
import fcntl
import json
import os
import urllib.parse

from oslo_log import log

from ironic_lite.common import exception

LOG = log.getLogger(__name__)


def lock_path(state_path: str, host: str) -> str:
    # Host names may hold ':', '[' or '/'; quoted they make one file name.
    return os.path.join(state_path, 'conductor-%s.lock'
                        % urllib.parse.quote(host, safe=''))


class HostLock:
    """The lock of one host name; ``acquire()`` it, ``release()`` it."""

    def __init__(self, state_path: str, host: str):
        self.host = host
        self.path = lock_path(state_path, host)
        self._fd: int | None = None
        self._confirmed: datetime.datetime | None = None

    def acquire(self) -> list[datetime.datetime]:
        """Take the lock; the heartbeats its previous holder recorded.

        :raises ConductorAlreadyRunning: a live process holds it.
        """
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = _read(fd).get('pid', 'unknown')
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            raise exception.ConductorAlreadyRunning(
                conductor=self.host, pid=holder, path=self.path)
        self._fd = fd
        previous = _read(fd)
        stamps = []
        for text in previous.get('heartbeats', []):
            try:
                stamps.append(datetime.datetime.fromisoformat(text))
            except (TypeError, ValueError):
                pass
        self._write([])
        return stamps

    def record(self, heartbeat: datetime.datetime) -> None:
        """Note a heartbeat about to be written, before writing it."""
        stamps = [s for s in (self._confirmed, heartbeat) if s is not None]
        self._write(stamps)

    def confirm(self, heartbeat: datetime.datetime) -> None:
        """The heartbeat noted last is in the database."""
        self._confirmed = heartbeat

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # The file stays: removing it would race with a process about to
        # lock it. Emptied, it lets nobody take over a row on its word.
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)  # closing drops the lock

    def _write(self, stamps: list[datetime.datetime]) -> None:
        if self._fd is None:
            return
        data = json.dumps({'host': self.host, 'pid': os.getpid(),
                           'heartbeats': [s.isoformat() for s in stamps]})
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data.encode('utf-8'), 0)
        except OSError as e:
            # Only a faster restart after a crash depends on it.
            LOG.warning('Could not write %s: %s', self.path, e)


def _read(fd: int) -> dict:
    try:
        data = os.pread(fd, 65536, 0)
        value = json.loads(data.decode('utf-8')) if data else {}
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
