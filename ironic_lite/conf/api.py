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
               default=8,
               min=1,
               help='Threads serving API requests in the built-in WSGI '
                    'server.'),
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
    cfg.BoolOpt('debug_tracebacks_in_api',
                default=False,
                help='Return server-side tracebacks in API error responses. '
                     'Never enable this in production.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group='api')


def list_opts():
    return opts
