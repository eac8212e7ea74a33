"""Start-up shared by the console scripts and ``api/wsgi.py``:
configuration and logging, the message broker, the schema check."""

import ctypes
import gc
import os
import sys
from collections.abc import Callable

from oslo_log import log

from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)

_QUIET_LOGGERS = ['amqp=WARN', 'amqplib=WARN', 'kombu=WARN',
                  'oslo.messaging=INFO', 'oslo_messaging=INFO',
                  'sqlalchemy=WARN', 'stevedore=WARN', 'oslo_policy=WARN',
                  'alembic=WARN', 'waitress=WARN', 'urllib3=WARN',
                  'oslo_db=WARN', 'tooz=WARN',
                  # A line for every request that waits for a thread.
                  'waitress.queue=ERROR',
                  # WSME logs every 5xx with a traceback, 503s included;
                  # unexpected errors are logged by ironic_lite.api.expose.
                  'wsme.api=CRITICAL']


def prepare(argv: list[str], prog: str) -> None:
    """Parse the configuration and set up logging."""
    log.register_options(CONF)
    log.set_defaults(default_log_levels=log.get_default_log_levels()
                     + _QUIET_LOGGERS)
    CONF(argv, project='ironic-lite', prog=prog)
    log.setup(CONF, 'ironic-lite')
    os.makedirs(CONF.state_path, exist_ok=True)


def start_messaging(require_url: bool, default_url: str | None = None):
    """Open the RPC transport.

    :param require_url: refuse to start without ``[DEFAULT]transport_url``
        (a process that talks to others needs a real broker).
    :param default_url: the transport when none is configured.
    """
    from ironic_lite.common import rpc
    rpc.init(transport_url(require_url, default_url))


def transport_url(require_url: bool,
                  default_url: str | None = None) -> str | None:
    """The RPC transport's URL; exit if it is required and missing."""
    url = CONF.transport_url or default_url
    if not url and require_url:
        sys.exit('%s needs [DEFAULT]transport_url, the message broker its '
                 'API and conductors share, for example '
                 'rabbit://guest:guest@127.0.0.1:5672/' % CONF.prog)
    return url


def require_current_schema() -> None:
    """Refuse to run against a database whose schema is not the newest.

    Checked in a process of its own (:func:`run_apart`): it reads every
    migration script, through alembic."""
    status = run_apart(_check_schema, 'Checking the database schema')
    if status:
        sys.exit(status)


def _check_schema() -> None:
    from ironic_lite.db import migration
    current, newest = migration.version(), migration.head()
    if current != newest:
        sys.exit('The database schema is at revision %s, this code needs %s. '
                 'Run "ironic-lite-dbsync upgrade" first.'
                 % (current or 'none', newest))


def upgrade_schema() -> int:
    """Bring the schema up to the newest revision, in a process of its own
    (:func:`run_apart`); 0 once done."""
    return run_apart(_upgrade_schema, 'Upgrading the database schema')


def _upgrade_schema() -> None:
    from ironic_lite.db import migration
    migration.upgrade()


def run_apart(function: Callable[[], object], what: str) -> int:
    """Run ``function`` in a process forked for it, wait for it and give
    its exit status: 0 once it returns, its ``sys.exit`` status, 1 if it
    raised (logged as ``what`` failed) or the process was killed.

    For what a serving process does once at its start and would otherwise
    carry ever after. The schema's check and upgrade import alembic and
    every migration script: memory no request needs, in every process
    forked from this one too (the all-in-one at 100 000 nodes, both API
    processes after ``benchmarks/memory.py --rounds 2``: 134-135 MiB PSS
    this way against 139-144 with the upgrade in the first process).

    Run in this process instead where forking is not safe: another thread
    runs (the child would have only this one, and the locks the others
    held stay held), or the threads cannot be told (not Linux).
    """
    if not single_threaded():
        return _status_of(function, what)
    flush_output()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            status = _status_of(function, what)
        finally:
            flush_output()
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(wait_status)
    if status < 0:
        LOG.error('%s failed: its process was killed by signal %d', what,
                  -status)
        return 1
    return status


def _status_of(function: Callable[[], object], what: str) -> int:
    try:
        function()
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    except Exception:
        LOG.exception('%s failed', what)
        return 1
    return 0


def flush_output() -> None:
    """Write out what stdout and stderr hold: before a fork, else the
    child writes it too."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


def single_threaded() -> bool:
    """Whether this process runs one thread only (C threads included);
    False where that cannot be told (not Linux)."""
    try:
        return len(os.listdir('/proc/self/task')) == 1
    except OSError:
        return False  # not Linux: threads unknown


# glibc's mallopt() parameters.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Allocations from this size up get pages of their own, unmapped when freed.
MMAP_THRESHOLD = 128 * 1024
# Heaps for the allocating threads to share.
ARENA_MAX = 2
# Set, any of them says the operator tunes malloc: leave it be.
_MALLOC_ENVIRONMENT = ('GLIBC_TUNABLES', 'MALLOC_ARENA_MAX',
                       'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_')


def tune_malloc() -> bool:
    """Keep a serving process's memory near what it uses; whether glibc's
    malloc was tuned.

    glibc raises its mmap threshold each time a large block is freed, up to
    32 MiB: after a few large responses (a detail page of 1 000 nodes is
    megabytes of rows, JSON and body), their buffers come from the heap,
    and a heap returns memory only from its top, so each thread's heap
    keeps its largest page alive. A fixed threshold gives such buffers back
    when they are freed, and two arenas rather than eight per core (one
    each for many request threads) keep less freed memory between
    requests. Measured on the all-in-one after the scale benchmark's reads
    at 10 000 nodes: from 147-167 MiB down to 131-143 MiB.

    Nothing is changed when the environment tunes malloc itself
    (``GLIBC_TUNABLES``, ``MALLOC_ARENA_MAX``, ...) or the C library is not
    glibc.
    """
    global _tuned_libc
    if any(name in os.environ for name in _MALLOC_ENVIRONMENT):
        return False
    libc = ctypes.CDLL(None)
    if not hasattr(libc, 'gnu_get_libc_version'):
        return False  # another C library: its mallopt, if any, differs
    tuned = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                 and libc.mallopt(_M_ARENA_MAX, ARENA_MAX))
    _tuned_libc = libc if tuned else None
    return tuned


# glibc, once tune_malloc() tuned it.
_tuned_libc = None


def release_free_memory() -> None:
    """Free what reference cycles still hold, then give the system back
    the pages malloc holds free inside its heaps (glibc's
    ``malloc_trim``, where :func:`tune_malloc` tuned malloc).

    A request's objects form cycles (pecan's request and response with
    the WSGI environment) that hold its answer's rows and body until the
    collector runs, which only allocations make it do: after a burst of
    detail pages at 100 000 nodes, 20-26 MiB per API process waited for
    it in idle processes. In the all-in-one the collection looks at the
    objects made since the fork only (the others are frozen): a
    millisecond or two; some 30 ms where nothing is frozen.

    A heap returns memory by itself only from its top: after large
    answers, the pages freed below what is still in use stay with the
    process. Measured on the all-in-one after 1 000-node detail pages at
    100 000 nodes: 8 MiB per API process given back, in about a
    millisecond.
    """
    gc.collect()
    if _tuned_libc is not None:
        _tuned_libc.malloc_trim(0)
