"""How list requests are read and paged, the same for every resource."""

import contextlib
import threading
import urllib.parse

import orjson

from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.common import exception
from ironic_lite.conf import CONF


def limit_from(raw: str | None) -> int:
    """The page size: the client's limit, at most ``[api]max_limit``."""
    if raw is None:
        return CONF.api.max_limit
    try:
        limit = int(raw)
    except ValueError:
        raise exception.Invalid('Expected an integer for limit: %s' % raw)
    if limit <= 0:
        raise exception.Invalid('Limit must be positive')
    return min(limit, CONF.api.max_limit)


def check_sort(sort_key: str, sort_dir: str, sortable: frozenset[str],
               unsortable_fields: frozenset[str] = frozenset()) -> None:
    if sort_dir not in ('asc', 'desc'):
        raise exception.Invalid(
            "Invalid sort direction: %s. Acceptable values are 'asc' or "
            "'desc'" % sort_dir)
    if sort_key in unsortable_fields:
        raise exception.Invalid(
            'The sort_key value %s is an invalid field for sorting'
            % sort_key)
    if sort_key not in sortable:
        raise exception.Invalid(
            'The sort_key value "%s" is an invalid field for sorting'
            % sort_key)


def check_detail(request, detail: bool | None) -> None:
    if detail is not None and not versions.allows(
            request, versions.Minor.DETAIL_PARAM):
        raise exception.Invalid('Invalid query parameter ?detail=%s '
                                'received.' % detail)


def return_fields(request, fields: list[str] | None, detail: bool | None,
                  valid: frozenset[str], default: tuple[str, ...],
                  full: tuple[str, ...]) -> tuple[str, ...]:
    """The fields to show: those asked for, every field with detail, else
    the default set.

    :raises NotAcceptable: ``fields`` is not known at this version.
    :raises Invalid: unknown field names, or both fields and detail.
    """
    check_detail(request, detail)
    if fields is None:
        return full if detail else default
    versions.require(request, versions.Minor.FIELDS, explain=False)
    if detail:
        raise exception.Invalid('Can not specify ?detail=True and fields in '
                                'the same request.')
    invalid = [field for field in fields if field not in valid]
    if invalid:
        raise exception.Invalid('Field(s) "%s" are not valid'
                                % ', '.join(invalid))
    return tuple(fields)


def list_fields(request, fields: list[str] | None, detail: bool | None,
                visible: tuple[str, ...], default: tuple[str, ...],
                detail_endpoint: bool) -> tuple[str, ...]:
    """The fields a list shows: every ``visible`` one on a /detail
    endpoint, else as :func:`return_fields` (``default``: the fields a list
    shows unasked, those the version knows)."""
    if detail_endpoint:
        return visible
    return return_fields(request, fields, detail, frozenset(visible),
                         tuple(name for name in default if name in visible),
                         visible)


def next_url(request, path: str, params: list[tuple[str, object]],
             items: list, limit: int, marker_of) -> str | None:
    """The link to the page after ``items``, when this page is full.

    ``params`` are the query parameters to repeat (every filter, fields,
    detail, sorting); ``marker_of(item)`` names the last item.
    """
    if len(items) < limit:
        return None
    query = [(name, _query_value(value)) for name, value in params
             if value is not None]
    query += [('limit', limit), ('marker', marker_of(items[-1]))]
    return link.build_url(request, path,
                          query=urllib.parse.urlencode(query, safe=',:'))


def page(request, resource: str, path: str, rows: list, render,
         limit: int, params: list[tuple[str, object]]) -> dict:
    """A list response: ``{resource: [render(row), ...]}``, with the
    ``next`` link (``params`` repeated, the last UUID as marker) when the
    page is full."""
    result = {resource: [render(row) for row in rows]}
    url = next_url(request, path, params, rows, limit, lambda row: row.uuid)
    if url:
        result['next'] = url
    return result


def page_params(filters: list[tuple[str, object]], detail_endpoint: bool,
                fields, detail, sort_key: str,
                sort_dir: str) -> list[tuple[str, object]]:
    """The query parameters a ``next`` link repeats: every filter, fields
    and detail (not on a /detail endpoint), the sorting."""
    params = list(filters)
    if not detail_endpoint:
        params += [('fields', fields), ('detail', detail)]
    return params + [('sort_key', sort_key), ('sort_dir', sort_dir)]


def _query_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return ','.join(value)
    return str(value)


# Pages of this many items or more take turns in a process (see
# LargePages).
LARGE_PAGE_ITEMS = 100


class LargePages:
    """One large page at a time in a process: read, rendered and encoded
    while the others wait.

    A detail page of 1 000 nodes is megabytes of small objects (rows,
    their values, the objects rendered) alive at once; several at once
    raise Python's arenas to a high-water mark that stays with the
    process, pinned by a few objects that outlive the pages. They are
    bound by the GIL anyway, so taking turns costs the throughput of
    concurrent pages little. Measured on the all-in-one at 100 000 nodes
    (``benchmarks/memory.py``'s reads, 4 clients): the PSS of its two
    processes 129-130 MiB against 137 without.
    """

    def __init__(self):
        self._turn = threading.Lock()
        self._counting = threading.Lock()
        # How many wait for their turn now.
        self.waiting = 0

    def turn(self, limit: int):
        """A context for reading and rendering a page of ``limit`` items:
        this process's turn if the page is large, else nothing."""
        if limit < LARGE_PAGE_ITEMS:
            return contextlib.nullcontext()
        return self

    def __enter__(self):
        if not self._turn.acquire(blocking=False):
            with self._counting:
                self.waiting += 1
            try:
                self._turn.acquire()
            finally:
                with self._counting:
                    self.waiting -= 1
        return self

    def __exit__(self, *exc_info):
        self._turn.release()


LARGE_PAGES = LargePages()


def encode_items(result: dict, resource: str) -> None:
    """Encode the items of a list response now (their objects freed
    within the page's turn), as the response's encoder would: what orjson
    cannot encode (integers beyond 64 bits) is left to it."""
    try:
        result[resource] = orjson.Fragment(orjson.dumps(result[resource]))
    except TypeError:
        pass
