"""The all-in-one ``ironic-lite`` process and the stock CLI."""

import os
import signal
import threading
import time

import requests
import sqlalchemy as sa
from testtools import content

from tests.base import wait_for
from tests.functional import base

# From SIGTERM to the process gone.
EXIT_BOUND = 3.0
# From starting ironic-lite again after kill -9 to serving. On a machine so
# loaded that a first start takes longer than half of it, the bound is
# twice what the first start took: the restart must add no wait of its own.
RESTART_BOUND = 3.0


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _refused(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
    except requests.ConnectionError:
        return True
    return False


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

    def test_provision_with_the_cli(self):
        self.run_cli('node', 'create', '--driver', 'fake-hardware', '--name',
                     'p1')
        # --wait polls until the state is reached with no target left.
        for verb, state in (('manage', 'manageable'),
                            ('provide', 'available'),
                            ('deploy', 'active'),
                            ('undeploy', 'available')):
            self.run_cli('node', verb, 'p1', '--wait', '30')
            shown = self.cli_json('node', 'show', 'p1')
            self.assertEqual((state, None, None),
                             (shown['provision_state'],
                              shown['target_provision_state'],
                              shown['last_error']), verb)
        failed = self.run_cli('node', 'undeploy', 'p1',
                              expect_failure=True)
        self.assertIn('The requested action "deleted" can not be performed '
                      'on node', failed.stderr)

    def test_conductor_list_and_graceful_stop(self):
        conductors = self.cli_json('conductor', 'list')
        self.assertEqual([{'hostname': 'functional-aio',
                           'conductor_group': '', 'alive': True}],
                         conductors)

        self.process.popen.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        # No new connection is taken, and the process ends, promptly.
        wait_for(lambda: _refused(self.url), timeout=EXIT_BOUND,
                 message='the API to stop listening')
        self.assertEqual(0, self.process.popen.wait(
            max(0.0, signalled + EXIT_BOUND - time.monotonic())))
        engine = sa.create_engine('sqlite:///%s/ironic-lite.sqlite'
                                  % self.workdir)
        with engine.connect() as connection:
            online = connection.execute(sa.text(
                "SELECT online FROM conductors WHERE hostname = "
                "'functional-aio'")).scalar_one()
        engine.dispose()
        self.assertFalse(online)

    def test_a_schema_it_cannot_upgrade_stops_the_start(self):
        self.process.stop(signal.SIGTERM)
        engine = sa.create_engine('sqlite:///%s/ironic-lite.sqlite'
                                  % self.workdir)
        with engine.begin() as connection:
            connection.execute(sa.text(
                "UPDATE alembic_version SET version_num = 'f00dfeed'"))
        engine.dispose()
        process = base.Process(
            base.executable('ironic-lite') + [
                '--config-file', os.path.join(self.workdir,
                                              'ironic-lite.conf')],
            os.path.join(self.workdir, 'ironic-lite.log')).start()
        self.addCleanup(process.stop, signal.SIGKILL)
        self.assertEqual(1, process.popen.wait(60))
        # (Its output is read by a thread of this process.)
        wait_for(lambda: 'brought up to date' in ''.join(process.output),
                 timeout=10, message='the last line of the output')
        output = ''.join(process.output)
        self.assertIn('Upgrading the database schema failed', output)
        self.assertIn("Can't locate revision identified by 'f00dfeed'",
                      output)
        self.assertIn('The database schema could not be brought up to date',
                      output)
        self.assertNotIn('is running', output)

    def test_restart_after_kill_9_serves_at_once(self):
        first = self.process.serving_after
        self.process.stop(signal.SIGKILL)

        # Same host, same state_path: the row the dead process left alive
        # is taken over at once.
        again = self.start_all_in_one(host='functional-aio')
        conductors = requests.get(
            self.url + '/v1/conductors',
            headers={'X-OpenStack-Ironic-API-Version': 'latest'}, timeout=10)
        self.assertEqual([('functional-aio', True)],
                         [(c['hostname'], c['alive'])
                          for c in conductors.json()['conductors']])
        created = requests.post(self.url + '/v1/nodes',
                                json={'driver': 'fake-hardware'},
                                timeout=10)
        self.assertEqual(201, created.status_code, created.text)
        serving = time.monotonic() - again.started_at
        self.addDetail('first-start-s', content.text_content('%.2f' % first))
        self.addDetail('restart-s', content.text_content('%.2f' % serving))
        self.assertLess(serving, max(RESTART_BOUND, 2 * first))

    def test_sigterm_ends_the_process_while_a_request_computes(self):
        self.process.stop(signal.SIGTERM)
        grace = 1
        process = self.start_all_in_one(
            conductor={'graceful_shutdown_timeout': grace})
        node = requests.post(self.url + '/v1/nodes',
                             json={'driver': 'fake-hardware'}, timeout=10)
        self.assertEqual(201, node.status_code, node.text)

        # A PATCH costly enough to keep a thread computing for minutes on
        # code whose patching is quadratic (answered at once where it is
        # refused or linear: the stop must be prompt either way).
        body = [{'op': 'add', 'path': '/extra/k%d' % i, 'value': i}
                for i in range(20000)]
        outcome = []

        def patch():
            try:
                outcome.append(requests.patch(
                    self.url + '/v1/nodes/%s' % node.json()['uuid'],
                    json=body, timeout=600).status_code)
            except requests.RequestException as e:
                outcome.append(e)

        client = threading.Thread(target=patch, daemon=True)
        client.start()
        pid = process.popen.pid
        before = _cpu_seconds(pid)
        wait_for(lambda: outcome or _cpu_seconds(pid) - before > 1.0,
                 timeout=60, message='the PATCH to be computing')

        process.popen.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        bound = grace + EXIT_BOUND
        try:
            status = process.popen.wait(bound)
        except Exception:
            self.fail('ironic-lite still runs %ss after SIGTERM' % bound)
        self.addDetail('sigterm-to-exit-s', content.text_content(
            '%.2f' % (time.monotonic() - signalled)))
        # 1 when the request was abandoned, 0 when it ended in time.
        self.assertIn(status, (0, 1))
        client.join(60)
        self.assertTrue(outcome)
        if not isinstance(outcome[0], Exception):
            self.assertLess(outcome[0], 500)
