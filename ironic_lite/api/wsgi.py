"""``ironic_lite.api.wsgi:application`` for any WSGI server.

Reads the configuration (``IRONIC_LITE_CONFIG_FILES``, comma-separated, or
the default locations) and connects to the message broker once, at import.
"""

import os

from ironic_lite.common import startup


def _make():
    files = [f for f in os.environ.get('IRONIC_LITE_CONFIG_FILES',
                                       '').split(',') if f]
    startup.prepare(['--config-file=%s' % f for f in files],
                    'ironic-lite-api')
    startup.start_messaging(require_url=True)
    from ironic_lite.api import app
    from ironic_lite.common import hash_ring
    from ironic_lite.common import membership
    membership.start_listener(hash_ring.get_manager(), background=True)
    return app.setup_app()


application = _make()
