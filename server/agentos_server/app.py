"""Builds the AgentOS server: the runtime (database, clock, domain services) and the grpc.aio
server around it (call pipeline, the four services, health, reflection, metrics)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from agentos.execution.v1 import execution_pb2, execution_pb2_grpc
from agentos.marketplace.v1 import marketplace_pb2, marketplace_pb2_grpc
from agentos.payment.v1 import payment_pb2, payment_pb2_grpc
from agentos.registry.v1 import registry_pb2, registry_pb2_grpc
from agentos_server.api.execution import ExecutionServicer
from agentos_server.api.marketplace import MarketplaceServicer
from agentos_server.api.payment import PaymentServicer
from agentos_server.api.pipeline import Authenticator, CallPipeline, policies_for
from agentos_server.api.registry import RegistryServicer
from agentos_server.config import Settings
from agentos_server.domain.agents import AgentRegistry
from agentos_server.domain.clock import Clock, SystemClock
from agentos_server.domain.daemons import DaemonRegistry
from agentos_server.domain.marketplace import Marketplace
from agentos_server.domain.pagination import PageTokens
from agentos_server.domain.payments import Payments
from agentos_server.domain.search import SearchService
from agentos_server.domain.skills import SkillRegistry
from agentos_server.execution_setup import Execution
from agentos_server.infra import migrate
from agentos_server.infra.db import Database
from agentos_server.infra.metrics import RpcMetrics
from agentos_server.infra.server_secrets import shared_secret
from agentos_server.proxy_setup import ProxyRuntime, SkillStageCalls

log = logging.getLogger("agentos.server")

SERVICE_DESCRIPTORS = (
    registry_pb2.DESCRIPTOR.services_by_name["RegistryService"],
    marketplace_pb2.DESCRIPTOR.services_by_name["MarketplaceService"],
    execution_pb2.DESCRIPTOR.services_by_name["ExecutionService"],
    payment_pb2.DESCRIPTOR.services_by_name["PaymentService"],
)
SERVICE_NAMES = tuple(d.full_name for d in SERVICE_DESCRIPTORS)


class SchemaOutOfDate(RuntimeError):
    pass


@dataclass
class Runtime:
    """Everything a server (or a worker) process shares: built once, closed once."""

    settings: Settings
    db: Database
    clock: Clock
    metrics: RpcMetrics
    page_tokens: PageTokens
    agents: AgentRegistry
    skills: SkillRegistry
    daemons: DaemonRegistry
    search: SearchService
    # The ledger, budgets, credits, tiers and the admission gate (domain/payments.py).
    payments: Payments
    # Purchases, licences, reviews, reputation, analytics, featured (domain/marketplace.py).
    marketplace: Marketplace
    # The skill proxy, agent channel, model router and provider keys (proxy_setup.py).
    proxy: ProxyRuntime
    # Daemon runs: the run service, its bus and queue, and the worker pools (execution_setup.py).
    execution: Execution

    @classmethod
    async def open(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        url = settings.effective_database_url
        current = await asyncio.to_thread(migrate.current_revision, url)
        head = migrate.head_revision()
        if current != head:
            raise SchemaOutOfDate(
                f"the database is at schema revision {current or 'none'} but this server needs {head}: "
                "run `agentos migrate` first"
            )
        db = Database(url)
        clock = clock or SystemClock()
        page_tokens = PageTokens(await shared_secret(db, "page_tokens", clock))
        daemons = DaemonRegistry(db, clock, page_tokens)
        metrics = RpcMetrics()
        payments = Payments.open(settings, db, clock, page_tokens, metrics.count_ledger_volume)
        marketplace = Marketplace(settings, db, clock, page_tokens, payments)
        proxy = await ProxyRuntime.open(
            settings,
            db,
            clock,
            page_tokens,
            payments.ledger,
            licences=marketplace.licenses,
            reputation=marketplace.reputation,
        )
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            metrics=metrics,
            page_tokens=page_tokens,
            agents=AgentRegistry(db, clock, page_tokens),
            skills=SkillRegistry(db, clock, page_tokens),
            daemons=daemons,
            search=SearchService(db, page_tokens),
            payments=payments,
            marketplace=marketplace,
            proxy=proxy,
            execution=await Execution.open(
                settings,
                db,
                clock,
                page_tokens,
                daemons=daemons,
                ledger=payments.ledger,
                router=proxy.models,
                credentials=proxy.provider_keys.credentials_for,
                skills=SkillStageCalls(proxy.proxy),
            ),
        )

    async def close(self) -> None:
        await self.execution.close()
        await self.proxy.close()
        await self.marketplace.close()
        await self.payments.close()
        await self.db.dispose()


class _GenericHandlersOnly:
    """What the generated add_*_to_server functions are given instead of the server: it passes
    the services on as generic handlers only, and not as registered methods.

    grpc.aio's accept loop keeps one pending future per registered method and, for every call it
    accepts, runs asyncio.wait over all of them (adding and removing a callback on each). With our
    ninety methods that cost about 40 us of the loop's time per RPC, on every RPC. The generic
    lookup costs nothing in exchange: the call pipeline keeps the handler of each AgentOS method
    after its first call, and health and reflection are two more dictionaries to look in.
    """

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler[Any, Any]]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service_name: str, handlers: dict[str, Any]) -> None:
        """Left out on purpose (see the class)."""


class AgentOSServer:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.authenticator = Authenticator(runtime.agents, settings.auth_cache_seconds)
        self.pipeline = CallPipeline(
            policies_for(SERVICE_DESCRIPTORS), self.authenticator, runtime.metrics, runtime.payments.gate
        )
        self.server = grpc.aio.server(
            interceptors=[self.pipeline],
            options=[
                ("grpc.max_receive_message_length", 16 * 1024 * 1024),
                ("grpc.max_send_message_length", 16 * 1024 * 1024),
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ],
        )
        # grpc-stubs predates grpc_health's asyncio servicer, hence the ignore.
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        services = _GenericHandlersOnly(self.server)
        registry_pb2_grpc.add_RegistryServiceServicer_to_server(
            RegistryServicer(
                runtime.agents,
                runtime.skills,
                runtime.daemons,
                runtime.search,
                self.authenticator.forget_agent,
            ),
            services,
        )
        marketplace_pb2_grpc.add_MarketplaceServiceServicer_to_server(
            MarketplaceServicer(runtime.marketplace), services
        )
        execution_pb2_grpc.add_ExecutionServiceServicer_to_server(
            ExecutionServicer(
                runtime.execution.runs,
                runtime.proxy,
                hello_timeout_seconds=settings.channel_hello_timeout_seconds,
            ),
            services,
        )
        payment_pb2_grpc.add_PaymentServiceServicer_to_server(PaymentServicer(runtime.payments), services)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, services)
        # The asyncio servicer enable_server_reflection would pick; its module lacks type exports.
        reflection_servicer = reflection.aio.ReflectionServicer  # type: ignore[attr-defined]
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
            reflection_servicer((*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME)),
            services,
        )
        self.port = 0
        # Without Redis the queue is in-process, so this process must also execute the runs.
        self.workers = (
            runtime.execution.worker_pool()
            if settings.serve_workers or runtime.execution.redis is None
            else None
        )

    async def start(self, address: str | None = None) -> int:
        address = address or self.runtime.settings.grpc_addr
        self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot listen on {address}")
        await self.server.start()
        self.runtime.payments.start_background()
        self.runtime.marketplace.start_background()
        if self.workers is not None:
            await self.workers.start()
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        if self.runtime.settings.metrics_addr:
            self.runtime.metrics.serve_http(self.runtime.settings.metrics_addr)
        log.info("serving", extra={"address": address, "port": self.port, "services": list(SERVICE_NAMES)})
        return self.port

    async def _set_health(self, status: health_pb2.HealthCheckResponse.ServingStatus.ValueType) -> None:
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, status)

    async def stop(self, grace: float | None = None) -> None:
        """Reports NOT_SERVING, lets in-flight calls finish within the grace period, then stops."""
        await self.health.enter_graceful_shutdown()
        grace = self.runtime.settings.shutdown_grace_seconds if grace is None else grace
        await self.server.stop(grace)
        if self.workers is not None:
            await self.workers.stop(grace)
        log.info("stopped")

    async def serve_until_signalled(
        self, signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT)
    ) -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in signals:
            loop.add_signal_handler(sig, stopping.set)
        await stopping.wait()
        log.info("shutting down", extra={"grace_seconds": self.runtime.settings.shutdown_grace_seconds})
        await self.stop()
