#!/usr/bin/env python3
"""Write the API reference samples from live responses of ironic-lite.

Run from the repository root::

    python tools/api_samples.py            # rewrite api-ref/source/samples/
    python tools/api_samples.py --check    # exit 1 if a sample is stale

The script builds what the API tests build (configuration, a migrated SQLite
database in a temporary directory, ``fake://`` RPC, the WSGI application
under webtest), starts real conductors in this process, creates nodes through
``POST /v1/nodes`` and writes what the server answers, untouched but for the
request ids: JSON bodies pretty-printed in the key order the server sent.

What would change from run to run is made stable at its source rather than
edited afterwards, so that the samples stay true to each other:

* the clock is frozen (``oslo_utils.timeutils``) and only moves when this
  script moves it; heartbeats are written by the script at those moments;
* each node's UUID is derived from its name. The hash ring places a node by
  the md5 of its UUID, so this also keeps every node on the same conductor
  from one run to the next;
* requests reach the server as ``http://127.0.0.1:6385``, the address of the
  all-in-one ``ironic-lite`` command;
* request ids, only in the header samples, are replaced by one fixed id.
"""

import argparse
import contextlib
import datetime
import filecmp
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, 'api-ref', 'source', 'samples')

HOST = '127.0.0.1:6385'
LATEST = '1.49'
# Node UUIDs are uuid5(UUID_NAMESPACE, name).
UUID_NAMESPACE = uuid.UUID('1724474a-0000-4000-8000-000000000049')
REQUEST_ID = 'req-a2fa3bc2-0c4a-4b8c-9a5e-3f1c7e0d5b61'
# Day one of the samples: the conductors start at 09:00 UTC.
START = datetime.datetime(2025, 3, 4, 9, 0, 0)
# The release the conductors say they run, whatever is installed.
RELEASE = '0.0.1'

OLD_CONDUCTOR = 'conductor-0.example.com'
# hostname, conductor group, enabled hardware types
CONDUCTORS = [
    ('conductor-1.example.com', '', ['ipmi', 'fake-hardware']),
    ('conductor-2.example.com', '', ['ipmi']),
    ('conductor-3.example.com', 'rack2', ['ipmi']),
    # A JSON-RPC style name: host and port, IPv6.
    ('[2001:db8::15]:8090', 'rack2', ['ipmi']),
]


class NodeUUIDs:
    """A fixed UUID for each node, derived from its name.

    While a node is being created, every UUID this thread generates is the
    node's (the request id too), so the node's UUID depends on nothing else
    the service happens to generate. Other UUIDs stay random.
    """

    def __init__(self):
        from oslo_utils import uuidutils

        self.current = None
        real = uuidutils.generate_uuid
        main = threading.main_thread()

        def generate_uuid(dashed=True):
            if self.current is None or threading.current_thread() is not main:
                return real(dashed)
            return str(self.current) if dashed else self.current.hex

        uuidutils.generate_uuid = generate_uuid

    @contextlib.contextmanager
    def node(self, name: str):
        self.current = uuid.uuid5(UUID_NAMESPACE, name)
        try:
            yield
        finally:
            self.current = None


class Service:
    """ironic-lite in this process: database, conductors, API."""

    def __init__(self, workdir: str):
        import ironic_lite  # noqa: F401 - selects the threading backend
        from ironic_lite.conf import CONF

        self.conf = CONF
        CONF([], project='ironic-lite', default_config_files=[])
        CONF.set_override('state_path', workdir)
        CONF.set_override('host', CONDUCTORS[0][0])
        # The script writes the heartbeats itself, at fixed times.
        CONF.set_override('heartbeat_interval', 86400, group='conductor')
        # ... and probes the PXE environment itself, at a fixed time.
        CONF.set_override('pxe_health_interval', 0, group='conductor')
        for root in ('tftpboot', 'httpboot'):
            os.makedirs(os.path.join(workdir, root))

        from ironic_lite.db import api as db_api
        from ironic_lite.db import migration
        from ironic_lite.db.sqlalchemy import api as db_sqlalchemy

        url = 'sqlite:///' + os.path.join(workdir, 'ironic-lite.sqlite')
        CONF.set_override('connection', url, group='database')
        self.dbapi = db_sqlalchemy.Connection(url)
        migration.upgrade(engine=self.dbapi.engine)
        db_api.set_instance(self.dbapi)

        from ironic_lite.common import rpc
        rpc.init('fake://')
        self.running = {}

    def start_conductor(self, host: str, group: str, hardware: list[str]):
        from ironic_lite.conductor import service

        self.conf.set_override('conductor_group', group, group='conductor')
        self.conf.set_override('enabled_hardware_types', hardware)
        conductor = service.ConductorService(host=host)
        conductor.start()
        self.running[host] = conductor

    def probe_pxe(self, host: str) -> None:
        from ironic_lite.conductor import pxe_health

        self.dbapi.set_conductor_pxe_health(host, pxe_health.probe())

    def stop_conductor(self, host: str) -> None:
        self.running.pop(host).stop()

    def heartbeat(self) -> None:
        from ironic_lite.common import hash_ring

        for host in self.running:
            self.dbapi.touch_conductor(host)
        # A thread of a conductor may have read the alive conductors after
        # the clock moved and before these heartbeats, and seen none.
        hash_ring.get_manager().reset()

    def stop(self) -> None:
        for host in list(self.running):
            self.stop_conductor(host)
        self.dbapi.dispose()


class Clock:
    """The frozen clock of the server."""

    def __init__(self, service: Service):
        from oslo_utils import timeutils

        self.timeutils = timeutils
        self.service = service
        timeutils.set_time_override(START)

    def set(self, moment: datetime.datetime) -> None:
        self.timeutils.set_time_override(moment)

    def tick(self, seconds: float) -> None:
        """Let time pass; the running conductors heartbeat."""
        self.timeutils.advance_time_seconds(seconds)
        self.service.heartbeat()

    def stop(self) -> None:
        self.timeutils.clear_time_override()


class Samples:
    """Requests to the API, and the sample files made of them."""

    def __init__(self, outdir: str):
        import webtest

        from ironic_lite.api import app

        self.outdir = outdir
        self.app = webtest.TestApp(app.setup_app(),
                                   extra_environ={'HTTP_HOST': HOST})
        self.written = []

    def call(self, method: str, path: str, body=None, version=LATEST,
             status=200, headers=None):
        request_headers = {}
        if version is not None:
            request_headers['X-OpenStack-Ironic-API-Version'] = version
        request_headers.update(headers or {})
        if body is None:
            send = getattr(self.app, method.lower())
            response = send(path, headers=request_headers,
                            expect_errors=True)
        else:
            send = getattr(self.app, method.lower() + '_json')
            response = send(path, body, headers=request_headers,
                            expect_errors=True)
        if response.status_int != status:
            raise AssertionError('%s %s answered %s, not %s:\n%s'
                                 % (method, path, response.status, status,
                                    response.text))
        return response

    def get(self, path: str, **kwargs):
        return self.call('GET', path, **kwargs)

    def write_json(self, name: str, document) -> None:
        self._write(name, json.dumps(document, indent=2,
                                     ensure_ascii=False) + '\n')

    def write_body(self, name: str, response) -> None:
        self.write_json(name, response.json)

    def write_exchange(self, name: str, method: str, path: str,
                       request_headers: dict, response) -> None:
        """A request and its response with every header, as on the wire."""
        lines = ['%s %s HTTP/1.1' % (method, path), 'Host: %s' % HOST]
        lines += ['%s: %s' % item for item in request_headers.items()]
        lines += ['', 'HTTP/1.1 %s' % response.status]
        lines += ['%s: %s' % (header, _stable_header(header, value))
                  for header, value in response.headerlist]
        lines.append('')
        if response.body:
            lines.append(json.dumps(response.json, indent=2,
                                    ensure_ascii=False))
        self._write(name, '\n'.join(lines).rstrip('\n') + '\n')

    def write_text(self, name: str, text: str) -> None:
        self._write(name, text)

    def _write(self, name: str, text: str) -> None:
        with open(os.path.join(self.outdir, name), 'w',
                  encoding='utf-8') as f:
            f.write(text)
        self.written.append(name)


def _stable_header(header: str, value: str) -> str:
    if header.lower() in ('openstack-request-id', 'x-openstack-request-id'):
        return REQUEST_ID
    return value


def _query(**params) -> str:
    return urllib.parse.urlencode(params, safe=',:[]')


def _write_samples(service: Service, clock: Clock, samples: Samples,
                   uuids: NodeUUIDs) -> None:
    # A conductor that ran yesterday and was stopped: alive is false.
    clock.set(START - datetime.timedelta(days=1))
    service.start_conductor(OLD_CONDUCTOR, '', ['ipmi'])
    clock.tick(8 * 3600)
    service.stop_conductor(OLD_CONDUCTOR)

    clock.set(START)
    for host, group, hardware in CONDUCTORS:
        service.start_conductor(host, group, hardware)
        clock.tick(1)
    service.probe_pxe(CONDUCTORS[0][0])

    # Nodes, created through the API. The first one is the create sample.
    clock.tick(5 * 60)
    create_request = {
        'name': 'node-0',
        'driver': 'ipmi',
        'driver_info': {
            'ipmi_address': '192.0.2.10',
            'ipmi_username': 'admin',
            'ipmi_password': 'secret',
        },
        'properties': {
            'cpus': 16,
            'memory_mb': 65536,
            'local_gb': 400,
            'cpu_arch': 'x86_64',
        },
        'resource_class': 'baremetal.large',
    }
    with uuids.node(create_request['name']):
        created = samples.call('POST', '/v1/nodes', create_request,
                               status=201)
    samples.write_json('node-create-request.json', create_request)
    samples.write_body('node-create-response.json', created)
    nodes = [created.json]
    for index in range(1, 10):
        clock.tick(1)
        body = {'name': 'node-%d' % index, 'driver': 'ipmi',
                'driver_info': {'ipmi_address': '192.0.2.%d' % (10 + index)},
                'resource_class': 'baremetal.large'}
        if index >= 7:
            body['conductor_group'] = 'rack2'
        with uuids.node(body['name']):
            nodes.append(samples.call('POST', '/v1/nodes', body,
                                      status=201).json)

    clock.tick(10 * 60)
    _version_samples(samples)
    _node_samples(samples, nodes)
    _conductor_samples(samples, nodes)
    _error_samples(samples)
    _driver_samples(samples)
    _port_samples(samples, uuids, nodes)

    # Changes come last: every sample above sees the same nodes.
    clock.tick(5 * 60)
    _update_samples(samples, nodes)
    _field_versions(samples, nodes[0]['uuid'])
    clock.tick(60)
    _management_samples(samples, uuids)

    # Last: rack2 loses its conductors and its nodes become orphans.
    clock.tick(60)
    _redundancy_samples(service, samples)


def _version_samples(samples: Samples) -> None:
    samples.write_body('api-root-response.json',
                       samples.get('/', version=None))
    samples.write_body('api-v1-root-response.json', samples.get('/v1/'))

    headers = {'X-OpenStack-Ironic-API-Version': '1.49'}
    samples.write_exchange(
        'api-version-request-response.txt', 'GET', '/v1/', headers,
        samples.get('/v1/', version=None, headers=headers))
    headers = {'OpenStack-API-Version': 'baremetal 1.48'}
    samples.write_exchange(
        'api-version-standard-header.txt', 'GET', '/v1/nodes?limit=1',
        headers, samples.get('/v1/nodes?limit=1', version=None,
                             headers=headers))
    headers = {'X-OpenStack-Ironic-API-Version': '1.50'}
    samples.write_exchange(
        'api-version-not-acceptable.txt', 'GET', '/v1/nodes', headers,
        samples.get('/v1/nodes', version=None, headers=headers,
                    status=406))


def _node_samples(samples: Samples, nodes: list[dict]) -> None:
    node = nodes[0]
    samples.write_body('nodes-list-response.json', samples.get('/v1/nodes'))
    samples.write_body('nodes-list-details-response.json',
                       samples.get('/v1/nodes/detail?limit=1'))
    samples.write_body('node-show-response.json',
                       samples.get('/v1/nodes/%s' % node['name']))
    samples.write_body(
        'node-show-fields-response.json',
        samples.get('/v1/nodes/%s?fields=uuid,name,conductor,'
                    'conductor_group' % node['uuid']))
    samples.write_body('node-get-state-response.json',
                       samples.get('/v1/nodes/%s/states' % node['name']))

    # The conductor filter, on the first conductor: it serves enough nodes
    # for paging through them to take several pages.
    owners = {}
    for item in nodes:
        owners.setdefault(item['conductor'], []).append(item['uuid'])
    conductor = CONDUCTORS[0][0]
    assert len(owners.get(conductor, ())) > 2, owners
    samples.write_body(
        'nodes-list-by-conductor-response.json',
        samples.get('/v1/nodes?' + _query(conductor=conductor)))
    first_page = samples.get('/v1/nodes?' + _query(
        conductor=conductor, fields='uuid,name,conductor', limit=2))
    samples.write_body('nodes-list-by-conductor-paged-response.json',
                       first_page)
    # Filtering happens before paging: following next gives every match.
    seen = [item['uuid'] for item in first_page.json['nodes']]
    page = first_page.json
    while 'next' in page:
        page = samples.get(page['next'].replace('http://' + HOST, '')).json
        seen += [item['uuid'] for item in page['nodes']]
        assert all(item['conductor'] == conductor for item in page['nodes'])
    assert seen == owners[conductor], (seen, owners[conductor])


def _conductor_samples(samples: Samples, nodes: list[dict]) -> None:
    samples.write_body('conductor-list-response.json',
                       samples.get('/v1/conductors'))
    samples.write_body('conductor-list-details-response.json',
                       samples.get('/v1/conductors?detail=true'))
    samples.write_body(
        'conductor-list-paged-response.json',
        samples.get('/v1/conductors?fields=hostname,alive&limit=2'))
    samples.write_body(
        'conductor-show-response.json',
        samples.get('/v1/conductors/%s' % CONDUCTORS[0][0]))
    samples.write_body(
        'conductor-show-offline-response.json',
        samples.get('/v1/conductors/%s?fields=hostname,alive,last_seen'
                    % OLD_CONDUCTOR))
    samples.write_body(
        'conductor-events-list-response.json',
        samples.get('/v1/conductor_events?limit=3'))
    samples.write_body(
        'conductor-show-events-response.json',
        samples.get('/v1/conductors/%s/events' % OLD_CONDUCTOR))
    # The conductor of a node served by a host:port conductor: its name in
    # the path and in the links.
    special = CONDUCTORS[-1][0]
    node = next(item for item in nodes if item['conductor'] == special)
    samples.write_body('node-conductor-response.json',
                       samples.get('/v1/nodes/%s/conductor' % node['name']))


def _redundancy_samples(service: Service, samples: Samples) -> None:
    samples.write_body(
        'conductor-impact-response.json',
        samples.get('/v1/conductors/%s/impact?limit=2' % CONDUCTORS[0][0]))
    for host, group, _hardware in CONDUCTORS:
        if group == 'rack2':
            service.stop_conductor(host)
    samples.write_body(
        'nodes-list-orphaned-response.json',
        samples.get('/v1/nodes?' + _query(
            orphaned='true', fields='uuid,name,conductor_group,conductor')))
    samples.write_body('conductor-groups-list-response.json',
                       samples.get('/v1/conductor_groups'))


def _error_samples(samples: Samples) -> None:
    samples.write_body('error-response.json',
                       samples.get('/v1/conductors/nope', status=404))
    samples.write_body(
        'error-version-response.json',
        samples.get('/v1/conductors', version='1.48', status=404))


def _driver_samples(samples: Samples) -> None:
    samples.write_body('drivers-list-response.json',
                       samples.get('/v1/drivers'))
    samples.write_body('driver-get-response.json',
                       samples.get('/v1/drivers/ipmi'))
    samples.write_body('driver-property-response.json',
                       samples.get('/v1/drivers/ipmi/properties'))


def _port_samples(samples: Samples, uuids: NodeUUIDs,
                  nodes: list[dict]) -> None:
    create_request = {
        'address': '52:54:00:12:34:56',
        'node_uuid': nodes[0]['uuid'],
        'local_link_connection': {'switch_id': '0a:1b:2c:3d:4e:5f',
                                  'port_id': 'Ethernet3/1',
                                  'switch_info': 'switch1'},
        'physical_network': 'physnet1',
    }
    with uuids.node('port-0'):
        created = samples.call('POST', '/v1/ports', create_request,
                               status=201)
    samples.write_json('port-create-request.json', create_request)
    samples.write_body('port-create-response.json', created)
    for index, node in enumerate(nodes[1:3], start=1):
        with uuids.node('port-%d' % index):
            samples.call('POST', '/v1/ports', {
                'address': '52:54:00:12:34:%02x' % (0x56 + index),
                'node_uuid': node['uuid']}, status=201)
    samples.write_body('port-list-response.json', samples.get('/v1/ports'))
    samples.write_body('port-list-detail-response.json',
                       samples.get('/v1/ports/detail?limit=2'))
    samples.write_body('node-port-list-response.json',
                       samples.get('/v1/nodes/%s/ports' % nodes[0]['name']))
    samples.write_body('port-show-response.json',
                       samples.get('/v1/ports/%s' % created.json['uuid']))
    patch = [{'op': 'add', 'path': '/extra/cable', 'value': 'c-0142'},
             {'op': 'replace', 'path': '/pxe_enabled', 'value': False}]
    samples.write_json('port-update-request.json', patch)
    samples.write_body('port-update-response.json',
                       samples.call('PATCH', '/v1/ports/%s'
                                    % created.json['uuid'], patch))


def _update_samples(samples: Samples, nodes: list[dict]) -> None:
    node = nodes[0]
    patch = [
        {'op': 'add', 'path': '/extra/rack', 'value': 'r14'},
        {'op': 'replace', 'path': '/properties/memory_mb',
         'value': 131072},
        {'op': 'remove', 'path': '/driver_info/ipmi_username'},
    ]
    samples.write_json('node-update-request.json', patch)
    samples.write_body('node-update-response.json',
                       samples.call('PATCH', '/v1/nodes/%s' % node['name'],
                                    patch))

    # A new hardware type, whose interfaces replace the old ones.
    patch = [{'op': 'replace', 'path': '/driver', 'value': 'fake-hardware'}]
    samples.write_json('node-update-driver-request.json', patch)
    changed = samples.call('PATCH', '/v1/nodes/%s?reset_interfaces=true'
                           % nodes[1]['name'], patch).json
    assert changed['power_interface'] == 'fake', changed

    samples.call('DELETE', '/v1/nodes/%s' % nodes[-1]['name'], status=204)


def _wait_until_done(samples: Samples, node: str) -> dict:
    """The node's states once its conductor has finished the action."""
    deadline = time.monotonic() + 30
    while True:
        states = samples.get('/v1/nodes/%s/states' % node).json
        if (states['target_power_state'] is None
                and states['target_provision_state'] is None):
            return states
        if time.monotonic() > deadline:
            raise AssertionError('node %s still busy: %s' % (node, states))
        time.sleep(0.05)


def _management_samples(samples: Samples, uuids: NodeUUIDs) -> None:
    """Power, provision, boot device, validation and maintenance, on a
    fake-hardware node: the answers a real BMC would give, without one."""
    name = 'node-fake'
    with uuids.node(name):
        # Without a BIOS interface, so that validation has one to refuse.
        samples.call('POST', '/v1/nodes',
                     {'name': name, 'driver': 'fake-hardware',
                      'bios_interface': 'no-bios'}, status=201)
    path = '/v1/nodes/%s' % name

    power = {'target': 'power on'}
    samples.write_json('node-set-power-state.json', power)
    samples.call('PUT', path + '/states/power', power, status=202)
    _wait_until_done(samples, name)
    for target, sample in (('manage', 'node-set-manage-state.json'),
                           ('provide', 'node-set-available-state.json'),
                           ('active', 'node-set-active-state.json')):
        request = {'target': target}
        samples.write_json(sample, request)
        samples.call('PUT', path + '/states/provision', request,
                     status=202)
        _wait_until_done(samples, name)
    samples.write_body('node-get-state-after-action-response.json',
                       samples.get(path + '/states'))

    samples.write_body('node-get-boot-device-response.json',
                       samples.get(path + '/management/boot_device'))
    boot_device = {'boot_device': 'pxe', 'persistent': True}
    samples.write_json('node-set-boot-device.json', boot_device)
    samples.call('PUT', path + '/management/boot_device', boot_device,
                 status=204)
    samples.write_body(
        'node-get-supported-boot-devices-response.json',
        samples.get(path + '/management/boot_device/supported'))
    samples.write_body('node-validate-response.json',
                       samples.get(path + '/validate'))

    maintenance = {'reason': 'Replacing a fan'}
    samples.write_json('node-maintenance-request.json', maintenance)
    samples.call('PUT', path + '/maintenance', maintenance, status=202)
    samples.call('DELETE', path + '/maintenance', status=202)


def _field_versions(samples: Samples, node_uuid: str) -> None:
    """When each field of a node first appears, asking version by version;
    written as a table the nodes page includes."""
    from ironic_lite.api import versions

    first_seen = {}
    for minor in range(versions.MIN_MINOR, versions.MAX_MINOR + 1):
        shown = samples.get('/v1/nodes/%s' % node_uuid,
                            version='1.%d' % minor).json
        for field in shown:
            first_seen.setdefault(field, minor)
    by_version = {}
    for field, minor in first_seen.items():
        by_version.setdefault(minor, []).append(field)
    rows = ['.. This file is written by tools/api_samples.py.', '',
            '.. list-table::', '   :header-rows: 1', '   :widths: 15 85', '',
            '   * - Version', '     - Fields of a node shown from that '
            'version on']
    for minor in sorted(by_version):
        fields = ', '.join('``%s``' % name
                           for name in sorted(by_version[minor]))
        rows += ['   * - 1.%d' % minor, '     - %s' % fields]
    samples.write_text('node-field-versions.inc', '\n'.join(rows) + '\n')


def generate(outdir: str) -> list[str]:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # oslo.utils would rather tests mocked utcnow; the samples need every
    # caller, the database defaults included, to see the same clock.
    warnings.filterwarnings(
        'ignore', category=DeprecationWarning,
        message=r'(set_time_override|advance_time_seconds|'
                r'clear_time_override) is deprecated')
    from ironic_lite import version
    version.version_string = lambda: RELEASE
    uuids = NodeUUIDs()
    workdir = tempfile.mkdtemp(prefix='ironic-lite-samples-')
    service = Service(workdir)
    clock = Clock(service)
    try:
        samples = Samples(outdir)
        _write_samples(service, clock, samples, uuids)
        return samples.written
    finally:
        service.stop()
        clock.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='compare with the samples in the tree instead '
                             'of writing them; exit 1 when they differ')
    args = parser.parse_args()
    if not args.check:
        os.makedirs(SAMPLES, exist_ok=True)
        for name in generate(SAMPLES):
            print('wrote', os.path.relpath(os.path.join(SAMPLES, name)))
        return 0

    with tempfile.TemporaryDirectory() as fresh:
        written = set(generate(fresh))
        existing = {name for name in os.listdir(SAMPLES)
                    if not name.startswith('.')}
        stale = sorted(name for name in written & existing
                       if not filecmp.cmp(os.path.join(fresh, name),
                                          os.path.join(SAMPLES, name),
                                          shallow=False))
        problems = (['missing: %s' % n for n in sorted(written - existing)]
                    + ['not written by this script: %s' % n
                       for n in sorted(existing - written)]
                    + ['stale: %s' % n for n in stale])
    for problem in problems:
        print(problem)
    if problems:
        print('Run "python tools/api_samples.py" to update the samples.')
        return 1
    print('The API samples are up to date.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
