"""Which operation of a skill a call names, and whether its payload fits the skill's OpenAPI document.

A call names an operation by operationId or as "METHOD /path" (domain/openapi). The payload is the
JSON request body and is validated against the operation's application/json request-body schema
(OpenAPI 3.0 schemas with the 3.0 dialect — nullable, readOnly forbidden in requests — and 3.1 as
JSON Schema 2020-12). Path and query parameters the operation declares are read from the payload's
top-level properties of the same name and checked against their schemas; for an operation without
a request body the payload may hold nothing else.

A skill without an OpenAPI document accepts any payload. Its HTTPS endpoint is then called as the
operation says, which must be "METHOD /path"; hosted scripts and agents receive the operation
string as given.

Problems are INVALID_ARGUMENT: UNKNOWN_OPERATION on `operation`, INVALID_PAYLOAD with one field
violation per problem, named "payload" plus the path inside it ("payload.items[2].qty") and
describing the schema rule that failed ("#/properties/items/items/properties/qty/minimum").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from jsonschema.protocols import Validator
from openapi_schema_validator import OAS30WriteValidator, OAS31Validator
from referencing.exceptions import Unresolvable

from agentos_server.domain.errors import InvalidArgument, Violations
from agentos_server.domain.openapi import HTTP_METHODS, OpenApiDocument, Operation, parse_operations

MAX_OPERATION_LENGTH = 300
MAX_REPORTED_PROBLEMS = 10
# Methods that carry no request body unless the document declares one.
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"})
_LISTED_OPERATIONS = 20

JsonValue = Any


@dataclass(frozen=True)
class PreparedCall:
    """What the dispatcher sends: the operation as named, and for HTTPS the concrete request."""

    operation: str
    method: str
    # The path with its parameters filled in and percent-encoded; "" for non-HTTP targets without
    # a document.
    path: str
    query: tuple[tuple[str, str], ...]
    # Whether the payload travels as the JSON request body.
    has_body: bool


def _describe(operations: Sequence[Operation]) -> str:
    names = [op.key for op in operations[:_LISTED_OPERATIONS]]
    more = len(operations) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _field_path(parts: Sequence[Any]) -> str:
    text = "payload"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _schema_pointer(parts: Sequence[Any]) -> str:
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# Keyed by the schema object: parse_operations caches each skill version's document, so a schema
# is the same object on every call; the schema is kept beside its validator so its id cannot be
# reused by another object while the entry lives.
_VALIDATORS: dict[tuple[str, int], tuple[Mapping[str, Any], Validator]] = {}


def _validator(version: str, schema: Mapping[str, Any]) -> Validator:
    # Compiling a validator costs far more than running it.
    key = (version, id(schema))
    found = _VALIDATORS.get(key)
    if found is None or found[0] is not schema:
        cls = OAS31Validator if version.startswith("3.1") else OAS30WriteValidator
        if len(_VALIDATORS) > 4096:
            _VALIDATORS.clear()
        found = _VALIDATORS[key] = (schema, cls(schema))
    return found[1]


def _check(
    v: Violations, version: str, schema: Mapping[str, Any], value: JsonValue, prefix: Sequence[Any]
) -> None:
    try:
        errors = sorted(_validator(version, schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    except Unresolvable:
        v.add(_field_path(prefix), "nests deeper than the skill's recursive schema can be checked")
        return
    for count, error in enumerate(errors):
        if count == MAX_REPORTED_PROBLEMS:
            v.add("payload", "(further problems not shown)")
            break
        where = _field_path([*prefix, *error.absolute_path])
        v.add(where, f"{error.message} (schema {_schema_pointer(error.absolute_schema_path)})")


def _param_text(value: JsonValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def find_operation(document: OpenApiDocument, name: str) -> Operation:
    if not name:
        raise InvalidArgument(
            'is required: an operationId or "METHOD /path" of the skill',
            field="operation",
            reason="REQUIRED_FIELD",
        )
    found = document.find(name)
    if found is None:
        raise InvalidArgument(
            f"the skill's OpenAPI document has no operation {name!r}; "
            f"it has {_describe(document.operations)}",
            field="operation",
            reason="UNKNOWN_OPERATION",
        )
    return found


def prepare_call(spec_text: str, operation: str, payload: JsonValue, *, http: bool) -> PreparedCall:
    """Finds the operation and checks the payload, or raises INVALID_ARGUMENT."""
    if len(operation) > MAX_OPERATION_LENGTH:
        raise InvalidArgument(
            f"must be at most {MAX_OPERATION_LENGTH} characters",
            field="operation",
            reason="INVALID_OPERATION",
        )
    document = parse_operations(spec_text)
    if not document.operations:
        return _undocumented(operation, http=http)
    found = find_operation(document, operation)
    version = document.openapi_version
    v = Violations()
    if found.request_schema is not None:
        _check(v, version, found.request_schema, payload, ())
    has_body = found.request_schema is not None or found.method not in _BODYLESS
    params = [p for p in found.parameters if p.get("in") in ("path", "query")]
    if not has_body and payload is not None and not isinstance(payload, dict):
        v.add("payload", f"must be an object of {found.key}'s parameters (it takes no request body)")
    source = payload if isinstance(payload, dict) else {}
    if not has_body:
        declared = {str(p.get("name")) for p in params}
        for key in source:
            if key not in declared:
                v.add(_field_path([key]), f"is not a parameter of {found.key}, which takes no request body")

    path = found.path
    query: list[tuple[str, str]] = []
    for param in params:
        name = str(param.get("name", ""))
        where = param.get("in")
        if name not in source:
            if where == "path" or param.get("required"):
                v.add(_field_path([name]), f"is required ({where} parameter of {found.key})")
            continue
        value = source[name]
        schema = param.get("schema")
        if isinstance(schema, Mapping):
            _check(v, version, schema, value, (name,))
        if where == "path":
            path = path.replace("{" + name + "}", quote(_param_text(value), safe=""))
        elif isinstance(value, list):
            query.extend((name, _param_text(item)) for item in value)
        elif value is not None:
            query.append((name, _param_text(value)))
    v.raise_if_any("INVALID_PAYLOAD")
    return PreparedCall(found.key, found.method, path, tuple(query), has_body)


def _undocumented(operation: str, *, http: bool) -> PreparedCall:
    if not operation.strip():
        raise InvalidArgument("is required", field="operation", reason="REQUIRED_FIELD")
    if not http:
        return PreparedCall(operation, "", "", (), True)
    method, _, path = operation.partition(" ")
    method = method.upper()
    if method.lower() not in HTTP_METHODS or not path.startswith("/") or " " in path:
        raise InvalidArgument(
            'must be "METHOD /path" (e.g. "POST /send"): this skill publishes no OpenAPI document to '
            "name operations by id",
            field="operation",
            reason="UNKNOWN_OPERATION",
        )
    return PreparedCall(f"{method} {path}", method, path, (), method not in _BODYLESS)
