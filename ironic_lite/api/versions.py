"""The microversions of the v1 API, oldest first, each named once.

Every version-dependent decision is derived from this module: the maximum
version, feature checks (``allows(request, Minor.CONDUCTORS)``) and the
version that introduced each node field.
"""

import enum

import microversion_parse

from ironic_lite.common import exception

VERSION_HEADER = 'X-OpenStack-Ironic-API-Version'
MIN_VERSION_HEADER = 'X-OpenStack-Ironic-API-Minimum-Version'
MAX_VERSION_HEADER = 'X-OpenStack-Ironic-API-Maximum-Version'
SERVICE_TYPE = 'baremetal'


class Minor(enum.IntEnum):
    """What each minor version of API 1.x added."""

    INITIAL = 1                 # maintenance_reason, vendor passthru
    AVAILABLE_STATE = 2         # "available" replaces the NOSTATE state
    DRIVER_INTERNAL_INFO = 3    # node driver_internal_info
    MANAGEABLE_STATE = 4        # "manageable" state, manage/provide verbs
    NODE_NAME = 5               # node name; nodes addressable by name
    INSPECTION = 6              # inspection states, inspection_* fields
    CLEAN_STEP = 7              # node clean_step
    FIELDS = 8                  # ?fields= on GET
    FILTER_PROVISION_STATE = 9  # ?provision_state= on node lists
    RFC3986_NAMES = 10          # names may use any unreserved character
    ENROLL_STATE = 11           # new nodes start in "enroll"
    RAID = 12                   # raid_config, target_raid_config
    ABORT_VERB = 13             # "abort" verb
    STATES_LINK = 14            # node "states" link
    MANUAL_CLEAN = 15           # "clean" verb with clean_steps
    FILTER_DRIVER = 16          # ?driver= on node lists
    ADOPT = 17                  # "adopt" verb
    PORT_INTERNAL_INFO = 18     # port internal_info
    PORT_LOCAL_LINK = 19        # port local_link_connection, pxe_enabled
    NETWORK_INTERFACE = 20      # node network_interface
    RESOURCE_CLASS = 21         # node resource_class, ?resource_class=
    RAMDISK_ENDPOINTS = 22      # /v1/lookup, /v1/heartbeat
    PORTGROUPS = 23             # /v1/portgroups
    PORTGROUP_LINKS = 24        # node portgroups link, port portgroup_uuid
    UNSET_CHASSIS = 25          # node chassis_uuid may be removed
    PORTGROUP_MODE = 26         # portgroup mode and properties
    SOFT_POWER = 27             # soft reboot, soft power off, timeout
    VIFS = 28                   # /v1/nodes/{ident}/vifs
    INJECT_NMI = 29             # inject NMI
    DYNAMIC_DRIVERS = 30        # driver type and interface fields
    HARDWARE_INTERFACES = 31    # node boot/console/deploy/... _interface
    VOLUME = 32                 # volume API, node volume link
    STORAGE_INTERFACE = 33      # node storage_interface
    PHYSICAL_NETWORK = 34       # port physical_network
    REBUILD_CONFIGDRIVE = 35    # configdrive on rebuild
    AGENT_VERSION = 36          # agent_version in heartbeats
    TRAITS = 37                 # node traits
    RESCUE = 38                 # rescue verbs and states, rescue_interface
    INSPECT_WAIT = 39           # "inspect wait" state
    BIOS = 40                   # node bios_interface, /bios
    INSPECT_ABORT = 41          # abort from "inspect wait"
    FAULT = 42                  # node fault, ?fault=
    DETAIL_PARAM = 43           # ?detail= on lists
    DEPLOY_STEP = 44            # node deploy_step
    RESET_INTERFACES = 45       # ?reset_interfaces= on node PATCH
    CONDUCTOR_GROUP = 46        # node conductor_group, ?conductor_group=
    AUTOMATED_CLEAN = 47        # node automated_clean
    PROTECTED = 48              # node protected, protected_reason
    CONDUCTORS = 49             # /v1/conductors, node conductor, ?conductor=


MAJOR = 1
MIN_MINOR = min(Minor)
MAX_MINOR = max(Minor)
MIN_VERSION_STRING = '%d.%d' % (MAJOR, MIN_MINOR)
MAX_VERSION_STRING = '%d.%d' % (MAJOR, MAX_MINOR)

_INTERFACE_FIELDS = ('boot', 'console', 'deploy', 'inspect', 'management',
                     'power', 'raid', 'vendor')

# The version that introduced each versioned node field. A field is hidden
# from older requests, and asking for it or writing it there answers 406.
NODE_FIELD_SINCE: dict[str, Minor] = {
    'driver_internal_info': Minor.DRIVER_INTERNAL_INFO,
    'name': Minor.NODE_NAME,
    'inspection_started_at': Minor.INSPECTION,
    'inspection_finished_at': Minor.INSPECTION,
    'clean_step': Minor.CLEAN_STEP,
    'raid_config': Minor.RAID,
    'target_raid_config': Minor.RAID,
    'network_interface': Minor.NETWORK_INTERFACE,
    'resource_class': Minor.RESOURCE_CLASS,
    **{'%s_interface' % name: Minor.HARDWARE_INTERFACES
       for name in _INTERFACE_FIELDS},
    'storage_interface': Minor.STORAGE_INTERFACE,
    'traits': Minor.TRAITS,
    'rescue_interface': Minor.RESCUE,
    'bios_interface': Minor.BIOS,
    'fault': Minor.FAULT,
    'deploy_step': Minor.DEPLOY_STEP,
    'conductor_group': Minor.CONDUCTOR_GROUP,
    'automated_clean': Minor.AUTOMATED_CLEAN,
    'protected': Minor.PROTECTED,
    'protected_reason': Minor.PROTECTED,
    'conductor': Minor.CONDUCTORS,
}


def parse(headers) -> int:
    """The minor version a request asks for, from its headers.

    Ironic's own header wins over ``OpenStack-API-Version: baremetal X.Y``
    (Ironic reads only its own). No header means the oldest version;
    ``latest`` the newest.

    :raises NotAcceptable: the header is malformed or out of range.
    """
    raw = headers.get(VERSION_HEADER)
    if raw is None:
        try:
            raw = microversion_parse.get_version(headers, SERVICE_TYPE)
        except ValueError:
            raw = ''
    if raw is None:
        return MIN_MINOR
    if raw.strip().lower() == 'latest':
        return MAX_MINOR
    try:
        major, minor = (int(part) for part in raw.strip().split('.'))
    except ValueError:
        raise exception.NotAcceptable(
            'Invalid value for %s header' % VERSION_HEADER)
    if major != MAJOR:
        raise exception.NotAcceptable(
            'Mutually exclusive versions requested. Version %s requested '
            'but not supported by this service. The supported version '
            'range is: [%s, %s].'
            % (raw.strip(), MIN_VERSION_STRING, MAX_VERSION_STRING))
    if not MIN_MINOR <= minor <= MAX_MINOR:
        raise exception.NotAcceptable(
            'Version %s was requested but the minor version is not '
            'supported by this service. The supported version range is: '
            '[%s, %s].' % (raw.strip(), MIN_VERSION_STRING,
                           MAX_VERSION_STRING))
    return minor


def _response_headers(minor: int | None) -> list[tuple[str, str]]:
    headers = [(MIN_VERSION_HEADER, MIN_VERSION_STRING),
               (MAX_VERSION_HEADER, MAX_VERSION_STRING)]
    if minor is not None:
        headers.append((VERSION_HEADER, '%d.%d' % (MAJOR, minor)))
    return headers


# Worked out once: every /v1 response carries them.
_RESPONSE_HEADERS = {minor: tuple(_response_headers(minor))
                     for minor in (None, *Minor)}


def response_headers(minor: int | None) -> tuple[tuple[str, str], ...]:
    """The version headers of a /v1 response to a request of version
    ``minor`` (None: none was agreed, the request was refused first)."""
    return _RESPONSE_HEADERS[minor]


def allows(request, feature: Minor) -> bool:
    """Whether the version of ``request`` has ``feature``."""
    return request.version >= feature


def require(request, feature: Minor, explain: bool = True) -> None:
    """Refuse, with 406, a request too old for ``feature``.

    Ironic names the version needed in some of its 406s and not in others
    (versioned node fields, ?fields, ?provision_state=): ``explain`` says
    which.
    """
    if allows(request, feature):
        return
    if not explain:
        raise exception.NotAcceptable()
    raise exception.NotAcceptable(
        'Request not acceptable. The minimal required API version '
        'should be %d.%d' % (MAJOR, feature))


def node_field_allowed(request, field: str) -> bool:
    since = NODE_FIELD_SINCE.get(field)
    return since is None or allows(request, since)
