"""Test fixtures shared by the unit and functional tests."""

import os
import shutil
import tempfile
import threading
import time

import fixtures
import testtools
from oslo_config import fixture as config_fixture

import ironic_lite  # noqa: F401 - selects the threading backend
from ironic_lite.common import hash_ring
from ironic_lite.common import rpc
from ironic_lite.conductor import rpcapi
from ironic_lite.conductor import service
from ironic_lite.conf import CONF
from ironic_lite.db import api as db_api
from ironic_lite.db import migration
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy

CONF([], project='ironic-lite', default_config_files=[])

_TEMPLATE_LOCK = threading.Lock()
_TEMPLATE = None


def _migrated_sqlite_template() -> str:
    """A SQLite file at the newest schema, built once per test process."""
    global _TEMPLATE
    with _TEMPLATE_LOCK:
        if _TEMPLATE is None:
            directory = tempfile.mkdtemp(prefix='ironic-lite-template-')
            path = os.path.join(directory, 'template.sqlite')
            connection = db_sqlalchemy.Connection('sqlite:///' + path)
            migration.upgrade(engine=connection.engine)
            connection.dispose()
            _TEMPLATE = path
        return _TEMPLATE


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05,
             message: str = 'condition'):
    """Poll ``predicate`` until it returns something true; that value.
    ``message`` may be a callable, called only on a timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError('Timed out after %ss waiting for %s'
                                 % (timeout, message() if callable(message)
                                    else message))
        time.sleep(interval)


class ConfFixture(fixtures.Fixture):
    """Configuration of a test: its own state directory, fast timings."""

    def _setUp(self):
        self.conf = self.useFixture(config_fixture.Config(CONF))
        # The fixture's clean-up un-parses CONF; parse it again, without
        # reading any configuration file of the machine.
        CONF([], project='ironic-lite', default_config_files=[])
        self.state_path = self.useFixture(fixtures.TempDir()).path
        self.conf.config(state_path=self.state_path, host='test-conductor',
                         enabled_hardware_types=['fake-hardware', 'ipmi'])
        # No PXE probe unless a test asks: it writes files into the roots
        # other tests list.
        self.conf.config(node_locked_retry_interval=0.01,
                         pxe_health_interval=0, group='conductor')


class DatabaseFixture(fixtures.Fixture):
    """A migrated SQLite database of the test's own, as the process-wide
    database."""

    def _setUp(self):
        directory = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(directory, 'ironic-lite.sqlite')
        shutil.copyfile(_migrated_sqlite_template(), path)
        self.url = 'sqlite:///' + path
        self.dbapi = db_sqlalchemy.Connection(self.url)
        db_api.set_instance(self.dbapi)
        self.addCleanup(db_api.set_instance, None)
        self.addCleanup(self.dbapi.dispose)
        hash_ring.get_manager().reset()
        self.addCleanup(hash_ring.get_manager().reset)


class ConductorFixture(fixtures.Fixture):
    """RPC (in-process, fake://, unless ``transport_url`` says) and a
    started conductor."""

    def __init__(self, host: str = 'test-conductor',
                 transport_url: str = 'fake://'):
        super().__init__()
        self.host = host
        self.transport_url = transport_url

    def _setUp(self):
        rpc.init(self.transport_url)
        self.addCleanup(rpc.cleanup)
        rpcapi._API = None
        self.addCleanup(setattr, rpcapi, '_API', None)
        self.service = service.ConductorService(host=self.host)
        self.service.start()
        self.addCleanup(self.service.stop)


class TestCase(testtools.TestCase):
    """A test with its own configuration."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(120, gentle=True))
        self.conf_fixture = self.useFixture(ConfFixture())

    def config(self, group=None, **kwargs):
        self.conf_fixture.conf.config(group=group, **kwargs)


class DBTestCase(TestCase):
    """A test with its own migrated SQLite database."""

    def setUp(self):
        super().setUp()
        self.dbapi = self.useFixture(DatabaseFixture()).dbapi
