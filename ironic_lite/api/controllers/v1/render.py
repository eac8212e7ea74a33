"""Rows to API objects, from the resource's field declarations."""

from ironic_lite.api.controllers import link
from ironic_lite.api.controllers.v1 import fields as api_fields


class Renderer:
    """Turns rows of one resource into API objects at the request's
    version, showing ``shown`` (names of ``fields``) and the links."""

    def __init__(self, request, fields: api_fields.Registry,
                 shown: tuple[str, ...], resource: str):
        self.request = request
        self.registry = fields
        self.fields = shown
        self.resource = resource

    def value(self, row, name: str):
        field = self.registry[name]
        value = getattr(row, name)
        if field.show is not None:
            return field.show(self.request, value)
        return value

    def links(self, row) -> dict:
        return {'links': link.self_and_bookmark(self.request, self.resource,
                                                row.uuid)}

    def render(self, row) -> dict:
        result = {name: self.value(row, name) for name in self.fields}
        result.update(self.links(row))
        return result
