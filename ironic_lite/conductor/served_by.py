"""Recording in each node the conductor that serves it (``served_by``).

A ``?conductor=`` list page then reads one range of an index, at the cost
of a plain page, instead of checking the ring position of every node of
the conductor's rings it walks past. The record holds for one set of
rings, named by their fingerprint (``hash_ring.Rings.fingerprint``): the
API reads by it only while its own rings are those (the page's statement
checks it), and from the rings' arcs otherwise. So a record never decides
what the API answers, only what the answer costs.

Only conductors of one release record: a conductor of another (during a
rolling upgrade, an older one that does not forget the record of a node
whose driver changes) makes the passes take the record away until it has
gone; the pass after that records every node again.

Every conductor makes a pass now and then and after conductors change.
When its rings are the recorded ones, it records the nodes not recorded
yet: new ones, and those whose driver or conductor group changed (the
database layer forgets theirs). Otherwise it works out the conductor of
every node and writes those that differ, under a record saying that it is
recording (which no API's rings match), then the new fingerprint. Each
write is a transaction of a few thousand nodes at most, taken only if the
record is still what the pass left there: two conductors' passes never
interleave, and a pass that died half-way is done again by the next one.
"""

import datetime

from oslo_log import log
from oslo_utils import timeutils

from ironic_lite.common import hash_ring
from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)

# Nodes read, and written, in one go.
CHUNK = 2000

# The record's prefix while a pass records rings other than the recorded.
RECORDING = 'recording:'


def record(dbapi, rings: hash_ring.Rings, version: str | None,
           chunk: int = CHUNK) -> int | None:
    """Record the conductor of each node on ``rings`` where it is not
    recorded or differs ('' for a node no ring serves), if every alive
    conductor runs ``version``, this conductor's release; take the record
    away otherwise. How many nodes were written; None when another
    conductor recorded meanwhile (the next pass looks again)."""
    fingerprint = rings.fingerprint
    recorded = dbapi.get_served_by_fingerprint()
    alive = dbapi.get_alive_versions(timeutils.utcnow() - datetime.timedelta(
        seconds=CONF.conductor.heartbeat_timeout))
    if alive - {version}:
        if recorded is not None and _write(dbapi, recorded, None, ()):
            LOG.info('Conductors of other releases are alive (%s): the '
                     'nodes\' conductors are not recorded until they have '
                     'gone', ', '.join(sorted(map(str, alive - {version}))))
        return 0
    unrecorded_only = recorded == fingerprint
    holding = fingerprint if unrecorded_only else RECORDING + fingerprint
    # Taken before any node is read: a pass that wrote meanwhile has
    # committed by then (the record's row is locked by every write), and
    # the nodes are read as it left them.
    if recorded != holding and not _write(dbapi, recorded, holding, ()):
        return None
    written, after = 0, 0
    while True:
        nodes = dbapi.get_served_by_inputs(unrecorded_only, after, chunk)
        served = []
        for node_id, group, driver, position, now in nodes:
            ring = rings.rings.get((group, driver))
            hostname = ring.owner_at(position) if ring is not None else ''
            if hostname != now:
                served.append((node_id, group, driver, hostname))
        if served and not _write(dbapi, holding, holding, served):
            return None
        written += len(served)
        if len(nodes) < chunk:
            break
        after = nodes[-1][0]
    if holding != fingerprint:
        if not _write(dbapi, holding, fingerprint, ()):
            return None
        LOG.info('Recorded the conductor of the nodes on the rings %s '
                 '(%d nodes written)', fingerprint[:12], written)
    return written


def _write(dbapi, taken: str | None, holding: str | None, served) -> bool:
    """dbapi.record_served_by, False when another pass took the record."""
    if dbapi.record_served_by(taken, holding, served):
        return True
    LOG.debug('Another conductor recorded the nodes\' conductors meanwhile')
    return False
