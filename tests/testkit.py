"""The test harness: a real AgentOS server on an ephemeral port, on SQLite or PostgreSQL + Redis.

The server runs in a thread of its own with its own event loop; tests talk to it through the
generated (synchronous) stubs over a real socket, exactly as an agent would. `ServerHandle.run`
executes a coroutine on the server's loop when a test must look at the database directly.

AGENTOS_TEST_BACKEND selects the backend: "sqlite" (default) or "postgres". PostgreSQL and Redis are
found through AGENTOS_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and
AGENTOS_TEST_REDIS_URL (default redis://127.0.0.1:6379/0). Each server gets a fresh database and a
Redis key prefix of its own, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import psycopg
import redis
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import func, select

from agentos.execution.v1 import execution_pb2_grpc
from agentos.marketplace.v1 import marketplace_pb2_grpc
from agentos.payment.v1 import payment_pb2_grpc
from agentos.registry.v1 import registry_pb2, registry_pb2_grpc
from agentos_server.app import AgentOSServer, Runtime
from agentos_server.config import Settings
from agentos_server.domain.clock import Clock
from agentos_server.infra import migrate
from agentos_server.infra.db import Base

T = TypeVar("T")

BACKEND = os.environ.get("AGENTOS_TEST_BACKEND", "sqlite")
PG_URL = os.environ.get("AGENTOS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("AGENTOS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class BackendUnavailable(RuntimeError):
    pass


@dataclass
class Backend:
    """One provisioned database (and, for postgres, a Redis prefix) for one server."""

    database_url: str
    redis_url: str
    redis_prefix: str
    data_dir: Path
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for step in reversed(self.cleanup):
            step()


def provision_backend(kind: str = BACKEND) -> Backend:
    data_dir = Path(tempfile.mkdtemp(prefix="agentos-test-"))
    # Run directories live under the data directory; as root, the bwrap sandbox runs scripts as an
    # unprivileged uid, which must be able to traverse it (mkdtemp makes it 0700).
    data_dir.chmod(0o755)
    if kind == "sqlite":
        backend = Backend(f"sqlite+aiosqlite:///{data_dir / 'agentos.db'}", "", "agentos-test:", data_dir)
    elif kind == "postgres":
        name = f"agentos_t_{secrets.token_hex(6)}"
        try:
            with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError as error:
            raise BackendUnavailable(f"PostgreSQL is not reachable at {PG_URL}: {error}") from error
        prefix = f"agentos-test-{secrets.token_hex(6)}:"
        client = redis.Redis.from_url(REDIS_URL)
        try:
            client.ping()
        except redis.RedisError as error:
            raise BackendUnavailable(f"Redis is not reachable at {REDIS_URL}: {error}") from error
        base = PG_URL.rsplit("/", 1)[0]
        backend = Backend(
            f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}", REDIS_URL, prefix, data_dir
        )

        def drop_database() -> None:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        def drop_keys() -> None:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()

        backend.cleanup += [drop_database, drop_keys]
    else:
        raise ValueError(f"unknown AGENTOS_TEST_BACKEND {kind!r}")
    backend.cleanup.insert(0, lambda: shutil.rmtree(data_dir, ignore_errors=True))
    migrate.upgrade(backend.database_url)
    return backend


@dataclass
class ServerHandle:
    backend: Backend
    runtime: Runtime
    server: AgentOSServer
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    address: str
    channel: grpc.Channel
    # False for a replica started on another server's backend: that server drops it.
    owns_backend: bool = True

    @property
    def registry(self) -> registry_pb2_grpc.RegistryServiceStub:
        return registry_pb2_grpc.RegistryServiceStub(self.channel)

    @property
    def marketplace(self) -> marketplace_pb2_grpc.MarketplaceServiceStub:
        return marketplace_pb2_grpc.MarketplaceServiceStub(self.channel)

    @property
    def execution(self) -> execution_pb2_grpc.ExecutionServiceStub:
        return execution_pb2_grpc.ExecutionServiceStub(self.channel)

    @property
    def payment(self) -> payment_pb2_grpc.PaymentServiceStub:
        return payment_pb2_grpc.PaymentServiceStub(self.channel)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Runs a coroutine on the server's event loop and returns its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def row_counts(self) -> dict[str, int]:
        """Rows per table: compare before and after a refused call to prove nothing was written."""

        async def count() -> dict[str, int]:
            async with self.runtime.db.snapshot() as session:
                return {
                    table.name: int(
                        (await session.execute(select(func.count()).select_from(table))).scalar_one()
                    )
                    for table in Base.metadata.sorted_tables
                }

        return self.run(count())

    def stop(self) -> None:
        self.channel.close()
        try:
            self.run(self.server.stop(grace=1))
            self.run(self.runtime.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            if self.owns_backend:
                self.backend.close()


def start_server(
    *,
    backend_kind: str = BACKEND,
    clock: Clock | None = None,
    backend: Backend | None = None,
    **setting_overrides: Any,
) -> ServerHandle:
    """A server on a fresh backend, or on `backend` (another server's) to run a second replica."""
    owns_backend = backend is None
    if backend is None:
        backend = provision_backend(backend_kind)
    settings = Settings(
        data_dir=backend.data_dir,
        database_url=backend.database_url,
        redis_url=backend.redis_url,
        redis_prefix=backend.redis_prefix,
        grpc_addr="127.0.0.1:0",
        log_level="WARNING",
        shutdown_grace_seconds=1.0,
        **setting_overrides,
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="agentos-test-server", daemon=True)
    thread.start()

    async def boot() -> tuple[Runtime, AgentOSServer, int]:
        runtime = await Runtime.open(settings, clock=clock)
        server = AgentOSServer(runtime)
        port = await server.start("127.0.0.1:0")
        return runtime, server, port

    try:
        runtime, server, port = asyncio.run_coroutine_threadsafe(boot(), loop).result(60)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if owns_backend:
            backend.close()
        raise
    address = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=10)
    return ServerHandle(backend, runtime, server, loop, thread, address, channel, owns_backend)


def start_replica(server: ServerHandle, **setting_overrides: Any) -> ServerHandle:
    """A second server sharing `server`'s database, Redis prefix and data directory."""
    return start_server(backend=server.backend, **setting_overrides)


# --- helpers for calls and errors --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bearer(api_key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {api_key}"),)


@dataclass(frozen=True)
class AgentHandle:
    name: str
    api_key: str
    agent: registry_pb2.Agent

    @property
    def id(self) -> str:
        return self.name.removeprefix("agents/")

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        return bearer(self.api_key)


def unique_id(prefix: str = "agent") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def create_agent(server: ServerHandle, prefix: str = "agent", **fields: Any) -> AgentHandle:
    fields.setdefault("display_name", prefix.replace("-", " ").title())
    response = server.registry.CreateAgent(
        registry_pb2.CreateAgentRequest(agent_id=unique_id(prefix), agent=registry_pb2.Agent(**fields))
    )
    return AgentHandle(response.agent.name, response.api_key, response.agent)


def create_operator(server: ServerHandle) -> AgentHandle:
    from agentos_server.domain.agents import AgentDraft

    created = server.run(
        server.runtime.agents.create(
            unique_id("operator"), AgentDraft(display_name="Operator"), operator=True
        )
    )
    agent = server.registry.GetAgent(registry_pb2.GetAgentRequest(name=f"agents/{created.agent.id}")).agent
    return AgentHandle(agent.name, created.api_key, agent)


@dataclass(frozen=True)
class RpcFailure:
    code: grpc.StatusCode
    message: str
    reason: str
    domain: str
    metadata: dict[str, str]
    fields: list[str]
    retry_delay_seconds: float | None


def failure(call: Callable[[], Any]) -> RpcFailure:
    """Makes a call that must fail and returns its status with the decoded rich details."""
    try:
        call()
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        reason, domain, metadata, fields, retry = "", "", {}, [], None
        if status is not None:
            for detail in status.details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
                elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    fields = [v.field for v in bad.field_violations]
                elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                    info_retry = error_details_pb2.RetryInfo()
                    detail.Unpack(info_retry)
                    retry = info_retry.retry_delay.ToTimedelta().total_seconds()
        return RpcFailure(error.code(), error.details() or "", reason, domain, metadata, fields, retry)
    raise AssertionError("the call succeeded but was expected to fail")


def assert_refused(
    server: ServerHandle,
    call: Callable[[], Any],
    code: grpc.StatusCode,
    *,
    reason: str | None = None,
    field: str | None = None,
) -> RpcFailure:
    """The call fails with `code` (and reason, and a violation naming `field`) and writes nothing."""
    before = server.row_counts()
    found = failure(call)
    assert found.code == code, f"expected {code}, got {found.code}: {found.message}"
    assert found.domain == "agentos.dev", found
    if reason is not None:
        assert found.reason == reason, f"expected reason {reason}, got {found.reason}: {found.message}"
    if field is not None:
        assert field in found.fields or found.metadata.get("field") == field, (
            f"expected field {field} to be named, got {found.fields} / {found.metadata}: {found.message}"
        )
    assert server.row_counts() == before, "a refused call changed the database"
    return found
