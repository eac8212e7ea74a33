"""How controller methods are exposed: WSME's ``wsexpose``, JSON only, and
an unexpected failure never shows its internals to the client."""

import functools
import inspect

import wsme.exc
import wsmeext.pecan
from oslo_db import exception as db_exc
from oslo_log import log
from webob import exc as webob_exc

from ironic_lite.common import exception

LOG = log.getLogger(__name__)

_PASS_THROUGH = (exception.IronicLiteException, wsme.exc.ClientSideError,
                 webob_exc.HTTPException)


class InternalError(exception.IronicLiteException):
    _msg_fmt = ('The server could not complete the request because of an '
                'internal error; its log has the details.')


def guard(f):
    """Turn any exception that is not ours into a logged, opaque 500, and a
    lost database into 503."""

    @functools.wraps(f)
    def guarded(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except _PASS_THROUGH:
            raise
        except db_exc.DBConnectionError:
            LOG.exception('The database is unreachable')
            raise exception.ServiceUnavailable(
                service='The database', reason='no connection')
        except Exception:
            LOG.exception('Unexpected error in %s', f.__qualname__)
            raise InternalError()

    guarded.__signature__ = inspect.signature(f)
    return guarded


def expose(*args, **kwargs):
    kwargs.setdefault('rest_content_types', ('json',))
    exposer = wsmeext.pecan.wsexpose(*args, **kwargs)

    def decorate(f):
        exposed = exposer(guard(f))
        # WSME needs the real signature; pecan must keep seeing the wrapper's
        # (self, *args, **kwargs), or it takes every argument for a path
        # segment.
        exposed.__dict__.pop('__signature__', None)
        return exposed
    return decorate
