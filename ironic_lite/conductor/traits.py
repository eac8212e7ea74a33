"""A node's traits, changed by its conductor under the node's lock."""

from ironic_lite.common import exception

# As many traits as Ironic lets a node have.
MAX_TRAITS_PER_NODE = 50


def _check_limit(node, traits: list[str]) -> None:
    if len(traits) > MAX_TRAITS_PER_NODE:
        raise exception.InvalidParameterValue(
            err='Could not modify traits for node %s as it would exceed the '
                'maximum number of traits per node (%d vs. %d)'
                % (node.uuid, len(traits), MAX_TRAITS_PER_NODE))


def add(task, traits: list[str], replace: bool) -> None:
    """Add ``traits`` to the node's, or make them its only ones."""
    current = [] if replace else list(task.node.traits or [])
    new = current + [trait for trait in dict.fromkeys(traits)
                     if trait not in current]
    _check_limit(task.node, new)
    if new != (task.node.traits or []):
        task.update({'traits': new})


def remove(task, traits: list[str] | None) -> None:
    """Remove ``traits`` (all of them if None).

    :raises NodeTraitNotFound: the node does not have one of them.
    """
    current = list(task.node.traits or [])
    if traits is None:
        traits = current
    for trait in traits:
        if trait not in current:
            raise exception.NodeTraitNotFound(node_id=task.node.uuid,
                                              trait=trait)
    if traits:
        task.update({'traits': [t for t in current if t not in traits]})
