"""Boot devices and the validation of a node's interfaces, on the
conductor."""

from oslo_log import log

from ironic_lite.common import exception
from ironic_lite.drivers import base

LOG = log.getLogger(__name__)

# The interfaces GET /v1/nodes/{ident}/validate reports, as Ironic's: all
# but vendor.
VALIDATED_INTERFACES = ('boot', 'deploy', 'management', 'network', 'power',
                        'bios', 'console', 'inspect', 'raid', 'rescue',
                        'storage')
# What validation raises about the node's data rather than about a fault.
_EXPLAINED = (exception.InvalidParameterValue,
              exception.UnsupportedDriverExtension)


def validate_interfaces(task) -> dict:
    """``{interface: {"result": True}}``, or ``{"result": False,
    "reason": text}`` for an interface whose validation fails."""
    results = {}
    for interface_type in VALIDATED_INTERFACES:
        try:
            getattr(task.driver, interface_type).validate(task)
        except _EXPLAINED as e:
            results[interface_type] = {'result': False, 'reason': str(e)}
        except Exception as e:
            LOG.exception('Validating the %s interface of node %s failed',
                          interface_type, task.node.uuid)
            results[interface_type] = {
                'result': False,
                'reason': 'Unexpected exception, traceback saved into log '
                          'by ironic conductor service that is running on '
                          '%s: %s' % (task.host, e)}
        else:
            results[interface_type] = {'result': True}
    return results


def management_of(task, validate: bool = True
                  ) -> base.ManagementInterface:
    """The node's management interface (validated unless told not to).

    :raises UnsupportedDriverExtension: it has none.
    :raises InvalidParameterValue, MissingParameterValue: bad node data.
    """
    management = task.driver.management
    if not isinstance(management, base.ManagementInterface):
        raise exception.UnsupportedDriverExtension(
            driver=task.node.driver, extension='management')
    if validate:
        management.validate(task)
    return management


def set_boot_device(task, device: str, persistent: bool) -> None:
    """:raises InvalidParameterValue: a device the node cannot boot
    from."""
    management = management_of(task)
    if device not in management.get_supported_boot_devices(task):
        raise exception.InvalidParameterValue(
            err='Invalid boot device %s specified.' % device)
    management.set_boot_device(task, device, persistent=persistent)
    LOG.info('Boot device of node %s set to %s (persistent: %s)',
             task.node.uuid, device, persistent)
