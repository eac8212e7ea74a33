"""Path checks shared by the v1 controllers.

pecan hands the path segments left after a resource to its method as
positional arguments, so ``/v1/conductors/h/x`` would call
``get_one('h', 'x')`` and read ``x`` as ``?fields=``. Every controller
refuses what its methods do not take as a path segment.
"""

import pecan


def refuse_extra_segments(args, allowed: int) -> None:
    """404 when the path has more than ``allowed`` segments (a trailing
    slash, an empty last segment, is not one)."""
    if any(args[allowed:]):
        pecan.abort(404)


def refuse_post_on_member(args, request) -> None:
    """405 for a POST to a member of a collection (``/v1/nodes/<x>``):
    only the collection takes a new member, as in Ironic."""
    request = request or pecan.request
    if request.method == 'POST' and args and args[0] and not any(args[1:]):
        pecan.abort(405)
