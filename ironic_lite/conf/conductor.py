"""Options of the [conductor] group."""

from oslo_config import cfg

opts = [
    cfg.IntOpt('heartbeat_interval',
               default=10,
               min=1,
               help='Seconds between two heartbeats of a conductor.'),
    cfg.IntOpt('heartbeat_timeout',
               default=60,
               min=1,
               help='A conductor whose last heartbeat is older than this '
                    'many seconds is no longer alive: the API shows it as '
                    'such and its nodes move to the other conductors.'),
    cfg.StrOpt('conductor_group',
               default='',
               regex=r'^[a-zA-Z0-9_\-\.]*$',
               help='The conductor group this conductor serves. Nodes of a '
                    'group are only handled by conductors of that group.'),
    cfg.IntOpt('sync_local_state_interval',
               default=180,
               min=1,
               help='Seconds between two passes in which a conductor takes '
                    'over the nodes the hash ring newly gives it (it also '
                    'makes a pass whenever conductors join or leave).'),
    cfg.IntOpt('record_served_by_interval',
               default=10,
               min=0,
               help='Seconds between two passes in which a conductor records '
                    'in each node not recorded yet (new, or whose driver or '
                    'conductor group changed) the conductor serving it, so '
                    'that GET /v1/nodes?conductor= reads one range of an '
                    'index. A pass also follows every change of '
                    'conductors. 0: never (the API then reads such pages '
                    'from the hash ring\'s arcs, more slowly).'),
    cfg.IntOpt('node_locked_retry_attempts',
               default=3,
               min=1,
               help='How many times a conductor tries to lock a busy node '
                    'before it answers that the node is locked.'),
    cfg.FloatOpt('node_locked_retry_interval',
                 default=1.0,
                 min=0,
                 help='Seconds between two attempts to lock a busy node.'),
    cfg.IntOpt('graceful_shutdown_timeout',
               default=30,
               min=0,
               help='On SIGTERM or SIGINT a conductor first leaves the hash '
                    'rings (its nodes go to the other conductors at once), '
                    'then waits this many seconds at most for the RPC '
                    'calls and tasks under way to finish, then exits even '
                    'if some have not. ironic-lite and ironic-lite-api '
                    'give the HTTP requests under way the same bound. '
                    'Keep it below heartbeat_timeout: the node '
                    'locks of a conductor whose last heartbeat is older '
                    'than that are released by the other conductors.'),
    cfg.IntOpt('workers_pool_size',
               default=100,
               min=1,
               help='Threads a conductor runs long node work in (power '
                    'actions, deploys, tear-downs). When all are busy, '
                    'new work is refused with 503 (NoFreeConductorWorker) '
                    'and nothing is left locked.'),
    cfg.IntOpt('power_state_change_timeout',
               default=30,
               min=2,
               help='Seconds a power driver waits for a node to reach the '
                    'power state asked of it (power on, power off, reboot) '
                    'when the request names no timeout.'),
    cfg.IntOpt('soft_power_off_timeout',
               default=600,
               min=1,
               help='Seconds a soft power off or soft reboot may take when '
                    'the request names no timeout.'),
    cfg.IntOpt('power_driver_grace',
               default=90,
               min=0,
               help='Seconds a power driver may run past the timeout of '
                    'its action (and how long a power state read may take) '
                    'before the conductor gives up on it: the node gets '
                    'last_error, loses its target_power_state and its lock '
                    'although the driver call has not returned. Leave room '
                    'for the driver\'s own retries (see [ipmi]).'),
    cfg.IntOpt('sync_power_state_interval',
               default=60,
               min=0,
               help='Seconds between two passes in which a conductor reads '
                    'the power state of its nodes and compares it with the '
                    'database (0: never).'),
    cfg.BoolOpt('force_power_state_during_sync',
                default=True,
                help='When a node\'s power state differs from the database, '
                     'drive the hardware back to the state in the database '
                     '(True) or record the state the hardware reports '
                     '(False).'),
    cfg.IntOpt('power_state_sync_max_retries',
               default=3,
               min=0,
               help='How many passes of the power state sync in a row may '
                    'fail to read a node\'s power state, or find it '
                    'different from the database, before the node is put '
                    'in maintenance with the fault "power failure".'),
    cfg.IntOpt('power_failure_recovery_interval',
               default=300,
               min=0,
               help='Seconds between two passes in which a conductor reads '
                    'the power state of its nodes in maintenance for a power '
                    'failure; a node that answers leaves maintenance '
                    '(0: never).'),
    cfg.IntOpt('check_provision_state_interval',
               default=60,
               min=1,
               help='Seconds between two passes in which a conductor '
                    'fails the deploys of its nodes that waited for a '
                    'callback longer than deploy_callback_timeout.'),
    cfg.IntOpt('deploy_callback_timeout',
               default=1800,
               min=0,
               help='Seconds a node may stay in "wait call-back" before '
                    'its deploy fails; 0 never fails it.'),
    cfg.BoolOpt('automated_clean',
                default=False,
                help='Clean nodes on their way to "available" (provide, '
                     'undeploy). ironic-lite has no agent ramdisk to run '
                     'clean steps: with this on, nodes whose deploy '
                     'interface cannot clean without one (all but fake) '
                     'go to "clean failed" at once with a last_error '
                     'saying so. Off (the default here, unlike Ironic), '
                     'cleaning is skipped unless a node\'s own '
                     'automated_clean is true.'),
    cfg.StrOpt('deploy_kernel',
               help='Local path, file:// or http(s):// URL of the deploy '
                    'kernel of the nodes whose driver_info names none (as '
                    'in Ironic). The PXE health probe checks that it is '
                    'there.'),
    cfg.StrOpt('deploy_ramdisk',
               help='Local path, file:// or http(s):// URL of the deploy '
                    'ramdisk of the nodes whose driver_info names none (as '
                    'in Ironic). The PXE health probe checks that it is '
                    'there.'),
    cfg.IntOpt('pxe_health_interval',
               default=300,
               min=0,
               help='Seconds between two probes a conductor makes of its '
                    'own PXE environment (tftp_root and http_root writable, '
                    'deploy kernel and ramdisk present, http_url serving '
                    'http_root), shown as pxe_health in GET '
                    '/v1/conductors/{hostname} (0: never). The first probe '
                    'runs at start.'),
    cfg.IntOpt('pxe_health_timeout',
               default=10,
               min=1,
               help='Seconds the PXE health probe waits for one HTTP '
                    'answer (the http_url check, an http(s) deploy image).'),
    cfg.IntOpt('conductor_events_max_age',
               default=90 * 24 * 3600,
               min=0,
               help='Seconds the membership history (GET '
                    '/v1/conductor_events) keeps an event (0: no limit by '
                    'age).'),
    cfg.IntOpt('conductor_events_max_rows',
               default=10000,
               min=0,
               help='The membership history keeps at most this many events, '
                    'the newest (0: no limit by count).'),
    cfg.IntOpt('conductor_events_prune_interval',
               default=3600,
               min=0,
               help='Seconds between two passes in which a conductor '
                    'deletes the membership events beyond '
                    'conductor_events_max_age and conductor_events_max_rows '
                    '(0: never).'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group='conductor')


def list_opts():
    return opts
