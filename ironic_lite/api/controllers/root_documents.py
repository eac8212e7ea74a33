"""The version documents of GET / and GET /v1."""

from ironic_lite.api import versions
from ironic_lite.api.controllers import link


def version_v1(request) -> dict:
    return {
        'id': 'v1',
        'links': [{'href': link.public_url(request) + '/v1/',
                   'rel': 'self'}],
        'status': 'CURRENT',
        'min_version': versions.MIN_VERSION_STRING,
        'version': versions.MAX_VERSION_STRING,
    }
