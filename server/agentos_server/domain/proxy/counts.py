"""Counting proxied calls for the Marketplace (seller analytics "calls", the seller's execution
success rate), off the call's hot path.

Counting a call moves a listing's daily counter, the seller's reputation row, the seller's agent row
and every search document of the seller: four hot rows shared by every concurrent call to that
seller. Done inside each call's transaction it would add those writes to every call and serialise
concurrent calls on the seller's rows. Instead calls are summed in memory per (skill, seller, UTC
day) and written every AGENTOS_PROXY_COUNT_FLUSH_SECONDS in one transaction, and when the server
stops.

Durability trade-off: a server that dies without stopping loses the counts of its last interval.
Only these derived statistics are at risk; every call's usage record and charge are written in the
call's own transaction, and the counts can be rebuilt from the usage records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.clock import Clock
from agentos_server.infra.db import Database

log = logging.getLogger("agentos.proxy.counts")

# (skill id, seller id, calls, successes, day, session)
Writer = Callable[[str, str, int, int, datetime, AsyncSession], Awaitable[None]]


class CallCounts:
    def __init__(self, db: Database, clock: Clock, writer: Writer, *, flush_seconds: float) -> None:
        self._db = db
        self._clock = clock
        self._writer = writer
        self._every = flush_seconds
        self._pending: dict[tuple[str, str, datetime], list[int]] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def add(self, skill_id: str, seller_id: str, success: bool) -> None:
        day = self._clock.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        counts = self._pending.setdefault((skill_id, seller_id, day), [0, 0])
        counts[0] += 1
        counts[1] += int(success)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="agentos-call-counts")

    async def _run(self) -> None:
        while self._pending:
            await asyncio.sleep(self._every)
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            batch, self._pending = self._pending, {}
            if not batch:
                return
            try:
                async with self._db.transaction() as session:
                    # One seller's rows at a time, in a fixed order, so two replicas flushing at
                    # once lock them in the same order.
                    for (skill_id, seller_id, day), (calls, successes) in sorted(batch.items()):
                        await self._writer(skill_id, seller_id, calls, successes, day, session)
            except Exception:
                # Nothing was written: keep the counts for the next flush.
                log.exception("could not write call counts; keeping them for the next flush")
                for key, (calls, successes) in batch.items():
                    counts = self._pending.setdefault(key, [0, 0])
                    counts[0] += calls
                    counts[1] += successes

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
