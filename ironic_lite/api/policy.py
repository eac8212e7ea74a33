"""Who may do what: oslo.policy rules, one per API operation."""

import threading

from oslo_policy import policy

from ironic_lite.common import exception
from ironic_lite.conf import CONF

_ADMIN = 'role:admin or role:baremetal_admin or is_admin:True'
_READER = _ADMIN + ' or role:reader or role:baremetal_observer'

RULES = [
    policy.RuleDefault('is_admin', _ADMIN,
                       description='Full access to the Bare Metal API.'),
    policy.RuleDefault('is_observer', _READER,
                       description='Read-only access.'),
    policy.DocumentedRuleDefault(
        'baremetal:node:get', 'rule:is_observer', 'Read nodes',
        [{'path': '/nodes', 'method': 'GET'},
         {'path': '/nodes/detail', 'method': 'GET'},
         {'path': '/nodes/{node_ident}', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:create', 'rule:is_admin', 'Create nodes',
        [{'path': '/nodes', 'method': 'POST'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:update', 'rule:is_admin', 'Update nodes',
        [{'path': '/nodes/{node_ident}', 'method': 'PATCH'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:delete', 'rule:is_admin', 'Delete nodes',
        [{'path': '/nodes/{node_ident}', 'method': 'DELETE'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:get_states', 'rule:is_observer', 'View node states',
        [{'path': '/nodes/{node_ident}/states', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:set_power_state', 'rule:is_admin',
        'Change node power status',
        [{'path': '/nodes/{node_ident}/states/power', 'method': 'PUT'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:get_boot_device', 'rule:is_observer',
        'Retrieve node boot device metadata',
        [{'path': '/nodes/{node_ident}/management/boot_device',
          'method': 'GET'},
         {'path': '/nodes/{node_ident}/management/boot_device/supported',
          'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:set_boot_device', 'rule:is_admin',
        'Change node boot device',
        [{'path': '/nodes/{node_ident}/management/boot_device',
          'method': 'PUT'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:validate', 'rule:is_admin',
        'Request active validation of node',
        [{'path': '/nodes/{node_ident}/validate', 'method': 'GET'},
         {'path': '/nodes/validate', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:set_maintenance', 'rule:is_admin',
        'Put node in maintenance mode',
        [{'path': '/nodes/{node_ident}/maintenance', 'method': 'PUT'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:clear_maintenance', 'rule:is_admin',
        'Remove maintenance mode from node',
        [{'path': '/nodes/{node_ident}/maintenance', 'method': 'DELETE'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:set_provision_state', 'rule:is_admin',
        'Change the provision state of nodes',
        [{'path': '/nodes/{node_ident}/states/provision', 'method': 'PUT'}]),
    policy.DocumentedRuleDefault(
        'baremetal:conductor:get', 'rule:is_observer', 'Read conductors',
        [{'path': '/conductors', 'method': 'GET'},
         {'path': '/conductors/{hostname}', 'method': 'GET'},
         {'path': '/nodes/{node_ident}/conductor', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        'baremetal:driver:get', 'rule:is_observer', 'Read drivers',
        [{'path': '/drivers', 'method': 'GET'},
         {'path': '/drivers/{driver_name}', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        'baremetal:driver:get_properties', 'rule:is_observer',
        'Read the properties of a driver',
        [{'path': '/drivers/{driver_name}/properties', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        'baremetal:port:get', 'rule:is_observer', 'Read ports',
        [{'path': '/ports', 'method': 'GET'},
         {'path': '/ports/detail', 'method': 'GET'},
         {'path': '/ports/{port_id}', 'method': 'GET'},
         {'path': '/nodes/{node_ident}/ports', 'method': 'GET'},
         {'path': '/nodes/{node_ident}/ports/detail', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        'baremetal:port:create', 'rule:is_admin', 'Create ports',
        [{'path': '/ports', 'method': 'POST'}]),
    policy.DocumentedRuleDefault(
        'baremetal:port:update', 'rule:is_admin', 'Update ports',
        [{'path': '/ports/{port_id}', 'method': 'PATCH'}]),
    policy.DocumentedRuleDefault(
        'baremetal:port:delete', 'rule:is_admin', 'Delete ports',
        [{'path': '/ports/{port_id}', 'method': 'DELETE'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:vif:list', 'rule:is_admin', 'List VIFs attached to '
        'node', [{'path': '/nodes/{node_ident}/vifs', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:vif:attach', 'rule:is_admin', 'Attach a VIF to a '
        'node', [{'path': '/nodes/{node_ident}/vifs', 'method': 'POST'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:vif:detach', 'rule:is_admin', 'Detach a VIF from a '
        'node', [{'path': '/nodes/{node_ident}/vifs/{node_vif_ident}',
                  'method': 'DELETE'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:traits:list', 'rule:is_observer', 'List node traits',
        [{'path': '/nodes/{node_ident}/traits', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:traits:set', 'rule:is_admin', 'Add a trait to, or '
        'replace all traits of, a node',
        [{'path': '/nodes/{node_ident}/traits', 'method': 'PUT'},
         {'path': '/nodes/{node_ident}/traits/{trait}', 'method': 'PUT'}]),
    policy.DocumentedRuleDefault(
        'baremetal:node:traits:delete', 'rule:is_admin', 'Remove one or all '
        'traits of a node',
        [{'path': '/nodes/{node_ident}/traits', 'method': 'DELETE'},
         {'path': '/nodes/{node_ident}/traits/{trait}',
          'method': 'DELETE'}]),
    policy.DocumentedRuleDefault(
        'baremetal:metrics:get', 'rule:is_observer',
        'Read the Prometheus metrics, unless [api]metrics_public',
        [{'path': '/metrics', 'method': 'GET'}]),
]

_ENFORCER = None
_LOCK = threading.Lock()


def list_rules():
    """For oslo-policy-generator."""
    return RULES


def get_enforcer() -> policy.Enforcer:
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is None:
            _ENFORCER = policy.Enforcer(CONF)
            _ENFORCER.register_defaults(RULES)
        return _ENFORCER


def authorize(rule: str, context, target: dict | None = None) -> None:
    """:raises HTTPForbidden: ``context`` may not do ``rule``."""
    try:
        get_enforcer().authorize(rule, target or {}, context,
                                 do_raise=True)
    except policy.PolicyNotAuthorized:
        raise exception.HTTPForbidden(resource=rule)
