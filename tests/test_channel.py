"""The agent channel over the real server: a seller agent connects with the generated stubs, receives
the calls routed to its skills and answers them; hello rules, errors, deadlines, dropped
connections, load sharing, and a call crossing replicas through Redis."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
import redis

from agentos.execution.v1 import execution_pb2 as epb
from agentos.registry.v1 import registry_pb2 as rpb

from marketkit import buy
from paykit import balances, fund
from proxykit import (
    FREE,
    ChannelAgent,
    counted,
    create_skill,
    echo_answer,
    execute,
    pay_per_call,
    refused,
    result_of,
    usage_records,
    wait_for,
)
from testkit import (
    REDIS_URL,
    AgentHandle,
    RpcFailure,
    ServerHandle,
    create_agent,
    failure,
    provision_backend,
    start_replica,
    start_server,
)


@pytest.fixture(autouse=True)
def _counts_written(server: ServerHandle) -> Iterator[None]:
    """Writes this test's batched call counts before the next test runs on the shared server, whose
    refusal checks count rows."""
    yield
    counted(server)


def drop_redis_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


CHANNEL = rpb.SkillEndpoint(agent_channel=rpb.AgentChannelTarget())


def channel_skill(server: ServerHandle, owner: AgentHandle) -> rpb.Skill:
    return create_skill(server, owner, endpoint=CHANNEL, pricing=FREE)


@pytest.fixture
def seller(server: ServerHandle) -> AgentHandle:
    return create_agent(server, "seller")


@pytest.fixture
def agents() -> Iterator[list[ChannelAgent]]:
    opened: list[ChannelAgent] = []
    yield opened
    for agent in opened:
        agent.close()


def connect(server: ServerHandle, seller: AgentHandle, answer=echo_answer, **kwargs) -> ChannelAgent:  # type: ignore[no-untyped-def]
    return ChannelAgent(server.address, seller, answer, **kwargs)


def test_calls_reach_the_agent_and_its_answers_come_back(
    server: ServerHandle, seller: AgentHandle, agents: list[ChannelAgent]
) -> None:
    skill = channel_skill(server, seller)
    agent = connect(server, seller)
    agents.append(agent)
    welcome = agent.wait_welcome()
    assert list(welcome.skills) == [skill.name]
    assert welcome.connection_id

    response = execute(server, seller, skill.name, "echo", {"text": "over the channel", "count": 2})
    assert result_of(response) == {
        "echo": {"text": "over the channel", "count": 2},
        "operation": "echo",
        "buyer": seller.name,
    }
    call = agent.calls[-1]
    assert call.skill == skill.name
    assert call.operation == "echo"
    assert call.buyer == seller.name
    assert call.deadline.seconds > time.time()
    usage = response.usage
    assert usage.target == epb.DISPATCH_TARGET_AGENT_CHANNEL
    assert usage.outcome == epb.CALL_OUTCOME_SUCCEEDED
    # Protobuf Structs keep no key order: the payload travels with its keys sorted.
    assert usage.request_bytes == len(b'{"count":2,"text":"over the channel"}')
    assert usage.response_bytes > 0
    assert [r.name for r in usage_records(server, seller, seller=True, skill=skill.name)] == [usage.name]


def test_the_payload_is_checked_before_it_reaches_the_agent(
    server: ServerHandle, seller: AgentHandle, agents: list[ChannelAgent]
) -> None:
    skill = channel_skill(server, seller)
    agent = connect(server, seller)
    agents.append(agent)
    agent.wait_welcome()
    found = refused(
        server,
        lambda: execute(server, seller, skill.name, "echo", {"text": 7}),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason="INVALID_PAYLOAD",
        field="payload.text",
    )
    assert "#/properties/text/type" in found.message
    assert agent.calls == []


def test_agent_errors_map_to_codes_and_are_recorded(
    server: ServerHandle, seller: AgentHandle, agents: list[ChannelAgent]
) -> None:
    skill = channel_skill(server, seller)

    def answer(call: epb.ChannelCall) -> epb.ChannelError:
        text = call.payload.struct_value.fields["text"].string_value
        return epb.ChannelError(reason=text, message=f"cannot do {text}")

    agents.append(connect(server, seller, answer))
    agents[-1].wait_welcome()
    rejected = failure(lambda: execute(server, seller, skill.name, "echo", {"text": "BAD_PAYLOAD"}))
    assert (rejected.code, rejected.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "UPSTREAM_REJECTED")
    assert rejected.metadata["upstream_reason"] == "BAD_PAYLOAD"
    broken = failure(lambda: execute(server, seller, skill.name, "echo", {"text": "OUT_OF_INK"}))
    assert (broken.code, broken.reason) == (grpc.StatusCode.UNAVAILABLE, "UPSTREAM_ERROR")
    assert "cannot do OUT_OF_INK" in broken.message
    records = usage_records(server, seller, skill=skill.name)
    assert [(r.outcome, r.error_reason) for r in records] == [
        (epb.CALL_OUTCOME_FAILED, "UPSTREAM_ERROR"),
        (epb.CALL_OUTCOME_FAILED, "UPSTREAM_REJECTED"),
    ]


def test_a_deadline_cancels_the_call_at_the_agent(
    server: ServerHandle, seller: AgentHandle, agents: list[ChannelAgent]
) -> None:
    skill = channel_skill(server, seller)
    agent = connect(server, seller, lambda call: None)
    agents.append(agent)
    agent.wait_welcome()
    started = time.monotonic()
    found = failure(lambda: execute(server, seller, skill.name, "echo", {"text": "never"}, timeout_ms=300))
    assert (found.code, found.reason) == (grpc.StatusCode.DEADLINE_EXCEEDED, "UPSTREAM_TIMEOUT")
    assert time.monotonic() - started < 3
    wait_for(lambda: len(agent.cancels) == 1)
    assert agent.cancels[0].call_id == agent.calls[0].call_id
    assert usage_records(server, seller, skill=skill.name)[0].outcome == epb.CALL_OUTCOME_TIMED_OUT


def test_a_dropped_connection_fails_its_calls_at_once(
    server: ServerHandle, seller: AgentHandle, agents: list[ChannelAgent]
) -> None:
    skill = channel_skill(server, seller)
    agent = connect(server, seller, lambda call: None)
    agent.wait_welcome()
    outcome: dict[str, object] = {}

    def call() -> None:
        outcome["failure"] = failure(lambda: execute(server, seller, skill.name, "echo", {"text": "x"}))

    caller = threading.Thread(target=call)
    started = time.monotonic()
    caller.start()
    wait_for(lambda: len(agent.calls) == 1)
    agent.close()
    caller.join(timeout=10)
    found = outcome["failure"]
    assert found.code == grpc.StatusCode.UNAVAILABLE
    assert found.reason == "AGENT_DISCONNECTED"
    assert time.monotonic() - started < 10
    record = usage_records(server, seller, skill=skill.name)[0]
    assert (record.outcome, record.error_reason) == (epb.CALL_OUTCOME_FAILED, "AGENT_DISCONNECTED")
    # With no connection left the next call is refused before dispatch and leaves nothing behind.
    refused(
        server,
        lambda: execute(server, seller, skill.name, "echo", {"text": "y"}),
        grpc.StatusCode.UNAVAILABLE,
        reason="AGENT_NOT_CONNECTED",
    )


def test_several_connections_share_the_calls(
    server: ServerHandle, seller: AgentHandle, agents: list[ChannelAgent]
) -> None:
    skill = channel_skill(server, seller)

    def slow(call: epb.ChannelCall):  # type: ignore[no-untyped-def]
        time.sleep(0.2)
        return echo_answer(call)

    first, second = connect(server, seller, slow), connect(server, seller, slow)
    agents += [first, second]
    first.wait_welcome()
    second.wait_welcome()
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda i: execute(server, seller, skill.name, "echo", {"text": f"n{i}"}), range(8))
        )
    assert sorted(result_of(a)["echo"]["text"] for a in answers) == [f"n{i}" for i in range(8)]
    # Least outstanding first: eight calls in flight at once split four and four.
    assert (len(first.calls), len(second.calls)) == (4, 4)


def test_max_concurrency_makes_calls_wait_for_room(
    server: ServerHandle, seller: AgentHandle, agents: list[ChannelAgent]
) -> None:
    skill = channel_skill(server, seller)
    in_flight = []
    peak = []

    def slow(call: epb.ChannelCall):  # type: ignore[no-untyped-def]
        in_flight.append(call.call_id)
        peak.append(len(in_flight))
        time.sleep(0.1)
        in_flight.remove(call.call_id)
        return echo_answer(call)

    agent = connect(server, seller, slow, max_concurrency=1)
    agents.append(agent)
    agent.wait_welcome()
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda i: execute(server, seller, skill.name, "echo", {"text": "w"}), range(3)))
    assert max(peak) == 1
    assert len(agent.calls) == 3


def test_ping_is_answered(server: ServerHandle, seller: AgentHandle, agents: list[ChannelAgent]) -> None:
    channel_skill(server, seller)
    agent = connect(server, seller)
    agents.append(agent)
    agent.wait_welcome()
    agent.send(epb.ConnectAgentRequest(ping=epb.ChannelPing(nonce=42)))
    wait_for(lambda: agent.pongs == [42])


def test_late_and_unknown_answers_are_ignored(
    server: ServerHandle, seller: AgentHandle, agents: list[ChannelAgent]
) -> None:
    skill = channel_skill(server, seller)
    agent = connect(server, seller)
    agents.append(agent)
    agent.wait_welcome()
    agent.send(
        epb.ConnectAgentRequest(
            result=epb.ChannelResult(call_id="no-such-call", error=epb.ChannelError(reason="X"))
        )
    )
    assert result_of(execute(server, seller, skill.name, "echo", {"text": "still fine"}))["echo"] == {
        "text": "still fine"
    }


# --- hello ----------------------------------------------------------------------------------------


def refused_hello(server: ServerHandle, agent: AgentHandle, **hello) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    channel = ChannelAgent(server.address, agent, echo_answer, **hello)
    try:
        channel._welcomed.wait(10)
        assert channel.welcome is None
        assert channel.error is not None
        return channel.error
    finally:
        channel.close()


def test_hello_names_only_the_agents_own_channel_skills(server: ServerHandle, seller: AgentHandle) -> None:
    other = create_agent(server, "other-seller")
    theirs = channel_skill(server, other)
    http = create_skill(
        server, seller, endpoint=rpb.SkillEndpoint(https_url="https://seller.example/api"), pricing=FREE
    )
    counted(server)  # earlier tests' call counts, written now rather than in the middle
    before = server.row_counts()
    error = refused_hello(server, seller, skills=[theirs.name])
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    error = refused_hello(server, seller, skills=[http.name])
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    error = refused_hello(server, seller, skills=["skills/no-such-skill"])
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = refused_hello(server, seller, skills=["not a name"])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    # No agent_channel skill at all: nothing to serve.
    error = refused_hello(server, seller)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    error = refused_hello(server, seller, max_concurrency=-1)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert server.row_counts() == before


def test_the_first_message_must_be_hello(server: ServerHandle, seller: AgentHandle) -> None:
    channel_skill(server, seller)
    from agentos.execution.v1 import execution_pb2_grpc

    stub = execution_pb2_grpc.ExecutionServiceStub(server.channel)
    stream = stub.ConnectAgent(
        iter([epb.ConnectAgentRequest(ping=epb.ChannelPing(nonce=1))]), metadata=seller.auth
    )
    found = failure(lambda: list(stream))
    assert (found.code, found.reason, found.fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "HELLO_REQUIRED",
        ["hello"],
    )
    anonymous = stub.ConnectAgent(iter([epb.ConnectAgentRequest(hello=epb.ChannelHello())]))
    assert failure(lambda: list(anonymous)).code == grpc.StatusCode.UNAUTHENTICATED


def test_an_empty_hello_serves_skills_published_later(
    server: ServerHandle, seller: AgentHandle, agents: list[ChannelAgent]
) -> None:
    channel_skill(server, seller)
    agent = connect(server, seller)
    agents.append(agent)
    agent.wait_welcome()
    later = channel_skill(server, seller)
    assert result_of(execute(server, seller, later.name, "echo", {"text": "new"}))["echo"] == {"text": "new"}


# --- across replicas ------------------------------------------------------------------------------


def test_a_call_reaches_an_agent_connected_to_another_replica() -> None:
    """Two servers on one database and one Redis: the agent holds its stream on the first, the call
    arrives at the second and travels through Redis (request and answer mailboxes by connection)."""
    backend = provision_backend()
    if not backend.redis_url:
        # The SQLite suite has no Redis of its own; the relay needs one, so borrow the test Redis.
        backend.redis_url, backend.redis_prefix = REDIS_URL, f"agentos-test-{secrets.token_hex(6)}:"
        backend.cleanup.append(lambda: drop_redis_keys(backend.redis_prefix))
    first = start_server(backend=backend)
    first.owns_backend = True
    second = start_replica(first)
    agent: ChannelAgent | None = None
    try:
        seller = create_agent(first, "seller")
        skill = channel_skill(first, seller)

        def slow_or_echo(call: epb.ChannelCall):  # type: ignore[no-untyped-def]
            if call.operation == "slow":
                return None
            return echo_answer(call)

        agent = ChannelAgent(first.address, seller, slow_or_echo)
        agent.wait_welcome()
        answer = execute(second, seller, skill.name, "echo", {"text": "via redis"})
        assert result_of(answer)["echo"] == {"text": "via redis"}
        assert answer.usage.target == epb.DISPATCH_TARGET_AGENT_CHANNEL
        # A deadline on the far side cancels at the agent too.
        found = failure(lambda: execute(second, seller, skill.name, "slow", None, timeout_ms=300))
        assert found.reason == "UPSTREAM_TIMEOUT"
        wait_for(lambda: len(agent.cancels) == 1)
        agent.close()
        agent = None
        wait_for(lambda: not first.runtime.proxy.hub.connections(seller.id))
        gone = failure(lambda: execute(second, seller, skill.name, "echo", {"text": "gone"}))
        assert gone.reason == "AGENT_NOT_CONNECTED"
    finally:
        if agent is not None:
            agent.close()
        second.stop()
        first.stop()


def test_a_buyer_pays_only_for_channel_calls_that_were_answered(
    server: ServerHandle, operator: AgentHandle, seller: AgentHandle, agents: list[ChannelAgent]
) -> None:
    buyer = create_agent(server, "channel-buyer")
    fund(server, operator, buyer, 10_000)
    skill = create_skill(server, seller, endpoint=CHANNEL, pricing=pay_per_call(1_000))
    buy(server, buyer, skill.name)

    def answer(call: epb.ChannelCall):  # type: ignore[no-untyped-def]
        return None if call.operation == "slow" else echo_answer(call)

    agent = connect(server, seller, answer)
    agent.wait_welcome()
    assert result_of(execute(server, buyer, skill.name, "echo", {"text": "paid"}))["buyer"] == buyer.name
    assert balances(server, buyer) == (9_000, 0)
    # Past the deadline: DEADLINE_EXCEEDED, a cancel at the agent, nothing charged.
    assert failure(lambda: execute(server, buyer, skill.name, "slow", None, timeout_ms=300)).reason == (
        "UPSTREAM_TIMEOUT"
    )
    # The agent drops with a call in flight: UNAVAILABLE at once, nothing charged.
    outcome: dict[str, RpcFailure] = {}
    caller = threading.Thread(
        target=lambda: outcome.setdefault(
            "f", failure(lambda: execute(server, buyer, skill.name, "slow", None))
        )
    )
    caller.start()
    wait_for(lambda: len(agent.calls) == 3)
    agent.close()
    caller.join(timeout=10)
    assert (outcome["f"].code, outcome["f"].reason) == (grpc.StatusCode.UNAVAILABLE, "AGENT_DISCONNECTED")
    assert balances(server, buyer) == (9_000, 0)
    assert [r.outcome for r in usage_records(server, buyer)] == [
        epb.CALL_OUTCOME_FAILED,
        epb.CALL_OUTCOME_TIMED_OUT,
        epb.CALL_OUTCOME_SUCCEEDED,
    ]
