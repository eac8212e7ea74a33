"""The kinds of conductor membership events (table ``conductor_events``).

Every transition of a conductor is recorded exactly once, in the same
transaction as the change of its row:

* ``join``: a conductor registers with a new row, or after it left
  gracefully;
* ``leave``: it left gracefully (marked itself offline);
* ``missed_heartbeat``: a surviving conductor noticed, at its heartbeat,
  that an online conductor has not beaten for
  ``[conductor]heartbeat_timeout``;
* ``rejoin``: a conductor is back without having left: its heartbeat
  resumed after a missed one was recorded, or it registered again over its
  own row while that was still online (a restart after a crash).
"""

JOIN = 'join'
LEAVE = 'leave'
MISSED_HEARTBEAT = 'missed_heartbeat'
REJOIN = 'rejoin'

KINDS = (JOIN, LEAVE, MISSED_HEARTBEAT, REJOIN)
