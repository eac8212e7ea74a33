"""GET /metrics: Prometheus metrics (an ironic-lite extension)."""

import pecan
from oslo_utils import timeutils
from pecan import rest
from webob import response as webob_response

from ironic_lite.api import membership_metrics
from ironic_lite.api import metrics
from ironic_lite.api import policy
from ironic_lite.api import rings
from ironic_lite.api.controllers.v1 import conductor
from ironic_lite.conf import CONF


class MetricsController(rest.RestController):
    """The metrics in Prometheus' text format; not versioned."""

    @pecan.expose()
    def get_all(self):
        request = pecan.request
        if not CONF.api.metrics_public:
            policy.authorize('baremetal:metrics:get', request.context)
        collector = metrics.ConductorCollector(
            request.dbapi, rings.rings_for(request), conductor.is_alive,
            timeutils.utcnow())
        body, content_type = metrics.exposition(
            collector,
            membership_metrics.MembershipChangesCollector(request.dbapi))
        return webob_response.Response(body=body, status=200,
                                       content_type=content_type,
                                       charset=None)
