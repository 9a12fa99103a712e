"""Daemon definitions: the YAML workflow format, shared by the Registry (validation on write) and
Execution (running it).

Validation has two layers. The JSON Schema in schemas/daemon.schema.json checks the shape. Then the
rules a schema cannot express: stage names unique, each stage of a kind has what that kind needs,
`needs` names existing stages without cycles, and every `${name}` resolves to an input or to the
output of a stage that is certain to have run before (an ancestor through `needs`; a stage without
`needs` follows the one above it in the file).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import jsonschema
import yaml

from agentos_server.domain.errors import InvalidArgument, Violations

MAX_DEFINITION_BYTES = 256 * 1024
DEFAULT_STAGE_TIMEOUT_SECONDS = 300
DEFAULT_RUN_TIMEOUT_SECONDS = 3600

InputKind = Literal["string", "number", "boolean", "enum", "json"]
StageKind = Literal["agent", "script", "hybrid", "skill"]
Runtime = Literal["python", "node", "bash"]

# ${name} or ${name.path.into.json}; "$${" writes a literal "${".
_REFERENCE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+)*)\}")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class InputSpec:
    name: str
    kind: InputKind
    description: str = ""
    required: bool = True
    options: tuple[str, ...] = ()
    default: Any = MISSING


@dataclass(frozen=True)
class StageSpec:
    name: str
    kind: StageKind
    # Stages that must finish first (explicit `needs`, or the stage above when none are given).
    depends_on: tuple[str, ...]
    output: str | None = None
    timeout_seconds: int = DEFAULT_STAGE_TIMEOUT_SECONDS
    retries: int = 0
    # agent and hybrid stages
    model: str | None = None
    capability: str | None = None
    routing: Literal["explicit", "cheapest", "fastest"] = "explicit"
    prompt: str | None = None
    system: str | None = None
    input: str | None = None
    output_format: Literal["text", "json"] = "text"
    max_tokens: int = 1024
    temperature: float = 0.0
    agent_role: str | None = None
    # script and hybrid stages
    runtime: Runtime | None = None
    script: str | None = None
    working_directory: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    # skill stages
    skill: str | None = None
    operation: str | None = None
    payload: Any = None


@dataclass(frozen=True)
class DaemonSpec:
    inputs: tuple[InputSpec, ...]
    stages: tuple[StageSpec, ...]
    timeout_seconds: int = DEFAULT_RUN_TIMEOUT_SECONDS
    max_credits: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def stage(self, name: str) -> StageSpec:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def execution_order(self) -> list[StageSpec]:
        """Stages in an order that respects every dependency (file order among equals)."""
        done: set[str] = set()
        ordered: list[StageSpec] = []
        pending = list(self.stages)
        while pending:
            ready = next(s for s in pending if set(s.depends_on) <= done)
            pending.remove(ready)
            done.add(ready.name)
            ordered.append(ready)
        return ordered


@cache
def _validator() -> jsonschema.protocols.Validator:
    text = resources.files("agentos_server.domain").joinpath("schemas/daemon.schema.json").read_text()
    schema = json.loads(text)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def schema_document() -> dict[str, Any]:
    schema = _validator().schema
    assert isinstance(schema, dict)
    return dict(schema)


def references(text: str) -> list[str]:
    """Root names of the ${...} references in a template."""
    return [match.group(1) for match in _REFERENCE.finditer(text)]


def _strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings_in(v)]
    return []


def _location(path: Sequence[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _load_yaml(text: str, field_name: str) -> Any:
    if len(text.encode()) > MAX_DEFINITION_BYTES:
        raise InvalidArgument(
            f"is larger than {MAX_DEFINITION_BYTES // 1024} KiB",
            field=field_name,
            reason="INVALID_DAEMON_DEFINITION",
        )
    if not text.strip():
        raise InvalidArgument("is required", field=field_name, reason="INVALID_DAEMON_DEFINITION")
    try:
        # Aliases are refused: expanding nested ones is the classic way to make a small YAML huge.
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise InvalidArgument(
                    "must not use YAML aliases (*name)", field=field_name, reason="INVALID_DAEMON_DEFINITION"
                )
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise InvalidArgument(
            f"is not valid YAML{where}: {problem}", field=field_name, reason="INVALID_YAML"
        ) from None


def parse_daemon_yaml(
    text: str, *, field_name: str = "daemon.definition_yaml", version: str | None = None
) -> DaemonSpec:
    document = _load_yaml(text, field_name)
    if isinstance(document, dict) and set(document) == {"daemon"}:
        document = document["daemon"]
    v = Violations()
    if not isinstance(document, dict):
        raise InvalidArgument(
            "must be a YAML mapping with a 'stages' list",
            field=field_name,
            reason="INVALID_DAEMON_DEFINITION",
        )
    for error in sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path)):
        v.add(field_name, f"{_location(error.absolute_path)}: {error.message}")
    v.raise_if_any("INVALID_DAEMON_DEFINITION")

    if version is not None and "version" in document and str(document["version"]) != version:
        v.add(field_name, f"version: says {document['version']} but the daemon's version is {version}")

    inputs = tuple(
        _parse_input(v, raw, index, field_name) for index, raw in enumerate(document.get("inputs", []))
    )
    input_names = [i.name for i in inputs]
    for name in {n for n in input_names if input_names.count(n) > 1}:
        v.add(field_name, f"inputs: {name!r} is declared more than once")

    raw_stages: list[dict[str, Any]] = document["stages"]
    stage_names = [s["name"] for s in raw_stages]
    for name in {n for n in stage_names if stage_names.count(n) > 1}:
        v.add(field_name, f"stages: the name {name!r} is used by more than one stage")
    stages = [_parse_stage(v, raw, index, stage_names, field_name) for index, raw in enumerate(raw_stages)]
    v.raise_if_any("INVALID_DAEMON_DEFINITION")

    _check_graph(v, stages, field_name)
    v.raise_if_any("INVALID_DAEMON_DEFINITION")
    _check_references(v, inputs, stages, raw_stages, field_name)
    v.raise_if_any("INVALID_DAEMON_DEFINITION")

    limits = document.get("limits", {})
    metadata = {
        k: document[k]
        for k in ("name", "description", "version", "author", "price", "license")
        if k in document
    }
    return DaemonSpec(
        inputs=inputs,
        stages=tuple(stages),
        timeout_seconds=int(limits.get("timeout_seconds", DEFAULT_RUN_TIMEOUT_SECONDS)),
        max_credits=limits.get("max_credits"),
        metadata=metadata,
    )


def _parse_input(v: Violations, raw: dict[str, Any], index: int, field_name: str) -> InputSpec:
    kind: InputKind = raw["type"]
    options = tuple(raw.get("options", ()))
    default = raw.get("default", MISSING)
    spec = InputSpec(
        name=raw["name"],
        kind=kind,
        description=raw.get("description", ""),
        required=bool(raw.get("required", default is MISSING)),
        options=options,
        default=default,
    )
    if default is not MISSING:
        try:
            coerce_input(spec, default, f"inputs[{index}].default")
        except InvalidArgument as error:
            v.add(field_name, f"inputs[{index}].default: {error.violations[0].description}")
    if kind == "enum" and len(set(options)) != len(options):
        v.add(field_name, f"inputs[{index}].options: must not repeat a value")
    return spec


def _parse_stage(
    v: Violations, raw: dict[str, Any], index: int, stage_names: list[str], field_name: str
) -> StageSpec:
    where = f"stages[{index}]"
    model = raw.get("model") or raw.get("agent")
    if "model" in raw and "agent" in raw and raw["model"] != raw["agent"]:
        v.add(field_name, f"{where}: give the model as 'model' or 'agent', not both")
    kind: StageKind
    if "type" in raw:
        kind = raw["type"]
    elif "skill" in raw:
        kind = "skill"
    elif "script" in raw:
        kind = "hybrid" if (model or raw.get("agent_role")) else "script"
    else:
        kind = "agent"

    prompt = raw.get("prompt_template", raw.get("prompt"))
    if "prompt_template" in raw and "prompt" in raw:
        v.add(field_name, f"{where}: give 'prompt_template' or 'prompt', not both")
    if kind == "agent":
        if prompt is None and raw.get("input") is None:
            v.add(field_name, f"{where}: an agent stage needs a prompt_template (or an input)")
        if not model and not raw.get("capability"):
            v.add(field_name, f"{where}: an agent stage needs a model ('agent' or 'model') or a capability")
    if kind in ("script", "hybrid") and not raw.get("script"):
        v.add(field_name, f"{where}: a {kind} stage needs a script")
    if kind == "hybrid" and not model and not raw.get("capability"):
        v.add(field_name, f"{where}: a hybrid stage needs a model to analyse failures")
    if kind == "skill" and (not raw.get("skill") or not raw.get("operation")):
        v.add(field_name, f"{where}: a skill stage needs 'skill' (skills/{{id}}) and 'operation'")
    if kind != "skill" and ("skill" in raw or "operation" in raw or "payload" in raw):
        v.add(field_name, f"{where}: skill, operation and payload belong to skill stages")
    if kind in ("agent", "skill") and "script" in raw:
        v.add(field_name, f"{where}: a script belongs to script and hybrid stages")
    workdir = raw.get("working_directory")
    if workdir is not None and (workdir.startswith("/") or ".." in workdir.split("/")):
        v.add(field_name, f"{where}.working_directory: must be a relative path inside the run's directory")

    needs = tuple(raw.get("needs", ()))
    for need in needs:
        if need not in stage_names:
            v.add(field_name, f"{where}.needs: {need!r} is not a stage of this daemon")
        elif need == raw["name"]:
            v.add(field_name, f"{where}.needs: a stage cannot need itself")
    depends_on = needs if "needs" in raw else ((stage_names[index - 1],) if index > 0 else ())

    return StageSpec(
        name=raw["name"],
        kind=kind,
        depends_on=depends_on,
        output=raw.get("output"),
        timeout_seconds=int(raw.get("timeout_seconds", DEFAULT_STAGE_TIMEOUT_SECONDS)),
        retries=int(raw.get("retries", 0)),
        model=model,
        capability=raw.get("capability"),
        routing=raw.get("routing", "explicit" if model else "cheapest"),
        prompt=prompt,
        system=raw.get("system"),
        input=raw.get("input"),
        output_format=raw.get("output_format", "text"),
        max_tokens=int(raw.get("max_tokens", 1024)),
        temperature=float(raw.get("temperature", 0.0)),
        agent_role=raw.get("agent_role", "analyze_failures" if kind == "hybrid" else None),
        runtime=raw.get("runtime", "bash" if kind in ("script", "hybrid") else None),
        script=raw.get("script"),
        working_directory=workdir,
        env={str(k): _env_value(val) for k, val in raw.get("env", {}).items()},
        skill=raw.get("skill"),
        operation=raw.get("operation"),
        payload=raw.get("payload"),
    )


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_graph(v: Violations, stages: list[StageSpec], field_name: str) -> None:
    by_name = {s.name: s for s in stages}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*trail[trail.index(name) :], name]
            v.add(field_name, f"stages: needs form a cycle: {' -> '.join(cycle)}")
            return
        state[name] = 1
        for dep in by_name[name].depends_on:
            visit(dep, [*trail, name])
        state[name] = 2

    for stage in stages:
        visit(stage.name, [])


def ancestors(stages: Sequence[StageSpec], name: str) -> set[str]:
    by_name = {s.name: s for s in stages}
    seen: set[str] = set()
    todo = list(by_name[name].depends_on)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(by_name[current].depends_on)
    return seen


def _check_references(
    v: Violations,
    inputs: Sequence[InputSpec],
    stages: Sequence[StageSpec],
    raw_stages: Sequence[Mapping[str, Any]],
    field_name: str,
) -> None:
    input_names = {i.name for i in inputs}
    producers: dict[str, str] = {}
    for stage in stages:
        if stage.output:
            if stage.output in input_names:
                v.add(field_name, f"stages: output {stage.output!r} of {stage.name!r} shadows an input")
            elif stage.output in producers:
                v.add(field_name, f"stages: output {stage.output!r} is produced by more than one stage")
            producers[stage.output] = stage.name
    for index, (stage, raw) in enumerate(zip(stages, raw_stages, strict=True)):
        before = ancestors(stages, stage.name)
        for key in (
            "prompt_template",
            "prompt",
            "system",
            "input",
            "script",
            "working_directory",
            "env",
            "payload",
        ):
            if key not in raw:
                continue
            for text in _strings_in(raw[key]):
                for name in references(text):
                    if name in input_names:
                        continue
                    producer = producers.get(name)
                    if producer is None:
                        v.add(
                            field_name,
                            f"stages[{index}].{key}: ${{{name}}} is neither an input "
                            "nor the output of a stage",
                        )
                    elif producer not in before:
                        v.add(
                            field_name,
                            f"stages[{index}].{key}: ${{{name}}} is the output of {producer!r}, "
                            "which does not run before this stage (add it to needs)",
                        )


# --- inputs at run time -----------------------------------------------------------------------


def coerce_input(spec: InputSpec, value: Any, field_name: str) -> Any:
    """Checks one input value against its declared type; returns it in canonical form."""
    kind = spec.kind
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidArgument(
                f"must be a string, got {_type_name(value)}", field=field_name, reason="INVALID_INPUT"
            )
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidArgument(
                f"must be a number, got {_type_name(value)}", field=field_name, reason="INVALID_INPUT"
            )
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise InvalidArgument(
                f"must be true or false, got {_type_name(value)}", field=field_name, reason="INVALID_INPUT"
            )
        return value
    if kind == "enum":
        if value not in spec.options:
            raise InvalidArgument(
                f"must be one of {', '.join(spec.options)}; got {value!r}",
                field=field_name,
                reason="INVALID_INPUT",
            )
        return value
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidArgument("must be a JSON value", field=field_name, reason="INVALID_INPUT") from None
    return value


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def bind_inputs(spec: DaemonSpec, given: Mapping[str, Any], field_name: str = "inputs") -> dict[str, Any]:
    """The run's input values: each checked against its type, defaults filled in, unknown names refused."""
    v = Violations()
    known = {i.name for i in spec.inputs}
    for name in given:
        if name not in known:
            v.add(f"{field_name}.{name}", "is not an input of this daemon")
    bound: dict[str, Any] = {}
    for item in spec.inputs:
        path = f"{field_name}.{item.name}"
        if item.name in given and given[item.name] is not None:
            try:
                bound[item.name] = coerce_input(item, given[item.name], path)
            except InvalidArgument as error:
                v.extend(error)
        elif item.default is not MISSING:
            bound[item.name] = item.default
        elif item.required:
            v.add(path, "is required")
    v.raise_if_any("INVALID_INPUT")
    return bound


# --- interpolation ----------------------------------------------------------------------------


def render(template: str, values: Mapping[str, Any]) -> str:
    """Replaces ${name} and ${name.path} with values; JSON values are written as JSON."""

    def substitute(match: re.Match[str]) -> str:
        value: Any = values[match.group(1)]
        for part in filter(None, match.group(2).split(".")):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise KeyError(f"${{{match.group(1)}{match.group(2)}}}: no {part!r} in the value")
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)

    return _REFERENCE.sub(substitute, template).replace("$${", "${")


def render_value(value: Any, values: Mapping[str, Any]) -> Any:
    """Renders every string inside a JSON-like value (skill payloads)."""
    if isinstance(value, str):
        match = _REFERENCE.fullmatch(value)
        if match and not match.group(2):
            return values[match.group(1)]  # a lone reference keeps its JSON type
        return render(value, values)
    if isinstance(value, Mapping):
        return {k: render_value(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, values) for v in value]
    return value
