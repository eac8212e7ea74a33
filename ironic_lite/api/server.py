"""Serve the API with waitress, so that slow or idle clients cannot starve it.

waitress reads every request, headers and body, in one event loop and hands
it to a thread of ``[api]api_threads`` only once it is complete: a client
that sends slowly costs a socket, never a thread. On top of waitress's own
limits (connections, idle time, header and body size) this module adds what
it lacks: a deadline for the headers and one for the body, errors in Ironic's
JSON format, and a stop that drains requests in progress from another
thread.
"""

import json
import os
import resource
import secrets
import socket
import threading
import time
from collections.abc import Callable

from oslo_log import log
from waitress import adjustments
from waitress import channel as waitress_channel
from waitress import server as waitress_server
from waitress import task as waitress_task
from waitress import utilities
from waitress import wasyncore

from ironic_lite.api import app
from ironic_lite.api import hooks
from ironic_lite.api import request_body
from ironic_lite.api import versions
from ironic_lite.api import workers
from ironic_lite.common import context
from ironic_lite.common import startup
from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)

# The request line and headers together; Apache allows about as much, and
# Keystone tokens fit many times over.
MAX_HEADER_BYTES = 64 * 1024
# How often deadlines are checked, and how long the event loop sleeps when
# nothing happens: a deadline is enforced at most about this much late.
SWEEP_SECONDS = 1.0
# File descriptors the process needs besides its client connections.
SPARE_FILES = 256

_HEADERS = 'headers'
_BODY = 'body'


def max_body_bytes() -> int:
    """The largest body the server reads: what the API accepts. The
    server's 413 says what the API's would, and it comes before the body
    when the Content-Length gives the size away."""
    return CONF.api.max_request_body_size


class RequestTimeout(utilities.BadRequest):
    code = 408
    reason = 'Request Timeout'


class _ErrorTask(waitress_task.ErrorTask):
    """A request the server refuses itself, answered as the API would."""

    def execute(self):
        error = self.request.error
        if isinstance(error, utilities.RequestEntityTooLarge):
            message = request_body.RequestEntityTooLarge(
                limit=max_body_bytes()).faultstring
        else:
            message = '%s: %s' % (error.reason, error.body)
        if error.code < 500:
            LOG.info('Refused a request from %s: %s', self.channel.addr[0],
                     message)
        body, headers = error_answer(
            message, error.code,
            # Clients read the version range from any answer under /v1.
            versions_range=bool((getattr(self.request, 'path', None)
                                 or '').strip('/')))
        self.status = '%d %s' % (error.code, error.reason)
        self.response_headers += headers
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


def error_answer(message: str, code: int, versions_range: bool = True
                 ) -> tuple[bytes, list[tuple[str, str]]]:
    """The body and headers of an error the server answers itself (not
    the API), in Ironic's format, with a new request id; with the version
    range headers if ``versions_range``."""
    body = json.dumps({'error_message': hooks.fault_body(
        message, server=code >= 500)}).encode('utf-8')
    headers = [('Content-Type', 'application/json')]
    headers += hooks.request_id_headers(context.new_request_id())
    if versions_range:
        headers += [(versions.MIN_VERSION_HEADER, versions.MIN_VERSION_STRING),
                    (versions.MAX_VERSION_HEADER, versions.MAX_VERSION_STRING)]
    return body, headers


# An answer's first bytes up to this size are sent with its status line
# and headers (see _Task): larger, the copy would cost more than a send.
COALESCE_BYTES = 64 * 1024
# An answer this large leaves memory freed behind it (its rows, objects,
# JSON, body) that malloc keeps; once no request runs, the server gives
# the free pages back (see _Deadlines.maintenance).
RELEASE_AFTER_BYTES = 256 * 1024


class _Task(waitress_task.WSGITask):
    """A request's task whose status line and headers leave in the same
    send() as the first bytes of the body.

    waitress sends the headers as soon as they are built, then the body: two
    system calls and two TCP segments for a small answer, each with its
    lock and buffer handling, and a client woken twice. The channel holds
    the headers back for the body's first write (:meth:`_Channel.hold`).
    """

    def service(self):
        try:
            super().service()
        finally:
            if self.content_bytes_written >= RELEASE_AFTER_BYTES:
                self.channel.server.release_pending = True

    def write(self, data):
        coalesce = (not self.wrote_header and isinstance(data, bytes)
                    and 0 < len(data) <= COALESCE_BYTES)
        if coalesce:
            self.channel.hold()
        try:
            super().write(data)
        finally:
            if coalesce:
                self.channel.release()


class _Channel(waitress_channel.HTTPChannel):
    """A client connection whose requests must arrive in time.

    The headers of a request are due ``[api]header_timeout`` seconds after
    its first byte (after the connection was accepted, for the first one),
    its body ``[api]body_timeout`` seconds after its headers. Between
    requests only waitress's idle timeout applies.
    """

    task_class = _Task
    error_task_class = _ErrorTask

    def __init__(self, *args, **kwargs):
        self._phase = _HEADERS
        self._phase_started = time.monotonic()
        self._timed_request = None
        # Bytes of the running task held back for its next write: None
        # when nothing is held, b'' while the next write is to be held.
        self._held = None
        super().__init__(*args, **kwargs)

    def hold(self) -> None:
        """In the task's thread: keep the next write (the headers) to send
        with the one after it."""
        self._held = b''

    def release(self) -> None:
        """In the task's thread: send whatever is still held."""
        held, self._held = self._held, None
        if held:
            super().write_soon(held)

    def write_soon(self, data):
        held = self._held
        if held is None or not data:
            return super().write_soon(data)
        if not held:
            self._held = data
            return len(data)
        self._held = None
        super().write_soon(held + data)
        return len(data)

    def received(self, data):
        result = super().received(data)
        self._follow(self.request, time.monotonic())
        return result

    def _follow(self, request, now: float) -> None:
        if request is None:
            self._phase = self._timed_request = None
            return
        phase = _BODY if request.headers_finished else _HEADERS
        if request is not self._timed_request:
            first = self._timed_request is None and self._phase is _HEADERS
            if phase is _BODY or not first:
                self._phase_started = now
            self._timed_request = request
            self._phase = phase
        elif phase is not self._phase:
            self._phase, self._phase_started = phase, now

    def writable(self):
        # While a task runs, its thread sends its own output (waitress's
        # send_bytes is 1): the loop would only find the output buffer
        # locked by it, and poll again at once, spinning against that
        # thread for the GIL (three times the CPU of a small request with
        # four clients). The loop takes over when the task ends (it pulls
        # the trigger), or if the output outgrows the high watermark
        # (the task then waits for the loop to send).
        if (self.requests and not (self.will_close
                                   or self.close_when_flushed)
                and self.total_outbufs_len
                < self.adj.outbuf_high_watermark):
            return False
        return super().writable()

    @property
    def busy(self) -> bool:
        """Serving a request or sending an answer: not reading from the
        client, so its clock must not run."""
        return bool(self.requests or self.total_outbufs_len
                    or self.will_close or self.close_when_flushed)

    def enforce_deadline(self, now: float, header_timeout: float,
                         body_timeout: float) -> None:
        if self._phase is None:
            return
        if self.busy:
            self._phase_started = now
            return
        limit = header_timeout if self._phase is _HEADERS else body_timeout
        if now - self._phase_started < limit:
            return
        what = 'headers' if self._phase is _HEADERS else 'body'
        self._phase = None
        self._time_out('the request %s did not arrive within %s seconds'
                       % (what, limit))

    def _time_out(self, message: str) -> None:
        with self.requests_lock:
            partial, self.request = self.request, None
            if partial is None:
                # Nothing was asked: nothing to answer.
                self.will_close = True
                return
            partial.close()
            answer = self.parser_class(self.adj)
            answer.parse_header(b'GET / HTTP/1.0\r\n')
            answer.error = RequestTimeout(message)
            answer.completed = True
            self.requests.append(answer)
            self.server.add_task(self)


class _Deadlines:
    """A server whose clients' requests must arrive in time."""

    channel_class = _Channel
    header_timeout = body_timeout = 0
    # The workers.AcceptTurns of the processes sharing the listening
    # socket, or None; and whether the last look declined to accept.
    turns = None
    declining = False
    # Whether a large answer was served since free memory was last given
    # back.
    release_pending = False

    def maintenance(self, now):
        super().maintenance(now)
        clock = time.monotonic()
        for channel in list(self.active_channels.values()):
            channel.enforce_deadline(clock, self.header_timeout,
                                     self.body_timeout)
        # Once a burst of large answers is over, not after each: between
        # requests of a burst the memory would be taken again at once.
        # (In the event loop's thread, a millisecond at most once a sweep,
        # never in a request's time.)
        dispatcher = self.task_dispatcher
        if (self.release_pending and not dispatcher.active_count
                and not dispatcher.queue):
            self.release_pending = False
            startup.release_free_memory()

    def readable(self):
        accepting = super().readable()
        if self.turns is None:
            return accepting
        self.declining = not self.turns.may_accept(
            len(self.active_channels))
        return accepting and not self.declining


class _Server(_Deadlines, waitress_server.TcpWSGIServer):
    pass


class _UnixServer(_Deadlines, waitress_server.UnixWSGIServer):
    pass


class APIServer:
    """The API on ``[api]host_ip``:``[api]port`` (0 picks a free port)."""

    def __init__(self, application: Callable | None = None,
                 sock: socket.socket | None = None,
                 turns: workers.AcceptTurns | None = None):
        """``sock``: a socket already listening (shared by several
        worker processes); by default it binds its own. ``turns``: the
        ``workers.AcceptTurns`` of the processes sharing ``sock``, this
        one's slot taken."""
        self._application = application
        self._sock = sock
        self._turns = turns
        self._map = {}
        self._server = None
        self._thread = None
        self._stopping = threading.Event()
        self._drain_timeout = 0.0

    @property
    def address(self) -> tuple[str, int]:
        """The host and port it listens on."""
        return self._server.effective_host, self._server.effective_port

    @property
    def url(self) -> str:
        host, port = self.address
        if self._server.socket.family == socket.AF_UNIX:
            return 'unix:%s' % (port.lstrip('\0') if isinstance(port, str)
                                else port.lstrip(b'\0').decode())
        if ':' in host:
            host = '[%s]' % host
        return 'http://%s:%s' % (host, port)

    def start(self) -> None:
        """Listen, and serve in a thread of its own."""
        sock = self._sock or _bound_socket(CONF.api.host_ip, CONF.api.port)
        try:
            self._server = self._make_server(sock)
        except BaseException:
            sock.close()
            raise
        self._thread = threading.Thread(target=self._serve, name='api',
                                        daemon=True)
        self._thread.start()
        LOG.info('API listening on %s', self.url)

    def _make_server(self, sock: socket.socket) -> _Deadlines:
        api = CONF.api
        _allow_open_files(api.max_connections + SPARE_FILES)
        _check_backlog(api.backlog)
        adj = adjustments.Adjustments(
            sockets=[sock],
            threads=api.api_threads,
            # waitress counts its listening socket and its wake-up pipe.
            connection_limit=api.max_connections + 2,
            backlog=api.backlog,
            channel_timeout=api.idle_timeout,
            cleanup_interval=SWEEP_SECONDS,
            asyncore_loop_timeout=SWEEP_SECONDS,
            # poll(), not select(): select() fails past 1024 descriptors.
            asyncore_use_poll=True,
            max_request_header_size=MAX_HEADER_BYTES,
            # waitress refuses a body of this size or more.
            # waitress refuses a body of its limit; the API takes one.
            max_request_body_size=max_body_bytes() + 1,
            ident='ironic-lite',
            # A client hanging up is not our error to log with a traceback.
            log_socket_errors=False,
            # Headers go to the application as sent; it decides what to
            # trust, as it does behind any other server.
            clear_untrusted_proxy_headers=False,
        )
        dispatcher = waitress_task.ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adj.threads)
        kind = _UnixServer if sock.family == socket.AF_UNIX else _Server
        server = kind(self._application or app.setup_app(), map=self._map,
                         _sock=sock, dispatcher=dispatcher, adj=adj,
                         bind_socket=False,
                         sockinfo=(sock.family, sock.type, sock.proto,
                                   sock.getsockname()))
        server.header_timeout = api.header_timeout
        server.body_timeout = api.body_timeout
        server.turns = self._turns
        return server

    def _serve(self) -> None:
        server = self._server
        while not self._stopping.is_set():
            # A server declining its turn looks again soon: the others'
            # connections change without waking it.
            wasyncore.loop(timeout=(server.turns.RECHECK_SECONDS
                                    if server.declining else SWEEP_SECONDS),
                           use_poll=True, map=self._map, count=1)
        self._drain()

    def _drain(self) -> None:
        """In the serving thread: stop listening, hang up on every client
        not being served, give requests in progress until the deadline,
        then close everything."""
        server = self._server
        # The listening socket only: the workers still wake the loop
        # through the server's trigger.
        wasyncore.dispatcher.close(server)
        if server.turns is not None:
            server.turns.release()
        deadline = time.monotonic() + self._drain_timeout
        while True:
            for channel in list(server.active_channels.values()):
                if not channel.busy or time.monotonic() >= deadline:
                    channel.handle_close()
            if not server.active_channels:
                break
            wasyncore.loop(timeout=0.1, use_poll=True, map=self._map,
                           count=1)
        wasyncore.close_all(self._map)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving. Requests in progress get up to ``timeout`` seconds
        to finish; clients still sending a request are disconnected."""
        if self._thread is None:
            return
        self._drain_timeout = timeout
        self._stopping.set()
        try:
            self._server.pull_trigger()  # wake the loop now, not at a sweep
        except OSError:
            pass  # the loop saw the flag first and closed the trigger
        self._thread.join(timeout + 2 * SWEEP_SECONDS)
        if self._thread.is_alive():
            LOG.warning('The API server did not stop within %s seconds',
                        timeout)
        # Its threads end with the requests they still run, if any.
        self._server.task_dispatcher.shutdown(timeout=SWEEP_SECONDS)
        self._thread = None


def listening_socket() -> socket.socket:
    """A socket on ``[api]host_ip``:``[api]port`` (port 0: a free port),
    listening; the worker processes all accept on it (see
    ``workers.AcceptTurns`` for which one does)."""
    _check_backlog(CONF.api.backlog)
    sock = _bound_socket(CONF.api.host_ip, CONF.api.port)
    try:
        sock.listen(CONF.api.backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def private_unix_socket() -> tuple[socket.socket, str]:
    """A Unix socket, listening, for the all-in-one's workers to reach its
    first process, and its address. The address is in Linux's abstract
    namespace: no file to leave behind when the process is killed. It
    opens no other door than the API's own port: what arrives on it is
    authenticated and authorised as on the port."""
    address = '\0ironic-lite-api-%d-%s' % (os.getpid(), secrets.token_hex(8))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(address)
        sock.listen(CONF.api.backlog)
    except BaseException:
        sock.close()
        raise
    return sock, address


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ':' in host:
        host = '[%s]' % host
    return 'http://%s:%s' % (host, port)


def _bound_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _allow_open_files(needed: int) -> None:
    """Raise the soft limit on open files to fit every allowed connection:
    at the limit, accept() fails and the event loop would spin on it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < needed:
        LOG.warning('[api]max_connections needs about %d open files; the '
                    'limit of this process is %d', needed, hard)


def _check_backlog(backlog: int) -> None:
    try:
        with open('/proc/sys/net/core/somaxconn') as f:
            kernel_max = int(f.read())
    except (OSError, ValueError):
        return
    if backlog > kernel_max:
        LOG.warning('[api]backlog is %d but the kernel caps it at %d '
                    '(net.core.somaxconn)', backlog, kernel_max)
