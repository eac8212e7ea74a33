"""What may import what: the console scripts sit on top, the API does not
reach into them nor into the conductor's own modules."""

import ast
import pathlib

import testtools

import ironic_lite

_ROOT = pathlib.Path(ironic_lite.__file__).parent


def _imports(path: pathlib.Path) -> set[str]:
    """Every ironic_lite module ``path`` imports, at any depth of the
    code (the commands import some modules inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update('%s.%s' % (node.module, alias.name)
                         for alias in node.names)
    return {n for n in names if n.startswith('ironic_lite.')}


def _modules(package: str) -> list[pathlib.Path]:
    return sorted((_ROOT / package).rglob('*.py'))


class LayeringTest(testtools.TestCase):

    def test_only_commands_import_commands(self):
        for path in _ROOT.rglob('*.py'):
            if path.is_relative_to(_ROOT / 'cmd'):
                continue
            for name in _imports(path):
                self.assertFalse(name.startswith('ironic_lite.cmd'),
                                 '%s imports %s' % (path, name))

    def test_api_takes_from_the_conductor_only_its_rpc_client(self):
        for path in _modules('api'):
            for name in _imports(path):
                if name.startswith('ironic_lite.conductor'):
                    self.assertEqual('ironic_lite.conductor.rpcapi', name,
                                     '%s imports %s' % (path, name))

    def test_migrations_import_nothing_of_the_project(self):
        """A migration builds the same schema whenever it runs: it carries
        frozen copies of what it needs, never the live code (which may
        change later), not even through a dynamic import."""
        migrations = _modules('db/migration/versions')
        self.assertNotEqual([], migrations)
        for path in migrations:
            self.assertEqual(set(), _imports(path), path)
            self.assertNotIn('ironic_lite', path.read_text(), path)
