"""A loopback TCP proxy that a test cuts and restores: an outage of one
server for the processes that reach it through the proxy, and for nobody
else.

Why a proxy rather than stopping a server: this machine's MariaDB,
PostgreSQL and RabbitMQ serve other tests and other work at the same time,
and a private instance of each (initdb and pg_ctl, a RabbitMQ node of its
own) costs seconds to start and a different setup per server. Cutting the
proxy is what a stopped server looks like to a client: every connection
closes, and new ones are refused until it is restored on the same port.
"""

import socket
import threading


class TCPProxy:
    """Listens on 127.0.0.1:``port`` and forwards to ``target``."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        """Take connections again, on the same port as before."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('127.0.0.1', self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,),
                         name='proxy-accept', daemon=True).start()

    def cut(self) -> None:
        """Close every connection and refuse new ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, set()
        if listener is not None:
            _close(listener)  # wakes accept(); connecting is now refused
        for pair in pairs:
            for sock in pair:
                _close(sock)

    close = cut

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _close(client)
                    _close(upstream)
                    return
                self._pairs.add((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink),
                                 name='proxy-pump', daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        # One side ended: end both, as the server would.
        for sock in (source, sink):
            _close(sock)
        with self._lock:
            self._pairs.discard((source, sink))
            self._pairs.discard((sink, source))


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
