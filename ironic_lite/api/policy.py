"""Who may do what: oslo.policy rules, one per API operation.

The defaults are Ironic's secure-RBAC ones as a 1.49 client sees them:
there are no node ``owner``/``lessee`` fields yet, so the personas are
system-scoped: an administrator (``role:admin and system_scope:all``), a
member, who may operate nodes, and a reader, who may look. Ironic's legacy
rules (the ``admin``, ``baremetal_admin`` and ``baremetal_observer`` roles)
stay as deprecated alternatives: existing deployments keep working with
``[oslo_policy]enforce_new_defaults = false`` (oslo.policy's default is
true, as Ironic's is).

As in Ironic, only Keystone callers are held to the policy: with
``noauth`` and ``http_basic`` every caller is an administrator.
"""

import threading
import time

from oslo_log import versionutils
from oslo_policy import policy

from ironic_lite.common import exception
from ironic_lite.conf import CONF

SYSTEM_ADMIN = 'role:admin and system_scope:all'
SYSTEM_MEMBER = 'role:member and system_scope:all'
SYSTEM_READER = 'role:reader and system_scope:all'

_DEPRECATED_REASON = ('Ironic-lite now has system-scoped admin, member and '
                      'reader personas, as Ironic has since Wallaby.')


def _legacy(name: str, check_str: str) -> policy.DeprecatedRule:
    return policy.DeprecatedRule(
        name, check_str, deprecated_reason=_DEPRECATED_REASON,
        deprecated_since=versionutils.deprecated.WALLABY)


_LEGACY_ADMIN = 'rule:is_admin'
_LEGACY_READER = 'rule:is_admin or rule:is_observer'

BASE_RULES = [
    policy.RuleDefault(
        'admin_api', 'role:admin or role:administrator',
        description='Legacy rule for cloud admin access'),
    policy.RuleDefault(
        'is_member', '(project_domain_id:default or project_domain_id:None)'
        ' and (project_name:demo or project_name:baremetal)',
        description='Legacy rule: a member of the baremetal project'),
    policy.RuleDefault(
        'is_admin', 'rule:admin_api or (rule:is_member and '
        'role:baremetal_admin)',
        description='Legacy rule for full access to the Bare Metal API'),
    policy.RuleDefault(
        'is_observer', 'rule:is_member and (role:observer or '
        'role:baremetal_observer)',
        description='Legacy rule for read-only access'),
    policy.RuleDefault(
        'show_password', '!',
        description='Show or mask secrets within node driver information '
        'in API responses'),
    policy.RuleDefault(
        'show_instance_secrets', '!',
        description='Show or mask secrets within instance information in '
        'API responses'),
]


def _rule(name: str, check_str: str, legacy: str, description: str,
          operations: list[tuple[str, str]]) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{'path': path, 'method': method}
                    for method, path in operations],
        deprecated_rule=_legacy(name, legacy))


def _admin(name, description, operations):
    return _rule(name, SYSTEM_ADMIN, _LEGACY_ADMIN, description, operations)


def _member(name, description, operations):
    return _rule(name, SYSTEM_MEMBER, _LEGACY_ADMIN, description,
                 operations)


def _reader(name, description, operations):
    return _rule(name, SYSTEM_READER, _LEGACY_READER, description,
                 operations)


_NODE = '/nodes/{node_ident}'

NODE_RULES = [
    _admin('baremetal:node:create', 'Create Node records',
           [('POST', '/nodes')]),
    _reader('baremetal:node:get', 'Retrieve a single Node record',
            [('GET', '/nodes'), ('GET', '/nodes/detail'),
             ('GET', _NODE)]),
    _member('baremetal:node:update', 'Update Node records',
            [('PATCH', _NODE)]),
    _admin('baremetal:node:delete', 'Delete Node records',
           [('DELETE', _NODE)]),
    _member('baremetal:node:validate', 'Request active validation of Nodes',
            [('GET', _NODE + '/validate'), ('GET', '/nodes/validate')]),
    _member('baremetal:node:set_maintenance', 'Set maintenance flag, '
            'taking a Node out of service',
            [('PUT', _NODE + '/maintenance')]),
    _member('baremetal:node:clear_maintenance', 'Clear maintenance flag, '
            'placing the Node into service again',
            [('DELETE', _NODE + '/maintenance')]),
    _member('baremetal:node:get_boot_device', 'Retrieve Node boot device '
            'metadata',
            [('GET', _NODE + '/management/boot_device'),
             ('GET', _NODE + '/management/boot_device/supported')]),
    _member('baremetal:node:set_boot_device', 'Change Node boot device',
            [('PUT', _NODE + '/management/boot_device')]),
    _reader('baremetal:node:get_states', 'View Node power and provision '
            'state', [('GET', _NODE + '/states')]),
    _member('baremetal:node:set_power_state', 'Change Node power status',
            [('PUT', _NODE + '/states/power')]),
    _member('baremetal:node:set_provision_state', 'Change Node provision '
            'status', [('PUT', _NODE + '/states/provision')]),
    _reader('baremetal:node:vif:list', 'List VIFs attached to node',
            [('GET', _NODE + '/vifs')]),
    _member('baremetal:node:vif:attach', 'Attach a VIF to a node',
            [('POST', _NODE + '/vifs')]),
    _member('baremetal:node:vif:detach', 'Detach a VIF from a node',
            [('DELETE', _NODE + '/vifs/{node_vif_ident}')]),
    _reader('baremetal:node:traits:list', 'List node traits',
            [('GET', _NODE + '/traits')]),
    _member('baremetal:node:traits:set', 'Add a trait to, or replace all '
            'traits of, a node',
            [('PUT', _NODE + '/traits'), ('PUT', _NODE + '/traits/{trait}')]),
    _member('baremetal:node:traits:delete', 'Remove one or all traits of a '
            'node',
            [('DELETE', _NODE + '/traits'),
             ('DELETE', _NODE + '/traits/{trait}')]),
]

PORT_RULES = [
    _reader('baremetal:port:get', 'Retrieve Port records',
            [('GET', '/ports'), ('GET', '/ports/detail'),
             ('GET', '/ports/{port_id}'), ('GET', _NODE + '/ports'),
             ('GET', _NODE + '/ports/detail')]),
    _admin('baremetal:port:create', 'Create Port records',
           [('POST', '/ports')]),
    _member('baremetal:port:update', 'Update Port records',
            [('PATCH', '/ports/{port_id}')]),
    _admin('baremetal:port:delete', 'Delete Port records',
           [('DELETE', '/ports/{port_id}')]),
]

OTHER_RULES = [
    _reader('baremetal:driver:get', 'View list of available drivers',
            [('GET', '/drivers'), ('GET', '/drivers/{driver_name}')]),
    _reader('baremetal:driver:get_properties', 'View driver-specific '
            'properties', [('GET', '/drivers/{driver_name}/properties')]),
    _reader('baremetal:conductor:get', 'Retrieve Conductor records',
            [('GET', '/conductors'), ('GET', '/conductors/{hostname}'),
             ('GET', _NODE + '/conductor')]),
    _reader('baremetal:metrics:get', 'Read the Prometheus metrics, unless '
            '[api]metrics_public', [('GET', '/metrics')]),
]

RULES = BASE_RULES + NODE_RULES + PORT_RULES + OTHER_RULES

# What a node rule may look at: the node's fields, as Ironic names them in
# its targets ("node.owner" and the like, once nodes have owners).
NODE_TARGET_FIELDS = ('uuid', 'name', 'driver', 'conductor_group',
                      'resource_class', 'instance_uuid', 'provision_state',
                      'power_state', 'maintenance', 'protected')

_ENFORCER = None
_LOCK = threading.Lock()

# How often, at most, the enforcer looks whether the policy files changed.
POLICY_RECHECK_SECONDS = 5.0


def list_rules():
    """For oslo-policy-generator."""
    return RULES


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
        super().__init__(*args, **kwargs)

    def load_rules(self, force_reload: bool = False) -> None:
        now = time.monotonic()
        if not force_reload and now < self._next_check:
            return
        super().load_rules(force_reload)
        self._next_check = now + POLICY_RECHECK_SECONDS

    def clear(self) -> None:
        super().clear()
        self._next_check = 0.0


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


def node_target(row) -> dict:
    """The target of a node rule: the node's fields, under ``node.``."""
    return {'node.%s' % field: getattr(row, field, None)
            for field in NODE_TARGET_FIELDS}


def authorize(rule: str, context, target: dict | None = None) -> None:
    """:raises HTTPForbidden: ``context`` may not do ``rule``.

    Only Keystone callers are held to the policy; with the other
    strategies everyone is an administrator.
    """
    if CONF.auth_strategy != 'keystone':
        return
    try:
        get_enforcer().authorize(rule, target or {}, _credentials(context),
                                 do_raise=True)
    except (policy.PolicyNotAuthorized, policy.InvalidScope):
        raise exception.HTTPForbidden(resource=rule)


def authorize_node(request, rule: str, row) -> None:
    """:func:`authorize` the caller of ``request`` against the node
    ``row``, once it is read."""
    authorize(rule, request.context, node_target(row))


def check(rule: str, context, target: dict | None = None) -> bool:
    """Whether ``context`` passes ``rule``, whatever the strategy (the
    secrets of :data:`show_password` are masked for every caller unless
    the policy says otherwise)."""
    try:
        return get_enforcer().enforce(rule, target or {},
                                      _credentials(context))
    except policy.InvalidScope:
        return False


def check_once(request, rule: str) -> bool:
    """:func:`check` for the caller of ``request``, asked once per request
    (a listing shows the secrets of many nodes)."""
    answers = request.environ.setdefault('ironic_lite.policy.checks', {})
    if rule not in answers:
        answers[rule] = check(rule, request.context)
    return answers[rule]
