"""The work queue of runs: a Redis Stream with a consumer group shared by every worker process, or
an in-process queue for a single server.

The queue only says "this run may need a worker"; the database decides who runs it (a claim is a
conditional update). So a duplicate entry is harmless, and an entry that is lost is found again by
the sweeper that re-enqueues forgotten runs.

Redis semantics: `next()` first takes over an entry whose consumer has been silent for longer than
the lease (XAUTOCLAIM: its worker died), then waits for a new one (XREADGROUP). While a worker runs
a claimed entry it calls `touch()` (XCLAIM ... JUSTID to itself, which resets the idle time); it
calls `ack()` (XACK + XDEL) when the run no longer needs it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger("agentos.queue")

GROUP = "workers"


@dataclass(frozen=True)
class QueueItem:
    execution_id: str
    # The stream entry id (Redis) or "" (in-process).
    receipt: str = ""
    # True when the entry was taken over from a consumer that stopped touching it.
    reclaimed: bool = False


class RunQueue(Protocol):
    async def enqueue(self, execution_id: str) -> None: ...

    async def next(self) -> QueueItem: ...

    async def touch(self, item: QueueItem) -> None: ...

    async def ack(self, item: QueueItem) -> None: ...

    async def depth(self) -> int: ...


class InProcessRunQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    async def enqueue(self, execution_id: str) -> None:
        self._queue.put_nowait(execution_id)

    async def next(self) -> QueueItem:
        return QueueItem(await self._queue.get())

    async def touch(self, item: QueueItem) -> None:
        return None

    async def ack(self, item: QueueItem) -> None:
        return None

    async def depth(self) -> int:
        return self._queue.qsize()


class RedisRunQueue:
    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        consumer: str,
        *,
        lease_seconds: float,
        block_seconds: float | None = None,
    ) -> None:
        self._client = client
        self._stream = f"{prefix}runs"
        self._consumer = consumer
        self._lease_ms = max(1, int(lease_seconds * 1000))
        # How long one XREADGROUP waits before looking for abandoned entries again; kept well under
        # the client's socket timeout (5 s in infra/redis.py), which would otherwise cut it off.
        self._block_ms = max(1, int((block_seconds or min(lease_seconds / 2, 2.0)) * 1000))
        self._group_ready = False

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._client.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    async def enqueue(self, execution_id: str) -> None:
        await self._client.xadd(self._stream, {"execution": execution_id})

    async def next(self) -> QueueItem:
        await self._ensure_group()
        while True:
            try:
                reclaimed = await self._autoclaim()
                if reclaimed is not None:
                    return reclaimed
                answer: Any = await self._client.xreadgroup(
                    GROUP, self._consumer, {self._stream: ">"}, count=1, block=self._block_ms
                )
            except ResponseError as error:
                if "NOGROUP" not in str(error):
                    raise
                # The stream was deleted (e.g. FLUSHDB): create it again.
                self._group_ready = False
                await self._ensure_group()
                continue
            except (RedisError, OSError) as error:
                log.warning("run queue unavailable, retrying: %s", error)
                await asyncio.sleep(1.0)
                continue
            for _stream, entries in answer or ():
                for entry_id, fields in entries:
                    item = _item(entry_id, fields, reclaimed=False)
                    if item is not None:
                        return item
                    await self._drop(_text(entry_id))

    async def _autoclaim(self) -> QueueItem | None:
        answer: Any = await self._client.xautoclaim(
            self._stream, GROUP, self._consumer, min_idle_time=self._lease_ms, start_id="0-0", count=1
        )
        # [next cursor, [(id, fields), ...], [deleted ids]] (the last part since Redis 7).
        for entry_id, fields in answer[1]:
            item = _item(entry_id, fields, reclaimed=True)
            if item is not None:
                return item
            await self._drop(_text(entry_id))
        return None

    async def touch(self, item: QueueItem) -> None:
        await self._client.xclaim(
            self._stream, GROUP, self._consumer, min_idle_time=0, message_ids=[item.receipt], justid=True
        )

    async def ack(self, item: QueueItem) -> None:
        await self._drop(item.receipt)

    async def _drop(self, entry_id: str) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, GROUP, entry_id)
            pipe.xdel(self._stream, entry_id)
            await pipe.execute()

    async def depth(self) -> int:
        return int(await self._client.xlen(self._stream))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _item(entry_id: bytes | str, fields: dict[Any, Any] | None, *, reclaimed: bool) -> QueueItem | None:
    if not fields:
        return None
    raw = fields.get(b"execution", fields.get("execution"))
    if raw is None:
        return None
    return QueueItem(_text(raw), _text(entry_id), reclaimed)
