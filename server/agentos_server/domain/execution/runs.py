"""Runs as agents see them: start one, read it, list one's own, cancel it, read its large outputs,
follow its events.

A run belongs to the agent that started it (and pays for it). Another agent's run answers
NOT_FOUND, whatever is asked of it, so that run ids reveal nothing; operators may read and cancel
every run.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.daemon_spec import DaemonSpec, StageSpec, bind_inputs
from agentos_server.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from agentos_server.domain.execution.costs import CostModel, ModelPrice
from agentos_server.domain.execution.events import (
    STATE_CHANGED,
    EventFeed,
    RunEvent,
    RunHead,
    encode_batch,
    topic,
)
from agentos_server.domain.execution.model import CANCELLED, FINAL_STATES, QUEUED, RUN_STATES, RUNNING
from agentos_server.domain.execution.ports import DaemonSource, RunBilling, RunLicences
from agentos_server.domain.execution.workers import CONTROL_TOPIC, cancel_message
from agentos_server.domain.ids import new_id, parse_name
from agentos_server.domain.pagination import PageTokens, fingerprint, newest_first, page_of, page_size
from agentos_server.infra.bus import MessageBus
from agentos_server.infra.db import Database
from agentos_server.infra.providers import ChatMessage, CompletionRequest, ModelRouter, ProviderError
from agentos_server.infra.run_queue import RunQueue
from agentos_server.infra.tables.execution import (
    ExecutionArtifactRow,
    ExecutionEventRow,
    ExecutionRow,
    ExecutionStageRow,
)
from agentos_server.infra.tables.listings import DaemonRow

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
# How long CancelExecution waits for a running run's worker to stop it before answering.
CANCEL_WAIT_SECONDS = 10.0
# Beyond the run's own timeout, how long its hold may wait in the queue before it expires.
HOLD_QUEUE_ALLOWANCE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class RunView:
    execution: ExecutionRow
    stages: list[ExecutionStageRow]


@dataclass(frozen=True)
class Artifact:
    name: str
    content_type: str
    content: bytes


class RunService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        page_tokens: PageTokens,
        *,
        daemons: DaemonSource,
        licences: RunLicences,
        billing: RunBilling,
        queue: RunQueue,
        bus: MessageBus,
        feed: EventFeed,
        router: ModelRouter,
        costs: CostModel,
    ) -> None:
        self._db = db
        self._clock = clock
        self._tokens = page_tokens
        self._daemons = daemons
        self._licences = licences
        self._billing = billing
        self._queue = queue
        self._bus = bus
        self._feed = feed
        self._router = router
        self._costs = costs

    # --- StartRun -------------------------------------------------------------------------------

    async def start(
        self, caller: Caller, daemon: str, version: str, inputs: Mapping[str, Any], idempotency_key: str
    ) -> RunView:
        if idempotency_key and not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise InvalidArgument(
                "must be 1 to 128 printable ASCII characters without spaces",
                field="idempotency_key",
                reason="INVALID_IDEMPOTENCY_KEY",
            )
        request = fingerprint(daemon, version, dict(inputs))
        if idempotency_key:
            earlier = await self._by_idempotency_key(caller, idempotency_key, request)
            if earlier is not None:
                return earlier

        target = await self._daemons.resolve(caller, daemon, version)
        await self._licences.check(caller, target)
        bound = bind_inputs(target.spec, inputs, "inputs")
        _require_runnable_graph(target.spec, target.daemon_id)
        max_credits = self._costs.max_run_credits(target.spec, self._prices)

        execution_id = new_id()
        reference = f"executions/{execution_id}"
        now = self._clock.now()
        row = ExecutionRow(
            id=execution_id,
            owner_id=caller.agent_id,
            daemon_id=target.daemon_id,
            daemon_version=target.version,
            definition_yaml=target.definition_yaml,
            inputs=bound,
            state=QUEUED,
            error="",
            hold="",
            max_credits=max_credits,
            input_tokens=0,
            output_tokens=0,
            credits=0,
            usd_micros=0,
            last_sequence=1,
            worker="",
            attempts=0,
            cancel_requested=False,
            idempotency_key=idempotency_key or None,
            request_fingerprint=request,
            created_at=now,
            enqueued_at=now,
        )
        stages = [
            ExecutionStageRow(
                execution_id=execution_id,
                position=position,
                name=stage.name,
                kind=stage.kind,
                state="pending",
                duration_ms=0,
                input_tokens=0,
                output_tokens=0,
                credits=0,
                usd_micros=0,
                output_artifact="",
                error="",
                attempts=0,
                model="",
            )
            for position, stage in enumerate(target.spec.stages)
        ]
        try:
            async with self._db.transaction() as session:
                # The hold and the run commit together: a run that cannot be paid for never exists.
                row.hold = await self._billing.hold(
                    caller.agent_id,
                    max_credits,
                    reference=reference,
                    ttl_seconds=target.spec.timeout_seconds + HOLD_QUEUE_ALLOWANCE_SECONDS,
                    budget_scopes=[f"daemons/{target.daemon_id}"],
                    session=session,
                )
                # Core inserts rather than the ORM's unit of work: this is the hot path of every run.
                await session.execute(insert(ExecutionRow), [_columns(row)])
                await session.execute(insert(ExecutionStageRow), [_columns(s) for s in stages])
                await session.execute(
                    insert(ExecutionEventRow),
                    [
                        {
                            "execution_id": execution_id,
                            "sequence": 1,
                            "created_at": now,
                            "kind": STATE_CHANGED,
                            "data": {"state": QUEUED, "error": ""},
                        }
                    ],
                )
                # Last, so that a popular daemon's row is locked only from here to the commit.
                await session.execute(
                    update(DaemonRow)
                    .where(DaemonRow.id == target.daemon_id)
                    .values(run_count=DaemonRow.run_count + 1)
                )
        except IntegrityError:
            if idempotency_key:
                # A concurrent StartRun with the same key won the race; answer as it did.
                earlier = await self._by_idempotency_key(caller, idempotency_key, request)
                if earlier is not None:
                    return earlier
            raise
        # Enqueued after the commit, so a worker never sees a run it cannot read yet. Should this
        # process die in between, the workers' sweeper finds the queued run and enqueues it.
        await self._queue.enqueue(execution_id)
        return RunView(row, stages)

    async def _by_idempotency_key(self, caller: Caller, key: str, request: str) -> RunView | None:
        async with self._db.snapshot() as session:
            row = await session.scalar(
                select(ExecutionRow).where(
                    ExecutionRow.owner_id == caller.agent_id, ExecutionRow.idempotency_key == key
                )
            )
        if row is None:
            return None
        if row.request_fingerprint != request:
            # As the payment RPCs answer a reused key (domain/payments.py).
            raise AlreadyExists(
                f"was already used for executions/{row.id}, with a different daemon, version or inputs",
                field="idempotency_key",
                reason="IDEMPOTENCY_KEY_REUSED",
            )
        return await self._view(row.id)

    def _prices(self, stage: StageSpec) -> list[ModelPrice]:
        if stage.kind not in ("agent", "hybrid"):
            return []
        request = CompletionRequest(
            [ChatMessage("user", "")],
            model=stage.model,
            capability=stage.capability,
            strategy=stage.routing,
            json_output=stage.output_format == "json",
        )
        try:
            candidates = self._router.candidates(request)
        except ProviderError:
            return []  # the stage will fail when it runs; it costs nothing
        return [ModelPrice(m.input_price_per_mtok, m.output_price_per_mtok) for m in candidates]

    # --- reads ----------------------------------------------------------------------------------

    async def get(self, caller: Caller, name: str, field: str = "name") -> RunView:
        execution_id = parse_name(name, "executions", field)
        view = await self._view(execution_id)
        if view is None or not _may_see(caller, view.execution):
            raise _not_found(execution_id, field)
        return view

    async def _view(self, execution_id: str) -> RunView | None:
        async with self._db.snapshot() as session:
            row = await session.get(ExecutionRow, execution_id)
            if row is None:
                return None
            stages = list(
                await session.scalars(
                    select(ExecutionStageRow)
                    .where(ExecutionStageRow.execution_id == execution_id)
                    .order_by(ExecutionStageRow.position)
                )
            )
        return RunView(row, stages)

    async def list_runs(
        self, caller: Caller, *, daemon: str, state: str | None, size: int, token: str
    ) -> tuple[list[RunView], str]:
        limit = page_size(size)
        daemon_id = parse_name(daemon, "daemons", "daemon") if daemon else ""
        if state is not None and state not in RUN_STATES:
            raise InvalidArgument(f"unknown state {state!r}", field="state", reason="INVALID_STATE")
        binding = fingerprint(caller.agent_id, daemon_id, state)
        cursor = self._tokens.decode("executions", token, binding)
        query = select(ExecutionRow).where(ExecutionRow.owner_id == caller.agent_id)
        if daemon_id:
            query = query.where(ExecutionRow.daemon_id == daemon_id)
        if state is not None:
            query = query.where(ExecutionRow.state == state)
        query = newest_first(query, ExecutionRow, cursor, limit)
        async with self._db.snapshot() as session:
            rows = list((await session.scalars(query)).all())
            ids = [r.id for r in rows[:limit]]
            stage_rows = (
                list(
                    await session.scalars(
                        select(ExecutionStageRow)
                        .where(ExecutionStageRow.execution_id.in_(ids))
                        .order_by(ExecutionStageRow.execution_id, ExecutionStageRow.position)
                    )
                )
                if ids
                else []
            )
        rows, next_token = page_of(rows, limit, self._tokens, "executions", binding)
        by_run: dict[str, list[ExecutionStageRow]] = {r.id: [] for r in rows}
        for stage_row in stage_rows:
            by_run[stage_row.execution_id].append(stage_row)
        return [RunView(r, by_run[r.id]) for r in rows], next_token

    async def artifact(self, caller: Caller, name: str) -> Artifact:
        head, sep, artifact_id = name.partition("/artifacts/")
        if not sep or not artifact_id:
            raise InvalidArgument(
                "must be executions/{execution_id}/artifacts/{artifact_id}",
                field="name",
                reason="INVALID_NAME",
            )
        view = await self.get(caller, head)
        async with self._db.snapshot() as session:
            row = await session.get(ExecutionArtifactRow, artifact_id)
        if row is None or row.execution_id != view.execution.id:
            raise NotFound(f"{name} does not exist", reason="ARTIFACT_NOT_FOUND", metadata={"field": "name"})
        return Artifact(name, row.content_type, row.content)

    # --- CancelExecution ------------------------------------------------------------------------

    async def cancel(self, caller: Caller, name: str) -> RunView:
        view = await self.get(caller, name)
        execution_id = view.execution.id
        if view.execution.state in FINAL_STATES:
            raise _already_finished(view.execution)
        if view.execution.state == QUEUED and await self._cancel_queued(execution_id):
            return await self._require_view(execution_id)
        # Running (or claimed just now): its worker stops it and writes the events.
        async with self._db.transaction() as session:
            await session.execute(
                update(ExecutionRow)
                .where(ExecutionRow.id == execution_id, ExecutionRow.state == RUNNING)
                .values(cancel_requested=True)
                .execution_options(synchronize_session=False)
            )
        await self._bus.publish(CONTROL_TOPIC, cancel_message(execution_id))
        loop = asyncio.get_running_loop()
        give_up = loop.time() + CANCEL_WAIT_SECONDS
        while loop.time() < give_up:
            current = await self._require_view(execution_id)
            if current.execution.state in FINAL_STATES:
                return current
            await asyncio.sleep(0.05)
        return await self._require_view(execution_id)

    async def _cancel_queued(self, execution_id: str) -> bool:
        """Cancels a run no worker has claimed; False when a worker claimed it first."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            row = await session.scalar(
                select(ExecutionRow).where(ExecutionRow.id == execution_id).with_for_update()
            )
            if row is None or row.state != QUEUED:
                return False
            sequence = row.last_sequence + 1
            row.state = CANCELLED
            row.error = "cancelled on request before it started"
            row.ended_at = now
            row.last_sequence = sequence
            await session.execute(
                update(ExecutionStageRow)
                .where(ExecutionStageRow.execution_id == execution_id)
                .values(state="skipped")
                .execution_options(synchronize_session=False)
            )
            event = ExecutionEventRow(
                execution_id=execution_id,
                sequence=sequence,
                created_at=now,
                kind=STATE_CHANGED,
                data={"state": CANCELLED, "error": row.error},
            )
            session.add(event)
            if row.hold:
                await self._billing.release(row.hold, reference=f"executions/{execution_id}", session=session)
        await self._bus.publish(
            topic(execution_id),
            encode_batch([RunEvent(execution_id, sequence, now, STATE_CHANGED, event.data)]),
        )
        return True

    async def _require_view(self, execution_id: str) -> RunView:
        view = await self._view(execution_id)
        assert view is not None
        return view

    # --- StreamExecutionEvents ------------------------------------------------------------------

    async def events(self, caller: Caller, name: str, after_sequence: int) -> AsyncIterator[list[RunEvent]]:
        """The run's events after `after_sequence`, replayed and then live until the run ends. A
        refusal is raised on the first iteration, before any event."""
        execution_id = parse_name(name, "executions", "execution")

        def admit(head: RunHead | None) -> None:
            if head is None or not (head.owner_id == caller.agent_id or caller.is_operator):
                raise _not_found(execution_id, "execution")
            if after_sequence < 0 or after_sequence > head.last_sequence:
                raise InvalidArgument(
                    f"must be between 0 and the run's latest sequence number, {head.last_sequence}; "
                    f"got {after_sequence}",
                    field="after_sequence",
                    reason="SEQUENCE_OUT_OF_RANGE",
                    metadata={"last_sequence": str(head.last_sequence)},
                )

        async for batch in self._feed.follow(execution_id, after_sequence, admit):
            yield batch


def _columns(row: ExecutionRow | ExecutionStageRow) -> dict[str, Any]:
    """The column values of a row built in memory (every non-nullable one is set explicitly)."""
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def _may_see(caller: Caller, row: ExecutionRow) -> bool:
    return row.owner_id == caller.agent_id or caller.is_operator


def _not_found(execution_id: str, field: str) -> NotFound:
    return NotFound(
        f"executions/{execution_id} does not exist", reason="EXECUTION_NOT_FOUND", metadata={"field": field}
    )


def _already_finished(row: ExecutionRow) -> FailedPrecondition:
    return FailedPrecondition(
        f"executions/{row.id} has already finished ({row.state}); "
        "only queued or running runs can be cancelled",
        reason="EXECUTION_FINISHED",
        metadata={"field": "name", "state": row.state},
    )


def _require_runnable_graph(spec: DaemonSpec, daemon_id: str) -> None:
    """The registry refuses cyclic definitions on write; this makes sure no stored definition that
    slipped past (an older validator, a hand-edited row) can start a run that would never end."""
    done: set[str] = set()
    pending = list(spec.stages)
    while pending:
        ready = [s for s in pending if set(s.depends_on) <= done]
        if not ready:
            names = ", ".join(repr(s.name) for s in pending)
            raise FailedPrecondition(
                f"daemons/{daemon_id} cannot run: the needs of stages {names} form a cycle",
                reason="DAEMON_DEFINITION_INVALID",
                metadata={"field": "daemon"},
            )
        for stage in ready:
            pending.remove(stage)
            done.add(stage.name)
