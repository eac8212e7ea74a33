"""The all-in-one ``ironic-lite`` process and the stock CLI."""

import signal

import sqlalchemy as sa

from tests.functional import base


class TestAllInOne(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.process = self.start_all_in_one(host='functional-aio')

    def _node_lifecycle(self, *global_args: str, openstack=False):
        args = []
        kw = {'openstack': openstack, 'global_args': global_args}
        created = self.cli_json(*args, 'node', 'create', '--driver',
                                'fake-hardware', '--name', 'n1', **kw)
        self.assertEqual('n1', created['name'])
        self.assertEqual('enroll', created['provision_state'])

        listed = self.cli_json(*args, 'node', 'list', **kw)
        self.assertEqual([created['uuid']], [n['uuid'] for n in listed])

        long = self.cli_json(*args, 'node', 'list', '--long', **kw)
        self.assertEqual('fake-hardware', long[0]['driver'])

        shown = self.cli_json(*args, 'node', 'show', 'n1', **kw)
        self.assertEqual(created['uuid'], shown['uuid'])

        self.run_cli(*args, 'node', 'set', 'n1', '--extra', 'a=b', **kw)
        shown = self.cli_json(*args, 'node', 'show', 'n1', **kw)
        self.assertEqual({'a': 'b'}, shown['extra'])

        self.run_cli(*args, 'node', 'delete', 'n1', **kw)
        self.assertEqual([], self.cli_json(*args, 'node', 'list', **kw))
        failed = self.run_cli(*args, 'node', 'show', 'n1',
                              expect_failure=True, **kw)
        self.assertIn('Node n1 could not be found. (HTTP 404)',
                      failed.stderr)
        return created, shown

    def test_node_lifecycle_latest(self):
        created, shown = self._node_lifecycle()
        self.assertEqual('functional-aio', created['conductor'])
        self.assertEqual('functional-aio', shown['conductor'])
        self.assertEqual('fake', shown['power_interface'])

    def test_node_lifecycle_1_31(self):
        created, shown = self._node_lifecycle(
            '--os-baremetal-api-version', '1.31', openstack=True)
        self.assertNotIn('conductor', shown)
        self.assertNotIn('storage_interface', shown)
        self.assertEqual('fake', shown['power_interface'])

    def test_conductor_list_and_graceful_stop(self):
        conductors = self.cli_json('conductor', 'list')
        self.assertEqual([{'hostname': 'functional-aio',
                           'conductor_group': '', 'alive': True}],
                         conductors)

        self.assertEqual(0, self.process.stop(signal.SIGTERM))
        engine = sa.create_engine('sqlite:///%s/ironic-lite.sqlite'
                                  % self.workdir)
        with engine.connect() as connection:
            online = connection.execute(sa.text(
                "SELECT online FROM conductors WHERE hostname = "
                "'functional-aio'")).scalar_one()
        engine.dispose()
        self.assertFalse(online)
