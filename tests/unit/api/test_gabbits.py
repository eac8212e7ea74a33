"""The API on the wire, as declarative YAML tests in gabbits/."""

import json
import os

import jsonpath_ng.ext as json_parser
from gabbi import driver
from gabbi.handlers import base as gabbi_base

from tests.unit.api import fixtures

TESTS_DIR = 'gabbits'


class AbsentJSONPathsHandler(gabbi_base.ResponseHandler):
    """``response_absent_json_paths``: JSONPaths that must match nothing,
    for fields an older version must not see."""

    test_key_suffix = 'absent_json_paths'
    test_key_value = []

    def action(self, test, path, value=None):
        path = test.replace_template(path)
        found = json_parser.parse(path).find(test.response_data)
        test.assertEqual([], [match.value for match in found],
                         'JSONPath %s should match nothing' % path)


class FaultHandler(gabbi_base.ResponseHandler):
    """``response_fault``: the faultstring of Ironic's error body, exactly or
    as a /regular expression/.

    The body must be Ironic's: JSON with only ``error_message``, a string
    holding ``{"faultcode", "faultstring", "debuginfo": null}`` in that
    order, ``Client`` for a 4xx and ``Server`` otherwise, and never a
    traceback.
    """

    test_key_suffix = 'fault'
    test_key_value = ''

    def __call__(self, test):
        expected = test.test_data[self._key]
        if not expected:
            return
        test.assertEqual('application/json',
                         test.response['content-type'].split(';')[0])
        body = json.loads(test.output)
        test.assertEqual(['error_message'], list(body))
        inner = json.loads(body['error_message'])
        test.assertEqual(['faultcode', 'faultstring', 'debuginfo'],
                         list(inner))
        status = int(test.response['status'])
        test.assertEqual('Client' if status < 500 else 'Server',
                         inner['faultcode'])
        test.assertIsNone(inner['debuginfo'])
        test.assertNotIn('Traceback', inner['faultstring'])
        expected = test.replace_template(expected)
        if self.is_regex(expected):
            test.assertRegex(inner['faultstring'], expected[1:-1])
        else:
            test.assertEqual(expected, inner['faultstring'])


def load_tests(loader, tests, pattern):
    test_dir = os.path.join(os.path.dirname(__file__), TESTS_DIR)
    return driver.build_tests(test_dir, loader, host=None,
                              test_loader_name=__name__,
                              intercept=fixtures.setup_app,
                              fixture_module=fixtures,
                              response_handlers=[AbsentJSONPathsHandler,
                                                 FaultHandler])
