"""Runs that must not start, and run requests that must be refused: each with its code and field,
and nothing written."""

from __future__ import annotations

import grpc
from sqlalchemy import update

from agentos.common.v1 import common_pb2
from agentos.execution.v1 import execution_pb2 as ex
from agentos.payment.v1 import payment_pb2
from agentos.registry.v1 import registry_pb2 as reg
from agentos_server.infra.tables.listings import DaemonRow, DaemonVersionRow

from runkit import FINAL, credits, publish, run_to_end, start_request, wait_for
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent

TYPED = """
limits: {max_credits: 5}
inputs:
  - {name: topic, type: string}
  - {name: count, type: number}
  - {name: loud, type: boolean, default: false}
stages:
  - name: Echo
    runtime: bash
    script: echo "${topic} ${count} ${loud}"
"""


def test_unknown_daemon_or_version(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = publish(server, agent, TYPED)
    inputs = {"topic": "x", "count": 1}
    assert_refused(
        server,
        lambda: server.execution.StartRun(
            start_request("daemons/no-such-daemon", inputs), metadata=agent.auth
        ),
        grpc.StatusCode.NOT_FOUND,
        reason="DAEMON_NOT_FOUND",
        field="daemon",
    )
    assert_refused(
        server,
        lambda: server.execution.StartRun(
            start_request(daemon.name, inputs, version="9.9.9"), metadata=agent.auth
        ),
        grpc.StatusCode.NOT_FOUND,
        reason="DAEMON_NOT_FOUND",
        field="version",
    )
    assert_refused(
        server,
        lambda: server.execution.StartRun(start_request("skills/not-a-daemon", inputs), metadata=agent.auth),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="daemon",
    )


def test_inputs_of_the_wrong_type_missing_or_unknown(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = publish(server, agent, TYPED)
    cases = [
        ({"topic": 7, "count": 1}, "inputs.topic"),
        ({"topic": "x", "count": "seven"}, "inputs.count"),
        ({"topic": "x", "count": 1, "loud": "yes"}, "inputs.loud"),
        ({"count": 1}, "inputs.topic"),
        ({"topic": "x", "count": 1, "colour": "red"}, "inputs.colour"),
    ]
    for inputs, field in cases:
        assert_refused(
            server,
            lambda: server.execution.StartRun(start_request(daemon.name, inputs), metadata=agent.auth),
            grpc.StatusCode.INVALID_ARGUMENT,
            reason="INVALID_INPUT",
            field=field,
        )


def test_a_cyclic_definition_cannot_run(server: ServerHandle, agent: AgentHandle) -> None:
    cyclic = """
stages:
  - {name: A, runtime: bash, script: 'true', needs: [B]}
  - {name: B, runtime: bash, script: 'true', needs: [A]}
"""
    # The registry refuses it on write ...
    assert_refused(
        server,
        lambda: publish(server, agent, cyclic),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason="INVALID_DAEMON_DEFINITION",
        field="daemon.definition_yaml",
    )
    # ... and one that got into the database anyway (an older validator, a hand edit) does not run.
    daemon = publish(server, agent, "stages:\n  - {name: A, runtime: bash, script: 'true'}\n")
    daemon_id = daemon.name.removeprefix("daemons/")

    async def tamper() -> None:
        async with server.runtime.db.transaction() as session:
            await session.execute(
                update(DaemonRow).where(DaemonRow.id == daemon_id).values(definition_yaml=cyclic)
            )
            await session.execute(
                update(DaemonVersionRow)
                .where(DaemonVersionRow.daemon_id == daemon_id)
                .values(definition_yaml=cyclic)
            )

    server.run(tamper())
    assert_refused(
        server,
        lambda: server.execution.StartRun(start_request(daemon.name), metadata=agent.auth),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="DAEMON_DEFINITION_INVALID",
        field="daemon",
    )


def test_a_daemon_one_may_not_run(server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle) -> None:
    private = publish(server, agent, TYPED)
    paid = publish(
        server,
        agent,
        TYPED,
        visibility=reg.VISIBILITY_PUBLIC,
        pricing=reg.Pricing(
            model=reg.PRICING_MODEL_ONE_TIME, price=common_pb2.Money(asset="USDC", amount=5_000_000)
        ),
    )
    inputs = {"topic": "x", "count": 1}
    # Someone else's private daemon is invisible; a priced one needs a licence.
    assert_refused(
        server,
        lambda: server.execution.StartRun(start_request(private.name, inputs), metadata=other_agent.auth),
        grpc.StatusCode.NOT_FOUND,
        reason="DAEMON_NOT_FOUND",
        field="daemon",
    )
    assert_refused(
        server,
        lambda: server.execution.StartRun(start_request(paid.name, inputs), metadata=other_agent.auth),
        grpc.StatusCode.PERMISSION_DENIED,
        reason="LICENSE_REQUIRED",
        field="daemon",
    )
    # The owner runs both.
    assert run_to_end(server, agent, paid, inputs)[0].state == ex.EXECUTION_STATE_SUCCEEDED


def test_a_run_the_owner_cannot_afford_or_that_passes_a_budget_does_not_start(server: ServerHandle) -> None:
    agent = create_agent(server, "spender")
    assert credits(server, agent) == (100, 0)
    dear = publish(
        server, agent, "limits: {max_credits: 150}\nstages:\n  - {name: A, runtime: bash, script: 'true'}\n"
    )
    assert_refused(
        server,
        lambda: server.execution.StartRun(start_request(dear.name), metadata=agent.auth),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="INSUFFICIENT_FUNDS",
    )
    cheap = publish(
        server, agent, "limits: {max_credits: 20}\nstages:\n  - {name: A, runtime: bash, script: 'true'}\n"
    )
    server.payment.CreateBudget(
        payment_pb2.CreateBudgetRequest(
            parent=agent.name,
            budget=payment_pb2.Budget(
                scope=cheap.name,
                period=payment_pb2.BUDGET_PERIOD_DAY,
                limit=common_pb2.Money(asset="CREDIT", amount=10),
            ),
        ),
        metadata=agent.auth,
    )
    assert_refused(
        server,
        lambda: server.execution.StartRun(start_request(cheap.name), metadata=agent.auth),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        reason="BUDGET_EXCEEDED",
    )
    assert credits(server, agent) == (100, 0)


def test_other_agents_runs_are_not_found(
    server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle, operator: AgentHandle
) -> None:
    daemon = publish(server, agent, TYPED)
    execution, seen = run_to_end(server, agent, daemon, {"topic": "x", "count": 2})
    for call in (
        lambda: server.execution.GetExecution(
            ex.GetExecutionRequest(name=execution.name), metadata=other_agent.auth
        ),
        lambda: server.execution.CancelExecution(
            ex.CancelExecutionRequest(name=execution.name), metadata=other_agent.auth
        ),
    ):
        assert_refused(server, call, grpc.StatusCode.NOT_FOUND, reason="EXECUTION_NOT_FOUND", field="name")
    # Streaming someone else's run is refused the same way, before any event is sent.
    assert_refused(
        server,
        lambda: list(
            server.execution.StreamExecutionEvents(
                ex.StreamExecutionEventsRequest(execution=execution.name), metadata=other_agent.auth
            )
        ),
        grpc.StatusCode.NOT_FOUND,
        reason="EXECUTION_NOT_FOUND",
        field="execution",
    )
    listed = server.execution.ListExecutions(ex.ListExecutionsRequest(), metadata=other_agent.auth)
    assert execution.name not in [e.name for e in listed.executions]
    # Operators read every run.
    seen_by_operator = server.execution.GetExecution(
        ex.GetExecutionRequest(name=execution.name), metadata=operator.auth
    ).execution
    assert seen_by_operator.owner == agent.name
    assert len(seen) == execution.last_sequence


def test_sequence_from_the_future_and_cancelling_a_finished_run(
    server: ServerHandle, agent: AgentHandle
) -> None:
    daemon = publish(server, agent, TYPED)
    execution, _ = run_to_end(server, agent, daemon, {"topic": "x", "count": 3})
    for after in (execution.last_sequence + 1, -1):
        found = assert_refused(
            server,
            lambda: list(
                server.execution.StreamExecutionEvents(
                    ex.StreamExecutionEventsRequest(execution=execution.name, after_sequence=after),
                    metadata=agent.auth,
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            reason="SEQUENCE_OUT_OF_RANGE",
            field="after_sequence",
        )
        assert found.metadata["last_sequence"] == str(execution.last_sequence)
    # The last sequence itself is fine: nothing is after it, and the stream ends at once.
    assert (
        list(
            server.execution.StreamExecutionEvents(
                ex.StreamExecutionEventsRequest(
                    execution=execution.name, after_sequence=execution.last_sequence
                ),
                metadata=agent.auth,
                timeout=30,
            )
        )
        == []
    )
    assert_refused(
        server,
        lambda: server.execution.CancelExecution(
            ex.CancelExecutionRequest(name=execution.name), metadata=agent.auth
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="EXECUTION_FINISHED",
        field="name",
    )


def test_idempotency_key_reused_for_another_request(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = publish(server, agent, TYPED)
    first = server.execution.StartRun(
        start_request(daemon.name, {"topic": "x", "count": 1}, idempotency_key="weekly-report"),
        metadata=agent.auth,
    ).execution
    wait_for(server, agent, first.name, FINAL)
    assert_refused(
        server,
        lambda: server.execution.StartRun(
            start_request(daemon.name, {"topic": "y", "count": 1}, idempotency_key="weekly-report"),
            metadata=agent.auth,
        ),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="IDEMPOTENCY_KEY_REUSED",
        field="idempotency_key",
    )
    assert_refused(
        server,
        lambda: server.execution.StartRun(
            start_request(daemon.name, {"topic": "x", "count": 1}, idempotency_key="has spaces"),
            metadata=agent.auth,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="idempotency_key",
    )
