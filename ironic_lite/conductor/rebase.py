"""Changes computed from a node as a caller read it, applied to the node as
it is under its lock.

The API applies a JSON patch to the node it read and sends the changed
fields with the values it read. If another write came in between, the
changes still apply when they do not overlap it: a JSON document (``extra``,
``properties``, ...) is compared key by key, so two clients editing different
keys both land, in either order with the same result. Anything else that
changed meanwhile is a conflict, and the caller applies its patch again.
Only documents the patch edits key by key are merged: one it replaces whole
must still be what the caller read, or the replacement would not be what
the patch says.
"""

import json


def same(stored, expected) -> bool:
    """Whether two values are equal as JSON sees them (``True`` is not
    ``1``; a NaN equals itself; key order does not matter)."""
    return (json.dumps(stored, sort_keys=True, default=str)
            == json.dumps(expected, sort_keys=True, default=str))


def _differs(first: dict, second: dict, key) -> bool:
    if (key in first) != (key in second):
        return True
    return key in first and not same(first[key], second[key])


def _merge_keys(base: dict, new: dict, now: dict) -> dict | None:
    """``now`` with the keys ``new`` changed from ``base``; None where one
    of those keys changed in ``now`` too."""
    changed = [key for key in {**base, **new} if _differs(base, new, key)]
    if any(_differs(base, now, key) for key in changed):
        return None
    merged = dict(now)
    for key in changed:
        if key in new:
            merged[key] = new[key]
        else:
            merged.pop(key, None)
    return merged


def rebase(changes: dict, expected: dict, current,
           mergeable=frozenset()) -> tuple[dict, list[str]]:
    """The changes to write to ``current`` (a node row), and the fields in
    conflict (nothing may be written if there are any).

    :param changes: new values of fields, computed from ``expected``.
    :param expected: the values those fields had when read.
    :param mergeable: the JSON document fields whose changes were made key
        by key, and so may be merged with other changes to other keys.
    """
    rebased, conflicts = dict(changes), []
    for name in sorted(expected):
        base, now = expected[name], getattr(current, name)
        if same(now, base):
            continue
        new = changes.get(name, base)
        merged = None
        if name in mergeable and all(isinstance(value, dict)
                                     for value in (base, new, now)):
            merged = _merge_keys(base, new, now)
        if merged is None:
            conflicts.append(name)
        else:
            rebased[name] = merged
    return rebased, conflicts
