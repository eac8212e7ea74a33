"""Serve Keystone's public WSGI application on 127.0.0.1.

Run with the Python of Keystone's own virtualenv (``tox -e keystone``), with
``OS_KEYSTONE_CONFIG_FILES`` naming its configuration:
``python keystone_server.py PORT``. Prints ``keystone listening on URL``
once it serves. Standard library only, besides Keystone.
"""

import socketserver
import sys
from wsgiref import simple_server

from keystone.server import wsgi


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class _ThreadingServer(socketserver.ThreadingMixIn,
                       simple_server.WSGIServer):
    daemon_threads = True


def main() -> None:
    port = int(sys.argv[1])
    # Keystone parses the command line as its own.
    del sys.argv[1:]
    application = wsgi.initialize_public_application()
    server = simple_server.make_server(
        '127.0.0.1', port, application, server_class=_ThreadingServer,
        handler_class=_QuietHandler)
    print('keystone listening on http://127.0.0.1:%d' % server.server_port,
          flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
