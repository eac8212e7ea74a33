"""ironic-lite: a lean bare-metal service speaking the Ironic API."""

import os
import warnings

# futurist probes for eventlet when it is installed and eventlet warns that it
# is deprecated. ironic-lite never uses eventlet: it runs on threads.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
# Nor its DNS resolver, whose import (dnspython) is a good part of a start:
# a restart must serve within seconds.
os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')

from oslo_service import backend as _service_backend  # noqa: E402

# oslo.messaging loads oslo.service, whose default backend is eventlet. Pick
# the threading backend before anything imports oslo.messaging.
_service_backend.init_backend(_service_backend.BackendType.THREADING)
