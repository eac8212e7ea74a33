"""Serve the API with cheroot, the production WSGI server Ironic embeds."""

import threading

from cheroot import wsgi
from oslo_log import log

from ironic_lite.api import app
from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)


class APIServer:
    """The API on ``[api]host_ip``:``[api]port`` (0 picks a free port)."""

    def __init__(self):
        self._server = wsgi.Server((CONF.api.host_ip, CONF.api.port),
                                   app.setup_app(),
                                   numthreads=CONF.api.api_workers,
                                   server_name='ironic-lite')
        self._thread = None

    @property
    def url(self) -> str:
        host, port = self._server.bind_addr[:2]
        if ':' in host:
            host = '[%s]' % host
        return 'http://%s:%d' % (host, port)

    def start(self) -> None:
        self._server.prepare()
        self._thread = threading.Thread(target=self._server.serve,
                                        name='api', daemon=True)
        self._thread.start()
        LOG.info('API listening on %s', self.url)

    def stop(self) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join()
