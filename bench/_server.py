"""A real `agentos serve` process for the benchmarks, on SQLite by default or on the PostgreSQL and
Redis given by URL."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message

AGENTOS = str(Path(sys.executable).parent / "agentos")
# AGENTOS_TIERS for a benchmark agent on the free tier: no burst or monthly call limit in the way.
UNTHROTTLED = (
    '{"free": {"burst_per_second": 100000, "monthly_api_calls": 100000000, "monthly_credits": 1000000}}'
)


async def serve_constant(
    port: int, service: str, method: str, request_type: type[Message], response: Message
) -> None:
    """A bare grpc.aio server, the benchmarks' baseline: no interceptor and no work, answering every
    call of one unary method with the same response (parsed once, serialised per call like any
    response)."""

    async def answer(request: Message, context: Any) -> Message:
        return response

    handler = grpc.method_handlers_generic_handler(
        service,
        {
            method: grpc.unary_unary_rpc_method_handler(
                answer,
                request_deserializer=request_type.FromString,
                response_serializer=type(response).SerializeToString,
            )
        },
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class BenchServer:
    address: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    cleanup: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start(database_url: str = "", redis_url: str = "", **settings: str) -> BenchServer:
    data_dir = Path(tempfile.mkdtemp(prefix="agentos-bench-"))
    # The sandbox uid (when run as root) must be able to reach the run directories under it.
    data_dir.chmod(0o755)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOS_")}
    env |= {
        "AGENTOS_DATA_DIR": str(data_dir),
        "AGENTOS_GRPC_ADDR": f"127.0.0.1:{port}",
        "AGENTOS_LOG_LEVEL": "WARNING",
        "AGENTOS_REDIS_PREFIX": f"agentos-bench-{secrets.token_hex(4)}:",
        **{f"AGENTOS_{k.upper()}": v for k, v in settings.items()},
    }
    if database_url:
        env["AGENTOS_DATABASE_URL"] = database_url
    if redis_url:
        env["AGENTOS_REDIS_URL"] = redis_url
    subprocess.run([AGENTOS, "migrate"], env=env, check=True, capture_output=True)
    process = subprocess.Popen([AGENTOS, "serve"], env=env)
    address = f"127.0.0.1:{port}"
    with grpc.insecure_channel(address) as channel:
        grpc.channel_ready_future(channel).result(timeout=60)
    time.sleep(0.2)
    return BenchServer(address, process, data_dir)


def fresh_postgres_database(admin_url: str) -> tuple[str, str]:
    """(url of a new database, its name) on the PostgreSQL server of `admin_url`."""
    import psycopg

    name = f"agentos_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name, name


def drop_postgres_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
