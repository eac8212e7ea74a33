"""Ironic beside ironic-lite: the same fleet, the same requests, one run.

Ironic is installed in a virtualenv of its own (``pip install ironic``,
outside the repository) and runs all in one process (``ironic``) on SQLite
at 127.0.0.1: ``rpc_transport = none``, ``auth_strategy = noauth``,
``fake-hardware`` and ``ipmi`` enabled. Its schema comes from
``ironic-dbsync create_schema`` (its alembic upgrade cannot alter SQLite
constraints); the fleet is inserted straight into its tables, the same
node rows ``scale.py`` gives ironic-lite, with the interfaces Ironic would
have chosen and the object versions of the installed release. Used by

    python benchmarks/scale.py --ironic /work/ironic-venv

and, to only seed an Ironic database,

    python benchmarks/ironic_side.py VENV CONFIG NODES CONDUCTORS
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import http_api
import scale
import sqlalchemy as sa

ENABLED = {
    'hardware_types': 'fake-hardware,ipmi',
    'power_interfaces': 'fake,ipmitool',
    'management_interfaces': 'fake,ipmitool',
    'boot_interfaces': 'fake,ipxe,pxe',
    'deploy_interfaces': 'fake,direct',
    'console_interfaces': 'fake,no-console',
    'inspect_interfaces': 'fake,no-inspect',
    'vendor_interfaces': 'fake,no-vendor,ipmitool',
    'raid_interfaces': 'fake,no-raid',
    'bios_interfaces': 'fake,no-bios',
}
# The interfaces of a node of each hardware type, as Ironic fills them in.
INTERFACES = {
    'fake-hardware': {'bios': 'fake', 'boot': 'fake', 'console': 'fake',
                      'deploy': 'fake', 'inspect': 'fake',
                      'management': 'fake', 'network': 'noop',
                      'power': 'fake', 'raid': 'fake', 'rescue': 'no-rescue',
                      'storage': 'noop', 'vendor': 'fake',
                      'firmware': 'no-firmware'},
    'ipmi': {'bios': 'no-bios', 'boot': 'ipxe', 'console': 'no-console',
             'deploy': 'direct', 'inspect': 'no-inspect',
             'management': 'ipmitool', 'network': 'noop',
             'power': 'ipmitool', 'raid': 'no-raid', 'rescue': 'no-rescue',
             'storage': 'noop', 'vendor': 'ipmitool',
             'firmware': 'no-firmware'},
}
_DOCUMENTS = ('driver_info', 'properties', 'extra', 'instance_info',
              'driver_internal_info')


def write_config(workdir: str, port: int) -> str:
    path = os.path.join(workdir, 'ironic.conf')
    enabled = ''.join('enabled_%s = %s\n' % item for item in ENABLED.items())
    with open(path, 'w') as f:
        f.write('[DEFAULT]\nhost = %s\nauth_strategy = noauth\n'
                'rpc_transport = none\n%s'
                'enabled_network_interfaces = noop\n'
                'default_network_interface = noop\n'
                'enabled_rescue_interfaces = no-rescue\n'
                'enabled_firmware_interfaces = no-firmware\n'
                'log_file = %s/ironic.log\n'
                '[database]\nconnection = sqlite:///%s/ironic.sqlite\n'
                '[api]\nhost_ip = 127.0.0.1\nport = %d\n'
                '[conductor]\nheartbeat_timeout = 86400\n'
                'sync_power_state_interval = -1\n'
                '[dhcp]\ndhcp_provider = none\n'
                '[deploy]\nhttp_root = %s/httpboot\n'
                '[pxe]\ntftp_root = %s/tftpboot\n'
                % (scale.LOCAL, enabled, workdir, workdir, port, workdir,
                   workdir))
    # The PXE and iPXE boot interfaces refuse to load without them.
    for name in ('httpboot', 'tftpboot'):
        os.makedirs(os.path.join(workdir, name), exist_ok=True)
    return path


def _versions(venv: str) -> dict:
    output = subprocess.run(
        [os.path.join(venv, 'bin', 'python'), '-W', 'ignore', '-c',
         'import json, ironic.version as v\n'
         'from ironic.objects import conductor, node\n'
         'print(json.dumps({"node": node.Node.VERSION, '
         '"conductor": conductor.Conductor.VERSION, '
         '"release": v.version_info.version_string()}))'],
        check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def seed(venv: str, config: str, nodes: int, conductors: int) -> dict:
    """Ironic's schema and the fleet in the database of ``config``."""
    started = time.monotonic()
    subprocess.run([os.path.join(venv, 'bin', 'ironic-dbsync'),
                    '--config-file', config, 'create_schema'], check=True,
                   capture_output=True)
    versions = _versions(venv)
    url = None
    with open(config) as f:
        for line in f:
            if line.startswith('connection = '):
                url = line.split(' = ', 1)[1].strip()
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine, only=['nodes', 'conductors',
                                   'conductor_hardware_interfaces'])
    node_table = metadata.tables['nodes']
    now = datetime.datetime.utcnow()
    hosts = scale.conductors_of(conductors)
    uuids = []
    with engine.begin() as connection:
        # The all-in-one registers bench-1 itself; the others are rows.
        for hostname, group in hosts[1:]:
            conductor_id = connection.execute(
                metadata.tables['conductors'].insert().values(
                    hostname=hostname, drivers='[]', online=True,
                    conductor_group=group, version=versions['conductor'],
                    created_at=now, updated_at=now)).inserted_primary_key[0]
            connection.execute(
                metadata.tables['conductor_hardware_interfaces'].insert(),
                [{'conductor_id': conductor_id, 'hardware_type': hw,
                  'interface_type': kind, 'interface_name': name,
                  'default': True, 'version': '1.0', 'created_at': now}
                 for hw in scale.HARDWARE_TYPES
                 for kind, name in INTERFACES[hw].items()])
        scale.insert_all(connection, node_table,
                         _ironic_rows(nodes, now, versions['node'], uuids))
    engine.dispose()
    return {'uuids': uuids, 'hosts': hosts, 'release': versions['release'],
            'seconds': time.monotonic() - started}


def _ironic_rows(nodes: int, now, version: str, uuids: list):
    """scale.py's node rows as Ironic stores them; ``uuids`` collects
    (uuid, driver, group)."""
    for row in scale.node_rows(nodes, now):
        uuids.append((row['uuid'], row['driver'], row['conductor_group']))
        del row['ring_position']
        for name in _DOCUMENTS:
            row[name] = json.dumps(row[name])
        row.update({'%s_interface' % k: v
                    for k, v in INTERFACES[row['driver']].items()})
        row['version'] = version
        yield row


def _wait_serving(port: int, process, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError('ironic exited: %s' % process.returncode)
        try:
            client = http_api.Client(port)
            client.get('/v1/conductors')
            client.close()
            return
        except (OSError, RuntimeError, http_api.http.client.HTTPException):
            time.sleep(0.2)
    raise RuntimeError('ironic did not start')


def run(venv: str, fleet_size: tuple[int, int], args, cases, fleet_class,
        seed_info=None) -> dict:
    """Seed, start Ironic, measure ``cases``; its figures."""
    nodes, conductors = fleet_size
    workdir = tempfile.mkdtemp(prefix='ironic-bench-')
    try:
        port = http_api._free_port()
        config = write_config(workdir, port)
        print('Ironic, %d nodes, %d conductors: seeding...'
              % (nodes, conductors), flush=True)
        info = seed(venv, config, nodes, conductors)
        print('  Ironic %s, seeded in %.1f s' % (info['release'],
                                                 info['seconds']),
              flush=True)
        log = open(os.path.join(workdir, 'ironic.out'), 'w')
        process = subprocess.Popen(
            [os.path.join(venv, 'bin', 'ironic'), '--config-file', config],
            stdout=log, stderr=subprocess.STDOUT)
        service = scale.Service('ironic', process, port, info,
                                os.path.join(workdir, 'ironic.log'))
        try:
            _wait_serving(port, process, time.monotonic() + 300)
            results, facts = cases(service, fleet_class(info['hosts']),
                                   args.seconds, args.clients, args.only)
        finally:
            service.stop()
            log.close()
        facts['seed_s'] = info['seconds']
        return {'run': (results, facts), 'fleet': fleet_size,
                'version': info['release']}
    finally:
        if os.environ.get('BENCH_KEEP'):
            print(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    venv, config, count, conductor_count = sys.argv[1:5]
    figures = seed(venv, config, int(count), int(conductor_count))
    print('Ironic %s: %s nodes, %s conductors in %.1f s'
          % (figures['release'], count, conductor_count,
             figures['seconds']))
