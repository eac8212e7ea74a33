"""ironic-lite configuration: one module per option group."""

import oslo_messaging
from oslo_config import cfg
from oslo_messaging import opts as messaging_opts

from ironic_lite.conf import api
from ironic_lite.conf import conductor
from ironic_lite.conf import database
from ironic_lite.conf import default
from ironic_lite.conf import ipmi
from ironic_lite.conf import pxe

CONF = cfg.CONF

default.register_opts(CONF)
api.register_opts(CONF)
conductor.register_opts(CONF)
database.register_opts(CONF)
ipmi.register_opts(CONF)
pxe.register_opts(CONF)

# [DEFAULT]transport_url and the other oslo.messaging options, known before
# the first transport is opened.
oslo_messaging.set_transport_defaults(control_exchange='ironic-lite')
for _group, _opts in messaging_opts.list_opts():
    CONF.register_opts(_opts, group=_group)
# oslo.messaging defaults to rabbit:// on localhost. Without a configured
# broker the all-in-one keeps RPC inside its process, and the separate
# services refuse to start: none may talk to a broker nobody chose.
CONF.set_default('transport_url', None)
