"""API call limiter backends: Redis (shared by every replica) or in-process (one server).

Each agent has a token bucket (capacity = rate = the tier's calls a second) and a counter of the
calls admitted in the current UTC month. `hit` takes one token and counts one call, or neither:
on Redis both happen in one Lua script, so replicas agree and nothing is counted twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

from agentos_server.infra.redis import RedisKeys

ALLOWED = 0
BURST = 1
QUOTA = 2


class LimiterUnavailable(RuntimeError):
    """The shared counters cannot be reached (Redis is down or too slow)."""


@dataclass(frozen=True)
class Decision:
    # ALLOWED, BURST (no token left this second) or QUOTA (the month's calls are used up).
    outcome: int
    # Seconds until a call would be admitted (for BURST).
    retry_after: float = 0.0


class Limiter(Protocol):
    async def hit(
        self, agent_id: str, *, now_ms: int, rate: int, quota: int | None, month: str, month_ttl: int
    ) -> Decision: ...

    async def used(self, agent_id: str, month: str) -> int: ...


# KEYS[1] = month counter, KEYS[2] = bucket hash. ARGV = now_ms, rate, quota (-1: none), month_ttl.
_LUA = """
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local quota = tonumber(ARGV[3])
local bucket = redis.call('HMGET', KEYS[2], 't', 'ts')
local tokens = tonumber(bucket[1])
local stamp = tonumber(bucket[2])
if tokens == nil or stamp == nil then
  tokens = rate
  stamp = now
end
if now > stamp then
  tokens = math.min(rate, tokens + (now - stamp) * rate / 1000.0)
  stamp = now
end
if tokens < 1 then
  return {1, math.ceil((1 - tokens) * 1000.0 / rate)}
end
if quota >= 0 then
  local used = tonumber(redis.call('GET', KEYS[1]) or '0')
  if used >= quota then
    return {2, 0}
  end
end
redis.call('HSET', KEYS[2], 't', tostring(tokens - 1), 'ts', tostring(stamp))
redis.call('PEXPIRE', KEYS[2], math.ceil(2000 + 1000000.0 / rate))
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
end
return {0, count}
"""


class RedisLimiter:
    """The Lua script per call, pipelined: a call that finds no batch on its way to Redis sends its
    own at once; calls that arrive while one is on its way wait and go together in the next, so a
    busy server pays one round trip per batch of calls instead of one per call. Each call is still
    its own atomic script run."""

    def __init__(self, client: aioredis.Redis, keys: RedisKeys) -> None:
        self._client = client
        self._keys = keys
        self._sha = hashlib.sha1(_LUA.encode(), usedforsecurity=False).hexdigest()
        self._pending: list[tuple[list[Any], asyncio.Future[Any]]] = []
        # True while a batch is on its way to Redis (sent by a caller or by the drainer).
        self._sending = False
        self._drainer: asyncio.Task[None] | None = None

    async def hit(
        self, agent_id: str, *, now_ms: int, rate: int, quota: int | None, month: str, month_ttl: int
    ) -> Decision:
        arguments = [
            self._keys("calls", agent_id, month),
            self._keys("burst", agent_id),
            now_ms,
            rate,
            -1 if quota is None else quota,
            month_ttl,
        ]
        try:
            if self._sending:
                future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                self._pending.append((arguments, future))
                outcome, value = await future
            else:
                # Nothing on its way: no reason to wait for company, and no task to hand over to.
                self._sending = True
                try:
                    outcome, value = (await self._run([arguments]))[0]
                finally:
                    self._hand_over()
        except (RedisError, OSError) as error:
            raise LimiterUnavailable(str(error)) from error
        if int(outcome) == BURST:
            return Decision(BURST, int(value) / 1000)
        return Decision(int(outcome))

    def _hand_over(self) -> None:
        """After a batch: the calls that queued behind it go next, or nobody is sending."""
        if self._pending:
            self._drainer = asyncio.ensure_future(self._drain())
        else:
            self._sending = False

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    results = await self._run([arguments for arguments, _ in batch])
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():
                            future.set_result(result)
        finally:
            self._drainer = None
            self._sending = False

    async def _run(self, calls: list[list[Any]], *, loaded: bool = False) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for arguments in calls:
            pipe.evalsha(self._sha, 2, *arguments)
        results: list[Any] = await pipe.execute(raise_on_error=False)
        if not loaded and any(isinstance(r, NoScriptError) for r in results):
            # Redis restarted or flushed its scripts: load ours and run the batch again (a call
            # that failed NOSCRIPT did not run).
            self._sha = await self._client.script_load(_LUA)
            return await self._run(calls, loaded=True)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results

    async def used(self, agent_id: str, month: str) -> int:
        value = await self._client.get(self._keys("calls", agent_id, month))
        return int(value or 0)


class MemoryLimiter:
    """The same rules in one process's memory; the state is lost on restart."""

    def __init__(self, max_agents: int = 100_000) -> None:
        self._buckets: dict[str, tuple[float, int]] = {}
        self._calls: dict[tuple[str, str], int] = {}
        self._max = max_agents
        self._month = ""

    async def hit(
        self, agent_id: str, *, now_ms: int, rate: int, quota: int | None, month: str, month_ttl: int
    ) -> Decision:
        if month != self._month:
            # A new month: last month's counters are no longer needed.
            self._calls = {k: v for k, v in self._calls.items() if k[1] >= month}
            self._month = month
        tokens, stamp = self._buckets.get(agent_id, (float(rate), now_ms))
        if now_ms > stamp:
            tokens = min(float(rate), tokens + (now_ms - stamp) * rate / 1000.0)
            stamp = now_ms
        if tokens < 1:
            return Decision(BURST, math.ceil((1 - tokens) * 1000.0 / rate) / 1000)
        used = self._calls.get((agent_id, month), 0)
        if quota is not None and used >= quota:
            return Decision(QUOTA)
        if len(self._buckets) >= self._max and agent_id not in self._buckets:
            self._buckets.clear()
        self._buckets[agent_id] = (tokens - 1, stamp)
        self._calls[(agent_id, month)] = used + 1
        return Decision(ALLOWED)

    async def used(self, agent_id: str, month: str) -> int:
        return self._calls.get((agent_id, month), 0)
