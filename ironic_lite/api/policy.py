"""Who may do what: oslo.policy rules, one per API operation.

The defaults are Ironic's secure-RBAC ones, as Ironic declared them when it
introduced them (Wallaby): system-scoped personas (an administrator,
``role:admin and system_scope:all``, a member and a reader) and, for nodes
and ports, the projects that own or lease the node. A 1.49 client cannot
see or set ``owner``/``lessee`` (they are API fields from 1.50 and 1.65),
so a project-scoped caller sees only the nodes an operator gave its
project by other means: none, on a fresh ironic-lite. Each rule declares
its scope types as Ironic does; ``[oslo_policy]enforce_scope`` stays off
by default, as it was in Ironic then.

Ironic's legacy rules (the ``admin``, ``baremetal_admin`` and
``baremetal_observer`` roles) stay as deprecated alternatives: existing
deployments keep working with ``[oslo_policy]enforce_new_defaults =
false`` (oslo.policy's default is true).

As in Ironic, only Keystone callers are held to the policy: with
``noauth`` and ``http_basic`` every caller is an administrator.
"""

import copy
import threading
import time

from oslo_log import versionutils
from oslo_policy import policy

from ironic_lite.common import exception
from ironic_lite.conf import CONF

SYSTEM_ADMIN = 'role:admin and system_scope:all'
SYSTEM_MEMBER = 'role:member and system_scope:all'
SYSTEM_READER = 'role:reader and system_scope:all'

# The projects of a node: a caller's project_id against the node's owner
# and lessee (see node_target).
PROJECT_MEMBER = ('role:member and '
                  '(project_id:%(node.owner)s or project_id:%(node.lessee)s)')
PROJECT_READER = ('role:reader and '
                  '(project_id:%(node.owner)s or project_id:%(node.lessee)s)')
PROJECT_OWNER_ADMIN = 'role:admin and project_id:%(node.owner)s'
PROJECT_OWNER_MEMBER = 'role:member and project_id:%(node.owner)s'
PROJECT_LESSEE_ADMIN = 'role:admin and project_id:%(node.lessee)s'


def _either(*check_strs: str) -> str:
    return ' or '.join('(%s)' % check for check in check_strs)


SYSTEM_OR_PROJECT_MEMBER = _either(SYSTEM_MEMBER, PROJECT_MEMBER)
SYSTEM_OR_PROJECT_READER = _either(SYSTEM_READER, PROJECT_READER)
# Operating a node: its owner's members, its lessee's admins.
SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN = _either(
    SYSTEM_MEMBER, PROJECT_OWNER_MEMBER, PROJECT_LESSEE_ADMIN)
SYSTEM_ADMIN_OR_OWNER_ADMIN = _either(SYSTEM_ADMIN, PROJECT_OWNER_ADMIN)
SYSTEM_MEMBER_OR_OWNER_ADMIN = _either(SYSTEM_MEMBER, PROJECT_OWNER_ADMIN)
SYSTEM_MEMBER_OR_OWNER_MEMBER = _either(SYSTEM_MEMBER, PROJECT_OWNER_MEMBER)
# Lists: anyone who may read may list, filtered to the nodes of the
# caller's project unless the ``list_all`` rule says otherwise.
API_READER = 'role:reader'

SYSTEM = ['system']
SYSTEM_AND_PROJECT = ['system', 'project']

BASE_RULES = [
    policy.RuleDefault(
        'admin_api', 'role:admin or role:administrator',
        description='Legacy rule for cloud admin access'),
    policy.RuleDefault(
        'public_api', 'is_public_api:True',
        description='Internal flag for public API routes'),
    policy.RuleDefault(
        'show_password', '!',
        description='Show or mask secrets within node driver information '
        'in API responses'),
    policy.RuleDefault(
        'show_instance_secrets', '!',
        description='Show or mask secrets within instance information in '
        'API responses'),
    policy.RuleDefault(
        'is_member', '(project_domain_id:default or project_domain_id:None)'
        ' and (project_name:demo or project_name:baremetal)',
        description='May be used to restrict access to specific projects'),
    policy.RuleDefault(
        'is_observer', 'rule:is_member and (role:observer or '
        'role:baremetal_observer)',
        description='Read-only API access'),
    policy.RuleDefault(
        'is_admin', 'rule:admin_api or (rule:is_member and '
        'role:baremetal_admin)',
        description='Full read/write API access'),
    policy.RuleDefault(
        'is_node_owner', 'project_id:%(node.owner)s',
        description='Owner of node'),
    policy.RuleDefault(
        'is_node_lessee', 'project_id:%(node.lessee)s',
        description='Lessee of node'),
]

_LEGACY_ADMIN = 'rule:is_admin'
_LEGACY_READER = 'rule:is_admin or rule:is_observer'


def _reason(resource: str) -> str:
    return ('The baremetal %s API now knows system and project scopes and '
            'the admin, member and reader roles; the legacy rules, which '
            'rely on an admin project, will go.' % resource)


def _rule(name: str, check_str: str, scope_types: list[str],
          description: str, operations: list[tuple[str, str]],
          legacy: str) -> policy.DocumentedRuleDefault:
    """A rule with Ironic's legacy default ``legacy`` as its deprecated
    alternative."""
    resource = name.split(':')[1]
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, scope_types=scope_types,
        description=description,
        operations=[{'path': path, 'method': method}
                    for method, path in operations],
        deprecated_rule=policy.DeprecatedRule(
            name, legacy, deprecated_reason=_reason(resource),
            deprecated_since=versionutils.deprecated.WALLABY))


_NODE = '/nodes/{node_ident}'

NODE_RULES = [
    _rule('baremetal:node:create', SYSTEM_ADMIN, SYSTEM,
          'Create Node records', [('POST', '/nodes')], _LEGACY_ADMIN),
    _rule('baremetal:node:list', API_READER, SYSTEM_AND_PROJECT,
          'Retrieve multiple Node records, filtered by an explicit owner '
          'or the client project_id',
          [('GET', '/nodes'), ('GET', '/nodes/detail')],
          'rule:baremetal:node:get'),
    _rule('baremetal:node:list_all', SYSTEM_READER, SYSTEM,
          'Retrieve multiple Node records',
          [('GET', '/nodes'), ('GET', '/nodes/detail')],
          'rule:baremetal:node:get'),
    _rule('baremetal:node:get', SYSTEM_OR_PROJECT_READER,
          SYSTEM_AND_PROJECT, 'Retrieve a single Node record',
          [('GET', _NODE)], _LEGACY_READER),
    _rule('baremetal:node:update', SYSTEM_OR_PROJECT_MEMBER,
          SYSTEM_AND_PROJECT, 'Generalized update of node records',
          [('PATCH', _NODE)], _LEGACY_ADMIN),
    # What a PATCH of some paths answers to instead (see the node
    # controller's patch_rules).
    _rule('baremetal:node:update_extra', SYSTEM_OR_PROJECT_MEMBER,
          SYSTEM_AND_PROJECT, 'Update Node extra field',
          [('PATCH', _NODE)], 'rule:baremetal:node:update'),
    _rule('baremetal:node:update_instance_info',
          SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, SYSTEM_AND_PROJECT,
          'Update Node instance_info field', [('PATCH', _NODE)],
          'rule:baremetal:node:update'),
    _rule('baremetal:node:disable_cleaning', SYSTEM_MEMBER, SYSTEM,
          'Disable Node disk cleaning', [('PATCH', _NODE)],
          'rule:baremetal:node:update'),
    *(_rule('baremetal:node:update:%s' % field, check_str,
            SYSTEM_AND_PROJECT, 'Governs if node %s field can be updated '
            'via the API clients.' % described, [('PATCH', _NODE)],
            _LEGACY_ADMIN)
      for field, check_str, described in (
          ('driver_info', SYSTEM_MEMBER_OR_OWNER_MEMBER, 'driver_info'),
          ('properties', SYSTEM_MEMBER_OR_OWNER_MEMBER, 'properties'),
          ('chassis_uuid', SYSTEM_ADMIN, 'chassis_uuid'),
          ('instance_uuid', SYSTEM_MEMBER_OR_OWNER_MEMBER,
           'instance_uuid'),
          ('driver_interfaces', SYSTEM_MEMBER_OR_OWNER_ADMIN,
           'driver and driver interfaces'),
          ('conductor_group', SYSTEM_MEMBER, 'conductor_group'),
          ('name', SYSTEM_MEMBER_OR_OWNER_MEMBER, 'name'))),
    _rule('baremetal:node:delete', SYSTEM_ADMIN, SYSTEM_AND_PROJECT,
          'Delete Node records', [('DELETE', _NODE)], _LEGACY_ADMIN),
    _rule('baremetal:node:validate', SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN,
          SYSTEM_AND_PROJECT, 'Request active validation of Nodes',
          [('GET', _NODE + '/validate')], _LEGACY_ADMIN),
    _rule('baremetal:node:set_maintenance',
          SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, SYSTEM_AND_PROJECT,
          'Set maintenance flag, taking a Node out of service',
          [('PUT', _NODE + '/maintenance')], _LEGACY_ADMIN),
    _rule('baremetal:node:clear_maintenance',
          SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, SYSTEM_AND_PROJECT,
          'Clear maintenance flag, placing the Node into service again',
          [('DELETE', _NODE + '/maintenance')], _LEGACY_ADMIN),
    _rule('baremetal:node:get_boot_device', SYSTEM_MEMBER_OR_OWNER_ADMIN,
          SYSTEM_AND_PROJECT, 'Retrieve Node boot device metadata',
          [('GET', _NODE + '/management/boot_device'),
           ('GET', _NODE + '/management/boot_device/supported')],
          _LEGACY_READER),
    _rule('baremetal:node:set_boot_device', SYSTEM_MEMBER_OR_OWNER_ADMIN,
          SYSTEM_AND_PROJECT, 'Change Node boot device',
          [('PUT', _NODE + '/management/boot_device')], _LEGACY_ADMIN),
    _rule('baremetal:node:get_states', SYSTEM_OR_PROJECT_READER,
          SYSTEM_AND_PROJECT, 'View Node power and provision state',
          [('GET', _NODE + '/states')], _LEGACY_READER),
    _rule('baremetal:node:set_power_state', SYSTEM_OR_PROJECT_MEMBER,
          SYSTEM_AND_PROJECT, 'Change Node power status',
          [('PUT', _NODE + '/states/power')], _LEGACY_ADMIN),
    _rule('baremetal:node:set_provision_state',
          SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, SYSTEM_AND_PROJECT,
          'Change Node provision status',
          [('PUT', _NODE + '/states/provision')], _LEGACY_ADMIN),
    _rule('baremetal:node:vif:list', SYSTEM_OR_PROJECT_READER,
          SYSTEM_AND_PROJECT, 'List VIFs attached to node',
          [('GET', _NODE + '/vifs')], _LEGACY_ADMIN),
    _rule('baremetal:node:vif:attach',
          SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, SYSTEM_AND_PROJECT,
          'Attach a VIF to a node', [('POST', _NODE + '/vifs')],
          _LEGACY_ADMIN),
    _rule('baremetal:node:vif:detach',
          SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, SYSTEM_AND_PROJECT,
          'Detach a VIF from a node',
          [('DELETE', _NODE + '/vifs/{node_vif_ident}')], _LEGACY_ADMIN),
    _rule('baremetal:node:traits:list', SYSTEM_OR_PROJECT_READER,
          SYSTEM_AND_PROJECT, 'List node traits',
          [('GET', _NODE + '/traits')], _LEGACY_READER),
    _rule('baremetal:node:traits:set', SYSTEM_MEMBER_OR_OWNER_ADMIN,
          SYSTEM_AND_PROJECT, 'Add a trait to, or replace all traits of, '
          'a node',
          [('PUT', _NODE + '/traits'), ('PUT', _NODE + '/traits/{trait}')],
          _LEGACY_ADMIN),
    _rule('baremetal:node:traits:delete', SYSTEM_MEMBER_OR_OWNER_ADMIN,
          SYSTEM_AND_PROJECT, 'Remove one or all traits from a node',
          [('DELETE', _NODE + '/traits'),
           ('DELETE', _NODE + '/traits/{trait}')], _LEGACY_ADMIN),
]

PORT_RULES = [
    _rule('baremetal:port:get', SYSTEM_OR_PROJECT_READER,
          SYSTEM_AND_PROJECT, 'Retrieve Port records',
          [('GET', '/ports/{port_id}'), ('GET', _NODE + '/ports'),
           ('GET', _NODE + '/ports/detail')], _LEGACY_READER),
    _rule('baremetal:port:list', API_READER, SYSTEM_AND_PROJECT,
          'Retrieve multiple Port records, filtered by owner',
          [('GET', '/ports'), ('GET', '/ports/detail')],
          'rule:baremetal:port:get'),
    _rule('baremetal:port:list_all', SYSTEM_READER, SYSTEM,
          'Retrieve multiple Port records',
          [('GET', '/ports'), ('GET', '/ports/detail')],
          'rule:baremetal:port:get'),
    _rule('baremetal:port:create', SYSTEM_ADMIN_OR_OWNER_ADMIN,
          SYSTEM_AND_PROJECT, 'Create Port records', [('POST', '/ports')],
          _LEGACY_ADMIN),
    _rule('baremetal:port:delete', SYSTEM_ADMIN_OR_OWNER_ADMIN,
          SYSTEM_AND_PROJECT, 'Delete Port records',
          [('DELETE', '/ports/{port_id}')], _LEGACY_ADMIN),
    _rule('baremetal:port:update', SYSTEM_MEMBER_OR_OWNER_ADMIN,
          SYSTEM_AND_PROJECT, 'Update Port records',
          [('PATCH', '/ports/{port_id}')], _LEGACY_ADMIN),
]

OTHER_RULES = [
    _rule('baremetal:driver:get', SYSTEM_READER, SYSTEM,
          'View list of available drivers',
          [('GET', '/drivers'), ('GET', '/drivers/{driver_name}')],
          _LEGACY_READER),
    _rule('baremetal:driver:get_properties', SYSTEM_READER, SYSTEM,
          'View driver-specific properties',
          [('GET', '/drivers/{driver_name}/properties')], _LEGACY_READER),
    # GET /nodes/{node_ident}/conductor and the membership history are
    # ironic-lite's own.
    _rule('baremetal:conductor:get', SYSTEM_READER, SYSTEM,
          'Retrieve Conductor records',
          [('GET', '/conductors'), ('GET', '/conductors/{hostname}'),
           ('GET', _NODE + '/conductor'),
           ('GET', '/conductors/{hostname}/events'),
           ('GET', '/conductor_events')], _LEGACY_READER),
    # Not Ironic's: ironic-lite's redundancy extensions.
    _rule('baremetal:conductor:get_impact', SYSTEM_READER, SYSTEM,
          'Preview which nodes would move, and which would be orphaned, '
          'if a conductor stopped',
          [('GET', '/conductors/{hostname}/impact')], _LEGACY_READER),
    _rule('baremetal:conductor_group:get', SYSTEM_READER, SYSTEM,
          'Retrieve the redundancy summary of every conductor group',
          [('GET', '/conductor_groups')], _LEGACY_READER),
    # Not Ironic's: ironic-lite's Prometheus endpoint.
    _rule('baremetal:metrics:get', SYSTEM_READER, SYSTEM,
          'Read the Prometheus metrics, unless [api]metrics_public',
          [('GET', '/metrics')], _LEGACY_READER),
]

# The rules as declared, scope types included: the documentation (the
# policy sample says "Intended scope(s)").
DOCUMENTED_RULES = BASE_RULES + NODE_RULES + PORT_RULES + OTHER_RULES


def _scope_not_enforced(rule: policy.RuleDefault) -> policy.RuleDefault:
    # oslo.policy (>= 4.5) enforces the scope types of every rule that has
    # them, with no [oslo_policy]enforce_scope to turn that off. Ironic's
    # secure-RBAC defaults came with enforce_scope off: a project-scoped
    # token is judged by the check strings alone (and the legacy rules
    # still work for the admin project), so the rules enforced carry no
    # scope types.
    enforced = copy.copy(rule)
    enforced.scope_types = None
    return enforced


# The rules enforced.
RULES = [_scope_not_enforced(rule) for rule in DOCUMENTED_RULES]

# What a node rule may look at besides the node's owner and lessee: the
# node's fields, as Ironic names them in its targets ("node.owner" and the
# like).
NODE_TARGET_FIELDS = ('uuid', 'name', 'driver', 'conductor_group',
                      'resource_class', 'instance_uuid', 'provision_state',
                      'power_state', 'maintenance', 'protected')
# What a node row must hold for node_target.
NODE_POLICY_COLUMNS = ('owner', 'lessee')

_ENFORCER = None
_LOCK = threading.Lock()

# How often, at most, the enforcer looks whether the policy files changed.
POLICY_RECHECK_SECONDS = 5.0


def list_rules():
    """For oslo-policy-generator."""
    return DOCUMENTED_RULES


class _Enforcer(policy.Enforcer):
    """An enforcer that looks at its policy files at most once every
    :data:`POLICY_RECHECK_SECONDS`.

    oslo.policy looks for the policy file and every policy directory, and
    stats them, on each ``enforce``: ten system calls and most of a
    millisecond per small request. An edited policy file still takes
    effect, within seconds, without a restart.
    """

    def __init__(self, *args, **kwargs):
        self._next_check = 0.0
        # Changes whenever the rules may have (see check()).
        self.generation = 0
        super().__init__(*args, **kwargs)

    def set_rules(self, *args, **kwargs) -> None:
        self.generation += 1
        super().set_rules(*args, **kwargs)

    def load_rules(self, force_reload: bool = False) -> None:
        now = time.monotonic()
        if not force_reload and now < self._next_check:
            return
        super().load_rules(force_reload)
        self._next_check = now + POLICY_RECHECK_SECONDS

    def clear(self) -> None:
        super().clear()
        self._next_check = 0.0
        self.generation += 1


def get_enforcer() -> policy.Enforcer:
    enforcer = _ENFORCER
    if enforcer is not None:
        return enforcer
    return _make_enforcer()


def _make_enforcer() -> policy.Enforcer:
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is None:
            enforcer = _Enforcer(CONF)
            enforcer.register_defaults(RULES)
            _ENFORCER = enforcer
        return _ENFORCER


def reset() -> None:
    """Forget the enforcer (tests; a changed policy file or config)."""
    global _ENFORCER
    with _LOCK:
        _ENFORCER = None


def _credentials(context) -> dict:
    # The legacy rules look at the project's name, as Ironic's did.
    values = context.to_policy_values()
    values['project_name'] = getattr(context, 'project_name', None)
    return values


def _node_target(credentials: dict, values: dict) -> dict:
    """The target of a node rule, as Ironic builds it: the caller's own
    values, and the node's fields under ``node.``.

    An owner or lessee the node has not is left out, not set to None:
    oslo.policy would compare its text, 'None', with the project_id of a
    caller without a project (system or domain scope) and let
    ``project_id:%(node.owner)s`` pass for every node nobody owns.
    """
    target = dict(credentials)
    for field, value in values.items():
        if value is not None or field not in NODE_POLICY_COLUMNS:
            target['node.%s' % field] = value
    return target


def node_target(row, credentials: dict | None = None) -> dict:
    """The target of a node rule for the node ``row``."""
    return _node_target(credentials or {}, {
        field: getattr(row, field, None)
        for field in NODE_TARGET_FIELDS + NODE_POLICY_COLUMNS})


def _is_keystone() -> bool:
    return CONF.auth_strategy == 'keystone'


def _allowed(rule: str, target: dict, credentials: dict) -> bool:
    try:
        return get_enforcer().enforce(rule, target, credentials)
    except policy.InvalidScope:
        return False


def authorize(rule: str, context, target: dict | None = None) -> None:
    """:raises HTTPForbidden: ``context`` may not do ``rule``.

    Only Keystone callers are held to the policy; with the other
    strategies everyone is an administrator.
    """
    if not _is_keystone():
        return
    credentials = _credentials(context)
    if target is None:
        # As Ironic: the caller's own values stand for the target of a
        # rule about no particular object.
        target = dict(credentials)
    if not _allowed(rule, target, credentials):
        raise exception.HTTPForbidden(resource=rule)


def authorize_node(request, rule: str, row, ident: str | None = None,
                   conceal: bool = False) -> None:
    """:func:`authorize` the caller of ``request`` to do ``rule`` to the
    node ``row``, once it is read, as Ironic does: first whether the
    caller may see the node at all (``baremetal:node:get``), then
    ``rule``.

    :raises NodeNotFound: a project-scoped caller (any caller, with
        ``conceal``) may not see the node: Ironic does not tell a project
        about the nodes of others (``ident``: the node as the request
        named it).
    :raises HTTPForbidden: a caller without a project may not see the
        node, or the caller may see it but not do ``rule``.
    """
    if not _is_keystone():
        return
    credentials = _credentials(request.context)
    target = node_target(row, credentials)
    if not _allowed('baremetal:node:get', target, credentials):
        if conceal or credentials.get('project_id'):
            raise exception.NodeNotFound(node=ident or row.uuid)
        raise exception.HTTPForbidden(resource='baremetal:node:get')
    if rule != 'baremetal:node:get' and not _allowed(rule, target,
                                                     credentials):
        raise exception.HTTPForbidden(resource=rule)


def authorize_node_all(request, rules: list[str], row,
                       ident: str | None = None) -> None:
    """:func:`authorize_node` for the first of ``rules``, then each of the
    others against the node, in order: the first refusing one is named."""
    authorize_node(request, rules[0], row, ident)
    if not _is_keystone():
        return
    credentials = _credentials(request.context)
    target = node_target(row, credentials)
    for rule in rules[1:]:
        if not _allowed(rule, target, credentials):
            raise exception.HTTPForbidden(resource=rule)


def _port_target(port, credentials: dict) -> dict:
    # A port is as visible as its node; its node's owner and lessee are
    # the target.
    return _node_target(credentials, {
        'owner': getattr(port, 'node_owner', None),
        'lessee': getattr(port, 'node_lessee', None)})


def authorize_port(request, rule: str, port, ident: str) -> None:
    """:func:`authorize` the caller of ``request`` to do ``rule`` to the
    port ``port`` (as the DB layer reads ports: with its node's owner and
    lessee), as Ironic does: a caller who may not see the port's node
    is told the port does not exist.

    :raises PortNotFound: the caller may not see the port's node.
    :raises HTTPForbidden: the caller may see it but not do ``rule``.
    """
    if not _is_keystone():
        return
    credentials = _credentials(request.context)
    target = _port_target(port, credentials)
    if not _allowed('baremetal:node:get', target, credentials):
        raise exception.PortNotFound(port=ident)
    if not _allowed(rule, target, credentials):
        raise exception.HTTPForbidden(resource=rule)


def authorize_port_create(request, node_row) -> None:
    """``baremetal:port:create`` against the node the new port is for
    (None: no such node; the caller hears of that only if the policy lets
    it create ports at all, as in Ironic)."""
    if not _is_keystone():
        return
    credentials = _credentials(request.context)
    target = _node_target(credentials, {
        'owner': getattr(node_row, 'owner', None),
        'lessee': getattr(node_row, 'lessee', None)})
    if not _allowed('baremetal:port:create', target, credentials):
        raise exception.HTTPForbidden(resource='baremetal:port:create')


def list_project(request, resource: str) -> str | None:
    """Which nodes' ``resource`` (``node`` or ``port``) records the caller
    of ``request`` may list, as Ironic decides it: all of them
    (``baremetal:<resource>:list_all``: None), or, for a project-scoped
    caller, those of the nodes its project owns or leases
    (``baremetal:<resource>:list``: that project's id).

    :raises HTTPForbidden: neither rule lets the caller list.
    """
    if not _is_keystone():
        return None
    credentials = _credentials(request.context)
    list_all = 'baremetal:%s:list_all' % resource
    if _allowed(list_all, dict(credentials), credentials):
        return None
    project = credentials.get('project_id')
    if not project:
        raise exception.HTTPForbidden(resource=list_all)
    authorize('baremetal:%s:list' % resource, request.context)
    return project


# The answers of check() about no particular object, per rule and caller,
# for as long as the enforcer keeps the same rules: ((enforcer, its
# generation), answers).
_ANSWERS: tuple[object, dict] = (None, {})
# Callers are few (a handful of services and roles), but a client chooses
# its headers under noauth: the memory stays bounded whatever it sends.
_MAX_ANSWERS = 1024


def _caller_key(credentials) -> tuple | None:
    """The caller's policy values, hashable; None if they are not.

    oslo.context's values warn on every read of a deprecated key, and
    that warning costs as much as the rest: read them as stored.
    """
    parts = (getattr(credentials, '_data', None),
             getattr(credentials, '_deprecated', None))
    if not isinstance(parts[0], dict) or not isinstance(parts[1], dict):
        parts = (dict(credentials),)
    try:
        key = tuple(sorted(
            (name, tuple(value) if isinstance(value, list) else value)
            for part in parts for name, value in part.items()))
        hash(key)
    except TypeError:
        return None
    return key


def check(rule: str, context, target: dict | None = None) -> bool:
    """Whether ``context`` passes ``rule``, whatever the strategy (the
    secrets of :data:`show_password` are masked for every caller unless
    the policy says otherwise).

    About no particular object (no ``target``), the answer depends only on
    the rule and the caller: it is worked out once per caller while the
    rules stay the same (oslo.policy takes most of a tenth of a
    millisecond for each, and a node shown asks twice)."""
    global _ANSWERS
    credentials = _credentials(context)
    if target is not None:
        return _allowed(rule, target, credentials)
    key = _caller_key(credentials)
    enforcer = get_enforcer()
    if key is None or not isinstance(enforcer, _Enforcer):
        return _allowed(rule, dict(credentials), credentials)
    enforcer.load_rules()  # at most every POLICY_RECHECK_SECONDS
    rules = (enforcer, enforcer.generation)
    known, answers = _ANSWERS
    if known != rules or len(answers) >= _MAX_ANSWERS:
        answers = {}
        _ANSWERS = (rules, answers)
    key = (rule, key)
    answer = answers.get(key)
    if answer is None:
        answer = answers[key] = _allowed(rule, dict(credentials),
                                         credentials)
    return answer


def check_once(request, rule: str) -> bool:
    """:func:`check` for the caller of ``request``, asked once per request
    (a listing shows the secrets of many nodes)."""
    answers = request.environ.setdefault('ironic_lite.policy.checks', {})
    if rule not in answers:
        answers[rule] = check(rule, request.context)
    return answers[rule]
