"""Daemon runs over the real server: every stage kind with the real bwrap sandbox and the built-in
model, interpolation, needs, retries, timeouts, cancellation, large outputs, costs and money."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import json_format

from agentos.execution.v1 import execution_pb2 as ex
from agentos.registry.v1 import registry_pb2 as reg

from runkit import (
    assert_gapless,
    credits,
    events,
    get,
    kinds,
    logs,
    output,
    publish,
    run_to_end,
    stage,
    start,
    wait_for,
)
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent, start_server

PIPELINE = """
limits:
  max_credits: 20
inputs:
  - name: topic
    type: string
  - name: repeat
    type: number
    default: 2
stages:
  - name: Outline
    model: builtin-small
    system: You write outlines.
    prompt_template: "Summarise: ${topic} is grown in warm places. ${topic} is yellow. People like ${topic}."
    output: outline
  - name: Keywords
    model: builtin-small
    output_format: json
    prompt_template: 'Return JSON {"keywords": [], "summary": ""} for this text.'
    input: "${outline}"
    output: analysis
  - name: Write file
    runtime: python
    input: "${analysis.summary}"
    script: |
      import sys, json
      text = sys.stdin.read()
      with open("notes.txt", "w") as f:
          f.write(text * ${repeat})
      print(json.dumps({"chars": len(text), "repeat": ${repeat}}))
    output_format: json
    output: written
  - name: Read file
    runtime: node
    script: |
      const fs = require('fs');
      const text = fs.readFileSync('notes.txt', 'utf8');
      console.log('length ' + text.length);
      console.error('words ' + text.split(/\\s+/).filter(Boolean).length);
    output: read
  - name: Shout
    runtime: bash
    needs: [Outline]
    script: echo "${topic}" | tr a-z A-Z
"""


def test_stages_of_every_kind_run_in_order_with_their_outputs(
    server: ServerHandle, agent: AgentHandle
) -> None:
    daemon = publish(server, agent, PIPELINE)
    execution, seen = run_to_end(server, agent, daemon, {"topic": "banana"})

    assert execution.state == ex.EXECUTION_STATE_SUCCEEDED, execution.error
    assert execution.owner == agent.name
    assert execution.daemon == daemon.name
    assert execution.daemon_version == "1.0.0"
    assert json_format.MessageToDict(execution.inputs) == {"topic": "banana", "repeat": 2}
    assert [s.state for s in execution.stages] == [ex.STAGE_STATE_SUCCEEDED] * 5
    assert [s.kind for s in execution.stages] == [
        reg.STAGE_KIND_AGENT,
        reg.STAGE_KIND_AGENT,
        reg.STAGE_KIND_SCRIPT,
        reg.STAGE_KIND_SCRIPT,
        reg.STAGE_KIND_SCRIPT,
    ]
    outline = output(stage(execution, "Outline"))
    assert isinstance(outline, str)
    assert "banana" in outline.lower()
    analysis = output(stage(execution, "Keywords"))
    assert set(analysis) == {"keywords", "summary"}
    assert "banana" in analysis["keywords"]
    assert stage(execution, "Keywords").model == "builtin-small"
    # ${analysis.summary} went in on stdin; ${repeat} (a number input with a default) in the source.
    assert output(stage(execution, "Write file")) == {"chars": len(analysis["summary"]), "repeat": 2}
    # The Node stage read the file the Python stage left in the run's working directory.
    assert output(stage(execution, "Read file")) == f"length {2 * len(analysis['summary'])}"
    assert output(stage(execution, "Shout")) == "BANANA"
    assert stage(execution, "Write file").exit_code == 0

    # Events: numbered without gaps, from queued to succeeded, each stage started and finished.
    assert_gapless(seen)
    assert seen[0].state_changed.state == ex.EXECUTION_STATE_QUEUED
    assert seen[1].state_changed.state == ex.EXECUTION_STATE_RUNNING
    assert seen[-1].state_changed.state == ex.EXECUTION_STATE_SUCCEEDED
    assert execution.last_sequence == seen[-1].sequence
    started = [e.stage_started.stage for e in seen if e.WhichOneof("payload") == "stage_started"]
    assert sorted(started) == sorted(s.name for s in execution.stages)
    assert started.index("Write file") < started.index("Read file")
    assert kinds(seen).count("stage_finished") == 5
    assert kinds(seen).count("provider_attempt") == 2
    stderr = [
        e.log.text for e in seen if e.WhichOneof("payload") == "log" and e.log.stream == ex.LOG_STREAM_STDERR
    ]
    assert stderr == [f"words {len((analysis['summary'] * 2).split())}"]

    # Costs: the model stages counted tokens (the built-in model is free), every script cost one
    # started second; the run's total is the sum, and what was captured left the wallet.
    assert stage(execution, "Outline").cost.input_tokens > 0
    assert stage(execution, "Outline").cost.credits == 0
    assert [stage(execution, n).cost.credits for n in ("Write file", "Read file", "Shout")] == [1, 1, 1]
    assert execution.total_cost.credits == 3
    assert execution.total_cost.input_tokens == sum(s.cost.input_tokens for s in execution.stages)
    assert execution.total_cost.usd.asset == "USDC"
    last_cost = [e.cost for e in seen if e.WhichOneof("payload") == "cost"][-1]
    assert last_cost.total.credits == 3
    assert execution.hold.startswith("holds/")
    assert credits(server, agent) == (100 - 3, 0)


def test_independent_branches_run_at_the_same_time(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = publish(
        server,
        agent,
        """
limits: {max_credits: 10}
stages:
  - name: Start
    runtime: bash
    script: echo go
  - name: Left
    needs: [Start]
    runtime: bash
    script: sleep 0.8; echo left
  - name: Right
    needs: [Start]
    runtime: bash
    script: sleep 0.8; echo right
  - name: Join
    needs: [Left, Right]
    runtime: bash
    script: echo joined
""",
    )
    execution, _ = run_to_end(server, agent, daemon)
    assert execution.state == ex.EXECUTION_STATE_SUCCEEDED, execution.error
    left, right = stage(execution, "Left"), stage(execution, "Right")
    assert left.start_time.ToDatetime() < right.end_time.ToDatetime()
    assert right.start_time.ToDatetime() < left.end_time.ToDatetime()
    assert stage(execution, "Join").start_time.ToDatetime() >= max(
        left.end_time.ToDatetime(), right.end_time.ToDatetime()
    )


def test_a_failing_stage_fails_the_run_and_skips_what_needed_it(
    server: ServerHandle, agent: AgentHandle
) -> None:
    daemon = publish(
        server,
        agent,
        """
limits: {max_credits: 10}
stages:
  - name: Fails
    runtime: python
    script: |
      import sys
      print("about to fail")
      sys.exit("no such table: users")
  - name: After
    runtime: bash
    script: echo never
""",
    )
    execution, seen = run_to_end(server, agent, daemon)
    assert execution.state == ex.EXECUTION_STATE_FAILED
    failed = stage(execution, "Fails")
    assert failed.state == ex.STAGE_STATE_FAILED
    assert failed.exit_code == 1
    assert "exited with code 1" in failed.error
    assert "no such table: users" in failed.error
    assert stage(execution, "After").state == ex.STAGE_STATE_SKIPPED
    assert execution.error.startswith("stage 'Fails' failed")
    assert logs(seen, "Fails") == ["about to fail", "no such table: users"]
    assert seen[-1].state_changed.error == execution.error


def test_retries_rerun_a_failed_stage_in_the_same_working_directory(
    server: ServerHandle, agent: AgentHandle
) -> None:
    daemon = publish(
        server,
        agent,
        """
limits: {max_credits: 10}
stages:
  - name: Flaky
    runtime: bash
    retries: 2
    script: |
      if [ -f tried ]; then echo "second time lucky"; else touch tried; echo "first try" >&2; exit 3; fi
""",
    )
    execution, seen = run_to_end(server, agent, daemon)
    flaky = stage(execution, "Flaky")
    assert execution.state == ex.EXECUTION_STATE_SUCCEEDED, execution.error
    assert (flaky.attempts, output(flaky)) == (2, "second time lucky")
    assert [e.stage_started.attempt for e in seen if e.WhichOneof("payload") == "stage_started"] == [1, 2]
    assert any("attempt 1 failed" in line and "trying again" in line for line in logs(seen, "Flaky"))
    # Both attempts were charged.
    assert flaky.cost.credits == 2


def test_stage_and_run_timeouts(server: ServerHandle, agent: AgentHandle) -> None:
    stage_limit = publish(
        server,
        agent,
        """
limits: {max_credits: 10}
stages:
  - name: Slow
    runtime: bash
    timeout_seconds: 1
    retries: 1
    script: sleep 30
""",
    )
    run_limit = publish(
        server,
        agent,
        """
limits: {max_credits: 10, timeout_seconds: 1}
stages:
  - name: Slower
    runtime: python
    script: |
      import time
      time.sleep(30)
  - name: Never
    runtime: bash
    script: echo never
""",
    )
    first = start(server, agent, stage_limit)
    second = start(server, agent, run_limit)
    by_stage = wait_for(server, agent, first.name, {ex.EXECUTION_STATE_TIMED_OUT})
    by_run = wait_for(server, agent, second.name, {ex.EXECUTION_STATE_TIMED_OUT})

    slow = stage(by_stage, "Slow")
    assert (slow.state, slow.attempts) == (ex.STAGE_STATE_TIMED_OUT, 2)
    assert "killed after 1 s" in slow.error
    assert by_stage.error.startswith("stage 'Slow' timed out")

    assert by_run.error == "the run exceeded its timeout of 1 s"
    assert stage(by_run, "Slower").state == ex.STAGE_STATE_TIMED_OUT
    assert stage(by_run, "Never").state == ex.STAGE_STATE_SKIPPED
    assert (by_run.end_time.ToDatetime() - by_run.start_time.ToDatetime()).total_seconds() < 10


def test_cancel_kills_the_running_script(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = publish(
        server,
        agent,
        """
limits: {max_credits: 40}
stages:
  - name: Long
    runtime: bash
    script: echo ready; sleep 30; echo done
  - name: Next
    runtime: bash
    script: echo next
""",
    )
    execution = start(server, agent, daemon)
    for event in events(server, agent, execution.name):
        if event.WhichOneof("payload") == "log" and event.log.text == "ready":
            break
    cancelled = server.execution.CancelExecution(
        ex.CancelExecutionRequest(name=execution.name), metadata=agent.auth
    ).execution
    assert cancelled.state == ex.EXECUTION_STATE_CANCELLED
    assert cancelled.error == "cancelled on request"
    long = stage(cancelled, "Long")
    assert long.state == ex.STAGE_STATE_CANCELLED
    assert output(long) is None
    assert stage(cancelled, "Next").state == ex.STAGE_STATE_SKIPPED
    # Killed at once, not after its 30 s: the time it ran is what it cost.
    assert long.duration_ms < 10_000
    assert long.cost.credits <= 10
    seen = list(events(server, agent, execution.name))
    assert_gapless(seen)
    assert "done" not in logs(seen)
    assert seen[-1].state_changed.state == ex.EXECUTION_STATE_CANCELLED


@pytest.fixture(scope="module")
def one_slot() -> Iterator[ServerHandle]:
    """A server that executes one run at a time, so that a second run stays queued."""
    handle = start_server(worker_concurrency=1)
    yield handle
    handle.stop()


def test_cancel_a_queued_run_releases_its_hold(one_slot: ServerHandle) -> None:
    server = one_slot
    agent = create_agent(server)
    busy = publish(
        server, agent, "limits: {max_credits: 30}\nstages:\n  - {name: A, runtime: bash, script: sleep 30}\n"
    )
    quick = publish(
        server, agent, "limits: {max_credits: 25}\nstages:\n  - {name: A, runtime: bash, script: 'true'}\n"
    )
    available, _ = credits(server, agent)
    blocking = start(server, agent, busy)
    wait_for(server, agent, blocking.name, {ex.EXECUTION_STATE_RUNNING})
    queued = start(server, agent, quick)
    assert credits(server, agent) == (available - 55, 55)

    cancelled = server.execution.CancelExecution(
        ex.CancelExecutionRequest(name=queued.name), metadata=agent.auth
    ).execution
    assert cancelled.state == ex.EXECUTION_STATE_CANCELLED
    assert cancelled.error == "cancelled on request before it started"
    assert [s.state for s in cancelled.stages] == [ex.STAGE_STATE_SKIPPED]
    assert not cancelled.HasField("start_time")
    assert cancelled.attempts == 0
    assert credits(server, agent) == (available - 30, 30)
    seen = list(events(server, agent, queued.name))
    assert [e.state_changed.state for e in seen] == [ex.EXECUTION_STATE_QUEUED, ex.EXECUTION_STATE_CANCELLED]
    assert_gapless(seen)

    server.execution.CancelExecution(ex.CancelExecutionRequest(name=blocking.name), metadata=agent.auth)
    stopped = get(server, agent, blocking.name)
    assert stopped.state == ex.EXECUTION_STATE_CANCELLED
    # The blocking run paid for the seconds it ran; the rest of its hold came back.
    assert credits(server, agent) == (available - stopped.total_cost.credits, 0)


def test_hybrid_failure_is_analysed_and_a_skill_stage_names_the_missing_skill(
    server: ServerHandle, agent: AgentHandle
) -> None:
    daemon = publish(
        server,
        agent,
        """
limits: {max_credits: 10}
stages:
  - name: Tests
    type: hybrid
    runtime: python
    model: builtin-small
    script: |
      print("FAILED tests/test_cart.py::test_total - AssertionError: assert 41 == 42")
      raise SystemExit(1)
  - name: Passing
    type: hybrid
    needs: []
    runtime: bash
    model: builtin-small
    script: echo all green
  - name: Publish
    needs: []
    skill: skills/wordpress-publisher
    operation: publishPost
    payload: {title: hello}
""",
    )
    execution, seen = run_to_end(server, agent, daemon)
    assert execution.state == ex.EXECUTION_STATE_FAILED
    tests = stage(execution, "Tests")
    assert tests.kind == reg.STAGE_KIND_HYBRID
    assert tests.state == ex.STAGE_STATE_FAILED
    assert "the output holds the model's analysis" in tests.error
    analysis = output(tests)
    assert isinstance(analysis, str)
    assert "assert" in analysis.lower()
    assert tests.model == "builtin-small"
    assert tests.cost.input_tokens > 0
    assert output(stage(execution, "Passing")) == "all green"
    assert stage(execution, "Passing").model == ""
    skill = stage(execution, "Publish")
    assert skill.state == ex.STAGE_STATE_FAILED
    assert skill.attempts == 1
    # The skill stage calls through the skill proxy; a skill that does not exist fails it at once
    # (no retry can help).
    assert "SKILL_NOT_FOUND" in skill.error
    assert "skills/wordpress-publisher" in skill.error
    assert any(
        e.provider_attempt.stage == "Tests" for e in seen if e.WhichOneof("payload") == "provider_attempt"
    )


def test_json_outputs_that_are_not_json_fail_the_stage(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = publish(
        server,
        agent,
        """
limits: {max_credits: 10}
stages:
  - name: Cut short
    model: builtin-small
    output_format: json
    max_tokens: 3
    prompt_template: 'Return JSON {"summary": "", "keywords": []} about bananas and apples and pears.'
  - name: Not json
    needs: []
    runtime: bash
    output_format: json
    script: echo plain words
""",
    )
    execution, _ = run_to_end(server, agent, daemon)
    assert execution.state == ex.EXECUTION_STATE_FAILED
    assert stage(execution, "Cut short").error.startswith("the model's answer is not JSON")
    assert stage(execution, "Not json").error.startswith("stdout is not JSON")


def test_large_outputs_are_artifacts(
    server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle
) -> None:
    daemon = publish(
        server,
        agent,
        """
limits: {max_credits: 10}
stages:
  - name: Big
    runtime: python
    script: |
      print("x" * 100000)
    output: big
  - name: Measure
    runtime: bash
    input: "${big}"
    script: wc -c
""",
    )
    execution, seen = run_to_end(server, agent, daemon)
    big = stage(execution, "Big")
    assert execution.state == ex.EXECUTION_STATE_SUCCEEDED, execution.error
    assert not big.HasField("output")
    assert big.output_artifact.startswith(f"{execution.name}/artifacts/")
    # Later stages still get the whole output.
    assert output(stage(execution, "Measure")) == "100000"
    outputs = [e.stage_output for e in seen if e.WhichOneof("payload") == "stage_output"]
    assert outputs[0].output_artifact == big.output_artifact
    artifact = server.execution.GetArtifact(
        ex.GetArtifactRequest(name=big.output_artifact), metadata=agent.auth
    )
    assert artifact.content == b"x" * 100000
    assert artifact.content_type.startswith("text/plain")
    assert_refused(
        server,
        lambda: server.execution.GetArtifact(
            ex.GetArtifactRequest(name=big.output_artifact), metadata=other_agent.auth
        ),
        grpc.StatusCode.NOT_FOUND,
        reason="EXECUTION_NOT_FOUND",
    )


def test_list_executions_pages_and_filters(server: ServerHandle, agent: AgentHandle) -> None:
    ok = publish(
        server,
        agent,
        "limits: {max_credits: 5}\nstages:\n  - name: A\n    runtime: bash\n    script: 'true'\n",
    )
    bad = publish(
        server,
        agent,
        "limits: {max_credits: 5}\nstages:\n  - name: A\n    runtime: bash\n    script: 'false'\n",
    )
    runs = [run_to_end(server, agent, d)[0].name for d in (ok, ok, bad)]

    seen: list[str] = []
    token = ""
    while True:
        page = server.execution.ListExecutions(
            ex.ListExecutionsRequest(page_size=2, page_token=token), metadata=agent.auth
        )
        assert len(page.executions) <= 2
        seen += [e.name for e in page.executions]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(runs))

    by_daemon = server.execution.ListExecutions(ex.ListExecutionsRequest(daemon=ok.name), metadata=agent.auth)
    assert [e.name for e in by_daemon.executions] == list(reversed(runs[:2]))
    failed = server.execution.ListExecutions(
        ex.ListExecutionsRequest(state=ex.EXECUTION_STATE_FAILED), metadata=agent.auth
    )
    assert [e.name for e in failed.executions] == [runs[2]]
    assert failed.executions[0].stages[0].state == ex.STAGE_STATE_FAILED


def test_idempotent_start_counts_one_run(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = publish(
        server,
        agent,
        "limits: {max_credits: 5}\nstages:\n  - name: A\n    runtime: bash\n    script: 'true'\n",
    )
    request = ex.StartRunRequest(daemon=daemon.name, idempotency_key="nightly-2026-03-01")
    first = server.execution.StartRun(request, metadata=agent.auth).execution
    again = server.execution.StartRun(request, metadata=agent.auth).execution
    assert again.name == first.name
    wait_for(server, agent, first.name, {ex.EXECUTION_STATE_SUCCEEDED})
    listed = server.execution.ListExecutions(
        ex.ListExecutionsRequest(daemon=daemon.name), metadata=agent.auth
    )
    assert [e.name for e in listed.executions] == [first.name]
    assert get(server, agent, first.name).state == ex.EXECUTION_STATE_SUCCEEDED
    counted = server.registry.GetDaemon(reg.GetDaemonRequest(name=daemon.name), metadata=agent.auth).daemon
    assert counted.run_count == 1
    second = start(server, agent, daemon)
    wait_for(server, agent, second.name, {ex.EXECUTION_STATE_SUCCEEDED})
    counted = server.registry.GetDaemon(reg.GetDaemonRequest(name=daemon.name), metadata=agent.auth).daemon
    assert counted.run_count == 2
