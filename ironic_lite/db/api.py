"""The database interface the rest of ironic-lite uses.

Callers get one shared :class:`~ironic_lite.db.sqlalchemy.api.Connection`
per process. It speaks in rows (model instances, detached from any session)
and raises ironic-lite exceptions; it knows no business rules.
"""

import threading

_LOCK = threading.Lock()
_INSTANCE = None


def get_instance():
    """The process-wide database connection, created on first use."""
    global _INSTANCE
    with _LOCK:
        if _INSTANCE is None:
            from ironic_lite.db.sqlalchemy import api as sqlalchemy_api
            _INSTANCE = sqlalchemy_api.Connection()
        return _INSTANCE


def set_instance(connection) -> None:
    """Replace the process-wide connection (tests, or a reconfiguration)."""
    global _INSTANCE
    with _LOCK:
        _INSTANCE = connection


def discard_instance() -> None:
    """Close the process-wide connection's pool, if one was made, and
    forget it: a process about to fork keeps no connection a child would
    share."""
    global _INSTANCE
    with _LOCK:
        instance, _INSTANCE = _INSTANCE, None
    if instance is not None:
        instance.dispose()
