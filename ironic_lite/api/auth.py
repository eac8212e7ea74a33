"""The authentication strategies of the API (``[DEFAULT]auth_strategy``).

``noauth``: nobody is asked who they are and everyone is an administrator,
so the API serves only on a loopback address unless the operator says
otherwise (:func:`refuse_open_door`). ``http_basic``: users of an htpasswd
file of bcrypt hashes. ``keystone``: tokens checked by keystonemiddleware's
``auth_token``, configured in ``[keystone_authtoken]``.

With every strategy the version documents stay public: clients discover
the API before they authenticate.
"""

import ipaddress
import json
import re
from collections.abc import Callable

from oslo_log import log

from ironic_lite.api import expose
from ironic_lite.api.middleware import basic_auth
from ironic_lite.conf import CONF

NOAUTH = 'noauth'
HTTP_BASIC = 'http_basic'
KEYSTONE = 'keystone'

# Paths anyone may read, whatever the strategy; a trailing slash is
# ignored. Anchored at both ends.
PUBLIC_ROUTES = ('', '/v1')

ENVIRON_PUBLIC = 'is_public_api'

LOG = log.getLogger(__name__)


class PublicRoutes:
    """Send the public routes straight to ``app`` and everything else
    through ``auth`` (a middleware wrapping ``app``)."""

    def __init__(self, app: Callable, auth: Callable,
                 routes: tuple[str, ...] = PUBLIC_ROUTES):
        self.app = app
        self.auth = auth
        self._public = re.compile('(?:%s)$' % '|'.join(
            re.escape(route) for route in routes))

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '').rstrip('/')
        if self._public.match(path):
            environ[ENVIRON_PUBLIC] = True
            return self.app(environ, start_response)
        try:
            return self.auth(environ, start_response)
        except Exception:
            # keystonemiddleware raises on some misconfigurations (no
            # endpoint of Keystone for its interface, say): the operator
            # gets the traceback, the client the API's opaque 500.
            LOG.exception('Authentication failed unexpectedly for %s %s',
                          environ.get('REQUEST_METHOD'), path)
            return _internal_error(start_response)


def _internal_error(start_response) -> list[bytes]:
    from ironic_lite.api import hooks  # hooks import this module
    body = json.dumps({'error_message': hooks.fault_body(
        expose.InternalError().message, server=True)}).encode('utf-8')
    start_response('500 Internal Server Error', [
        ('Content-Type', 'application/json'),
        ('Content-Length', str(len(body)))])
    return [body]


def wrap(app: Callable, public: tuple[str, ...] = ()) -> Callable:
    """``app`` behind the configured strategy; ``public``: more routes
    that need no authentication.

    :raises ConfigInvalid: http_basic with an unreadable or non-bcrypt user
        file.
    """
    strategy = CONF.auth_strategy
    if strategy == HTTP_BASIC:
        auth = basic_auth.BasicAuthMiddleware(
            app, CONF.http_basic_auth_user_file)
    elif strategy == KEYSTONE:
        # Imported only when used: it reads [keystone_authtoken] and may
        # reach Keystone.
        from keystonemiddleware import auth_token
        auth = auth_token.AuthProtocol(app, {'oslo_config_config': CONF})
    else:
        return app
    return PublicRoutes(app, auth, PUBLIC_ROUTES + tuple(public))


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (also IPv4-mapped) or the name localhost."""
    host = host.strip().strip('[]').rstrip('.').lower()
    if host == 'localhost':
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, 'ipv4_mapped', None)
    return (mapped or address).is_loopback


def open_door_reason(host: str) -> str | None:
    """Why the API must not listen on ``host`` as configured; None when it
    may."""
    if (CONF.auth_strategy != NOAUTH or is_loopback(host)
            or CONF.api.allow_unauthenticated_remote):
        return None
    return ('Refusing to listen on %s: [DEFAULT]auth_strategy is noauth, so '
            'anyone who can reach that address would be an administrator '
            'of every node. Listen on a loopback address ([api]host_ip = '
            '127.0.0.1), choose an authentication strategy '
            '([DEFAULT]auth_strategy = http_basic or keystone), or, if only '
            'trusted clients can reach that network, set '
            '[api]allow_unauthenticated_remote = true.' % host)
