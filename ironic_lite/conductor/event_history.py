"""The conductor's part in the membership history (``conductor_events``):
noticing the silent conductors, and keeping the history bounded.

Joins, leaves and rejoins are recorded by the database layer in the same
transaction as the conductor's own row changes; a missed heartbeat can only
be noticed by someone else: the surviving conductors, at each heartbeat.
"""

import datetime

from oslo_log import log
from oslo_utils import timeutils

from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)


def record_missed_heartbeats(dbapi, host: str) -> list[str]:
    """Record, once each, the online conductors silent for longer than
    ``[conductor]heartbeat_timeout``; those this conductor recorded."""
    cutoff = timeutils.utcnow() - datetime.timedelta(
        seconds=CONF.conductor.heartbeat_timeout)
    recorded = dbapi.record_missed_heartbeats(cutoff, host)
    for hostname in recorded:
        LOG.warning('Conductor %s missed its heartbeat (none for %s '
                    'seconds); recorded by %s', hostname,
                    CONF.conductor.heartbeat_timeout, host)
    return recorded


def prune(dbapi) -> int:
    """Delete the events beyond ``[conductor]conductor_events_max_age`` and
    ``conductor_events_max_rows``; how many went. Several conductors
    pruning at once delete the same rows, harmlessly."""
    max_age = CONF.conductor.conductor_events_max_age
    max_rows = CONF.conductor.conductor_events_max_rows
    older_than = (timeutils.utcnow() - datetime.timedelta(seconds=max_age)
                  if max_age else None)
    deleted = dbapi.prune_conductor_events(older_than, max_rows or None)
    if deleted:
        LOG.info('Pruned %d conductor membership events', deleted)
    return deleted
