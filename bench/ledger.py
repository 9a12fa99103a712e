"""Transfers per second through the gRPC API, against plain update-and-insert transactions.

    .venv/bin/python bench/ledger.py [--seconds 5] [--clients 1,8,32] [--servers 1] [--no-redis]

Starts `agentos serve` as a process of its own on a fresh PostgreSQL database (and a Redis key
prefix of its own, so the admission gate runs as in production), registers 2 agents per client
and funds the payers. Each client is an asyncio task with a grpc.aio channel (a TCP connection)
of its own that sends PaymentService.Transfer (1 atomic USDC to its own payee, a fresh
idempotency key each time) as fast as the answers come back, for --seconds. With --servers N,
N server processes share the port (SO_REUSEPORT, as stateless replicas would sit behind a load
balancer) and the kernel spreads the clients' connections over them.

The baseline runs in the same process, against the same database server, through the same driver
(psycopg 3, async): each client is a connection of its own doing
BEGIN; UPDATE one balance row; INSERT one row; COMMIT as fast as it can. The ratio is
transfers/s divided by baseline transactions/s at the same number of clients. With --repeat N
the two alternate N times at each level and the medians are printed (useful on a shared machine).

A third column shows what gRPC alone allows: the same clients against a bare grpc.aio server (no
interceptor, no database) in a process of its own that answers every Transfer with the same
TransferResponse, one a real transfer returned. Its ratio to the baseline is the ceiling for any
Python gRPC server through this client on this machine; "of bare" is AgentOS / bare.

Environment: AGENTOS_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and
AGENTOS_TEST_REDIS_URL (default redis://127.0.0.1:6379/0), as for the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import grpc
import psycopg
import redis
from _server import serve_constant

from agentos.common.v1 import common_pb2
from agentos.payment.v1 import payment_pb2 as pb
from agentos.payment.v1 import payment_pb2_grpc
from agentos.registry.v1 import registry_pb2, registry_pb2_grpc

PG_URL = os.environ.get("AGENTOS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("AGENTOS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BIN = Path(sys.executable).parent
SERVICE = "agentos.payment.v1.PaymentService"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url(name: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + name


class Server:
    """`agentos serve` on a fresh database, in a process of its own."""

    def __init__(self, use_redis: bool, processes: int = 1) -> None:
        self.name = f"agentos_bench_{secrets.token_hex(4)}"
        self.prefix = f"agentos-bench-{secrets.token_hex(4)}:"
        self.address = f"127.0.0.1:{free_port()}"
        self.env = {
            **os.environ,
            "AGENTOS_DATABASE_URL": database_url(self.name),
            "AGENTOS_REDIS_URL": REDIS_URL if use_redis else "",
            "AGENTOS_REDIS_PREFIX": self.prefix,
            "AGENTOS_GRPC_ADDR": self.address,
            "AGENTOS_LOG_LEVEL": "WARNING",
            "AGENTOS_DATA_DIR": f"/tmp/{self.name}",
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.count = processes
        self.operator_key = ""
        self.log: Any = None

    def start(self) -> None:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        subprocess.run([BIN / "agentos", "migrate"], env=self.env, check=True, capture_output=True)
        made = subprocess.run(
            [BIN / "agentos", "create-operator", "bench-operator"],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        found = re.search(r"api key \(shown once\): (\S+)", made.stdout)
        assert found, made.stdout
        self.operator_key = found.group(1)
        self.log = open(f"/tmp/{self.name}.log", "wb")  # noqa: SIM115 (closed in stop)
        for _ in range(self.count):
            self.processes.append(
                subprocess.Popen([BIN / "agentos", "serve"], env=self.env, stdout=self.log, stderr=self.log)
            )
            channel = grpc.insecure_channel(self.address)
            grpc.channel_ready_future(channel).result(timeout=30)
            channel.close()
        time.sleep(1)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is not None:
                print(f"server process {process.pid} had exited with {process.returncode}", file=sys.stderr)
                print(Path(f"/tmp/{self.name}.log").read_text()[-3000:], file=sys.stderr)
            process.terminate()
        for process in self.processes:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        if self.log is not None:
            self.log.close()
            Path(f"/tmp/{self.name}.log").unlink(missing_ok=True)
        client = redis.Redis.from_url(REDIS_URL)
        with suppress(redis.RedisError):
            keys = list(client.scan_iter(match=self.prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        client.close()


def bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


def prepare_agents(server: Server, pairs: int) -> tuple[list[tuple[str, str, str]], bytes]:
    """(payer key, payer name, payee name) per client, payers funded and on the enterprise tier
    (whose burst limit leaves room for one client's pace); and a TransferResponse, serialised."""
    channel = grpc.insecure_channel(server.address)
    registry = registry_pb2_grpc.RegistryServiceStub(channel)
    payment = payment_pb2_grpc.PaymentServiceStub(channel)
    operator = bearer(server.operator_key)
    found = []
    answer = b""
    for index in range(pairs):
        names = []
        keys = []
        for role in ("payer", "payee"):
            made = registry.CreateAgent(
                registry_pb2.CreateAgentRequest(
                    agent_id=f"{role}-{index}-{secrets.token_hex(3)}",
                    agent=registry_pb2.Agent(display_name=f"{role} {index}"),
                )
            )
            names.append(made.agent.name)
            keys.append(made.api_key)
        payment.Deposit(
            pb.DepositRequest(
                agent=names[0],
                amount=common_pb2.Money(asset="USDC", amount=10**12),
                idempotency_key=f"fund-{index}",
                operator=pb.OperatorDepositSource(note="bench"),
            ),
            metadata=operator,
        )
        payment.ChangeSubscription(
            pb.ChangeSubscriptionRequest(
                name=f"{names[0]}/subscription",
                tier=pb.SUBSCRIPTION_TIER_ENTERPRISE,
                idempotency_key=f"tier-{index}",
            ),
            metadata=operator,
        )
        # One transfer ahead of the measurement creates the payee's account (steady state).
        first = payment.Transfer(
            pb.TransferRequest(
                recipient=names[1],
                amount=common_pb2.Money(asset="USDC", amount=1),
                idempotency_key=f"first-{index}",
            ),
            metadata=bearer(keys[0]),
        )
        found.append((keys[0], names[0], names[1]))
        answer = first.SerializeToString()
    channel.close()
    return found, answer


class BareServer:
    """A grpc.aio server with no interceptor and no work that answers every Transfer with the same
    response (parsed once, serialised per call like any response), in a process of its own."""

    def __init__(self, response: bytes) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self._file = Path(f"/tmp/agentos-bench-bare-{secrets.token_hex(4)}.bin")
        self._file.write_bytes(response)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        port = self.address.rsplit(":", 1)[1]
        self._process = subprocess.Popen([sys.executable, __file__, "--serve-bare", port, str(self._file)])
        channel = grpc.insecure_channel(self.address)
        grpc.channel_ready_future(channel).result(timeout=30)
        channel.close()

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=15)
        self._file.unlink(missing_ok=True)


async def transfers(address: str, agents: list[tuple[str, str, str]], clients: int, seconds: float) -> float:
    # A channel per client (use_local_subchannel_pool: no sharing of connections between them).
    channels = [
        grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(clients)
    ]
    stubs = [payment_pb2_grpc.PaymentServiceStub(channel) for channel in channels]
    done = 0
    failed = 0
    stop_at = 0.0

    async def client(index: int) -> None:
        nonlocal done, failed
        key, _, payee = agents[index]
        metadata = bearer(key)
        amount = common_pb2.Money(asset="USDC", amount=1)
        stub = stubs[index]
        sequence = 0
        while time.perf_counter() < stop_at:
            sequence += 1
            request = pb.TransferRequest(
                recipient=payee, amount=amount, idempotency_key=f"b{index}-{sequence}-{secrets.token_hex(4)}"
            )
            try:
                await stub.Transfer(request, metadata=metadata)
                done += 1
            except grpc.aio.AioRpcError as error:
                failed += 1
                if failed < 5:
                    print(f"  transfer failed: {error.code().name} {error.details()}", file=sys.stderr)

    try:
        # Warm up (connections, prepared statements, accounts), then measure.
        stop_at = time.perf_counter() + 1.0
        await asyncio.gather(*(client(i) for i in range(clients)))
        done = 0
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.perf_counter() - started
    finally:
        for channel in channels:
            await channel.close()
    if failed:
        print(f"  {failed} transfers failed", file=sys.stderr)
    return done / elapsed


async def baseline(url: str, clients: int, seconds: float) -> float:
    """Plain psycopg: BEGIN; UPDATE one row; INSERT one row; COMMIT, per client connection."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as setup:
        await setup.execute("DROP TABLE IF EXISTS bench_balances, bench_log")
        await setup.execute("CREATE TABLE bench_balances (id int PRIMARY KEY, balance bigint NOT NULL)")
        await setup.execute(
            "CREATE TABLE bench_log (id bigserial PRIMARY KEY, account int NOT NULL, amount bigint NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        )
        await setup.execute(
            "INSERT INTO bench_balances SELECT g, 1000000000 FROM generate_series(0, %s) g", (clients,)
        )
    connections = [await psycopg.AsyncConnection.connect(url) for _ in range(clients)]
    done = 0
    stop_at = 0.0

    async def client(index: int) -> None:
        nonlocal done
        conn = connections[index]
        while time.perf_counter() < stop_at:
            async with conn.transaction():
                await conn.execute(
                    "UPDATE bench_balances SET balance = balance - 1 WHERE id = %s AND balance >= 1", (index,)
                )
                await conn.execute("INSERT INTO bench_log (account, amount) VALUES (%s, %s)", (index, -1))
            done += 1

    try:
        stop_at = time.perf_counter() + 0.5
        await asyncio.gather(*(client(i) for i in range(clients)))
        done = 0
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(client(i) for i in range(clients)))
        return done / (time.perf_counter() - started)
    finally:
        for conn in connections:
            await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--servers", type=int, default=1, help="server processes sharing the port")
    parser.add_argument(
        "--repeat", type=int, default=1, help="alternate the measurements N times; print medians"
    )
    parser.add_argument("--no-redis", action="store_true", help="run the admission gate in-process")
    parser.add_argument("--serve-bare", nargs=2, metavar=("PORT", "RESPONSE_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        port, response_file = args.serve_bare
        response = pb.TransferResponse.FromString(Path(response_file).read_bytes())
        asyncio.run(serve_constant(int(port), SERVICE, "Transfer", pb.TransferRequest, response))
        return 0
    levels = [int(c) for c in args.clients.split(",")]

    server = Server(use_redis=not args.no_redis, processes=args.servers)
    server.start()
    bare: BareServer | None = None
    try:
        agents, answer = prepare_agents(server, max(levels))
        bare = BareServer(answer)
        bare.start()
        print(
            f"PostgreSQL {PG_URL.rsplit('@', 1)[-1]}, Redis {'on' if not args.no_redis else 'off'}, "
            f"{args.servers} server process(es), {os.cpu_count()} CPUs, {args.seconds:g} s per measurement"
        )
        print(
            f"{'clients':>8} {'transfers/s':>12} {'baseline tx/s':>14} {'ratio':>7}"
            f" {'bare gRPC/s':>12} {'bare/baseline':>14} {'of bare':>8}"
        )
        for clients in levels:
            rates, bases, bares = [], [], []
            for _ in range(args.repeat):
                rates.append(asyncio.run(transfers(server.address, agents, clients, args.seconds)))
                bases.append(asyncio.run(baseline(database_url(server.name), clients, args.seconds)))
                bares.append(asyncio.run(transfers(bare.address, agents, clients, args.seconds)))
            rate, base, ceiling = statistics.median(rates), statistics.median(bases), statistics.median(bares)
            print(
                f"{clients:>8} {rate:>12.0f} {base:>14.0f} {rate / base:>7.2f}"
                f" {ceiling:>12.0f} {ceiling / base:>14.2f} {rate / ceiling:>8.2f}",
                flush=True,
            )
    finally:
        if bare is not None:
            bare.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
