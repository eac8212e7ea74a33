"""The membership history of the conductors (ironic-lite extensions, 1.49):
``GET /v1/conductor_events`` and ``GET /v1/conductors/{hostname}/events``.

Every join, graceful leave, missed heartbeat and rejoin, oldest first
unless asked otherwise, paged like every list (``limit``, ``marker``: the
``id`` of the last event seen, ``sort_key``, ``sort_dir``, a ``next``
link repeating every filter).
"""

import pecan
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api import policy
from ironic_lite.api import timestamps
from ironic_lite.api import versions
from ironic_lite.api.controllers.v1 import listing
from ironic_lite.api.controllers.v1 import routing
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import conductor_events
from ironic_lite.common import exception
from ironic_lite.db.sqlalchemy import models

FIELDS = ('id', 'hostname', 'conductor_group', 'kind', 'created_at',
          'last_heartbeat', 'recorded_by')
_SORTABLE = frozenset({'id', 'created_at'})
# The largest id the column holds (a 32-bit integer on every database).
_MAX_ID = 2 ** 31 - 1


def render(row: models.ConductorEvent) -> dict:
    return {'id': row.id, 'hostname': row.hostname,
            'conductor_group': row.conductor_group, 'kind': row.kind,
            'created_at': timestamps.isotime(row.created_at),
            'last_heartbeat': timestamps.isotime(row.last_heartbeat),
            'recorded_by': row.recorded_by}


def _check_access(request) -> None:
    policy.authorize('baremetal:conductor:get', request.context)
    if not versions.allows(request, versions.Minor.CONDUCTORS):
        raise exception.NotFound()


def _marker_row(request, marker: str | None):
    if marker is None:
        return None
    try:
        event_id = int(marker)
    except ValueError:
        raise exception.Invalid('Expected an integer event id for marker: '
                                '%s' % marker)
    if not 0 < event_id <= _MAX_ID:  # the database would refuse to look
        raise exception.ConductorEventNotFound(event=marker)
    return request.dbapi.get_conductor_event(event_id)


def _kind_filter(kind: str | None) -> str | None:
    if kind is not None and kind not in conductor_events.KINDS:
        raise exception.Invalid(
            'Invalid kind "%s"; expected one of: %s'
            % (kind, ', '.join(conductor_events.KINDS)))
    return kind


def event_page(request, path: str, *, hostname: str | None,
               hostname_param: bool, kind, marker, limit, sort_key,
               sort_dir) -> dict:
    """One page of ``{"conductor_events": [...], "next": ...}``.

    ``hostname_param``: the hostname came as ``?hostname=``, so the next
    link repeats it (not when it is in the path).
    """
    limit = listing.limit_from(limit)
    listing.check_sort(sort_key, sort_dir, _SORTABLE)
    kind = _kind_filter(kind)
    rows = request.dbapi.get_conductor_events(
        limit=limit, marker=_marker_row(request, marker), sort_key=sort_key,
        sort_dir=sort_dir, filters={'hostname': hostname, 'kind': kind})
    result = {'conductor_events': [render(row) for row in rows]}
    params = [('hostname', hostname if hostname_param else None),
              ('kind', kind), ('sort_key', sort_key),
              ('sort_dir', sort_dir)]
    next_url = listing.next_url(request, path, params, rows, limit,
                                lambda row: row.id)
    if next_url:
        result['next'] = next_url
    return result


class ConductorEventsController(rest.RestController):
    """GET /v1/conductor_events: every conductor's history."""

    @pecan.expose()
    def _route(self, args, request=None):
        routing.refuse_extra_segments(args, 0)
        return super()._route(args, request)

    @expose.expose(types.jsontype, types.text, types.text, types.text,
                   types.text, types.text, types.text)
    def get_all(self, marker=None, limit=None, sort_key='id',
                sort_dir='asc', hostname=None, kind=None):
        request = pecan.request
        _check_access(request)
        return event_page(request, 'conductor_events', hostname=hostname,
                          hostname_param=True, kind=kind, marker=marker,
                          limit=limit, sort_key=sort_key, sort_dir=sort_dir)


class ConductorHostEventsController(rest.RestController):
    """GET /v1/conductors/{hostname}/events: one conductor's history."""

    def __init__(self, hostname: str):
        self.hostname = hostname

    @pecan.expose()
    def _route(self, args, request=None):
        routing.refuse_extra_segments(args, 0)
        return super()._route(args, request)

    @expose.expose(types.jsontype, types.text, types.text, types.text,
                   types.text, types.text)
    def get_all(self, marker=None, limit=None, sort_key='id',
                sort_dir='asc', kind=None):
        request = pecan.request
        _check_access(request)
        request.dbapi.get_conductor(self.hostname)  # 404 for an unknown one
        return event_page(request, 'conductors/%s/events' % self.hostname,
                          hostname=self.hostname, hostname_param=False,
                          kind=kind, marker=marker, limit=limit,
                          sort_key=sort_key, sort_dir=sort_dir)
