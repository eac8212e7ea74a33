"""HTTP basic authentication against an Apache-style file of bcrypt hashes.

Answers as Ironic's ``http_basic`` strategy does: the same status codes,
messages and ``{"error": {"message", "code"}}`` body, ``WWW-Authenticate:
Basic realm="Baremetal API"`` on a 401, and on success the identity
headers ``X-User`` and ``X-User-Name`` carrying the user name, from which
the request context is built. The credentials do not travel further in.
"""

import base64
import binascii
import hashlib
import http
import json
import threading

import bcrypt
from oslo_log import log

from ironic_lite.common import exception

LOG = log.getLogger(__name__)

REALM = 'Baremetal API'
BCRYPT_PREFIXES = (b'$2y$', b'$2a$', b'$2b$')

# A client must not name itself: whatever identity arrives in these
# headers is dropped before the authenticated one is set.
_IDENTITY_HEADER_PREFIXES = (
    'HTTP_X_USER', 'HTTP_X_PROJECT', 'HTTP_X_TENANT', 'HTTP_X_DOMAIN',
    'HTTP_X_ROLE', 'HTTP_X_SERVICE_', 'HTTP_X_IS_ADMIN_PROJECT',
    'HTTP_X_IDENTITY_STATUS', 'HTTP_OPENSTACK_SYSTEM_SCOPE')

# bcrypt is slow by design (a quarter of a second per check at cost 12):
# remember the pairs that matched, by digest only, so that a client
# polling with the same credentials pays once.
_VERIFIED_CACHE_SIZE = 256


class _AuthError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _unauthorized(message: str = 'Incorrect username or password'):
    return _AuthError(401, message)


def _bad_request(message: str):
    return _AuthError(400, message)


def read_user_file(path: str) -> dict[str, bytes]:
    """The users of an htpasswd file and their bcrypt hashes.

    Blank lines and ``#`` comments are skipped; the first line of a user
    wins, as Apache reads it.

    :raises ConfigInvalid: the file cannot be read, or an entry is not a
        bcrypt hash.
    """
    users = {}
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise exception.ConfigInvalid(
            error_msg='Problem reading auth user file %s: %s' % (path, e))
    for number, line in enumerate(lines, 1):
        entry = line.strip()
        if not entry or entry.startswith('#'):
            continue
        username, sep, hashed = entry.partition(':')
        hashed = hashed.encode('utf-8')
        if not sep or hashed[:4] not in BCRYPT_PREFIXES:
            raise exception.ConfigInvalid(
                error_msg='Only bcrypt digested passwords are supported for '
                          '%s (%s, line %d)' % (username, path, number))
        users.setdefault(username, hashed)
    return users


def credentials(environ: dict) -> tuple[str, bytes]:
    """The user name and password of the request's Authorization header.

    :raises _AuthError: the header is missing (401) or cannot be read (400).
    """
    header = environ.get('HTTP_AUTHORIZATION')
    if not header:
        raise _unauthorized('Authorization required')
    parts = header.strip().split(None, 1)
    if len(parts) != 2:
        raise _bad_request('Could not parse Authorization header')
    scheme, token = parts
    if scheme.lower() != 'basic':
        raise _bad_request('Unsupported authorization type "%s"' % scheme)
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
        username, sep, password = decoded.partition(b':')
        if not sep:
            raise ValueError('no colon between user name and password')
        return username.decode('utf-8'), password
    except (binascii.Error, ValueError) as e:
        LOG.info('Could not decode authorization token: %s', e)
        raise _bad_request('Could not decode authorization token')


class BasicAuthMiddleware:
    """Let a request through only with the password of a user of
    ``user_file``."""

    def __init__(self, app, user_file: str):
        self.app = app
        self.user_file = user_file
        read_user_file(user_file)  # a broken file stops the start-up
        self._verified = set()
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        try:
            username = self._authenticate(environ)
        except _AuthError as e:
            return self._refuse(e.code, e.message, start_response)
        except exception.ConfigInvalid as e:
            LOG.error('Cannot authenticate: %s', e)
            return self._refuse(500, 'Problem reading auth user file',
                                start_response)
        environ.pop('HTTP_AUTHORIZATION', None)
        for key in [k for k in environ
                    if k.startswith(_IDENTITY_HEADER_PREFIXES)]:
            del environ[key]
        environ['HTTP_X_USER'] = username
        environ['HTTP_X_USER_NAME'] = username
        return self.app(environ, start_response)

    def _authenticate(self, environ) -> str:
        username, password = credentials(environ)
        hashed = read_user_file(self.user_file).get(username)
        if hashed is None:
            LOG.info('User %s not found', username)
            raise _unauthorized()
        if not self._password_matches(password, hashed):
            LOG.info('Password for %s does not match', username)
            raise _unauthorized()
        return username

    def _password_matches(self, password: bytes, hashed: bytes) -> bool:
        key = hashlib.sha256(hashed + b'\0' + password).digest()
        with self._lock:
            if key in self._verified:
                return True
        try:
            matches = bcrypt.checkpw(password, hashed)
        except ValueError as e:
            # A password bcrypt cannot take (over 72 bytes, a NUL byte) or
            # a damaged hash: no match, never an error.
            LOG.info('bcrypt refused the check: %s', e)
            return False
        if matches:
            with self._lock:
                if len(self._verified) >= _VERIFIED_CACHE_SIZE:
                    self._verified.clear()
                self._verified.add(key)
        return matches

    @staticmethod
    def _refuse(code: int, message: str, start_response):
        body = json.dumps({'error': {'message': message, 'code': code}}
                          ).encode('utf-8')
        headers = [('Content-Type', 'application/json'),
                   ('Content-Length', str(len(body)))]
        if code == 401:
            headers.append(('WWW-Authenticate', 'Basic realm="%s"' % REALM))
        start_response('%d %s' % (code, http.HTTPStatus(code).phrase),
                       headers)
        return [body]
