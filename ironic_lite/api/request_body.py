"""The request body: read once, bounded, and parsed as strict JSON.

:func:`take` runs before routing on every request. It is the only reader of
``wsgi.input``: it refuses a body that is too large or not JSON by its
headers, reads at most ``[api]max_request_body_size`` + 1 bytes, turns what a
broken transfer raises into a 4xx, and leaves the application an empty
stream. WSME and webob therefore never see the body (they would parse a form
or multipart body into parameters, read any amount into memory, and let a
read error become a 500); the one method that takes a body gets it from
:func:`document`, the one JSON parse of the request.
"""

import io
import json
import math

from ironic_lite.common import exception

ENVIRON_KEY = 'ironic_lite.request_body'
# Deeper documents are refused. Node documents (driver_info, extra, ...) are
# a few levels deep; Python's recursive JSON parser fails near 1000.
MAX_DEPTH = 32
# What WSME took as JSON, and every structured "+json" type
# (application/json-patch+json, application/vnd.openstack.ironic.v1+json).
_JSON_TYPES = frozenset({'application/json', 'text/javascript',
                         'application/javascript'})
_READ_SIZE = 65536
_NOT_JSON = 'Request is not in valid JSON format'


class RequestEntityTooLarge(exception.IronicLiteException):
    _msg_fmt = ('Request is too large. Larger than max_request_body_size '
                '(%(limit)d bytes).')
    code = 413


class UnsupportedMediaType(exception.IronicLiteException):
    # WSME's wording.
    _msg_fmt = 'Unknown mimetype: %(mimetype)s'
    code = 415


class RequestTimeout(exception.IronicLiteException):
    _msg_fmt = ('The request body did not arrive in time: %(reason)s')
    code = 408


class IncompleteBody(exception.Invalid):
    _msg_fmt = 'The request body could not be read: %(reason)s'


def is_json(mimetype: str) -> bool:
    """A media type (lowercase, without parameters) the API parses."""
    return mimetype in _JSON_TYPES or (
        mimetype.startswith('application/') and mimetype.endswith('+json'))


def _declared_length(environ) -> int | None:
    raw = environ.get('CONTENT_LENGTH') or ''
    if not raw.strip():
        return None
    if not raw.strip().isdigit():
        raise IncompleteBody(reason='invalid Content-Length %r' % raw)
    return int(raw)


def _is_chunked(environ) -> bool:
    return 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower()


def take(environ, limit: int) -> None:
    """Read the request's body into ``environ[ENVIRON_KEY]`` (None when
    there is none) and leave ``wsgi.input`` empty.

    A request without Content-Type is taken as JSON: every client of the
    API sends JSON, and the parse refuses anything else.

    :raises RequestEntityTooLarge: more than ``limit`` bytes, by the
        Content-Length before reading, or counted while reading a chunked
        body.
    :raises UnsupportedMediaType: a body that is not declared as JSON.
    :raises IncompleteBody: a body shorter than its Content-Length, or a
        transfer the server could not decode (a malformed chunk).
    :raises RequestTimeout: the server gave up waiting for the body.
    """
    length = _declared_length(environ)
    chunked = _is_chunked(environ)
    environ[ENVIRON_KEY] = None
    if not chunked and not length:
        # Nothing to read, so nothing to declare: webob would still parse
        # "the form" of a multipart Content-Type, and fail on it.
        environ.pop('CONTENT_TYPE', None)
        return
    if not chunked and length > limit:
        raise RequestEntityTooLarge(limit=limit)
    mimetype = environ.get('CONTENT_TYPE', '').split(';')[0].strip().lower()
    if mimetype and not is_json(mimetype):
        raise UnsupportedMediaType(mimetype=mimetype)
    # A chunked body is read up to one byte past the limit: enough to know
    # it is too large, never more.
    wanted = limit + 1 if chunked else length
    body = _read(environ['wsgi.input'], wanted)
    if len(body) > limit:
        raise RequestEntityTooLarge(limit=limit)
    if not chunked and len(body) < length:
        raise IncompleteBody(reason='%d bytes received of the %d its '
                             'Content-Length announced'
                             % (len(body), length))
    environ[ENVIRON_KEY] = body
    environ['wsgi.input'] = io.BytesIO(b'')
    environ['CONTENT_LENGTH'] = '0'
    environ.pop('HTTP_TRANSFER_ENCODING', None)


def _read(stream, wanted: int) -> bytes:
    """Up to ``wanted`` bytes, fewer if the stream ends first."""
    chunks = []
    received = 0
    try:
        while received < wanted:
            chunk = stream.read(min(_READ_SIZE, wanted - received))
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
    except TimeoutError as e:
        raise RequestTimeout(reason=str(e) or 'timed out')
    # What servers raise for a broken transfer: cheroot a ValueError for a
    # bad chunk size, gunicorn and mod_wsgi an IOError, any of them an
    # OSError when the connection fails.
    except (OSError, ValueError) as e:
        raise IncompleteBody(reason=str(e) or type(e).__name__)
    return b''.join(chunks)


def _refuse_constant(name: str):
    raise exception.Invalid('%s: %s is not a JSON number' % (_NOT_JSON, name))


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise exception.Invalid('%s: %s is out of range for a number'
                                % (_NOT_JSON, text))
    return value


def _too_deep(value, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` deep;
    iterative, so that no document can exhaust the stack."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def _deep_error() -> exception.Invalid:
    return exception.Invalid('%s: it is nested deeper than %d levels'
                             % (_NOT_JSON, MAX_DEPTH))


def document(environ):
    """The request's body as JSON; None when it has none.

    Strict: UTF-8 only, no ``NaN``/``Infinity`` (Python's parser takes
    them, and they would later be sent back as bare tokens no JSON parser
    reads), no number that overflows to infinity, at most
    :data:`MAX_DEPTH` levels of arrays and objects.

    :raises Invalid: the body is not such a document.
    """
    raw = environ.get(ENVIRON_KEY)
    if not raw:
        return None
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        raise exception.Invalid('%s: it is not UTF-8 (%s)' % (_NOT_JSON, e))
    try:
        value = json.loads(text, parse_constant=_refuse_constant,
                           parse_float=_finite_float)
    except RecursionError:
        raise _deep_error()
    except ValueError:
        # WSME's wording, which clients and tests know.
        raise exception.Invalid(_NOT_JSON)
    if _too_deep(value, MAX_DEPTH):
        raise _deep_error()
    return value
