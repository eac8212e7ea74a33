"""ironic-lite exceptions. Each one knows its HTTP status code.

The messages follow Ironic's wording, because operators and clients read them.
The API turns any of these into Ironic's error body; an exception raised in a
conductor crosses RPC and keeps its class, message and code.
"""

from http import HTTPStatus


class IronicLiteException(Exception):
    """Base class: a message template, its keyword arguments, a status code."""

    _msg_fmt = 'An unknown exception occurred.'
    code = HTTPStatus.INTERNAL_SERVER_ERROR
    # Seconds after which the same request may succeed, for the API's
    # Retry-After header; None where retrying the same request cannot help.
    retry_after: int | None = None

    def __init__(self, message: str | None = None, **kwargs):
        self.kwargs = kwargs
        if not message:
            try:
                message = self._msg_fmt % kwargs
            except (KeyError, TypeError, ValueError):
                # A wrong template must not hide the original problem.
                message = self._msg_fmt
        self.message = str(message)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    @property
    def faultstring(self) -> str:
        """The message for API clients. An exception that crossed RPC has a
        ``str()`` that ends with the remote traceback; this never does."""
        return self.message


# 4xx


class Invalid(IronicLiteException):
    _msg_fmt = 'Unacceptable parameters.'
    code = HTTPStatus.BAD_REQUEST


class InvalidParameterValue(Invalid):
    _msg_fmt = '%(err)s'


class MissingParameterValue(InvalidParameterValue):
    _msg_fmt = '%(err)s'


class UnsupportedDriverExtension(Invalid):
    _msg_fmt = ('Driver %(driver)s does not support %(extension)s '
                '(disabled or not implemented).')


class InvalidStateRequested(Invalid):
    _msg_fmt = ('The requested action "%(action)s" can not be performed on '
                'node "%(node)s" while it is in state "%(state)s".')


class NodeInMaintenance(Invalid):
    _msg_fmt = ("The %(op)s operation can't be performed on node "
                "%(node)s because it's in maintenance mode.")


class InvalidUUID(Invalid):
    _msg_fmt = 'Expected a UUID but received %(uuid)s.'


class InvalidUuidOrName(Invalid):
    _msg_fmt = 'Expected a logical name or UUID but received %(name)s.'


class InvalidConductorGroup(Invalid):
    _msg_fmt = 'Expected a conductor group but received %(group)s.'


class PatchError(Invalid):
    _msg_fmt = "Couldn't apply patch '%(patch)s'. Reason: %(reason)s"


class InterfaceNotSupported(InvalidParameterValue):
    _msg_fmt = ("%(interface_type)s interface implementation "
                "'%(interface_impl)s' is not supported by hardware type "
                "%(hardware_type)s. Valid: %(valid)s.")


class NotAuthorized(IronicLiteException):
    _msg_fmt = 'Not authorized.'
    code = HTTPStatus.FORBIDDEN


class HTTPForbidden(NotAuthorized):
    _msg_fmt = 'Access was denied to the following resource: %(resource)s'


class NodeProtected(NotAuthorized):
    _msg_fmt = ('Node %(node)s is protected and cannot be undeployed, '
                'rebuilt or deleted')


class NotFound(IronicLiteException):
    _msg_fmt = 'Resource could not be found.'
    code = HTTPStatus.NOT_FOUND


class NodeNotFound(NotFound):
    _msg_fmt = 'Node %(node)s could not be found.'


class ConductorNotFound(NotFound):
    _msg_fmt = 'Conductor %(conductor)s could not be found.'


class ConductorEventNotFound(NotFound):
    _msg_fmt = 'Conductor event %(event)s could not be found.'


class DriverNotFound(NotFound):
    _msg_fmt = ('Could not find the following driver(s) or hardware '
                'type(s): %(driver_name)s.')


class InterfaceNotFound(NotFound):
    _msg_fmt = 'No %(interface_type)s interface named %(name)s.'


class NoValidHost(NotFound):
    _msg_fmt = 'No valid host was found. Reason: %(reason)s'


class NotAcceptable(IronicLiteException):
    _msg_fmt = 'Request not acceptable.'
    code = HTTPStatus.NOT_ACCEPTABLE


class Conflict(IronicLiteException):
    _msg_fmt = 'Conflict.'
    code = HTTPStatus.CONFLICT


class InvalidState(Conflict):
    _msg_fmt = 'Invalid resource state.'


class NodeAlreadyExists(Conflict):
    _msg_fmt = 'A node with UUID %(uuid)s already exists.'


class DuplicateName(Conflict):
    _msg_fmt = 'A node with name %(name)s already exists.'


class InstanceAssociated(Conflict):
    _msg_fmt = ('Instance %(instance_uuid)s is already associated with a '
                'node, it cannot be associated with this other node %(node)s')


class NodeAssociated(InvalidState):
    _msg_fmt = 'Node %(node)s is associated with instance %(instance)s.'


class NodeLocked(Conflict):
    _msg_fmt = ('Node %(node)s is locked by host %(host)s, please retry '
                'after the current operation is completed.')
    # A node is held for milliseconds to seconds.
    retry_after = 1


class NodeChanged(Conflict):
    """A change was computed from values the node no longer has.

    The API applies a PATCH to the node as it read it; the conductor, holding
    the node's lock, refuses the result if another write came in between,
    and the API applies the PATCH again to the node as it is now.
    """

    _msg_fmt = ('Node %(node)s changed on conductor %(host)s since it was '
                'read: %(fields)s.')
    retry_after = 1


class ConductorAlreadyRegistered(Conflict):
    _msg_fmt = ('Conductor %(conductor)s is already registered and alive; '
                'another conductor process may be using this host name.')


class ConductorAlreadyRunning(ConductorAlreadyRegistered):
    _msg_fmt = ('Conductor %(conductor)s is already registered and alive: '
                'process %(pid)s of this machine holds %(path)s.')


class NodeNotOwned(Conflict):
    """A conductor was asked to work on a node the ring gives to another."""

    _msg_fmt = ('Conductor %(host)s does not serve node %(node)s; its '
                'conductor is %(owner)s.')


# 5xx


class TemporaryFailure(IronicLiteException):
    _msg_fmt = 'Resource temporarily unavailable, please retry.'
    code = HTTPStatus.SERVICE_UNAVAILABLE


class ServiceUnavailable(TemporaryFailure):
    _msg_fmt = '%(service)s is unavailable: %(reason)s'


class NoFreeConductorWorker(TemporaryFailure):
    _msg_fmt = ('Requested action cannot be performed due to lack of free '
                'conductor workers.')
    retry_after = 2


class NoDriversLoaded(IronicLiteException):
    _msg_fmt = ('Conductor %(conductor)s cannot be started because no '
                'hardware types were loaded.')


# Hardware: raised by drivers inside a conductor's worker, recorded in the
# node's last_error; they reach an API client only from synchronous calls.


class DriverOperationError(IronicLiteException):
    _msg_fmt = '%(err)s'


class PowerStateFailure(DriverOperationError):
    _msg_fmt = 'Failed to set node power state to %(pstate)s.'


class IPMIFailure(DriverOperationError):
    _msg_fmt = 'IPMI call failed: %(cmd)s.'


class InstanceDeployFailure(DriverOperationError):
    _msg_fmt = 'Failed to deploy instance: %(reason)s'


class PXEFailure(DriverOperationError):
    _msg_fmt = 'PXE boot configuration failed: %(reason)s'


class DriverLoadError(IronicLiteException):
    """A conductor cannot start: a hardware type it enables has no enabled
    implementation of some interface type, or a default is not enabled."""
    _msg_fmt = ('Driver, hardware type or interface %(driver)s could not be '
                'loaded. Reason: %(reason)s.')


# Ports


class InvalidMAC(Invalid):
    _msg_fmt = 'Expected a MAC address but received %(mac)s.'


class OperationNotPermitted(NotAuthorized):
    _msg_fmt = 'Operation not permitted.'


class PortNotFound(NotFound):
    _msg_fmt = 'Port %(port)s could not be found.'


class PortgroupNotFound(NotFound):
    _msg_fmt = 'Portgroup %(portgroup)s could not be found.'


class MACAlreadyExists(Conflict):
    _msg_fmt = 'A port with MAC address %(mac)s already exists.'


class PortAlreadyExists(Conflict):
    _msg_fmt = 'A port with UUID %(uuid)s already exists.'


class PortChanged(Conflict):
    """As :class:`NodeChanged`, for a port."""

    _msg_fmt = ('Port %(port)s changed on conductor %(host)s since it was '
                'read: %(fields)s.')
    retry_after = 1


# VIFs and traits (Ironic's wording)


class VifAlreadyAttached(Conflict):
    _msg_fmt = ('Unable to attach VIF because VIF %(vif)s is already '
                'attached to Ironic %(object_type)s %(object_uuid)s')


class NoFreePhysicalPorts(Invalid):
    _msg_fmt = 'Unable to attach VIF %(vif)s, not enough free physical ports.'


class VifNotAttached(Invalid):
    _msg_fmt = ('Unable to detach VIF %(vif)s from node %(node)s because it '
                'is not attached to it.')


class NodeTraitNotFound(NotFound):
    _msg_fmt = "Node %(node_id)s doesn't have a trait '%(trait)s'"


class ConfigInvalid(IronicLiteException):
    _msg_fmt = 'Invalid configuration file. %(error_msg)s'
