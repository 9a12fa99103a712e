"""API call limiter backends: Redis (shared by every replica) or in-process (one server).

Each agent has a token bucket (capacity = rate = the tier's calls a second) and a counter of the
calls admitted in the current UTC month. `hit` takes one token and counts one call, or neither:
on Redis both happen in one Lua script, so replicas agree and nothing is counted twice.

A busy key does not pay a Redis round trip per call. The Redis limiter takes tokens in advance
("a lease"): the first call of a key takes one token, and each time a lease is used up within
LEASE_MS the next one is twice as large, up to a tenth of a second's worth of the key's rate. Calls
are then admitted from the lease in process memory. The leased tokens are taken from the shared
bucket and counted in the month when they are taken, so no replica ever admits more than the
bucket or the quota allows; what a lease costs is that a replica may hold tokens another replica
could have used, for at most LEASE_MS. Tokens a lease did not use go back to the bucket and the
month's counter when the lease ends (with the key's next trip, or within a second otherwise), and
until then `used` leaves out this replica's unused tokens. Keys with a rate under 20 a second never
lease more than the token the call needs, so a low limit is enforced exactly as without leases.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

from agentos_server.infra.redis import RedisKeys

ALLOWED = 0
BURST = 1
QUOTA = 2

# How long leased tokens may be held; a lease holds at most this long's worth of the key's rate.
LEASE_MS = 100
# How often unused tokens of leases that ended are handed back when their keys went quiet.
_RETURN_EVERY_SECONDS = 1.0


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

    async def close(self) -> None: ...


# KEYS[1] = month counter, KEYS[2] = bucket hash. ARGV = now_ms, rate, quota (-1: none), month_ttl,
# tokens wanted (0: only give back), tokens given back (unused tokens of an ended lease).
# Answers {0, tokens granted}, {1, ms until a token} or {2, 0} (the quota is used up).
_LUA = """
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local quota = tonumber(ARGV[3])
local wanted = tonumber(ARGV[5])
local returned = tonumber(ARGV[6])
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
if returned > 0 then
  tokens = math.min(rate, tokens + returned)
  if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('DECRBY', KEYS[1], returned)
  end
end
local function keep()
  redis.call('HSET', KEYS[2], 't', tostring(tokens), 'ts', tostring(stamp))
  redis.call('PEXPIRE', KEYS[2], math.ceil(2000 + 1000000.0 / rate))
end
if wanted == 0 then
  keep()
  return {0, 0}
end
if tokens < 1 then
  if returned > 0 then
    keep()
  end
  return {1, math.ceil((1 - tokens) * 1000.0 / rate)}
end
local granted = math.min(wanted, math.floor(tokens))
if quota >= 0 then
  local used = tonumber(redis.call('GET', KEYS[1]) or '0')
  if used >= quota then
    if returned > 0 then
      keep()
    end
    return {2, 0}
  end
  granted = math.min(granted, quota - used)
end
tokens = tokens - granted
keep()
local count = redis.call('INCRBY', KEYS[1], granted)
if count == granted then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
end
return {0, granted}
"""


@dataclass
class _Lease:
    """Tokens of one key taken from Redis in advance, for this replica's next calls."""

    remaining: int
    # A lease ends LEASE_MS after it began by the callers' clock (the now_ms they pass, which tests
    # may move by hand) or by the machine's, whichever comes first.
    ends_ms: int
    ends_at: float
    # How many tokens the lease took; the next one may take twice as many.
    size: int
    month: str
    rate: int
    quota: int | None
    month_ttl: int

    def live(self, now_ms: int, month: str, rate: int, quota: int | None) -> bool:
        return (
            now_ms < self.ends_ms
            and time.monotonic() < self.ends_at
            and (self.month, self.rate, self.quota) == (month, rate, quota)
        )


class RedisLimiter:
    """The Lua script per trip to Redis, pipelined: a call that finds no batch on its way to Redis
    sends its own at once; calls that arrive while one is on its way wait and go together in the
    next, so a busy server pays one round trip per batch of calls instead of one per call. Each call
    is still its own atomic script run. Busy keys lease tokens (see the module's docstring)."""

    def __init__(self, client: aioredis.Redis, keys: RedisKeys) -> None:
        self._client = client
        self._keys = keys
        self._sha = hashlib.sha1(_LUA.encode(), usedforsecurity=False).hexdigest()
        self._pending: list[tuple[list[Any], asyncio.Future[Any]]] = []
        # True while a batch is on its way to Redis (sent by a caller or by the drainer).
        self._sending = False
        self._drainer: asyncio.Task[None] | None = None
        self._leases: dict[str, _Lease] = {}
        self._returner: asyncio.Task[None] | None = None

    async def hit(
        self, agent_id: str, *, now_ms: int, rate: int, quota: int | None, month: str, month_ttl: int
    ) -> Decision:
        largest = max(1, rate * LEASE_MS // 1000)
        wanted = 1
        returned = 0
        lease = self._leases.get(agent_id)
        if lease is not None:
            if lease.live(now_ms, month, rate, quota):
                if lease.remaining > 0:
                    lease.remaining -= 1
                    return Decision(ALLOWED)
                # Used up in time: the key is busy, so the next lease is larger.
                wanted = min(lease.size * 2, largest)
            elif lease.month == month:
                returned = lease.remaining
            self._leases.pop(agent_id, None)
        decision, granted = await self._take(
            agent_id, now_ms, rate, quota, month, month_ttl, wanted=wanted, returned=returned
        )
        if decision.outcome != ALLOWED or largest == 1:
            return decision
        current = self._leases.get(agent_id)
        if current is not None and current.live(now_ms, month, rate, quota):
            # Another call of this key leased meanwhile: one lease holds both's tokens.
            current.remaining += granted - 1
            current.size = max(current.size, granted)
        else:
            if current is not None and current.remaining > 0:
                self._leases.pop(agent_id)
                await self._give_back([(agent_id, current)])
            self._leases[agent_id] = _Lease(
                granted - 1,
                now_ms + LEASE_MS,
                time.monotonic() + LEASE_MS / 1000,
                granted,
                month,
                rate,
                quota,
                month_ttl,
            )
        if self._returner is None or self._returner.done():
            self._returner = asyncio.ensure_future(self._return_unused())
        return decision

    def _arguments(
        self,
        key: str,
        now_ms: int,
        rate: int,
        quota: int | None,
        month: str,
        month_ttl: int,
        wanted: int,
        returned: int,
    ) -> list[Any]:
        """The script's keys and arguments, in the order _LUA reads them."""
        return [
            self._keys("calls", key, month),
            self._keys("burst", key),
            now_ms,
            rate,
            -1 if quota is None else quota,
            month_ttl,
            wanted,
            returned,
        ]

    async def _take(
        self,
        agent_id: str,
        now_ms: int,
        rate: int,
        quota: int | None,
        month: str,
        month_ttl: int,
        *,
        wanted: int,
        returned: int,
    ) -> tuple[Decision, int]:
        arguments = self._arguments(agent_id, now_ms, rate, quota, month, month_ttl, wanted, returned)
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
            return Decision(BURST, int(value) / 1000), 0
        if int(outcome) == QUOTA:
            return Decision(QUOTA), 0
        return Decision(ALLOWED), int(value)

    async def _return_unused(self) -> None:
        """While leases are out, every second: give back what ended leases did not use, and forget
        leases that ended. Runs only while there are leases, so an idle limiter has no task."""
        while self._leases:
            await asyncio.sleep(_RETURN_EVERY_SECONDS)
            now = time.monotonic()
            ended = [(key, lease) for key, lease in self._leases.items() if lease.ends_at <= now]
            for key, _ in ended:
                del self._leases[key]
            await self._give_back(ended)

    async def _give_back(self, leases: list[tuple[str, _Lease]]) -> None:
        """Unused tokens back to the bucket and out of the month's count, in one trip."""
        batch = [
            self._arguments(
                key,
                lease.ends_ms - LEASE_MS,
                lease.rate,
                lease.quota,
                lease.month,
                lease.month_ttl,
                wanted=0,
                returned=lease.remaining,
            )
            for key, lease in leases
            if lease.remaining > 0
        ]
        if batch:
            # Lost tokens only make the bucket stricter and the count higher for a while: not worth
            # failing a call or a shutdown for.
            with contextlib.suppress(RedisError, OSError):
                await self._run(batch)

    async def close(self) -> None:
        """Gives every unused leased token back (so the month's counters are exact)."""
        if self._returner is not None:
            self._returner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._returner
            self._returner = None
        leases, self._leases = self._leases, {}
        await self._give_back(list(leases.items()))

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
        lease = self._leases.get(agent_id)
        unused = lease.remaining if lease is not None and lease.month == month else 0
        return max(0, int(value or 0) - unused)


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

    async def close(self) -> None:
        return None
