"""PUT /v1/nodes/{node_ident}/states/provision through the in-process app
and its in-process conductor."""

from ironic_lite.common import states
from ironic_lite.drivers import factory
from tests import base
from tests.unit.api import base as api_base
from tests.unit.conductor import test_deployments

Gate = test_deployments.Gate


class ProvisionAPITestCase(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        Gate.opened.clear()
        Gate.entered.clear()
        self.addCleanup(Gate.opened.set)
        self.addCleanup(self.conductor.manager.workers.wait_idle, 30)

    def use(self, interface_type, cls):
        key = (interface_type, 'fake')
        saved = factory.IMPLEMENTATIONS[key]
        factory.IMPLEMENTATIONS[key] = '%s:%s' % (cls.__module__,
                                                  cls.__name__)
        factory._class_of.cache_clear()
        self.addCleanup(factory._class_of.cache_clear)
        self.addCleanup(factory.IMPLEMENTATIONS.__setitem__, key, saved)

    def provision(self, ident, target, version='latest', status=202,
                  **body):
        body['target'] = target
        return self.app.put_json('/v1/nodes/%s/states/provision' % ident,
                                 body, headers=self.headers(version),
                                 status=status)

    def states_of(self, ident):
        return self.get('/v1/nodes/%s/states' % ident).json

    def settled(self, ident, state):
        def done():
            node = self.states_of(ident)
            return (node['provision_state'] == state
                    and node['target_provision_state'] is None and node)
        return base.wait_for(done, message='node in %s' % state)

    def row(self, ident):
        return self.dbapi.get_node_by_uuid(ident)


class TestFlow(ProvisionAPITestCase):

    def test_the_whole_life_of_a_node(self):
        node = self.create_node(name='n1')
        self.assertEqual(states.ENROLL, node['provision_state'])
        response = self.provision('n1', 'manage')
        self.assertEqual(b'', response.body)
        self.assertEqual('http://localhost/v1/nodes/n1/states',
                         response.headers['Location'])
        self.settled('n1', states.MANAGEABLE)
        self.provision('n1', 'provide')
        self.settled('n1', states.AVAILABLE)
        self.provision('n1', 'active', configdrive='H4sIAAAA')
        self.settled('n1', states.ACTIVE)
        self.assertEqual('******', self.get('/v1/nodes/n1').json[
            'instance_info']['configdrive'])
        self.provision('n1', 'deleted')
        self.settled('n1', states.AVAILABLE)
        self.assertEqual({}, self.row(node['uuid']).instance_info)

    def test_the_202_finds_the_node_in_its_intermediate_state(self):
        self.use('deploy', test_deployments.BlockingDeploy)
        uuid = self.create_node(version='1.10')['uuid']  # available
        self.provision(uuid, 'active')
        node = self.states_of(uuid)
        self.assertEqual((states.DEPLOYING, states.ACTIVE),
                         (node['provision_state'],
                          node['target_provision_state']))
        response = self.provision(uuid, 'deleted', status=409)
        self.assertEqual('Node %s is locked by host test-conductor, please '
                         'retry after the current operation is completed.'
                         % uuid, self.fault(response))
        Gate.opened.set()
        self.settled(uuid, states.ACTIVE)

    def test_a_failed_deploy_shows_its_error(self):
        self.use('deploy', test_deployments.FailingDeploy)
        uuid = self.create_node(version='1.10')['uuid']
        self.provision(uuid, 'active')
        node = base.wait_for(lambda: self.states_of(uuid)[
            'provision_state'] == states.DEPLOYFAIL and self.states_of(uuid))
        self.assertEqual(states.ACTIVE, node['target_provision_state'])
        self.assertIn('Failed to deploy. Exception:', node['last_error'])
        self.provision(uuid, 'deleted')
        self.settled(uuid, states.AVAILABLE)

    def test_old_versions_see_old_state_names(self):
        uuid = self.create_node(version='1.10')['uuid']
        self.assertIsNone(self.get('/v1/nodes/%s' % uuid, version='1.1')
                          .json['provision_state'])
        self.dbapi.update_node(self.row(uuid).id,
                               {'provision_state': states.INSPECTWAIT})
        self.assertEqual(states.INSPECTING, self.get(
            '/v1/nodes/%s' % uuid, version='1.38').json['provision_state'])


class TestChecks(ProvisionAPITestCase):

    def test_invalid_verb_for_the_state(self):
        uuid = self.create_node()['uuid']
        for target in ('active', 'deleted', 'provide', 'abort', 'bogus'):
            response = self.provision(uuid, target, status=400)
            self.assertEqual('The requested action "%s" can not be '
                             'performed on node "%s" while it is in state '
                             '"enroll".' % (target, uuid),
                             self.fault(response))

    def test_invalid_verb_on_a_locked_node_is_409(self):
        uuid = self.create_node()['uuid']
        self.dbapi.reserve_node('other-host', self.row(uuid).id)
        response = self.provision(uuid, 'active', status=409)
        self.assertEqual('Node %s is locked by host other-host, please retry '
                         'after the current operation is completed.' % uuid,
                         self.fault(response))

    def test_verbs_below_their_version(self):
        uuid = self.create_node(version='1.10')['uuid']
        for target, version in (('manage', '1.3'), ('inspect', '1.5'),
                                ('abort', '1.12'), ('clean', '1.14'),
                                ('adopt', '1.16'), ('rescue', '1.37')):
            response = self.provision(uuid, target, version=version,
                                      status=406)
            self.assertEqual('Request not acceptable.',
                             self.fault(response))
        self.provision('no-such-node', 'manage', version='1.3', status=406)

    def test_maintenance(self):
        uuid = self.create_node(version='1.10', maintenance=True)['uuid']
        response = self.provision(uuid, 'active', status=400)
        self.assertEqual("The provisioning operation can't be performed on "
                         "node %s because it's in maintenance mode." % uuid,
                         self.fault(response))

    def test_configdrive_rules(self):
        uuid = self.create_node(version='1.10')['uuid']
        response = self.provision(uuid, 'manage', configdrive='x',
                                  status=400)
        self.assertEqual('Adding a config drive is only supported when '
                         'setting provision state to active, rebuild',
                         self.fault(response))
        self.dbapi.update_node(self.row(uuid).id,
                               {'provision_state': states.ACTIVE})
        response = self.provision(uuid, 'rebuild', configdrive='x',
                                  version='1.34', status=400)
        self.assertEqual('Adding a config drive is only supported when '
                         'setting provision state to active',
                         self.fault(response))
        self.dbapi.update_node(self.row(uuid).id,
                               {'provision_state': states.AVAILABLE})
        response = self.provision(uuid, 'active', configdrive={'a': 1},
                                  status=400)
        self.assertIn('Wrong type', self.fault(response))

    def test_clean_steps_and_rescue_password_rules(self):
        uuid = self.create_node(version='1.10')['uuid']
        response = self.provision(uuid, 'manage', clean_steps=[{}],
                                  status=400)
        self.assertEqual('"clean_steps" is only valid when setting target '
                         'provision state to clean', self.fault(response))
        response = self.provision(uuid, 'manage', rescue_password='x',
                                  status=400)
        self.assertEqual('"rescue_password" is only valid when setting '
                         'target provision state to rescue',
                         self.fault(response))
        self.dbapi.update_node(self.row(uuid).id,
                               {'provision_state': states.MANAGEABLE})
        response = self.provision(uuid, 'clean', status=400)
        self.assertEqual('"clean_steps" is required when setting target '
                         'provision state to clean', self.fault(response))
        response = self.provision(uuid, 'clean',
                                  clean_steps=[{'interface': 'disk',
                                                'step': 'x'}], status=400)
        self.assertIn('Invalid clean_steps: ', self.fault(response))
        response = self.provision(uuid, 'clean', clean_steps=[
            {'interface': 'deploy', 'step': 'erase_devices'}], status=400)
        self.assertIn('Manual cleaning is not supported',
                      self.fault(response))

    def test_abort_in_inspect_wait_needs_1_41(self):
        uuid = self.create_node()['uuid']
        self.dbapi.update_node(self.row(uuid).id,
                               {'provision_state': states.INSPECTWAIT})
        self.provision(uuid, 'abort', version='1.40', status=406)
        self.provision(uuid, 'abort', version='1.41')
        self.assertEqual(states.INSPECTFAIL,
                         self.states_of(uuid)['provision_state'])

    def test_raw_events_are_not_verbs(self):
        uuid = self.create_node(version='1.10')['uuid']
        response = self.provision(uuid, 'deploy', status=400)
        self.assertEqual('The requested action "deploy" could not be '
                         'understood.', self.fault(response))
        self.assertEqual(states.AVAILABLE,
                         self.states_of(uuid)['provision_state'])

    def test_bad_bodies(self):
        uuid = self.create_node()['uuid']
        put = self.app.put_json
        url = '/v1/nodes/%s/states/provision' % uuid
        for body, message in (
                ({}, 'Missing argument: "target"'),
                ([], 'Missing argument: "target"'),
                ({'target': 'manage', 'x': 1}, 'Unknown argument: "x"'),
                ({'target': 1}, 'Wrong type')):
            response = put(url, body, headers=self.headers(), status=400)
            self.assertIn(message, self.fault(response))

    def test_no_inspect_interface(self):
        uuid = self.create_node(inspect_interface='no-inspect')['uuid']
        self.dbapi.update_node(self.row(uuid).id,
                               {'provision_state': states.MANAGEABLE})
        response = self.provision(uuid, 'inspect', status=400)
        self.assertEqual('Driver fake-hardware does not support inspect '
                         '(disabled or not implemented).',
                         self.fault(response))

    def test_unknown_node(self):
        response = self.provision('no-such-node', 'active', status=404)
        self.assertEqual('Node no-such-node could not be found.',
                         self.fault(response))
