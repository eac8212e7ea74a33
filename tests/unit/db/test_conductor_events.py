"""The membership history: which row changes record which event, exactly
once even when several conductors notice the same silence at once, the
counter totals, paging and pruning; on SQLite, MariaDB and PostgreSQL."""

import datetime
import threading

from oslo_utils import timeutils

from ironic_lite.common import exception
from ironic_lite.db.sqlalchemy import models
from tests.unit.db import base as db_base

NOW = db_base.NOW
TIMEOUT = datetime.timedelta(seconds=60)


def seconds(n: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=n)


class ConductorEventTests:

    def at(self, when: datetime.datetime) -> None:
        db_base.freeze_time(self, when)

    def register(self, hostname='cond-1', group=''):
        return self.dbapi.register_conductor(
            hostname, group, ['fake-hardware'],
            take_over_if_older_than=timeutils.utcnow() - TIMEOUT)

    def events(self, **filters) -> list[tuple]:
        return [(e.hostname, e.kind, e.recorded_by, e.created_at,
                 e.last_heartbeat)
                for e in self.dbapi.get_conductor_events(filters=filters)]

    def kinds(self, hostname=None) -> list[str]:
        return [e.kind for e in self.dbapi.get_conductor_events(
            filters={'hostname': hostname})]

    def test_join_leave_join(self):
        self.at(NOW)
        self.register('cond-1', group='rack-1')
        self.at(NOW + seconds(10))
        self.dbapi.unregister_conductor('cond-1')
        self.dbapi.unregister_conductor('cond-1')  # a second leave: no event
        self.at(NOW + seconds(20))
        self.register('cond-1', group='rack-1')

        self.assertEqual([
            ('cond-1', 'join', 'cond-1', NOW, None),
            ('cond-1', 'leave', 'cond-1', NOW + seconds(10), NOW),
            ('cond-1', 'join', 'cond-1', NOW + seconds(20),
             NOW + seconds(10)),
        ], self.events())
        self.assertEqual('rack-1',
                         self.dbapi.get_conductor_events()[0].conductor_group)

    def test_missed_heartbeat_is_recorded_once_then_rejoin_on_heartbeat(self):
        self.at(NOW)
        self.register('silent')
        self.register('survivor')
        self.at(NOW + seconds(61))
        self.dbapi.touch_conductor('survivor')
        cutoff = timeutils.utcnow() - TIMEOUT

        self.assertEqual(['silent'], self.dbapi.record_missed_heartbeats(
            cutoff, 'survivor'))
        self.assertEqual([], self.dbapi.record_missed_heartbeats(
            cutoff, 'survivor'))
        row = self.dbapi.get_conductor('silent')
        # Recording is no heartbeat.
        self.assertEqual(NOW, row.updated_at)
        self.assertTrue(row.heartbeat_missed)

        self.at(NOW + seconds(70))
        self.assertTrue(self.dbapi.touch_conductor('silent'))
        self.assertFalse(self.dbapi.touch_conductor('silent'))
        self.assertEqual([
            ('silent', 'join', 'silent', NOW, None),
            ('silent', 'missed_heartbeat', 'survivor', NOW + seconds(61),
             NOW),
            ('silent', 'rejoin', 'silent', NOW + seconds(70), NOW),
        ], self.events(hostname='silent'))
        self.assertFalse(self.dbapi.get_conductor('silent').heartbeat_missed)

    def test_fresh_and_offline_conductors_are_not_missed(self):
        self.at(NOW)
        self.register('left')
        self.dbapi.unregister_conductor('left')
        self.register('fresh')
        self.register('recorder')
        self.at(NOW + seconds(60))  # exactly the timeout: still alive
        self.assertEqual([], self.dbapi.record_missed_heartbeats(
            timeutils.utcnow() - TIMEOUT, 'recorder'))
        self.at(NOW + seconds(61))
        # A conductor never records itself.
        self.assertEqual(['fresh'], self.dbapi.record_missed_heartbeats(
            timeutils.utcnow() - TIMEOUT, 'recorder'))

    def test_restart_over_an_online_row_is_a_rejoin(self):
        self.at(NOW)
        self.register('crashed')
        self.at(NOW + seconds(61))
        self.register('crashed')  # killed, restarted before anyone noticed
        self.at(NOW + seconds(200))
        self.dbapi.record_missed_heartbeats(timeutils.utcnow() - TIMEOUT,
                                            'other')
        self.at(NOW + seconds(300))
        self.register('crashed')  # restarted after the silence was noticed

        self.assertEqual(['join', 'rejoin', 'missed_heartbeat', 'rejoin'],
                         self.kinds())
        self.assertFalse(self.dbapi.get_conductor('crashed').heartbeat_missed)

    def test_concurrent_recorders_record_each_silence_once(self):
        self.at(NOW)
        silent = ['silent-%d' % i for i in range(5)]
        for hostname in silent:
            self.register(hostname)
        self.at(NOW + seconds(120))
        url = self.dbapi.engine.url.render_as_string(hide_password=False)
        recorders = ['recorder-%d' % i for i in range(4)]
        connections = {name: db_base.connect(self, url) for name in recorders}
        barrier = threading.Barrier(len(recorders), timeout=30)
        recorded, errors = {}, []
        cutoff = timeutils.utcnow() - TIMEOUT

        def record(name):
            try:
                barrier.wait()
                recorded[name] = connections[name].record_missed_heartbeats(
                    cutoff, name)
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=record, args=(name,))
                   for name in recorders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        self.assertEqual([], errors)
        self.assertEqual(sorted(silent),
                         sorted(h for names in recorded.values()
                                for h in names))
        missed = self.dbapi.get_conductor_events(
            filters={'kind': 'missed_heartbeat'})
        self.assertEqual(sorted(silent), sorted(e.hostname for e in missed))
        # Each event names the recorder whose call reported it.
        for event in missed:
            self.assertIn(event.hostname, recorded[event.recorded_by])
        self.assertEqual({'join': 5, 'missed_heartbeat': 5},
                         self.dbapi.get_conductor_event_totals())

    def test_totals_survive_pruning(self):
        for minute in range(4):
            self.at(NOW + seconds(60 * minute))
            self.register('cond-%d' % minute)
            self.dbapi.unregister_conductor('cond-%d' % minute)
        self.assertEqual(8, len(self.events()))

        # By age: the events of the first two minutes.
        self.assertEqual(4, self.dbapi.prune_conductor_events(
            NOW + seconds(120), None))
        self.assertEqual(['cond-2', 'cond-2', 'cond-3', 'cond-3'],
                         [e[0] for e in self.events()])
        # By count: the newest stay.
        self.assertEqual(3, self.dbapi.prune_conductor_events(None, 1))
        self.assertEqual([('cond-3', 'leave')],
                         [e[:2] for e in self.events()])
        self.assertEqual(0, self.dbapi.prune_conductor_events(None, 1))
        self.assertEqual({'join': 4, 'leave': 4},
                         self.dbapi.get_conductor_event_totals())

    def test_pages_and_filters(self):
        self.at(NOW)
        for hostname in ('a', 'b', 'c'):
            self.register(hostname)
        self.dbapi.unregister_conductor('b')
        events = self.dbapi.get_conductor_events()
        ids = [e.id for e in events]
        self.assertEqual(sorted(ids), ids)

        first = self.dbapi.get_conductor_events(limit=2)
        rest = self.dbapi.get_conductor_events(limit=2, marker=first[-1])
        self.assertEqual(ids, [e.id for e in first + rest])
        newest = self.dbapi.get_conductor_events(limit=1, sort_dir='desc')
        self.assertEqual([ids[-1]], [e.id for e in newest])
        self.assertEqual([('b', 'join'), ('b', 'leave')],
                         [e[:2] for e in self.events(hostname='b')])
        self.assertEqual(['b'], [e[0] for e in self.events(kind='leave')])
        self.assertEqual(events[0].id,
                         self.dbapi.get_conductor_event(ids[0]).id)
        self.assertRaises(exception.ConductorEventNotFound,
                          self.dbapi.get_conductor_event, ids[-1] + 1)

    def test_pxe_health_is_stored_without_a_heartbeat(self):
        self.at(NOW)
        self.register('cond-1')
        self.at(NOW + seconds(5))
        health = {'ok': False, 'checks': {'tftp_root': {
            'status': 'failed', 'error': '/tftpboot does not exist'}}}
        self.dbapi.set_conductor_pxe_health('cond-1', health)
        row = self.dbapi.get_conductor('cond-1')
        self.assertEqual(health, row.pxe_health)
        self.assertEqual(NOW, row.updated_at)
        self.assertRaises(exception.ConductorNotFound,
                          self.dbapi.set_conductor_pxe_health, 'nope', {})

    def test_no_event_when_the_row_change_fails(self):
        self.at(NOW)
        self.register('cond-1')
        self.assertRaises(exception.ConductorAlreadyRegistered,
                          self.register, 'cond-1')
        self.assertEqual(['join'], self.kinds())
        self.assertEqual(1, len(self.rows_of(models.ConductorEvent)))


class TestConductorEventsSQLite(ConductorEventTests,
                                db_base.DBLayerTestCase):
    backend = db_base.SQLITE


class TestConductorEventsMySQL(ConductorEventTests, db_base.DBLayerTestCase):
    backend = db_base.MYSQL


class TestConductorEventsPostgreSQL(ConductorEventTests,
                                    db_base.DBLayerTestCase):
    backend = db_base.POSTGRESQL
