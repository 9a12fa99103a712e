"""Executing one claimed run: stages in dependency order, independent branches at the same time,
retries, timeouts, cancellation, costs, outputs, and the run's final state.

Claims. A worker claims a run with a conditional update: a queued run, or a running run whose
worker has not heartbeaten for a lease. Each claim increments `attempts`, the fencing token every
later write of the claim is conditioned on, so a worker that lost its claim (it stalled past the
lease and another took over) cannot write anything more for the run.

Resuming. A run taken over from a dead worker keeps the stages that finished (their outputs are in
the database) and runs the interrupted stages again from the start, saying so in a system log
event. Scripts run again in the same working directory, so what the earlier stages left there is
still there when the workers share the data directory. After `max_attempts` claims the run fails
with that reason instead.

Scheduling. A stage starts when every stage it needs has succeeded; stages whose needs are met
run concurrently. After the first stage that does not succeed nothing new starts, stages that are
running finish, and stages that can no longer run are skipped. Cancelling or passing the run's
deadline kills what is running. A stage that fails or times out is tried again up to `retries`
times; each attempt's cost counts.

The run's state: succeeded when every stage succeeded; cancelled when cancelled; timed_out when
the run's deadline passed or the first unsuccessful stage timed out; failed otherwise (including a
run stopped because its cost reached its hold).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.clock import Clock
from agentos_server.domain.daemon_spec import DaemonSpec, StageSpec, parse_daemon_yaml
from agentos_server.domain.errors import DomainError
from agentos_server.domain.execution.costs import CostModel
from agentos_server.domain.execution.events import (
    COST,
    LOG,
    STAGE_FINISHED,
    STAGE_OUTPUT,
    STAGE_STARTED,
    STATE_CHANGED,
    STATE_FLUSH_SECONDS,
    Change,
    EventWriter,
    LostClaim,
    RunEvent,
    event_rows,
    publish,
)
from agentos_server.domain.execution.model import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    AttemptResult,
    Cost,
    StageProgress,
)
from agentos_server.domain.execution.ports import RunBilling
from agentos_server.domain.execution.stages import AttemptContext, StageRunner
from agentos_server.domain.ids import new_id
from agentos_server.infra.bus import MessageBus
from agentos_server.infra.db import Database
from agentos_server.infra.tables.execution import (
    ExecutionArtifactRow,
    ExecutionEventRow,
    ExecutionRow,
    ExecutionStageRow,
)

log = logging.getLogger("agentos.runs")

# Extra time a script gets beyond its own wall clock before the engine stops waiting for it.
_SCRIPT_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class EngineConfig:
    data_dir: Path
    lease_seconds: float
    max_attempts: int
    inline_output_bytes: int


@dataclass
class Claim:
    execution_id: str
    # The fencing token: executions.attempts as this claim set it.
    attempts: int
    worker: str
    writer: EventWriter
    # Set when a write or heartbeat finds that another claim has replaced this one.
    lost: asyncio.Event
    # Stages that were running when the previous claim's worker stopped, and that worker.
    interrupted: tuple[str, ...]
    previous_worker: str
    # The run and its stages as the claim left them.
    row: ExecutionRow
    stages: list[ExecutionStageRow]


@dataclass
class _Run:
    """The state of one run while this worker executes it."""

    row: ExecutionRow
    spec: DaemonSpec
    claim: Claim
    run_dir: Path
    values: dict[str, Any]
    states: dict[str, str]
    attempts: dict[str, int]
    total: Cost
    positions: dict[str, int]
    progress: dict[str, StageProgress] = field(default_factory=dict)
    # Error of each stage that ended, for the run's own error message.
    errors: dict[str, str] = field(default_factory=dict)
    # Row changes of stage starts handed to the writer, by stage.
    unwritten_starts: dict[str, Change] = field(default_factory=dict)
    # Why running stages are being interrupted: (stage state, error), None while they are not.
    interruption: tuple[str, str] | None = None
    # True when the worker shuts down: interrupted stages are left for the next claim to redo.
    abandoning: bool = False


@lru_cache(maxsize=256)
def _parse(definition_yaml: str, version: str) -> DaemonSpec:
    return parse_daemon_yaml(definition_yaml, field_name="definition_yaml", version=version)


class RunEngine:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        bus: MessageBus,
        stages: StageRunner,
        billing: RunBilling,
        costs: CostModel,
        config: EngineConfig,
    ) -> None:
        self._db = db
        self._clock = clock
        self._bus = bus
        self._stages = stages
        self._billing = billing
        self._costs = costs
        self._config = config

    # --- claims ---------------------------------------------------------------------------------

    async def claim(self, execution_id: str, worker: str) -> Claim | None:
        """Takes the run for `worker`, or None when it needs no worker (finished, or alive elsewhere).

        One transaction: the conditional update that takes the claim (and returns the run), the
        run's stages when it was taken over, and the claim's events."""
        now = self._clock.now()
        stale = now - timedelta(seconds=self._config.lease_seconds)
        abandoned = and_(
            ExecutionRow.state == RUNNING,
            or_(ExecutionRow.heartbeat_at.is_(None), ExecutionRow.heartbeat_at < stale),
        )
        async with self._db.transaction() as session:
            # The common case, a queued run, in one statement that also numbers the claim's two events.
            row = (
                await session.scalars(
                    update(ExecutionRow)
                    .where(ExecutionRow.id == execution_id, ExecutionRow.state == QUEUED)
                    .values(
                        state=RUNNING,
                        started_at=now,
                        attempts=ExecutionRow.attempts + 1,
                        worker=worker,
                        heartbeat_at=now,
                        last_sequence=ExecutionRow.last_sequence + 2,
                    )
                    .returning(ExecutionRow)
                    .execution_options(synchronize_session=False)
                )
            ).first()
            if row is not None:
                session.expunge(row)
                previous_worker = ""
                running: list[str] = []
                # Exactly the rows StartRun wrote: nothing has touched them yet.
                stage_rows = [
                    ExecutionStageRow(
                        execution_id=execution_id,
                        position=position,
                        name=stage.name,
                        kind=stage.kind,
                        state="pending",
                        attempts=0,
                        output=None,
                        output_artifact="",
                    )
                    for position, stage in enumerate(_parse(row.definition_yaml, row.daemon_version).stages)
                ]
                texts = [
                    (STATE_CHANGED, {"state": RUNNING, "error": ""}),
                    (LOG, _system("", f"claimed by worker {worker}")),
                ]
                first = row.last_sequence - len(texts) + 1
            else:
                taken = await self._take_over(session, execution_id, worker, abandoned)
                if taken is None:
                    return None  # finished, claimed by another worker, or alive elsewhere
                row, stage_rows, running, texts, previous_worker = taken
                first = row.last_sequence + 1
                row.last_sequence += len(texts)
                row.worker = worker
                row.heartbeat_at = now
                await session.execute(
                    update(ExecutionRow)
                    .where(ExecutionRow.id == execution_id)
                    .values(worker=worker, heartbeat_at=now, last_sequence=row.last_sequence)
                    .execution_options(synchronize_session=False)
                )
            events = [
                RunEvent(execution_id, first + n, now, kind, data) for n, (kind, data) in enumerate(texts)
            ]
            await session.execute(insert(ExecutionEventRow), event_rows(events))
        await publish(self._bus, execution_id, events)
        lost = asyncio.Event()
        writer = EventWriter(
            self._db,
            self._bus,
            self._clock,
            execution_id,
            row.last_sequence,
            fence_attempts=row.attempts,
            on_lost=lost.set,
        )
        return Claim(
            execution_id,
            row.attempts,
            worker,
            writer,
            lost,
            tuple(running),
            previous_worker,
            row,
            stage_rows,
        )

    async def _take_over(
        self, session: AsyncSession, execution_id: str, worker: str, abandoned: Any
    ) -> (
        tuple[ExecutionRow, list[ExecutionStageRow], list[str], list[tuple[str, dict[str, Any]]], str] | None
    ):
        """Claims a running run whose worker stopped heartbeating; None when it is not one."""
        row = (
            await session.scalars(
                update(ExecutionRow)
                .where(ExecutionRow.id == execution_id, abandoned)
                .values(attempts=ExecutionRow.attempts + 1)
                .returning(ExecutionRow)
                .execution_options(synchronize_session=False)
            )
        ).first()
        if row is None:
            return None
        stage_rows = list(
            await session.scalars(
                select(ExecutionStageRow)
                .where(ExecutionStageRow.execution_id == execution_id)
                .order_by(ExecutionStageRow.position)
            )
        )
        # These are this claim's own copies from here on; the ORM must not flush them back.
        session.expunge_all()
        running = [r.name for r in stage_rows if r.state == RUNNING]
        if running:
            await session.execute(
                update(ExecutionStageRow)
                .where(ExecutionStageRow.execution_id == execution_id, ExecutionStageRow.state == RUNNING)
                .values(state="pending")
                .execution_options(synchronize_session=False)
            )
            for stage_row in stage_rows:
                if stage_row.state == RUNNING:
                    stage_row.state = "pending"
        silent = f"since {row.heartbeat_at.isoformat()}" if row.heartbeat_at else "ever"
        redo = f"; stage {', '.join(repr(n) for n in running)} runs again from the start" if running else ""
        text = (
            f"worker {row.worker} has not heartbeaten {silent}: worker {worker} takes the run over "
            f"(claim {row.attempts} of {self._config.max_attempts}); finished stages are kept{redo}"
        )
        return row, stage_rows, running, [(LOG, _system("", text))], row.worker

    async def heartbeat(self, claim: Claim) -> bool | None:
        """Extends the claim. Returns whether cancellation was requested, or None when the claim is lost."""
        async with self._db.transaction() as session:
            found = (
                await session.execute(
                    update(ExecutionRow)
                    .where(
                        ExecutionRow.id == claim.execution_id,
                        ExecutionRow.attempts == claim.attempts,
                        ExecutionRow.state == RUNNING,
                    )
                    .values(heartbeat_at=self._clock.now())
                    .returning(ExecutionRow.cancel_requested)
                    .execution_options(synchronize_session=False)
                )
            ).first()
        if found is None:
            claim.lost.set()
            return None
        return bool(found[0])

    async def forgotten_runs(self, limit: int = 100) -> list[str]:
        """Runs that may have no worker: queued for longer than a lease (their queue entry may be
        lost) or running without a heartbeat for longer than a lease (their worker died)."""
        now = self._clock.now()
        stale = now - timedelta(seconds=self._config.lease_seconds)
        condition = and_(
            ExecutionRow.enqueued_at < stale,
            or_(
                ExecutionRow.state == QUEUED,
                and_(ExecutionRow.state == RUNNING, ExecutionRow.heartbeat_at < stale),
            ),
        )
        async with self._db.transaction() as session:
            ids = list(await session.scalars(select(ExecutionRow.id).where(condition).limit(limit)))
            if ids:
                await session.execute(
                    update(ExecutionRow)
                    .where(ExecutionRow.id.in_(ids), condition)
                    .values(enqueued_at=now)
                    .execution_options(synchronize_session=False)
                )
        return ids

    # --- execution ------------------------------------------------------------------------------

    async def execute(self, claim: Claim, cancel: asyncio.Event) -> None:
        """Runs the claimed run to its end (or until the claim is lost or the task is cancelled,
        which abandons the run to the next claim)."""
        try:
            run = await self._load(claim)
            if claim.attempts > self._config.max_attempts:
                await self._give_up(run)
                return
            await self._schedule(run, cancel)
        except LostClaim:
            log.warning("worker %s lost its claim on executions/%s", claim.worker, claim.execution_id)
        finally:
            await claim.writer.close()

    async def _load(self, claim: Claim) -> _Run:
        row, stage_rows = claim.row, claim.stages
        spec = _parse(row.definition_yaml, row.daemon_version)
        values: dict[str, Any] = dict(row.inputs)
        for stage_row in stage_rows:
            produced = spec.stage(stage_row.name).output
            if stage_row.state == SUCCEEDED and produced:
                values[produced] = await self._stored_output(stage_row)
        run_dir = self._config.data_dir / "runs" / row.id
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        return _Run(
            row=row,
            spec=spec,
            claim=claim,
            run_dir=run_dir.resolve(),
            values=values,
            states={r.name: r.state for r in stage_rows},
            attempts={r.name: r.attempts for r in stage_rows},
            total=Cost(row.input_tokens, row.output_tokens, row.credits, row.usd_micros),
            positions={r.name: r.position for r in stage_rows},
        )

    async def _stored_output(self, stage_row: ExecutionStageRow) -> Any:
        if stage_row.output is not None:
            return stage_row.output.get("value")
        if not stage_row.output_artifact:
            return None
        async with self._db.snapshot() as session:
            artifact = await session.get(ExecutionArtifactRow, stage_row.output_artifact)
        if artifact is None:
            return None
        text = artifact.content.decode()
        return json.loads(text) if artifact.content_type.startswith("application/json") else text

    async def _schedule(self, run: _Run, cancel: asyncio.Event) -> None:
        # Fixed by the first claim's start, so that a takeover does not extend it.
        deadline = (run.row.started_at or self._clock.now()) + timedelta(seconds=run.spec.timeout_seconds)
        order = run.spec.execution_order()
        tasks: dict[asyncio.Task[str], str] = {}
        first_problem: tuple[str, str] | None = None
        stop: tuple[str, str] | None = None  # (run state, error) of a run stopped as a whole
        watchers = [asyncio.create_task(cancel.wait()), asyncio.create_task(run.claim.lost.wait())]
        try:
            while True:
                if stop is None and first_problem is None:
                    for stage in order:
                        if run.states[stage.name] != "pending":
                            continue
                        if all(run.states[n] == SUCCEEDED for n in stage.depends_on):
                            run.states[stage.name] = RUNNING
                            tasks[asyncio.create_task(self._run_stage(run, stage, deadline))] = stage.name
                if not tasks:
                    break
                if stop is None:
                    remaining = (deadline - self._clock.now()).total_seconds()
                    done, _ = await asyncio.wait(
                        [*tasks, *watchers], timeout=max(remaining, 0), return_when=asyncio.FIRST_COMPLETED
                    )
                else:
                    # Stopping: only the interrupted stages are left to record how they ended.
                    remaining = 1.0
                    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                if run.claim.lost.is_set():
                    raise LostClaim(run.row.id)
                for task in [t for t in tasks if t in done]:
                    name = tasks.pop(task)
                    if task.cancelled():
                        continue
                    run.states[name] = task.result()
                    if run.states[name] != SUCCEEDED and first_problem is None and stop is None:
                        first_problem = (name, run.states[name])
                if stop is None:
                    if cancel.is_set():
                        stop = (CANCELLED, "cancelled on request")
                        run.interruption = (CANCELLED, "cancelled on request")
                    elif not done and remaining <= 0.05:
                        stop = (TIMED_OUT, f"the run exceeded its timeout of {run.spec.timeout_seconds} s")
                        run.interruption = (TIMED_OUT, stop[1])
                    elif run.total.credits > run.row.max_credits > 0:
                        stop = (
                            FAILED,
                            f"the run's cost ({run.total.credits} credits) passed its limit of "
                            f"{run.row.max_credits} credits",
                        )
                        run.interruption = (FAILED, "stopped: " + stop[1])
                    if stop is not None:
                        for task in tasks:
                            task.cancel()
        except BaseException:
            # Lost claim, or this worker is shutting down: leave the run to the next claim.
            run.abandoning = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            for watcher in watchers:
                watcher.cancel()

        if stop is not None:
            state, error = stop
        elif first_problem is not None:
            name, stage_state = first_problem
            state = TIMED_OUT if stage_state == TIMED_OUT else FAILED
            error = f"stage {name!r} {_verb(stage_state)}: {run.errors.get(name, '')}"
        else:
            state, error = SUCCEEDED, ""
        await self._finish(run, state, error)

    async def _run_stage(self, run: _Run, stage: StageSpec, deadline: datetime) -> str:
        progress = run.progress.setdefault(stage.name, StageProgress())
        started = self._clock.now()
        tries = 1 + stage.retries
        result = AttemptResult("failed", error="not run")
        try:
            for index in range(tries):
                number = run.attempts.get(stage.name, 0) + 1
                run.attempts[stage.name] = number
                progress.attempt = number
                self._stage_started(run, stage, number, started)
                remaining = (deadline - self._clock.now()).total_seconds()
                timeout = max(0.0, min(float(stage.timeout_seconds), remaining))
                context = AttemptContext(
                    execution_id=run.row.id,
                    stage=stage,
                    values=run.values,
                    run_dir=run.run_dir,
                    progress=progress,
                    emit=run.claim.writer.emit,
                    timeout_seconds=timeout,
                    final_attempt=index == tries - 1,
                    owner_id=run.row.owner_id,
                )
                grace = _SCRIPT_GRACE_SECONDS if stage.kind in ("script", "hybrid") else 0.0
                try:
                    async with asyncio.timeout(timeout + grace):
                        result = await self._stages.attempt(context)
                except TimeoutError:
                    result = AttemptResult("timed_out", error=f"the stage took longer than {timeout:g} s")
                if result.state == SUCCEEDED or not result.retryable or index == tries - 1:
                    break
                run.claim.writer.emit(
                    LOG,
                    _system(
                        stage.name, f"attempt {number} {_verb(result.state)}: {result.error}; trying again"
                    ),
                )
        except asyncio.CancelledError:
            if run.abandoning or run.interruption is None:
                raise
            state, error = run.interruption
            self._stage_finished(run, stage, progress, started, AttemptResult(state, error=error))  # type: ignore[arg-type]
            run.errors[stage.name] = error
            raise
        self._stage_finished(run, stage, progress, started, result)
        run.errors[stage.name] = result.error
        return result.state

    def _stage_started(self, run: _Run, stage: StageSpec, attempt: int, started: datetime) -> None:
        position = run.positions[stage.name]

        async def mark(session: AsyncSession) -> None:
            await session.execute(
                update(ExecutionStageRow)
                .where(ExecutionStageRow.execution_id == run.row.id, ExecutionStageRow.position == position)
                .values(
                    state=RUNNING,
                    attempts=attempt,
                    started_at=func.coalesce(ExecutionStageRow.started_at, started),
                )
                .execution_options(synchronize_session=False)
            )

        run.claim.writer.emit(
            STAGE_STARTED,
            {"stage": stage.name, "kind": stage.kind, "attempt": attempt},
            mark,
            within=STATE_FLUSH_SECONDS,
        )
        run.unwritten_starts[stage.name] = mark

    def _stage_finished(
        self, run: _Run, stage: StageSpec, progress: StageProgress, started: datetime, result: AttemptResult
    ) -> None:
        ended = self._clock.now()
        duration_ms = int((ended - started).total_seconds() * 1000)
        cost = progress.cost
        run.total = run.total + cost
        position = run.positions[stage.name]
        output_event: dict[str, Any] | None = None
        inline: dict[str, Any] | None = None
        artifact: ExecutionArtifactRow | None = None
        if result.has_output:
            inline, artifact = self._store_output(run.row.id, stage.name, result.output, ended)
            output_event = {"stage": stage.name}
            if artifact is not None:
                output_event["artifact"] = f"executions/{run.row.id}/artifacts/{artifact.id}"
            else:
                output_event["output"] = result.output
            if result.state == SUCCEEDED and stage.output:
                run.values[stage.output] = result.output

        async def record(session: AsyncSession) -> None:
            if artifact is not None:
                session.add(artifact)
            await session.execute(
                update(ExecutionStageRow)
                .where(ExecutionStageRow.execution_id == run.row.id, ExecutionStageRow.position == position)
                .values(
                    state=result.state,
                    ended_at=ended,
                    duration_ms=duration_ms,
                    input_tokens=ExecutionStageRow.input_tokens + cost.input_tokens,
                    output_tokens=ExecutionStageRow.output_tokens + cost.output_tokens,
                    credits=ExecutionStageRow.credits + cost.credits,
                    usd_micros=ExecutionStageRow.usd_micros + cost.usd_micros,
                    output=inline,
                    output_artifact=artifact.id if artifact is not None else "",
                    error=result.error,
                    model=progress.model,
                    exit_code=progress.exit_code,
                    # What the start would have written, in case it was never written on its own.
                    attempts=progress.attempt,
                    started_at=func.coalesce(ExecutionStageRow.started_at, started),
                )
                .execution_options(synchronize_session=False)
            )

        # A start still waiting to be written is superseded by this end: one statement fewer.
        start = run.unwritten_starts.pop(stage.name, None)
        if start is not None:
            run.claim.writer.withdraw(start)

        events: list[tuple[str, dict[str, Any]]] = []
        if output_event is not None:
            events.append((STAGE_OUTPUT, output_event))
        events.append((COST, {"stage": stage.name, "cost": cost.as_data(), "total": run.total.as_data()}))
        events.append(
            (
                STAGE_FINISHED,
                {
                    "stage": stage.name,
                    "state": result.state,
                    "duration_ms": duration_ms,
                    "error": result.error,
                },
            )
        )
        # Buffered, not awaited: written with the next transaction of the run (the run's end, when
        # this was its last stage) or within STATE_FLUSH_SECONDS, and safe inside a cancelled task.
        run.claim.writer.emit_many(events, record, within=STATE_FLUSH_SECONDS, row=_totals(run.total))

    def _store_output(
        self, execution_id: str, stage: str, output: Any, now: datetime
    ) -> tuple[dict[str, Any] | None, ExecutionArtifactRow | None]:
        encoded = json.dumps(output, ensure_ascii=False)
        if len(encoded.encode()) <= self._config.inline_output_bytes:
            return {"value": output}, None
        if isinstance(output, str):
            content, content_type = output.encode(), "text/plain; charset=utf-8"
        else:
            content, content_type = encoded.encode(), "application/json"
        artifact = ExecutionArtifactRow(
            id=new_id(),
            execution_id=execution_id,
            stage=stage,
            content_type=content_type,
            content=content,
            size=len(content),
            created_at=now,
        )
        return None, artifact

    # --- the end of a run -----------------------------------------------------------------------

    async def _give_up(self, run: _Run) -> None:
        error = (
            f"the workers running this run stopped {run.claim.attempts - 1} times (the last was "
            f"{run.claim.previous_worker or 'unknown'}); it has used its {self._config.max_attempts} attempts"
        )
        ended = self._clock.now()
        for name in run.claim.interrupted:
            position = run.positions[name]
            stage_error = "its worker stopped while it ran, and the run is not tried again"

            async def mark(
                session: AsyncSession, position: int = position, stage_error: str = stage_error
            ) -> None:
                await session.execute(
                    update(ExecutionStageRow)
                    .where(
                        ExecutionStageRow.execution_id == run.row.id, ExecutionStageRow.position == position
                    )
                    .values(state=FAILED, ended_at=ended, error=stage_error)
                    .execution_options(synchronize_session=False)
                )

            event = {"stage": name, "state": FAILED, "duration_ms": 0, "error": stage_error}
            await run.claim.writer.commit([(STAGE_FINISHED, event)], mark)
            run.states[name] = FAILED
        await self._finish(run, FAILED, error)

    async def _finish(self, run: _Run, state: str, error: str) -> None:
        now = self._clock.now()
        charged = self._costs.run_credits(run.total.credits)
        if run.row.max_credits > 0:
            charged = min(charged, run.row.max_credits)
        events: list[tuple[str, dict[str, Any]]] = []
        if charged != run.total.credits:
            adjustment = Cost(credits=charged - run.total.credits)
            run.total = run.total + adjustment
            events.append((COST, {"stage": "", "cost": adjustment.as_data(), "total": run.total.as_data()}))
        final = {"state": state, "error": error}
        events.append((STATE_CHANGED, final))
        left_over = [name for name, s in run.states.items() if s in ("pending", RUNNING)]

        async def settle(session: AsyncSession) -> None:
            # The capture commits with the final state: a run is charged exactly when it ends.
            if run.row.hold:
                try:
                    async with session.begin_nested():
                        await self._billing.capture(
                            run.row.hold, charged, reference=f"executions/{run.row.id}", session=session
                        )
                except DomainError as problem:
                    # The hold can no longer be captured (it expired while the run waited or ran):
                    # the run still ends, uncharged, and its final event says so (the event rows
                    # are written after this function, so the change shows in them).
                    log.error("capturing %s of executions/%s failed: %s", run.row.hold, run.row.id, problem)
                    note = f"its cost could not be charged: {problem.message}"
                    final["error"] = f"{error}; {note}" if error else note
            if left_over:
                await session.execute(
                    update(ExecutionStageRow)
                    .where(
                        ExecutionStageRow.execution_id == run.row.id,
                        ExecutionStageRow.name.in_(left_over),
                        ExecutionStageRow.state.in_(("pending", RUNNING)),
                    )
                    .values(state="skipped")
                    .execution_options(synchronize_session=False)
                )
            row["error"] = final["error"]

        # The run's own values ride on the writer's guarded update, which reads them after settle.
        row: dict[str, Any] = {"state": state, "error": error, "ended_at": now, **_totals(run.total)}
        await run.claim.writer.commit(events, settle, row)
        await asyncio.to_thread(shutil.rmtree, run.run_dir, True)


def _totals(total: Cost) -> dict[str, int]:
    return {
        "input_tokens": total.input_tokens,
        "output_tokens": total.output_tokens,
        "credits": total.credits,
        "usd_micros": total.usd_micros,
    }


def _system(stage: str, text: str) -> dict[str, Any]:
    return {"stage": stage, "stream": "system", "text": text}


def _verb(state: str) -> str:
    return {"timed_out": "timed out", "cancelled": "was cancelled"}.get(state, "failed")
