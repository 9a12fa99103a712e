"""Helpers for the run tests: publish a daemon, start a run, follow its events, read wallets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from google.protobuf import json_format

from agentos.execution.v1 import execution_pb2 as ex
from agentos.payment.v1 import payment_pb2
from agentos.registry.v1 import registry_pb2 as reg

from testkit import AgentHandle, ServerHandle, unique_id

FINAL = {
    ex.EXECUTION_STATE_SUCCEEDED,
    ex.EXECUTION_STATE_FAILED,
    ex.EXECUTION_STATE_TIMED_OUT,
    ex.EXECUTION_STATE_CANCELLED,
}


def publish(
    server: ServerHandle,
    owner: AgentHandle,
    definition: str,
    *,
    visibility: int = reg.VISIBILITY_PRIVATE,
    pricing: reg.Pricing | None = None,
    version: str = "1.0.0",
) -> reg.Daemon:
    daemon: reg.Daemon = server.registry.CreateDaemon(
        reg.CreateDaemonRequest(
            daemon_id=unique_id("daemon"),
            daemon=reg.Daemon(
                display_name="Test daemon",
                version=version,
                definition_yaml=definition,
                category=reg.CATEGORY_AUTOMATION,
                pricing=pricing or reg.Pricing(model=reg.PRICING_MODEL_FREE),
                visibility=visibility,
            ),
        ),
        metadata=owner.auth,
    ).daemon
    return daemon


def start_request(daemon: str, inputs: dict[str, Any] | None = None, **fields: Any) -> ex.StartRunRequest:
    request = ex.StartRunRequest(daemon=daemon, **fields)
    request.inputs.update(inputs or {})
    return request


def start(
    server: ServerHandle, agent: AgentHandle, daemon: reg.Daemon | str, inputs: dict[str, Any] | None = None
) -> ex.Execution:
    name = daemon if isinstance(daemon, str) else daemon.name
    execution: ex.Execution = server.execution.StartRun(
        start_request(name, inputs), metadata=agent.auth
    ).execution
    return execution


def events(
    server: ServerHandle, agent: AgentHandle, execution: str, after: int = 0, timeout: float = 60
) -> Iterator[ex.ExecutionEvent]:
    for response in server.execution.StreamExecutionEvents(
        ex.StreamExecutionEventsRequest(execution=execution, after_sequence=after),
        metadata=agent.auth,
        timeout=timeout,
    ):
        yield response.event


def run_to_end(
    server: ServerHandle, agent: AgentHandle, daemon: reg.Daemon | str, inputs: dict[str, Any] | None = None
) -> tuple[ex.Execution, list[ex.ExecutionEvent]]:
    """Starts a run, follows its events to the end, and returns the finished run and its events."""
    execution = start(server, agent, daemon, inputs)
    seen = list(events(server, agent, execution.name))
    return get(server, agent, execution.name), seen


def get(server: ServerHandle, agent: AgentHandle, name: str) -> ex.Execution:
    execution: ex.Execution = server.execution.GetExecution(
        ex.GetExecutionRequest(name=name), metadata=agent.auth
    ).execution
    return execution


def wait_for(
    server: ServerHandle, agent: AgentHandle, name: str, states: set[int], timeout: float = 60
) -> ex.Execution:
    deadline = time.monotonic() + timeout
    while True:
        execution = get(server, agent, name)
        if execution.state in states:
            return execution
        assert time.monotonic() < deadline, f"{name} stayed {ex.ExecutionState.Name(execution.state)}"
        time.sleep(0.05)


def stage(execution: ex.Execution, name: str) -> ex.StageRun:
    for found in execution.stages:
        if found.name == name:
            return found
    raise AssertionError(f"no stage {name!r} in {execution.name}")


def output(stage_run: ex.StageRun) -> Any:
    return json_format.MessageToDict(stage_run.output) if stage_run.HasField("output") else None


def kinds(seen: list[ex.ExecutionEvent]) -> list[str]:
    return [str(e.WhichOneof("payload")) for e in seen]


def logs(seen: list[ex.ExecutionEvent], stage_name: str | None = None) -> list[str]:
    return [
        e.log.text
        for e in seen
        if e.WhichOneof("payload") == "log" and (stage_name is None or e.log.stage == stage_name)
    ]


def assert_gapless(seen: list[ex.ExecutionEvent], first: int = 1) -> None:
    assert [e.sequence for e in seen] == list(range(first, first + len(seen))), [e.sequence for e in seen]


def credits(server: ServerHandle, agent: AgentHandle) -> tuple[int, int]:
    """(available, held) in the agent's CREDIT wallet; the first read grants the free tier's credits."""
    wallet = server.payment.GetWallet(
        payment_pb2.GetWalletRequest(name=f"{agent.name}/wallets/CREDIT"), metadata=agent.auth
    ).wallet
    return int(wallet.available), int(wallet.held)
