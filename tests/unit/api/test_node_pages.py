"""Node pages byte for byte: what GET /v1/nodes, /v1/nodes/detail and
/v1/nodes/{ident} answer, at many versions, with ?fields= and ?detail=, to
callers who may or may not see secrets, compared with the digests of the
bodies recorded in ``node_pages.json`` (recorded before the read path was
made fast; a body there is its status and the SHA-256 of its bytes).

Regenerate the recording only for a deliberate change of the API output:
``IRONIC_LITE_RECORD_PAGES=1 python -m stestr run test_node_pages``.
"""

import datetime
import hashlib
import json
import os

import sqlalchemy as sa
from oslo_policy import policy as oslo_policy

from ironic_lite.api import policy
from ironic_lite.common import ring_position
from ironic_lite.db.sqlalchemy import models
from tests.unit.api import base

RECORDING = os.path.join(os.path.dirname(__file__), 'node_pages.json')

UUIDS = ['1be26c0b-03f2-4d2d-ae87-c02d7f33c7%02d' % i for i in range(9)]

WHEN = datetime.datetime(2026, 3, 4, 5, 6, 7, 891011)
WHEN_EVEN = datetime.datetime(2026, 3, 4, 5, 6, 7)


def _nodes() -> list[dict]:
    """Rows written straight to the table: documents as stored text (some
    not as json.dumps would write them), every state a version maps."""
    common = {'driver': 'fake-hardware', 'conductor_group': '',
              'power_state': 'power off', 'maintenance': False,
              'console_enabled': False, 'protected': False,
              'created_at': WHEN}
    rows = [
        {'provision_state': 'available', 'name': 'node-0',
         'driver_info': '{"ipmi_address": "192.0.2.1", "ipmi_username": '
                        '"admin", "ipmi_password": "secret"}',
         'instance_info': '{}', 'properties': '{"cpus": 8}',
         'extra': '{"rack": "r1"}', 'driver_internal_info': '{}',
         'updated_at': WHEN_EVEN, 'provision_updated_at': WHEN},
        {'provision_state': 'inspect wait', 'name': 'node-1',
         'driver': 'ipmi', 'conductor_group': 'far',
         'driver_info': '{"ipmi_address":"a","deploy_kernel":"k"}',
         'instance_info': '{"image_url": "http://x/i", "root_gb": 10, '
                          '"configdrive": "H4sI", "image_source": "s"}',
         'traits': '["CUSTOM_A", "CUSTOM_B"]', 'resource_class': 'gold',
         'inspection_started_at': WHEN_EVEN, 'fault': 'power failure',
         'maintenance': True, 'maintenance_reason': 'why "not"'},
        {'provision_state': 'active', 'name': 'n\u00e9-2',
         'instance_uuid': '2be26c0b-03f2-4d2d-ae87-c02d7f33c700',
         'driver_info': '{"Nested": {"Auth_Token": "t", "x": '
                        '"password=z --password q"}, "list": [{"SECRET": '
                        '1}, "token: abc", ["admin_pass=1"], 2.5, null, '
                        'true], "port": 1180591620717411303424, '
                        '"ssh_key_contents": "KEY", "caf\\u00e9": "\\u00e9"}',
         'instance_info': '{"image_url": "", "x": {"image_url": "y"}}',
         'properties': '{"big": 1180591620717411303424, "f": 1.5e300}',
         'extra': '{"\\u00e9t\\u00e9": "caf\\u00e9", "q": "\\"\\\\"}'},
        {'provision_state': 'enroll', 'name': None,
         'driver_info': '{"to\\u212aen": "kelvin", "ipmi_password": "a", '
                        '"ipmi_password": "b", "n": NaN, "i": 1e400, '
                        '"z": -0.0, "s": "\\ud800"}',
         'instance_info': None, 'properties': None, 'extra': None,
         'traits': None, 'driver_internal_info': None,
         'clean_step': '{"step": "erase"}', 'raid_config': '{}',
         'protected': True, 'protected_reason': 'keep',
         'automated_clean': True, 'reservation': 'test-conductor'},
        {'provision_state': 'clean wait', 'name': 'node-4',
         'conductor_group': 'nobody-serves-it',
         'driver_info': '{"password": {"ipmi_address": "x"}, '
                        '"ipmi_terminal_port": 623}',
         'instance_info': '{"secret": "s"}', 'last_error': 'boom',
         'target_provision_state': 'available',
         'deploy_step': '{"step": "deploy"}',
         'boot_interface': 'fake', 'network_interface': 'noop'},
        {'provision_state': 'deploy failed', 'name': 'node-5',
         'driver_info': '{"ipmi_address": "\\u00e9"}',
         'instance_info': '{"image_url": null, "capabilities": '
                          '"{\\"password\\": \\"p\\"}"}',
         'target_power_state': 'power on'},
    ]
    result = []
    for i, values in enumerate(rows):
        row = dict(common, uuid=UUIDS[i],
                   ring_position=ring_position.ring_position(UUIDS[i]))
        row.update(values)
        result.append(row)
    return result


# Versions before and after each change the node pages show.
VERSIONS = (None, '1.1', '1.2', '1.5', '1.8', '1.14', '1.20', '1.38', '1.39',
            '1.43', '1.46', '1.49')


def _paths(version: str | None) -> list[str]:
    minor = int(version.split('.')[1]) if version else 1
    paths = ['/v1/nodes', '/v1/nodes/detail', '/v1/nodes?limit=2',
             '/v1/nodes/detail?limit=4&sort_key=created_at&sort_dir=desc',
             '/v1/nodes/detail?marker=%s' % UUIDS[1],
             '/v1/nodes/%s' % UUIDS[0], '/v1/nodes/%s' % UUIDS[2],
             '/v1/nodes/%s' % UUIDS[3], '/v1/nodes/%s/states' % UUIDS[3]]
    if minor >= 5:
        paths += ['/v1/nodes/node-1']
    if minor >= 8:
        paths += ['/v1/nodes?fields=uuid,driver_info,instance_info,'
                  'provision_state,created_at',
                  '/v1/nodes/%s?fields=driver_info,provision_state,'
                  'chassis_uuid' % UUIDS[1],
                  '/v1/nodes?fields=uuid&limit=3']
    if minor >= 43:
        paths += ['/v1/nodes?detail=True', '/v1/nodes?detail=False&limit=2']
    if minor >= 46:
        paths += ['/v1/nodes/detail?conductor_group=FAR']
    if minor >= 49:
        paths += ['/v1/nodes/detail?conductor=test-conductor',
                  '/v1/nodes?fields=uuid,conductor,driver_info',
                  '/v1/nodes/%s?fields=conductor' % UUIDS[4]]
    return paths


# Who asks: the policy rules that let a caller see secrets.
CALLERS = {
    'masked': {},
    'shown': {'show_password': '@', 'show_instance_secrets': '@'},
    'driver_only': {'show_password': '@'},
}


class TestNodePages(base.APITestCase):

    def setUp(self):
        super().setUp()
        table = models.Node.__table__
        # Nodes this conductor has taken over already: a take-over pass
        # (the conductor's first runs in a thread of its own, late on a
        # busy machine) would otherwise write to them mid-test.
        affinity = self.conductor.manager.conductor_id
        with self.dbapi.engine.begin() as connection:
            for row in _nodes():
                # The documents as the text given, not encoded again.
                connection.execute(table.insert().values(**{
                    name: sa.literal(value, sa.Text) if isinstance(
                        table.c[name].type, models.JSONEncoded)
                    and value is not None else value
                    for name, value in row.items()},
                    conductor_affinity=affinity))
        self.assertEqual(0, self.conductor.manager.take_over_nodes())

    def allow(self, rules: dict) -> None:
        policy.reset()
        enforcer = policy.get_enforcer()
        enforcer.load_rules()
        self.addCleanup(policy.reset)
        enforcer.set_rules(oslo_policy.Rules.from_dict(rules),
                           overwrite=False)

    def pages(self) -> dict[str, bytes]:
        """Every response, by caller, version and path."""
        responses = {}
        for caller, rules in CALLERS.items():
            self.allow(rules)
            for version in VERSIONS:
                for path in _paths(version):
                    response = self.get(path, version=version, status='*')
                    responses['%s %s %s' % (caller, version, path)] = response
        return responses

    def test_pages_are_as_recorded(self):
        responses = self.pages()
        bodies = {key: '%d %s' % (response.status_int,
                                  hashlib.sha256(response.body).hexdigest())
                  for key, response in responses.items()}
        if os.environ.get('IRONIC_LITE_RECORD_PAGES'):
            with open(RECORDING, 'w') as f:
                json.dump(bodies, f, indent=0, sort_keys=True)
                f.write('\n')
        with open(RECORDING) as f:
            recorded = json.load(f)
        self.assertEqual(sorted(recorded), sorted(bodies))
        for key, body in recorded.items():
            self.assertEqual(body, bodies[key], key)
        # What the pages are there to show.
        text = {key: response.body.decode('utf-8')
                for key, response in responses.items()}
        self.assertIn('"ipmi_password":"******"',
                      text['masked 1.49 /v1/nodes/%s' % UUIDS[0]])
        self.assertIn('"ipmi_password": "secret"',
                      text['shown 1.49 /v1/nodes/%s' % UUIDS[0]])
        self.assertIn('"image_url":"******"',
                      text['driver_only 1.49 /v1/nodes/detail'])
        self.assertIn('"ipmi_password": "secret"',
                      text['driver_only 1.49 /v1/nodes/detail'])
        self.assertIn('"provision_state":null',
                      text['masked 1.1 /v1/nodes/%s' % UUIDS[0]])
        self.assertIn('"provision_state":"inspecting"',
                      text['masked 1.38 /v1/nodes/detail'])
        self.assertIn('"provision_state":"inspect wait"',
                      text['masked 1.39 /v1/nodes/detail'])
        self.assertIn('"conductor":null',
                      text['masked 1.49 /v1/nodes/%s?fields=conductor'
                           % UUIDS[4]])
        self.assertIn('"conductor":"test-conductor"',
                      text['masked 1.49 /v1/nodes/detail'])
