"""schemathesis against the all-in-one: requests generated from the OpenAPI
description (api-ref/source/openapi.yaml), valid and invalid, never answered
with a 5xx, every error in Ironic's format.

schemathesis runs as its command line, in a process of its own (its engine
is only public through it): examples, coverage (boundary values, wrong
types, undeclared content types and methods), fuzzing and stateful phases.
This module is also its hooks module (``SCHEMATHESIS_HOOKS``): it registers
the ``ironic_error_format`` check. The test then reads every request and
response back from the HAR report and checks them again itself, so that it
does not depend on which checks schemathesis ran or how it counted.
"""

import base64
import json
import os
import subprocess
import urllib.parse

import requests
import schemathesis
import testtools
from testtools import content

from tests.functional import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
OPENAPI = os.path.join(ROOT, 'api-ref', 'source', 'openapi.yaml')

# Per operation and phase; with the coverage phase, which does not depend on
# it, about 1 900 requests in all, within a minute on an idle machine.
MAX_EXAMPLES = 20
MIN_REQUESTS = 1000
# Fixed, so that every run sends the same requests (one worker, no example
# database).
SEED = 7
# The conductor's hostname, and node names and UUID, are those of the
# document's examples, so that the example phase reads real data.
HOSTNAME = 'conductor-1.example.com'
NODE_UUID = '66d8b78c-7d86-5250-af90-69786bfccdae'
_FAULT_KEYS = {'faultcode', 'faultstring', 'debuginfo'}
# No 5xx, every error in Ironic's format; and the responses are what the
# document says, so that it stays true. Not status_code_conformance: a 4xx
# the document does not list for an operation is no fault of the service's
# as long as it is an Ironic error, which ironic_error_format checks.
CHECKS = ('not_a_server_error', 'ironic_error_format',
          'response_schema_conformance', 'content_type_conformance')


def ironic_error_problem(status: int, content_type: str | None,
                         body: bytes) -> str | None:
    """Why a response with ``status`` >= 400 is not an Ironic error (its
    body ``{"error_message": "<JSON string>"}``, the inner document holding
    faultcode, faultstring and debuginfo), or None when it is."""
    media_type = (content_type or '').split(';', 1)[0].strip().lower()
    if media_type != 'application/json':
        return 'Content-Type is %r, not application/json' % content_type
    try:
        outer = json.loads(body)
    except ValueError:
        return 'the body is not JSON: %r' % body[:200]
    if not isinstance(outer, dict) or set(outer) != {'error_message'}:
        return 'the body is not {"error_message": ...}: %r' % body[:200]
    message = outer['error_message']
    if not isinstance(message, str):
        return 'error_message is not a string: %r' % (message,)
    try:
        inner = json.loads(message)
    except ValueError:
        return 'error_message is not a JSON document: %r' % message[:200]
    if not isinstance(inner, dict) or set(inner) != _FAULT_KEYS:
        return ('error_message does not hold exactly faultcode, faultstring '
                'and debuginfo: %r' % message[:200])
    expected = 'Server' if status >= 500 else 'Client'
    if inner['faultcode'] != expected:
        return 'faultcode is %r for a %d' % (inner['faultcode'], status)
    if not isinstance(inner['faultstring'], str):
        return 'faultstring is not a string: %r' % (inner['faultstring'],)
    return None


@schemathesis.check
def ironic_error_format(ctx, response, case):
    """Every 4xx and 5xx answer is in Ironic's error format."""
    if response.status_code < 400:
        return None
    problem = ironic_error_problem(response.status_code,
                                   response.headers.get('content-type',
                                                        [None])[0],
                                   response.content)
    if problem:
        raise AssertionError('Not an Ironic error: %s' % problem)
    return True


# The request headers that matter to the service; curl adds the others.
_CURL_HEADERS = ('content-type', 'x-openstack-ironic-api-version',
                 'openstack-api-version')


def _header(headers: list[dict], name: str) -> str | None:
    for header in headers:
        if header['name'].lower() == name:
            return header['value']
    return None


def _body(response: dict) -> bytes:
    """The body of a HAR entry's response."""
    text = response['content'].get('text', '')
    if response['content'].get('encoding') == 'base64':
        return base64.b64decode(text)
    return text.encode('utf-8')


def _problem(entry: dict) -> str | None:
    """What is wrong with the answer to a HAR entry's request."""
    response = entry['response']
    status = response['status']
    if status >= 500:
        return 'answered %d' % status
    if status >= 400:
        return ironic_error_problem(
            status, _header(response['headers'], 'content-type'),
            _body(response))
    return None


def _curl(request: dict) -> str:
    """A command that sends ``request`` (a HAR entry's) again."""
    words = ['curl', '-X', request['method']]
    for header in request['headers']:
        if header['name'].lower() in _CURL_HEADERS:
            words += ['-H', '%s: %s' % (header['name'], header['value'])]
    body = request.get('postData', {}).get('text')
    if body:
        words += ['--data-binary', body]
    words.append(request['url'])
    return ' '.join(_quote(word) for word in words)


def _quote(word: str) -> str:
    if word and all(c.isalnum() or c in '-_./:' for c in word):
        return word
    return "'%s'" % word.replace("'", "'\\''")


class TestFuzz(base.FunctionalTestCase):

    def _create_nodes(self) -> None:
        """Nodes for the generated requests to read, change and delete."""
        headers = {'X-OpenStack-Ironic-API-Version': 'latest'}
        bodies = [
            # Associated with an instance, so that the requests built from
            # the document's examples cannot delete it.
            {'name': 'node-0', 'uuid': NODE_UUID, 'driver': 'fake-hardware',
             'instance_uuid': '1be26c0b-03f2-4d2e-ae87-c02d7f33c123',
             'driver_info': {'ipmi_address': '192.0.2.10',
                             'ipmi_password': 'secret'},
             'properties': {'cpus': 16, 'memory_mb': 65536},
             'resource_class': 'baremetal.large'},
            {'name': 'node-1', 'driver': 'ipmi', 'maintenance': True,
             'extra': {'rack': 'r14', 'nested': {'a': [1, 2, {'b': None}]}}},
            {'name': 'node-2', 'driver': 'fake-hardware',
             'resource_class': 'baremetal.small'},
            {'driver': 'fake-hardware', 'conductor_group': ''},
        ]
        for body in bodies:
            response = requests.post(self.url + '/v1/nodes', json=body,
                                     headers=headers, timeout=30)
            self.assertEqual(201, response.status_code, response.text)

    def _run_schemathesis(self, har_path: str):
        # In the test's directory, with no cache of earlier failures: they
        # would be replayed first, and every run would differ.
        config = os.path.join(self.workdir, 'schemathesis.toml')
        with open(config, 'w') as f:
            f.write('[cache]\nenabled = false\n')
        env = dict(self.client_env,
                   SCHEMATHESIS_HOOKS='tests.functional.test_fuzz',
                   PYTHONPATH=ROOT)
        command = base.executable('schemathesis') + [
            '--config-file', config, '--no-color',
            'run', OPENAPI, '--url', self.url,
            '--checks', ','.join(CHECKS),
            '--mode', 'all', '--max-examples', str(MAX_EXAMPLES),
            '--seed', str(SEED), '--generation-database', 'none',
            '--workers', '1', '--max-redirects', '0',
            '--request-timeout', '30', '--continue-on-failure',
            '--report', 'har', '--report-har-path', har_path,
        ]
        result = subprocess.run(command, capture_output=True, text=True,
                                cwd=self.workdir, env=env, timeout=300)
        self.addDetail('schemathesis-output', content.text_content(
            result.stdout + result.stderr))
        return result

    @staticmethod
    def _entries(har_path: str) -> list[dict]:
        with open(har_path) as f:
            return json.load(f)['log']['entries']

    def test_generated_requests(self):
        self.start_all_in_one(host=HOSTNAME)
        # Generated traffic goes to this machine only.
        self.assertEqual('127.0.0.1', urllib.parse.urlsplit(self.url).hostname)
        self._create_nodes()
        har_path = os.path.join(self.workdir, 'schemathesis.har')
        result = self._run_schemathesis(har_path)
        entries = self._entries(har_path)

        ours = urllib.parse.urlsplit(self.url)
        elsewhere = sorted({entry['request']['url'] for entry in entries
                            if urllib.parse.urlsplit(
                                entry['request']['url']).netloc
                            != ours.netloc})
        self.assertEqual([], elsewhere, 'requests sent beyond %s' % self.url)
        self.assertGreaterEqual(len(entries), MIN_REQUESTS)

        failures = []
        for entry in entries:
            problem = _problem(entry)
            if problem:
                failures.append('%s %s: %s\n  %s' % (
                    entry['request']['method'], entry['request']['url'],
                    problem, _curl(entry['request'])))
        self.addDetail('failures', content.text_content(
            '\n'.join(failures)))
        if failures:
            self.fail('%d of %d generated requests failed; the first ones:'
                      '\n%s' % (len(failures), len(entries),
                                 '\n'.join(failures[:20])))
        self.assertEqual(0, result.returncode,
                         'schemathesis reported failures; see its output')


class TestIronicErrorFormat(testtools.TestCase):
    """The check itself: it accepts Ironic's errors and nothing else."""

    @staticmethod
    def _error(faultcode='Client', **extra) -> bytes:
        inner = dict(faultcode=faultcode, faultstring='No.', debuginfo=None,
                     **extra)
        return json.dumps({'error_message': json.dumps(inner)}).encode()

    def test_ironic_errors(self):
        self.assertIsNone(ironic_error_problem(404, 'application/json',
                                               self._error()))
        self.assertIsNone(ironic_error_problem(
            503, 'application/json; charset=UTF-8', self._error('Server')))

    def test_other_errors(self):
        for status, content_type, body in [
                (400, 'text/html', self._error()),
                (400, None, self._error()),
                (400, 'application/json', b'<html>Bad Request</html>'),
                (400, 'application/json', b'{"error_message": {"a": 1}}'),
                (400, 'application/json', b'{"error_message": "oops"}'),
                (400, 'application/json',
                 b'{"code": 400, "title": "Bad Request"}'),
                (400, 'application/json', self._error(extra=1)),
                (400, 'application/json', self._error('Server')),
                (500, 'application/json', self._error('Client'))]:
            self.assertIsNotNone(
                ironic_error_problem(status, content_type, body),
                (status, content_type, body))
