"""google.protobuf.Value <-> plain JSON values.

Value carries every number as a double, so 3 arrives as 3.0; a JSON Schema "integer" (and a seller
reading the body) expects 3. Whole numbers within the exactly representable range come back as
ints. Written by hand: json_format's converters are several times slower on the proxy's hot path.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2

_EXACT = 2**53


def to_python(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number = value.number_value
        if number.is_integer() and -_EXACT <= number <= _EXACT:
            return int(number)
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return {k: to_python(v) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [to_python(v) for v in value.list_value.values]
    return None


def fill(target: struct_pb2.Value, data: Any) -> None:
    if data is None:
        target.null_value = struct_pb2.NULL_VALUE
    elif isinstance(data, bool):
        target.bool_value = data
    elif isinstance(data, int | float):
        target.number_value = float(data)
    elif isinstance(data, str):
        target.string_value = data
    elif isinstance(data, dict):
        fields = target.struct_value.fields
        target.struct_value.SetInParent()
        for key, item in data.items():
            fill(fields[str(key)], item)
    elif isinstance(data, list | tuple):
        values = target.list_value.values
        target.list_value.SetInParent()
        for item in data:
            fill(values.add(), item)
    else:
        raise TypeError(f"{type(data).__name__} is not a JSON value")


def to_value(data: Any) -> struct_pb2.Value:
    value = struct_pb2.Value()
    fill(value, data)
    return value
