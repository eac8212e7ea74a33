"""Rows to API objects, from the resource's field declarations."""

import json
import operator

import orjson
from oslo_utils import strutils

from ironic_lite.api import policy
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import fields as api_fields


class Renderer:
    """Turns rows of one resource into API objects at the request's
    version, showing ``shown`` (names of ``fields``) and the links."""

    def __init__(self, request, fields: api_fields.Registry,
                 shown: tuple[str, ...], resource: str):
        self.request = request
        self.registry = fields
        self.fields = shown
        self.resource = resource

    def value(self, row, name: str):
        field = self.registry[name]
        value = getattr(row, name)
        if field.show is not None:
            return field.show(self.request, value)
        return value

    def links(self, row) -> dict:
        return {'links': link.self_and_bookmark(self.request, self.resource,
                                                row.uuid)}

    def render(self, row) -> dict:
        result = {name: self.value(row, name) for name in self.fields}
        result.update(self.links(row))
        return result


class RowRenderer:
    """Turns plain rows (``columns`` of the resource's table, its JSON
    documents as stored text) into API objects at the request's version,
    ready for :func:`ironic_lite.api.expose.expose_read`.

    What each field needs is worked out once, here, not per row: a
    document no field shows differently is passed on as the text stored
    (an ``orjson.Fragment``), never decoded; one whose ``show`` is a
    :class:`Masked` is decoded only when its text names a secret.

    :param special: getters of the shown fields that are not columns, or
        not shown from their column alone: name -> (row -> value).
    """

    def __init__(self, request, fields: api_fields.Registry,
                 shown: tuple[str, ...], resource: str,
                 columns: tuple[str, ...], documents: dict[str, type],
                 special: dict | None = None):
        special = special or {}
        index = {name: i for i, name in enumerate(columns)}
        self.getters = tuple(
            (name, special[name] if name in special else _getter(
                request, fields[name], index[name], documents.get(name)))
            for name in shown)
        self._uuid = index['uuid']
        self._self = link.build_url(request, resource) + '/'
        self._bookmark = link.build_url(request, resource,
                                        bookmark=True) + '/'

    def links(self, uuid: str, *parts: str) -> list[dict]:
        path = '/'.join((uuid,) + parts)
        return [{'href': self._self + path, 'rel': 'self'},
                {'href': self._bookmark + path, 'rel': 'bookmark'}]

    def render(self, row) -> dict:
        result = {name: get(row) for name, get in self.getters}
        result['links'] = self.links(row[self._uuid])
        return result


class Masked:
    """A ``show`` that masks the secrets of a document: its passwords
    (as ``strutils.mask_dict_password``) and ``secret_key``, unless the
    policy ``rule`` lets the caller see them."""

    def __init__(self, secret_key: str, rule: str | None = None):
        self.secret_key = secret_key
        self.rule = rule
        self._named = tuple(strutils._SANITIZE_KEYS) + (secret_key,)

    def shows_all(self, request) -> bool:
        """Whether the caller may see the secrets (asked once per
        request)."""
        return self.rule is not None and policy.check_once(request,
                                                           self.rule)

    def __call__(self, request, document: dict) -> dict:
        if self.shows_all(request):
            return document
        masked = strutils.mask_dict_password(document, '******')
        if masked.get(self.secret_key):
            masked[self.secret_key] = '******'
        return masked

    def leaves_unchanged(self, text: str) -> bool:
        """Whether the document stored as ``text`` has nothing to mask: no
        key or value names a secret. Escapes (non-ASCII text) are not
        looked into: such a text is decoded and masked."""
        lowered = text.lower()
        return '\\u' not in text and not any(
            name in lowered for name in self._named)


def per_value(request, show, index: int | None):
    """row -> ``show(request, row[index])``, worked out once per value in
    a request: for a ``show`` of few values (states) that depends on the
    request's version only."""
    shown = {}

    def get(row):
        value = row[index]
        if value not in shown:
            shown[value] = show(request, value)
        return shown[value]
    return get


def _getter(request, field: api_fields.Field, index: int,
            empty: type | None):
    """row -> the value shown of ``field``, read at ``index``; ``empty``
    is the document type of a JSON column (None: not one)."""
    show = field.show
    if empty is None:
        if show is None:
            return operator.itemgetter(index)
        return lambda row: show(request, row[index])
    shows_all = getattr(show, 'shows_all', None)
    if show is None or (shows_all is not None and shows_all(request)):
        # Shown as stored: never decoded.
        def document(row):
            text = row[index]
            return empty() if text is None else orjson.Fragment(text)
        return document
    unchanged = getattr(show, 'leaves_unchanged', None)

    def shown_document(row):
        text = row[index]
        if text is None:
            return show(request, empty())
        if unchanged is not None and unchanged(text):
            return orjson.Fragment(text)
        return _encoded(show(request, json.loads(text)))
    return shown_document


def _encoded(document) -> orjson.Fragment:
    """``document`` encoded now, by json where orjson cannot (integers
    beyond 64 bits): the response is then always orjson's to encode."""
    try:
        return orjson.Fragment(orjson.dumps(document))
    except TypeError:
        return orjson.Fragment(json.dumps(document))
