"""A conductor's probe of its own PXE environment (``pxe_health``).

What a node needs from its conductor to boot: the TFTP and HTTP roots the
boot interfaces write to, the deploy kernel and ramdisk, and the HTTP
server serving ``[deploy]http_root`` at ``[deploy]http_url``. Each check
says ``ok``, ``failed`` (with the error an operator can act on) or
``not_configured``. The probe runs in its own thread with its own timeouts,
never in the heartbeat's.
"""

import datetime
import os
import secrets
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from oslo_utils import timeutils

from ironic_lite.conf import CONF

OK = 'ok'
FAILED = 'failed'
NOT_CONFIGURED = 'not_configured'

# The probe fetches the conductor's own URLs: a proxy would test something
# else.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class CheckFailed(Exception):
    """A check's failure, its message the error shown to operators."""


class NotConfigured(Exception):
    """The option a check needs is not set."""


def _writable_directory(path: str) -> None:
    if not os.path.isdir(path):
        raise CheckFailed('%s does not exist or is not a directory' % path)
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix='.pxe-health-'):
            pass
    except OSError as e:
        raise CheckFailed('%s is not writable: %s' % (path, e.strerror or e))


def _http_get(url: str) -> bytes:
    try:
        with _OPENER.open(url, timeout=CONF.conductor.pxe_health_timeout
                          ) as response:
            return response.read()
    except urllib.error.HTTPError as e:
        raise CheckFailed('GET %s answered %s %s' % (url, e.code, e.reason))
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise CheckFailed('GET %s failed: %s'
                          % (url, getattr(e, 'reason', e)))


def _image(option: str) -> Callable[[], None]:
    def check() -> None:
        source = getattr(CONF.conductor, option)
        if not source:
            raise NotConfigured('[conductor]%s is not set' % option)
        parsed = urllib.parse.urlparse(source)
        if parsed.scheme in ('http', 'https'):
            _http_get(source)
            return
        path = (urllib.parse.unquote(parsed.path)
                if parsed.scheme == 'file' else source)
        if not os.path.isfile(path):
            raise CheckFailed('[conductor]%s %s is not a file' % (option,
                                                                   source))
        if not os.access(path, os.R_OK):
            raise CheckFailed('[conductor]%s %s is not readable'
                              % (option, source))
    return check


def _http_url() -> None:
    """Write a file under http_root and read it back through http_url, as
    a booting node would."""
    base = CONF.deploy.http_url
    if not base:
        raise NotConfigured('[deploy]http_url is not set')
    token = secrets.token_hex(16).encode()
    try:
        fd, path = tempfile.mkstemp(dir=CONF.deploy.http_root,
                                    prefix='.pxe-health-')
    except OSError as e:
        raise CheckFailed('could not write a probe file under %s: %s'
                          % (CONF.deploy.http_root, e.strerror or e))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(token)
        os.chmod(path, 0o644)  # the HTTP server may run as another user
        url = '%s/%s' % (base.rstrip('/'), os.path.basename(path))
        body = _http_get(url)
        if body != token:
            raise CheckFailed('GET %s answered another file than the one '
                              'written at %s: http_url does not serve '
                              'http_root' % (url, path))
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


CHECKS: dict[str, Callable[[], None]] = {
    'tftp_root': lambda: _writable_directory(CONF.pxe.tftp_root),
    'http_root': lambda: _writable_directory(CONF.deploy.http_root),
    'deploy_kernel': _image('deploy_kernel'),
    'deploy_ramdisk': _image('deploy_ramdisk'),
    'http_url': _http_url,
}


def probe(now: Callable[[], datetime.datetime] = timeutils.utcnow) -> dict:
    """Run every check now; the document stored as ``pxe_health``::

        {"checked_at": "<ISO 8601>", "ok": <no check failed>,
         "checks": {"<name>": {"status": "ok" | "failed" | "not_configured",
                               "error": "<text>" | null}, ...}}
    """
    checked_at = now().replace(tzinfo=datetime.timezone.utc).isoformat()
    checks = {}
    for name, check in CHECKS.items():
        try:
            check()
        except CheckFailed as e:
            checks[name] = {'status': FAILED, 'error': str(e)}
        except NotConfigured as e:
            checks[name] = {'status': NOT_CONFIGURED, 'error': str(e)}
        except Exception as e:  # a probe reports, it never dies
            checks[name] = {'status': FAILED,
                            'error': '%s: %s' % (type(e).__name__, e)}
        else:
            checks[name] = {'status': OK, 'error': None}
    return {'checked_at': checked_at,
            'ok': all(c['status'] != FAILED for c in checks.values()),
            'checks': checks}
