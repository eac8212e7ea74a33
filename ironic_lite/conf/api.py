"""Options of the [api] group."""

from oslo_config import cfg

opts = [
    cfg.HostAddressOpt('host_ip',
                       default='127.0.0.1',
                       help='The IP address the API listens on.'),
    cfg.PortOpt('port',
                default=6385,
                help='The TCP port the API listens on.'),
    cfg.IntOpt('max_limit',
               default=1000,
               min=1,
               help='The largest number of items a list request returns; '
                    'also the page size when the client gives no limit.'),
    cfg.StrOpt('public_endpoint',
               help='The URL clients use to reach the API, for the links in '
                    'responses, e.g. https://baremetal.example.com:6385. '
                    'Defaults to the host URL of each request.'),
    cfg.IntOpt('api_workers',
               min=1,
               help='API worker processes sharing the port: one process '
                    'answers one request at a time (Python\'s GIL), so use '
                    'about one per core. Each has its own database pool. '
                    'ironic-lite-api: defaults to the number of cores, at '
                    'most 4; each worker has its own message broker '
                    'connection. The all-in-one ironic-lite: defaults to '
                    'the number of cores, at most 2; its first process '
                    'holds the conductor, and the others answer reads and '
                    'pass every other request to it over a private Unix '
                    'socket. It once meant the '
                    'threads of the server, now [api]api_threads.'),
    cfg.IntOpt('api_threads',
               default=8,
               min=1,
               help='Threads running API requests in each API process. A '
                    'thread gets a request only once it has arrived whole, '
                    'so slow clients do not hold threads.'),
    cfg.IntOpt('max_request_body_size',
               default=1048576,
               min=1,
               help='The largest request body the API reads, in bytes '
                    '(1 MiB by default). A larger body is refused with 413, '
                    'by its Content-Length before it is read, or, sent '
                    'chunked, as soon as it grows past this size.'),
    cfg.IntOpt('max_patch_operations',
               default=1000,
               min=1,
               help='The most operations one JSON patch (PATCH request) may '
                    'hold; a longer patch is refused with 400. Ironic has no '
                    'such limit.'),
    cfg.BoolOpt('allow_unauthenticated_remote',
                default=False,
                help='With [DEFAULT]auth_strategy = noauth, every caller is '
                     'an administrator, so the API refuses to listen on an '
                     'address other than a loopback one (127.0.0.0/8, ::1, '
                     'localhost). Set this to serve without authentication '
                     'on another address anyway, when the network itself '
                     'admits only trusted clients.'),
    cfg.BoolOpt('metrics_public',
                default=False,
                help='Serve GET /metrics (Prometheus) to anyone, without '
                     'authentication. By default it is protected like the '
                     'rest of the API (policy baremetal:metrics:get).'),
]

# The built-in HTTP server (ironic_lite/api/server.py). A request is read
# whole, headers and body, before a thread runs it: slow clients hold a
# connection, never a thread.
serving_opts = [
    cfg.IntOpt('max_connections',
               default=1000,
               min=1,
               help='Client connections the built-in server keeps open at '
                    'once, idle ones included. At the limit it stops '
                    'accepting; new connections wait in the listen backlog '
                    'until one closes. Each connection uses a file '
                    'descriptor: the server raises its open-file limit to '
                    'fit, within the hard limit.'),
    cfg.IntOpt('backlog',
               default=2048,
               min=1,
               help='Length of the listen queue: connections the kernel '
                    'completes and holds until the server accepts them. The '
                    'kernel caps it at net.core.somaxconn.'),
    cfg.IntOpt('header_timeout',
               default=20,
               min=1,
               help='Seconds a client has to send the request line and '
                    'headers of a request, counted from its first byte (for '
                    'the first request of a connection, from the moment it '
                    'is accepted). Late requests are answered 408 and the '
                    'connection closed.'),
    cfg.IntOpt('body_timeout',
               default=60,
               min=1,
               help='Seconds a client has to send a request body once its '
                    'headers are in. Late requests are answered 408 and the '
                    'connection closed.'),
    cfg.IntOpt('idle_timeout',
               default=60,
               min=1,
               help='Seconds a connection may stay silent before the server '
                    'closes it: how long keep-alive connections are kept '
                    'between requests. A request the API is still working '
                    'on is never cut.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group='api')
    conf.register_opts(serving_opts, group='api')


def list_opts():
    return opts + serving_opts
