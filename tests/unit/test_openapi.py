"""api-ref/source/openapi.yaml is a valid OpenAPI document that describes
the routes the pecan controllers serve, no more and no fewer, with their
query parameters and the values the code knows."""

import inspect
import os
import typing

import openapi_spec_validator
import schemathesis
import testtools
import wsme.api
import yaml
from pecan import rest
from testtools import matchers

from ironic_lite.api import expose
from ironic_lite.api import versions
from ironic_lite.api.controllers import root
from ironic_lite.api.controllers import v1
from ironic_lite.api.controllers.v1 import conductor
from ironic_lite.api.controllers.v1 import conductor_event
from ironic_lite.api.controllers.v1 import conductor_group
from ironic_lite.api.controllers.v1 import conductor_impact
from ironic_lite.api.controllers.v1 import driver
from ironic_lite.api.controllers.v1 import node
from ironic_lite.api.controllers.v1 import node_management
from ironic_lite.api.controllers.v1 import port
from ironic_lite.api.controllers.v1 import types

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
OPENAPI = os.path.join(ROOT, 'api-ref', 'source', 'openapi.yaml')

# How pecan's RestController routes its methods: on the resource itself, or
# on one item of it (the method's first argument is the item's path
# segment).
_COLLECTION_METHODS = {'get': 'GET', 'get_all': 'GET', 'post': 'POST'}
_ITEM_METHODS = {'get_one': 'GET', 'put': 'PUT', 'patch': 'PATCH',
                 'delete': 'DELETE'}
# Controllers with a _route of their own: what each adds to pecan's routing
# is known here. A new one needs a look at what it serves, and a line here.
_OWN_ROUTING = (
    # Prefixes paths with /v1 when they have no version: the bookmark links,
    # which the document describes once, in its description.
    root.RootController,
    # Reads the version header before routing.
    v1.V1Controller,
    # /nodes/{node_ident}/<name> to the controllers of _subresources, which
    # routes() walks.
    node.NodesController,
    # Only refuse path segments their methods do not take (404).
    conductor.ConductorsController,
    conductor_event.ConductorEventsController,
    conductor_event.ConductorHostEventsController,
    node.NodeConductorController,
    conductor_group.ConductorGroupsController,
    conductor_impact.ConductorImpactController,
    port.PortsController,
    driver.DriverPropertiesController,
    # /drivers/{driver_name}/properties to DriverPropertiesController.
    driver.DriversController,
    # A part of one node: its put and delete act on it, not on an item, and
    # its _subresources are below it (see _ONE_THING).
    node_management.NodePart,
    # A collection of one node's things: 404 below its version; refuses
    # extra segments.
    node_management.NodeItems,
)
# Controllers of one thing, not of a collection.
_ONE_THING = (node_management.NodePart,)
_HTTP_METHODS = ('get', 'put', 'post', 'delete', 'options', 'head', 'patch',
                 'trace')


def _definition(method) -> wsme.api.FunctionDefinition:
    return wsme.api.FunctionDefinition.get(method)


def _query_parameters(method, item: bool) -> frozenset[str]:
    """The query parameters a controller method takes: its arguments less
    the item's path segment and the body."""
    definition = _definition(method)
    names = [argument.name for argument in definition.arguments]
    if item:
        names = names[1:]
    if definition.body_type is not None:
        names = names[:-1]
    return frozenset(names)


class Route(typing.NamedTuple):
    method: str
    path: str
    query: frozenset[str]


def routes(controller, path: str = '') -> list[Route]:
    """Every (HTTP method, OpenAPI path) ``controller`` serves under
    ``path``, walking its sub-controllers."""
    cls = controller if isinstance(controller, type) else type(controller)
    for klass in cls.__mro__[:cls.__mro__.index(rest.RestController)]:
        if '_lookup' in vars(klass) or '_default' in vars(klass) or (
                '_route' in vars(klass) and klass not in _OWN_ROUTING):
            raise AssertionError(
                '%s routes requests itself: add what it serves to '
                '_OWN_ROUTING in %s' % (klass.__name__, __name__))
    found = []
    item = None
    for name, method in inspect.getmembers(cls, callable):
        if not getattr(method, 'exposed', False) or name == '_route':
            continue
        if name in _COLLECTION_METHODS:
            found.append(Route(_COLLECTION_METHODS[name], path or '/',
                               _query_parameters(method, item=False)))
        elif name in _ITEM_METHODS and issubclass(cls, _ONE_THING):
            found.append(Route(_ITEM_METHODS[name], path or '/',
                               _query_parameters(method, item=False)))
        elif name in _ITEM_METHODS:
            ident = _definition(method).arguments[0].name
            if item not in (None, ident):
                raise AssertionError('%s names its item both %s and %s'
                                     % (cls.__name__, item, ident))
            item = ident
            found.append(Route(_ITEM_METHODS[name],
                               '%s/{%s}' % (path, ident),
                               _query_parameters(method, item=True)))
            if not _definition(method).arguments[0].mandatory:
                # An optional item: the method acts on the whole resource
                # too (PUT and DELETE /nodes/{node_ident}/traits).
                found.append(Route(_ITEM_METHODS[name], path or '/',
                                   _query_parameters(method, item=True)))
        elif name in getattr(cls, '_custom_actions', {}):
            for http_method in cls._custom_actions[name]:
                found.append(Route(http_method, '%s/%s' % (path, name),
                                   _query_parameters(method, item=False)))
        else:
            raise AssertionError('%s.%s is exposed, and this test does not '
                                 'know how pecan routes it'
                                 % (cls.__name__, name))
    for name, value in inspect.getmembers(cls):
        if isinstance(value, rest.RestController):
            found += routes(value, '%s/%s' % (path, name))
    for name, subresource in getattr(cls, '_subresources', {}).items():
        below = path if issubclass(cls, _ONE_THING) else '%s/{%s}' % (
            path, item)
        found += routes(subresource, '%s/%s' % (below, name))
    return found


def _load() -> dict:
    with open(OPENAPI) as f:
        return yaml.safe_load(f)


def _resolve(document: dict, value: dict) -> dict:
    while '$ref' in value:
        node_ = document
        for part in value['$ref'].lstrip('#/').split('/'):
            node_ = node_[part]
        value = node_
    return value


def _documented(document: dict) -> dict[tuple[str, str], frozenset[str]]:
    """(method, path) of each operation: the query parameters it takes."""
    operations = {}
    for path, item in document['paths'].items():
        shared = item.get('parameters', [])
        for method in _HTTP_METHODS:
            if method not in item:
                continue
            parameters = [_resolve(document, parameter) for parameter in
                          shared + item[method].get('parameters', [])]
            operations[(method.upper(), path)] = frozenset(
                parameter['name'] for parameter in parameters
                if parameter['in'] == 'query')
    return operations


class TestOpenAPI(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.document = _load()
        self.schemas = self.document['components']['schemas']

    def test_valid_openapi(self):
        openapi_spec_validator.validate(self.document)

    def test_schemathesis_loads_every_operation(self):
        # What tests/functional/test_fuzz.py relies on.
        schema = schemathesis.openapi.from_path(OPENAPI)
        schema.validate()
        labels = []
        for result in schema.get_all_operations():
            labels.append(result.ok().label)
        self.assertEqual(len(_documented(self.document)), len(labels))

    def test_paths_and_methods_are_the_routes(self):
        served = {(route.method, route.path): route.query
                  for route in routes(root.RootController())}
        documented = _documented(self.document)
        self.expectThat(sorted(set(served) - set(documented)),
                        matchers.Equals([]),
                        'routes served but not in %s' % OPENAPI)
        self.expectThat(sorted(set(documented) - set(served)),
                        matchers.Equals([]),
                        'operations documented but not served')
        for operation in set(served) & set(documented):
            self.expectThat(sorted(documented[operation]),
                            matchers.Equals(sorted(served[operation])),
                            'query parameters of %s %s' % operation)

    def test_walker_finds_what_pecan_routes(self):
        # The walker itself, on a controller of each kind it knows.
        class Things(rest.RestController):
            _custom_actions = {'summary': ['GET']}

            @expose.expose(types.jsontype, types.text)
            def get_all(self, colour=None):
                pass

            @expose.expose(types.jsontype, types.text,
                                types.text)
            def get_one(self, thing_id, fields=None):
                pass

            @expose.expose(types.jsontype, types.text,
                                body=types.jsontype)
            def put(self, thing_id, thing):
                pass

            @expose.expose(types.jsontype)
            def summary(self):
                pass

        found = {(route.method, route.path): set(route.query)
                 for route in routes(Things(), '/things')}
        self.assertEqual({('GET', '/things'): {'colour'},
                          ('GET', '/things/{thing_id}'): {'fields'},
                          ('PUT', '/things/{thing_id}'): set(),
                          ('GET', '/things/summary'): set()}, found)

    def test_walker_refuses_routing_it_does_not_know(self):
        class Odd(rest.RestController):
            @expose.expose(types.jsontype)
            def frobnicate(self):
                pass

        self.assertRaises(AssertionError, routes, Odd(), '/odd')

        class OwnRouting(rest.RestController):
            def _route(self, args, request=None):
                return super()._route(args, request)

        self.assertRaises(AssertionError, routes, OwnRouting(), '/own')

    def test_versions(self):
        parameter = self.document['components']['parameters']['ApiVersion']
        self.assertEqual(
            ['latest'] + ['%d.%d' % (versions.MAJOR, minor)
                          for minor in versions.Minor],
            parameter['schema']['enum'])
        self.assertEqual(versions.MAX_VERSION_STRING,
                         self.document['info']['version'])

    def test_node_fields(self):
        self.assertEqual(sorted(node.FIELDS),
                         sorted(self.schemas['NodeFieldName']['enum']))
        self.assertEqual(sorted([*node.FIELDS, 'links', 'states', 'ports']),
                         sorted(self.schemas['Node']['properties']))
        creatable = [name for name, field in node.FIELDS.items()
                     if not field.read_only_on_create
                     and field.refused_on_create is None]
        self.assertEqual(sorted(creatable),
                         sorted(self.schemas['NodeCreate']['properties']))

    def test_node_patch(self):
        operation = self.schemas['JsonPatchOperation']['properties']
        self.assertEqual(list(node._PATCH_OPS), operation['op']['enum'])
        self.assertEqual(node._PATCH_PATH, operation['path']['pattern'])

    def test_fault_filter(self):
        fault = self.document['components']['parameters']['FaultFilter']
        self.assertEqual(list(node.FAULTS), fault['schema']['enum'])

    def test_conductor_fields(self):
        self.assertEqual(sorted([*conductor.SHOW_FIELDS, 'links']),
                         sorted(self.schemas['Conductor']['properties']))
        show = self.document['components']['parameters'][
            'ConductorShowFields']
        self.assertEqual(list(conductor.SHOW_FIELDS),
                         show['schema']['items']['enum'])
        listing = [parameter for parameter in
                   self.document['paths']['/v1/conductors']['get'][
                       'parameters'] if parameter.get('name') == 'fields']
        self.assertEqual(list(conductor.DETAIL_FIELDS),
                         listing[0]['schema']['items']['enum'])

    def test_port_fields(self):
        self.assertEqual(sorted(port.FIELDS),
                         sorted(self.schemas['PortFieldName']['enum']))
        self.assertEqual(sorted([*port.FIELDS, 'links']),
                         sorted(self.schemas['Port']['properties']))
        creatable = [name for name, field in port.FIELDS.items()
                     if not field.read_only_on_create]
        self.assertEqual(sorted(creatable),
                         sorted(self.schemas['PortCreate']['properties']))
