"""How controller methods are exposed: WSME's ``wsexpose``, JSON only, and
an unexpected failure never shows its internals to the client."""

import functools
import inspect
import itertools
import json

import orjson
import pecan
import pecan.templating
import pecan.util
import sqlalchemy.exc
import wsme.exc
import wsmeext.pecan
from oslo_db import exception as db_exc
from oslo_log import log
from webob import exc as webob_exc

from ironic_lite.api import request_body
from ironic_lite.common import exception

LOG = log.getLogger(__name__)

_PASS_THROUGH = (exception.IronicLiteException, wsme.exc.ClientSideError,
                 webob_exc.HTTPException)


class Rejected:
    """A parameter value that did not convert, and why.

    WSME wraps a conversion error of a query parameter in its own words
    ("unable to convert to boolean. Error: ..."); Ironic's clients see the
    error itself. A type returns this instead of raising, and the controller
    raises the error before it runs.
    """

    def __init__(self, error: exception.IronicLiteException):
        self.error = error


class InternalError(exception.IronicLiteException):
    _msg_fmt = ('The server could not complete the request because of an '
                'internal error; its log has the details.')


def guard(f):
    """Turn any exception that is not ours into a logged, opaque 500, and a
    lost database into 503."""

    @functools.wraps(f)
    def guarded(*args, **kwargs):
        for value in itertools.chain(args, kwargs.values()):
            if isinstance(value, Rejected):
                raise value.error
        try:
            return f(*args, **kwargs)
        except exception.IronicLiteException as e:
            if e.retry_after is not None:
                pecan.response.headers['Retry-After'] = str(e.retry_after)
            if e.code >= 500 and str(e) != e.faultstring:
                # Crossed RPC (a conductor's 503): its str() ends with the
                # remote traceback, which WSME puts in a 5xx faultstring.
                raise type(e).__mro__[1](e.faultstring) from None
            raise
        except _PASS_THROUGH:
            raise
        except (db_exc.DBConnectionError, sqlalchemy.exc.OperationalError):
            # (oslo.db leaves errors raised while the pool reconnects as
            # they are.)
            LOG.exception('The database is unreachable')
            raise exception.ServiceUnavailable(
                service='The database', reason='no connection')
        except Exception:
            LOG.exception('Unexpected error in %s', f.__qualname__)
            raise InternalError()

    guarded.__signature__ = inspect.signature(f)
    return guarded


def _taking_body(f):
    """``f`` with its last parameter filled with the request's JSON body,
    and hidden from WSME and pecan: neither may fill it from the path or
    the query."""
    signature = inspect.signature(f)
    parameters = list(signature.parameters.values())
    name = parameters[-1].name

    @functools.wraps(f)
    def with_body(*args, **kwargs):
        document = request_body.document(pecan.request.environ)
        if document is None:
            # WSME's wording.
            raise exception.Invalid('Missing argument: "%s"' % name)
        kwargs[name] = document
        return f(*args, **kwargs)

    with_body.__signature__ = signature.replace(parameters=parameters[:-1])
    return with_body


def expose(*args, body=None, **kwargs):
    """Expose a controller method; its return type and the types of its
    query parameters as for ``wsexpose``.

    :param body: the method takes the request's JSON body as its last
        argument (only ``types.jsontype``: the document as parsed by
        :func:`request_body.document`, never by WSME).
    """
    kwargs.setdefault('rest_content_types', ('json',))
    exposer = wsmeext.pecan.wsexpose(*args, **kwargs)

    def decorate(f):
        exposed = exposer(guard(f if body is None else _taking_body(f)))
        # WSME needs the real signature; pecan must keep seeing the wrapper's
        # (self, *args, **kwargs), or it takes every argument for a path
        # segment.
        exposed.__dict__.pop('__signature__', None)
        return exposed
    return decorate


class _FastJSONRenderer:
    """Encodes what :func:`expose_read` methods return with orjson; their
    errors as WSME encodes them."""

    def __init__(self, path, extra_vars):
        pass

    @staticmethod
    def render(template_path, namespace):
        if 'faultcode' in namespace:
            return json.dumps(namespace)
        try:
            return orjson.dumps(namespace['result'])
        except TypeError:
            # What orjson refuses and json takes (integers beyond 64 bits;
            # a reader hands stored documents over as orjson.Fragment).
            return json.dumps(namespace['result'])


pecan.templating._builtin_renderers['orjson'] = _FastJSONRenderer


def _remember_argspecs(getargspec):
    """pecan reads the signature of each controller method it routes
    through, a dozen per request, each time with ``inspect`` and a new
    namedtuple class (a quarter of a small request's time). A method's
    signature never changes once :func:`expose` has finished with it (it
    takes the ``__signature__`` WSME needed away): read it once."""
    known = {}

    def remembered(function):
        key = getattr(function, '__func__', function)
        if '__signature__' in getattr(key, '__dict__', ()):
            return getargspec(function)  # being decorated
        argspec = known.get(key)
        if argspec is None:
            argspec = known[key] = getargspec(function)
        return argspec
    return remembered


pecan.util._getargspec = _remember_argspecs(pecan.util._getargspec)


def expose_read(*args, **kwargs):
    """:func:`expose` for a method that reads: what it returns is encoded
    with orjson rather than WSME (the same document; a list of a thousand
    nodes is encoded in milliseconds), and may hold ``orjson.Fragment``
    (JSON text passed on as it is)."""
    decorate = expose(*args, **kwargs)

    def decorate_read(f):
        exposed = decorate(f)
        # The template pecan renders JSON with (pecan.expose would also
        # replace the argument specification WSME gave pecan).
        pecan.util._cfg(exposed)['content_types']['application/json'] = (
            'orjson:')
        return exposed
    return decorate_read
