"""The API's most frequent reads, answered without pecan and WSME.

Monitoring and Nova poll ``GET /v1/nodes/{ident}``, ``GET /v1/conductors``
and ``GET /v1/conductors/{hostname}`` constantly. Through pecan each costs
routing through three controllers, six hooks, WSME's argument handling and
webob's request and response objects: most of a millisecond before the
first row is read. :class:`HotReads` sits just outside pecan, recognises
these requests on their happy path and answers them with the functions the
controllers call (:func:`node.show_node`, :func:`conductor.list_conductors`,
:func:`conductor.show_conductor`), the same context, version negotiation
and policy, and the headers pecan's hooks would add.

Anything else goes to pecan unchanged: another method or path, a query
parameter other than ``fields``, a request body, an ``Accept`` header it
does not know, and every error (no such node, a bad version header, a
refusal of the policy...). Error answers therefore stay exactly pecan's,
and the fast path never has to reproduce them. Nothing it does to the
request before falling through changes what pecan answers (it only caches,
in the environ, values pecan would compute the same way).
"""

import json
import re
from collections.abc import Callable

from oslo_log import log
from webob import headers as webob_headers
from webob import request as webob_request

from ironic_lite.api import expose
from ironic_lite.api import hooks
from ironic_lite.api import versions
from ironic_lite.api.controllers.v1 import conductor
from ironic_lite.api.controllers.v1 import node
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import context
from ironic_lite.common import exception
from ironic_lite.conductor import rpcapi
from ironic_lite.db import api as db_api

LOG = log.getLogger(__name__)

# Path segments pecan would not take for a node or a conductor: the
# controller's own attributes and custom actions, and the words
# RestController reads as verbs.
_PECAN_WORDS = frozenset({'new', 'edit', 'delete'})
# Idents with nothing to decode or escape; others go to pecan.
_NODE_PATH = re.compile(r'/v1/nodes/([A-Za-z0-9\-._~]+)\Z')
_CONDUCTOR_PATH = re.compile(r'/v1/conductors/([A-Za-z0-9\-._~:\[\]]+)\Z')
_CONDUCTORS_PATH = '/v1/conductors'
_FIELDS_QUERY = re.compile(r'fields=([A-Za-z_]+(?:,[A-Za-z_]+)*)\Z')
# What pecan answers with JSON, as it does without an Accept header.
_ACCEPTED = frozenset({None, '*/*', 'application/json'})

_JSON_HEADERS = [('Content-Type', 'application/json')]


class HotRequest:
    """What the controllers' read functions use of pecan's request."""

    __slots__ = ('environ', 'version', 'context', 'dbapi', 'rpcapi',
                 'ring_manager', '_host_url')

    def __init__(self, environ: dict, version: int):
        self.environ = environ
        self.version = version
        self.context = None
        self.dbapi = db_api.get_instance()
        self.rpcapi = rpcapi.get_api()
        self.ring_manager = self.rpcapi.ring_manager
        self._host_url = None

    @property
    def host_url(self) -> str:
        # Rarely read (links cache the public URL in the environ): webob's
        # own answer, so that links stay exactly pecan's.
        if self._host_url is None:
            self._host_url = webob_request.BaseRequest(
                self.environ).host_url
        return self._host_url


def _not_ours(ident: str, controller: type) -> bool:
    return ident in _PECAN_WORDS or hasattr(controller, ident)


def _fields(query: str) -> tuple[bool, list[str] | None]:
    """(whether the query is one this path takes, ``fields`` as WSME
    would convert it)."""
    if not query:
        return True, None
    match = _FIELDS_QUERY.match(query)
    if match is None:
        return False, None
    return True, types.listtype.validate(match.group(1))


def _encode_orjson(result: dict) -> bytes:
    return expose._FastJSONRenderer.render(None, {'result': result})


def _encode_wsme(result: dict) -> bytes:
    # WSME's encoding of a jsontype result.
    return json.dumps(result).encode('utf-8')


class HotReads:
    """WSGI middleware answering the hot reads itself, the rest through
    ``app`` (pecan, behind the error wrapping)."""

    def __init__(self, app: Callable):
        self.app = app

    def _route(self, environ: dict):
        """(read function, its arguments, encoder) for a request this path
        serves, else None."""
        if (environ.get('REQUEST_METHOD') != 'GET'
                or environ.get('CONTENT_LENGTH') not in (None, '', '0')
                or 'HTTP_TRANSFER_ENCODING' in environ
                or environ.get('HTTP_ACCEPT') not in _ACCEPTED):
            return None
        path = environ.get('PATH_INFO', '')
        query = environ.get('QUERY_STRING', '')
        if path == _CONDUCTORS_PATH:
            if query:
                return None
            return conductor.list_conductors, (), _encode_wsme
        match = _NODE_PATH.match(path)
        if match is not None:
            ident, show, encode = (match.group(1), node.show_node,
                                   _encode_orjson)
            controller = node.NodesController
        else:
            match = _CONDUCTOR_PATH.match(path)
            if match is None:
                return None
            ident, show, encode = (match.group(1), conductor.show_conductor,
                                   _encode_wsme)
            controller = conductor.ConductorsController
        if _not_ours(ident, controller):
            return None
        ok, fields = _fields(query)
        if not ok:
            return None
        return show, (ident, fields), encode

    def __call__(self, environ, start_response):
        route = self._route(environ)
        if route is None:
            return self.app(environ, start_response)
        answer = self._answer(environ, *route)
        if answer is None:
            return self.app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    def _answer(self, environ: dict, read, args: tuple, encode):
        try:
            version = versions.parse(webob_headers.EnvironHeaders(environ))
        except exception.NotAcceptable:
            return None  # pecan's 406
        request = HotRequest(environ, version)
        try:
            request.context = hooks.request_context(environ)
            body = encode(read(request, *args))
        except exception.IronicLiteException as e:
            # Not found, refused...: pecan answers it, as always.
            LOG.debug('%s %s left to pecan: %r', environ['REQUEST_METHOD'],
                      environ['PATH_INFO'], e)
            return None
        except Exception:
            # Pecan answers it too (and logs it if it fails there), but a
            # failure only this path has must not go unseen.
            LOG.exception('%s %s failed on the hot path; pecan answers it',
                          environ['REQUEST_METHOD'], environ['PATH_INFO'])
            return None
        finally:
            context.clear_current()
        headers = [('Content-Length', str(len(body)))]
        headers += _JSON_HEADERS
        headers += versions.response_headers(version)
        headers += hooks.request_id_headers(request.context.request_id)
        return '200 OK', headers, body
