"""The numbered events of a run: writing them (gapless sequences, persisted before they are
published) and following them (replay from any sequence, then live, on any replica).

Writing. One writer at a time per run: the worker that holds the claim (or, for a run that never
started, the replica that cancels it). A writer knows the last sequence it wrote and advances
`executions.last_sequence` only from that value, in the same transaction as the events, so
sequences have no gaps and a worker whose claim was taken over fails its next write instead of
interleaving with the new owner. Events are published on the bus only after their transaction
commits, so anything a subscriber hears about is already in the database.

Following. Subscribe to the run's topic first, then replay from the database, then take live
events: drop the ones already delivered, and fill any gap (a message the bus lost, or a subscriber
that lagged) from the database. When nothing arrives for `poll_seconds`, look at the database
anyway. The feed ends after the run's final state_changed event, which is always its last event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.clock import Clock
from agentos_server.domain.execution.model import FINAL_STATES
from agentos_server.infra.bus import MessageBus
from agentos_server.infra.db import Database
from agentos_server.infra.fastread import RowBuilder
from agentos_server.infra.tables.execution import ExecutionEventRow, ExecutionRow

log = logging.getLogger("agentos.runs")

LOG = "log"
STAGE_STARTED = "stage_started"
STAGE_FINISHED = "stage_finished"
STAGE_OUTPUT = "stage_output"
COST = "cost"
STATE_CHANGED = "state_changed"
PROVIDER_ATTEMPT = "provider_attempt"

REPLAY_PAGE = 1000
# Log lines written within this window share one transaction (and one bus message).
LOG_FLUSH_SECONDS = 0.02
# A stage's start and end are written within this window, so that a short stage's start, its end
# and (when it was the last) the run's end share one transaction.
STATE_FLUSH_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class RunEvent:
    execution_id: str
    sequence: int
    time: datetime
    kind: str
    data: dict[str, Any]

    @property
    def is_final(self) -> bool:
        return self.kind == STATE_CHANGED and self.data.get("state") in FINAL_STATES


def topic(execution_id: str) -> str:
    return f"events:{execution_id}"


def encode_batch(events: Sequence[RunEvent]) -> bytes:
    return json.dumps(
        [[e.sequence, int(e.time.timestamp() * 1_000_000), e.kind, e.data] for e in events],
        separators=(",", ":"),
    ).encode()


def decode_batch(execution_id: str, raw: bytes) -> list[RunEvent]:
    return [
        RunEvent(execution_id, int(seq), datetime.fromtimestamp(micros / 1_000_000, UTC), kind, data)
        for seq, micros, kind, data in json.loads(raw)
    ]


async def publish(bus: MessageBus, execution_id: str, events: Sequence[RunEvent]) -> None:
    """Announces persisted events to live subscribers."""
    try:
        await bus.publish(topic(execution_id), encode_batch(events))
    except Exception as error:
        # Subscribers find persisted events in the database when the bus stays silent.
        log.warning("publishing events of executions/%s failed: %s", execution_id, error)


def event_rows(events: Sequence[RunEvent]) -> list[dict[str, Any]]:
    return [
        {
            "execution_id": e.execution_id,
            "sequence": e.sequence,
            "created_at": e.time,
            "kind": e.kind,
            "data": e.data,
        }
        for e in events
    ]


@dataclass(frozen=True)
class RunHead:
    owner_id: str
    last_sequence: int
    ended: bool


# Raises (a DomainError) when the run may not be followed from that sequence by this caller.
Admission = Callable[[RunHead | None], None]


class LostClaim(Exception):
    """Another writer advanced the run: this worker's claim was taken over, or the run was settled."""


# Runs inside the event transaction before the events are written; raising aborts both.
Change = Callable[[AsyncSession], Awaitable[None]]


class EventWriter:
    """Appends the events of one run: assigns sequence numbers, persists, then publishes.

    `emit` buffers events (and optionally the row change they describe) and writes them within
    LOG_FLUSH_SECONDS, or sooner with the next `commit`, which writes everything buffered and its
    own change and events in one transaction. Buffering is what lets a short stage's start, its
    end and the run's end share one transaction; the price is that a worker dying within
    LOG_FLUSH_SECONDS of a buffered stage end loses it, and the stage runs again on the next claim.
    `fence_attempts` is the claim's fencing token: writes also require executions.attempts to
    still hold it.
    """

    def __init__(
        self,
        db: Database,
        bus: MessageBus,
        clock: Clock,
        execution_id: str,
        last_sequence: int,
        *,
        fence_attempts: int | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self.execution_id = execution_id
        self.last_sequence = last_sequence
        self._persisted = last_sequence
        self._fence = fence_attempts
        self._on_lost = on_lost
        self._buffer: list[RunEvent] = []
        self._changes: list[Change] = []
        # Values to set on the run's row with the next write, merged in order when it happens.
        self._rows: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._flush_at = 0.0
        self._flushing: set[asyncio.Task[None]] = set()
        self.lost = False

    def _new(self, kind: str, data: dict[str, Any]) -> RunEvent:
        self.last_sequence += 1
        event = RunEvent(self.execution_id, self.last_sequence, self._clock.now(), kind, data)
        self._buffer.append(event)
        return event

    def emit(
        self, kind: str, data: dict[str, Any], change: Change | None = None, within: float = LOG_FLUSH_SECONDS
    ) -> None:
        self.emit_many([(kind, data)], change, within)

    def emit_many(
        self,
        events: Sequence[tuple[str, dict[str, Any]]],
        change: Change | None = None,
        within: float = LOG_FLUSH_SECONDS,
        row: dict[str, Any] | None = None,
    ) -> None:
        """Buffers events (and the change they describe, and values for the run's row), written
        within `within` seconds."""
        if self.lost:
            return
        if change is not None:
            self._changes.append(change)
        if row is not None:
            self._rows.append(row)
        for kind, data in events:
            self._new(kind, data)
        loop = asyncio.get_running_loop()
        due = loop.time() + within
        if self._timer is None or due < self._flush_at:
            if self._timer is not None:
                self._timer.cancel()
            self._flush_at = due
            self._timer = loop.call_at(due, self._flush_later)

    def withdraw(self, change: Change) -> bool:
        """Removes a buffered change that has not been written yet; False when it already was."""
        for index, buffered in enumerate(self._changes):
            if buffered is change:
                del self._changes[index]
                return True
        return False

    def _flush_later(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self._background_flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _background_flush(self) -> None:
        try:
            await self.flush()
        except LostClaim:
            pass  # already reported through on_lost
        except Exception:
            log.exception("writing events of executions/%s failed; will retry", self.execution_id)

    async def flush(self) -> None:
        await self.commit(())

    async def commit(
        self,
        events: Sequence[tuple[str, dict[str, Any]]],
        change: Change | None = None,
        row: dict[str, Any] | None = None,
    ) -> None:
        """Writes what is buffered, then `change`, `events` and `row` (values for the run's row, read
        after `change` ran), in one transaction; then publishes the events."""
        async with self._lock:
            if self.lost:
                raise LostClaim(self.execution_id)
            for kind, data in events:
                self._new(kind, data)
            changes = self._changes + ([change] if change is not None else [])
            rows = self._rows + ([row] if row is not None else [])
            if not self._buffer and not changes and not rows:
                return
            pending = self._buffer
            self._buffer = []
            self._changes = []
            self._rows = []
            try:
                await self._write(pending, changes, rows)
            except LostClaim:
                self.lost = True
                if self._on_lost is not None:
                    self._on_lost()
                raise
            except BaseException:
                # Kept, change included, for the next flush: their events have sequence numbers,
                # and the sequence must stay gapless.
                self._buffer = pending + self._buffer
                self._changes = changes + self._changes
                self._rows = rows + self._rows
                raise
        if pending:
            await publish(self._bus, self.execution_id, pending)

    async def _write(
        self, pending: list[RunEvent], changes: list[Change], rows: list[dict[str, Any]]
    ) -> None:
        last = pending[-1].sequence if pending else self._persisted
        async with self._db.transaction() as session:
            for change in changes:
                await change(session)
            if pending:
                await session.execute(insert(ExecutionEventRow), event_rows(pending))
            values: dict[str, Any] = {}
            for row in rows:
                values |= row
            # The guard: advances the sequence only from where this writer left it, under this
            # claim, and carries the run's own new values in the same statement.
            guard = update(ExecutionRow).where(
                ExecutionRow.id == self.execution_id, ExecutionRow.last_sequence == self._persisted
            )
            if self._fence is not None:
                guard = guard.where(ExecutionRow.attempts == self._fence)
            result = await session.execute(
                guard.values(last_sequence=last, **values).execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise LostClaim(self.execution_id)
        self._persisted = last

    async def close(self) -> None:
        """Writes what is still buffered; after this, the writer is done."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        if not self.lost:
            with contextlib.suppress(LostClaim):
                await self.flush()


class EventLog:
    """Reads persisted events, on the driver (infra/fastread) rather than through sessions: a
    stream reads at least twice, and a replay thousands of rows."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Events are read once per subscriber: no point caching decoded rows.
        self._events = RowBuilder(ExecutionEventRow, db.dialect, cache_rows=1)
        self._page_sql = self._events.select(
            "FROM execution_events WHERE execution_id = :execution AND sequence > :after "
            "ORDER BY sequence LIMIT :limit"
        )

    async def after(self, execution_id: str, after_sequence: int, limit: int = REPLAY_PAGE) -> list[RunEvent]:
        rows = await self._db.fast.fetch(
            self._page_sql, {"execution": execution_id, "after": after_sequence, "limit": limit}
        )
        built = [self._events.build(raw) for raw in rows]
        return [RunEvent(execution_id, e.sequence, e.created_at, e.kind, e.data) for e in built]

    async def replay(self, execution_id: str, after_sequence: int) -> tuple[RunHead | None, list[RunEvent]]:
        """The run's owner, latest sequence and state (None when there is no such run), and a page
        of its events after `after_sequence`.

        The run is read first, and each read sees everything committed before it: a run that had
        ended then has its final event in the page (unless the page is full or starts after it)."""
        found = await self._db.fast.fetch(
            "SELECT owner_id, last_sequence, state FROM executions WHERE id = :id",
            {"id": execution_id},
            inline=True,
        )
        events = await self.after(execution_id, after_sequence)
        if not found:
            return None, events
        owner_id, last_sequence, state = found[0]
        return RunHead(owner_id, int(last_sequence), state in FINAL_STATES), events

    async def between(self, execution_id: str, after_sequence: int, up_to: int) -> list[RunEvent]:
        found: list[RunEvent] = []
        while after_sequence < up_to:
            page = await self.after(execution_id, after_sequence, min(REPLAY_PAGE, up_to - after_sequence))
            if not page:
                break
            found += page
            after_sequence = page[-1].sequence
        return found


class EventFeed:
    """Follows the events of runs for subscribers (see the module docstring)."""

    def __init__(self, events: EventLog, bus: MessageBus, *, poll_seconds: float) -> None:
        self._events = events
        self._bus = bus
        self._poll = poll_seconds

    async def follow(
        self, execution_id: str, after_sequence: int, admit: Admission
    ) -> AsyncIterator[list[RunEvent]]:
        """The run's events after `after_sequence`, to its end. `admit` sees the run as first read
        and may refuse, before any event is produced."""
        subscription = await self._bus.subscribe(topic(execution_id))
        try:
            delivered = after_sequence
            head, page = await self._events.replay(execution_id, delivered)
            admit(head)
            while True:
                if page:
                    yield page
                    delivered = page[-1].sequence
                    if page[-1].is_final:
                        return
                if len(page) < REPLAY_PAGE:
                    if head is None or head.ended:
                        return  # asked to start after the final event of a finished run
                    break
                head, page = await self._events.replay(execution_id, delivered)
            while True:
                raw = await subscription.next(self._poll)
                if raw is None or subscription.lagged:
                    # Silence or dropped messages: the database has the truth.
                    subscription.lagged = False
                    subscription.drain()
                    head, batch = await self._events.replay(execution_id, delivered)
                    if not batch and (head is None or head.ended):
                        return
                else:
                    batch = await self._live(execution_id, [raw, *subscription.drain()], delivered)
                if not batch:
                    continue
                yield batch
                delivered = batch[-1].sequence
                if batch[-1].is_final:
                    return
        finally:
            subscription.close()

    async def _live(self, execution_id: str, messages: list[bytes], delivered: int) -> list[RunEvent]:
        batch: list[RunEvent] = []
        for raw in messages:
            for event in decode_batch(execution_id, raw):
                if event.sequence <= delivered:
                    continue  # already sent (replayed, or a duplicate)
                if event.sequence > delivered + 1:
                    # A gap: the bus lost something; it is in the database, being persisted first.
                    filled = await self._events.between(execution_id, delivered, event.sequence - 1)
                    batch += filled
                    if filled:
                        delivered = filled[-1].sequence
                    if delivered != event.sequence - 1:
                        # Not there (cannot happen while writers persist first): resync from the database.
                        return batch + await self._events.after(execution_id, delivered)
                batch.append(event)
                delivered = event.sequence
        return batch
