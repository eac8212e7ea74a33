"""Where a node sits on the hash rings: the md5 of its UUID.

Kept apart from ``common/hash_ring.py`` and importing nothing of the project:
the database models compute it on insert, and the hash ring module imports
the database, so living in either would make an import cycle.
"""

import hashlib


def ring_position(node_uuid: str) -> str:
    """Where a node sits on every ring: the md5 of its UUID, 32 hex digits.

    Fixed-width lowercase hex orders as the integers tooz compares.
    """
    return hashlib.md5(node_uuid.encode('utf-8'),
                       usedforsecurity=False).hexdigest()
