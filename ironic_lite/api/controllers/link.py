"""Links in responses: ``self`` under /v1, ``bookmark`` without it."""

from ironic_lite.conf import CONF

_PUBLIC_URL_KEY = 'ironic_lite.public_url'


def public_url(request) -> str:
    """The URL clients reach this API at (worked out once per request: a
    list of a thousand nodes has two thousand links)."""
    url = request.environ.get(_PUBLIC_URL_KEY)
    if url is None:
        url = request.environ[_PUBLIC_URL_KEY] = (
            CONF.api.public_endpoint or request.host_url).rstrip('/')
    return url


def build_url(request, resource: str, *parts: str, bookmark: bool = False,
              query: str = '') -> str:
    base = public_url(request)
    path = '/'.join((resource,) + parts)
    url = '%s/%s' % (base, path) if bookmark else '%s/v1/%s' % (base, path)
    return url + ('?' + query if query else '')


def self_and_bookmark(request, resource: str, *parts: str) -> list[dict]:
    return [
        {'href': build_url(request, resource, *parts), 'rel': 'self'},
        {'href': build_url(request, resource, *parts, bookmark=True),
         'rel': 'bookmark'},
    ]
