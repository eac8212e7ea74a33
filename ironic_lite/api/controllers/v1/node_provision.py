"""PUT /v1/nodes/{node_ident}/states/provision: move a node through the
provision state machine.

The checks run in Ironic's order (verb version, node, maintenance, state,
body rules, routing), then the node's conductor starts the work and the API
answers 202 with the node already in its intermediate state.
"""

import types as pytypes

import pecan

from ironic_lite.api import policy
from ironic_lite.api import versions
from ironic_lite.api.controllers import link
from ironic_lite.common import exception
from ironic_lite.common import states

Minor = versions.Minor

# Verb -> the version that introduced it (the older ones are always there).
_VERB_SINCE = {
    'manage': Minor.MANAGEABLE_STATE,
    'provide': Minor.MANAGEABLE_STATE,
    'inspect': Minor.INSPECTION,
    'abort': Minor.ABORT_VERB,
    'clean': Minor.MANUAL_CLEAN,
    'adopt': Minor.ADOPT,
    'rescue': Minor.RESCUE,
    'unrescue': Minor.RESCUE,
}
# Verbs the conductor's do_provisioning_action takes.
_ACTIONS = frozenset({'manage', 'provide', 'inspect', 'abort', 'adopt',
                      'clean', 'rescue', 'unrescue'})
_BODY_KEYS = ('target', 'configdrive', 'clean_steps', 'rescue_password')
_CLEAN_STEP_INTERFACES = ('deploy', 'power', 'management', 'bios', 'raid')
_CLEAN_STEP_KEYS = frozenset({'interface', 'step', 'args'})


def _wrong_type(field: str, value, expected: type):
    # WSME's wording for a body attribute of the wrong type.
    return exception.InvalidParameterValue(
        err="Invalid input for field/attribute %s. Value: '%s'. Wrong type. "
            "Expected '%s', got '%s'" % (field, value, expected,
                                         type(value)))


def _parse(body) -> dict:
    if not isinstance(body, dict):
        raise exception.Invalid('Missing argument: "target"')
    unknown = sorted(set(body) - set(_BODY_KEYS))
    if unknown:
        raise exception.Invalid('Unknown argument: "%s"' % unknown[0])
    if body.get('target') is None:
        raise exception.Invalid('Missing argument: "target"')
    for field in ('target', 'configdrive', 'rescue_password'):
        value = body.get(field)
        if value is not None and not isinstance(value, str):
            raise _wrong_type(field, value, str)
    return {key: body.get(key) for key in _BODY_KEYS}


def _check_clean_steps(steps) -> None:
    """The shape Ironic's schema gives clean steps."""
    if not isinstance(steps, list):
        raise exception.Invalid('Invalid clean_steps: %r is not of type '
                                "'array'" % (steps,))
    for step in steps:
        if not isinstance(step, dict):
            raise exception.Invalid('Invalid clean_steps: %r is not of '
                                    "type 'object'" % (step,))
        for key in ('interface', 'step'):
            if key not in step:
                raise exception.Invalid('Invalid clean_steps: %r is a '
                                        'required property' % key)
        extra = sorted(set(step) - _CLEAN_STEP_KEYS)
        if extra:
            raise exception.Invalid(
                'Invalid clean_steps: Additional properties are not '
                'allowed (%s was unexpected)'
                % ', '.join(repr(key) for key in extra))
        if step['interface'] not in _CLEAN_STEP_INTERFACES:
            raise exception.Invalid('Invalid clean_steps: %r is not one of '
                                    '%r' % (step['interface'],
                                            list(_CLEAN_STEP_INTERFACES)))
        if not isinstance(step['step'], str):
            raise exception.Invalid("Invalid clean_steps: %r is not of type "
                                    "'string'" % (step['step'],))
        if not isinstance(step.get('args', {}), dict):
            raise exception.Invalid("Invalid clean_steps: %r is not of type "
                                    "'object'" % (step['args'],))


def set_provision_state(request, node_ident: str, body, get_node) -> None:
    """Start moving a node to ``body['target']``; on return the response is
    a 202 whose Location is the node's states.

    ``get_node(request, ident)`` finds the node (404 when there is none).
    """
    values = _parse(body)
    target = values['target']
    since = _VERB_SINCE.get(target)
    if since is not None:
        versions.require(request, since, explain=False)
    row = get_node(request, node_ident)
    policy.authorize_node(
        request, 'baremetal:node:set_provision_state', row, node_ident)

    if target in ('active', 'rebuild') and row.maintenance:
        raise exception.NodeInMaintenance(op='provisioning', node=row.uuid)
    if states.next_state(row.provision_state,
                         states.VERBS.get(target, target)) is None:
        if row.reservation:
            raise exception.NodeLocked(node=row.uuid, host=row.reservation)
        raise exception.InvalidStateRequested(
            action=target, node=row.uuid, state=row.provision_state)
    if values['configdrive']:
        allowed = ['active']
        if versions.allows(request, Minor.REBUILD_CONFIGDRIVE):
            allowed.append('rebuild')
        if target not in allowed:
            raise exception.Invalid(
                'Adding a config drive is only supported when setting '
                'provision state to %s' % ', '.join(allowed))
    if values['clean_steps'] and target != 'clean':
        raise exception.Invalid('"clean_steps" is only valid when setting '
                                'target provision state to clean')
    if values['rescue_password'] and target != 'rescue':
        raise exception.Invalid('"rescue_password" is only valid when '
                                'setting target provision state to rescue')
    if target == 'abort' and row.provision_state == states.INSPECTWAIT:
        versions.require(request, Minor.INSPECT_ABORT, explain=False)

    if target == 'rescue' and not values['rescue_password']:
        raise exception.Invalid('A non-empty "rescue_password" is required '
                                'when setting target provision state to '
                                'rescue')
    if target == 'clean':
        if not values['clean_steps']:
            raise exception.Invalid('"clean_steps" is required when setting '
                                    'target provision state to clean')
        _check_clean_steps(values['clean_steps'])

    node = pytypes.SimpleNamespace(uuid=row.uuid, driver=row.driver,
                                   conductor_group=row.conductor_group)
    rpcapi, context = request.rpcapi, request.context
    if target in ('active', 'rebuild'):
        rpcapi.do_node_deploy(context, node, rebuild=target == 'rebuild',
                              configdrive=values['configdrive'])
    elif target == 'deleted':
        rpcapi.do_node_tear_down(context, node)
    elif target in _ACTIONS:
        rpcapi.do_provisioning_action(context, node, target)
    else:
        # A raw machine event ("deploy", "delete", "done"): it passed the
        # state check, as in Ironic 12.0.0, but is no verb.
        raise exception.Invalid('The requested action "%s" could not be '
                                'understood.' % target)
    pecan.response.location = link.build_url(request, 'nodes', node_ident,
                                               'states')
