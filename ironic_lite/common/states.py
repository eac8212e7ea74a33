"""Node states, as Ironic names them on the wire."""

# Provision states.
ENROLL = 'enroll'
VERIFYING = 'verifying'
MANAGEABLE = 'manageable'
AVAILABLE = 'available'
ACTIVE = 'active'
DEPLOYING = 'deploying'
DEPLOYWAIT = 'wait call-back'
DEPLOYFAIL = 'deploy failed'
DELETING = 'deleting'
CLEANING = 'cleaning'
CLEANWAIT = 'clean wait'
CLEANFAIL = 'clean failed'
INSPECTING = 'inspecting'
INSPECTWAIT = 'inspect wait'
INSPECTFAIL = 'inspect failed'
ADOPTING = 'adopting'
ADOPTFAIL = 'adopt failed'
ERROR = 'error'

# Power states.
POWER_ON = 'power on'
POWER_OFF = 'power off'
REBOOT = 'rebooting'

# A node may be deleted in these provision states, or in any state while it
# is in maintenance.
DELETE_ALLOWED_STATES = frozenset({MANAGEABLE, ENROLL, ADOPTFAIL, AVAILABLE})
