"""Gabbi fixtures: each YAML file runs against a fresh service."""

import datetime

import fixtures
from gabbi import fixture
from oslo_utils import timeutils

from ironic_lite.api import app
from ironic_lite.common import hash_ring
from tests.unit.api import base


def setup_app():
    return app.setup_app()


class APIFixture(fixture.GabbiFixture):
    """Configuration, a migrated SQLite database and one conductor,
    ``test-conductor``, enabling fake-hardware and ipmi."""

    def start_fixture(self):
        self._fixtures = fixtures.Fixture()
        self._fixtures.setUp()
        self.services = base.APIFixtures(self._fixtures.useFixture)

    def stop_fixture(self):
        self._fixtures.cleanUp()


class ConductorsFixture(APIFixture):
    """Also: ``cond-b.example.com`` alive in group ``rack2``, a stopped
    ``cond-old`` and ``[::1]:8090``, alive."""

    def start_fixture(self):
        super().start_fixture()
        dbapi = self.services.database.dbapi
        long_ago = timeutils.utcnow() - datetime.timedelta(days=1)
        for hostname, group in (('cond-b.example.com', 'rack2'),
                                ('cond-old', ''), ('[::1]:8090', '')):
            row = dbapi.register_conductor(hostname, group, ['ipmi'],
                                           take_over_if_older_than=long_ago)
            dbapi.register_conductor_hardware_interfaces(row.id, [{
                'hardware_type': 'ipmi', 'interface_type': 'power',
                'interface_name': 'ipmitool', 'default': True}])
        dbapi.unregister_conductor('cond-old')


class DriversFixture(ConductorsFixture):
    """The conductors of :class:`ConductorsFixture`, in the hash rings at
    once (as their join announcements would put them)."""

    def start_fixture(self):
        super().start_fixture()
        hash_ring.get_manager().reset()
