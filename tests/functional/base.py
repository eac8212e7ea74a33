"""Functional tests: ironic-lite as real processes, driven by the real
clients over HTTP on 127.0.0.1."""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import sqlalchemy as sa
import testtools
from testtools import content

BIN = os.path.dirname(sys.executable)
_URL_LINE = re.compile(r'(http://127\.0\.0\.1:\d+)')


def executable(name: str) -> list[str]:
    """The console script ``name`` of this virtualenv."""
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        path = shutil.which(name)
    if path is None:
        raise RuntimeError('%s is not installed; run the tests through tox'
                           % name)
    return [path]


def write_config(directory: str, sections: dict) -> str:
    path = os.path.join(directory, 'ironic-lite.conf')
    with open(path, 'w') as f:
        for section, options in sections.items():
            f.write('[%s]\n' % section)
            for key, value in options.items():
                f.write('%s = %s\n' % (key, value))
    return path


class Process:
    """A service process whose output is collected as it runs."""

    # Every process started by this test worker, for the check that none
    # outlives its test.
    started: list['Process'] = []

    def __init__(self, command: list[str], log_path: str,
                 env: dict | None = None):
        self.command = command
        self.log_path = log_path
        self.env = env
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.popen = None
        self.started_at = None

    def start(self) -> 'Process':
        self.started_at = time.monotonic()
        self.popen = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1, env=self.env)
        Process.started.append(self)
        threading.Thread(target=self._pump, daemon=True).start()
        return self

    def _pump(self):
        with open(self.log_path, 'a') as log:
            for line in self.popen.stdout:
                log.write(line)
                log.flush()
                self.output.append(line)
                self.lines.put(line)

    def wait_for_line(self, pattern: re.Pattern, timeout: float = 30):
        """The first match of ``pattern`` in the output."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError('%s printed no line matching %s in %ss;'
                                     ' output:\n%s' % (
                                         self.command[0], pattern.pattern,
                                         timeout, ''.join(self.output)))
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if self.popen.poll() is not None and self.lines.empty():
                    raise AssertionError(
                        '%s exited with %s; output:\n%s' % (
                            self.command[0], self.popen.returncode,
                            ''.join(self.output)))
                continue
            match = pattern.search(line)
            if match:
                return match

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError('%s did not stop within %ss after %s'
                                 % (self.command[0], timeout, sig))


class FunctionalTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # The first clean-up registered runs last, after every other one
        # has stopped what it started.
        self.addCleanup(self._assert_no_survivors, len(Process.started))
        self.workdir = tempfile.mkdtemp(prefix='ironic-lite-functional-')
        self.addCleanup(shutil.rmtree, self.workdir, ignore_errors=True)
        # python-ironicclient caches negotiated versions per host:port.
        self.client_env = dict(os.environ,
                               XDG_CACHE_HOME=os.path.join(self.workdir,
                                                           'cache'))
        for name in list(self.client_env):
            if name.startswith('OS_'):
                del self.client_env[name]

    def start_all_in_one(self, host: str = 'functional-aio',
                         api_options: dict | None = None,
                         conductor: dict | None = None,
                         extra: dict | None = None,
                         default: dict | None = None,
                         url_line: re.Pattern = _URL_LINE) -> Process:
        """``ironic-lite`` on a free port, its state in the test's
        directory; ``api_options``, ``conductor`` and ``default``: options
        of its [api], [conductor] and [DEFAULT] sections; ``extra``: more
        sections; ``url_line``: how its URL is printed."""
        config = write_config(self.workdir, {
            'DEFAULT': {'state_path': self.workdir, 'host': host,
                        **(default or {})},
            'api': {'port': 0, **(api_options or {})},
            'conductor': conductor or {},
            **(extra or {}),
        })
        process = Process(executable('ironic-lite') + ['--config-file',
                                                       config],
                          os.path.join(self.workdir, 'ironic-lite.log'))
        process.start()
        self.addCleanup(self._stop_quietly, process)
        self.addOnException(lambda exc_info: self.addDetail(
            'ironic-lite-output', content.text_content(
                ''.join(process.output))))
        self.url = process.wait_for_line(url_line).group(1)
        # How long it took to serve: a restart is compared with it.
        process.serving_after = time.monotonic() - process.started_at
        return process

    @staticmethod
    def _assert_no_survivors(first: int):
        """Fail, naming them, if processes this test started still run;
        kill them."""
        survivors = [p for p in Process.started[first:]
                     if p.popen.poll() is None]
        for process in survivors:
            process.popen.kill()
            process.popen.wait()
        if survivors:
            raise AssertionError(
                'The test left %d processes running (now killed): %s' % (
                    len(survivors), '; '.join(
                        'pid %d: %s' % (p.popen.pid, ' '.join(p.command))
                        for p in survivors)))

    @staticmethod
    def _stop_quietly(process: Process):
        if process.popen.poll() is None:
            process.stop(signal.SIGKILL)

    def start_cluster(self, server_url: str,
                      transport_url: str | None = None,
                      database_port: int | None = None):
        """A scratch database on ``server_url`` and a Cluster using it and
        ``transport_url`` (this machine's RabbitMQ by default), its schema
        created; both go away with the test. With ``database_port`` the
        processes reach the database on that port of 127.0.0.1 (a proxy);
        the test itself reads it directly."""
        from tests import services
        from tests.functional import cluster as cluster_mod
        if transport_url is None:
            if not services.tcp_open('127.0.0.1', 5672):
                services.unavailable(self, 'RabbitMQ is not running on '
                                           '127.0.0.1:5672')
            transport_url = services.RABBIT_URL
        scratch = services.ScratchDatabase(server_url)
        try:
            database_url = scratch.create()
        except OSError as e:
            services.unavailable(self, 'no database server at %s: %s'
                                 % (server_url, e))
        self.addCleanup(scratch.drop)
        direct_url = database_url
        if database_port is not None:
            database_url = sa.engine.make_url(database_url).set(
                host='127.0.0.1', port=database_port).render_as_string(
                    hide_password=False)
        cluster = cluster_mod.Cluster(self.workdir, database_url,
                                      transport_url,
                                      direct_database_url=direct_url)
        self.addCleanup(cluster.shutdown)
        self.addOnException(lambda exc_info: self.addDetail(
            'cluster-output', content.text_content(cluster.output())))
        cluster.dbsync()
        return cluster

    def run_cli(self, *args: str, expect_failure: bool = False,
                openstack: bool = False, global_args=()
                ) -> subprocess.CompletedProcess:
        """Run ``baremetal ...`` (or ``openstack ... baremetal ...``)
        against the service; ``global_args`` go before the command."""
        if openstack:
            command = executable('openstack') + [
                '--os-auth-type', 'none', '--os-endpoint', self.url,
                *global_args, 'baremetal', *args]
        else:
            command = executable('baremetal') + [
                '--os-endpoint', self.url, *global_args, *args]
        result = subprocess.run(command, capture_output=True, text=True,
                                env=self.client_env, timeout=120)
        if expect_failure:
            self.assertNotEqual(0, result.returncode, result.stdout)
        else:
            self.assertEqual(0, result.returncode,
                             'command %s failed:\n%s%s'
                             % (' '.join(args), result.stdout,
                                result.stderr))
        return result

    def cli_json(self, *args: str, **kwargs):
        return json.loads(self.run_cli(*args, '-f', 'json',
                                       **kwargs).stdout)
