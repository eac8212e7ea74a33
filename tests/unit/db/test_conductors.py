"""Conductor rows: register, heartbeat, unregister, and who is alive."""

import datetime
import threading

import sqlalchemy as sa
from oslo_utils import timeutils

from ironic_lite.common import exception
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
from ironic_lite.db.sqlalchemy import models
from tests.unit.db import base as db_base

NOW = db_base.NOW
TIMEOUT = datetime.timedelta(seconds=60)


def _interface(hardware_type, interface_type, name, default=False):
    return {'hardware_type': hardware_type, 'interface_type': interface_type,
            'interface_name': name, 'default': default}


class ConductorTests:
    """The body of the conductor tests; a subclass names the backend."""

    def at(self, when: datetime.datetime) -> None:
        db_base.freeze_time(self, when)

    def register(self, hostname='cond-1', group='', drivers=None,
                 interfaces=()):
        """Register as a starting conductor does, at the frozen time."""
        row = self.dbapi.register_conductor(
            hostname, group, drivers or ['fake-hardware'],
            take_over_if_older_than=timeutils.utcnow() - TIMEOUT)
        if interfaces:
            self.dbapi.register_conductor_hardware_interfaces(
                row.id, interfaces)
        return row

    def interfaces_of(self, conductor_id) -> set:
        return {(r.hardware_type, r.interface_type, r.interface_name,
                 r.default)
                for r in self.rows_of(
                    models.ConductorHardwareInterface,
                    models.ConductorHardwareInterface.conductor_id
                    == conductor_id)}

    def set_columns(self, hostname, **values):
        """Change a conductor row behind the API's back."""
        self.execute(sa.update(models.Conductor)
                     .where(models.Conductor.hostname == hostname)
                     .values(**values))

    def snapshot(self, hostname) -> dict:
        row = self.dbapi.get_conductor(hostname)
        return {c.name: getattr(row, c.name)
                for c in models.Conductor.__table__.columns}

    def test_plain_row_has_the_columns_of_the_orm_row(self):
        self.at(NOW)
        self.register('cond-1', group='rack-2', drivers=['ipmi'])
        plain = self.dbapi.get_conductor('cond-1', plain=True)
        self.assertEqual(self.snapshot('cond-1'),
                         {c.name: getattr(plain, c.name)
                          for c in models.Conductor.__table__.columns})
        self.assertRaises(exception.ConductorNotFound,
                          self.dbapi.get_conductor, 'cond-2', plain=True)

    # register_conductor

    def test_register_inserts_an_online_row(self):
        self.at(NOW)

        row = self.register('cond-1', group='rack-2',
                            drivers=['ipmi', 'fake-hardware'])

        self.assertEqual(('cond-1', 'rack-2', ['ipmi', 'fake-hardware'],
                          True, NOW, NOW),
                         (row.hostname, row.conductor_group, row.drivers,
                          row.online, row.created_at, row.updated_at))
        stored = self.dbapi.get_conductor('cond-1')
        self.assertEqual(self.snapshot('cond-1'),
                         {c.name: getattr(row, c.name)
                          for c in models.Conductor.__table__.columns})
        self.assertEqual(row.id, stored.id)
        self.assertEqual(['cond-1'], [r.hostname for r in
                                      self.dbapi.get_conductor_list()])

    def test_register_twice_while_alive_is_refused_and_changes_nothing(self):
        self.at(NOW)
        self.register('cond-1', group='rack-1', drivers=['ipmi'])
        before = self.snapshot('cond-1')

        # A heartbeat exactly as old as the timeout is still alive.
        for later in (30, 60):
            self.at(NOW + datetime.timedelta(seconds=later))
            error = self.assertRaises(
                exception.ConductorAlreadyRegistered, self.register,
                'cond-1', group='rack-2', drivers=['fake-hardware'])
            self.assertEqual(409, error.code)
            self.assertIn('Conductor cond-1 is already registered',
                          str(error))
            self.assertEqual(before, self.snapshot('cond-1'))
        self.assertEqual(1, len(self.dbapi.get_conductor_list()))

    def test_register_takes_over_an_offline_row(self):
        self.at(NOW)
        first = self.register('cond-1', group='rack-1', drivers=['ipmi'])
        self.dbapi.unregister_conductor('cond-1')
        later = NOW + datetime.timedelta(seconds=5)
        self.at(later)

        row = self.register('cond-1', group='rack-2',
                            drivers=['fake-hardware'])

        self.assertEqual((first.id, 'rack-2', ['fake-hardware'], True, NOW,
                          later),
                         (row.id, row.conductor_group, row.drivers,
                          row.online, row.created_at, row.updated_at))
        self.assertEqual(row.updated_at,
                         self.dbapi.get_conductor('cond-1').updated_at)
        self.assertEqual(1, len(self.dbapi.get_conductor_list()))

    def test_register_takes_over_a_row_with_a_stale_heartbeat(self):
        # A conductor that crashed: still online, but silent too long.
        self.at(NOW)
        first = self.register('cond-1', group='rack-1', drivers=['ipmi'])
        later = NOW + TIMEOUT + datetime.timedelta(microseconds=1)
        self.at(later)

        row = self.register('cond-1', group='rack-2',
                            drivers=['fake-hardware'])

        self.assertEqual((first.id, 'rack-2', ['fake-hardware'], True,
                          later),
                         (row.id, row.conductor_group, row.drivers,
                          row.online, row.updated_at))

    def test_register_takes_over_a_row_a_dead_process_beat(self):
        # Its heartbeat is one the dead process recorded (host_lock).
        self.at(NOW)
        first = self.register('cond-1', group='rack-1')
        self.at(NOW + datetime.timedelta(seconds=1))
        beat = NOW + datetime.timedelta(seconds=1, microseconds=7)

        error = self.assertRaises(
            exception.ConductorAlreadyRegistered,
            self.dbapi.register_conductor, 'cond-1', 'rack-2', ['ipmi'],
            take_over_if_older_than=NOW - TIMEOUT,
            take_over_if_beat_at=[NOW + datetime.timedelta(microseconds=1)])
        self.assertEqual('rack-1', self.snapshot('cond-1')['conductor_group'])
        row = self.dbapi.register_conductor(
            'cond-1', 'rack-2', ['ipmi'],
            take_over_if_older_than=NOW - TIMEOUT,
            take_over_if_beat_at=[NOW - TIMEOUT, NOW], at=beat)

        self.assertEqual((first.id, 'rack-2', True, beat),
                         (row.id, row.conductor_group, row.online,
                          row.updated_at))
        self.assertEqual(beat, self.dbapi.get_conductor('cond-1').updated_at)
        self.assertIn('already registered', str(error))

    def test_touch_records_the_given_heartbeat(self):
        self.at(NOW)
        self.register('cond-1')
        beat = NOW + datetime.timedelta(seconds=3, microseconds=5)

        self.dbapi.touch_conductor('cond-1', at=beat)

        self.assertEqual(beat, self.dbapi.get_conductor('cond-1').updated_at)

    def test_register_takes_over_a_row_that_never_beat(self):
        self.at(NOW)
        self.register('cond-1')
        self.set_columns('cond-1', updated_at=None)

        row = self.register('cond-1', group='rack-2')

        self.assertEqual(('rack-2', NOW), (row.conductor_group,
                                           row.updated_at))

    def test_concurrent_registers_of_one_name_have_one_winner(self):
        self.at(NOW)
        barrier = threading.Barrier(2, timeout=10)
        outcomes = []

        def register(group):
            barrier.wait()
            try:
                self.register('cond-1', group=group)
                outcomes.append('registered')
            except exception.ConductorAlreadyRegistered:
                outcomes.append('refused')

        threads = [threading.Thread(target=register, args=(group,))
                   for group in ('rack-1', 'rack-2')]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        self.assertEqual(['refused', 'registered'], sorted(outcomes))
        self.assertEqual(1, len(self.dbapi.get_conductor_list()))

    # touch_conductor

    def test_touch_records_a_heartbeat(self):
        self.at(NOW)
        self.register('cond-1', group='rack-1')
        later = NOW + datetime.timedelta(seconds=10, microseconds=7)
        self.at(later)

        self.dbapi.touch_conductor('cond-1')
        # Nothing changes the second time: the row is still found (MySQL
        # counts changed rows unless told to count matched ones).
        self.dbapi.touch_conductor('cond-1')

        row = self.dbapi.get_conductor('cond-1')
        self.assertEqual((later, NOW, True, 'rack-1'),
                         (row.updated_at, row.created_at, row.online,
                          row.conductor_group))

    def test_touch_brings_an_offline_conductor_back_online(self):
        self.at(NOW)
        self.register('cond-1')
        self.dbapi.unregister_conductor('cond-1')

        self.dbapi.touch_conductor('cond-1')

        self.assertTrue(self.dbapi.get_conductor('cond-1').online)

    def test_touch_unknown_conductor(self):
        self.register('cond-1')
        error = self.assertRaises(exception.ConductorNotFound,
                                  self.dbapi.touch_conductor, 'cond-2')
        self.assertEqual(404, error.code)
        self.assertEqual('Conductor cond-2 could not be found.', str(error))

    # unregister_conductor

    def test_unregister_goes_offline_keeps_row_drops_interfaces(self):
        self.at(NOW)
        ipmi = [_interface('ipmi', 'power', 'ipmitool', True),
                _interface('ipmi', 'management', 'ipmitool', True)]
        leaving = self.register('cond-1', interfaces=ipmi)
        staying = self.register('cond-2', interfaces=ipmi)

        self.dbapi.unregister_conductor('cond-1')

        row = self.dbapi.get_conductor('cond-1')
        self.assertEqual((leaving.id, False, NOW),
                         (row.id, row.online, row.updated_at))
        self.assertEqual(['cond-1', 'cond-2'],
                         [r.hostname for r in
                          self.dbapi.get_conductor_list()])
        self.assertEqual(set(), self.interfaces_of(leaving.id))
        self.assertEqual(2, len(self.interfaces_of(staying.id)))
        self.assertTrue(self.dbapi.get_conductor('cond-2').online)

    def test_unregister_unknown_conductor(self):
        error = self.assertRaises(exception.ConductorNotFound,
                                  self.dbapi.unregister_conductor, 'cond-9')
        self.assertEqual('Conductor cond-9 could not be found.', str(error))

    def test_get_unknown_conductor(self):
        self.register('cond-1')
        error = self.assertRaises(exception.ConductorNotFound,
                                  self.dbapi.get_conductor, 'cond-10')
        self.assertEqual(404, error.code)

    # register_conductor_hardware_interfaces

    def test_hardware_interfaces_replace_the_previous_set(self):
        first = self.register('cond-1')
        other = self.register('cond-2', interfaces=[
            _interface('ipmi', 'power', 'ipmitool', True)])
        self.dbapi.register_conductor_hardware_interfaces(first.id, [
            _interface('ipmi', 'power', 'ipmitool', True),
            _interface('ipmi', 'boot', 'pxe', True)])

        self.dbapi.register_conductor_hardware_interfaces(first.id, [
            _interface('fake-hardware', 'power', 'fake', True),
            _interface('ipmi', 'power', 'ipmitool', False),
            _interface('ipmi', 'power', 'fake')])

        self.assertEqual({('fake-hardware', 'power', 'fake', True),
                          ('ipmi', 'power', 'ipmitool', False),
                          ('ipmi', 'power', 'fake', False)},
                         self.interfaces_of(first.id))
        self.assertEqual({('ipmi', 'power', 'ipmitool', True)},
                         self.interfaces_of(other.id))

        self.dbapi.register_conductor_hardware_interfaces(first.id, [])
        self.assertEqual(set(), self.interfaces_of(first.id))

    # get_alive_hardware and get_offline_conductors

    def _cluster(self):
        """Conductors in every state, seen at NOW + 60 s."""
        fake = [_interface('fake-hardware', 'power', 'fake', True),
                _interface('fake-hardware', 'management', 'fake', True)]
        ipmi = [_interface('ipmi', 'power', 'ipmitool', True)]
        self.at(NOW)
        # Beat exactly at the cutoff: still alive.
        self.register('edge', interfaces=fake)
        self.register('stale', interfaces=fake + ipmi)
        self.register('down', interfaces=fake)
        self.set_columns('stale',
                         updated_at=NOW - datetime.timedelta(microseconds=1))
        # Offline with its interface rows (unregister would drop them).
        self.set_columns('down', online=False)
        self.register('bare')
        self.set_columns('bare', updated_at=NOW + TIMEOUT)
        self.register('unborn', interfaces=ipmi)
        self.set_columns('unborn', updated_at=None)
        later = NOW + datetime.timedelta(seconds=30)
        self.at(later)
        self.register('fresh', group='rack-1', interfaces=fake + ipmi)
        self.at(NOW + TIMEOUT)
        return later

    def test_alive_hardware_is_online_with_a_recent_heartbeat(self):
        fresh_at = self._cluster()

        alive = self.dbapi.get_alive_hardware(
            heartbeat_after=timeutils.utcnow() - TIMEOUT)

        self.assertEqual(
            sorted([
                db_sqlalchemy.AliveHardware('edge', '', 'fake-hardware',
                                            NOW),
                db_sqlalchemy.AliveHardware('fresh', 'rack-1',
                                            'fake-hardware', fresh_at),
                db_sqlalchemy.AliveHardware('fresh', 'rack-1', 'ipmi',
                                            fresh_at)],
                key=repr),
            sorted(alive, key=repr))

    def test_offline_conductors(self):
        self._cluster()

        offline = self.dbapi.get_offline_conductors(
            heartbeat_before=timeutils.utcnow() - TIMEOUT)

        self.assertEqual(['down', 'stale', 'unborn'], sorted(offline))

    def test_silent_conductors(self):
        # 'down' went offline but beat recently: it may still be finishing
        # work under its node locks.
        self._cluster()

        silent = self.dbapi.get_silent_conductors(
            heartbeat_before=timeutils.utcnow() - TIMEOUT)

        self.assertEqual(['stale', 'unborn'], sorted(silent))

    def test_no_conductor_is_offline_within_the_timeout(self):
        self.at(NOW)
        self.register('cond-1')
        self.at(NOW + datetime.timedelta(seconds=30))

        self.assertEqual([], self.dbapi.get_offline_conductors(
            heartbeat_before=timeutils.utcnow() - TIMEOUT))


class TestConductorsSQLite(ConductorTests, db_base.DBLayerTestCase):
    backend = db_base.SQLITE


class TestConductorsMySQL(ConductorTests, db_base.DBLayerTestCase):
    backend = db_base.MYSQL


class TestConductorsPostgreSQL(ConductorTests, db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL
