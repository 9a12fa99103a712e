"""The shared Redis connection (redis.asyncio), when AGENTOS_REDIS_URL is set.

    client = create_redis(settings)        # None without a URL: use the in-process equivalent
    keys = RedisKeys(settings.redis_prefix)
    await client.incr(keys("quota", agent_id, "2026-05"))   # "agentos:quota:<agent>:2026-05"
    await close_redis(client)

One client per process, created on the event loop that uses it; it keeps a connection pool, so
every caller (rate limiter, event bus, queue) shares it. Every key goes under the configured
prefix so that deployments and test runs can share one Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from agentos_server.config import Settings


def create_redis(settings: Settings, *, max_connections: int = 64) -> aioredis.Redis | None:
    if not settings.redis_url:
        return None
    return aioredis.Redis.from_url(
        settings.redis_url,
        max_connections=max_connections,
        socket_connect_timeout=5,
        socket_timeout=5,
        health_check_interval=30,
    )


async def close_redis(client: aioredis.Redis | None) -> None:
    if client is not None:
        await client.aclose()


@dataclass(frozen=True)
class RedisKeys:
    prefix: str

    def __call__(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)
