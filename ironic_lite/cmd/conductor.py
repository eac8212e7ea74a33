"""ironic-lite-conductor: one conductor; run one per host."""

import sys
import threading

from oslo_log import log

from ironic_lite.cmd import common
from ironic_lite.common import startup
from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    startup.prepare(sys.argv[1:] if argv is None else argv,
                   'ironic-lite-conductor')
    signals = common.StopSignals()
    startup.require_current_schema()
    startup.start_messaging(require_url=True)

    from ironic_lite.common import exception
    from ironic_lite.common import rpc
    from ironic_lite.conductor import service

    conductor = service.ConductorService()
    failures = []
    started = threading.Event()

    def start():
        try:
            conductor.start()
        except exception.IronicLiteException as e:
            failures.append(e)
        except Exception as e:
            LOG.exception('Conductor %s failed to start', conductor.host)
            failures.append(e)
        finally:
            started.set()

    # Starting waits for the message broker when it is down; a stop signal
    # must still be heard meanwhile.
    threading.Thread(target=start, name='start', daemon=True).start()
    while not started.wait(0.5):
        if signals.received.is_set():
            LOG.warning('Stopping before the conductor could start')
            common.stop_within(CONF.conductor.graceful_shutdown_timeout)
            conductor.stop()
            # The transport's own threads still wait for the broker and
            # would hold the interpreter at exit.
            common.exit_now(0)
    if failures:
        LOG.error('Conductor %s cannot start: %s', conductor.host,
                  failures[0])
        conductor.stop()
        rpc.cleanup()
        return 1
    print('ironic-lite-conductor %s started' % conductor.host, flush=True)
    signals.wait()
    deadline = common.stop_within(CONF.conductor.graceful_shutdown_timeout)
    drained = conductor.stop(common.remaining(deadline))
    common.run_bounded(rpc.cleanup, common.CLOSE_BOUND, 'closing RPC')
    # Whatever still runs past the bound is abandoned here.
    common.exit_now(0 if drained else 1)


if __name__ == '__main__':
    sys.exit(main())
