"""The API on the wire, as declarative YAML tests in gabbits/."""

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


def load_tests(loader, tests, pattern):
    test_dir = os.path.join(os.path.dirname(__file__), TESTS_DIR)
    return driver.build_tests(test_dir, loader, host=None,
                              test_loader_name=__name__,
                              intercept=fixtures.setup_app,
                              fixture_module=fixtures,
                              response_handlers=[AbsentJSONPathsHandler])
