"""The interface types of a hardware type, as Ironic names them, and the
node fields naming each one's implementation.

One list for the drivers, the conductor and the API. It lives in common/
because the API must not import the drivers.
"""

INTERFACE_TYPES = ('bios', 'boot', 'console', 'deploy', 'inspect',
                   'management', 'network', 'power', 'raid', 'rescue',
                   'storage', 'vendor')

# ``<type>_interface`` for each type, in the same order.
NODE_FIELDS = tuple('%s_interface' % interface_type
                    for interface_type in INTERFACE_TYPES)
