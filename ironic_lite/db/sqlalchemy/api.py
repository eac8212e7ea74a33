"""The SQLAlchemy implementation of the database interface."""

import bisect
import collections
import contextlib
import dataclasses
import datetime
import functools
import json
import operator
import re
import sqlite3
import threading
import time
import types
import typing
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping

import sqlalchemy as sa
from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_utils import timeutils
from sqlalchemy import orm

from ironic_lite.common import conductor_events
from ironic_lite.common import exception
from ironic_lite.conf import CONF
from ironic_lite.db.sqlalchemy import lean
from ironic_lite.db.sqlalchemy import models


def is_sqlite_busy(error: Exception) -> bool:
    """SQLite refusing a write at once: the transaction read a snapshot that
    another connection has since written past (SQLITE_BUSY_SNAPSHOT, which
    no busy timeout waits out). Only a new transaction can succeed."""
    return (isinstance(error, sa.exc.OperationalError)
            and isinstance(error.orig, sqlite3.OperationalError)
            and 'database is locked' in str(error.orig))


# Deadlocks (MariaDB, PostgreSQL) and SQLite's busy snapshots: the whole
# transaction again, after a short, growing, jittered pause.
_retry_on_deadlock = oslo_db_api.wrap_db_retry(
    max_retries=5, retry_on_deadlock=True, exception_checker=is_sqlite_busy,
    retry_interval=0.1, max_retry_interval=2, jitter=True)

# The same, and also when two transactions both created the first total of
# an event kind: the loser's retry finds the row and adds to it.
_retry_on_deadlock_or_duplicate = oslo_db_api.wrap_db_retry(
    max_retries=5, retry_on_deadlock=True,
    exception_checker=lambda e: (is_sqlite_busy(e)
                                 or isinstance(e, db_exc.DBDuplicateEntry)),
    retry_interval=0.1, max_retry_interval=2, jitter=True)


def _record_event(session, kind: str, hostname: str, conductor_group: str,
                  recorded_by: str,
                  last_heartbeat: datetime.datetime | None) -> None:
    """Add one membership event and count it, in the caller's
    transaction (the one that changed the conductor's row)."""
    session.add(models.ConductorEvent(
        created_at=timeutils.utcnow(), hostname=hostname,
        conductor_group=conductor_group, kind=kind,
        recorded_by=recorded_by, last_heartbeat=last_heartbeat))
    totals = models.ConductorEventTotal
    counted = session.execute(
        sa.update(totals).where(totals.kind == kind)
        .values(total=totals.total + 1)).rowcount
    if not counted:
        session.execute(sa.insert(totals).values(kind=kind, total=1))


# (conductor_group, driver) -> arcs ``(low, high)`` of ring positions:
# ``low <= ring_position < high``, ``None`` leaving that end open.
RingArcs = Mapping[tuple[str, str], Iterable[tuple[str | None, str | None]]]


@dataclasses.dataclass(frozen=True)
class AliveHardware:
    """One hardware type an alive conductor enables."""

    hostname: str
    conductor_group: str
    hardware_type: str
    updated_at: datetime.datetime


# Columns a list can be sorted by; the JSON documents cannot.
_UNSORTABLE_NODE_COLUMNS = frozenset({
    'driver_info', 'driver_internal_info', 'instance_info', 'properties',
    'extra', 'clean_step', 'deploy_step', 'raid_config',
    'target_raid_config', 'traits', 'ring_position'})


def sortable_columns(model) -> frozenset[str]:
    """Names a client may sort a list of ``model`` by."""
    names = {c.name for c in model.__table__.columns}
    if model is models.Node:
        names -= _UNSORTABLE_NODE_COLUMNS
    return frozenset(names)


def _paginate(query, model, limit, sort_key, sort_dir, marker):
    """Order by (sort_key, id) and start after ``marker``.

    NULLs of the sort key come last going up and first going down, on every
    database, so that a marker inside the NULLs still pages correctly.
    """
    key = getattr(model, sort_key)
    descending = sort_dir == 'desc'
    order = sa.desc if descending else sa.asc
    keys = [model.id] if sort_key == 'id' else [key, model.id]
    if sort_key != 'id':
        query = query.order_by(order(key.is_(None)))
    query = query.order_by(*(order(k) for k in keys))

    if marker is not None:
        after = (lambda c, v: c < v) if descending else (lambda c, v: c > v)
        if sort_key == 'id':
            query = query.where(after(model.id, marker.id))
        else:
            value = getattr(marker, sort_key)
            beyond_id = after(model.id, marker.id)
            if value is None:
                criteria = sa.and_(key.is_(None), beyond_id)
                if descending:
                    criteria = sa.or_(criteria, key.is_not(None))
            else:
                criteria = sa.or_(after(key, value),
                                  sa.and_(key == value, beyond_id))
                if not descending:
                    criteria = sa.or_(criteria, key.is_(None))
            query = query.where(criteria)
    if limit is not None:
        query = query.limit(limit)
    return query


def _arcs_predicate(ring_arcs: RingArcs, per_arc: bool = True):
    """Nodes of any of the rings whose position is in one of its arcs.

    ``per_arc``: one term (group, driver, position range) per arc, each a
    range of the index (conductor_group, driver, ring_position), so that
    the database reads only the nodes on the arcs. Otherwise the ring's
    (group, driver) once and the ranges under it, for a reader walking the
    ring's nodes in another order that checks the position of each.

    No ring, or a ring with no arc, selects no node: an empty ``or_()``
    would vanish from the ``and_()`` and select the whole ring.
    """
    column = models.Node.ring_position
    terms = []
    for (conductor_group, driver), arcs in ring_arcs.items():
        ring = (models.Node.conductor_group == conductor_group,
                models.Node.driver == driver)
        bounds = []
        for low, high in arcs:
            parts = []
            if low is not None:
                parts.append(column >= low)
            if high is not None:
                parts.append(column < high)
            if per_arc:
                terms.append(sa.and_(*ring, *parts))
            else:
                bounds.append(sa.and_(*parts) if parts else sa.true())
        if bounds:
            terms.append(sa.and_(*ring, sa.or_(*bounds)))
    return sa.or_(*terms) if terms else sa.false()


def _only_ring_arcs(filters: dict | None) -> bool:
    """Only the nodes on a conductor's arcs: counted by _arc_count_selects.
    """
    return (bool(filters) and filters.keys() == {'ring_arcs'}
            and filters['ring_arcs'] is not None)


def _is_ring_page(filters: dict, limit: int | None, sort_key: str) -> bool:
    """A page of a conductor's nodes in id order: see _ring_page."""
    return (filters.get('ring_arcs') is not None and limit is not None
            and sort_key == 'id')


def _ring_page(session, filters: dict, limit: int, sort_dir: str,
               marker, walk_memo: dict, columns: Iterable[str] | None,
               plain: bool) -> list:
    """One page of a conductor's nodes in id order, as
    :meth:`Connection.get_node_list` gives them, in one statement, at the
    cost of the page rather than of the conductor's share of the fleet.

    For each ring, a conductor owning share ``s`` of it either has few
    nodes there, read through its arcs (ranges of the index
    (conductor_group, driver, ring_position, provision_state, id), the
    marker checked from the index) and sorted by the database, or so many
    that walking the ring in id order (index (conductor_group, driver, id,
    ring_position), the position checked from the index) fills the page
    after about ``limit / s`` entries. Which one is found out by counting
    the arcs' entries, up to ``limit / s`` (:func:`_ring_page_plan`), once
    in a while: the answer only decides the cost of a page, never its
    rows. Either way a page reads at most about ``limit / s`` index
    entries per ring, whatever the size of the fleet, and the rows of the
    page itself by primary key. (The ids first and then the rows by id
    took a second statement with a thousand bound ids, compiled for each
    page; reading every column of the arcs' nodes read each row of the
    conductor's share rather than of the page.)
    """
    others = {k: v for k, v in filters.items()
              if k != 'ring_arcs' and v is not None}
    descending = sort_dir == 'desc'
    connection = session.connection()
    plan = _ring_page_plan(connection, filters['ring_arcs'], others, limit,
                           walk_memo)
    if not plan:
        return []
    dialect = connection.dialect.name
    params = {}
    if marker is not None:
        params[_RING_PAGE_MARKER] = marker.id
    if plain:
        columns = tuple(columns)
    if plain and _BOUND_NODE_FILTERS.issuperset(others):
        params.update(_bound_filter_values(others))
        statement = _ring_page_select(plan, columns, descending,
                                      marker is not None,
                                      tuple(sorted(others)), limit, dialect)
    else:
        statement = _build_ring_page_select(
            plan, columns if plain else None, descending, marker is not None,
            limit, dialect, functools.partial(_node_filters, filters=others))
    if plain:
        rows = connection.execute(statement, params).all()
        row_id = operator.itemgetter(_row_id_index(columns))
    else:
        if columns is not None:
            statement = statement.options(orm.load_only(
                *(getattr(models.Node, name) for name in columns)))
        rows = list(session.scalars(statement, params))
        row_id = operator.attrgetter('id')
    if dialect not in _ORDERED_PAGE_DIALECTS:
        rows.sort(key=row_id, reverse=descending)
    return rows


def _served_by_page(connection, served_by: tuple[str, str], filters: dict,
                    limit: int, sort_dir: str, marker,
                    columns: tuple[str, ...]) -> list:
    """A page of :func:`_ring_page`'s plain rows read by the conductor
    recorded as serving each node (``nodes.served_by``), at the cost of a
    plain page: in one statement, one range of an index for the nodes
    recorded as served by ``hostname``, and another for the nodes not
    recorded yet (NULL), up to a page of them, whose place on the rings is
    checked here.

    Only while the recorded rings (``served_by_record``) are the rings the
    arcs come from, which the statement itself checks: it reads nothing
    otherwise. [] for :func:`_ring_page` to answer: nothing read (other
    rings recorded, or truly no node), a page of nodes not recorded yet
    that does not reach the end of the conductor's page, and filters that
    are not bound (:data:`_BOUND_NODE_FILTERS`).
    """
    hostname, fingerprint = served_by
    others = {k: v for k, v in filters.items()
              if k != 'ring_arcs' and v is not None}
    if not _BOUND_NODE_FILTERS.issuperset(others):
        return []
    descending = sort_dir == 'desc'
    params = _bound_filter_values(others)
    params.update(served_by_host=hostname,
                  served_by_fingerprint=fingerprint)
    if marker is not None:
        params[_RING_PAGE_MARKER] = marker.id
    shape = (columns, descending, marker is not None,
             tuple(sorted(others)), limit, connection.dialect.name)
    # Every node recorded: the recorded nodes' range alone, in order.
    rows = connection.execute(_served_by_page_select(*shape, False),
                              params).all()
    if rows:
        return rows
    rows = connection.execute(_served_by_page_select(*shape, True),
                              params).all()
    # The row's ring, NULL for the recorded nodes: after the columns and
    # the id.
    at = len(columns) + ('id' not in columns)
    row_id = operator.itemgetter(_row_id_index(columns))
    page = [row for row in rows if row[at] is None]
    unrecorded = [row for row in rows if row[at] is not None]
    if unrecorded:
        on_arcs = _on_arcs_of(tuple(sorted(
            (ring, tuple(arcs))
            for ring, arcs in filters['ring_arcs'].items())))
        page += [row for row in unrecorded
                 if on_arcs(row[at], row[at + 1], row[at + 2])]
    page.sort(key=row_id, reverse=descending)
    if len(unrecorded) >= limit:
        # More nodes not recorded may follow the last one read, the
        # conductor's among them: the page holds up to it.
        last = (min if descending else max)(map(row_id, unrecorded))
        page = [row for row in page
                if (row_id(row) >= last if descending
                    else row_id(row) <= last)]
        if len(page) < limit:
            return []
    return page[:limit]


@functools.lru_cache(maxsize=256)
def _served_by_page_select(columns: tuple[str, ...], descending: bool,
                           with_marker: bool, filter_names: tuple[str, ...],
                           limit: int, dialect: str,
                           unrecorded_too: bool) -> sa.Select:
    """A statement of :func:`_served_by_page`, with the filters
    ``filter_names`` bound as :func:`_bound_node_filters` binds them: rows
    of ``columns``.

    ``unrecorded_too``: the nodes not recorded as well, each row followed
    by its id and the node's ring (conductor_group, driver,
    ring_position) for those, NULLs for the others. Otherwise the
    recorded nodes' page alone, as one range of the index and nothing
    else (a UNION ALL of two ranges, each a subquery, cost SQLite half as
    much again as the plain page), where no node at all is not recorded."""
    node = models.Node
    record = models.ServedByRecord.__table__
    order = sa.desc if descending else sa.asc
    shown = list(_node_rows_select(columns).selected_columns)
    if 'id' not in columns and unrecorded_too:
        # To merge the two ranges by.
        shown.append(node.id)
    ring = (node.conductor_group, node.driver, node.ring_position)
    recorded = (sa.select(record.c.fingerprint).where(record.c.id == 1)
                .scalar_subquery()
                == sa.bindparam('served_by_fingerprint'))
    marker = sa.bindparam(_RING_PAGE_MARKER)
    host = sa.bindparam('served_by_host')

    def part(query, order_by):
        query = _bound_node_filters(query.where(recorded), filter_names)
        return query.order_by(*order_by).limit(limit)

    # The recorded nodes: one range of nodes_served_by_idx, in its order.
    served = sa.select(*shown)
    if unrecorded_too:
        served = served.add_columns(*(sa.null().label('ring_%d' % i)
                                      for i in range(len(ring))))
    else:
        served = served.where(~sa.exists().where(node.served_by.is_(None)))
    if dialect != 'postgresql':
        served = served.where(node.served_by == host)
        if with_marker:
            served = served.where(node.id < marker if descending
                                  else node.id > marker)
    else:
        # PostgreSQL's planner, told "served_by = :host", found the page's
        # order in the primary key too, and preferred reading the table
        # in id order and skipping the other conductors' nodes (three of
        # four of them) to the index's range: its heap is in id order, not
        # in served_by's. As a range of (served_by, id), only the index
        # gives the order; after a marker the range starts at it.
        if not with_marker:
            served = served.where(node.served_by >= host,
                                  node.served_by <= host)
        elif descending:
            served = served.where(
                sa.tuple_(node.served_by, node.id) < sa.tuple_(host, marker),
                node.served_by >= host)
        else:
            served = served.where(
                sa.tuple_(node.served_by, node.id) > sa.tuple_(host, marker),
                node.served_by <= host)
    served = part(served, (order(node.served_by), order(node.id)))
    if not unrecorded_too:
        return served

    # The nodes not recorded yet: the NULLs' range of the same index (few,
    # unless the conductors do not record), in id order.
    unrecorded = sa.select(*shown, *ring).where(node.served_by.is_(None))
    if with_marker:
        unrecorded = unrecorded.where(node.id < marker if descending
                                      else node.id > marker)
    # In the index's order: PostgreSQL sorts the NULLs' range by id
    # otherwise, and MariaDB sorts it unless told by id alone.
    unrecorded = part(unrecorded, (order(node.served_by), order(node.id))
                      if dialect == 'postgresql' else (order(node.id),))
    return sa.union_all(sa.select(served.subquery()),
                        sa.select(unrecorded.subquery()))


# Where a page's rows, read by primary key in the order of its sorted
# ids, come in that order when the statement says so, at no cost. MariaDB
# would sort the joined rows again in a temporary table: they are sorted
# here instead.
_ORDERED_PAGE_DIALECTS = frozenset({'sqlite', 'postgresql'})

# Databases that merge the walks of several rings lazily, reading from
# each only the entries the page takes, rows included: SQLite (MERGE
# (UNION ALL)). PostgreSQL's planner, offered the union of the walks, read
# every ring whole and sorted it (in parallel); MariaDB reads each arm of
# a union to its end and sorts the lot. There each walk is cut to the
# page's size on its own and only the ids are merged (PostgreSQL: Merge
# Append) or sorted (MariaDB: rings times a page of ids at most).
_MERGING_DIALECTS = frozenset({'sqlite'})

# The id of the page's marker, bound at execution.
_RING_PAGE_MARKER = 'ring_page_marker'

# How long a ring's way of being read (its arcs, or a walk) is kept. Only
# the cost of a page depends on it (both reads give the same page): a
# conductor whose share changed is read the old way a little longer.
_WALK_MEMO_SECONDS = 60.0
_WALK_MEMO_SIZE = 1024

# How long the pages of rings found not recorded are read from the arcs
# without looking at the record again: only their cost depends on it.
_NOT_RECORDED_SECONDS = 1.0

# A walk reads about ``limit / share`` entries for a page, checked from
# the ring-page index (on SQLite the list page's columns too: no row
# read). Each entry of the arcs costs more: it is sorted with the others,
# and the page's rows are then read by primary key. Rings are walked once
# the conductor's nodes on them are more than this fraction of what the
# walk reads (see _ring_page_plan). Measured on SQLite (issue #10,
# instructions of the statement): a walk costs about 2.8 thousand per
# entry, the arcs 4.4 thousand per node, hence 0.6. At 10 000 nodes / 4
# conductors (a share of 0.38 of two rings, 1 855 nodes) the walk costs
# 15.1 million against the arcs' 18.4; at 100 000 / 32 (a sixteenth,
# 3 479 nodes) the arcs 24.0 million against a walk's 42.5.
_WALK_FRACTION = 0.6

# Arms of a page statement's UNION ALL at most, an arc or a walk each
# (SQLite allows 500 in a compound SELECT): rings whose arcs would make
# more are walked.
_PAGE_ARMS = 400


def _ring_page_plan(connection, ring_arcs: RingArcs, others: dict,
                    limit: int, walk_memo: dict) -> tuple:
    """``((ring, arcs, walk), ...)``: the rings of a page with a share,
    and whether each is walked in id order (True) or read through its
    arcs.

    A page takes its nodes from the rings in proportion to the nodes each
    holds on the arcs (ids interleave): walking a ring reads about its part
    of the page over its share, against its part of the conductor's nodes
    through the arcs. The part cancels out: a ring is walked when the
    conductor's nodes on all its rings (matching ``others``) are more than
    ``_WALK_FRACTION * limit / share``, and never fewer than a page. Each
    ring's arcs are counted up to that many, and the count remembered in
    ``walk_memo`` for a while."""
    others_key = repr(sorted(others.items()))
    now = time.monotonic()
    counted = []
    for ring, arcs in ring_arcs.items():
        arcs = tuple(arcs)
        share = _share(arcs)
        if not share:
            continue
        cap = max(limit, int(_WALK_FRACTION * limit / share))
        memo_key = (ring, arcs, others_key, limit)
        known = walk_memo.get(memo_key)
        if known is None or known[0] <= now:
            found = 0
            for arms in _arc_arms(ring, arcs, ()):
                arms = [_node_filters(arm, others) for arm in arms]
                query = (sa.union_all(*arms) if len(arms) > 1 else arms[0])
                found += connection.execute(
                    sa.select(sa.func.count()).select_from(
                        query.limit(cap + 1 - found).subquery())).scalar()
                if found > cap:
                    break
            if len(walk_memo) >= _WALK_MEMO_SIZE:
                walk_memo.clear()
            known = walk_memo[memo_key] = (now + _WALK_MEMO_SECONDS, found)
        counted.append((ring, arcs, cap, known[1]))
    nodes = sum(found for _, _, _, found in counted)
    plan = []
    # Each walk is an arm of the page's UNION ALL too.
    arcs_read = len(ring_arcs)
    for ring, arcs, cap, _ in counted:
        walk = nodes > cap or arcs_read + len(arcs) > _PAGE_ARMS
        if not walk:
            arcs_read += len(arcs)
        plan.append((ring, arcs, walk))
    return tuple(plan)


def _bound_filter_values(filters: dict) -> dict:
    """The parameters of :func:`_bound_node_filters` for ``filters``."""
    return {'f_' + name: value for name, value in filters.items()}


def _bound_node_filters(query, names: tuple[str, ...]):
    """``query`` where each of ``names`` (of _BOUND_NODE_FILTERS) has the
    value bound to ``:f_<name>``."""
    node = models.Node
    for name in names:
        value = sa.bindparam('f_' + name)
        query = query.where(_of_project(value) if name == 'project'
                            else getattr(node, name) == value)
    return query


def _row_id_index(columns: tuple[str, ...]) -> int:
    """Where a ring page's plain rows of ``columns`` hold the node's id:
    after the columns when they have none."""
    return columns.index('id') if 'id' in columns else len(columns)


@functools.lru_cache(maxsize=256)
def _ring_page_select(plan: tuple, columns: tuple[str, ...],
                      descending: bool, with_marker: bool,
                      filter_names: tuple[str, ...], limit: int,
                      dialect: str) -> sa.Select:
    """:func:`_build_ring_page_select` with the filters ``filter_names``
    bound (``:f_<name>``), built once for each shape: building and keying
    a statement of 30-odd arcs costs more than running it."""
    return _build_ring_page_select(
        plan, columns, descending, with_marker, limit, dialect,
        functools.partial(_bound_node_filters, names=filter_names))


def _build_ring_page_select(plan: tuple, columns: tuple[str, ...] | None,
                            descending: bool, with_marker: bool, limit: int,
                            dialect: str, narrow) -> sa.Select:
    """The statement of a page of the rings of ``plan`` (see
    :func:`_ring_page`), the marker's id bound to :data:`_RING_PAGE_MARKER`,
    each read narrowed by ``narrow(select) -> select`` (the other
    filters). Plain rows of ``columns`` and the id (last if ``columns``
    have none), or ORM nodes for None.

    The ids of the page come from the arcs' ranges (the ring index, the
    marker checked there) and the walks (each in id order, to the page's
    size), sorted and cut to the page; then the page's rows by primary
    key. On SQLite, rings that are all walked are merged in id order with
    their rows at once, sorting nothing.
    """
    node = models.Node
    order = sa.desc if descending else sa.asc
    marker = sa.bindparam(_RING_PAGE_MARKER)

    def narrowed(query, arc: bool = False):
        query = narrow(query)
        if with_marker:
            # An arc's read checks the marker from the ring index: as
            # "id > :marker", PostgreSQL's planner, on a table without
            # statistics yet (a fresh load, before autovacuum's first
            # ANALYZE), read each arc through the primary key from the
            # marker on, the rest of the table for every arc (3.5 s for a
            # second page at 100 000 nodes / 32 conductors, against 28 ms
            # for the first). "id + 0" is no range of the primary key.
            key = node.id + sa.literal_column('0') if arc else node.id
            query = query.where(key < marker if descending
                                else key > marker)
        return query

    if columns is None:
        shown = [node]
    else:
        shown = list(_node_rows_select(columns).selected_columns)
        if 'id' not in columns:
            shown.append(node.id)
    walks = [narrowed(_ring_ordered_select(ring, arcs))
             for ring, arcs, walk in plan if walk]
    if columns is not None and len(walks) == len(plan) and (
            len(walks) == 1 or dialect in _MERGING_DIALECTS):
        # Walks only: each ring read in id order with its rows, merged by
        # id. On SQLite a list page's columns are in the ring-page index
        # (migration 0008): no row is read; other columns are read from
        # the table for the entries on the arcs only.
        walks = [walk.with_only_columns(*shown) for walk in walks]
        if len(walks) == 1:
            return walks[0].order_by(
                order(node.conductor_group), order(node.driver),
                order(node.id)).limit(limit)
        return (sa.union_all(*walks)
                .order_by(order(sa.literal_column('id'))).limit(limit))
    reads = [narrowed(arm, arc=True)
             for ring, arcs, walk in plan if not walk
             for arms in _arc_arms(ring, arcs, ()) for arm in arms]
    for walk in walks:
        # The order spelt as the index's: a server then reads the page in
        # index order rather than sorting the ring's nodes.
        walk = walk.order_by(order(node.conductor_group), order(node.driver),
                             order(node.id)).limit(limit).subquery()
        reads.append(sa.select(walk.c.id))
    found = (sa.union_all(*reads) if len(reads) > 1 else reads[0]).subquery(
        'found')
    # SQLite would read each arm in id order through the ring page index to
    # merge them (the whole ring, for an arm of a few nodes); "+ 0" has it
    # sort the few ids found instead.
    key = (found.c.id + sa.literal_column('0') if dialect == 'sqlite'
           else found.c.id)
    ids = sa.select(found.c.id).order_by(order(key)).limit(limit)
    if dialect == 'sqlite':
        # The sorted ids as a list SQLite reads the rows in order by.
        return (sa.select(*shown).where(node.id.in_(ids))
                .order_by(order(node.id)))
    if dialect == 'postgresql':
        # The ids as one array (an InitPlan): an index scan of the primary
        # key, in order. As a join, the planner may hash the page's ids
        # and read the whole table.
        return (sa.select(*shown)
                .where(node.id == sa.any_(sa.func.array(
                    ids.scalar_subquery())))
                .order_by(order(node.id)))
    # MariaDB takes no LIMIT in an IN subquery: a join, by primary key.
    page = ids.subquery('page')
    return sa.select(*shown).join_from(page, node, node.id == page.c.id)


def _share(arcs: tuple) -> float:
    """The fraction of the ring's positions on ``arcs``."""
    full = 16 ** 32
    return sum((int(high, 16) if high is not None else full)
               - (int(low, 16) if low is not None else 0)
               for low, high in arcs) / full


# Remembered: the arcs of a conductor stay the same until its rings change,
# and building the predicate of 30-odd arcs cost more than running it.

# Arms of one UNION ALL: SQLite allows 500 in a compound SELECT.
_ARMS_PER_STATEMENT = 100


@functools.lru_cache(maxsize=512)
def _arc_arms(ring: tuple[str, str], arcs: tuple,
              columns: tuple) -> list[list[sa.Select]]:
    """One SELECT of ``columns`` (the node's id if none) per arc of the
    ring, in lists of at most _ARMS_PER_STATEMENT, each list a UNION ALL.

    Each arm is a range of the index (conductor_group, driver,
    ring_position, provision_state) and reads only its arc's entries. One
    WHERE with an OR of the arcs read the same entries but deduplicated
    them first (SQLite's multi-index OR: 11 ms against 1.7 ms to count
    23 000 nodes), and gave PostgreSQL's planner, under a LIMIT, the
    choice of the ring-page index, which reads the whole ring when the
    arcs hold fewer nodes than the limit. MariaDB's planner, on a table of
    fresh statistics, sometimes prefers the ring-page index too: the hint
    keeps the read to the arc. (Remembered: the arcs of a conductor stay
    the same until its rings change, and building 30-odd arms costs more
    than running them.)
    """
    node = models.Node
    arms = [sa.select(*(columns or (node.id,)))
            .where(_arcs_predicate({ring: (arc,)}))
            .with_hint(node, 'FORCE INDEX (nodes_ring_idx)', 'mysql')
            .with_hint(node, 'FORCE INDEX (nodes_ring_idx)', 'mariadb')
            for arc in arcs]
    return [arms[start:start + _ARMS_PER_STATEMENT]
            for start in range(0, len(arms), _ARMS_PER_STATEMENT)]


def _arc_flips(arcs: tuple) -> tuple[list, list]:
    """``(bounds, values)`` of ``arcs``: the sorted bounds of the arcs,
    and whether a position is on the arcs, ``values[i]`` for the positions
    from ``bounds[i - 1]`` (included; any for 0) to ``bounds[i]``
    (excluded): ``values[bisect_right(bounds, position)]``."""
    # (bound, whether the positions from this bound on are on the arcs)
    flips = []
    for low, high in arcs:
        if low is not None:
            flips.append((low, True))
        if high is not None:
            flips.append((high, False))
    flips.sort()
    # Disjoint arcs, in any order, adjacent ones perhaps not merged (a
    # flip out and a flip in at one bound leave it in).
    first = any(low is None for low, _ in arcs)
    return [bound for bound, _ in flips], [first] + [on for _, on in flips]


@functools.lru_cache(maxsize=256)
def _on_arcs_of(rings: tuple) -> Callable[[str, str, str], bool]:
    """Whether a node of (conductor_group, driver, ring_position) is on
    the arcs of ``rings`` (``((ring, arcs), ...)``), in Python."""
    flips = {ring: _arc_flips(arcs) for ring, arcs in rings if arcs}

    def on_arcs(group: str, driver: str, position: str) -> bool:
        found = flips.get((group, driver))
        if found is None:
            return False
        bounds, values = found
        return values[bisect.bisect_right(bounds, position)]
    return on_arcs


def _on_arcs(arcs: tuple):
    """Whether a node's ring_position is on ``arcs``, as a search tree.

    A ring walked in id order checks the position of every entry it
    reads. An OR of the arcs compared it with each arc's bounds in turn,
    two dozen comparisons for a node on none of 17 arcs; this CASE
    bisects the arcs' bounds, about log2 of their number.
    """
    bounds, values = _arc_flips(arcs)
    column = models.Node.ring_position

    def tree(start: int, end: int):
        """The value of the positions from bounds[start - 1] (any, for
        0) to bounds[end]: values[start:end + 1]."""
        if all(values[start:end + 1]) or not any(values[start:end + 1]):
            return sa.true() if values[start] else sa.false()
        middle = (start + end + 1) // 2
        return sa.case((column < bounds[middle - 1],
                        tree(start, middle - 1)),
                       else_=tree(middle, end))

    # The CASE itself is the condition, without "= 1": PostgreSQL's
    # planner then guesses half the entries qualify, not one in 200, and
    # walks the ring-page index in order rather than reading the whole
    # ring and sorting it.
    return tree(0, len(bounds))


@functools.lru_cache(maxsize=256)
def _ring_ordered_select(ring: tuple[str, str], arcs: tuple) -> sa.Select:
    """SELECT of the ids of one ring's nodes on ``arcs``, read in id
    order (the caller adds it)."""
    return (sa.select(models.Node.id)
            .where(models.Node.conductor_group == ring[0],
                   models.Node.driver == ring[1],
                   _on_arcs(arcs))
            .with_hint(models.Node, 'FORCE INDEX (nodes_ring_page_idx)',
                       'mysql')
            .with_hint(models.Node, 'FORCE INDEX (nodes_ring_page_idx)',
                       'mariadb'))


def _arc_count_selects(ring_arcs: RingArcs, by_state: bool,
                       dialect: str = '') -> list[sa.Select]:
    """Statements counting the nodes on ``ring_arcs``, per provision state
    when ``by_state``: their rows summed are the count. One range count
    per arc (see _arc_arms), from the index alone: counting per state
    through the arcs in one WHERE read every node's row."""
    return _arc_count_selects_of(
        _arcs_key(ring_arcs), by_state,
        by_state and dialect in _GROUP_ONCE_DIALECTS)


def _arcs_key(ring_arcs: RingArcs) -> tuple:
    """``ring_arcs`` as a key: the same arcs, the same key."""
    return tuple(sorted((ring, tuple(arcs))
                        for ring, arcs in ring_arcs.items()))


# Where a SQLite connection keeps the counts per state it made, in its
# pool record's info: (the driver's connection, {arcs key: (database
# version, counts)}); at most _MOST_KEPT_COUNTS of them (sets of arcs:
# conductors, rings).
_KEPT_COUNTS = 'ironic_lite.counts_by_state'
_MOST_KEPT_COUNTS = 64


def _sqlite_version(driver: sqlite3.Connection) -> tuple[int, int]:
    """What changes whenever the SQLite database the driver's connection
    reads may have changed.

    ``PRAGMA data_version`` changes with every commit of another
    connection, another process's included; the connection's own changes
    are counted by its ``total_changes``. Read within the transaction, the
    pair names the snapshot the transaction reads. (Sent to the driver
    directly: nothing to compile, and no statement for the
    statement-capturing tests to explain.)"""
    (data_version,) = driver.execute('PRAGMA data_version').fetchone()
    return data_version, driver.total_changes


def _postgresql_snapshot(driver) -> str:
    """What changes whenever a PostgreSQL database may have changed: the
    server's current snapshot (``xmin:xmax:in-progress ids``;
    ``txid_current_snapshot``, which every version has, rather than the
    newer name ``pg_current_snapshot``).

    Any transaction of the server that ends (a commit, an abort) moves
    ``xmax`` or leaves the in-progress list, and a snapshot never comes
    back: two equal snapshots see the same rows. Taken before what it
    keys, in a statement of its own (sent to the driver directly, as
    :func:`_sqlite_version`): counts read later in the same transaction
    may see a later snapshot, but then this one never comes again and the
    counts are never given for it."""
    with driver.cursor() as cursor:
        cursor.execute('SELECT txid_current_snapshot()::text')
        (snapshot,) = cursor.fetchone()
    return snapshot


# Where the counts per state group the arcs' entries once, over all of
# them, rather than arc by arc: PostgreSQL. Asked to group each arc's
# range, its planner, on a table without statistics yet (a fresh load,
# before autovacuum's first ANALYZE), read each arc in state order through
# nodes_provision_state_idx, checking every node of the table for each arc
# (200 ms at 10 000 nodes instead of 2). Without an order to give, that
# index is no way to read an arc: only the ring index is. SQLite, on the
# other hand, groups a few dozen entries per arc faster than all of them
# at once.
_GROUP_ONCE_DIALECTS = frozenset({'postgresql'})


@functools.lru_cache(maxsize=256)
def _arc_count_selects_of(key: tuple, by_state: bool,
                          group_once: bool) -> list[sa.Select]:
    node = models.Node
    count = sa.func.count().label('nodes')
    if group_once:
        columns = (node.provision_state,)
    elif by_state:
        columns = (node.provision_state, count)
    else:
        columns = (count,)
    arms = []
    for ring, arcs in key:
        for chunk in _arc_arms(ring, arcs, columns):
            arms += [arm.group_by(node.provision_state)
                     if by_state and not group_once else arm
                     for arm in chunk]
    statements = []
    for start in range(0, len(arms), _ARMS_PER_STATEMENT):
        chunk = arms[start:start + _ARMS_PER_STATEMENT]
        counts = (sa.union_all(*chunk) if len(chunk) > 1
                  else chunk[0]).subquery()
        if group_once:
            statements.append(
                sa.select(counts.c.provision_state, sa.func.count())
                .group_by(counts.c.provision_state))
        elif by_state:
            statements.append(
                sa.select(counts.c.provision_state,
                          sa.func.sum(counts.c.nodes))
                .group_by(counts.c.provision_state))
        else:
            statements.append(sa.select(sa.func.sum(counts.c.nodes)))
    return statements


def _ring_keys_predicate(ring_keys: Iterable[tuple[str, str]]):
    """Nodes whose (conductor_group, driver) is one of ``ring_keys``; none
    for no key. One term per ring, whatever the number of nodes."""
    node = models.Node
    terms = [sa.and_(node.conductor_group == group, node.driver == driver)
             for group, driver in sorted(ring_keys)]
    return sa.or_(*terms) if terms else sa.false()


def _node_filters(query, filters: dict):
    node = models.Node
    for name in ('provision_state', 'driver', 'resource_class', 'fault',
                 'conductor_group', 'instance_uuid', 'uuid', 'name'):
        if filters.get(name) is not None:
            query = query.where(getattr(node, name) == filters[name])
    if filters.get('maintenance') is not None:
        query = query.where(node.maintenance == filters['maintenance'])
    if filters.get('associated') is not None:
        query = query.where(node.instance_uuid.is_not(None)
                            if filters['associated']
                            else node.instance_uuid.is_(None))
    if filters.get('reservation_in') is not None:
        query = query.where(node.reservation.in_(
            list(filters['reservation_in'])))
    if filters.get('reserved') is not None:
        query = query.where(node.reservation.is_not(None)
                            if filters['reserved']
                            else node.reservation.is_(None))
    if filters.get('conductor_affinity_not') is not None:
        query = query.where(sa.or_(
            node.conductor_affinity.is_(None),
            node.conductor_affinity != filters['conductor_affinity_not']))
    if filters.get('ring_arcs') is not None:
        query = query.where(_arcs_predicate(filters['ring_arcs']))
    if filters.get('ring_keys_in') is not None:
        query = query.where(_ring_keys_predicate(filters['ring_keys_in']))
    if filters.get('ring_keys_not_in') is not None:
        query = query.where(sa.not_(_ring_keys_predicate(
            filters['ring_keys_not_in'])))
    if filters.get('project') is not None:
        query = query.where(_of_project(filters['project']))
    return query


def _of_project(project: str):
    """Nodes the project owns or leases."""
    return sa.or_(models.Node.owner == project,
                  models.Node.lessee == project)


def _conductor_filters(query, filters: dict):
    conductor = models.Conductor
    if filters.get('conductor_group') is not None:
        query = query.where(conductor.conductor_group
                            == filters['conductor_group'])
    if filters.get('driver') is not None:
        # drivers is a JSON list stored as text: match the name's JSON
        # spelling, quotes included, so that "ipmi" does not match
        # "ipmi-x".
        query = query.where(
            sa.type_coerce(conductor.drivers, sa.Text).contains(
                json.dumps(filters['driver']), autoescape=True))
    if filters.get('alive') is not None:
        alive, cutoff = filters['alive']
        is_alive = sa.and_(conductor.online.is_(True),
                           conductor.updated_at.is_not(None),
                           conductor.updated_at >= cutoff)
        query = query.where(is_alive if alive else sa.not_(is_alive))
    return query


def _translate_node_duplicate(error: db_exc.DBDuplicateEntry, values: dict):
    columns = set(error.columns or ())
    if 'name' in columns or 'uniq_nodes0name' in columns:
        return exception.DuplicateName(name=values.get('name'))
    if 'instance_uuid' in columns or 'uniq_nodes0instance_uuid' in columns:
        return exception.InstanceAssociated(
            instance_uuid=values.get('instance_uuid'),
            node=values.get('uuid'))
    return exception.NodeAlreadyExists(uuid=values.get('uuid'))


def _port_query():
    return (sa.select(models.Port, models.Node.uuid, models.Node.owner,
                      models.Node.lessee)
            .join(models.Node, models.Node.id == models.Port.node_id))


def _translate_port_duplicate(error: db_exc.DBDuplicateEntry, values: dict):
    columns = set(error.columns or ())
    if 'address' in columns or 'uniq_ports0address' in columns:
        return exception.MACAlreadyExists(mac=values.get('address'))
    return exception.PortAlreadyExists(uuid=values.get('uuid'))


def _keep_sqlite_connections(engine: sa.engine.Engine) -> None:
    """Give a SQLite database file SQLAlchemy's own pool back.

    oslo.db opens a new SQLite connection for every transaction (NullPool):
    a connection, its PRAGMAs and its close cost more than a small request
    itself. SQLAlchemy keeps file connections in a QueuePool, usable from
    any thread.
    """
    old = engine.pool
    if engine.dialect.name != 'sqlite' or not isinstance(
            old, sa.pool.NullPool) or engine.url.database in (None, '',
                                                               ':memory:'):
        return
    engine.pool = sa.pool.QueuePool(
        old._creator, pool_size=5, max_overflow=20, timeout=30,
        recycle=old._recycle, echo=old.echo,
        logging_name=old._orig_logging_name,
        reset_on_return=old._reset_on_return, _dispatch=old.dispatch,
        dialect=old._dialect)
    old.dispose()


# Set while this thread is in a writer transaction (see _emit_begin).
_WRITING = threading.local()


def _emit_begin(connection: sa.engine.Connection) -> None:
    """BEGIN a SQLite transaction, IMMEDIATE for a writer.

    A writer takes SQLite's write lock when it begins, so another process
    writing meanwhile makes it wait (``busy_timeout``) rather than fail with
    a busy snapshot when its first write comes after a read, which no wait
    cures and only a whole new transaction (after a retry's sleep) does.
    Sent as driver SQL: no statement to compile for every transaction.
    """
    if 'in_transaction' not in connection.info:
        connection.exec_driver_sql(
            'BEGIN IMMEDIATE' if getattr(_WRITING, 'on', False) else 'BEGIN')
        connection.info['in_transaction'] = True


def _begin_sqlite_as_we_say(engine: sa.engine.Engine) -> None:
    """Swap oslo.db's SQLite BEGIN for :func:`_emit_begin`.

    oslo.db turns pysqlite's own BEGIN off and emits a deferred one itself,
    as a ``text()`` statement compiled and run for every transaction (a
    tenth of a millisecond: much of a small request's transaction). Its
    COMMIT/ROLLBACK listener, which ends ``in_transaction``, stays. If
    oslo.db no longer has that listener, its own BEGIN is kept.
    """
    if engine.dialect.name != 'sqlite':
        return
    for listener in list(engine.dispatch.begin):
        if getattr(listener, '__name__', None) == '_sqlite_emit_begin':
            sa.event.remove(engine, 'begin', listener)
            sa.event.listen(engine, 'begin', _emit_begin)
            return


_T = typing.TypeVar('_T')

# Set while this thread takes a connection from the pool for a read that
# retries itself when the connection turns out lost (Connection._read).
_UNPINGED = threading.local()


def _ping_unless_unpinged(engine: sa.engine.Engine) -> None:
    """oslo.db's pre-ping of pooled connections (a ``SELECT 1``: a round
    trip before every transaction), except for the reads that retry
    instead (:data:`_UNPINGED`).

    The same ping SQLAlchemy's ``pool_pre_ping`` sends, as a checkout
    listener: a lost connection, and every pooled one older than it, is
    replaced before it is handed out.
    """
    pool = engine.pool
    if not pool._pre_ping:
        return
    dialect = engine.dialect

    def ping(dbapi_connection, connection_record, connection_proxy):
        if getattr(_UNPINGED, 'on', False):
            return
        if not dialect._do_ping_w_event(dbapi_connection):
            raise sa.exc.InvalidatePoolError()
    sa.event.listen(pool, 'checkout', ping)
    pool._pre_ping = False


def _empty_document(kind: models.JSONEncoded) -> sa.ColumnElement:
    """The text of ``kind``'s empty document, as a literal of the
    statement: not a value bound on every execution (ten of them in a
    node's row, sent with each read of a prepared statement too)."""
    text = kind.process_bind_param(kind._empty(), None)
    if not re.fullmatch(r'[\[\]{}]*', text):
        raise ValueError('not an empty document: %r' % text)
    return sa.literal_column("'%s'" % text, sa.Text)


@functools.lru_cache(maxsize=256)
def _node_rows_select(columns: tuple[str, ...]) -> sa.Select:
    """SELECT of node ``columns``, the JSON documents as text (an unset one
    as its empty document's). Built once for each set of columns (a show
    builds one per request otherwise)."""
    table = models.Node.__table__

    def column(name):
        kind = table.c[name].type
        if not isinstance(kind, models.JSONEncoded):
            return table.c[name]
        return sa.func.coalesce(
            sa.type_coerce(table.c[name], sa.Text),
            _empty_document(kind)).label(name)
    return sa.select(*(column(name) for name in columns))


# The filters a page of plain rows can take as bound values of a statement
# built once (see _node_rows_page).
_BOUND_NODE_FILTERS = frozenset({
    'provision_state', 'driver', 'resource_class', 'fault',
    'conductor_group', 'instance_uuid', 'uuid', 'name', 'maintenance',
    'project'})


@functools.lru_cache(maxsize=512)
def _node_rows_page(columns: tuple[str, ...], filters: tuple[str, ...],
                    limit: int | None, sort_key: str, sort_dir: str,
                    after: str | None = None) -> sa.Select:
    """A page of :func:`_node_rows_select` of ``columns`` where each of
    ``filters`` (names of _BOUND_NODE_FILTERS) has the value bound to it
    (``:f_<name>``). Built and keyed by SQLAlchemy once for each shape:
    for a single node, most of the time of its read otherwise.

    ``after``: the page follows a marker node, whose id is ``:m_id`` and
    whose ``sort_key`` is ``:m_value`` (``'value'``) or NULL
    (``'null'``); None for the first page.
    """
    node = models.Node
    query = _bound_node_filters(_node_rows_select(columns), filters)
    marker = None
    if after is not None:
        # What _paginate reads of a marker, as parameters.
        marker = types.SimpleNamespace(id=sa.bindparam('m_id'))
        if sort_key != 'id':
            setattr(marker, sort_key, None if after == 'null' else
                    sa.bindparam('m_value',
                                 type_=node.__table__.c[sort_key].type))
    return _paginate(query, node, limit, sort_key, sort_dir, marker)


@functools.lru_cache(maxsize=3)
def _node_by(by: str) -> sa.Select:
    """SELECT of the node whose unique ``by`` (id, uuid or name) is the
    parameter ``ident_``."""
    return sa.select(models.Node).where(
        getattr(models.Node, by) == sa.bindparam('ident_'))


# The statements of a node's lock and last write, built once: building one
# (coercing every clause) costs more than running it on SQLite.

@functools.lru_cache(maxsize=8)
def _reserve_statement(by_id: bool, taking_over: bool,
                       returning: bool) -> sa.Update:
    """UPDATE taking the lock of node ``ident_`` (an id or a UUID) for
    ``tag_``, from ``holder_`` when ``taking_over``; ``returning``: the
    node's every column as it now is."""
    table = models.Node.__table__
    ident = sa.bindparam('ident_')
    which = (table.c.id == ident) if by_id else (table.c.uuid == ident)
    # "Not locked" spelt so that no index can serve it: PostgreSQL, on a
    # table without statistics yet (a fresh load, before autovacuum's first
    # ANALYZE), found "reservation IS NULL" as cheap as the UUID's unique
    # index and read every node through nodes_reservation_idx (17-34 ms a
    # lock at 100 000 nodes, instead of 0.1). No lock holder is ''.
    holder = (table.c.reservation == sa.bindparam('holder_') if taking_over
              else sa.func.coalesce(table.c.reservation, '') == '')
    statement = (table.update().where(which).where(holder)
                 .values(reservation=sa.bindparam('tag_')))
    return statement.returning(*table.c) if returning else statement


@functools.lru_cache(maxsize=256)
def _update_and_release_statement(columns: tuple[str, ...],
                                  returning: bool) -> sa.Update:
    """UPDATE of node ``columns`` (parameters ``v_<column>``), and of the
    lock: NULL where ``tag_`` holds it; the node is ``node_id_``.
    ``returning``: the node's every column as stored."""
    table = models.Node.__table__
    statement = (
        table.update().where(table.c.id == sa.bindparam('node_id_'))
        .values({name: sa.bindparam('v_' + name, type_=table.c[name].type)
                 for name in columns})
        .values(reservation=sa.case(
            (table.c.reservation == sa.bindparam('tag_'), sa.null()),
            else_=table.c.reservation)))
    return statement.returning(*table.c) if returning else statement


@functools.lru_cache(maxsize=4)
def _node_whole_by(by: str) -> sa.Select:
    """SELECT of every column of the node whose ``by`` (id, uuid or
    name) is the parameter ``ident_``."""
    table = models.Node.__table__
    return sa.select(table).where(table.c[by] == sa.bindparam('ident_'))


_RELEASE = models.Node.__table__.update().where(
    models.Node.__table__.c.id == sa.bindparam('node_id_')).where(
    models.Node.__table__.c.reservation == sa.bindparam('tag_')).values(
    reservation=None)


@functools.lru_cache(maxsize=2)
def _served_by_inputs(unrecorded_only: bool) -> sa.Select:
    """What a conductor's pass reads of the nodes (see
    :meth:`Connection.get_served_by_inputs`), in id order."""
    node = models.Node
    query = (sa.select(node.id, node.conductor_group, node.driver,
                       node.ring_position, node.served_by)
             .where(node.id > sa.bindparam('after_')))
    if unrecorded_only:
        query = query.where(node.served_by.is_(None)).order_by(
            node.served_by, node.id)
    else:
        query = query.order_by(node.id)
    return query.limit(sa.bindparam('limit_'))


def _served_by_kept(values: dict) -> dict:
    """``values`` of a node's write, and its served_by forgotten (NULL)
    when they change what ring the node is on: it was the conductor of the
    node's old ring."""
    if 'driver' in values or 'conductor_group' in values:
        return {**values, 'served_by': None}
    return values


_SERVED_BY_FINGERPRINT = sa.select(
    models.ServedByRecord.fingerprint).where(models.ServedByRecord.id == 1)
# Written where the node is still of the ring it was worked out for. Its
# updated_at stays: the node did not change.
_SERVED_BY_UPDATE = (
    models.Node.__table__.update()
    .where(models.Node.__table__.c.id.in_(
               sa.bindparam('n_ids', expanding=True)),
           models.Node.__table__.c.conductor_group == sa.bindparam('n_group'),
           models.Node.__table__.c.driver == sa.bindparam('n_driver'))
    .values(served_by=sa.bindparam('n_host'),
            updated_at=models.Node.__table__.c.updated_at))
# The most node ids in one statement of _SERVED_BY_UPDATE.
_SERVED_BY_IDS = 500

_NODE_INSERT = models.Node.__table__.insert()
_NODE_INSERT_RETURNING = _NODE_INSERT.returning(*models.Node.__table__.c)


def _node_of(row) -> models.Node:
    """A detached node made of a row of every column of ``nodes``, as a
    session loads one and lets it go (the constructor's attribute events
    would cost a third of a lock's statement)."""
    mapper = sa.inspect(models.Node)
    if not mapper.configured:
        orm.configure_mappers()
    node = mapper.class_manager.new_instance()
    orm.attributes.instance_dict(node).update(row._mapping)
    orm.make_transient_to_detached(node)
    return node


@functools.lru_cache(maxsize=256)
def _node_row_by(by: str, columns: tuple[str, ...]) -> sa.Select:
    """SELECT of the node whose unique ``by`` (uuid or name) is the
    parameter ``ident``. Built once per process for each shape: neither
    the statement nor its cache key is worked out again per request."""
    return _node_rows_select(columns).where(
        models.Node.__table__.c[by] == sa.bindparam('ident'))


def _conductor_select(plain: bool) -> sa.Select:
    return sa.select(models.Conductor.__table__ if plain
                     else models.Conductor)


@functools.lru_cache(maxsize=64)
def _conductor_page(limit: int | None, sort_key: str, sort_dir: str,
                    plain: bool) -> sa.Select:
    """A page of conductors with no filter and no marker (the list most
    asked for), built once per shape."""
    return _paginate(_conductor_select(plain), models.Conductor, limit,
                     sort_key, sort_dir, None)


_CONDUCTOR_BY_HOSTNAME = {
    plain: _conductor_select(plain).where(
        models.Conductor.hostname == sa.bindparam('hostname'))
    for plain in (False, True)}


# What oslo.db's SQLite "begin" listener marks a connection in a
# transaction with (see Connection._one_select).
_SQLITE_BEGUN = 'in_transaction'


class Connection:
    """Database access for conductors, nodes and ports."""

    def __init__(self, connection: str | None = None):
        url = connection or CONF.database.connection
        self._facade = enginefacade.transaction_context()
        self._facade.configure(
            connection=url,
            sqlite_fk=True,
            # A sleep(0) after each transaction, for eventlet; here it
            # only gives the CPU away.
            thread_checkin=False,
            max_retries=CONF.database.max_retries,
            retry_interval=CONF.database.retry_interval)
        self._prepare = CONF.database.prepared_statements
        self._pool_checked = False
        self._pool_lock = threading.Lock()
        self._local = threading.local()
        # How a ?conductor= page reads each ring of this database (through
        # its arcs, or a walk): see _ring_page_plan.
        self._walk_memo: dict = {}
        # Fingerprints of rings found not recorded (see get_node_list), and
        # until when their pages go straight to the arcs.
        self._not_recorded: dict[str, float] = {}
        # PostgreSQL: the counts per state on arcs, as _count_on_arcs_by_state
        # made them: {arcs key: (snapshot, counts)}.
        self._kept_counts: dict[tuple, tuple] = {}
        # SQLite lets one writer at a time, and a transaction that read
        # before writing fails at once ("database is locked") when another
        # one wrote meanwhile. Writers of this process take turns instead.
        self._write_turn = (threading.RLock() if url.startswith('sqlite')
                            else contextlib.nullcontext())

    @property
    def engine(self) -> sa.engine.Engine:
        self._pooled()
        return self._facade.writer.get_engine()

    def _pooled(self) -> None:
        if self._pool_checked:
            return
        with self._pool_lock:
            if self._pool_checked:
                return
            writer = self._facade.writer.get_engine()
            _keep_sqlite_connections(writer)
            _begin_sqlite_as_we_say(writer)
            for engine in {writer, self._facade.reader.get_engine()}:
                _ping_unless_unpinged(engine)
            self._pool_checked = True

    def _reader(self):
        self._pooled()
        return self._facade.reader.using(self._local)

    def _read(self, read: Callable[[sa.Connection], _T]) -> _T:
        """``read(connection)`` of a read of one statement, on a
        connection of its own with nothing around the statement (see
        :meth:`_one_select`).

        The connection is not pinged when taken from the pool: a read that
        finds it lost (the database restarted, a proxy closed it) reads
        once more instead, on a connection that is. SQLAlchemy has by then
        dropped every pooled connection as old as the lost one.

        Never part of a transaction of this thread's: it reads what is
        committed.
        """
        try:
            with self._one_select(ping=False) as connection:
                return read(connection)
        except db_exc.DBConnectionError:
            with self._one_select(ping=True) as connection:
                return read(connection)

    def _rows(self, statement, parameters: Mapping | None = None) -> list:
        """Every row of one SELECT, as :meth:`_read` reads it."""
        return self._read(lambda connection: connection.execute(
            statement, parameters).all())

    def _few_rows(self, statement, parameters: Mapping | None = None
                  ) -> list:
        """:meth:`_rows` of a statement of a few rows (a node, the
        conductors), read on the driver's cursor where it can be
        (:mod:`lean`: a quarter to a half of the cost). For statements
        built once, not per request: each is compiled once for it."""
        self._pooled()
        found = lean.rows(self._facade.reader.get_engine(), statement,
                          parameters, _UNPINGED, self._prepare)
        if found is None:
            found = self._rows(statement, parameters)
        return found

    def _object(self, statement, parameters: Mapping):
        """The first ORM object of one SELECT (None if none), as
        :meth:`_read` reads it, by an ORM session of its own on that
        connection."""
        def read(connection):
            # The session joins the connection's transaction and leaves
            # its end to the connection: one ROLLBACK on MySQL, not two.
            connection.begin()
            with orm.Session(bind=connection) as session:
                return session.scalars(statement, parameters).first()
        return self._read(read)

    @contextlib.contextmanager
    def _one_select(self, ping: bool):
        """A Core connection for a single SELECT, sent alone: an ORM
        session costs as much again as the query, for nothing a plain row
        needs, and one statement reads consistently without a transaction
        around it, on every database.

        On SQLite, oslo.db opens every transaction with its own BEGIN (it
        turns pysqlite's off): left out, by setting the marker oslo.db
        checks, only around this one statement. On PostgreSQL the driver
        sends a BEGIN before the statement and SQLAlchemy a ROLLBACK after
        it (two round trips and two statements for the server): the
        driver's autocommit, on only around this statement, sends neither.
        (Turning MySQL's autocommit on and off would cost a round trip
        each: there the ROLLBACK stays.)

        ``ping``: whether the pool pings the connection first, as oslo.db
        has it do for every other use (see :func:`_ping_unless_unpinged`).
        """
        self._pooled()
        _UNPINGED.on = not ping
        try:
            connection = self._facade.reader.get_engine().connect()
        finally:
            _UNPINGED.on = False
        with connection:
            dialect = connection.dialect.name
            if dialect == 'sqlite':
                skip_begin = _SQLITE_BEGUN not in connection.info
                if skip_begin:
                    connection.info[_SQLITE_BEGUN] = True
                try:
                    yield connection
                finally:
                    if skip_begin:
                        connection.info.pop(_SQLITE_BEGUN, None)
            elif dialect == 'postgresql':
                driver = connection.connection.dbapi_connection
                driver.autocommit = True
                try:
                    yield connection
                finally:
                    if not driver.closed:
                        driver.autocommit = False
            else:
                yield connection

    @contextlib.contextmanager
    def _writer(self):
        self._pooled()
        with self._write_turn:
            writing, _WRITING.on = getattr(_WRITING, 'on', False), True
            try:
                with self._facade.writer.using(self._local) as session:
                    yield session
            finally:
                _WRITING.on = writing

    @contextlib.contextmanager
    def _one_write(self):
        """A Core connection for one writing statement (and, where the
        database cannot return what it wrote, a SELECT after it), in this
        process's turn to write.

        On SQLite no BEGIN and no COMMIT: a lone statement is a transaction
        of its own, committed when it ends, and it takes the write lock as
        BEGIN IMMEDIATE would (nothing read before). Elsewhere the
        connection's transaction is committed on leaving.
        """
        self._pooled()
        with self._write_turn, \
                self._facade.writer.get_engine().connect() as connection:
            if connection.dialect.name != 'sqlite':
                with connection.begin():
                    yield connection
                return
            connection.info[_SQLITE_BEGUN] = True
            try:
                yield connection
            finally:
                connection.info.pop(_SQLITE_BEGUN, None)

    def dispose(self) -> None:
        self._facade.dispose_pool()

    # Conductors

    @_retry_on_deadlock_or_duplicate
    def register_conductor(
            self, hostname: str, conductor_group: str, drivers: list[str],
            take_over_if_older_than: datetime.datetime,
            take_over_if_beat_at: Iterable[datetime.datetime] = (),
            at: datetime.datetime | None = None,
            version: str | None = None) -> models.Conductor:
        """Insert or revive the row of a starting conductor.

        An existing row is taken over when it is offline, its heartbeat is
        older than ``take_over_if_older_than``, or its heartbeat is one of
        ``take_over_if_beat_at`` (heartbeats of a process known to be dead);
        otherwise another process holds the name and
        :class:`ConductorAlreadyRegistered` is raised.

        Records a ``join`` event (new row, or one offline), or ``rejoin``
        (the row was still online: its process died without leaving).

        :param at: the heartbeat to record (default: now).
        :param version: the release the conductor runs.
        """
        now = at or timeutils.utcnow()
        values = {'conductor_group': conductor_group, 'drivers': drivers,
                  'online': True, 'updated_at': now, 'version': version,
                  'heartbeat_missed': False}
        table = models.Conductor
        free = [table.online.is_(False), table.updated_at.is_(None),
                table.updated_at < take_over_if_older_than]
        dead_beats = list(take_over_if_beat_at)
        if dead_beats:
            free.append(table.updated_at.in_(dead_beats))
        with self._writer() as session:
            before = session.execute(
                sa.select(table.online, table.updated_at)
                .where(table.hostname == hostname)).first()
            revived = session.execute(
                sa.update(table)
                .where(table.hostname == hostname)
                .where(sa.or_(*free))
                .values(**values)).rowcount
            if not revived:
                before = None
                exists = session.scalar(
                    sa.select(table.id).where(table.hostname == hostname))
                if exists is not None:
                    raise exception.ConductorAlreadyRegistered(
                        conductor=hostname)
                row = table(hostname=hostname, created_at=now, **values)
                session.add(row)
                try:
                    session.flush()
                except db_exc.DBDuplicateEntry:
                    raise exception.ConductorAlreadyRegistered(
                        conductor=hostname)
            kind = (conductor_events.REJOIN
                    if before is not None and before.online
                    else conductor_events.JOIN)
            _record_event(session, kind, hostname, conductor_group,
                          hostname, before and before.updated_at)
            return session.scalars(
                sa.select(table).where(table.hostname == hostname)).one()

    @_retry_on_deadlock
    def register_conductor_hardware_interfaces(
            self, conductor_id: int, interfaces: Iterable[dict]) -> None:
        """Replace the hardware interfaces a conductor enables.

        Each item has hardware_type, interface_type, interface_name and
        default.
        """
        table = models.ConductorHardwareInterface
        with self._writer() as session:
            session.execute(sa.delete(table)
                            .where(table.conductor_id == conductor_id))
            session.add_all(table(conductor_id=conductor_id, **item)
                            for item in interfaces)

    @_retry_on_deadlock_or_duplicate
    def touch_conductor(self, hostname: str,
                        at: datetime.datetime | None = None) -> bool:
        """Record a heartbeat, at ``at`` (default: now); whether it
        recorded a ``rejoin`` (a missed heartbeat had been recorded)."""
        table = models.Conductor
        values = {'updated_at': at or timeutils.utcnow(), 'online': True}
        with self._writer() as session:
            row = session.execute(
                sa.select(table.conductor_group, table.heartbeat_missed,
                          table.updated_at)
                .where(table.hostname == hostname)).first()
            if row is None:
                raise exception.ConductorNotFound(conductor=hostname)
            if row.heartbeat_missed and session.execute(
                    sa.update(table).where(table.hostname == hostname)
                    .where(table.heartbeat_missed.is_(True))
                    .values(heartbeat_missed=False, **values)).rowcount:
                _record_event(session, conductor_events.REJOIN, hostname,
                              row.conductor_group, hostname, row.updated_at)
                return True
            count = session.execute(
                sa.update(table).where(table.hostname == hostname)
                .values(**values)).rowcount
        if not count:
            raise exception.ConductorNotFound(conductor=hostname)
        return False

    @_retry_on_deadlock_or_duplicate
    def unregister_conductor(self, hostname: str) -> None:
        """Mark a conductor offline, recording its ``leave`` (once); its
        row stays for the operators."""
        table = models.Conductor
        with self._writer() as session:
            row = session.execute(
                sa.select(table.id, table.conductor_group, table.updated_at)
                .where(table.hostname == hostname)).first()
            if row is None:
                raise exception.ConductorNotFound(conductor=hostname)
            session.execute(
                sa.delete(models.ConductorHardwareInterface)
                .where(models.ConductorHardwareInterface.conductor_id
                       == row.id))
            if session.execute(
                    sa.update(table).where(table.id == row.id)
                    .where(table.online.is_(True))
                    .values(online=False, heartbeat_missed=False)).rowcount:
                _record_event(session, conductor_events.LEAVE, hostname,
                              row.conductor_group, hostname, row.updated_at)

    def record_missed_heartbeats(self, heartbeat_before: datetime.datetime,
                                 recorded_by: str) -> list[str]:
        """Record a ``missed_heartbeat`` for each online conductor silent
        since ``heartbeat_before`` whose missed heartbeat nobody recorded
        yet; the hostnames this call recorded.

        Each is a conditional write of the conductor's row
        (``heartbeat_missed`` false to true): of several conductors
        noticing the same silence at once, exactly one records it.
        """
        table = models.Conductor
        with self._reader() as session:
            silent = list(session.scalars(
                sa.select(table.hostname)
                .where(table.online.is_(True))
                .where(table.heartbeat_missed.is_(False))
                .where(table.hostname != recorded_by)
                .where(sa.or_(table.updated_at.is_(None),
                              table.updated_at < heartbeat_before))
                .order_by(table.hostname)))
        return [hostname for hostname in silent
                if self._record_missed_heartbeat(hostname, heartbeat_before,
                                                 recorded_by)]

    @_retry_on_deadlock_or_duplicate
    def _record_missed_heartbeat(self, hostname: str,
                                 heartbeat_before: datetime.datetime,
                                 recorded_by: str) -> bool:
        table = models.Conductor
        with self._writer() as session:
            row = session.execute(
                sa.select(table.conductor_group, table.updated_at)
                .where(table.hostname == hostname)).first()
            if row is None:
                return False
            # The condition is checked again by the database, under the
            # row's lock: a concurrent recorder or heartbeat wins or loses
            # as a whole.
            changed = session.execute(
                sa.update(table).where(table.hostname == hostname)
                .where(table.online.is_(True))
                .where(table.heartbeat_missed.is_(False))
                .where(sa.or_(table.updated_at.is_(None),
                              table.updated_at < heartbeat_before))
                # Not a heartbeat: updated_at keeps the silent one's.
                .values(heartbeat_missed=True, updated_at=table.updated_at)
                .execution_options(synchronize_session=False)).rowcount
            if changed:
                _record_event(session, conductor_events.MISSED_HEARTBEAT,
                              hostname, row.conductor_group, recorded_by,
                              row.updated_at)
            return bool(changed)

    def set_conductor_pxe_health(self, hostname: str, health: dict) -> None:
        """Store the result of a conductor's PXE probe."""
        table = models.Conductor
        with self._writer() as session:
            count = session.execute(
                sa.update(table).where(table.hostname == hostname)
                # Not a heartbeat: updated_at keeps its meaning.
                .values(pxe_health=health, updated_at=table.updated_at)
            ).rowcount
        if not count:
            raise exception.ConductorNotFound(conductor=hostname)

    # Conductor events

    def get_conductor_event(self, event_id: int) -> models.ConductorEvent:
        with self._reader() as session:
            row = session.get(models.ConductorEvent, event_id)
        if row is None:
            raise exception.ConductorEventNotFound(event=event_id)
        return row

    def get_conductor_events(self, limit: int | None = None,
                             marker: models.ConductorEvent | None = None,
                             sort_key: str = 'id', sort_dir: str = 'asc',
                             filters: dict | None = None
                             ) -> list[models.ConductorEvent]:
        """Membership events, one page; ``filters`` may hold hostname
        and kind."""
        event = models.ConductorEvent
        query = sa.select(event)
        for name in ('hostname', 'kind'):
            value = (filters or {}).get(name)
            if value is not None:
                query = query.where(getattr(event, name) == value)
        query = _paginate(query, event, limit, sort_key, sort_dir, marker)
        with self._reader() as session:
            return list(session.scalars(query))

    def get_conductor_event_totals(self) -> dict[str, int]:
        """How many events of each kind were ever recorded."""
        totals = models.ConductorEventTotal
        with self._reader() as session:
            return {kind: int(total) for kind, total in session.execute(
                sa.select(totals.kind, totals.total))}

    @_retry_on_deadlock
    def prune_conductor_events(self, older_than: datetime.datetime | None,
                               keep: int | None) -> int:
        """Delete the events created before ``older_than`` and all but
        the newest ``keep``; how many went."""
        event = models.ConductorEvent
        deleted = 0
        with self._writer() as session:
            if older_than is not None:
                deleted += session.execute(
                    sa.delete(event).where(event.created_at < older_than)
                    .execution_options(synchronize_session=False)).rowcount
            if keep is not None:
                oldest_kept = session.scalar(
                    sa.select(event.id).order_by(event.id.desc())
                    .offset(keep).limit(1))
                if oldest_kept is not None:
                    deleted += session.execute(
                        sa.delete(event).where(event.id <= oldest_kept)
                        .execution_options(synchronize_session=False)
                    ).rowcount
        return deleted

    def get_conductor(self, hostname: str, plain: bool = False):
        """The conductor ``hostname``; with ``plain``, a read-only row as
        :meth:`get_conductor_list` gives them (no ORM)."""
        params = {'hostname': hostname}
        if plain:
            rows = self._few_rows(_CONDUCTOR_BY_HOSTNAME[True], params)
            row = rows[0] if rows else None
        else:
            row = self._object(_CONDUCTOR_BY_HOSTNAME[False], params)
        if row is None:
            raise exception.ConductorNotFound(conductor=hostname)
        return row

    def get_conductor_list(self, limit: int | None = None,
                           marker: models.Conductor | None = None,
                           sort_key: str = 'id',
                           sort_dir: str = 'asc',
                           filters: dict | None = None,
                           plain: bool = False) -> list:
        """Conductors matching every filter, one page in the order asked.

        ``filters`` may hold: conductor_group, driver (a name in the
        conductor's drivers) and alive, the pair ``(alive, cutoff)``: the
        conductors alive (or not) when judged by a heartbeat cut-off.

        ``plain``: read-only rows with the columns as attributes, not ORM
        objects (half the cost, for a reader that only reads them).
        """
        if marker is None and all(value is None
                                  for value in (filters or {}).values()):
            query = _conductor_page(limit, sort_key, sort_dir, plain)
            if plain:
                return self._few_rows(query)
        else:
            query = _conductor_filters(_conductor_select(plain),
                                       filters or {})
            query = _paginate(query, models.Conductor, limit, sort_key,
                              sort_dir, marker)
        if plain:
            return self._rows(query)
        with self._reader() as session:
            return list(session.scalars(query))

    def get_alive_hardware(self, heartbeat_after: datetime.datetime
                           ) -> list[AliveHardware]:
        """Hardware types of conductors online with a heartbeat newer than
        ``heartbeat_after``."""
        conductor = models.Conductor
        iface = models.ConductorHardwareInterface
        query = (sa.select(conductor.hostname, conductor.conductor_group,
                           iface.hardware_type, conductor.updated_at)
                 .join(iface, iface.conductor_id == conductor.id)
                 .where(conductor.online.is_(True))
                 .where(conductor.updated_at >= heartbeat_after)
                 .distinct())
        with self._reader() as session:
            return [AliveHardware(*row) for row in session.execute(query)]

    def get_alive_versions(self, heartbeat_after: datetime.datetime
                           ) -> set[str | None]:
        """The releases (``version``) of the conductors online with a
        heartbeat newer than ``heartbeat_after``."""
        conductor = models.Conductor
        return {row[0] for row in self._rows(
            sa.select(conductor.version).distinct()
            .where(conductor.online.is_(True),
                   conductor.updated_at >= heartbeat_after))}

    def get_offline_conductors(self, heartbeat_before: datetime.datetime
                               ) -> list[str]:
        """Hostnames offline or with no heartbeat since the given time.

        Exactly the conductors :meth:`get_alive_hardware` leaves out (a row
        that never beat included), so that no lock outlives its holder.
        """
        conductor = models.Conductor
        with self._reader() as session:
            return list(session.scalars(
                sa.select(conductor.hostname)
                .where(sa.or_(conductor.online.is_(False),
                              conductor.updated_at.is_(None),
                              conductor.updated_at < heartbeat_before))))

    def get_silent_conductors(self, heartbeat_before: datetime.datetime
                              ) -> list[str]:
        """Hostnames with no heartbeat since the given time, online or
        not (a row that never beat included).

        Unlike :meth:`get_offline_conductors`, a conductor that has just
        gone offline is not silent yet: it may still be finishing the work
        it holds node locks for.
        """
        conductor = models.Conductor
        with self._reader() as session:
            return list(session.scalars(
                sa.select(conductor.hostname)
                .where(sa.or_(conductor.updated_at.is_(None),
                              conductor.updated_at < heartbeat_before))))

    # Nodes

    @_retry_on_deadlock
    def create_node(self, values: dict) -> models.Node:
        unknown = set(values) - set(models.Node.__table__.c.keys())
        if unknown:
            raise TypeError('Not columns of nodes: %s' % sorted(unknown))
        try:
            # A Core INSERT: the ORM's unit of work costs more than the
            # statement. Column defaults apply the same; the row comes back
            # as stored (the columns left out hold their defaults, unset
            # documents read as empty ones).
            with self._one_write() as connection:
                if connection.dialect.insert_returning:
                    row = connection.execute(_NODE_INSERT_RETURNING,
                                             values).one()
                else:
                    node_id = connection.execute(
                        _NODE_INSERT, values).inserted_primary_key[0]
                    row = connection.execute(_node_whole_by('id'),
                                             {'ident_': node_id}).one()
        except db_exc.DBDuplicateEntry as e:
            raise _translate_node_duplicate(e, values)
        return _node_of(row)

    def get_node_by_id(self, node_id: int) -> models.Node:
        return self._get_node('id', node_id)

    def get_node_by_uuid(self, uuid: str) -> models.Node:
        return self._get_node('uuid', uuid)

    def get_node_by_name(self, name: str) -> models.Node:
        return self._get_node('name', name)

    def _get_node(self, by: str, ident) -> models.Node:
        row = self._object(_node_by(by), {'ident_': ident})
        if row is None:
            raise exception.NodeNotFound(node=ident)
        return row

    def get_node_list(self, filters: dict | None = None,
                      limit: int | None = None,
                      marker: models.Node | None = None,
                      sort_key: str = 'id',
                      sort_dir: str = 'asc',
                      columns: Iterable[str] | None = None,
                      plain: bool = False) -> list:
        """Nodes matching every filter, one page in the order asked.

        ``filters`` may hold: uuid, name, provision_state, driver,
        resource_class, fault, conductor_group, instance_uuid,
        reservation_in (holders of the lock: hostnames), maintenance (bool),
        associated (bool), reserved (bool), conductor_affinity_not (a
        conductor id: nodes with another affinity or none), ring_arcs
        (:data:`RingArcs`, as ``hash_ring.Rings.arcs_of`` gives them),
        ring_keys_in and ring_keys_not_in (``(conductor_group, driver)``
        pairs: the nodes of those rings, or of none of them), project
        (nodes it owns or leases) and, with ring_arcs, served_by
        (``(hostname, fingerprint)``: the conductor the arcs are of, and
        ``hash_ring.Rings.fingerprint`` of the rings they come from; a
        page of plain rows is then read by ``nodes.served_by`` while those
        rings are the recorded ones: see :func:`_served_by_page`).
        ``columns``, when given, are the only ones loaded (with id).

        ``plain``: the nodes as plain rows of ``columns`` only, not ORM
        objects, the JSON documents as the text stored (the empty
        document's for none), for a reader that passes them on without
        decoding them.
        """
        filters = filters or {}
        served_by = filters.get('served_by')
        if 'served_by' in filters:
            filters = {k: v for k, v in filters.items() if k != 'served_by'}
        if plain and _BOUND_NODE_FILTERS.issuperset(
                filters) and not _is_ring_page(filters, limit, sort_key):
            bound = {name: value for name, value in filters.items()
                     if value is not None}
            params = _bound_filter_values(bound)
            after = None
            if marker is not None:
                params['m_id'] = marker.id
                after = 'value'
                if sort_key != 'id':
                    params['m_value'] = getattr(marker, sort_key)
                    if params['m_value'] is None:
                        after = 'null'
                        del params['m_value']
            query = _node_rows_page(tuple(columns), tuple(sorted(bound)),
                                    limit, sort_key, sort_dir, after)
            return self._rows(query, params)
        if plain:
            query = _node_rows_select(tuple(columns))
        else:
            query = sa.select(models.Node)
            if columns is not None:
                query = query.options(orm.load_only(
                    *(getattr(models.Node, name) for name in columns)))
        if served_by is not None and plain and _is_ring_page(
                filters, limit, sort_key) and self._not_recorded.get(
                    served_by[1], 0.0) <= time.monotonic():
            columns = tuple(columns)
            rows = self._read(lambda connection: _served_by_page(
                connection, served_by, filters, limit, sort_dir, marker,
                columns))
            if rows:
                return rows
            if self.get_served_by_fingerprint() != served_by[1]:
                # Not these rings' record (a change not recorded yet, or
                # recording off): their pages skip the two statements
                # that read nothing for a while.
                if len(self._not_recorded) >= _WALK_MEMO_SIZE:
                    self._not_recorded.clear()
                self._not_recorded[served_by[1]] = (
                    time.monotonic() + _NOT_RECORDED_SECONDS)
        with self._reader() as session:
            if _is_ring_page(filters, limit, sort_key):
                return _ring_page(session, filters, limit, sort_dir, marker,
                                  self._walk_memo, columns, plain)
            query = _node_filters(query, filters)
            query = _paginate(query, models.Node, limit, sort_key,
                              sort_dir, marker)
            if plain:
                # Core rows, without the ORM's handling of each (a third
                # of the time of a thousand rows).
                return session.connection().execute(query).all()
            return list(session.scalars(query))

    def get_node_whole(self, by: str, value: str):
        """The node whose ``by`` (``id``, ``uuid`` or ``name``) is
        ``value``: a plain row of every column (documents decoded), read
        as :meth:`get_node_by_id` reads the node, at a third of its cost.
        Rows cannot be changed: for the API, which only reads them.

        :raises NodeNotFound: no such node.
        """
        row = self._read(lambda connection: connection.execute(
            _node_whole_by(by), {'ident_': value}).first())
        if row is None:
            raise exception.NodeNotFound(node=value)
        return row

    def get_node_row(self, by: str, value: str, columns: tuple[str, ...]):
        """The node whose ``by`` (``uuid`` or ``name``, both unique) is
        ``value``, as :meth:`get_node_list` with ``plain`` reads it; None
        when there is none."""
        rows = self._few_rows(_node_row_by(by, columns), {'ident': value})
        return rows[0] if rows else None

    def count_nodes(self, filters: dict | None = None) -> int:
        if _only_ring_arcs(filters):
            with self._reader() as session:
                return sum(int(session.scalar(query) or 0)
                           for query in _arc_count_selects(
                               filters['ring_arcs'], by_state=False))
        query = _node_filters(sa.select(sa.func.count(models.Node.id)),
                              filters or {})
        with self._reader() as session:
            return session.scalar(query)

    # Which conductor serves each node, as the conductors record it

    def get_served_by_fingerprint(self) -> str | None:
        """The fingerprint of the rings ``nodes.served_by`` was recorded
        on (``hash_ring.Rings.fingerprint``); None before any record."""
        rows = self._rows(_SERVED_BY_FINGERPRINT)
        return rows[0][0] if rows else None

    def get_served_by_inputs(self, unrecorded_only: bool, after: int,
                             limit: int) -> list:
        """(id, conductor_group, driver, ring_position, served_by) of the
        first ``limit`` nodes by id after the id ``after``, of every node or
        of those whose served_by is not recorded (NULL)."""
        return self._rows(_served_by_inputs(unrecorded_only),
                          {'after_': after, 'limit_': limit})

    @_retry_on_deadlock
    def record_served_by(self, recorded: str | None,
                         fingerprint: str | None,
                         served: Iterable[tuple[int, str, str, str]]
                         ) -> bool:
        """In one transaction: the record of the rings ``recorded`` (as
        :meth:`get_served_by_fingerprint` read it) becomes ``fingerprint``
        (None: no rings' record),
        and each node of ``served``, ``(id, conductor_group, driver,
        hostname)``, gets ``hostname`` as its served_by, if its conductor
        group and driver are still those.

        False, and nothing written, when the record is no longer
        ``recorded``: another conductor recorded meanwhile. The record's
        row stays locked to the end, so two records never interleave.
        """
        record = models.ServedByRecord.__table__
        with self._writer() as session:
            taken = session.execute(
                record.update()
                .where(record.c.id == 1,
                       record.c.fingerprint.is_not_distinct_from(recorded))
                .values(fingerprint=fingerprint,
                        updated_at=timeutils.utcnow())).rowcount
            if not taken:
                if recorded is not None or session.scalar(
                        sa.select(sa.func.count()).select_from(record)):
                    return False
                # The record's row is missing (a schema made by hand):
                # made now.
                session.execute(record.insert(), {
                    'id': 1, 'fingerprint': fingerprint,
                    'updated_at': timeutils.utcnow()})
            # One statement per conductor and ring, not per node: drivers
            # such as psycopg2 send each row of an executemany in a round
            # trip of its own (100 000 nodes on PostgreSQL: 224 s).
            nodes_of = collections.defaultdict(list)
            for node_id, group, driver, hostname in served:
                nodes_of[(group, driver, hostname)].append(node_id)
            for (group, driver, hostname), ids in nodes_of.items():
                for start in range(0, len(ids), _SERVED_BY_IDS):
                    session.execute(_SERVED_BY_UPDATE, {
                        'n_ids': ids[start:start + _SERVED_BY_IDS],
                        'n_group': group, 'n_driver': driver,
                        'n_host': hostname})
        return True

    @_retry_on_deadlock
    def update_node(self, node_id: int, values: dict) -> models.Node:
        """Write ``values`` to a node and return the updated row.

        :raises InvalidParameterValue: ``values`` changes the UUID (the
            node's identity and its place on the hash ring).
        """
        return self._update(models.Node, node_id, _served_by_kept(values),
                            lambda: exception.NodeNotFound(node=node_id),
                            _translate_node_duplicate)

    def _update(self, model, row_id: int, values: dict, not_found,
                translate_duplicate):
        """Write ``values`` to the row ``row_id`` of ``model``; the row.

        :param not_found: makes the exception for a missing row.
        :param translate_duplicate: (DBDuplicateEntry, values with the
            row's uuid) -> the exception to raise.
        """
        if 'uuid' in values:
            raise exception.InvalidParameterValue(
                err='Cannot overwrite UUID for an existing %s.'
                % model.__name__)
        with self._writer() as session:
            row = session.get(model, row_id)
            if row is None:
                raise not_found()
            # A failed flush expires the row: read what the message needs
            # before.
            uuid = row.uuid
            for key, value in values.items():
                setattr(row, key, value)
            try:
                session.flush()
            except db_exc.DBDuplicateEntry as e:
                raise translate_duplicate(e, {**values, 'uuid': uuid})
            return row

    @_retry_on_deadlock
    def update_and_release_node(self, tag: str, node_id: int,
                                values: dict) -> models.Node:
        """Write ``values`` to a node and give back the lock ``tag`` holds
        on it (as :meth:`release_node`), in one statement: the last write
        of a task costs one statement, not two transactions. The node as
        stored after.

        :raises NodeNotFound: no such node.
        :raises InvalidParameterValue: ``values`` changes the UUID.
        """
        if 'uuid' in values:
            raise exception.InvalidParameterValue(
                err='Cannot overwrite UUID for an existing Node.')
        if 'reservation' in values:
            raise ValueError('The lock is given back, not written')
        values = _served_by_kept(values)
        params = {'v_' + name: value for name, value in values.items()}
        params.update(node_id_=node_id, tag_=tag)
        try:
            with self._one_write() as connection:
                returning = connection.dialect.update_returning
                result = connection.execute(
                    _update_and_release_statement(tuple(values), returning),
                    params)
                if returning:
                    row = result.first()
                elif result.rowcount:
                    row = connection.execute(_node_whole_by('id'),
                                             {'ident_': node_id}).first()
                else:
                    row = None
        except db_exc.DBDuplicateEntry as e:
            raise _translate_node_duplicate(
                e, {**values, 'uuid': self._node_uuid(node_id)})
        if row is None:
            raise exception.NodeNotFound(node=node_id)
        return _node_of(row)

    def _node_uuid(self, node_id: int) -> str | None:
        with self._reader() as session:
            return session.scalar(sa.select(models.Node.uuid)
                                  .where(models.Node.id == node_id))

    @_retry_on_deadlock
    def destroy_node(self, node_id: int) -> None:
        with self._writer() as session:
            session.execute(sa.delete(models.Port)
                            .where(models.Port.node_id == node_id))
            count = session.execute(sa.delete(models.Node)
                                    .where(models.Node.id == node_id)
                                    ).rowcount
        if not count:
            raise exception.NodeNotFound(node=node_id)

    # Ports

    def get_ports_by_node_id(self, node_id: int) -> list[models.Port]:
        """A node's ports, oldest first."""
        with self._reader() as session:
            return list(session.scalars(
                sa.select(models.Port).where(models.Port.node_id == node_id)
                .order_by(models.Port.id)))

    @_retry_on_deadlock
    def reserve_node(self, tag: str, node_ident: int | str,
                     taking_from: str | None = None) -> models.Node:
        """Take a node's exclusive lock for ``tag`` (a conductor hostname):
        a free lock, or, with ``taking_from``, the lock that holder has.

        :param node_ident: the node's id, or its UUID (which saves the
            caller a read to learn the id).
        :returns: the node, as it is once locked.
        :raises NodeNotFound: no such node.
        :raises NodeLocked: another holder has it.
        """
        by_id = isinstance(node_ident, int)
        params = {'ident_': node_ident, 'tag_': tag,
                  'holder_': taking_from}
        taking_over = taking_from is not None
        with self._one_write() as connection:
            returning = connection.dialect.update_returning
            result = connection.execute(
                _reserve_statement(by_id, taking_over, returning), params)
            row = result.first() if returning else None
            if row is None:
                locked = returning or not result.rowcount
                # Locked by another (who), or missing; or, without
                # RETURNING, the node as locked.
                row = connection.execute(
                    _node_whole_by('id' if by_id else 'uuid'), params).first()
                if row is None:
                    raise exception.NodeNotFound(node=node_ident)
                if locked:
                    # Another holder has it, or it was released since
                    # this attempt: the caller may retry.
                    raise exception.NodeLocked(
                        node=row.uuid,
                        host=row.reservation or 'another conductor')
        return _node_of(row)

    @_retry_on_deadlock
    def release_node(self, tag: str, node_id: int) -> None:
        """Give back a lock taken with :meth:`reserve_node`; a lock held by
        someone else is left alone."""
        with self._one_write() as connection:
            connection.execute(_RELEASE, {'node_id_': node_id, 'tag_': tag})

    @_retry_on_deadlock
    def release_reservations_of(self, hostnames: Iterable[str],
                                except_node_ids: Iterable[int] = ()
                                ) -> int:
        """Release every lock held by these conductors, but on the nodes
        ``except_node_ids``; how many."""
        hostnames = list(hostnames)
        if not hostnames:
            return 0
        node = models.Node
        query = sa.update(node).where(node.reservation.in_(hostnames))
        except_node_ids = list(except_node_ids)
        if except_node_ids:
            query = query.where(node.id.not_in(except_node_ids))
        with self._writer() as session:
            return session.execute(
                query.values(reservation=None)
                .execution_options(synchronize_session=False)).rowcount

    # Ports: rows carry ``node_uuid``, the UUID of their node, besides
    # their columns.

    @_retry_on_deadlock
    def create_port(self, values: dict) -> models.Port:
        """Insert a port; ``values`` has node_id, not node_uuid.

        :raises MACAlreadyExists, PortAlreadyExists: a port has its
            address or UUID.
        """
        row = models.Port(**values)
        try:
            with self._writer() as session:
                session.add(row)
                session.flush()
        except db_exc.DBDuplicateEntry as e:
            raise _translate_port_duplicate(e, values)
        return self.get_port_by_id(row.id)

    def get_port_by_id(self, port_id: int) -> models.Port:
        return self._get_port(models.Port.id == port_id, port_id)

    def get_port_by_uuid(self, uuid: str) -> models.Port:
        return self._get_port(models.Port.uuid == uuid, uuid)

    def get_port_by_address(self, address: str) -> models.Port:
        return self._get_port(models.Port.address == address, address)

    def _get_port(self, criterion, ident) -> models.Port:
        rows = self._ports(_port_query().where(criterion))
        if not rows:
            raise exception.PortNotFound(port=ident)
        return rows[0]

    def _ports(self, query) -> list[models.Port]:
        with self._reader() as session:
            rows = []
            for port, node_uuid, owner, lessee in session.execute(query):
                port.node_uuid = node_uuid
                # What the policy checks a port against: its node's.
                port.node_owner, port.node_lessee = owner, lessee
                rows.append(port)
            return rows

    def get_port_list(self, filters: dict | None = None,
                      limit: int | None = None,
                      marker: models.Port | None = None,
                      sort_key: str = 'id',
                      sort_dir: str = 'asc') -> list[models.Port]:
        """Ports matching every filter (node_id, address, project: of the
        nodes a project owns or leases), one page in the order asked."""
        query = _port_query()
        filters = filters or {}
        for name in ('node_id', 'address'):
            if filters.get(name) is not None:
                query = query.where(getattr(models.Port, name)
                                    == filters[name])
        if filters.get('project') is not None:
            query = query.where(_of_project(filters['project']))
        return self._ports(_paginate(query, models.Port, limit, sort_key,
                                     sort_dir, marker))

    @_retry_on_deadlock
    def update_port(self, port_id: int, values: dict) -> models.Port:
        """Write ``values`` (columns) to a port; the port after.

        :raises MACAlreadyExists: another port has the new address.
        """
        self._update(models.Port, port_id, values,
                     lambda: exception.PortNotFound(port=port_id),
                     _translate_port_duplicate)
        return self.get_port_by_id(port_id)

    @_retry_on_deadlock
    def destroy_port(self, port_id: int) -> None:
        with self._writer() as session:
            count = session.execute(sa.delete(models.Port)
                                    .where(models.Port.id == port_id)
                                    ).rowcount
        if not count:
            raise exception.PortNotFound(port=port_id)

    # Hardware types

    def get_hardware_interfaces(self, hardware_type: str | None = None
                                ) -> list[tuple[str, str, str, str, bool]]:
        """(hostname, hardware_type, interface_type, interface_name,
        default) of every conductor that registered them, alive or not
        (callers keep the alive ones: the hash ring knows them)."""
        conductor = models.Conductor
        iface = models.ConductorHardwareInterface
        query = (sa.select(conductor.hostname, iface.hardware_type,
                           iface.interface_type, iface.interface_name,
                           iface.default)
                 .join(iface, iface.conductor_id == conductor.id)
                 .order_by(iface.hardware_type, iface.interface_type,
                           iface.interface_name, conductor.hostname))
        if hardware_type is not None:
            query = query.where(iface.hardware_type == hardware_type)
        with self._reader() as session:
            return [tuple(row) for row in session.execute(query)]
    @_retry_on_deadlock
    def clear_target_power_state_of(self, hostname: str,
                                    last_error: str) -> int:
        """Null the pending power target of the nodes ``hostname`` holds,
        with ``last_error``; how many."""
        node = models.Node
        with self._writer() as session:
            return session.execute(
                sa.update(node).where(node.reservation == hostname)
                .where(node.target_power_state.is_not(None))
                .values(target_power_state=None, last_error=last_error)
                .execution_options(synchronize_session=False)).rowcount

    def count_nodes_by_provision_state(self, filters: dict | None = None
                                       ) -> dict[str | None, int]:
        """How many nodes match the filters (as :meth:`get_node_list`
        takes them), per provision state, in one query; states with no
        node are left out."""
        state = models.Node.provision_state
        if _only_ring_arcs(filters):
            return self._count_on_arcs_by_state(filters['ring_arcs'])
        query = _node_filters(
            sa.select(state, sa.func.count(models.Node.id)), filters or {})
        with self._reader() as session:
            return dict(session.execute(query.group_by(state)).all())

    def _count_on_arcs_by_state(self, ring_arcs: RingArcs
                                ) -> dict[str | None, int]:
        """The counts per state of the nodes on ``ring_arcs``.

        On SQLite a connection keeps the counts it made and gives them
        again for as long as the database is unchanged (_sqlite_version);
        on PostgreSQL this process keeps them for as long as the server's
        snapshot is (_postgresql_snapshot). A conductor's show counts its
        nodes, and counting reads every node of the conductor in the ring
        index (5 ms for 25 000 nodes on SQLite, 20 ms for 2 500 on a fresh
        PostgreSQL table), where what a monitoring system polls between
        two writes is the same figure."""
        key = _arcs_key(ring_arcs)
        with self._reader() as session:
            connection = session.connection()
            kept = version = None
            if connection.dialect.name == 'postgresql':
                version = _postgresql_snapshot(
                    connection.connection.dbapi_connection)
                kept = self._kept_counts
                found = kept.get(key)
                if found is not None and found[0] == version:
                    return dict(found[1])
            elif connection.dialect.name == 'sqlite':
                driver = connection.connection.dbapi_connection
                version = _sqlite_version(driver)
                # (Kept with the driver's connection they were made on: a
                # record whose connection was replaced starts afresh.)
                made_on, kept = connection.info.get(_KEPT_COUNTS, (None, {}))
                if made_on is not driver:
                    kept = {}
                    connection.info[_KEPT_COUNTS] = (driver, kept)
                if key in kept and kept[key][0] == version:
                    return dict(kept[key][1])
            counts: dict[str | None, int] = {}
            for query in _arc_count_selects(
                    ring_arcs, by_state=True,
                    dialect=connection.dialect.name):
                for name, count in session.execute(query):
                    counts[name] = counts.get(name, 0) + int(count)
            if kept is not None:
                if len(kept) >= _MOST_KEPT_COUNTS and key not in kept:
                    kept.clear()
                kept[key] = (version, dict(counts))
        return counts

    def count_nodes_by_ring_key(self, filters: dict | None = None
                                ) -> dict[tuple[str, str], int]:
        """How many nodes match the filters (as :meth:`get_node_list`
        takes them), per ``(conductor_group, driver)``, in one query;
        pairs with no node are left out."""
        node = models.Node
        query = _node_filters(
            sa.select(node.conductor_group, node.driver,
                      sa.func.count(node.id)), filters or {})
        with self._reader() as session:
            rows = session.execute(query.group_by(node.conductor_group,
                                                  node.driver)).all()
        return {(group, driver): count for group, driver, count in rows}


@sa.event.listens_for(sa.engine.Engine, 'connect')
def _tune_sqlite(dbapi_connection, connection_record):
    """Let the API threads read while a conductor thread writes; sync
    commits as ``[database]sqlite_durability`` says."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA busy_timeout=10000')
    if CONF.database.sqlite_synchronous:
        # (oslo.db turns syncing off itself when that option is false.)
        cursor.execute('PRAGMA synchronous=%s'
                       % CONF.database.sqlite_durability.upper())
    cursor.close()
