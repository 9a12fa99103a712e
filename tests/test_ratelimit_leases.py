"""The Redis limiter's leases: a busy key is admitted from tokens taken in advance, without breaking
the bucket or the quota that every replica shares (infra/ratelimit.py)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from agentos_server.infra import ratelimit
from agentos_server.infra.ratelimit import ALLOWED, BURST, LEASE_MS, QUOTA, RedisLimiter
from agentos_server.infra.redis import RedisKeys

from testkit import BACKEND, REDIS_URL

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="the Redis limiter runs in the postgres suite")

MONTH = "2026-11"
NOW_MS = 1_795_000_000_000


class Replica:
    """A limiter as one server holds it, counting its trips to Redis."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.limiter = RedisLimiter(client, RedisKeys(prefix))
        self.trips = 0
        run = self.limiter._run

        async def counted(calls: list[list[Any]], *, loaded: bool = False) -> list[Any]:
            self.trips += 1
            return await run(calls, loaded=loaded)

        self.limiter._run = counted  # type: ignore[method-assign]

    async def hit(self, key: str, *, rate: int, quota: int | None = None, now_ms: int = NOW_MS) -> int:
        decision = await self.limiter.hit(
            key, now_ms=now_ms, rate=rate, quota=quota, month=MONTH, month_ttl=3600
        )
        return decision.outcome


def on_redis(test: Callable[[aioredis.Redis, str], Awaitable[None]]) -> None:
    async def run() -> None:
        client = aioredis.Redis.from_url(REDIS_URL)
        prefix = f"agentos-test-leases-{secrets.token_hex(4)}:"
        try:
            await test(client, prefix)
        finally:
            keys = [key async for key in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()

    asyncio.run(run())


async def counted_in_redis(client: aioredis.Redis, prefix: str, key: str) -> int:
    return int(await client.get(RedisKeys(prefix)("calls", key, MONTH)) or 0)


def test_a_busy_key_is_admitted_from_leases_and_counted_exactly() -> None:
    async def test(client: aioredis.Redis, prefix: str) -> None:
        replica = Replica(client, prefix)
        outcomes = [await replica.hit("busy", rate=10_000) for _ in range(300)]
        assert outcomes == [ALLOWED] * 300
        # Leases of 1, 2, 4 ... up to a tenth of a second's worth (1,000 tokens): a handful of trips.
        assert replica.trips <= 10
        # Redis counted the leased tokens; the replica leaves out those it has not used.
        assert await counted_in_redis(client, prefix, "busy") > 300
        assert await replica.limiter.used("busy", MONTH) == 300
        await replica.limiter.close()
        assert await counted_in_redis(client, prefix, "busy") == 300

    on_redis(test)


def test_a_slow_key_takes_one_token_per_call() -> None:
    async def test(client: aioredis.Redis, prefix: str) -> None:
        replica = Replica(client, prefix)
        outcomes = [await replica.hit("slow", rate=5) for _ in range(6)]
        assert outcomes == [ALLOWED] * 5 + [BURST]
        assert replica.trips == 6
        assert replica.limiter._leases == {}

    on_redis(test)


def test_replicas_never_admit_more_than_the_shared_bucket() -> None:
    async def test(client: aioredis.Redis, prefix: str) -> None:
        first, second = Replica(client, prefix), Replica(client, prefix)
        # The clock stands still: the bucket (100 tokens) does not refill.
        outcomes = [await replica.hit("shared", rate=100) for _ in range(90) for replica in (first, second)]
        assert outcomes.count(ALLOWED) == 100
        assert outcomes[-10:] == [BURST] * 10
        # Every token is spent: no replica holds one it did not use.
        assert await first.limiter.used("shared", MONTH) == await second.limiter.used("shared", MONTH) == 100
        await first.limiter.close()
        await second.limiter.close()
        assert await counted_in_redis(client, prefix, "shared") == 100

    on_redis(test)


def test_replicas_never_admit_more_than_the_quota() -> None:
    async def test(client: aioredis.Redis, prefix: str) -> None:
        first, second = Replica(client, prefix), Replica(client, prefix)
        outcomes = [
            await replica.hit("metered", rate=1_000, quota=50)
            for _ in range(40)
            for replica in (first, second)
        ]
        assert outcomes.count(ALLOWED) == 50
        assert outcomes[-10:] == [QUOTA] * 10
        await first.limiter.close()
        await second.limiter.close()
        assert await counted_in_redis(client, prefix, "metered") == 50

    on_redis(test)


def test_an_ended_lease_gives_its_unused_tokens_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_RETURN_EVERY_SECONDS", 0.05)

    async def test(client: aioredis.Redis, prefix: str) -> None:
        replica = Replica(client, prefix)
        for _ in range(20):
            assert await replica.hit("bursty", rate=10_000) == ALLOWED
        assert await counted_in_redis(client, prefix, "bursty") > 20
        # The next call after the lease's time: the unused tokens go back with its trip.
        assert await replica.hit("bursty", rate=10_000, now_ms=NOW_MS + LEASE_MS) == ALLOWED
        assert await counted_in_redis(client, prefix, "bursty") == 21
        # A key that goes quiet: its lease ends by the machine's clock, and the replica gives the
        # tokens back on its own.
        for _ in range(10):
            assert await replica.hit("quiet", rate=10_000) == ALLOWED
        assert await counted_in_redis(client, prefix, "quiet") > 10
        await asyncio.sleep(LEASE_MS / 1000 + 0.3)
        assert await counted_in_redis(client, prefix, "quiet") == 10
        assert replica.limiter._leases == {}

    on_redis(test)
