"""Time of the node list requests with a fleet in the database, served
in-process (webtest), so it measures the service, not the network.

    python benchmarks/api_lists.py [--nodes 1000] [--repeat 20]
"""

import argparse
import statistics
import sys
import time

sys.path.insert(0, '.')

import fixtures  # noqa: E402
import webtest  # noqa: E402
from oslo_utils import timeutils  # noqa: E402
from oslo_utils import uuidutils  # noqa: E402

from ironic_lite.api import app  # noqa: E402
from ironic_lite.common import hash_ring  # noqa: E402
from ironic_lite.common import ring_position  # noqa: E402
from ironic_lite.db.sqlalchemy import models  # noqa: E402
from tests.unit.api import base  # noqa: E402

HEADERS = {'X-OpenStack-Ironic-API-Version': 'latest'}


def timed(client, path: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path, headers=HEADERS)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=20)
    args = parser.parse_args()

    scope = fixtures.Fixture()
    scope.setUp()
    services = base.APIFixtures(scope.useFixture)
    dbapi = services.database.dbapi
    for name in ('cond-2', 'cond-3', 'cond-4'):
        row = dbapi.register_conductor(name, '', ['fake-hardware'],
                                       take_over_if_older_than=timeutils
                                       .utcnow())
        dbapi.register_conductor_hardware_interfaces(row.id, [{
            'hardware_type': 'fake-hardware', 'interface_type': 'power',
            'interface_name': 'fake', 'default': True}])
    hash_ring.get_manager().reset()
    now = timeutils.utcnow()
    rows = []
    for i in range(args.nodes):
        uuid = uuidutils.generate_uuid()
        rows.append({'uuid': uuid, 'name': 'node-%05d' % i,
                     'driver': 'fake-hardware', 'conductor_group': '',
                     'ring_position': ring_position.ring_position(uuid),
                     'provision_state': 'available',
                     'driver_info': {'ipmi_address': '192.0.2.%d' % (i % 250),
                                     'ipmi_password': 'secret'},
                     'properties': {'cpus': 8, 'memory_mb': 65536},
                     'created_at': now, 'maintenance': False,
                     'console_enabled': False, 'protected': False})
    with dbapi.engine.begin() as connection:
        connection.execute(models.Node.__table__.insert(), rows)

    client = webtest.TestApp(app.setup_app())
    cases = [
        ('GET /v1/nodes (default fields)', '/v1/nodes'),
        ('GET /v1/nodes/detail', '/v1/nodes/detail'),
        ('GET /v1/nodes?conductor=cond-2&limit=50', '/v1/nodes?conductor='
         'cond-2&limit=50'),
        ('GET /v1/nodes/{name}', '/v1/nodes/node-00042'),
        ('GET /v1/conductors/cond-2 (node_count)', '/v1/conductors/cond-2'),
    ]
    print('| request | %d nodes: median | p90 |' % args.nodes)
    print('| --- | --- | --- |')
    for label, path in cases:
        timed(client, path, 2)  # warm up
        times = sorted(timed(client, path, args.repeat))
        print('| %s | %.1f ms | %.1f ms |' % (
            label, statistics.median(times) * 1000,
            times[int(len(times) * 0.9) - 1] * 1000))
    scope.cleanUp()
    return 0


if __name__ == '__main__':
    sys.exit(main())
