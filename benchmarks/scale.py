"""ironic-lite at scale (issue #10): seed fleets, measure every request.

One command seeds a fresh SQLite database per fleet (bulk inserts, not
through the API), starts the all-in-one ``ironic-lite`` on it and measures,
with keep-alive clients (``http_api.Client``, each in a process of its
own), one client in sequence then ``--clients`` at once (median, p90,
requests/s): the conductor list and
show, a plain and a detail page of 1 000 nodes, one ``?conductor=`` page
and a walk over every page of that conductor, one node, ``POST`` and
``PATCH``; then the API's RSS, ring rebuilds at 32 and 256 conductors,
and the ratios (100 000 / 10 000 nodes, ironic-lite / Ironic).

    python benchmarks/scale.py                       # everything
    python benchmarks/scale.py --fleets 10000x4 --seconds 2
    python benchmarks/scale.py --ironic /work/ironic-venv  # Ironic too
    python benchmarks/scale.py seed --nodes 100000 --conductors 32 \\
        --database /tmp/fleet.sqlite                 # only seed

Fleets: nodes in 2 conductor groups x 2 hardware types (``fake-hardware``
and ``ipmi``, both with the IPMI ``driver_info`` of a real fleet); the
conductors split evenly over the groups, all enabling both types. The
all-in-one's own conductor is ``bench-1``; the others are registered rows
that stay alive for the run (``heartbeat_timeout`` of a day). Writes go to
nodes ``bench-1`` owns (the others' RPC would have no one to answer it).
Run it from the top of the repository.
"""

import argparse
import collections
import datetime
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuid_module

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import http_api  # noqa: E402

GROUPS = ('', 'rack-b')
HARDWARE_TYPES = ('fake-hardware', 'ipmi')
PARTITIONS = 2 ** 5  # [DEFAULT]hash_partition_exponent's default
LOCAL = 'bench-1'
PAGE = 1000
# Issue #10's memory target: 150 MB (decimal), 143 MiB.
TARGET_MEMORY_KIB = 150 * 1000 * 1000 // 1024


def conductors_of(count: int) -> list[tuple[str, str]]:
    """(hostname, group): the first half in the default group."""
    return [('bench-%d' % (i + 1), GROUPS[0 if i < count // 2 else 1])
            for i in range(count)]


class Fleet:
    """Who owns what: the rings as every process builds them."""

    def __init__(self, conductors: list[tuple[str, str]]):
        from ironic_lite.common import hash_ring

        self.conductors = conductors
        self.rings = {}
        for group in GROUPS:
            hosts = {h for h, g in conductors if g == group}
            for hardware_type in HARDWARE_TYPES:
                self.rings[(group, hardware_type)] = hash_ring.Ring(
                    hosts, PARTITIONS)

    def owner(self, node_uuid: str, driver: str, group: str) -> str:
        return self.rings[(group, driver)].owner(node_uuid)


def node_rows(count: int, now: datetime.datetime):
    """The fleet's node rows (``http_api.node_rows``), with UUIDs drawn
    from a seeded generator: the same fleet at every run."""
    rng = random.Random(count)
    return http_api.node_rows(
        count, now, lambda: str(uuid_module.UUID(int=rng.getrandbits(128),
                                                 version=4)))


def insert_all(connection, table, rows) -> None:
    """Insert ``rows`` (an iterable of dicts) in batches."""
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == 5000:
            connection.execute(table.insert(), batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)


def seed(url: str, nodes: int, conductors: int) -> dict:
    """A fresh ironic-lite database at ``url`` with the fleet; what the
    measures need to know of it."""
    from oslo_utils import timeutils

    from ironic_lite import version
    from ironic_lite.db import migration
    from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
    from ironic_lite.db.sqlalchemy import models

    started = time.monotonic()
    dbapi = db_sqlalchemy.Connection(url)
    migration.upgrade(engine=dbapi.engine)
    hosts = conductors_of(conductors)
    ids = {}
    for hostname, group in hosts:
        row = dbapi.register_conductor(
            hostname, group, list(HARDWARE_TYPES),
            take_over_if_older_than=timeutils.utcnow(),
            version=version.version_string())
        ids[hostname] = row.id
        dbapi.register_conductor_hardware_interfaces(row.id, [
            {'hardware_type': hw, 'interface_type': 'power',
             'interface_name': 'fake' if hw == 'fake-hardware'
             else 'ipmitool', 'default': True}
            for hw in HARDWARE_TYPES])
    # The all-in-one revives its own row, so the fleet can be seeded as it
    # is once every conductor has taken its nodes over: the start measures
    # nothing and writes no node.
    with dbapi.engine.begin() as connection:
        connection.execute(models.Conductor.__table__.update().where(
            models.Conductor.__table__.c.hostname == LOCAL).values(
                online=False))
    fleet = Fleet(hosts)
    uuids = []

    def rows():
        for row in node_rows(nodes, timeutils.utcnow()):
            uuids.append((row['uuid'], row['driver'],
                          row['conductor_group']))
            row['conductor_affinity'] = ids[fleet.owner(
                row['uuid'], row['driver'], row['conductor_group'])]
            yield row

    with dbapi.engine.begin() as connection:
        insert_all(connection, models.Node.__table__, rows())
    dbapi.engine.dispose()
    return {'uuids': uuids, 'hosts': hosts, 'url': url,
            'seconds': time.monotonic() - started}


class Client(http_api.Client):
    """A keep-alive connection that also writes."""

    def call(self, method: str, path: str, body=None,
             expect: int = 200) -> tuple[float, bytes]:
        headers = dict(http_api.HEADERS)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        start = time.perf_counter()
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - start
        if response.status != expect:
            raise RuntimeError('%s %s: %s %s' % (method, path,
                                                 response.status,
                                                 answer[:300]))
        return elapsed, answer


def measure(port: int, request, seconds: float, clients: int) -> dict:
    """``request(client, index)`` -> seconds, repeated for ``seconds`` by
    each of ``clients`` connections, each in a process of its own
    (``http_api.run_clients``)."""
    times, wall = http_api.run_clients(port, request, seconds, clients,
                                       client_class=Client)
    times.sort()
    return {'median': statistics.median(times) * 1000,
            'p90': times[max(int(len(times) * 0.9) - 1, 0)] * 1000,
            'rps': len(times) / wall, 'count': len(times)}


def _get(path_of):
    def request(client, i):
        return client.call('GET', path_of(i))[0]
    return request


def walk(client, host: str, pages: list | None = None) -> float:
    """Every ``?conductor=host`` page, following ``next``; the seconds."""
    total = 0.0
    path = '/v1/nodes?conductor=%s&limit=%d' % (host, PAGE)
    while path:
        elapsed, body = client.call('GET', path)
        total += elapsed
        document = json.loads(body)
        if pages is not None:
            pages.append(len(document['nodes']))
        following = document.get('next')
        path = following[following.index('/v1/'):] if following else None
    return total


def process_memory(pid: int) -> dict[int, dict[str, int]]:
    """Per process, ``pid`` and its children (API worker processes): the
    KiB of /proc/PID/smaps_rollup (``Rss``, ``Pss``, ``Pss_Anon``,
    ``Private_Dirty``...) and ``Threads``.

    RSS counts a page shared by several processes (the code of the C
    libraries, what a fork shares copy-on-write) once in each of them; PSS
    divides it among them: the PSS of processes sum to the memory they
    hold together."""
    figures = {}
    for one in http_api.with_children(pid):
        try:
            with open('/proc/%d/smaps_rollup' % one) as f:
                sizes = {}
                for line in f:
                    parts = line.split()
                    if len(parts) == 3 and parts[2] == 'kB':
                        sizes[parts[0].rstrip(':')] = int(parts[1])
            with open('/proc/%d/status' % one) as f:
                for line in f:
                    if line.startswith('Threads:'):
                        sizes['Threads'] = int(line.split()[1])
        except OSError:
            continue  # gone meanwhile
        figures[one] = sizes
    return figures


def memory_facts(pid: int, when: str = '') -> dict[str, int]:
    """``rss{when}_kib`` (RSS of the processes summed),
    ``rss{when}_largest_kib`` and ``pss{when}_kib`` (PSS summed: what they
    hold together, shared pages counted once)."""
    figures = process_memory(pid).values()
    rss = [one.get('Rss', 0) for one in figures]
    return {'rss%s_kib' % when: sum(rss),
            'rss%s_largest_kib' % when: max(rss, default=0),
            'pss%s_kib' % when: sum(one.get('Pss', 0) for one in figures)}


class Service:
    """One API server under test: its process, port, fleet."""

    def __init__(self, name, process, port, info, log_path):
        self.name = name
        self.process = process
        self.port = port
        self.info = info
        self.log_path = log_path

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait_serving(port: int, process, log_path: str,
                  deadline: float, banner: str = 'ironic-lite is running',
                  conductor: str | None = None) -> None:
    """Until the API answers and the conductor (``conductor``, if given,
    alive in the API) has started."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError('ironic-lite exited: %s' % process.returncode)
        with open(log_path) as f:
            started = banner in f.read()
        if started:
            try:
                client = Client(port)
                answer = client.call('GET', '/v1/conductors/%s' % conductor
                                     if conductor else '/v1/conductors')[1]
                client.close()
                if conductor is None or json.loads(answer)['alive']:
                    return
            except (OSError, RuntimeError, http_api.http.client.HTTPException):
                pass
        time.sleep(0.1)
    raise RuntimeError('ironic-lite did not start')


def start_ironic_lite(workdir: str, nodes: int, conductors: int,
                      workers: int | None = None) -> Service:
    port = http_api._free_port()
    config = http_api._write_config(
        workdir, port, argparse.Namespace(service='all-in-one',
                                          workers=workers))
    info = seed('sqlite:///%s/ironic-lite.sqlite' % workdir, nodes,
                conductors)
    log_path = os.path.join(workdir, 'ironic-lite.log')
    with open(log_path, 'w') as log:
        process = subprocess.Popen(
            # The command itself (``ironic-lite``), nothing of the
            # benchmark's loaded with it.
            [sys.executable, '-m', 'ironic_lite.cmd.all_in_one',
             '--config-file', config], stdout=log, stderr=subprocess.STDOUT)
    service = Service('ironic-lite', process, port, info, log_path)
    try:
        _wait_serving(port, process, log_path, time.monotonic() + 300)
    except BaseException:
        service.stop()
        raise
    return service


class Cluster(Service):
    """``ironic-lite-api`` and the conductor ``bench-1`` apart, over
    RabbitMQ, on a scratch database of a database server; dropped at the
    stop."""

    def __init__(self, api, conductor, port, info, log_path, drop):
        super().__init__('ironic-lite-api', api, port, info, log_path)
        self.conductor = conductor
        self.drop = drop

    def stop(self):
        try:
            super().stop()
        finally:
            self.conductor.send_signal(signal.SIGTERM)
            try:
                self.conductor.wait(30)
            except subprocess.TimeoutExpired:
                self.conductor.kill()
                self.conductor.wait()
            self.drop()


def start_cluster(workdir: str, nodes: int, conductors: int,
                  workers: int | None, server_url: str,
                  vacuum: bool = False) -> Cluster:
    """The fleet on a scratch database of ``server_url`` (e.g.
    ``postgresql+psycopg2://postgres@127.0.0.1/``), served by
    ``ironic-lite-api`` (``workers`` processes; its default: the cores, at
    most 4) in front of ``ironic-lite-conductor``; with ``vacuum``, the
    database vacuumed and analysed once seeded."""
    import sqlalchemy

    name = 'ironic_lite_scale_%d' % os.getpid()
    admin = sqlalchemy.create_engine(server_url,
                                     isolation_level='AUTOCOMMIT')
    with admin.connect() as connection:
        connection.exec_driver_sql('DROP DATABASE IF EXISTS %s' % name)
        connection.exec_driver_sql('CREATE DATABASE %s' % name)

    def drop():
        with admin.connect() as connection:
            connection.exec_driver_sql('DROP DATABASE IF EXISTS %s' % name)
        admin.dispose()

    url = sqlalchemy.engine.make_url(server_url).set(
        database=name).render_as_string(hide_password=False)
    port = http_api._free_port()
    config = os.path.join(workdir, 'ironic-lite.conf')
    with open(config, 'w') as f:
        f.write('[DEFAULT]\nhost = %s\nstate_path = %s\n'
                'enabled_hardware_types = %s\n'
                'transport_url = rabbit://guest:guest@127.0.0.1:5672/\n'
                'control_exchange = ironic-lite-scale-%d\n'
                '[database]\nconnection = %s\n'
                '[api]\nhost_ip = 127.0.0.1\nport = %d\n%s'
                '[conductor]\nheartbeat_timeout = 86400\n'
                'sync_power_state_interval = 0\n'
                'power_failure_recovery_interval = 0\n'
                'graceful_shutdown_timeout = 5\n'
                % (LOCAL, workdir, ','.join(HARDWARE_TYPES), os.getpid(),
                   url, port,
                   'api_workers = %d\n' % workers if workers else ''))
    try:
        info = seed(url, nodes, conductors)
        if vacuum:
            # What autovacuum would have done by now: statistics for the
            # planner, a visibility map for index-only scans.
            engine = sqlalchemy.create_engine(url,
                                              isolation_level='AUTOCOMMIT')
            with engine.connect() as connection:
                connection.exec_driver_sql('VACUUM ANALYZE')
            engine.dispose()
    except BaseException:
        drop()
        raise
    bindir = os.path.dirname(sys.executable)
    log_path = os.path.join(workdir, 'ironic-lite-api.log')
    processes = []
    for name_ in ('ironic-lite-conductor', 'ironic-lite-api'):
        with open(os.path.join(workdir, name_ + '.log'), 'w') as log:
            processes.append(subprocess.Popen(
                [os.path.join(bindir, name_), '--config-file', config],
                stdout=log, stderr=subprocess.STDOUT))
    service = Cluster(processes[1], processes[0], port, info, log_path,
                      drop)
    try:
        _wait_serving(port, processes[1], log_path,
                      time.monotonic() + 300, banner='listening on',
                      conductor=LOCAL)
    except BaseException:
        service.stop()
        raise
    return service


def cases(service: Service, fleet: Fleet, seconds: float, clients: int,
          only: str | None) -> tuple[dict, dict]:
    """Every request's figures; facts (RSS, page sizes) apart."""
    uuids = service.info['uuids']
    host = 'bench-2'  # a conductor of the default group, as bench-1
    local = [u for u, d, g in uuids if fleet.owner(u, d, g) == LOCAL]
    facts = {'host_nodes': sum(1 for u, d, g in uuids
                               if fleet.owner(u, d, g) == host)}
    facts.update(memory_facts(service.process.pid, '_start'))
    def new_uuid():
        # Nodes bench-1 will own, so that its conductor takes the create;
        # random in each client process.
        while True:
            candidate = str(uuid_module.uuid4())
            if fleet.owner(candidate, 'fake-hardware', '') == LOCAL:
                return candidate

    def post(client, i):
        node_uuid = new_uuid()
        return client.call('POST', '/v1/nodes', {
            'uuid': node_uuid, 'name': 'new-' + node_uuid,
            'driver': 'fake-hardware'}, expect=201)[0]

    def patch(client, i):
        return client.call('PATCH', '/v1/nodes/' + local[i % len(local)], [
            {'op': 'add', 'path': '/extra/bench', 'value': str(i)}])[0]

    reads = read_cases(uuids, host)
    writes = [('POST /v1/nodes', post), ('PATCH /v1/nodes/{uuid}', patch)]
    results = {}
    for label, request in reads:
        if only and only not in label:
            continue
        results[label] = (measure(service.port, request, seconds, 1),
                          measure(service.port, request, seconds, clients))
        print('  %-36s %s' % (label, _line(results[label])), flush=True)
    facts.update(memory_facts(service.process.pid))
    client = Client(service.port)
    pages = []
    walk(client, host, pages)
    client.close()
    facts['pages'] = pages
    for label, request in writes:
        if only and only not in label:
            continue
        results[label] = (measure(service.port, request, seconds, 1),
                          measure(service.port, request, seconds, clients))
        print('  %-36s %s' % (label, _line(results[label])), flush=True)
    return results, facts


def read_cases(uuids: list, host: str) -> list:
    """(label, request(client, i)): the reads measured, ``host`` the
    conductor of the ``?conductor=`` pages."""
    return [
        ('GET /v1/conductors', _get(lambda i: '/v1/conductors')),
        ('GET /v1/conductors/{h}', _get(lambda i: '/v1/conductors/' + host)),
        ('GET /v1/nodes?limit=1000', _get(lambda i: '/v1/nodes?limit=1000')),
        ('GET /v1/nodes/detail?limit=1000',
         _get(lambda i: '/v1/nodes/detail?limit=1000')),
        ('GET /v1/nodes?conductor=H&limit=1000',
         _get(lambda i: '/v1/nodes?conductor=%s&limit=1000' % host)),
        # A page of the same size at every fleet: at 10 000 nodes and
        # 32 conductors a conductor holds about 310 nodes, less than a
        # page of 1 000, so the page above is not.
        ('GET /v1/nodes?conductor=H&limit=250',
         _get(lambda i: '/v1/nodes?conductor=%s&limit=250' % host)),
        ('walk every ?conductor=H page', lambda c, i: walk(c, host)),
        ('GET /v1/nodes/{uuid}',
         _get(lambda i: '/v1/nodes/' + uuids[(i * 7919) % len(uuids)][0])),
    ]


def _line(pair) -> str:
    one, many = pair
    return ('%7.1f ms %7.1f ms %6.0f r/s | %7.1f ms %7.1f ms %6.0f r/s'
            % (one['median'], one['p90'], one['rps'], many['median'],
               many['p90'], many['rps']))


def ring_rebuild(conductors: int, repeat: int = 20) -> dict:
    """Milliseconds to read the alive conductors and build every ring
    (``HashRingManager._load``), and the ring construction alone."""
    from oslo_utils import timeutils

    from ironic_lite.common import hash_ring
    from ironic_lite.db import migration
    from ironic_lite.db.sqlalchemy import api as db_sqlalchemy

    workdir = tempfile.mkdtemp(prefix='ironic-lite-ring-')
    try:
        dbapi = db_sqlalchemy.Connection('sqlite:///%s/r.sqlite' % workdir)
        migration.upgrade(engine=dbapi.engine)
        for hostname, group in conductors_of(conductors):
            row = dbapi.register_conductor(
                hostname, group, list(HARDWARE_TYPES),
                take_over_if_older_than=timeutils.utcnow())
            dbapi.register_conductor_hardware_interfaces(row.id, [
                {'hardware_type': hw, 'interface_type': 'power',
                 'interface_name': 'fake', 'default': True}
                for hw in HARDWARE_TYPES])
        manager = hash_ring.HashRingManager(dbapi)
        loads, builds = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            rings = manager._load()
            loads.append(time.perf_counter() - start)
            members = {k: set(r.hosts) for k, r in rings.rings.items()}
            start = time.perf_counter()
            for hosts in members.values():
                hash_ring.Ring(hosts, PARTITIONS)
            builds.append(time.perf_counter() - start)
        dbapi.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {'load': statistics.median(loads) * 1000,
            'build': statistics.median(builds) * 1000,
            'rings': len(members),
            'points': sum(len(h) for h in members.values()) * PARTITIONS}


def run_fleet(nodes: int, conductors: int, args) -> tuple[dict, dict]:
    workdir = tempfile.mkdtemp(prefix='ironic-lite-scale-')
    try:
        print('ironic-lite, %d nodes, %d conductors: seeding...'
              % (nodes, conductors), flush=True)
        if args.database:
            service = start_cluster(workdir, nodes, conductors,
                                    args.api_workers, args.database,
                                    vacuum=args.vacuum)
        else:
            service = start_ironic_lite(workdir, nodes, conductors,
                                        args.api_workers)
        print('  seeded in %.1f s' % service.info['seconds'], flush=True)
        try:
            recorded = _wait_recorded(service.info['url'],
                                      time.monotonic() + 600)
            print('  the nodes\' conductors recorded %.1f s after the '
                  'service answered' % recorded, flush=True)
            fleet = Fleet(service.info['hosts'])
            results, facts = cases(service, fleet, args.seconds,
                                   args.clients, args.only)
        finally:
            service.stop()
        facts['seed_s'] = service.info['seconds']
        _print_facts(facts)
        return results, facts
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_recorded(url: str, deadline: float) -> float:
    """Wait until the conductor has recorded every node's conductor
    (``nodes.served_by``, its first pass after joining): ``?conductor=``
    pages are measured as they are served from then on. The seconds
    waited."""
    import sqlalchemy

    from ironic_lite.conductor import served_by
    from ironic_lite.db.sqlalchemy import models

    started = time.monotonic()
    engine = sqlalchemy.create_engine(url)
    node = models.Node.__table__
    record = models.ServedByRecord.__table__
    try:
        while True:
            with engine.connect() as connection:
                fingerprint = connection.execute(
                    sqlalchemy.select(record.c.fingerprint)).scalar()
                unrecorded = connection.execute(
                    sqlalchemy.select(node.c.id).where(
                        node.c.served_by.is_(None)).limit(1)).first()
            if (fingerprint and not unrecorded and not
                    fingerprint.startswith(served_by.RECORDING)):
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise RuntimeError('the nodes\' conductors were not '
                                   'recorded')
            time.sleep(0.2)
    finally:
        engine.dispose()


def _print_facts(facts: dict) -> None:
    pages = facts['pages']
    full = all(p == PAGE for p in pages[:-1])
    print('  ?conductor=H: %d nodes, %d pages, all but the last full: %s; '
          'API RSS started %.1f MiB (PSS %.1f), after the reads %.1f MiB '
          '(PSS %.1f)'
          % (facts['host_nodes'], len(pages), full,
             facts['rss_start_kib'] / 1024, facts['pss_start_kib'] / 1024,
             facts['rss_kib'] / 1024, facts['pss_kib'] / 1024),
          flush=True)
    facts['pages_full'] = full and sum(pages) == facts['host_nodes']


def summary(runs: dict, rings: dict, ironic: dict | None,
            served_by: str) -> None:
    """The figures in Markdown, with the targets and ratios; ``served_by``
    says what served the run."""
    print('\n## Summary\n')
    print('Served by: %s\n' % served_by)
    for key, (results, facts) in runs.items():
        print('### ironic-lite, %s nodes, %s conductors\n' % key)
        print('| request | 1 client: median | p90 | r/s | 4 clients: '
              'median | p90 | r/s |\n| --- | --- | --- | --- | --- | --- '
              '| --- |')
        for label, (one, many) in results.items():
            print('| %s | %.1f ms | %.1f ms | %.0f | %.1f ms | %.1f ms | '
                  '%.0f |' % (label, one['median'], one['p90'], one['rps'],
                              many['median'], many['p90'], many['rps']))
        print('\nseeded in %.1f s; ?conductor=H: %d nodes in %d pages, '
              'pages full: %s; API RSS started %.1f MiB, after the reads '
              '%.1f MiB (the largest process %.1f MiB); PSS of the API '
              'processes, shared pages counted once: started %.1f MiB, '
              'after the reads %.1f MiB\n'
              % (facts['seed_s'], facts['host_nodes'], len(facts['pages']),
                 facts['pages_full'], facts['rss_start_kib'] / 1024,
                 facts['rss_kib'] / 1024,
                 facts['rss_largest_kib'] / 1024,
                 facts['pss_start_kib'] / 1024, facts['pss_kib'] / 1024))
    print('### Ring rebuild (read the alive conductors, build every ring)\n')
    print('| conductors | rings | points | load + build | build only |\n'
          '| --- | --- | --- | --- | --- |')
    for count, figures in rings.items():
        print('| %d | %d | %d | %.1f ms | %.1f ms |'
              % (count, figures['rings'], figures['points'],
                 figures['load'], figures['build']))
    print()
    _ratios(runs, ironic)
    _targets(runs, rings, ironic)


def _median(runs, key, label):
    entry = runs.get(key, ({}, {}))[0].get(label)
    return entry[0]['median'] if entry else None


def _ratios(runs: dict, ironic: dict | None) -> None:
    labels = list(next(iter(runs.values()))[0]) if runs else []
    for conductors in sorted({c for _, c in runs}):
        small, large = (10000, conductors), (100000, conductors)
        if small in runs and large in runs:
            print('### 100 000 / 10 000 nodes, %d conductors (median, '
                  '1 client)\n' % conductors)
            print('| request | 10 000 | 100 000 | ratio |\n'
                  '| --- | --- | --- | --- |')
            for label in labels:
                a, b = (_median(runs, small, label),
                        _median(runs, large, label))
                if a and b:
                    print('| %s | %.1f ms | %.1f ms | %.2f× |'
                          % (label, a, b, b / a))
            print()
    if ironic:
        results, _ = ironic['run']
        mine = runs.get(ironic['fleet'], ({}, {}))[0]
        print('### ironic-lite / Ironic %s, %s nodes, %s conductors\n'
              % ((ironic['version'],) + ironic['fleet']))
        print('| request | ironic-lite median / 4-client r/s | Ironic | '
              'speed-up median, r/s |\n| --- | --- | --- | --- |')
        for label, (one, many) in results.items():
            if label not in mine:
                continue
            lone, lmany = mine[label]
            print('| %s | %.1f ms / %.0f | %.1f ms / %.0f | %.1f×, %.1f× |'
                  % (label, lone['median'], lmany['rps'], one['median'],
                     many['rps'], one['median'] / lone['median'],
                     lmany['rps'] / many['rps']))
        facts = ironic['run'][1]
        print('\nIronic: ?conductor=H (%d nodes) gave %d pages of %s nodes, '
              'pages full: %s; RSS of its processes started %.1f MiB, after '
              'the reads %.1f MiB (PSS %.1f MiB)\n'
              % (facts['host_nodes'], len(facts['pages']),
                 '+'.join(map(str, facts['pages'])), facts['pages_full'],
                 facts['rss_start_kib'] / 1024, facts['rss_kib'] / 1024,
                 facts['pss_kib'] / 1024))


def _targets(runs: dict, rings: dict, ironic: dict | None) -> None:
    print('### Targets\n')
    checks = []
    for key, (results, facts) in runs.items():
        plain = results.get('GET /v1/nodes?limit=1000')
        filtered = results.get('GET /v1/nodes?conductor=H&limit=1000')
        if plain and filtered:
            checks.append(('?conductor= page ≤ plain page, %s/%s' % key,
                           '%.1f ≤ %.1f ms' % (filtered[0]['median'],
                                               plain[0]['median']),
                           filtered[0]['median'] <= plain[0]['median']))
        checks.append(('?conductor= pages full, %s/%s' % key,
                       str(facts['pages_full']), facts['pages_full']))
        if key[0] == 100000:
            # Per process: what grows with the fleet is each process's
            # data; a second API process adds its code, not the fleet.
            checks.append(('API RSS at 100 000 nodes ≤ 150 MB (143 MiB), '
                           'per process (%s conductors)' % key[1],
                           '%.1f MiB (all processes: RSS %.1f MiB, PSS '
                           '%.1f MiB)'
                           % (facts['rss_largest_kib'] / 1024,
                              facts['rss_kib'] / 1024,
                              facts['pss_kib'] / 1024),
                           facts['rss_largest_kib'] <= TARGET_MEMORY_KIB))
            checks.append(('API memory at 100 000 nodes ≤ 150 MB (143 MiB), '
                           'every API process together (PSS, %s conductors)'
                           % key[1], '%.1f MiB' % (facts['pss_kib'] / 1024),
                           facts['pss_kib'] <= TARGET_MEMORY_KIB))
    for conductors in sorted({c for _, c in runs}):
        for label in ('GET /v1/nodes?conductor=H&limit=1000',
                      'GET /v1/nodes?conductor=H&limit=250'):
            a = _median(runs, (10000, conductors), label)
            b = _median(runs, (100000, conductors), label)
            if a and b:
                checks.append(('?conductor= page (limit=%s) 100k/10k ≤ '
                               '1.5×, %d conductors'
                               % (label.rsplit('=', 1)[1], conductors),
                               '%.2f×' % (b / a), b / a <= 1.5))
    if 256 in rings:
        checks.append(('ring rebuild at 256 conductors ≤ 50 ms',
                       '%.1f ms' % rings[256]['load'],
                       rings[256]['load'] <= 50))
    print('| target | figure | met |\n| --- | --- | --- |')
    for name, figure, met in checks:
        print('| %s | %s | %s |' % (name, figure, 'yes' if met else '**no**'))
    print()


def _fleet(text: str) -> tuple[int, int]:
    nodes, conductors = text.lower().split('x')
    return int(nodes), int(conductors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command')
    only_seed = sub.add_parser('seed', help='only seed a database')
    only_seed.add_argument('--nodes', type=int, default=10000)
    only_seed.add_argument('--conductors', type=int, default=4)
    only_seed.add_argument('--database', required=True,
                           help='SQLite file to create')
    parser.add_argument('--fleets', default='10000x4,100000x4,10000x32,'
                        '100000x32', help='NODESxCONDUCTORS, comma separated')
    parser.add_argument('--clients', type=int, default=4)
    parser.add_argument('--seconds', type=float, default=3.0)
    parser.add_argument('--api-workers', type=int, metavar='N',
                        help='[api]api_workers (default: the service\'s '
                        'own: the cores, at most 2 for the all-in-one)')
    parser.add_argument('--database', metavar='SERVER_URL',
                        help='instead of the all-in-one on SQLite: '
                        'ironic-lite-api and ironic-lite-conductor over '
                        'RabbitMQ, on a scratch database of this server, '
                        'e.g. postgresql+psycopg2://postgres@127.0.0.1/')
    parser.add_argument('--vacuum', action='store_true',
                        help='with --database: VACUUM ANALYZE once seeded, '
                        'as autovacuum would later')
    parser.add_argument('--only', help='only requests whose label '
                        'contains this')
    parser.add_argument('--ironic', metavar='VENV',
                        help='also measure Ironic, from this virtualenv, '
                        'on the first fleet')
    args = parser.parse_args()
    if args.command == 'seed':
        if os.path.exists(args.database):
            parser.error('%s exists; give a new file' % args.database)
        info = seed('sqlite:///' + os.path.abspath(args.database),
                    args.nodes, args.conductors)
        print('%d nodes, %d conductors in %.1f s'
              % (args.nodes, args.conductors, info['seconds']))
        return 0

    print('load average at the start: %s' % ' '.join(
        open('/proc/loadavg').read().split()[:3]))
    fleets = [_fleet(f) for f in args.fleets.split(',')]
    workers = ('%d API processes' % args.api_workers if args.api_workers
               else 'the default API processes')
    served_by = (
        'ironic-lite-api (%s) and ironic-lite-conductor over RabbitMQ, on %s'
        % (workers, args.database.split(':')[0]) if args.database else
        'the all-in-one ironic-lite on SQLite (%s)' % workers)
    runs = collections.OrderedDict()
    ironic = None
    if args.ironic:
        import ironic_side

        ironic = ironic_side.run(args.ironic, fleets[0], args, cases,
                                 Fleet, seed_info=None)
        _print_facts(ironic['run'][1])
    for nodes, conductors in fleets:
        runs[(nodes, conductors)] = run_fleet(nodes, conductors, args)
    rings = {count: ring_rebuild(count) for count in (32, 256)}
    print('load average at the end: %s' % ' '.join(
        open('/proc/loadavg').read().split()[:3]))
    summary(runs, rings, ironic, served_by)
    return 0


if __name__ == '__main__':
    sys.exit(main())
