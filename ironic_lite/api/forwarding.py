"""The all-in-one's extra API workers: they read, the first process writes.

The all-in-one's conductor is inside its first process, and its RPC
(``fake://``) cannot leave that process. With ``[api]api_workers`` above
1, the extra worker processes serve every request that needs no
conductor themselves (reads: the bulk of an API's traffic, and all of the
hot paths) and pass every other one, whole and unchanged, to the first
process over a private Unix socket, then give its answer back as it came.
The first process authenticates, authorises and answers those requests as
if the client had sent them to it, so nothing about them differs.

What needs the conductor: every request that is not a GET or HEAD, and the
few reads that ask the conductor (:func:`needs_primary`). A read missing
from that list does not hang: in a worker, RPC refuses at once with 503
(``rpc.refuse_calls``), and a test walks the API's reads to keep the list
whole.
"""

import http.client
import socket
import urllib.parse
from collections.abc import Callable
from collections.abc import Iterable

from oslo_log import log

from ironic_lite.api import server

LOG = log.getLogger(__name__)

# Reads answered by a conductor: the path's segments after /v1, '*' for any
# one segment (a node, a driver).
_READS_OF_THE_CONDUCTOR = (
    ('nodes', 'validate'),
    ('nodes', '*', 'validate'),
    ('nodes', '*', 'vifs'),
    ('nodes', '*', 'management', 'boot_device'),
    ('nodes', '*', 'management', 'boot_device', 'supported'),
    ('drivers', '*', 'properties'),
)
_READS = frozenset({'GET', 'HEAD'})
# Headers of one connection, not of the request or the answer.
_HOP_BY_HOP = frozenset({
    'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization',
    'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade'})
# The worker's server writes these itself.
_SERVER_WRITES = _HOP_BY_HOP | {'date', 'server'}
# Characters a path segment keeps as they are (RFC 3986 pchar, and '/').
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def needs_primary(method: str, path: str) -> bool:
    """Whether the request must be answered by the process holding the
    conductor."""
    if method not in _READS:
        return True
    segments = [s for s in path.split('/') if s]
    if segments[:1] != ['v1']:
        return False
    segments = segments[1:]
    return any(
        len(pattern) == len(segments)
        and all(p == '*' or p == s for p, s in zip(pattern, segments,
                                                       strict=True))
        for pattern in _READS_OF_THE_CONDUCTOR)


class _UnixConnection(http.client.HTTPConnection):

    def __init__(self, path: str, timeout: float | None):
        super().__init__('localhost', timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class ForwardToPrimary:
    """WSGI middleware of an extra worker: requests that need the
    conductor go to the first process at ``socket_path``; the others to
    ``app``.

    :param timeout: how long the first process may take to answer; a
        request it does not answer in time gets 504.
    """

    def __init__(self, app: Callable, socket_path: str, timeout: float):
        self._app = app
        self._socket_path = socket_path
        self._timeout = timeout

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        if not needs_primary(environ['REQUEST_METHOD'],
                             environ.get('PATH_INFO', '')):
            return self._app(environ, start_response)
        return self._forward(environ, start_response)

    def _forward(self, environ: dict, start_response) -> Iterable[bytes]:
        body = environ['wsgi.input'].read(
            int(environ.get('CONTENT_LENGTH') or 0))
        connection = _UnixConnection(self._socket_path, self._timeout)
        try:
            connection.request(environ['REQUEST_METHOD'], _target(environ),
                               body=body or None,
                               headers=_request_headers(environ))
            answer = connection.getresponse()
            content = answer.read()
        except TimeoutError:
            LOG.error('The first process did not answer %s %s within %s '
                      'seconds', environ['REQUEST_METHOD'],
                      environ.get('PATH_INFO'), self._timeout)
            return _fault(start_response, '504 Gateway Timeout',
                          'The request took too long; it may still be in '
                          'progress.')
        except (OSError, http.client.HTTPException) as e:
            LOG.error('Cannot pass %s %s to the first process: %s',
                      environ['REQUEST_METHOD'], environ.get('PATH_INFO'), e)
            return _fault(start_response, '503 Service Unavailable',
                          'The service is stopping or restarting; try '
                          'again.')
        finally:
            connection.close()
        headers = [(name, value) for name, value in answer.getheaders()
                   if name.lower() not in _SERVER_WRITES]
        start_response('%d %s' % (answer.status, answer.reason), headers)
        return [content]


def _target(environ: dict) -> str:
    """The request's path and query, as the client sent them (waitress
    hands the path over decoded, as Latin-1)."""
    path = urllib.parse.quote(
        (environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', ''))
        .encode('latin-1'), safe=_PATH_SAFE)
    query = environ.get('QUERY_STRING')
    return path + '?' + query if query else path


def _request_headers(environ: dict) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith('HTTP_'):
            name = key[5:].replace('_', '-').title()
        elif key in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
            name = key.replace('_', '-').title()
        else:
            continue
        if value and name.lower() not in _HOP_BY_HOP:
            headers[name] = value
    return headers


def _fault(start_response, status: str, message: str) -> list[bytes]:
    """An answer of this worker's own, as the server's own errors are."""
    body, headers = server.error_answer(message, int(status.split()[0]))
    start_response(status, headers + [('Content-Length', str(len(body)))])
    return [body]
