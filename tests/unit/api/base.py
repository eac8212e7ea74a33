"""API tests: the WSGI app in-process, a real database and a conductor."""

import json

import webtest

from ironic_lite.api import app
from ironic_lite.api import versions
from tests import base


class APIFixtures:
    """What an API test needs, for unittest and gabbi alike."""

    def __init__(self, useFixture):
        self.conf = useFixture(base.ConfFixture())
        self.database = useFixture(base.DatabaseFixture())
        self.conductor = useFixture(base.ConductorFixture()).service


class APITestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        fixtures = APIFixtures(self.useFixture)
        self.dbapi = fixtures.database.dbapi
        self.conductor = fixtures.conductor
        self.app = webtest.TestApp(app.setup_app())

    @staticmethod
    def headers(version='latest', **extra) -> dict:
        headers = {} if version is None else {
            versions.VERSION_HEADER: version}
        headers.update(extra)
        return headers

    def get(self, path, version='latest', status=200, **kwargs):
        return self.app.get(path, headers=self.headers(version),
                            status=status, **kwargs)

    def post_json(self, path, body, version='latest', status=201):
        return self.app.post_json(path, body, headers=self.headers(version),
                                  status=status)

    def patch_json(self, path, patch, version='latest', status=200):
        return self.app.patch_json(path, patch,
                                   headers=self.headers(version),
                                   status=status)

    def create_node(self, version='latest', **values) -> dict:
        values.setdefault('driver', 'fake-hardware')
        return self.post_json('/v1/nodes', values, version=version).json

    def fault(self, response) -> str:
        """The faultstring of an Ironic error response, checking its
        shape."""
        self.assertEqual('application/json', response.content_type)
        inner = json.loads(response.json['error_message'])
        self.assertEqual({'faultcode', 'faultstring', 'debuginfo'},
                         set(inner))
        self.assertIsNone(inner['debuginfo'])
        return inner['faultstring']

    def deny_rule(self, rule: str) -> None:
        """Make the policy refuse ``rule`` to everyone, for this test."""
        from oslo_policy import policy as oslo_policy

        from ironic_lite.api import policy
        enforcer = policy.get_enforcer()
        enforcer.load_rules()
        self.addCleanup(setattr, policy, '_ENFORCER', None)
        enforcer.set_rules(oslo_policy.Rules.from_dict({rule: '!'}),
                           overwrite=False)
