"""A running conductor's part in the membership history and PXE health:
it records its own join and leave, notices a silent peer at its heartbeat,
prunes the history and probes its PXE environment, in threads of their own.
"""

import datetime
import os
import threading
from unittest import mock

from oslo_utils import timeutils

from ironic_lite.conductor import event_history
from ironic_lite.conductor import pxe_health
from ironic_lite.conf import CONF
from tests import base
from tests.unit.conductor import test_service


def _kinds(dbapi, hostname) -> list[str]:
    return [e.kind for e in dbapi.get_conductor_events(
        filters={'hostname': hostname})]


class TestHistory(test_service.ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.config(heartbeat_interval=1, heartbeat_timeout=5,
                    group='conductor')

    def test_join_leave_and_a_silent_peer(self):
        self.dbapi.register_conductor(
            'peer', '', ['ipmi'], take_over_if_older_than=timeutils.utcnow())
        conductor = self.start()
        self.assertEqual(['join'], _kinds(self.dbapi, 'test-conductor'))
        self.age('peer', 60)
        base.wait_for(lambda: 'missed_heartbeat' in _kinds(self.dbapi,
                                                           'peer'),
                      message='the silent peer recorded')
        event = self.dbapi.get_conductor_events(
            filters={'kind': 'missed_heartbeat'})[0]
        self.assertEqual('test-conductor', event.recorded_by)
        conductor.stop()
        self.assertEqual(['join', 'leave'],
                         _kinds(self.dbapi, 'test-conductor'))
        self.assertEqual(['join', 'missed_heartbeat'],
                         _kinds(self.dbapi, 'peer'))

    def test_history_is_pruned_periodically(self):
        self.config(conductor_events_prune_interval=1,
                    conductor_events_max_rows=2, group='conductor')
        for name in ('a', 'b', 'c'):
            self.dbapi.register_conductor(
                name, '', ['ipmi'],
                take_over_if_older_than=timeutils.utcnow())
        self.start()
        base.wait_for(lambda: len(self.dbapi.get_conductor_events()) == 2,
                      message='the history pruned to 2 events')
        self.assertEqual(['c', 'test-conductor'], [
            e.hostname for e in self.dbapi.get_conductor_events()])
        self.assertEqual({'join': 4},
                         self.dbapi.get_conductor_event_totals())

    def test_prune_by_age(self):
        self.config(conductor_events_max_age=3600,
                    conductor_events_max_rows=0, group='conductor')
        now = timeutils.utcnow()
        for name, age in (('old', 3601), ('recent', 3599)):
            timeutils.set_time_override(now - datetime.timedelta(
                seconds=age))
            self.addCleanup(timeutils.clear_time_override)
            self.dbapi.register_conductor(
                name, '', ['ipmi'],
                take_over_if_older_than=timeutils.utcnow())
        timeutils.set_time_override(now)
        self.assertEqual(1, event_history.prune(self.dbapi))
        self.assertEqual(['recent'], [
            e.hostname for e in self.dbapi.get_conductor_events()])


class TestPxeHealthThread(test_service.ServiceTestCase):

    def test_probed_at_start_and_every_interval(self):
        self.config(pxe_health_interval=1, group='conductor')
        os.makedirs(CONF.pxe.tftp_root, exist_ok=True)
        self.start()
        base.wait_for(lambda: self.dbapi.get_conductor(
            'test-conductor').pxe_health is not None,
            message='the first probe stored')
        first = self.dbapi.get_conductor('test-conductor').pxe_health
        self.assertEqual('ok', first['checks']['tftp_root']['status'])
        os.rmdir(CONF.pxe.tftp_root)
        base.wait_for(lambda: self.dbapi.get_conductor(
            'test-conductor').pxe_health['checks']['tftp_root'][
            'status'] == 'failed', message='the removed tftp_root seen')

    def test_a_hung_probe_does_not_hold_the_heartbeat(self):
        self.config(pxe_health_interval=1, heartbeat_interval=1,
                    group='conductor')
        release = threading.Event()
        self.addCleanup(release.set)

        def hung_probe(**kwargs):
            release.wait(30)
            return {}

        with mock.patch.object(pxe_health, 'probe', hung_probe):
            conductor = self.start()
            first = self.dbapi.get_conductor('test-conductor').updated_at
            base.wait_for(lambda: self.dbapi.get_conductor(
                'test-conductor').updated_at > first,
                message='a heartbeat while the probe hangs')
            release.set()
            conductor.stop()
