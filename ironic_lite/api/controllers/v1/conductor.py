"""/v1/conductors: every conductor, alive or not, and what it serves."""

import datetime
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
# Only one conductor at a time: counting nodes costs a query.
SHOW_FIELDS = DETAIL_FIELDS + ('node_count',)
# The API fields that are columns, and id; never internal ones (online).
_SORTABLE = (db_sqlalchemy.sortable_columns(models.Conductor)
             & (frozenset(SHOW_FIELDS) | {'id'})) - {'drivers'}
_COMPUTED = frozenset({'alive', 'drivers', 'last_seen'})


def is_alive(row: models.Conductor, now: datetime.datetime) -> bool:
    """Online, and a heartbeat within ``[conductor]heartbeat_timeout``."""
    timeout = datetime.timedelta(seconds=CONF.conductor.heartbeat_timeout)
    return bool(row.online and row.updated_at is not None
                and now - row.updated_at <= timeout)


def render(request, row: models.Conductor, fields: tuple[str, ...],
           now: datetime.datetime) -> dict:
    values = {
        'hostname': lambda: row.hostname,
        'conductor_group': lambda: row.conductor_group,
        'alive': lambda: is_alive(row, now),
        'drivers': lambda: row.drivers,
        'created_at': lambda: timestamps.isotime(row.created_at),
        'updated_at': lambda: timestamps.isotime(row.updated_at),
        'last_seen': lambda: timestamps.isotime(row.updated_at),
        'node_count': lambda: request.dbapi.count_nodes(
            {'ring_arcs': rings.rings_for(request).arcs_of(row.hostname)}),
    }
    result = {field: values[field]() for field in fields}
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


class ConductorsController(rest.RestController):
    """GET /v1/conductors and /v1/conductors/{hostname}."""

    @pecan.expose()
    def _route(self, args, request=None):
        routing.refuse_extra_segments(args, 1)
        return super()._route(args, request)

    @staticmethod
    def _check_access(request) -> None:
        policy.authorize('baremetal:conductor:get', request.context)
        if not versions.allows(request, versions.Minor.CONDUCTORS):
            raise exception.NotFound()

    @expose.expose(types.jsontype, types.text, types.text, types.text,
                   types.text, types.listtype, types.boolean)
    def get_all(self, marker=None, limit=None, sort_key='id',
                sort_dir='asc', fields=None, detail=None):
        request = pecan.request
        self._check_access(request)
        shown = listing.return_fields(request, fields, detail,
                                      frozenset(DETAIL_FIELDS),
                                      DEFAULT_FIELDS, DETAIL_FIELDS)
        limit = listing.limit_from(limit)
        listing.check_sort(sort_key, sort_dir, _SORTABLE, _COMPUTED)
        marker_row = (request.dbapi.get_conductor(marker)
                      if marker is not None else None)
        rows = request.dbapi.get_conductor_list(
            limit=limit, marker=marker_row, sort_key=sort_key,
            sort_dir=sort_dir)
        now = timeutils.utcnow()
        result = {'conductors': [render(request, row, shown, now)
                                 for row in rows]}
        next_url = listing.next_url(
            request, 'conductors',
            [('sort_key', sort_key), ('sort_dir', sort_dir),
             ('detail', detail), ('fields', fields)],
            rows, limit, lambda row: row.hostname)
        if next_url:
            result['next'] = next_url
        return result

    @expose.expose(types.jsontype, types.text, types.listtype)
    def get_one(self, hostname, fields=None):
        request = pecan.request
        self._check_access(request)
        return show(request, request.dbapi.get_conductor(hostname), fields)
