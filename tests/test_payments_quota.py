"""The admission gate: the API call quota and the burst limit of the caller's tier, on every
authenticated RPC of every service. Redis-backed in the PostgreSQL suite, in-process on SQLite.
The server runs with tiny limits and a clock the test moves, so nothing here waits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import redis.asyncio as aioredis

from agentos.payment.v1 import payment_pb2 as pb
from agentos.registry.v1 import registry_pb2
from agentos_server.infra.ratelimit import MemoryLimiter, RedisLimiter
from agentos_server.infra.redis import RedisKeys

from paykit import TravelClock, key, set_tier, usdc
from testkit import (
    BACKEND,
    AgentHandle,
    ServerHandle,
    assert_refused,
    create_agent,
    create_operator,
    start_server,
)

LIMITS = '{"free": {"monthly_api_calls": 12, "burst_per_second": 3}}'


@pytest.fixture(scope="module")
def clock() -> TravelClock:
    return TravelClock(datetime(2026, 6, 10, 8, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def limited(clock: TravelClock) -> Iterator[ServerHandle]:
    handle = start_server(clock=clock, tiers=LIMITS, faucet_enabled=True, hold_sweep_seconds=0.0)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def op(limited: ServerHandle) -> AgentHandle:
    return create_operator(limited)


def get_agent(server: ServerHandle, agent: AgentHandle) -> None:
    server.registry.GetAgent(registry_pb2.GetAgentRequest(name=agent.name), metadata=agent.auth)


def test_the_backend_matches_the_suite(limited: ServerHandle) -> None:
    limiter = limited.runtime.payments.gate._limiter
    expected = RedisLimiter if BACKEND == "postgres" else MemoryLimiter
    assert isinstance(limiter, expected)
    free = next(
        t
        for t in limited.payment.ListTiers(pb.ListTiersRequest()).tiers
        if t.tier == pb.SUBSCRIPTION_TIER_FREE
    )
    assert (free.monthly_api_calls, free.burst_per_second) == (12, 3)


def test_burst_limit(limited: ServerHandle, op: AgentHandle, clock: TravelClock) -> None:
    agent = create_agent(limited, "bursty")
    for _ in range(3):
        get_agent(limited, agent)
    found = assert_refused(
        limited, lambda: get_agent(limited, agent), grpc.StatusCode.RESOURCE_EXHAUSTED, reason="RATE_LIMITED"
    )
    assert found.retry_delay_seconds == pytest.approx(1 / 3, abs=0.01)
    # Payment RPCs and the other services pass the same gate.
    assert_refused(
        limited,
        lambda: limited.payment.ListHolds(pb.ListHoldsRequest(parent=agent.name), metadata=agent.auth),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        reason="RATE_LIMITED",
    )
    # Public calls without a key and operators are not limited.
    for _ in range(5):
        limited.payment.ListAssets(pb.ListAssetsRequest())
        limited.payment.CheckLedger(pb.CheckLedgerRequest(), metadata=op.auth)
    clock.advance(timedelta(milliseconds=340))
    get_agent(limited, agent)
    assert_refused(limited, lambda: get_agent(limited, agent), grpc.StatusCode.RESOURCE_EXHAUSTED)
    clock.advance(timedelta(seconds=1))
    for _ in range(3):
        get_agent(limited, agent)
    # Refused calls are not counted: 3 + 1 + 3 calls were let in.
    usage = limited.payment.GetApiUsage(pb.GetApiUsageRequest(agent=agent.name), metadata=op.auth)
    assert (usage.calls_used, usage.calls_quota, usage.burst_per_second) == (7, 12, 3)


def test_monthly_quota(limited: ServerHandle, op: AgentHandle, clock: TravelClock) -> None:
    agent = create_agent(limited, "chatty")
    for _ in range(12):
        clock.advance(timedelta(seconds=1))
        get_agent(limited, agent)
    clock.advance(timedelta(seconds=1))
    found = assert_refused(
        limited,
        lambda: get_agent(limited, agent),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        reason="API_QUOTA_EXCEEDED",
    )
    month_end = datetime(2026, 7, 1, tzinfo=UTC)
    assert found.retry_delay_seconds == pytest.approx((month_end - clock.now()).total_seconds(), abs=1)
    assert found.metadata["tier"] == "free"
    usage = limited.payment.GetApiUsage(pb.GetApiUsageRequest(agent=agent.name), metadata=op.auth)
    assert usage.calls_used == 12
    assert usage.period_end_time.ToDatetime(tzinfo=UTC) == month_end

    # A bigger tier lifts the limit at once (the gate forgets its cached tier).
    other = create_agent(limited, "upgraded")
    for _ in range(12):
        clock.advance(timedelta(seconds=1))
        get_agent(limited, other)
    set_tier(limited, op, other, pb.SUBSCRIPTION_TIER_ENTERPRISE)
    # The bucket keeps the tokens it had; a moment later it refills at the new tier's rate.
    clock.advance(timedelta(seconds=1))
    for _ in range(20):
        get_agent(limited, other)
    usage = limited.payment.GetApiUsage(pb.GetApiUsageRequest(agent=other.name), metadata=op.auth)
    assert (usage.unlimited, usage.calls_used) == (True, 32)

    # The quota renews with the month.
    clock.set(month_end + timedelta(minutes=5))
    get_agent(limited, agent)
    usage = limited.payment.GetApiUsage(pb.GetApiUsageRequest(agent=agent.name), metadata=agent.auth)
    assert usage.calls_used == 2


def test_faucet_when_enabled(limited: ServerHandle, op: AgentHandle, clock: TravelClock) -> None:
    agent, other = create_agent(limited, "thirsty"), create_agent(limited, "bystander")
    clock.advance(timedelta(seconds=5))
    response = limited.payment.Deposit(
        pb.DepositRequest(
            agent=agent.name, amount=usdc(250), idempotency_key=key(), faucet=pb.FaucetDepositSource()
        ),
        metadata=agent.auth,
    )
    assert response.wallet.available == 250
    assert response.transaction.memo == "faucet"
    assert_refused(
        limited,
        lambda: limited.payment.Deposit(
            pb.DepositRequest(
                agent=other.name, amount=usdc(250), idempotency_key=key(), faucet=pb.FaucetDepositSource()
            ),
            metadata=agent.auth,
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        reason="NOT_OWNER",
    )


@pytest.mark.skipif(BACKEND != "postgres", reason="the Redis limiter runs in the postgres suite")
def test_redis_limiter_loads_its_script_when_redis_lost_it(limited: ServerHandle) -> None:
    limiter = limited.runtime.payments.gate._limiter
    assert isinstance(limiter, RedisLimiter)
    # As after a Redis restart: the script the limiter knows is not in Redis.
    limiter._sha = "0" * 40

    async def hit() -> int:
        decision = await limiter.hit(
            "script-check", now_ms=1, rate=5, quota=10, month="2026-06", month_ttl=60
        )
        return decision.outcome

    assert limited.run(hit()) == 0
    assert limiter._sha != "0" * 40
    assert limited.run(limiter.used("script-check", "2026-06")) == 1


def test_calls_are_admitted_when_redis_is_unreachable(limited: ServerHandle, op: AgentHandle) -> None:
    """The quota is a business limit: an outage of its counters must not take the API down."""
    gate = limited.runtime.payments.gate
    working = gate._limiter

    async def unreachable() -> RedisLimiter:
        client = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
        return RedisLimiter(client, RedisKeys("agentos-test-nowhere:"))

    gate._limiter = limited.run(unreachable())
    try:
        agent = create_agent(limited, "unlimited-for-now")
        # Far more than the free tier's burst of 3, all admitted.
        for _ in range(6):
            get_agent(limited, agent)
    finally:
        gate._limiter = working
