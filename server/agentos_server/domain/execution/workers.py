"""A pool of run slots in one process: takes runs from the queue, claims them, executes them,
heartbeats while they run, and reacts to cancellation requests.

Acknowledging. A queue entry is acknowledged when its run needs no more work from this worker (it
ended, or it needs no worker). It is deliberately left unacknowledged when the claim was lost or
the worker shuts down in the middle of a run: the entry then stays pending on this consumer, and
once it has been silent for a lease another worker takes it over (XAUTOCLAIM) and resumes the run.

Sweeping. Every worker process also looks for runs that may have been forgotten (queued for longer
than a lease, or running without heartbeats) and enqueues them again. A duplicate entry costs one
failed claim, so the queue may lose an entry but never a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket

from agentos_server.domain.execution.engine import Claim, RunEngine
from agentos_server.infra.bus import MessageBus, Subscription
from agentos_server.infra.run_queue import QueueItem, RunQueue

log = logging.getLogger("agentos.workers")

CONTROL_TOPIC = "control"
# How long stopping waits for cancelled slots to unwind before giving up on them.
STOP_TIMEOUT_SECONDS = 10.0


def cancel_message(execution_id: str) -> bytes:
    return f"cancel:{execution_id}".encode()


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


class WorkerPool:
    def __init__(
        self,
        engine: RunEngine,
        queue: RunQueue,
        bus: MessageBus,
        *,
        worker_id: str,
        concurrency: int,
        lease_seconds: float,
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._bus = bus
        self.worker_id = worker_id
        self._concurrency = concurrency
        self._lease = lease_seconds
        self._active: dict[str, asyncio.Event] = {}
        self._slots: list[asyncio.Task[None]] = []
        self._busy: set[asyncio.Task[None]] = set()
        self._background: list[asyncio.Task[None]] = []
        self._control: Subscription | None = None
        self._stopping = False

    @property
    def active_runs(self) -> int:
        return len(self._active)

    async def start(self) -> None:
        self._control = await self._bus.subscribe(CONTROL_TOPIC)
        self._background = [
            asyncio.create_task(self._listen(self._control), name="agentos-worker-control"),
            asyncio.create_task(self._sweep(), name="agentos-worker-sweeper"),
        ]
        self._slots = [
            asyncio.create_task(self._slot(), name=f"agentos-worker-slot-{n}")
            for n in range(self._concurrency)
        ]
        log.info("worker started", extra={"worker": self.worker_id, "concurrency": self._concurrency})

    async def stop(self, grace_seconds: float) -> None:
        """Stops taking runs, lets the running ones finish within the grace period, then abandons the
        rest to other workers (their claims expire after the lease)."""
        self._stopping = True
        for slot in self._slots:
            if slot not in self._busy:
                slot.cancel()
        if self._busy:
            await asyncio.wait(self._busy, timeout=grace_seconds)
        for task in [*self._slots, *self._background]:
            task.cancel()
        tasks = [*self._slots, *self._background]
        _, stuck = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS) if tasks else (set(), set())
        if stuck:
            # Abandoned, not awaited: their runs are taken over once their claims expire.
            log.error("%d worker tasks did not stop within %.0f s", len(stuck), STOP_TIMEOUT_SECONDS)
        if self._control is not None:
            self._control.close()
        log.info("worker stopped", extra={"worker": self.worker_id})

    async def _slot(self) -> None:
        while not self._stopping:
            try:
                item = await self._queue.next()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("taking a run from the queue failed")
                await asyncio.sleep(1.0)
                continue
            current = asyncio.current_task()
            assert current is not None
            self._busy.add(current)
            try:
                await self._handle(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The claim expires and another worker (or this one) takes the run up again.
                log.exception("executing executions/%s failed", item.execution_id)
            finally:
                self._busy.discard(current)

    async def _handle(self, item: QueueItem) -> None:
        claim = await self._engine.claim(item.execution_id, self.worker_id)
        if claim is None:
            await self._queue.ack(item)
            return
        cancel = asyncio.Event()
        self._active[claim.execution_id] = cancel
        heartbeat = asyncio.create_task(self._heartbeat(item, claim, cancel))
        try:
            await self._engine.execute(claim, cancel)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            self._active.pop(claim.execution_id, None)
        if not claim.lost.is_set():
            await self._queue.ack(item)

    async def _heartbeat(self, item: QueueItem, claim: Claim, cancel: asyncio.Event) -> None:
        interval = max(0.2, self._lease / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                requested = await self._engine.heartbeat(claim)
                if requested is None:
                    return
                if requested:
                    cancel.set()
                await self._queue.touch(item)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("heartbeat of executions/%s failed: %s", claim.execution_id, error)

    async def _listen(self, control: Subscription) -> None:
        while True:
            message = await control.next()
            if message is None:
                continue
            kind, _, execution_id = message.decode(errors="replace").partition(":")
            if kind == "cancel" and execution_id in self._active:
                self._active[execution_id].set()

    async def _sweep(self) -> None:
        interval = max(0.5, self._lease / 2)
        while True:
            try:
                for execution_id in await self._engine.forgotten_runs():
                    await self._queue.enqueue(execution_id)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("looking for forgotten runs failed: %s", error)
            await asyncio.sleep(interval)
