"""JSON patches (RFC 6902) of an API resource: checked as Ironic checks
them, applied to the fields its declarations let a client write."""

import copy
import re

import jsonpatch

from ironic_lite.api.controllers.v1 import fields as api_fields
from ironic_lite.common import exception
from ironic_lite.conf import CONF

# What a JSON patch operation may hold and where it may point.
_KEYS = frozenset({'op', 'path', 'value'})
OPS = ('add', 'replace', 'remove')
PATH = r'^(/[\w\-.~:]+)+$'
_FAILURES = (jsonpatch.JsonPatchException,
             jsonpatch.JsonPointerException, KeyError, IndexError)
# Not fields, yet Ironic answers a patch of them as of any read-only one.
_INTERNAL = frozenset({'id', 'links'})


def root(path: str) -> str:
    """The field a patch path is in: ``extra`` for ``/extra/a/b``."""
    return path.lstrip('/').split('/', 1)[0]


def _check_op(fields: api_fields.Registry, op) -> None:
    """One JSON patch operation, checked as WSME checks Ironic's."""
    if not isinstance(op, dict):
        raise exception.Invalid('Each JSON patch operation must be a JSON '
                                'object.')
    unknown = sorted(set(op) - _KEYS)
    if unknown:
        raise exception.Invalid(
            'Unknown attribute%s for argument patch: %s'
            % ('s' if len(unknown) > 1 else '', ', '.join(unknown)))
    for key in ('op', 'path'):
        if op.get(key) is None:
            raise api_fields.invalid(key, None, 'Mandatory field missing.')
    kind, path = op['op'], op['path']
    if kind not in OPS:
        raise api_fields.invalid('op', kind, 'Value should be one of: %s'
                                 % ', '.join(OPS))
    if not isinstance(path, str) or not re.match(PATH, path):
        raise api_fields.invalid('path', path,
                                 'Value should match the pattern %s' % PATH)
    field = fields.get(root(path))
    if root(path) in _INTERNAL or (field is not None and field.internal):
        raise exception.Invalid(
            "'%s' is an internal attribute and can not be updated" % path)
    if kind == 'remove' and field is not None and field.mandatory \
            and path.count('/') == 1:
        raise exception.Invalid("'%s' is a mandatory attribute and can not "
                                'be removed' % path)
    if kind != 'remove' and 'value' not in op:
        raise exception.Invalid("'add' and 'replace' operations need a "
                                'value')


def check(request, fields: api_fields.Registry, patch) -> None:
    """A PATCH body: a list of operations Ironic would accept on a
    resource with these fields at the request's version.

    :raises Invalid: a malformed operation, or one on a read-only field.
    :raises NotAcceptable: an operation on a field newer than the request.
    """
    if not isinstance(patch, list):
        raise api_fields.invalid('patch', patch,
                                 'Value not a valid list: %s' % patch)
    if len(patch) > CONF.api.max_patch_operations:
        raise exception.Invalid(
            'The patch has %d operations; at most %d are allowed.'
            % (len(patch), CONF.api.max_patch_operations))
    for op in patch:
        _check_op(fields, op)
    for op in patch:
        api_fields.require_version(request, fields, root(op['path']))
    for op in patch:
        field = fields.get(root(op['path']))
        if field is not None and field.refused_on_patch:
            raise exception.Invalid(field.refused_on_patch)


def values_at(patch, path: str) -> list:
    """The values a patch adds or replaces at ``path``."""
    return [op['value'] for op in patch
            if op['path'] == path and op['op'] != 'remove']


def writable(request, fields: api_fields.Registry) -> list[str]:
    """The fields a patch may change at the request's version."""
    return [name for name in api_fields.visible(request, fields)
            if fields[name].patchable]


def apply(request, fields: api_fields.Registry, document: dict,
          patch) -> dict:
    """The changes a checked patch makes to ``document`` (the writable
    fields of a resource, as read), each checked by its field.

    :raises Invalid, PatchError: the patch does not apply, or a value it
        writes is refused.
    """
    for op in patch:
        if op['op'] == 'add' and op['path'].count('/') == 1 and \
                root(op['path']) not in document:
            raise exception.Invalid('Adding a new attribute (%s) to the root '
                                    'of the resource is not allowed'
                                    % op['path'])
    # One copy of the fields the patch touches (the others stay as read),
    # patched in place one operation at a time: the cost grows with the
    # patch, and an error names the operation that failed. The patch is
    # copied too: a later operation must not change a value an earlier one
    # added, since the patch may be applied again.
    patched = dict(document)
    for name in {root(op['path']) for op in patch} & patched.keys():
        patched[name] = copy.deepcopy(patched[name])
    for op in copy.deepcopy(patch):
        try:
            patched = jsonpatch.JsonPatch([op]).apply(patched, in_place=True)
        except _FAILURES as e:
            raise exception.PatchError(patch=op, reason=e)
    changes = {}
    for name in document:
        field = fields[name]
        new = patched.get(name, field.removed)
        if new != document[name]:
            changes[name] = field.check(request, name, new)
    return changes


def edited_key_by_key(patch) -> set[str]:
    """The fields a patch only edits below their top level
    (``/extra/key``), never replaces or removes whole (``/extra``)."""
    below = {root(op['path']) for op in patch
             if op['path'].count('/') > 1}
    whole = {root(op['path']) for op in patch
             if op['path'].count('/') == 1}
    return below - whole
