"""ironic-lite-conductor: one conductor; run one per host."""

import sys

from oslo_log import log

from ironic_lite.cmd import common

LOG = log.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    common.prepare(sys.argv[1:] if argv is None else argv,
                   'ironic-lite-conductor')
    common.require_current_schema()
    common.start_messaging(require_url=True)

    from ironic_lite.common import exception
    from ironic_lite.common import rpc
    from ironic_lite.conductor import service

    conductor = service.ConductorService()
    try:
        conductor.start()
    except exception.IronicLiteException as e:
        LOG.error('Conductor cannot start: %s', e)
        rpc.cleanup()
        return 1
    print('ironic-lite-conductor %s started' % conductor.host, flush=True)
    common.wait_for_signal()
    conductor.stop()
    rpc.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
