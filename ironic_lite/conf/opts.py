"""The option list for oslo-config-generator (tox -e genconfig)."""

from oslo_messaging import opts as messaging_opts

from ironic_lite.conf import api
from ironic_lite.conf import conductor
from ironic_lite.conf import database
from ironic_lite.conf import default
from ironic_lite.conf import ipmi
from ironic_lite.conf import pxe


def list_opts():
    return [
        ('DEFAULT', default.list_opts()
         + [o for o in messaging_opts.list_opts()[0][1]
            if o.name == 'transport_url']),
        ('api', api.list_opts()),
        ('conductor', conductor.list_opts()),
        ('database', database.list_opts()),
        ('conductor', conductor.list_opts()),
        ('ipmi', ipmi.list_opts()),
        ('pxe', pxe.list_opts()),
        ('deploy', pxe.list_deploy_opts()),
    ]
