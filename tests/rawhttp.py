"""HTTP over plain sockets, for what http.client will not send: requests
that arrive slowly, never end, or are malformed."""

import json
import select
import socket
import threading
import time

Address = tuple[str, int]


class Response:
    """A response as read off the socket."""

    def __init__(self, raw: bytes):
        self.raw = raw
        head, _, self.body = raw.partition(b'\r\n\r\n')
        lines = head.decode('latin-1').split('\r\n')
        self.status = int(lines[0].split()[1]) if raw else None
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(':')
            self.headers[name.strip().lower()] = value.strip()

    def fault(self) -> dict:
        """The document inside Ironic's error envelope."""
        return json.loads(json.loads(self.body)['error_message'])


def exchange(address: Address, data: bytes, timeout: float = 10) -> Response:
    """Send ``data``, then read until the server closes the connection."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(data)
        return Response(read_to_end(sock))


def read_to_end(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b''.join(chunks)


SLOW_HEADERS = (b'GET / HTTP/1.1\r\nHost: slow\r\n', b'X-Slow: x\r\n')


def slow_body(length: int = 1000) -> tuple[bytes, bytes]:
    return (b'POST / HTTP/1.1\r\nHost: slow\r\nContent-Type: '
            b'application/json\r\nContent-Length: %d\r\n\r\n' % length,
            b' ')


class SlowClient(threading.Thread):
    """Sends ``head`` then ``piece`` every ``interval`` seconds, forever:
    by default the header lines of a request that never ends them. Stops
    when told to finish or when the server answers or hangs up."""

    def __init__(self, address: Address, interval: float,
                 request: tuple[bytes, bytes] = SLOW_HEADERS):
        super().__init__(daemon=True)
        self.address = address
        self.interval = interval
        self.head, self.piece = request
        self.lines_sent = 0
        self.connected_at = None
        self.closed_at = None  # when the server ended the connection
        self.response = None
        self.finish = threading.Event()

    def run(self):
        sock = socket.create_connection(self.address, timeout=30)
        self.connected_at = time.monotonic()
        try:
            self._send(sock, self.head)
            while not self.finish.is_set():
                readable, _, _ = select.select([sock], [], [], self.interval)
                if readable:
                    # The server answered or hung up: either ends us.
                    self.response = Response(read_to_end(sock))
                    self.closed_at = time.monotonic()
                    return
                self._send(sock, self.piece)
        except OSError:
            self.closed_at = time.monotonic()
        finally:
            sock.close()

    def _send(self, sock: socket.socket, line: bytes):
        sock.sendall(line)
        self.lines_sent += 1

    @property
    def open(self) -> bool:
        return self.closed_at is None


def start_slow_clients(test, address: Address, count: int, interval: float,
                       request: tuple[bytes, bytes] = SLOW_HEADERS
                       ) -> list[SlowClient]:
    """``count`` slow clients, stopped when ``test`` ends."""
    clients = [SlowClient(address, interval, request)
               for _ in range(count)]
    test.addCleanup(stop_all, clients)
    for client in clients:
        client.start()
    return clients


def stop_all(clients: list[SlowClient]):
    for client in clients:
        client.finish.set()
    for client in clients:
        client.join(timeout=30)


def open_idle_connections(test, address: Address,
                          count: int) -> list[socket.socket]:
    """``count`` connections that send nothing, closed when ``test`` ends."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(address, timeout=10)
        test.addCleanup(sock.close)
        sockets.append(sock)
    return sockets
