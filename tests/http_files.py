"""An HTTP server of a directory on 127.0.0.1, in a thread of the test:
what serves ``[deploy]http_root`` at ``[deploy]http_url``."""

import functools
import http.server
import threading

import fixtures


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


class FileServer(fixtures.Fixture):
    """Serves ``directory`` at :attr:`url`; :meth:`stop` and :meth:`start`
    again (on the same port) in the middle of a test."""

    def __init__(self, directory: str):
        super().__init__()
        self.directory = directory
        self.port = 0
        self._server = None
        self._thread = None

    def _setUp(self):
        self.start()
        self.addCleanup(self.stop)

    @property
    def url(self) -> str:
        return 'http://127.0.0.1:%d' % self.port

    def start(self) -> None:
        handler = functools.partial(_QuietHandler, directory=self.directory)
        self._server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
        self._server = self._thread = None
