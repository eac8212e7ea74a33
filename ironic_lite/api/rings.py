"""The hash rings a request answers with, for every resource that names a
node's conductor or filters by it."""

from ironic_lite.common import hash_ring

_RINGS_KEY = 'ironic_lite.hash_rings'


def rings_for(request) -> hash_ring.Rings:
    """The hash rings this request answers with, the same for all of it:
    the ``conductor`` of every node listed and the ``?conductor=``
    filter."""
    rings = request.environ.get(_RINGS_KEY)
    if rings is None:
        rings = request.environ[_RINGS_KEY] = request.ring_manager.current()
    return rings
