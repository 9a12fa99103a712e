"""The other dispatch targets and callers: hosted scripts run in the bwrap sandbox, and daemon runs
whose skill stage calls through the proxy on the run owner's behalf."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest

from agentos.execution.v1 import execution_pb2 as epb
from agentos.registry.v1 import registry_pb2 as rpb
from agentos_server.infra.sandbox import SandboxUnavailable, create_sandbox

from marketkit import buy
from paykit import balances, fund, key
from proxykit import (
    SkillHttpServer,
    counted,
    create_skill,
    execute,
    https_skill,
    pay_per_call,
    result_of,
    usage_records,
)
from testkit import AgentHandle, ServerHandle, create_agent, failure

PRICE = 1_000

SCRIPT = """
import json, sys, time
call = json.load(sys.stdin)
text = call["payload"]["text"]
if text == "crash":
    print("stack trace nobody should see", file=sys.stderr)
    sys.exit(3)
if text == "garbage":
    print("this is not json")
elif text == "sleep":
    time.sleep(30)
else:
    print(json.dumps({"operation": call["operation"], "upper": text.upper()}))
"""

SPEC = """
openapi: 3.1.0
info: {title: Upper, version: '1'}
paths:
  /upper:
    post:
      operationId: upper
      requestBody:
        content:
          application/json:
            schema: {type: object, required: [text], properties: {text: {type: string}}}
      responses:
        '200': {description: upper-cased}
"""


@pytest.fixture(autouse=True)
def _counts_written(server: ServerHandle) -> Iterator[None]:
    """Writes this test's batched call counts before the next test runs on the shared server, whose
    refusal checks count rows."""
    yield
    counted(server)


def _bwrap_works() -> bool:
    try:
        create_sandbox("bwrap")
    except SandboxUnavailable:
        return False
    return True


@pytest.fixture
def script_skill(server: ServerHandle, operator: AgentHandle) -> tuple[AgentHandle, AgentHandle, rpb.Skill]:
    if not _bwrap_works():
        pytest.fail("bubblewrap is needed for hosted scripts: run `make system-tools`")
    seller, buyer = create_agent(server, "scripter"), create_agent(server, "script-buyer")
    fund(server, operator, buyer, 10_000)
    skill = create_skill(
        server,
        seller,
        endpoint=rpb.SkillEndpoint(
            hosted_script=rpb.HostedScript(
                runtime=rpb.SCRIPT_RUNTIME_PYTHON, source=SCRIPT, timeout_seconds=5
            )
        ),
        spec=SPEC,
        pricing=pay_per_call(PRICE),
    )
    buy(server, buyer, skill.name)
    return seller, buyer, skill


def test_a_hosted_script_answers_from_the_sandbox(
    server: ServerHandle, script_skill: tuple[AgentHandle, AgentHandle, rpb.Skill]
) -> None:
    _seller, buyer, skill = script_skill
    response = execute(server, buyer, skill.name, "upper", {"text": "quiet"})
    assert result_of(response) == {"operation": "upper", "upper": "QUIET"}
    assert response.usage.target == epb.DISPATCH_TARGET_HOSTED_SCRIPT
    assert balances(server, buyer) == (10_000 - PRICE, 0)


@pytest.mark.parametrize(
    ("text", "code", "reason", "outcome"),
    [
        ("crash", grpc.StatusCode.UNAVAILABLE, "UPSTREAM_ERROR", epb.CALL_OUTCOME_FAILED),
        ("garbage", grpc.StatusCode.UNAVAILABLE, "UPSTREAM_BAD_RESPONSE", epb.CALL_OUTCOME_FAILED),
        ("sleep", grpc.StatusCode.DEADLINE_EXCEEDED, "UPSTREAM_TIMEOUT", epb.CALL_OUTCOME_TIMED_OUT),
    ],
)
def test_a_failing_script_is_recorded_and_not_charged(
    server: ServerHandle,
    script_skill: tuple[AgentHandle, AgentHandle, rpb.Skill],
    text: str,
    code: grpc.StatusCode,
    reason: str,
    outcome: int,
) -> None:
    _, buyer, skill = script_skill
    started = time.monotonic()
    found = failure(lambda: execute(server, buyer, skill.name, "upper", {"text": text}, timeout_ms=1500))
    assert (found.code, found.reason) == (code, reason), found.message
    assert time.monotonic() - started < 10
    assert "stack trace" not in found.message  # the seller's stderr stays the seller's
    if text == "crash":
        assert found.metadata["exit_code"] == "3"
    assert balances(server, buyer) == (10_000, 0)
    assert usage_records(server, buyer)[0].outcome == outcome


# --- daemon runs ---------------------------------------------------------------------------------


def _daemon(server: ServerHandle, owner: AgentHandle, skill: str) -> rpb.Daemon:
    definition = f"""
version: '1.0.0'
inputs:
  - name: text
    type: string
stages:
  - name: Shout
    skill: {skill}
    operation: echo
    payload: {{text: "${{text}}", count: 2}}
    output: shouted
"""
    response: rpb.CreateDaemonResponse = server.registry.CreateDaemon(
        rpb.CreateDaemonRequest(
            daemon=rpb.Daemon(
                display_name=f"Caller {key('d')}",
                description="Calls a skill",
                version="1.0.0",
                definition_yaml=definition,
                category=rpb.CATEGORY_AUTOMATION,
                pricing=rpb.Pricing(model=rpb.PRICING_MODEL_FREE),
                license="proprietary",
                visibility=rpb.VISIBILITY_PRIVATE,
            )
        ),
        metadata=owner.auth,
    )
    return response.daemon


def _run(server: ServerHandle, owner: AgentHandle, daemon: rpb.Daemon, text: str) -> epb.Execution:
    started = server.execution.StartRun(
        epb.StartRunRequest(daemon=daemon.name, inputs={"text": text}, idempotency_key=key("run")),
        metadata=owner.auth,
    ).execution
    deadline = time.monotonic() + 30
    while True:
        execution = server.execution.GetExecution(
            epb.GetExecutionRequest(name=started.name), metadata=owner.auth
        ).execution
        if execution.state not in (epb.EXECUTION_STATE_QUEUED, epb.EXECUTION_STATE_RUNNING):
            return execution
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.05)


def test_a_skill_stage_calls_through_the_proxy_as_the_run_owner(
    server: ServerHandle, operator: AgentHandle
) -> None:
    http = SkillHttpServer().start()
    try:
        seller, owner = create_agent(server, "stage-seller"), create_agent(server, "run-owner")
        fund(server, operator, owner, 10_000)
        skill = https_skill(server, seller, http, pricing=pay_per_call(PRICE))
        daemon = _daemon(server, owner, skill.name)
        # Without a licence the stage fails, saying why, and nothing is charged.
        refused = _run(server, owner, daemon, "no licence yet")
        assert refused.state == epb.EXECUTION_STATE_FAILED
        assert "NO_LICENSE" in refused.stages[0].error
        assert http.seen == []

        buy(server, owner, skill.name)
        execution = _run(server, owner, daemon, "compose me")
        assert execution.state == epb.EXECUTION_STATE_SUCCEEDED, execution.error
        stage = execution.stages[0]
        assert stage.kind == rpb.STAGE_KIND_SKILL
        assert (
            stage.output.struct_value.fields["echo"].struct_value.fields["text"].string_value == "compose me"
        )
        assert stage.cost.usd.amount == PRICE
        # The owner paid the seller for the call, once (the run itself is paid in credits).
        assert balances(server, owner) == (10_000 - PRICE, 0)
        assert balances(server, seller) == (PRICE - PRICE * 25 // 1000, 0)
        (record,) = usage_records(server, owner)
        assert record.execution == execution.name
        assert record.buyer == owner.name
        assert http.seen[-1].headers["x-agentos-buyer"] == owner.name
    finally:
        http.stop()
