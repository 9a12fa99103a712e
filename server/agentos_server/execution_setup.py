"""Builds the machinery of daemon runs from the settings: the event bus and the run queue (Redis
or in-process), the model router, the run service the API uses, and worker pools (with their
sandbox) for `agentos serve` and `agentos worker`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from agentos_server.config import ConfigError, Settings
from agentos_server.domain.clock import Clock
from agentos_server.domain.daemons import DaemonRegistry
from agentos_server.domain.execution.billing import LedgerRunBilling
from agentos_server.domain.execution.costs import CostModel
from agentos_server.domain.execution.daemons import RegistryDaemons
from agentos_server.domain.execution.engine import EngineConfig, RunEngine
from agentos_server.domain.execution.events import EventFeed, EventLog
from agentos_server.domain.execution.ports import OwnerOrFreeLicences
from agentos_server.domain.execution.runs import RunService
from agentos_server.domain.execution.stages import SkillCaller, StageRunner
from agentos_server.domain.execution.workers import WorkerPool, new_worker_id
from agentos_server.domain.ledger import Ledger
from agentos_server.domain.pagination import PageTokens
from agentos_server.infra.bus import InProcessBus, MessageBus, RedisBus
from agentos_server.infra.db import Database
from agentos_server.infra.providers import (
    CredentialResolver,
    ModelRouter,
    ProviderCredentials,
    build_default_router,
)
from agentos_server.infra.redis import close_redis, create_redis
from agentos_server.infra.run_queue import InProcessRunQueue, RedisRunQueue, RunQueue
from agentos_server.infra.sandbox import Sandbox, SandboxUnavailable, create_sandbox

log = logging.getLogger("agentos.runs")


async def _no_provider_key(provider: str) -> ProviderCredentials | None:
    return None


def no_provider_keys(owner_id: str) -> CredentialResolver:
    """For a process built without provider keys: only the built-in model (which needs none) answers."""
    return _no_provider_key


def build_sandbox(settings: Settings) -> Sandbox:
    if settings.sandbox == "process":
        log.warning(
            "AGENTOS_SANDBOX=process: daemon scripts run WITHOUT ISOLATION, as this server's user, "
            "with its files, network and environment reachable. Use it only for trusted scripts."
        )
    try:
        return create_sandbox(
            settings.sandbox, allow_insecure_process=settings.allow_insecure_process_sandbox
        )
    except SandboxUnavailable as error:
        raise ConfigError(f"AGENTOS_SANDBOX={settings.sandbox}: {error}") from error


def cost_model(settings: Settings) -> CostModel:
    return CostModel(
        # credit_price_per_1000 is in USDC atomic units (micro-USD) per 1,000 credits.
        credit_usd_micros=max(1, settings.credit_price_per_1000 // 1000),
        script_credits_per_second=settings.script_credits_per_second,
        minimum_run_credits=settings.run_minimum_credits,
        hold_prompt_tokens=settings.hold_prompt_tokens,
    )


@dataclass
class Execution:
    settings: Settings
    db: Database
    clock: Clock
    redis: aioredis.Redis | None
    bus: MessageBus
    # The enqueueing side; with no Redis also the queue the in-process workers take from.
    queue: RunQueue
    router: ModelRouter
    costs: CostModel
    billing: LedgerRunBilling
    runs: RunService
    # Run owner -> provider credentials for its model stages (its own keys, then the platform's).
    credentials: Callable[[str], CredentialResolver] = no_provider_keys
    # The skill proxy, for skill stages; None leaves them failing with SKILL_NOT_AVAILABLE.
    skills: SkillCaller | None = None
    # False when the router is shared with (and closed by) the rest of the runtime.
    owns_router: bool = True

    @classmethod
    async def open(
        cls,
        settings: Settings,
        db: Database,
        clock: Clock,
        page_tokens: PageTokens,
        *,
        daemons: DaemonRegistry,
        ledger: Ledger,
        router: ModelRouter | None = None,
        credentials: Callable[[str], CredentialResolver] = no_provider_keys,
        skills: SkillCaller | None = None,
    ) -> Execution:
        client = create_redis(settings)
        bus: MessageBus = RedisBus(client, settings.redis_prefix) if client is not None else InProcessBus()
        await bus.start()
        lease = settings.worker_lease_seconds
        queue: RunQueue = (
            RedisRunQueue(client, settings.redis_prefix, "enqueuer", lease_seconds=lease)
            if client is not None
            else InProcessRunQueue()
        )
        owns_router = router is None
        router = router or build_default_router()
        costs = cost_model(settings)
        billing = LedgerRunBilling(ledger)
        runs = RunService(
            db,
            clock,
            page_tokens,
            daemons=RegistryDaemons(daemons),
            licences=OwnerOrFreeLicences(),
            billing=billing,
            queue=queue,
            bus=bus,
            feed=EventFeed(EventLog(db), bus, poll_seconds=settings.event_poll_seconds),
            router=router,
            costs=costs,
        )
        return cls(
            settings,
            db,
            clock,
            client,
            bus,
            queue,
            router,
            costs,
            billing,
            runs,
            credentials=credentials,
            skills=skills,
            owns_router=owns_router,
        )

    def worker_pool(self, worker_id: str | None = None) -> WorkerPool:
        """A pool that executes runs in this process (call start() on it)."""
        settings = self.settings
        worker_id = worker_id or new_worker_id()
        sandbox = build_sandbox(settings)
        engine = RunEngine(
            self.db,
            self.clock,
            self.bus,
            StageRunner(lambda: sandbox, self.router, self.credentials, self.costs, skills=self.skills),
            self.billing,
            self.costs,
            EngineConfig(
                data_dir=Path(settings.data_dir).resolve(),
                lease_seconds=settings.worker_lease_seconds,
                max_attempts=settings.run_max_attempts,
                inline_output_bytes=settings.inline_output_bytes,
            ),
        )
        queue: RunQueue = (
            RedisRunQueue(
                self.redis, settings.redis_prefix, worker_id, lease_seconds=settings.worker_lease_seconds
            )
            if self.redis is not None
            else self.queue
        )
        return WorkerPool(
            engine,
            queue,
            self.bus,
            worker_id=worker_id,
            concurrency=settings.worker_concurrency,
            lease_seconds=settings.worker_lease_seconds,
        )

    async def close(self) -> None:
        await self.bus.close()
        if self.owns_router:
            await self.router.aclose()
        await close_redis(self.redis)
