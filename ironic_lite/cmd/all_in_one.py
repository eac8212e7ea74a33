"""ironic-lite: the API and one conductor in one process, nothing to set up.

With no configuration at all it keeps a SQLite database in
``[DEFAULT]state_path``, passes RPC inside the process (``fake://``), needs no
authentication and serves http://127.0.0.1:6385.
"""

import sys

from oslo_log import log

from ironic_lite.cmd import common
from ironic_lite.common import startup
from ironic_lite.conf import CONF

LOG = log.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    startup.prepare(sys.argv[1:] if argv is None else argv, 'ironic-lite')
    common.refuse_unsafe_api()
    signals = common.StopSignals()
    startup.start_messaging(require_url=False, default_url='fake://')
    if (CONF.api.api_workers or 1) > 1:
        # fake:// carries RPC between threads of one process: a forked
        # worker could not reach the conductor.
        LOG.warning('[api]api_workers = %d is ignored: ironic-lite serves '
                    'from its one process (ironic-lite-api serves with '
                    'several)', CONF.api.api_workers)

    from ironic_lite.api import server
    from ironic_lite.common import exception
    from ironic_lite.common import rpc
    from ironic_lite.conductor import service
    from ironic_lite.db import migration

    migration.upgrade()
    conductor = service.ConductorService()
    try:
        conductor.start()
    except exception.IronicLiteException as e:
        LOG.error('The conductor cannot start: %s', e)
        conductor.stop()
        return 1
    api = server.APIServer()
    try:
        api.start()
    except OSError as e:
        LOG.error('Cannot listen on %s:%s: %s', CONF.api.host_ip,
                  CONF.api.port, e)
        conductor.stop()
        return 1
    print('ironic-lite is running. API: %s (conductor "%s", database %s)\n'
          'Try it from another terminal:\n%s'
          'Stop it with Ctrl-C.'
          % (api.url, conductor.host, CONF.database.connection,
             _client_examples(api.url)), flush=True)
    signals.wait()
    deadline = common.stop_within(CONF.conductor.graceful_shutdown_timeout)
    # Out of the ring first, then no new HTTP connections, then the
    # requests and RPC calls under way get what is left of the bound.
    conductor.leave()
    served = common.run_bounded(api.stop, common.remaining(deadline),
                                'stopping the API')
    drained = conductor.stop(common.remaining(deadline))
    common.run_bounded(rpc.cleanup, common.CLOSE_BOUND, 'closing RPC')
    common.exit_now(0 if served and drained else 1)


def _client_examples(url: str) -> str:
    """How the stock CLI reaches this API, with its authentication."""
    if CONF.auth_strategy == 'http_basic':
        return ('    baremetal --os-auth-type http_basic --os-username USER '
                '--os-password PASSWORD --os-endpoint %s conductor list\n'
                % url)
    if CONF.auth_strategy == 'keystone':
        return ('    openstack baremetal conductor list   (with Keystone '
                'credentials whose catalog lists %s)\n' % url)
    return ('    baremetal --os-endpoint %s conductor list\n'
            '    openstack --os-auth-type none --os-endpoint %s baremetal '
            'node list\n' % (url, url))


if __name__ == '__main__':
    sys.exit(main())
