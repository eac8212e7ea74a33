"""What one node write costs the all-in-one, in CPU time, SQL statements
and transactions: a figure that a machine shared with other work does not
blur the way requests per second are.

Two measures, on a fresh SQLite fleet as ``http_api.py`` seeds it:

* ``inproc`` (default): the API's WSGI application and the conductor in
  this process, ``fake://`` RPC, requests passed to the application
  directly (no HTTP server). CPU time is the whole process's
  (``time.process_time()``: the request thread and the conductor's RPC
  thread alike); statements and commits are counted on the engine.
  ``--profile FILE.yappi`` profiles every thread with yappi (CPU clock).
* ``http``: the all-in-one ``ironic-lite`` serving on a port, ``--clients``
  keep-alive client processes; the server process's CPU time (utime +
  stime of every thread, from ``/proc``) divided by the requests it served.

    python benchmarks/write_cost.py [--mode inproc|http] [--nodes 10000]
        [--requests 2000] [--clients 4] [--only POST,PATCH]
        [--profile FILE.yappi]
"""

import argparse
import io
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, '.')

import http_api  # noqa: E402


def _cases(uuids: list[str], only: str | None):
    cases = [('POST /v1/nodes', http_api._creations()),
             ('PATCH /v1/nodes/{uuid}',
              http_api._patches(http_api._writable(uuids)))]
    return [(label, make) for label, make in cases
            if not only or any(word in label for word in only.split(','))]


def _inproc(args, config: str, uuids: list[str]) -> None:
    import sqlalchemy as sa

    from ironic_lite.api import app
    from ironic_lite.common import startup
    from ironic_lite.conductor import manager
    from ironic_lite.conductor import service
    from ironic_lite.conf import CONF
    from ironic_lite.db import api as db_api

    CONF.clear()  # seed() parsed it
    startup.prepare(['--config-file', config], 'ironic-lite')
    startup.start_messaging(require_url=False, default_url='fake://')
    conductor = service.ConductorService()
    taken = threading.Event()
    take_over = manager.ConductorManager.take_over_nodes

    def take_over_once(self):
        try:
            return take_over(self)
        finally:
            taken.set()
    manager.ConductorManager.take_over_nodes = take_over_once
    conductor.start()
    # Not measured: the first take-over pass writes every node it gains.
    if not taken.wait(600):
        raise RuntimeError('the conductor did not take its nodes over')
    application = app.setup_app()
    engine = db_api.get_instance().engine
    counts = {'statements': 0, 'commits': 0}

    def statement(*_args, **_kwargs):
        counts['statements'] += 1

    def commit(*_args, **_kwargs):
        counts['commits'] += 1
    sa.event.listen(engine, 'before_cursor_execute', statement)
    sa.event.listen(engine, 'commit', commit)

    def call(request) -> None:
        method, path, body = request
        body = body.encode()
        environ = {
            'REQUEST_METHOD': method, 'PATH_INFO': path, 'QUERY_STRING': '',
            'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '6385',
            'SERVER_PROTOCOL': 'HTTP/1.1', 'REMOTE_ADDR': '127.0.0.1',
            'HTTP_HOST': '127.0.0.1:6385', 'wsgi.url_scheme': 'http',
            'wsgi.input': io.BytesIO(body), 'wsgi.errors': sys.stderr,
            'wsgi.version': (1, 0), 'wsgi.multithread': True,
            'wsgi.multiprocess': False, 'wsgi.run_once': False,
            'CONTENT_TYPE': 'application/json',
            'CONTENT_LENGTH': str(len(body)),
            'HTTP_X_OPENSTACK_IRONIC_API_VERSION': '1.49'}
        status = []
        b''.join(application(environ,
                             lambda s, h, e=None: status.append(s)))
        if not status[0].startswith(('200', '201')):
            raise RuntimeError('%s %s: %s' % (method, path, status[0]))

    profiling = args.profile is not None
    if profiling:
        import yappi
        yappi.set_clock_type('cpu')
    try:
        for label, make in _cases(uuids, args.only):
            requests = make
            for _ in range(50):  # warm up: statement caches, imports
                call(requests())
            counts.update(statements=0, commits=0)
            if profiling:
                yappi.start()
            cpu, wall = time.process_time(), time.perf_counter()
            own = time.thread_time()
            for _ in range(args.requests):
                call(requests())
            own = time.thread_time() - own
            cpu = time.process_time() - cpu
            wall = time.perf_counter() - wall
            if profiling:
                yappi.stop()
            print('| %s | %.3f ms CPU (%.3f ms the API thread) | '
                  '%.1f statements | %.1f commits | %.3f ms wall |' % (
                      label, cpu * 1000 / args.requests,
                      own * 1000 / args.requests,
                      counts['statements'] / args.requests,
                      counts['commits'] / args.requests,
                      wall * 1000 / args.requests), flush=True)
        if profiling:
            yappi.get_func_stats().save(args.profile, type='pstat')
    finally:
        conductor.stop()


def _server_cpu(pid: int) -> float:
    """The process's CPU seconds so far, every thread."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _send(port: int, make, count: int, clients: int) -> None:
    context = multiprocessing.get_context('fork')

    def run(n):
        random.seed()
        client = http_api.Client(port)
        for _ in range(n):
            client.get(make())
        client.close()
    processes = [context.Process(target=run, args=(count // clients,))
                 for _ in range(clients)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode:
            raise RuntimeError('a client failed: %s' % process.exitcode)


def _http(args, workdir: str, config: str, port: int,
          uuids: list[str]) -> None:
    log = open(os.path.join(workdir, 'ironic-lite.log'), 'w')
    server = subprocess.Popen(
        [sys.executable, os.path.abspath(http_api.__file__), '--serve',
         '--config-file', config], stdout=log, stderr=subprocess.STDOUT)
    try:
        http_api._wait_serving(port, [server], log.name,
                               time.monotonic() + 600)
        for label, make in _cases(uuids, args.only):
            _send(port, make, 50, 1)  # warm up
            count = args.requests - args.requests % args.clients
            cpu, wall = _server_cpu(server.pid), time.perf_counter()
            _send(port, make, count, args.clients)
            cpu = _server_cpu(server.pid) - cpu
            wall = time.perf_counter() - wall
            print('| %s | %.3f ms server CPU | %.0f r/s (%d clients, '
                  'load %.1f) |' % (label, cpu * 1000 / count, count / wall,
                                    args.clients, os.getloadavg()[0]),
                  flush=True)
    finally:
        # A graceful stop; a server that does not stop is the script's
        # error to show.
        server.send_signal(signal.SIGINT)
        server.wait(60)
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mode', choices=('inproc', 'http'),
                        default='inproc')
    parser.add_argument('--nodes', type=int, default=10000)
    parser.add_argument('--requests', type=int, default=2000)
    parser.add_argument('--clients', type=int, default=4)
    parser.add_argument('--only', help='POST, PATCH or both (default)')
    parser.add_argument('--profile', metavar='FILE.yappi')
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix='ironic-lite-writes-')
    port = http_api._free_port()
    config = http_api._write_config(workdir, port, argparse.Namespace(
        service='all-in-one', workers=None))
    try:
        uuids = http_api.seed(config, args.nodes)
        if args.mode == 'inproc':
            _inproc(args, config, uuids)
        else:
            _http(args, workdir, config, port, uuids)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
