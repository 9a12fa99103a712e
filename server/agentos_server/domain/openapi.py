"""OpenAPI documents of skills: validated on write, and read back as the operations the proxy serves.

A skill's `openapi_spec` is JSON or YAML text of an OpenAPI 3.0 or 3.1 document, at most 512 KiB.
It is checked with openapi-spec-validator. Only references inside the document ("#/...") are
allowed: the validator would otherwise fetch http(s) and file: URLs while validating, which would
let a publisher make the server read its own files or call internal hosts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from agentos_server.domain.errors import InvalidArgument, Violations

MAX_SPEC_BYTES = 512 * 1024
# Reported per document; a broken document can have thousands of problems and the first few are
# what the author needs.
MAX_REPORTED_PROBLEMS = 10
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_VERSION = re.compile(r"^3\.(0|1)\.\d+$")
_MAX_REF_DEPTH = 32


class _LocalOnly30(OpenAPIV30SpecValidator):
    resolver_handlers: dict[str, Any] = {}


class _LocalOnly31(OpenAPIV31SpecValidator):
    resolver_handlers: dict[str, Any] = {}


@dataclass(frozen=True)
class Operation:
    """One callable operation of a skill: what ExecuteSkill's `operation` names."""

    operation_id: str
    method: str
    path: str
    summary: str
    # JSON Schema of the application/json request body, local $refs resolved; None when the
    # operation takes no JSON body.
    request_schema: Mapping[str, Any] | None
    # The operation's parameters (path, query, header), with the path item's own ones merged in.
    parameters: tuple[Mapping[str, Any], ...]

    @property
    def key(self) -> str:
        """How a caller names it: the operationId, or "METHOD /path" when there is none."""
        return self.operation_id or f"{self.method} {self.path}"


@dataclass(frozen=True)
class OpenApiDocument:
    openapi_version: str
    title: str
    operations: tuple[Operation, ...]

    def find(self, name: str) -> Operation | None:
        """An operation by operationId or by "METHOD /path" (method in any case)."""
        method, _, path = name.partition(" ")
        for operation in self.operations:
            if operation.operation_id and operation.operation_id == name:
                return operation
            if path and operation.method == method.upper() and operation.path == path:
                return operation
        return None


def _load(text: str, field_name: str) -> Any:
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError as error:
            raise InvalidArgument(
                f"is not valid JSON: {error}", field=field_name, reason="INVALID_OPENAPI"
            ) from None
    try:
        # Aliases are refused: nested ones expand a small text into a huge document.
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise InvalidArgument(
                    "must not use YAML aliases (*name)", field=field_name, reason="INVALID_OPENAPI"
                )
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise InvalidArgument(
            f"is neither JSON nor valid YAML{where}: {problem}", field=field_name, reason="INVALID_OPENAPI"
        ) from None


def _references(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "$ref":
                yield path or "/", item
            else:
                yield from _references(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _references(item, f"{path}/{index}")


def _location(parts: Any) -> str:
    text = ".".join(str(p) for p in parts)
    return text or "(document)"


def validate_openapi(text: str, field_name: str = "skill.openapi_spec") -> dict[str, Any]:
    """The parsed document, or INVALID_ARGUMENT on `field_name` with the validator's messages."""
    if len(text.encode()) > MAX_SPEC_BYTES:
        raise InvalidArgument(
            f"is larger than {MAX_SPEC_BYTES // 1024} KiB", field=field_name, reason="INVALID_OPENAPI"
        )
    document = _load(text, field_name)
    if not isinstance(document, dict):
        raise InvalidArgument(
            "must be an OpenAPI document (a mapping)", field=field_name, reason="INVALID_OPENAPI"
        )
    version = document.get("openapi")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        found = f"swagger {document['swagger']}" if "swagger" in document else f"openapi {version!r}"
        raise InvalidArgument(
            f"must be an OpenAPI 3.0 or 3.1 document (found {found})",
            field=field_name,
            reason="INVALID_OPENAPI",
        )

    v = Violations()
    for where, target in _references(document):
        if not isinstance(target, str) or not target.startswith("#"):
            v.add(
                field_name, f"{where}: $ref {target!r} points outside the document; only '#/...' is allowed"
            )
        elif _pointer(document, target) is _NOWHERE:
            v.add(field_name, f"{where}: $ref {target!r} points at nothing in the document")
    v.raise_if_any("INVALID_OPENAPI")

    validator_class = _LocalOnly31 if version.startswith("3.1") else _LocalOnly30
    try:
        for count, error in enumerate(validator_class(document).iter_errors()):
            if count == MAX_REPORTED_PROBLEMS:
                v.add(field_name, "(further problems not shown)")
                break
            where = _location(getattr(error, "absolute_path", ()))
            v.add(field_name, f"{where}: {getattr(error, 'message', str(error))}")
    except Exception as error:
        # A reference to a missing "#/..." target surfaces as a resolver exception, not an error.
        v.add(field_name, f"cannot be validated: {type(error).__name__}: {error}")
    v.raise_if_any("INVALID_OPENAPI")
    return document


_NOWHERE = object()


def _pointer(document: Mapping[str, Any], target: str) -> Any:
    """The value a local JSON pointer ("#/a/b") names, or _NOWHERE."""
    found: Any = document
    if target in ("#", "#/"):
        return found
    if not target.startswith("#/"):
        return _NOWHERE
    for part in target[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(found, Mapping) and key in found:
            found = found[key]
        elif isinstance(found, list) and key.isdigit() and int(key) < len(found):
            found = found[int(key)]
        else:
            return _NOWHERE
    return found


def _resolve(value: Any, document: Mapping[str, Any], depth: int = 0) -> Any:
    """Inlines local $refs; cycles and very deep chains are left as $ref at the depth limit."""
    if depth > _MAX_REF_DEPTH:
        return value
    if isinstance(value, Mapping):
        target = value.get("$ref")
        if isinstance(target, str) and target.startswith("#"):
            found = _pointer(document, target)
            return value if found is _NOWHERE else _resolve(found, document, depth + 1)
        return {k: _resolve(v, document, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, document, depth + 1) for v in value]
    return value


def operations_of(document: Mapping[str, Any]) -> OpenApiDocument:
    """The operations of a validated document, in document order."""
    found: list[Operation] = []
    paths = document.get("paths") or {}
    for path, item in paths.items():
        if not isinstance(item, Mapping):
            continue
        item = _resolve(item, document)
        shared = tuple(p for p in item.get("parameters", []) if isinstance(p, Mapping))
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping):
                continue
            body = operation.get("requestBody") or {}
            content = body.get("content") or {}
            json_body = content.get("application/json") or {}
            own = tuple(p for p in operation.get("parameters", []) if isinstance(p, Mapping))
            own_keys = {(p.get("name"), p.get("in")) for p in own}
            found.append(
                Operation(
                    operation_id=str(operation.get("operationId", "")),
                    method=method.upper(),
                    path=str(path),
                    summary=str(operation.get("summary", "")),
                    request_schema=json_body.get("schema") if isinstance(json_body, Mapping) else None,
                    parameters=own + tuple(p for p in shared if (p.get("name"), p.get("in")) not in own_keys),
                )
            )
    info = document.get("info") or {}
    return OpenApiDocument(
        openapi_version=str(document.get("openapi", "")),
        title=str(info.get("title", "")),
        operations=tuple(found),
    )


@lru_cache(maxsize=512)
def parse_operations(text: str) -> OpenApiDocument:
    """The operations of a stored (hence already valid) spec; cached, since specs never change
    under a version. For the execution proxy."""
    if not text:
        return OpenApiDocument(openapi_version="", title="", operations=())
    return operations_of(_load(text, "openapi_spec"))
