"""The admission gate: every authenticated RPC spends one call of the caller's monthly API quota
and one token of its per-second burst limit, both set by its subscription tier.

Counting: a call is counted when it is admitted, whatever it then answers; a call refused by the
gate is not counted. Calls without an API key (public reads) are not counted. Operators are
exempt, so that an operator can always repair things. The month is the UTC calendar month; the
burst limit is a token bucket holding `burst_per_second` tokens, refilled at that rate.
A refused call fails RESOURCE_EXHAUSTED with RetryInfo: reason RATE_LIMITED (retry after the
next token) or API_QUOTA_EXCEEDED (retry when the month ends). The counters live in Redis when
AGENTOS_REDIS_URL is set (one Lua script per call, or per lease of tokens for a busy agent, shared
by every replica: infra/ratelimit.py) and in process memory otherwise. Each agent's tier is
cached for AGENTOS_TIER_CACHE_SECONDS. When Redis cannot be reached the gate lets calls in (and
logs it, at most every 30 s): the quota is a business limit, and an outage of its bookkeeping
should not take the whole API down with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import ResourceExhausted
from agentos_server.domain.periods import month_end, month_key
from agentos_server.domain.tiers import Tier, TierTable
from agentos_server.infra.ratelimit import ALLOWED, BURST, QUOTA, Decision, Limiter, LimiterUnavailable

log = logging.getLogger("agentos.quota")


@dataclass(frozen=True)
class ApiUsage:
    tier: Tier
    calls_used: int
    period_end: datetime


class ApiGate:
    def __init__(
        self,
        limiter: Limiter,
        tiers: TierTable,
        tier_of: Callable[[str], Awaitable[str]],
        clock: Clock,
        cache_seconds: float,
    ) -> None:
        self._limiter = limiter
        self._tiers = tiers
        self._tier_of = tier_of
        self._clock = clock
        self._ttl = cache_seconds
        # agent id -> (tier code, month it was read in, monotonic expiry)
        self._cache: dict[str, tuple[str, str, float]] = {}
        self._last_outage_log = 0.0

    async def close(self) -> None:
        await self._limiter.close()

    def forget(self, agent_id: str) -> None:
        self._cache.pop(agent_id, None)

    async def tier(self, agent_id: str, month: str) -> Tier:
        hit = self._cache.get(agent_id)
        now = time.monotonic()
        if hit is not None and hit[1] == month and hit[2] > now:
            return self._tiers.get(hit[0])
        code = await self._tier_of(agent_id)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[agent_id] = (code, month, now + self._ttl)
        return self._tiers.get(code)

    async def admit(self, caller: Caller, method: str) -> None:
        if caller.is_operator:
            return
        now = self._clock.now()
        month = month_key(now)
        tier = await self.tier(caller.agent_id, month)
        end = month_end(now)
        try:
            decision = await self._limiter.hit(
                caller.agent_id,
                now_ms=int(now.timestamp() * 1000),
                rate=max(1, tier.burst_per_second),
                quota=None if tier.unlimited_api_calls else tier.monthly_api_calls,
                month=month,
                month_ttl=int((end - now).total_seconds()) + 86_400,
            )
        except LimiterUnavailable as error:
            self._outage(error)
            decision = Decision(ALLOWED)
        if decision.outcome == BURST:
            raise ResourceExhausted(
                f"more than {tier.burst_per_second} calls a second on the {tier.display_name} tier; "
                "slow down",
                reason="RATE_LIMITED",
                metadata={"tier": tier.code, "burst_per_second": str(tier.burst_per_second)},
                retry_after_seconds=max(decision.retry_after, 0.001),
            )
        if decision.outcome == QUOTA:
            raise ResourceExhausted(
                f"the {tier.display_name} tier's {tier.monthly_api_calls} API calls for {month} are used up; "
                "they renew at the start of next month, or change tier",
                reason="API_QUOTA_EXCEEDED",
                metadata={"tier": tier.code, "monthly_api_calls": str(tier.monthly_api_calls)},
                retry_after_seconds=max(1.0, (end - now).total_seconds()),
            )

    def _outage(self, error: BaseException) -> None:
        now = time.monotonic()
        if now - self._last_outage_log >= 30:
            self._last_outage_log = now
            log.warning("the API call limiter is unreachable; admitting calls unlimited: %s", error)

    async def usage(self, agent_id: str) -> ApiUsage:
        now = self._clock.now()
        month = month_key(now)
        tier = await self.tier(agent_id, month)
        return ApiUsage(tier, await self._limiter.used(agent_id, month), month_end(now))
