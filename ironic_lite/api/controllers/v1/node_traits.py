"""/v1/nodes/{node_ident}/traits (1.37): the node's traits, which the
scheduler (Placement, through Nova) matches flavors against."""

import re

import os_traits
import pecan

from ironic_lite.api import expose
from ironic_lite.api import policy
from ironic_lite.api import request_body
from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import node_management
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception

_CUSTOM_TRAIT = re.compile(r'^CUSTOM_[A-Z0-9_]+$')
_STANDARD_TRAITS = frozenset(os_traits.get_traits())
_MAX_LENGTH = 255
_ONE_OR_ALL = ('A single node trait may be added via PUT '
               '/v1/nodes/<node identifier>/traits/<trait> with no body, '
               'or all node traits may be replaced via PUT '
               '/v1/nodes/<node identifier>/traits with the list of traits '
               'specified in the request body.')


def is_valid_trait(name) -> bool:
    """A standard trait of os-traits, or a custom one (``CUSTOM_``, then
    A-Z, 0-9 and _), of at most 255 characters."""
    if not isinstance(name, str) or not 0 < len(name) <= _MAX_LENGTH:
        return False
    if os_traits.is_custom(name):
        return bool(_CUSTOM_TRAIT.match(name))
    return name in _STANDARD_TRAITS


def check_trait(name, prefix: str = 'Invalid trait') -> str:
    """:raises Invalid: not a valid trait (Ironic's message)."""
    if not is_valid_trait(name):
        raise exception.Invalid(
            '%s. A valid trait must be no longer than 255 characters. '
            'Standard traits are defined in the os_traits library. A custom '
            'trait must start with the prefix CUSTOM_ and use the following '
            'characters: A-Z, 0-9 and _' % prefix)
    return name


def _traits_of(body) -> list[str]:
    """The trait list of a ``{"traits": [...]}`` body, validated."""
    if not isinstance(body, dict) or set(body) != {'traits'}:
        unknown = sorted(set(body) - {'traits'}) if isinstance(
            body, dict) else None
        if unknown:
            raise exception.Invalid('Unknown argument: "%s"' % unknown[0])
        raise exception.Invalid(_ONE_OR_ALL)
    traits = body['traits']
    if not isinstance(traits, list):
        raise exception.Invalid(
            'Invalid input for field/attribute traits. Value: %r. '
            'Value should be a list' % (traits,))
    for trait in traits:
        check_trait(trait)
    return traits


class NodeTraitsController(node_management.NodeItems):
    """GET, PUT and DELETE /v1/nodes/{node_ident}/traits[/{trait}]."""

    since = versions.Minor.TRAITS

    @expose.expose(types.jsontype)
    def get_all(self):
        request = pecan.request
        row = self.node(request)
        policy.authorize_node(
            request, 'baremetal:node:traits:list', row, self.node_ident)
        return {'traits': list(row.traits or [])}

    @expose.expose(None, types.text, status_code=204)
    def put(self, trait=None):
        request = pecan.request
        body = request_body.document(request.environ)
        if (trait is None) == (body is None):
            raise exception.Invalid(_ONE_OR_ALL)
        if trait is not None:
            traits, replace = [check_trait(trait)], False
        else:
            traits, replace = _traits_of(body), True
        row = self.node(request)
        policy.authorize_node(
            request, 'baremetal:node:traits:set', row, self.node_ident)
        request.rpcapi.add_node_traits(request.context, row, traits,
                                       replace=replace)
        if trait is not None:
            pecan.response.location = link.build_url(
                request, 'nodes', self.node_ident, 'traits', trait)

    @expose.expose(None, types.text, status_code=204)
    def delete(self, trait=None):
        request = pecan.request
        row = self.node(request)
        policy.authorize_node(
            request, 'baremetal:node:traits:delete', row, self.node_ident)
        request.rpcapi.remove_node_traits(
            request.context, row, None if trait is None else [trait])
