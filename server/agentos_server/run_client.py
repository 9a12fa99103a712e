"""`agentos run FILE --input name=value`: publishes (or updates) a daemon from a YAML file, runs it on
a server and prints its live log with progress. A client only: it talks to the server over gRPC
with the generated stubs, exactly as any agent would.

The daemon id is the file name's stem (or --daemon-id); the first run creates the daemon (private,
free), later runs update it when the file changed, bumping the patch version unless the file names
its own `version:` (which must then be new). Without an API key (--api-key or AGENTOS_API_KEY) a
new agent is registered and its key printed once. Ctrl-C cancels the run.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import grpc
from google.protobuf import field_mask_pb2, json_format
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from agentos.execution.v1 import execution_pb2 as ex
from agentos.execution.v1 import execution_pb2_grpc
from agentos.registry.v1 import registry_pb2 as reg
from agentos.registry.v1 import registry_pb2_grpc
from agentos_server.domain.daemon_spec import DaemonSpec, parse_daemon_yaml
from agentos_server.domain.errors import InvalidArgument

_STATE_NAMES = {
    value: name.removeprefix("EXECUTION_STATE_").lower() for name, value in ex.ExecutionState.items()
}
_STAGE_STATES = {value: name.removeprefix("STAGE_STATE_").lower() for name, value in ex.StageState.items()}
_KINDS = {value: name.removeprefix("STAGE_KIND_").lower() for name, value in reg.StageKind.items()}
_FINAL = {ex.EXECUTION_STATE_SUCCEEDED, ex.EXECUTION_STATE_FAILED, ex.EXECUTION_STATE_TIMED_OUT}
_FINAL |= {ex.EXECUTION_STATE_CANCELLED}
_OUTPUT_PREVIEW_CHARS = 600


class RunError(Exception):
    pass


def parse_inputs(spec: DaemonSpec, pairs: Sequence[str]) -> dict[str, Any]:
    """name=value pairs, each value read as its input's declared type."""
    kinds = {i.name: i.kind for i in spec.inputs}
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise RunError(f"--input {pair!r}: write it as name=value")
        kind = kinds.get(name, "string")
        if kind == "number":
            try:
                number = float(raw)
            except ValueError:
                raise RunError(f"--input {name}: {raw!r} is not a number") from None
            values[name] = int(number) if number.is_integer() else number
        elif kind == "boolean":
            lowered = raw.strip().lower()
            if lowered not in {"true", "false", "yes", "no", "1", "0"}:
                raise RunError(f"--input {name}: {raw!r} is not true or false")
            values[name] = lowered in {"true", "yes", "1"}
        elif kind == "json":
            try:
                values[name] = json.loads(raw)
            except ValueError as error:
                raise RunError(f"--input {name}: not JSON ({error})") from None
        else:
            values[name] = raw
    return values


def _describe(error: grpc.RpcError) -> str:
    text = f"{error.code().name}: {error.details()}"
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            text += "".join(f"\n  {v.field}: {v.description}" for v in bad.field_violations)
    return text


def _bump_patch(version: str) -> str:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        raise RunError(f"cannot bump version {version!r}: give the file a new `version:`")
    major, minor, patch = (int(part) for part in match.groups())
    return f"{major}.{minor}.{patch + 1}"


class Runner:
    def __init__(self, channel: grpc.Channel, api_key: str, out: TextIO) -> None:
        self.registry = registry_pb2_grpc.RegistryServiceStub(channel)
        self.execution = execution_pb2_grpc.ExecutionServiceStub(channel)
        self.metadata = (("authorization", f"Bearer {api_key}"),)
        self.out = out

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def publish(self, daemon_id: str, text: str, spec: DaemonSpec) -> reg.Daemon:
        try:
            return self._publish(daemon_id, text, spec)
        except grpc.RpcError as error:
            if error.code() in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.PERMISSION_DENIED):
                raise RunError(
                    f"daemons/{daemon_id} belongs to another agent: run with its owner's --api-key, "
                    f"or publish under another id with --daemon-id ({_describe(error)})"
                ) from None
            raise

    def _publish(self, daemon_id: str, text: str, spec: DaemonSpec) -> reg.Daemon:
        name = f"daemons/{daemon_id}"
        declared = str(spec.metadata.get("version", "")) or None
        display_name = str(spec.metadata.get("name", "")) or daemon_id
        try:
            current: reg.Daemon = self.registry.GetDaemon(
                reg.GetDaemonRequest(name=name), metadata=self.metadata
            ).daemon
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            created: reg.Daemon = self.registry.CreateDaemon(
                reg.CreateDaemonRequest(
                    daemon_id=daemon_id,
                    daemon=reg.Daemon(
                        display_name=display_name[:100],
                        description=str(spec.metadata.get("description", ""))[:4000],
                        version=declared or "1.0.0",
                        definition_yaml=text,
                        category=reg.CATEGORY_AUTOMATION,
                        pricing=reg.Pricing(model=reg.PRICING_MODEL_FREE),
                        visibility=reg.VISIBILITY_PRIVATE,
                    ),
                ),
                metadata=self.metadata,
            ).daemon
            self.say(f"published {created.name} {created.version}")
            return created
        if current.definition_yaml == text:
            self.say(f"using {current.name} {current.version} (unchanged)")
            return current
        version = declared or _bump_patch(current.version)
        updated: reg.Daemon = self.registry.UpdateDaemon(
            reg.UpdateDaemonRequest(
                daemon=reg.Daemon(
                    name=name, version=version, definition_yaml=text, display_name=display_name[:100]
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["definition_yaml", "display_name"]),
            ),
            metadata=self.metadata,
        ).daemon
        self.say(f"updated {updated.name} to {updated.version}")
        return updated

    def run(self, daemon: reg.Daemon, inputs: dict[str, Any]) -> ex.Execution:
        request = ex.StartRunRequest(daemon=daemon.name, version=daemon.version)
        request.inputs.update(inputs)
        execution = self.execution.StartRun(request, metadata=self.metadata).execution
        total = len(execution.stages)
        self.say(f"started {execution.name} ({total} stage{'s' if total != 1 else ''})")
        try:
            self._follow(execution.name, total)
        except KeyboardInterrupt:
            self.say("cancelling …")
            self.execution.CancelExecution(
                ex.CancelExecutionRequest(name=execution.name), metadata=self.metadata
            )
        finished: ex.Execution = self.execution.GetExecution(
            ex.GetExecutionRequest(name=execution.name), metadata=self.metadata
        ).execution
        return finished

    def _follow(self, name: str, total: int) -> None:
        finished = 0
        after = 0
        while True:
            try:
                stream = self.execution.StreamExecutionEvents(
                    ex.StreamExecutionEventsRequest(execution=name, after_sequence=after),
                    metadata=self.metadata,
                )
                for response in stream:
                    event = response.event
                    after = event.sequence
                    finished += self._show(event, finished, total)
                    if event.WhichOneof("payload") == "state_changed" and event.state_changed.state in _FINAL:
                        return
                return
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                # The server went away (a restart, another replica): resume where the stream broke.
                time.sleep(0.5)

    def _show(self, event: ex.ExecutionEvent, finished: int, total: int) -> int:
        kind = event.WhichOneof("payload")
        if kind == "log":
            marker = {ex.LOG_STREAM_STDERR: "!", ex.LOG_STREAM_SYSTEM: "#"}.get(event.log.stream, "|")
            where = event.log.stage or "run"
            self.say(f"    {where} {marker} {event.log.text}")
        elif kind == "stage_started":
            started = event.stage_started
            again = f", attempt {started.attempt}" if started.attempt > 1 else ""
            self.say(f"[{finished}/{total}] > {started.stage} ({_KINDS[started.kind]}{again})")
        elif kind == "stage_finished":
            done = event.stage_finished
            error = f": {done.error}" if done.error else ""
            verdict = _STAGE_STATES[done.state]
            self.say(f"[{finished + 1}/{total}] {verdict} {done.stage} in {done.duration_ms} ms{error}")
            return 1
        elif kind == "cost" and event.cost.cost.credits:
            self.say(
                f"    {event.cost.stage or 'run'}: {event.cost.cost.credits} credits "
                f"(run total {event.cost.total.credits})"
            )
        elif kind == "provider_attempt":
            attempt = event.provider_attempt
            self.say(
                f"    {attempt.stage} # model {attempt.model} via {attempt.provider}: {attempt.outcome} "
                f"in {attempt.latency_ms} ms"
            )
        elif kind == "state_changed":
            state = event.state_changed
            error = f": {state.error}" if state.error else ""
            self.say(f"run {_STATE_NAMES[state.state]}{error}")
        return 0

    def summary(self, execution: ex.Execution) -> None:
        cost = execution.total_cost
        self.say(
            f"{_STATE_NAMES[execution.state]}: {cost.credits} credits, "
            f"${cost.usd.amount / 1_000_000:.6f}, {cost.input_tokens + cost.output_tokens} tokens"
        )
        for stage in execution.stages:
            if stage.output_artifact:
                self.say(f"  {stage.name}: (large output stored as {stage.output_artifact})")
            elif stage.HasField("output"):
                if stage.output.WhichOneof("kind") == "string_value":
                    value = stage.output.string_value
                else:
                    value = json.dumps(_whole_numbers(json_format.MessageToDict(stage.output)))
                preview = (
                    value if len(value) <= _OUTPUT_PREVIEW_CHARS else value[:_OUTPUT_PREVIEW_CHARS] + " …"
                )
                self.say(f"  {stage.name}: {preview}")


def _whole_numbers(value: Any) -> Any:
    """JSON numbers travel as doubles in a protobuf Value; show 5.0 as 5 again."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def _register(registry: registry_pb2_grpc.RegistryServiceStub, out: TextIO) -> tuple[str, str]:
    """A new agent to run as: (its API key, a suffix that makes its daemon ids its own)."""
    suffix = secrets.token_hex(4)
    created = registry.CreateAgent(
        reg.CreateAgentRequest(agent_id=f"runner-{suffix}", agent=reg.Agent(display_name="agentos run"))
    )
    print(f"registered agents/runner-{suffix}; its API key (shown once): {created.api_key}", file=out)
    print("pass it as --api-key (or AGENTOS_API_KEY) to run as this agent again", file=out)
    return str(created.api_key), suffix


def run_file(
    path: str,
    inputs: Sequence[str],
    *,
    server: str = "",
    api_key: str = "",
    daemon_id: str = "",
    out: TextIO = sys.stdout,
) -> int:
    """Exit status: 0 when the run succeeded, 1 when it did not, 2 when it could not start."""
    file = Path(path)
    try:
        text = file.read_text()
        spec = parse_daemon_yaml(text, field_name=str(file))
        values = parse_inputs(spec, inputs)
    except (OSError, RunError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except InvalidArgument as error:
        problems = "".join(f"\n  {v.description}" for v in error.violations)
        print(f"error: {file} is not a valid daemon definition:{problems}", file=sys.stderr)
        return 2
    address = server or os.environ.get("AGENTOS_GRPC_ADDR", "127.0.0.1:50051")
    stem = re.sub(r"[^a-z0-9-]+", "-", file.stem.lower()).strip("-")[:50] or "daemon"
    with grpc.insecure_channel(address) as channel:
        try:
            key = api_key or os.environ.get("AGENTOS_API_KEY", "")
            if not key:
                # Daemon ids are global: a newly registered agent publishes under an id of its own.
                key, suffix = _register(registry_pb2_grpc.RegistryServiceStub(channel), out)
                daemon_id = daemon_id or f"{stem}-{suffix}"
            runner = Runner(channel, key, out)
            daemon = runner.publish(daemon_id or stem, text, spec)
            execution = runner.run(daemon, values)
        except grpc.RpcError as error:
            print(f"error: {_describe(error)}", file=sys.stderr)
            return 2
        except RunError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        runner.summary(execution)
    return 0 if execution.state == ex.EXECUTION_STATE_SUCCEEDED else 1
