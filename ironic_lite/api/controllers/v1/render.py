"""Rows to API objects, from the resource's field declarations."""

import json
import operator
import re
import threading
from collections.abc import Callable
from collections.abc import Collection

import orjson
from oslo_utils import strutils

from ironic_lite.api import policy
from ironic_lite.api import timestamps
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import fields as api_fields

# What a secret is shown as.
SECRET = '******'


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


# Masking: what strutils.mask_dict_password(document, SECRET) answers for a
# JSON document, without its cost per key (a lowercase of the key for each
# of some thirty secret names). The decisions are oslo's own: a key is
# secret when its lowercase holds a secret name; a string is given to
# oslo's mask_password when its lowercase holds one, and left alone
# otherwise (as mask_password would leave it).
_SECRET_NAMES = tuple(strutils._SANITIZE_KEYS)
_NAMES_A_SECRET = re.compile('|'.join(map(re.escape, _SECRET_NAMES)))
# Keys repeat from document to document: their answer is remembered (a
# bounded number of them).
_SECRET_KEYS: dict[str, bool] = {}
_SECRET_KEYS_KEPT = 4096
# Floats this large may be integers orjson could not hold: such a document
# is decoded again by json, which keeps them exact.
_TOO_BIG_FOR_ORJSON = float(2 ** 63)


def _key_is_secret(key: str) -> bool:
    """Whether ``key`` names a secret, as mask_dict_password decides it
    (remembered)."""
    if len(_SECRET_KEYS) >= _SECRET_KEYS_KEPT:
        _SECRET_KEYS.clear()
    lowered = key.lower()
    secret = _SECRET_KEYS[key] = any(name in lowered
                                     for name in _SECRET_NAMES)
    return secret


class Inexact(Exception):
    """orjson decoded a number json would have kept exact."""


def _masked_item(value):
    """``strutils._deep_mask`` of a JSON value in a list."""
    kind = type(value)
    if kind is dict:
        return mask_secrets(value)
    if kind is str:
        if _NAMES_A_SECRET.search(value.lower()) is None:
            return value
        return strutils.mask_password(value, SECRET)
    if kind is list:
        return [_masked_item(item) for item in value]
    if kind is float and not -_TOO_BIG_FOR_ORJSON < value < \
            _TOO_BIG_FOR_ORJSON:
        raise Inexact()
    return value


def mask_secrets(document: dict) -> dict:
    """``strutils.mask_dict_password(document, SECRET)`` for a JSON
    document (dicts, lists, strings, numbers, booleans, None).

    :raises Inexact: a float of 2**63 or more (a number orjson may have
        decoded inexactly).
    """
    masked = {}
    secret_keys = _SECRET_KEYS
    for key, value in document.items():
        kind = type(value)
        if kind is dict:
            masked[key] = mask_secrets(value)
            continue
        secret = secret_keys.get(key)
        if secret is None:
            secret = _key_is_secret(key)
        if secret:
            masked[key] = SECRET
        elif kind is str:
            # (mask_password's own test, with one lowercase.)
            masked[key] = value if _NAMES_A_SECRET.search(
                value.lower()) is None else strutils.mask_password(
                    value, SECRET)
        elif kind is list or kind is float:
            masked[key] = _masked_item(value)
        else:
            masked[key] = value
    return masked


class Masked:
    """A ``show`` that masks the secrets of a document: its passwords
    (as ``strutils.mask_dict_password``) and ``secret_key``, unless the
    policy ``rule`` lets the caller see them."""

    def __init__(self, secret_key: str, rule: str | None = None):
        self.secret_key = secret_key
        self.rule = rule
        self._named = _SECRET_NAMES + (secret_key,)
        self._shortest = min(len(name) for name in self._named)

    def shows_all(self, request) -> bool:
        """Whether the caller may see the secrets (asked once per
        request)."""
        return self.rule is not None and policy.check_once(request,
                                                           self.rule)

    def __call__(self, request, document: dict) -> dict:
        if self.shows_all(request):
            return document
        return self._masked(strutils.mask_dict_password(document, SECRET))

    def _masked(self, masked: dict) -> dict:
        if masked.get(self.secret_key):
            masked[self.secret_key] = SECRET
        return masked

    def text_for(self, request) -> Callable[[str], orjson.Fragment]:
        """text -> what :meth:`__call__` shows of the document stored as
        ``text``, encoded, for the caller of ``request``: the text itself
        when it has nothing to mask, that is when no key or value names a
        secret (escapes, of non-ASCII text, are not looked into: such a
        text is decoded), or when the caller may see the secrets. The
        policy is asked only once a document names a secret."""
        shows_all = None

        def text(stored: str) -> orjson.Fragment:
            nonlocal shows_all
            if not self._names_a_secret(stored):
                return orjson.Fragment(stored)
            if shows_all is None:
                shows_all = self.shows_all(request)
            if shows_all:
                return orjson.Fragment(stored)
            return self._masked_text(stored)
        return text

    def _names_a_secret(self, text: str) -> bool:
        if len(text) < self._shortest:
            return False  # {}
        if '\\u' in text:
            return True
        lowered = text.lower()
        for name in self._named:
            if name in lowered:
                return True
        return False

    def _masked_text(self, text: str) -> orjson.Fragment:
        try:
            masked = mask_secrets(orjson.loads(text))
        except (orjson.JSONDecodeError, Inexact):
            # What orjson refuses (NaN, lone surrogates, huge exponents)
            # or may round (integers beyond 64 bits), json takes as it is.
            masked = strutils.mask_dict_password(json.loads(text), SECRET)
        return _encoded(self._masked(masked))


class _Plan:
    """What rendering a row needs that depends on the request only through
    its version and the fields shown: worked out once and kept (see
    :func:`_plan`). Documents that may be masked are left to each request
    (``masked``: their names, indexes and shows).

    A ``show`` of a column is given its values but None, which every one
    shows as None (a document is never None: the rows hold the empty
    document's text for an unset one).
    """

    def __init__(self, fields: api_fields.Registry, documents,
                 shown: tuple[str, ...], columns: tuple[str, ...],
                 special: frozenset[str], version: int):
        index = {name: i for i, name in enumerate(columns)}
        self.names = shown
        # Every shown name picked from the row at once, in order; those
        # shown otherwise are replaced after (a replaced key keeps its
        # place).
        picked = [0 if name in special else index[name] for name in shown]
        self.pick = (operator.itemgetter(*picked) if len(picked) > 1
                     else lambda row: (row[picked[0]],) if picked else ())
        fixes = []
        self.masked = []
        for name in shown:
            if name in special:
                continue
            show = fields[name].show
            if name in documents:
                if show is None:
                    fixes.append((name, index[name], orjson.Fragment))
                else:
                    # Per request (RowRenderer): masked or not.
                    self.masked.append((name, index[name], show))
            elif show is api_fields.show_time:
                fixes.append((name, index[name], timestamps.isotime))
            elif show is not None:
                fixes.append((name, index[name],
                              _ByValue(show, version).__getitem__))
        self.fixes = tuple(fixes)
        self.uuid = index['uuid']


class _ByValue(dict):
    """A ``show`` of a request's version, worked out once for each value
    (the shows of plain columns map few values: states)."""

    def __init__(self, show, version: int):
        super().__init__()
        self._show = show
        self._request = _VersionOnly(version)

    def __missing__(self, value):
        shown = self._show(self._request, value)
        if len(self) < 256:
            self[value] = shown
        return shown


class _VersionOnly:
    """A request that has only a version: what a ``show`` of a plain
    column may look at (fields.py's ``Field.show``)."""

    def __init__(self, version: int):
        self.version = version


_PLANS: dict[tuple, _Plan] = {}
_PLANS_LOCK = threading.Lock()
# Versions x field sets: a few per resource in practice; ?fields= could
# make many, hence a bound.
_PLANS_KEPT = 1024


def _plan(resource: str, fields: api_fields.Registry, documents,
          *key) -> _Plan:
    """The plan for ``key`` (the other arguments of :class:`_Plan`), the
    same for every request of ``resource``."""
    plan = _PLANS.get((resource,) + key)
    if plan is None:
        plan = _Plan(fields, documents, *key)
        with _PLANS_LOCK:
            if len(_PLANS) >= _PLANS_KEPT:
                _PLANS.clear()
            _PLANS[(resource,) + key] = plan
    return plan


class RowRenderer:
    """Turns plain rows (``columns`` of the resource's table, its JSON
    documents as stored text) into API objects at the request's version,
    ready for :func:`ironic_lite.api.expose.expose_read`.

    What each field needs is worked out once, not per row, and kept for
    the next request of the same version and fields: a document no field
    shows differently is passed on as the text stored (an
    ``orjson.Fragment``), never decoded; one whose ``show`` is a
    :class:`Masked` is decoded only when its text names a secret and the
    caller may not see it (the policy asked once, only then). The ``show``
    of any other column may depend on the request's version only.

    :param special: getters of the fields that are not columns, or not
        shown from their column alone: name -> (row -> value), for this
        request.
    :param constants: the fields that are not columns and show the same
        value for every row: name -> value.
    :param sub_links: the sub-resources each object links to, after its
        own links.
    """

    def __init__(self, request, fields: api_fields.Registry,
                 shown: tuple[str, ...], resource: str,
                 columns: tuple[str, ...], documents: Collection[str],
                 special: dict | None = None, constants: dict | None = None,
                 sub_links: tuple[str, ...] = ()):
        special = {name: get for name, get in (special or {}).items()
                   if name in shown}
        self._constants = {name: value
                           for name, value in (constants or {}).items()
                           if name in shown}
        plan = _plan(resource, fields, documents, shown, columns,
                     frozenset(special) | frozenset(self._constants),
                     request.version)
        self._plan = plan
        self._fixes = plan.fixes + tuple(
            (name, index, show.text_for(request))
            for name, index, show in plan.masked)
        self._special = tuple(special.items())
        # Each object's links, as JSON text to fill with its UUID: a
        # thousand objects make no thousands of small dicts and lists for
        # the garbage collector to walk.
        own = _json_text(link.build_url(request, resource) + '/')
        bookmark = _json_text(link.build_url(request, resource,
                                             bookmark=True) + '/')
        self._links = tuple(
            (name, b'[{"href":"%s%%s%s","rel":"self"},'
                   b'{"href":"%s%%s%s","rel":"bookmark"}]'
             % (own, path, bookmark, path))
            for name, path in [('links', b'')] + [
                (sub, _json_text('/' + sub)) for sub in sub_links])

    def render(self, row) -> dict:
        plan = self._plan
        result = dict(zip(plan.names, plan.pick(row), strict=True))
        for name, index, fix in self._fixes:
            value = row[index]
            if value is not None:
                result[name] = fix(value)
        if self._constants:
            result.update(self._constants)
        for name, get in self._special:
            result[name] = get(row)
        uuid = orjson.dumps(row[plan.uuid])[1:-1]
        for name, links in self._links:
            result[name] = orjson.Fragment(links % (uuid, uuid))
        return result


def _json_text(text: str) -> bytes:
    """``text`` as it is written inside a JSON string, ``%`` doubled for
    a bytes template."""
    return orjson.dumps(text)[1:-1].replace(b'%', b'%%')


def _encoded(document) -> orjson.Fragment:
    """``document`` encoded now, by json where orjson cannot (integers
    beyond 64 bits): the response is then always orjson's to encode."""
    try:
        return orjson.Fragment(orjson.dumps(document))
    except TypeError:
        return orjson.Fragment(json.dumps(document))
