"""A deployment of real processes: one ironic-lite-api and several
ironic-lite-conductor, sharing a real database and RabbitMQ."""

import os
import re
import signal
import subprocess
import uuid

import requests
import sqlalchemy as sa

from tests.functional import base

_API_LINE = re.compile(r'ironic-lite-api listening on (http://\S+)')

# Fast enough for tests: a conductor is dead 5 s after its last heartbeat.
HEARTBEAT_INTERVAL = 1
HEARTBEAT_TIMEOUT = 5
# Each conductor records the nodes' conductors every 2 s (default 10).
RECORD_INTERVAL = 2
# How long the API waits for a conductor's answer.
RPC_RESPONSE_TIMEOUT = 20


class Cluster:
    """Processes named ``<name>-<suffix>`` so that clusters sharing this
    machine's RabbitMQ never exchange messages."""

    def __init__(self, workdir: str, database_url: str, transport_url: str,
                 direct_database_url: str | None = None):
        self.workdir = workdir
        self.database_url = database_url
        self.transport_url = transport_url
        self.suffix = uuid.uuid4().hex[:6]
        self.exchange = 'ironic-lite-test-%s' % self.suffix
        # More options for every process: {section: {option: value}}.
        self.options: dict[str, dict] = {}
        self.processes: dict[str, base.Process] = {}
        # Every process started, also those a later one of the same name
        # replaced in ``processes`` (a twin): shutdown stops them all.
        self.started: list[base.Process] = []
        self.api_url = None
        self.api_urls: dict[str, str] = {}
        # The test's own reads go around any proxy the processes use.
        self.engine = sa.create_engine(direct_database_url or database_url)
        self.http = requests.Session()
        self.http.headers.update({
            'X-OpenStack-Ironic-API-Version': 'latest',
            'Content-Type': 'application/json'})

    def hostname(self, name: str) -> str:
        return '%s-%s' % (name, self.suffix)

    def state_path(self, name: str) -> str:
        """Where the process ``name`` keeps its state (and its PXE files,
        under ``tftpboot`` and ``httpboot``)."""
        return os.path.join(self.workdir, name)

    def _config(self, name: str, **conductor) -> str:
        directory = os.path.join(self.workdir, name)
        os.makedirs(directory, exist_ok=True)
        return base.write_config(directory, {
            'DEFAULT': {
                'host': self.hostname(name),
                'state_path': directory,
                'transport_url': self.transport_url,
                'control_exchange': self.exchange,
                'enabled_hardware_types': 'fake-hardware,ipmi',
                'rpc_response_timeout': RPC_RESPONSE_TIMEOUT,
            },
            'api': {'port': 0},
            'conductor': {
                'heartbeat_interval': HEARTBEAT_INTERVAL,
                'heartbeat_timeout': HEARTBEAT_TIMEOUT,
                'node_locked_retry_interval': 0.2,
                'record_served_by_interval': RECORD_INTERVAL,
                **conductor,
            },
            'database': {'connection': self.database_url},
            'oslo_messaging_rabbit': {'rabbit_retry_interval': 1,
                                      'rabbit_interval_max': 2},
            **self.options,
        })

    def dbsync(self) -> None:
        config = self._config('dbsync')
        subprocess.run(base.executable('ironic-lite-dbsync')
                       + ['--config-file', config, 'upgrade'],
                       check=True, capture_output=True, text=True)

    def start_api(self, name: str = 'api') -> base.Process:
        """An API process; the first one named ``api`` is ``api_url``, every
        one is in ``api_urls``."""
        process = self._start(name, 'ironic-lite-api')
        url = process.wait_for_line(_API_LINE).group(1)
        self.api_urls[name] = url
        if name == 'api':
            self.api_url = url
        return process

    def start_conductor(self, name: str, group: str = '',
                        wait: bool = True, **conductor) -> base.Process:
        process = self._start(name, 'ironic-lite-conductor',
                              conductor_group=group,
                              sync_local_state_interval=2, **conductor)
        if wait:
            self.wait_started(name)
        return process

    def wait_started(self, name: str) -> None:
        self.processes[name].wait_for_line(re.compile(
            re.escape('ironic-lite-conductor %s started'
                      % self.hostname(name))))

    def _start(self, name: str, command: str, **conductor) -> base.Process:
        config = self._config(name, **conductor)
        process = base.Process(
            base.executable(command) + ['--config-file', config],
            os.path.join(self.workdir, '%s.log' % name)).start()
        self.processes[name] = process
        self.started.append(process)
        return process

    def stop(self, name: str, sig=signal.SIGTERM) -> int:
        return self.processes[name].stop(sig)

    def shutdown(self) -> None:
        for process in self.started:
            if process.popen.poll() is None:
                process.stop(signal.SIGKILL)
        self.http.close()
        self.engine.dispose()

    def output(self, tail: int = 200_000) -> str:
        """What each process printed, its last ``tail`` characters (a test
        detail must stay far below subunit's 4 MiB packet limit)."""
        parts = []
        for name, process in self.processes.items():
            text = ''.join(process.output)
            if len(text) > tail:
                text = '[%d characters left out]\n%s' % (
                    len(text) - tail, text[-tail:])
            parts.append('==== %s ====\n%s' % (name, text))
        return ''.join(parts)

    # The API, over HTTP

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.api_url + path, timeout=30, **kwargs)

    def request(self, method: str, path: str, **kwargs):
        return self.http.request(method, self.api_url + path, timeout=60,
                                 **kwargs)

    def node_owners(self) -> dict[str, str | None]:
        """uuid -> conductor, as the API shows it."""
        response = self.get('/v1/nodes?fields=uuid,conductor&limit=1000')
        response.raise_for_status()
        return {n['uuid']: n['conductor'] for n in response.json()['nodes']}

    def alive(self) -> dict[str, bool]:
        response = self.get('/v1/conductors')
        response.raise_for_status()
        return {c['hostname']: c['alive']
                for c in response.json()['conductors']}

    # The database, read directly: what the API does not show

    def conductor_ids(self) -> dict[int, str]:
        with self.engine.connect() as connection:
            return dict(connection.execute(sa.text(
                'SELECT id, hostname FROM conductors')).all())

    def affinities(self) -> dict[str, str | None]:
        """uuid -> hostname of the conductor that last handled the node."""
        ids = self.conductor_ids()
        with self.engine.connect() as connection:
            rows = connection.execute(sa.text(
                'SELECT uuid, conductor_affinity FROM nodes')).all()
        return {uuid_: ids.get(affinity) for uuid_, affinity in rows}

    def execute(self, statement: str, **params) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.text(statement), params)

    def scalar(self, statement: str, **params):
        with self.engine.connect() as connection:
            return connection.execute(sa.text(statement), params).scalar()
