"""WSME types for query parameters and bodies, with Ironic's error messages.

A conversion error raises an ironic-lite exception with a 4xx code, so WSME
answers it as a client fault, never as a 500.
"""

import json

from oslo_utils import strutils
from oslo_utils import uuidutils
from wsme import types as wtypes

from ironic_lite.common import exception


class UuidType(wtypes.UserType):
    basetype = wtypes.text
    name = 'uuid'

    def validate(self, value):
        if not uuidutils.is_uuid_like(value):
            raise exception.InvalidUUID(uuid=value)
        return value

    def frombasetype(self, value):
        return None if value is None else self.validate(value)


class BooleanType(wtypes.UserType):
    """``true``/``false`` and the other spellings oslo's strict parse takes."""

    basetype = wtypes.text
    name = 'boolean'

    def validate(self, value):
        try:
            return strutils.bool_from_string(value, strict=True)
        except ValueError as e:
            raise exception.Invalid(str(e))

    def frombasetype(self, value):
        return None if value is None else self.validate(value)


class ListType(wtypes.UserType):
    """A comma-separated list: items stripped, lowercased, de-duplicated,
    in the order given."""

    basetype = wtypes.text
    name = 'list'

    def validate(self, value):
        items = (item.strip().lower() for item in value.split(','))
        return list(dict.fromkeys(item for item in items if item))

    def frombasetype(self, value):
        return None if value is None else self.validate(value)


class JsonType(wtypes.UserType):
    """Any JSON document, passed through as parsed."""

    basetype = wtypes.text
    name = 'json'

    def validate(self, value):
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise exception.Invalid('%s is not JSON serializable' % value)
        return value

    def frombasetype(self, value):
        return value


uuid = UuidType()
boolean = BooleanType()
listtype = ListType()
jsontype = JsonType()
text = wtypes.text
