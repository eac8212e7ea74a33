"""/v1/nodes: the bare-metal machines, and which conductor serves each."""

import contextlib
import functools
import re
import types as pytypes

import pecan
from oslo_log import log
from oslo_utils import strutils
from oslo_utils import uuidutils
from pecan import rest

from ironic_lite.api import expose
from ironic_lite.api import orphans
from ironic_lite.api import policy
from ironic_lite.api import rings
from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import conductor as conductor_api
from ironic_lite.api.controllers.v1 import fields as api_fields
from ironic_lite.api.controllers.v1 import listing
from ironic_lite.api.controllers.v1 import node_management
from ironic_lite.api.controllers.v1 import node_provision
from ironic_lite.api.controllers.v1 import node_traits
from ironic_lite.api.controllers.v1 import node_vifs
from ironic_lite.api.controllers.v1 import patching
from ironic_lite.api.controllers.v1 import port as port_api
from ironic_lite.api.controllers.v1 import render
from ironic_lite.api.controllers.v1 import routing
from ironic_lite.api.controllers.v1 import types
from ironic_lite.common import exception
from ironic_lite.common import interfaces
from ironic_lite.common import states
from ironic_lite.conf import CONF  # noqa: F401 - tests read it here
from ironic_lite.db.sqlalchemy import models

LOG = log.getLogger(__name__)

Minor = versions.Minor

# Node names: RFC 3986 unreserved characters from 1.10; before, Ironic's
# old host name expression, kept as it was (underscores after the first dot,
# a trailing dot).
_LOGICAL_NAME = re.compile(r'^[A-Z0-9\-._~]+$', re.IGNORECASE)
_HOSTNAME_SAFE = re.compile(r"""^
[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?  # host
(\.[a-z0-9\-_]{0,62}[a-z0-9])*       # domain
\.?                                  # trailing dot
$""", re.VERBOSE)
# The words of Ironic's node URLs, which it refuses as node names.
RESERVED_NAMES = ('maintenance', 'management', 'states', 'vendor_passthru',
                  'detail', 'validate')
_CONDUCTOR_GROUP = re.compile(r'^[a-zA-Z0-9_\-.]*$')
# The faults a conductor records on a node, the only values ?fault= takes.
FAULTS = ('power failure', 'clean failure', 'rescue abort failure')
# What a JSON patch may do, for the OpenAPI document's tests.
_PATCH_OPS = patching.OPS
_PATCH_PATH = patching.PATH
# How many times a PATCH is applied to a node that other writes keep changing
# before the API answers 409 (clients retry 409 on their own).
_PATCH_ATTEMPTS = 5


def is_valid_logical_name(request, name) -> bool:
    """A name the request's version lets a node have or be looked up by."""
    if not isinstance(name, str) or len(name) > 255:
        return False
    if versions.allows(request, Minor.RFC3986_NAMES):
        return bool(_LOGICAL_NAME.match(name))
    return bool(_HOSTNAME_SAFE.match(name))


def is_valid_node_name(request, name) -> bool:
    return (is_valid_logical_name(request, name)
            and not uuidutils.is_uuid_like(name))


def _check_names_acceptable(request, names: list, message: str) -> None:
    """Refuse names the version does not allow; ``message`` has a
    ``%(name)s`` for the first invalid one."""
    versions.require(request, Minor.NODE_NAME, explain=False)
    for name in names:
        if not is_valid_node_name(request, name):
            raise exception.Invalid(message % {'name': name})
        if name in RESERVED_NAMES:
            raise exception.Invalid(
                'The word "%s" is reserved and can not be used as a node '
                'name. Reserved words are: %s.'
                % (name, ', '.join(RESERVED_NAMES)))


def _check_conductor_group(request, field, value):
    if not isinstance(value, str) or len(value) > 255 or \
            not _CONDUCTOR_GROUP.match(value):
        raise exception.InvalidConductorGroup(group=value)
    return value.lower()


def _check_chassis(request, field, value):
    # ironic-lite has no chassis, so none can be named.
    if value is not None:
        raise exception.InvalidParameterValue(
            err='Chassis %s could not be found.' % value)
    return None


def _provision_state_for(request, state: str | None) -> str | None:
    """States older clients do not know, shown as they knew them."""
    if state == states.AVAILABLE and not versions.allows(
            request, Minor.AVAILABLE_STATE):
        return None
    if state == states.INSPECTWAIT and not versions.allows(
            request, Minor.INSPECT_WAIT):
        return states.INSPECTING
    return state


_masked = render.Masked


def NodeField(name: str, check=None, **kwargs) -> api_fields.Field:
    """A node field, introduced at its version in the versions table."""
    return api_fields.Field(name, check,
                            since=versions.NODE_FIELD_SINCE.get(name),
                            **kwargs)


_check_text = api_fields.check_text
_check_document = api_fields.check_document
_check_bool = api_fields.check_bool
_check_uuid = api_fields.check_uuid
_show_time = api_fields.show_time

_PROTECTION_ON_CREATE = ('Cannot specify protected or protected_reason on '
                         'node creation. These fields can only be set for '
                         'active nodes')

FIELDS: dict[str, api_fields.Field] = api_fields.registry(
    NodeField('uuid', _check_uuid, on_patch=False),
    NodeField('name', _check_text(), accepted_before_since=(None,)),
    NodeField('driver', _check_text(255, nullable=False), mandatory=True),
    NodeField('driver_info', _check_document, removed={},
              show=_masked('ssh_key_contents', 'show_password')),
    NodeField('driver_internal_info'),
    NodeField('instance_uuid', _check_uuid),
    NodeField('instance_info', _check_document, removed={},
              show=_masked('image_url', 'show_instance_secrets')),
    NodeField('properties', _check_document, removed={}),
    NodeField('extra', _check_document, removed={}),
    NodeField('chassis_uuid', _check_chassis),
    NodeField('conductor_group', _check_conductor_group, removed='',
              accepted_before_since=('',)),
    NodeField('conductor'),
    NodeField('reservation'),
    NodeField('power_state'),
    NodeField('target_power_state'),
    NodeField('provision_state', show=_provision_state_for),
    NodeField('target_provision_state'),
    NodeField('provision_updated_at', show=_show_time),
    NodeField('last_error'),
    NodeField('maintenance', _check_bool(), removed=False),
    NodeField('maintenance_reason'),
    NodeField('fault'),
    NodeField('console_enabled'),
    NodeField('resource_class', _check_text(80)),
    NodeField('inspection_started_at', show=_show_time),
    NodeField('inspection_finished_at', show=_show_time),
    NodeField('clean_step'),
    NodeField('deploy_step'),
    NodeField('raid_config'),
    NodeField('target_raid_config'),
    NodeField('automated_clean', _check_bool(nullable=True)),
    NodeField('protected', _check_bool(), removed=False,
              refused_on_create=_PROTECTION_ON_CREATE),
    NodeField('protected_reason', _check_text(),
              refused_on_create=_PROTECTION_ON_CREATE),
    NodeField('traits', refused_on_create=(
        'Cannot specify node traits on node creation. Traits must be set '
        'via the node traits API.'), refused_on_patch=(
        'Cannot update node traits via node patch. Node traits should be '
        'updated via the node traits API.')),
    NodeField('created_at', show=_show_time),
    NodeField('updated_at', show=_show_time),
    *(NodeField(name, _check_text(255)) for name in interfaces.NODE_FIELDS),
)

DEFAULT_FIELDS = ('instance_uuid', 'maintenance', 'name', 'power_state',
                  'provision_state', 'uuid')
# The version each list filter needs. Ironic's 406 names that version for
# every filter but the oldest one, provision_state.
_FILTERS_SINCE = {
    'provision_state': Minor.FILTER_PROVISION_STATE,
    'driver': Minor.FILTER_DRIVER,
    'resource_class': Minor.RESOURCE_CLASS,
    'fault': Minor.FAULT,
    'conductor_group': Minor.CONDUCTOR_GROUP,
    'conductor': Minor.CONDUCTORS,
    # An ironic-lite extension: nodes no alive conductor can take.
    'orphaned': Minor.CONDUCTORS,
}
_QUIET_FILTERS = frozenset({'provision_state'})
# A list sorts by the node's API fields that are columns, and by id (the
# default, as in Ironic); never by internal columns (conductor_affinity,
# ring_position), whose order would leak what the API does not show.
# Fields that are columns but not sortable (the JSON documents) get
# Ironic's unquoted message; other unknown keys the quoted one.
_SORTABLE, _UNSORTABLE = api_fields.sort_keys(FIELDS, models.Node)


def visible_fields(request) -> tuple[str, ...]:
    return api_fields.visible(request, FIELDS)


class NodeRenderer(render.Renderer):
    """Turns node rows into API objects at the request's version.

    ``whole`` is a node shown with every field (show, detail, create,
    update): only then does it link to its sub-resources, as in Ironic.
    """

    def __init__(self, request, fields: tuple[str, ...], whole: bool):
        super().__init__(request, FIELDS, fields, 'nodes')
        self.whole = whole

    def conductor_of(self, row) -> str | None:
        try:
            return rings.rings_for(self.request).conductor_for(row)
        except (exception.NoValidHost, exception.TemporaryFailure) as e:
            LOG.debug('No conductor for node %s: %s', row.uuid, e)
            return None

    def value(self, row, field: str):
        if field == 'conductor':
            return self.conductor_of(row)
        if field == 'chassis_uuid':
            return None
        return super().value(row, field)

    def links(self, row) -> dict:
        result = super().links(row)
        if self.whole:
            # As in Ironic, at every version.
            result['ports'] = link.self_and_bookmark(self.request, 'nodes',
                                                     row.uuid, 'ports')
        if self.whole and versions.allows(self.request, Minor.STATES_LINK):
            result['states'] = link.self_and_bookmark(self.request, 'nodes',
                                                      row.uuid, 'states')
        return result


# What a node's links and conductor need, whatever the fields shown.
_ALWAYS_LOADED = ('uuid', 'driver', 'conductor_group')
# What the conductor of a node is worked out from.
_RING_COLUMNS = ('uuid', 'driver', 'conductor_group', 'ring_position')
_NOT_COLUMNS = frozenset({'conductor', 'chassis_uuid'})


# The JSON document columns of a node and the empty document an unset one
# reads as.
_DOCUMENTS = {column.name: column.type._empty
              for column in models.Node.__table__.columns
              if isinstance(column.type, models.JSONEncoded)}


class NodeRowRenderer(render.RowRenderer):
    """:class:`NodeRenderer` for plain rows (``get_node_list`` with
    ``plain``): the field set, the links and each ring worked out once per
    request.

    ``listing``: the rows are only rendered (no policy looks at them), so
    hold only the columns the fields need.
    """

    def __init__(self, request, fields: tuple[str, ...], whole: bool,
                 listing: bool = False):
        self.columns = _row_columns_for(fields, listing)
        special = {}
        if 'conductor' in fields:
            special['conductor'] = self._conductor_getter(
                request, self.columns.index)
        # As in Ironic, a node shown whole links to its ports at every
        # version, and to its states from 1.14.
        sub_links = ()
        if whole:
            sub_links = ('ports',) + (
                ('states',) if versions.allows(request, Minor.STATES_LINK)
                else ())
        super().__init__(request, FIELDS, fields, 'nodes', self.columns,
                         _DOCUMENTS, special=special,
                         # ironic-lite has no chassis.
                         constants={'chassis_uuid': None},
                         sub_links=sub_links)

    @staticmethod
    def _conductor_getter(request, index):
        uuid, driver, group, position = (
            index('uuid'), index('driver'), index('conductor_group'),
            index('ring_position'))
        cache = {}

        def ring_of(key):
            try:
                ring = rings.rings_for(request).get_ring(*key)
            except (exception.NoValidHost,
                    exception.TemporaryFailure) as e:
                LOG.debug('No conductor for nodes of %s: %s', key, e)
                ring = None
            cache[key] = ring
            return ring

        def conductor(row):
            key = (row[driver], row[group])
            ring = cache[key] if key in cache else ring_of(key)
            if ring is None:
                return None
            if row[position] is None:
                return ring.owner(row[uuid])
            return ring.owner_at(row[position])
        return conductor


@functools.lru_cache(maxsize=256)
def _row_columns_for(fields: tuple[str, ...],
                     listing: bool) -> tuple[str, ...]:
    if not listing:
        needed = _ALWAYS_LOADED + ('ring_position',)
    else:
        needed = _RING_COLUMNS if 'conductor' in fields else ('uuid',)
    return tuple(dict.fromkeys(
        needed + tuple(f for f in fields if f not in _NOT_COLUMNS)))


def full(request, row) -> dict:
    """A node with every field the request's version knows."""
    return NodeRenderer(request, visible_fields(request), True).render(row)


def show_node(request, node_ident: str, fields: list[str] | None) -> dict:
    """GET /v1/nodes/{node_ident}: the node, whole or the ``fields`` asked
    for. ``request`` is pecan's, or any object with what the read helpers
    use (environ, version, context, dbapi, ring_manager, host_url).

    :raises IronicLiteException: as the API answers it.
    """
    by, value = _lookup(request, node_ident)
    visible = visible_fields(request)
    refused = None
    try:
        for field in fields or ():
            _check_version_of(request, field)
        shown = listing.return_fields(request, fields, None,
                                      frozenset(visible), visible,
                                      visible)
    except exception.IronicLiteException as e:
        # A node not found is answered first, as Ironic does.
        refused, shown = e, visible
    renderer = NodeRowRenderer(request, shown, fields is None)
    row = request.dbapi.get_node_row(by, value, _with_policy_columns(
        renderer.columns))
    if row is None:
        raise exception.NodeNotFound(node=value)
    policy.authorize_node(request, 'baremetal:node:get', row, value)
    if refused is not None:
        raise refused
    return renderer.render(row)


@functools.lru_cache(maxsize=256)
def _with_policy_columns(columns: tuple[str, ...]) -> tuple[str, ...]:
    # The policy's columns after the renderer's, which reads rows by
    # position.
    return columns + tuple(c for c in policy.NODE_POLICY_COLUMNS
                           if c not in columns)


def get_node(request, ident: str):
    """A node by UUID, or by name where the version allows names.

    :raises InvalidUuidOrName: ``ident`` can be neither.
    :raises NodeNotFound: no such node, or a name before names existed.
    """
    by, value = _lookup(request, ident)
    if by == 'uuid':
        return request.dbapi.get_node_by_uuid(value)
    return request.dbapi.get_node_by_name(value)


def _lookup(request, ident: str) -> tuple[str, str]:
    """('uuid', the canonical UUID) or ('name', the name) to find the node
    ``ident`` names; the errors of :func:`get_node`."""
    if uuidutils.is_uuid_like(ident):
        return 'uuid', types.canonical_uuid(ident)
    if len(ident) > 255 or not _LOGICAL_NAME.match(ident):
        raise exception.InvalidUuidOrName(name=ident)
    if not versions.allows(request, Minor.NODE_NAME):
        # What Ironic answered before names existed.
        raise exception.NodeNotFound(node=ident)
    if not is_valid_logical_name(request, ident):
        raise exception.InvalidUuidOrName(name=ident)
    return 'name', ident


def _check_version_of(request, field: str) -> None:
    api_fields.require_version(request, FIELDS, field)


@contextlib.contextmanager
def _no_host_is_bad_request():
    """A driver or group no conductor serves is the client's mistake: 400,
    not the 404 of NoValidHost, as in Ironic."""
    try:
        yield
    except exception.NoValidHost as e:
        raise exception.Invalid(e.faultstring)


def _parse_new_node(request, body) -> dict:
    """The values of a POST /v1/nodes body, validated."""
    values = api_fields.parse_new(request, FIELDS, body, 'node')
    if values.get('name') is not None:
        _check_names_acceptable(request, [values['name']],
                                "Cannot create node with invalid name "
                                "'%(name)s'")
    values.pop('chassis_uuid', None)
    values['uuid'] = api_fields.new_uuid(values)
    values.setdefault('conductor_group', '')
    values['provision_state'] = (
        states.ENROLL if versions.allows(request, Minor.ENROLL_STATE)
        else states.AVAILABLE)
    return values


def _check_patch(request, patch, reset_interfaces) -> None:
    """A PATCH body: a list of operations Ironic would accept."""
    patching.check(request, FIELDS, patch)
    if reset_interfaces and not _patch_values(patch, '/driver'):
        raise exception.Invalid('The reset_interfaces parameter can only be '
                                "used when changing the node's driver.")


_patch_values = patching.values_at

# The rule a PATCH of a path answers to, as in Ironic: the first prefix
# that matches (so /driver_info before /driver); any other path answers to
# baremetal:node:update. The fields of later versions (owner, lessee...)
# have rules of their own in Ironic; a 1.49 patch cannot name them.
_PATCH_RULES = (
    ('/instance_info', 'baremetal:node:update_instance_info'),
    ('/extra', 'baremetal:node:update_extra'),
    ('/driver_info', 'baremetal:node:update:driver_info'),
    ('/properties', 'baremetal:node:update:properties'),
    ('/chassis_uuid', 'baremetal:node:update:chassis_uuid'),
    ('/instance_uuid', 'baremetal:node:update:instance_uuid'),
    ('/driver', 'baremetal:node:update:driver_interfaces'),
)
_LATER_PATCH_RULES = (
    ('/conductor_group', 'baremetal:node:update:conductor_group'),
    ('/name', 'baremetal:node:update:name'),
)


def patch_rules(patch) -> list[str]:
    """The policy rules a (checked) patch answers to, in Ironic's order;
    the first decides whether the node is seen at all."""
    rules = []
    generic = False
    for op in patch:
        path = op['path']
        rule = next((rule for prefix, rule in _PATCH_RULES[:2]
                     if path.startswith(prefix)), None)
        if rule is None and path.startswith('/automated_clean') and \
                strutils.bool_from_string(op.get('value'),
                                          default=None) is False:
            rule = 'baremetal:node:disable_cleaning'
        if rule is None:
            rule = next((rule for prefix, rule in _PATCH_RULES[2:]
                         if path.startswith(prefix)), None)
        if rule is None and path.lstrip('/') in interfaces.NODE_FIELDS:
            rule = 'baremetal:node:update:driver_interfaces'
        if rule is None:
            rule = next((rule for prefix, rule in _LATER_PATCH_RULES
                         if path.startswith(prefix)), None)
        if rule is None:
            generic = True
        else:
            rules.append(rule)
    if generic or not rules:
        rules.append('baremetal:node:update')
    return rules


def _apply_patch(request, row, patch) -> dict:
    """The changes a checked JSON patch makes to a node, validated."""
    document = {name: None if name == 'chassis_uuid' else getattr(row, name)
                for name in patching.writable(request, FIELDS)}
    changes = patching.apply(request, FIELDS, document, patch)
    changes.pop('chassis_uuid', None)
    return changes


def _patch_node(request, row, patch, reset_interfaces):
    """Apply a checked patch to the node as its conductor holds it; the
    node after.

    The patch is applied to ``row``, and the conductor writes the result
    only if what it changes (a field, or a key of a JSON document the patch
    edits key by key) still holds the value read; if another write changed
    it meanwhile, the patch is applied again to the node as it is now.

    :raises NodeLocked: the node stayed busy or kept changing.
    """
    for attempt in range(1, _PATCH_ATTEMPTS + 1):
        changes = _apply_patch(request, row, patch)
        if not changes and not reset_interfaces:
            return row
        expected = {name: getattr(row, name) for name in changes}
        mergeable = sorted(patching.edited_key_by_key(patch)
                           & set(changes))
        try:
            with _no_host_is_bad_request():
                updated = request.rpcapi.update_node(
                    request.context, _routing_view(row, changes), changes,
                    reset_interfaces=reset_interfaces, expected=expected,
                    mergeable=mergeable)
        except exception.NodeChanged as e:
            LOG.debug('Node %s changed while patched (attempt %d of %d): %s',
                      row.uuid, attempt, _PATCH_ATTEMPTS, e.faultstring)
            host = e.kwargs.get('host')
        else:
            # (None: an answer without the node; read it.)
            return updated or request.dbapi.get_node_whole('uuid', row.uuid)
        # By UUID: another patch may have renamed the node.
        row = request.dbapi.get_node_whole('uuid', row.uuid)
    raise exception.NodeLocked(node=row.uuid,
                               host=host or 'another conductor')


def _routing_view(row, changes: dict | None = None):
    """What the hash ring needs to route work about a node."""
    values = {'uuid': row.uuid, 'driver': row.driver,
              'conductor_group': row.conductor_group}
    values.update({k: v for k, v in (changes or {}).items() if k in values})
    return pytypes.SimpleNamespace(**values)


class NodeStatesController(rest.RestController):
    """GET /v1/nodes/{node_ident}/states, and changes of state (PUT
    .../states/power, .../states/provision)."""

    _custom_actions = {'power': ['PUT'], 'provision': ['PUT']}

    def __init__(self, node_ident: str):
        self.node_ident = node_ident

    @expose.expose(None, body=types.jsontype, status_code=202)
    def power(self, target):
        # (The body is named for WSME's "Missing argument" about it.)
        node_management.set_power_state(pecan.request, self.node_ident,
                                        target)

    @expose.expose(None, body=types.jsontype, status_code=202)
    def provision(self, body):
        node_provision.set_provision_state(pecan.request, self.node_ident,
                                           body, get_node)

    @expose.expose(types.jsontype)
    def get(self):
        request = pecan.request
        row = get_node(request, self.node_ident)
        policy.authorize_node(request, 'baremetal:node:get_states', row,
                              self.node_ident)
        fields = ['console_enabled', 'last_error', 'power_state',
                  'provision_state', 'provision_updated_at',
                  'target_power_state', 'target_provision_state']
        if versions.allows(request, Minor.RAID):
            fields += ['raid_config', 'target_raid_config']
        renderer = NodeRenderer(request, (), False)
        return {field: renderer.value(row, field) for field in sorted(fields)}


class NodeConductorController(rest.RestController):
    """GET /v1/nodes/{node_ident}/conductor: the conductor serving it."""

    def __init__(self, node_ident: str):
        self.node_ident = node_ident

    @pecan.expose()
    def _route(self, args, request=None):
        routing.refuse_extra_segments(args, 0)
        return super()._route(args, request)

    @expose.expose(types.jsontype, types.listtype)
    def get(self, fields=None):
        request = pecan.request
        policy.authorize('baremetal:conductor:get', request.context)
        if not versions.allows(request, Minor.CONDUCTORS):
            raise exception.NotFound()
        row = get_node(request, self.node_ident)
        policy.authorize_node(request, 'baremetal:node:get', row,
                              self.node_ident)
        try:
            hostname = rings.rings_for(request).conductor_for(row)
        except (exception.NoValidHost, exception.TemporaryFailure) as e:
            raise exception.NotFound(
                'No alive conductor can serve node %s: %s' % (row.uuid, e))
        return conductor_api.show(
            request, request.dbapi.get_conductor(hostname), fields)


class NodesController(rest.RestController):
    """The node collection and each node."""

    _custom_actions = {'detail': ['GET'], 'validate': ['GET']}
    _subresources = {'states': NodeStatesController,
                     'conductor': NodeConductorController,
                     'ports': port_api.PortsController,
                     **node_management.SUBRESOURCES,
                     'vifs': node_vifs.NodeVifsController,
                     'traits': node_traits.NodeTraitsController}

    @pecan.expose()
    def _route(self, args, request=None):
        routing.refuse_post_on_member(args, request)
        if len(args) >= 2 and args[1] in self._subresources:
            subresource = self._subresources[args[1]](args[0])
            return subresource._route(args[2:], request)
        if len(args) >= 2 and args[1] and args[0] != 'detail':
            # /nodes/{ident}/ports and the other sub-resources Ironic has
            # and ironic-lite has not (pecan would pass the name as the
            # fields argument of get_one).
            pecan.abort(404)
        routing.refuse_extra_segments(args, 1)
        return super()._route(args, request)

    def _list(self, detail_endpoint: bool, *, marker, limit, sort_key,
              sort_dir, fields, detail, filters: dict):
        request = pecan.request
        # First, as in Ironic: a project-scoped caller lists the nodes of
        # its project.
        project = policy.list_project(request, 'node')
        if fields is not None:
            versions.require(request, Minor.FIELDS, explain=False)
        for field in [*(fields or ()), sort_key]:
            _check_version_of(request, field)
        for name, since in _FILTERS_SINCE.items():
            if filters.get(name) is not None:
                versions.require(request, since,
                                 explain=name not in _QUIET_FILTERS)
        fault = filters.get('fault')
        if fault is not None and fault not in FAULTS:
            raise exception.Invalid(
                'Unrecognized fault "%s" is specified, allowed faults are %s'
                % (fault, FAULTS))
        visible = visible_fields(request)
        shown = listing.list_fields(request, fields, detail, visible,
                                    DEFAULT_FIELDS, detail_endpoint)
        limit = listing.limit_from(limit)
        listing.check_sort(sort_key, sort_dir, _SORTABLE, _UNSORTABLE)

        query = {k: v for k, v in filters.items() if v is not None}
        if project is not None:
            query['project'] = project
        if query.get('conductor_group') is not None:
            query['conductor_group'] = query['conductor_group'].lower()
        if query.pop('chassis_uuid', None) is not None:
            # As Ironic, which looks the chassis up first; there are none.
            raise exception.NotFound('Chassis %s could not be found.'
                                     % filters['chassis_uuid'])
        hostname = query.pop('conductor', None)
        if hostname:
            answering = rings.rings_for(request)
            query['ring_arcs'] = answering.arcs_of(hostname)
            query['served_by'] = (hostname, answering.fingerprint)
        orphaned = query.pop('orphaned', None)
        if orphaned is not None:
            query.update(orphans.node_filters(rings.rings_for(request),
                                              orphaned))

        marker_row = None
        if marker is not None:
            # What a page after the marker needs of it: its id and sort
            # key (the whole node, as an ORM object, cost a second page
            # more than a millisecond).
            marker_uuid = types.canonical_uuid(marker)
            marker_row = request.dbapi.get_node_row(
                'uuid', marker_uuid, tuple(dict.fromkeys(('id', sort_key))))
            if marker_row is None:
                raise exception.NodeNotFound(node=marker_uuid)
        renderer = NodeRowRenderer(request, shown,
                                   detail_endpoint or bool(detail),
                                   listing=True)
        params = listing.page_params(
            [(name, filters.get(name)) for name in sorted(filters)],
            detail_endpoint, fields, detail, sort_key, sort_dir)
        with listing.LARGE_PAGES.turn(limit):
            rows = request.dbapi.get_node_list(query, limit=limit,
                                               marker=marker_row,
                                               sort_key=sort_key,
                                               sort_dir=sort_dir,
                                               columns=renderer.columns,
                                               plain=True)
            result = listing.page(
                request, 'nodes',
                'nodes/detail' if detail_endpoint else 'nodes', rows,
                renderer.render, limit, params)
            del rows
            listing.encode_items(result, 'nodes')
        return result

    @expose.expose_read(types.jsontype, types.uuid, types.uuid,
                        types.boolean, types.boolean, types.text, types.text,
                        types.text, types.text, types.text, types.text,
                        types.text, types.text, types.text, types.text,
                        types.listtype, types.boolean, types.boolean)
    def get_all(self, chassis_uuid=None, instance_uuid=None, associated=None,
                maintenance=None, provision_state=None, marker=None,
                limit=None, sort_key='id', sort_dir='asc', driver=None,
                resource_class=None, fault=None, conductor_group=None,
                conductor=None, fields=None, detail=None, orphaned=None):
        return self._list(
            False, marker=marker, limit=limit, sort_key=sort_key,
            sort_dir=sort_dir, fields=fields, detail=detail,
            filters=dict(
                chassis_uuid=chassis_uuid, instance_uuid=instance_uuid,
                associated=associated, maintenance=maintenance,
                provision_state=provision_state, driver=driver,
                resource_class=resource_class, fault=fault,
                conductor_group=conductor_group, conductor=conductor,
                orphaned=orphaned))

    @expose.expose_read(types.jsontype, types.uuid, types.uuid,
                        types.boolean, types.boolean, types.text, types.text,
                        types.text, types.text, types.text, types.text,
                        types.text, types.text, types.text, types.text,
                        types.boolean)
    def detail(self, chassis_uuid=None, instance_uuid=None, associated=None,
               maintenance=None, provision_state=None, marker=None,
               limit=None, sort_key='id', sort_dir='asc', driver=None,
               resource_class=None, fault=None, conductor_group=None,
               conductor=None, orphaned=None):
        return self._list(
            True, marker=marker, limit=limit, sort_key=sort_key,
            sort_dir=sort_dir, fields=None, detail=None,
            filters=dict(
                chassis_uuid=chassis_uuid, instance_uuid=instance_uuid,
                associated=associated, maintenance=maintenance,
                provision_state=provision_state, driver=driver,
                resource_class=resource_class, fault=fault,
                conductor_group=conductor_group, conductor=conductor,
                orphaned=orphaned))

    @expose.expose(types.jsontype, types.text, types.text)
    def validate(self, node=None, node_uuid=None):
        """The legacy GET /v1/nodes/validate?node=<ident>."""
        return node_management.validate(pecan.request, node_uuid or node)

    @expose.expose_read(types.jsontype, types.text, types.listtype)
    def get_one(self, node_ident, fields=None):
        return show_node(pecan.request, node_ident, fields)

    @expose.expose(types.jsontype, body=types.jsontype, status_code=201)
    def post(self, node):
        request = pecan.request
        policy.authorize('baremetal:node:create', request.context)
        values = _parse_new_node(request, node)
        target = _routing_view(pytypes.SimpleNamespace(**values))
        with _no_host_is_bad_request():
            row = request.rpcapi.create_node(request.context, target,
                                             values)
        if row is None:  # an answer without the node: read it
            row = request.dbapi.get_node_by_uuid(values['uuid'])
        pecan.response.location = link.build_url(request, 'nodes', row.uuid)
        return full(request, row)

    @expose.expose(types.jsontype, types.text, types.boolean,
                   body=types.jsontype)
    def patch(self, node_ident, reset_interfaces=None, patch=None):
        request = pecan.request
        if reset_interfaces is not None:
            versions.require(request, Minor.RESET_INTERFACES, explain=False)
        _check_patch(request, patch, reset_interfaces)
        row = request.dbapi.get_node_whole(*_lookup(request, node_ident))
        policy.authorize_node_all(request, patch_rules(patch), row,
                                  node_ident)
        names = _patch_values(patch, '/name')
        if names:
            _check_names_acceptable(
                request, names, "Node %s: Cannot change name to invalid "
                "name '%%(name)s'" % node_ident)
        return full(request, _patch_node(request, row, patch,
                                         reset_interfaces))

    @expose.expose(None, types.text, status_code=204)
    def delete(self, node_ident):
        request = pecan.request
        row = request.dbapi.get_node_whole(*_lookup(request, node_ident))
        policy.authorize_node(request, 'baremetal:node:delete', row,
                              node_ident)
        with _no_host_is_bad_request():
            request.rpcapi.destroy_node(request.context, _routing_view(row))
