"""/v1/conductors: every conductor, alive or not, and what it serves."""

import datetime
import functools
import re
import urllib.parse

import pecan
from oslo_utils import timeutils
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api import policy
from ironic_lite.api import rings
from ironic_lite.api import timestamps
from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import conductor_event
from ironic_lite.api.controllers.v1 import conductor_impact
from ironic_lite.api.controllers.v1 import listing
from ironic_lite.api.controllers.v1 import routing
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception
from ironic_lite.conf import CONF
from ironic_lite.db.sqlalchemy import api as db_sqlalchemy
from ironic_lite.db.sqlalchemy import models

DEFAULT_FIELDS = ('hostname', 'conductor_group', 'alive')
DETAIL_FIELDS = DEFAULT_FIELDS + ('drivers', 'created_at', 'updated_at',
                                  'last_seen')
# Only one conductor at a time: counting nodes costs a query. The health
# fields after node_count are ironic-lite extensions (api-ref: "ironic-lite
# extensions").
SHOW_FIELDS = DETAIL_FIELDS + ('node_count', 'node_count_by_provision_state',
                               'state', 'seconds_since_heartbeat',
                               'heartbeat_timeout', 'version', 'pxe_health')
# The API fields that are columns, and id; never internal ones (online).
_SORTABLE = ((db_sqlalchemy.sortable_columns(models.Conductor)
              & (frozenset(SHOW_FIELDS) | {'id'}))
             - {'drivers', 'version', 'pxe_health'}
             | {'last_seen'})
_COMPUTED = frozenset({'alive', 'drivers'})
# Sort keys that are API names for a column of another name.
_SORT_COLUMNS = {'last_seen': 'updated_at'}

# The values of ``state``.
ALIVE = 'alive'
STOPPED = 'stopped'                    # went offline gracefully
MISSED_HEARTBEAT = 'missed_heartbeat'  # online, but silent too long


def _conductor_group_filter(value: str) -> str:
    # The spelling a node's conductor_group must have; stored lowercase.
    if len(value) > 255 or not re.fullmatch(r'[a-zA-Z0-9_\-.]*', value):
        raise exception.InvalidConductorGroup(group=value)
    return value.lower()


def _heartbeat_cutoff(now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(
        seconds=CONF.conductor.heartbeat_timeout)


def is_alive(row: models.Conductor, now: datetime.datetime) -> bool:
    """Online, and a heartbeat within ``[conductor]heartbeat_timeout``."""
    return state_of(row, now) == ALIVE


def state_of(row: models.Conductor, now: datetime.datetime) -> str:
    """:data:`ALIVE`, :data:`STOPPED` or :data:`MISSED_HEARTBEAT`."""
    if not row.online:
        return STOPPED
    if row.updated_at is None or row.updated_at < _heartbeat_cutoff(now):
        return MISSED_HEARTBEAT
    return ALIVE


def seconds_since_heartbeat(row: models.Conductor,
                            now: datetime.datetime) -> float | None:
    """Age of the last heartbeat, to the millisecond; None if none."""
    if row.updated_at is None:
        return None
    return round((now - row.updated_at).total_seconds(), 3)


def node_counts(request, hostname: str) -> dict[str | None, int]:
    """The nodes ``hostname`` serves now, per provision state."""
    return request.dbapi.count_nodes_by_provision_state(
        {'ring_arcs': rings.rings_for(request).arcs_of(hostname)})


# How each field is shown: (request, row, now, counts) -> value, where
# counts() gives the row's nodes per provision state (one query, made only
# for the fields that need it).
_VALUES = {
    'hostname': lambda request, row, now, counts: row.hostname,
    'conductor_group': lambda request, row, now, counts: row.conductor_group,
    'alive': lambda request, row, now, counts: is_alive(row, now),
    'drivers': lambda request, row, now, counts: row.drivers,
    'created_at': lambda request, row, now, counts: timestamps.isotime(
        row.created_at),
    'updated_at': lambda request, row, now, counts: timestamps.isotime(
        row.updated_at),
    'last_seen': lambda request, row, now, counts: timestamps.isotime(
        row.updated_at),
    'node_count': lambda request, row, now, counts: sum(counts().values()),
    'node_count_by_provision_state': lambda request, row, now, counts: {
        str(state): count for state, count in counts().items()},
    'state': lambda request, row, now, counts: state_of(row, now),
    'seconds_since_heartbeat': lambda request, row, now, counts:
        seconds_since_heartbeat(row, now),
    'heartbeat_timeout': lambda request, row, now, counts:
        CONF.conductor.heartbeat_timeout,
    'version': lambda request, row, now, counts: row.version,
    'pxe_health': lambda request, row, now, counts: row.pxe_health,
}


_UNCOUNTED = frozenset(_VALUES) - {'node_count',
                                    'node_count_by_provision_state'}


def render(request, row: models.Conductor, fields: tuple[str, ...],
           now: datetime.datetime) -> dict:
    # One query for node_count and node_count_by_provision_state both,
    # none for a list (which shows neither).
    counts = (functools.cache(lambda: node_counts(request, row.hostname))
              if not _UNCOUNTED.issuperset(fields) else None)
    result = {field: _VALUES[field](request, row, now, counts)
              for field in fields}
    result['links'] = link.self_and_bookmark(request, 'conductors',
                                             row.hostname)
    if 'node_count' in fields:
        result['links'].append({
            'href': link.build_url(
                request, 'nodes',
                query=urllib.parse.urlencode({'conductor': row.hostname},
                                             safe=':')),
            'rel': 'nodes'})
    return result


def show(request, row: models.Conductor, fields: list[str] | None) -> dict:
    """One conductor in full, or the fields asked for."""
    shown = listing.return_fields(request, fields, None,
                                  frozenset(SHOW_FIELDS), SHOW_FIELDS,
                                  SHOW_FIELDS)
    return render(request, row, shown, timeutils.utcnow())


def check_access(request) -> None:
    """Whether the caller may read conductors, at this version.

    :raises HTTPForbidden: the policy says no.
    :raises NotFound: a version before the conductors existed.
    """
    policy.authorize('baremetal:conductor:get', request.context)
    if not versions.allows(request, versions.Minor.CONDUCTORS):
        raise exception.NotFound()


def list_conductors(request, marker: str | None = None,
                    limit: str | None = None, sort_key: str = 'id',
                    sort_dir: str = 'asc', fields: list[str] | None = None,
                    detail: bool | None = None, alive: bool | None = None,
                    conductor_group: str | None = None,
                    driver: str | None = None) -> dict:
    """GET /v1/conductors, its query parameters as WSME converted them.
    ``request`` is pecan's, or any object with what the read helpers use
    (environ, version, context, dbapi, ring_manager, host_url).

    :raises IronicLiteException: as the API answers it.
    """
    check_access(request)
    shown = listing.return_fields(request, fields, detail,
                                  frozenset(DETAIL_FIELDS),
                                  DEFAULT_FIELDS, DETAIL_FIELDS)
    limit = listing.limit_from(limit)
    listing.check_sort(sort_key, sort_dir, _SORTABLE, _COMPUTED)
    if conductor_group is not None:
        conductor_group = _conductor_group_filter(conductor_group)
    now = timeutils.utcnow()
    filters = {'conductor_group': conductor_group, 'driver': driver,
               'alive': (None if alive is None
                         else (alive, _heartbeat_cutoff(now)))}
    marker_row = (request.dbapi.get_conductor(marker)
                  if marker is not None else None)
    rows = request.dbapi.get_conductor_list(
        limit=limit, marker=marker_row,
        sort_key=_SORT_COLUMNS.get(sort_key, sort_key),
        sort_dir=sort_dir, filters=filters, plain=True)
    result = {'conductors': [render(request, row, shown, now)
                             for row in rows]}
    next_url = listing.next_url(
        request, 'conductors',
        [('alive', None if alive is None else str(alive).lower()),
         ('conductor_group', conductor_group), ('driver', driver),
         ('sort_key', sort_key), ('sort_dir', sort_dir),
         ('detail', detail), ('fields', fields)],
        rows, limit, lambda row: row.hostname)
    if next_url:
        result['next'] = next_url
    return result


def show_conductor(request, hostname: str,
                   fields: list[str] | None) -> dict:
    """GET /v1/conductors/{hostname}; ``request`` as for
    :func:`list_conductors`."""
    check_access(request)
    return show(request, request.dbapi.get_conductor(hostname, plain=True),
                fields)


class ConductorsController(rest.RestController):
    """GET /v1/conductors and /v1/conductors/{hostname}."""

    # /v1/conductors/{hostname}/<name> (ironic-lite extensions).
    _subresources = {
        'events': conductor_event.ConductorHostEventsController,
        'impact': conductor_impact.ConductorImpactController,
    }

    @pecan.expose()
    def _route(self, args, request=None):
        if len(args) >= 2 and args[1] in self._subresources:
            subresource = self._subresources[args[1]](args[0])
            return subresource._route(args[2:], request)
        routing.refuse_extra_segments(args, 1)
        return super()._route(args, request)

    @expose.expose(types.jsontype, types.text, types.text, types.text,
                   types.text, types.listtype, types.boolean, types.boolean,
                   types.text, types.text)
    def get_all(self, marker=None, limit=None, sort_key='id',
                sort_dir='asc', fields=None, detail=None, alive=None,
                conductor_group=None, driver=None):
        return list_conductors(
            pecan.request, marker=marker, limit=limit, sort_key=sort_key,
            sort_dir=sort_dir, fields=fields, detail=detail, alive=alive,
            conductor_group=conductor_group, driver=driver)

    @expose.expose(types.jsontype, types.text, types.listtype)
    def get_one(self, hostname, fields=None):
        return show_conductor(pecan.request, hostname, fields)
