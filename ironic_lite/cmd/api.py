"""ironic-lite-api: the API service alone, in front of separate conductors."""

import sys

from oslo_log import log

from ironic_lite.cmd import common
from ironic_lite.common import startup
from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    startup.prepare(sys.argv[1:] if argv is None else argv, 'ironic-lite-api')
    common.refuse_unsafe_api()
    signals = common.StopSignals()
    startup.require_current_schema()
    startup.start_messaging(require_url=True)

    from ironic_lite.api import server
    from ironic_lite.common import hash_ring
    from ironic_lite.common import membership
    from ironic_lite.common import rpc

    membership.start_listener(hash_ring.get_manager(), background=True)
    api = server.APIServer()
    api.start()
    print('ironic-lite-api listening on %s' % api.url, flush=True)
    signals.wait()
    deadline = common.stop_within(CONF.conductor.graceful_shutdown_timeout)
    served = common.run_bounded(api.stop, common.remaining(deadline),
                                'stopping the API')
    common.run_bounded(rpc.cleanup, common.CLOSE_BOUND, 'closing RPC')
    # A request still computing past the bound must not hold the process.
    common.exit_now(0 if served else 1)


if __name__ == '__main__':
    sys.exit(main())
