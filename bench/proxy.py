#!/usr/bin/env python3
"""The skill proxy's cost: ExecuteSkill to a local HTTP skill against calling that skill directly
with httpx, in the same run; and ExecuteSkill through the agent channel.

    .venv/bin/python bench/proxy.py                       # SQLite, in-process limiter
    .venv/bin/python bench/proxy.py --backend postgres    # PostgreSQL + Redis on loopback

What it does:
1. Starts `agentos serve` (a fresh SQLite file, or a new database on AGENTOS_BENCH_PG_URL with Redis
   on AGENTOS_BENCH_REDIS_URL), a minimal keep-alive HTTP/1.1 skill server answering POST /echo
   with the JSON it got, and a seller agent process holding a ConnectAgent stream that answers
   calls the same way. Each runs in a process of its own, so none shares the client's GIL.
2. Publishes two pay-per-call skills (price 1 USDC atomic unit, the 2.5 % fee split and the ledger
   charge on every call), one on the HTTP endpoint and one on the agent channel; a buyer takes
   their licences and funds its wallet from the development faucet.
3. Latency: --calls sequential calls per path, in alternating blocks of 100 (so drift on a shared
   machine hits both alike), after a warm-up: POST /echo with httpx (one pooled AsyncClient, like
   the proxy's), ExecuteSkill over the HTTP endpoint, ExecuteSkill over the agent channel. Every
   proxied call is a full paid call: licence check, rate limit, budget and funds check, dispatch,
   usage record, ledger charge, execution count.
4. Throughput: --concurrency calls in flight for --seconds per path.
5. Prints p50, p99, the latency added by the proxy at p50 and p99 (target: at most 3 ms at p50),
   calls per second, the throughput ratio proxy / direct, and the server's CPU time per call. A
   GetWallet row (an authenticated RPC with one read) shows the floor any RPC pays on this server,
   to tell the proxy's own cost from the machine's.

Everything shares the machine's cores: run it a few times and compare the quietest runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import httpx
from google.protobuf import struct_pb2

from agentos.common.v1 import common_pb2
from agentos.execution.v1 import execution_pb2 as epb
from agentos.execution.v1 import execution_pb2_grpc
from agentos.marketplace.v1 import marketplace_pb2 as mpb
from agentos.marketplace.v1 import marketplace_pb2_grpc
from agentos.payment.v1 import payment_pb2 as ppb
from agentos.payment.v1 import payment_pb2_grpc
from agentos.registry.v1 import registry_pb2 as rpb
from agentos.registry.v1 import registry_pb2_grpc

AGENTOS = str(Path(sys.executable).parent / "agentos")
PAYLOAD = {"text": "measure me", "count": 3}
SPEC = json.dumps(
    {
        "openapi": "3.0.3",
        "info": {"title": "Echo", "version": "1"},
        "paths": {
            "/echo": {
                "post": {
                    "operationId": "echo",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {"text": {"type": "string"}, "count": {"type": "integer"}},
                                }
                            }
                        }
                    },
                    "responses": {"200": {"description": "the payload back"}},
                }
            }
        },
    }
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the seller's HTTP skill -------------------------------------------------------------------------


async def _serve_http(port: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b"null"
                answer = b'{"echo":' + body + b"}"
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(answer)).encode()
                    + b"\r\n\r\n"
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def run_http_skill(port: int) -> None:
    asyncio.run(_serve_http(port))


# --- the seller agent on the agent channel -------------------------------------------------------------


async def _serve_channel(address: str, api_key: str, ready: multiprocessing.synchronize.Event) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = execution_pb2_grpc.ExecutionServiceStub(channel)
        outgoing: asyncio.Queue[epb.ConnectAgentRequest] = asyncio.Queue()
        await outgoing.put(epb.ConnectAgentRequest(hello=epb.ChannelHello(max_concurrency=256)))

        async def requests():  # type: ignore[no-untyped-def]
            while True:
                yield await outgoing.get()

        stream = stub.ConnectAgent(requests(), metadata=(("authorization", f"Bearer {api_key}"),))
        async for message in stream:
            kind = message.WhichOneof("message")
            if kind == "welcome":
                ready.set()
            elif kind == "call":
                result = struct_pb2.Value()
                result.struct_value.fields["echo"].CopyFrom(message.call.payload)
                await outgoing.put(
                    epb.ConnectAgentRequest(
                        result=epb.ChannelResult(call_id=message.call.call_id, result=result)
                    )
                )


def run_channel_agent(address: str, api_key: str, ready: multiprocessing.synchronize.Event) -> None:
    asyncio.run(_serve_channel(address, api_key, ready))


# --- AgentOS ---------------------------------------------------------------------------------------------


class AgentOS:
    def __init__(self, backend: str) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="agentos-bench-proxy-"))
        self.data_dir.chmod(0o755)
        self.port = free_port()
        self._pg_admin = ""
        self._pg_name = ""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOS_")}
        env |= {
            "AGENTOS_DATA_DIR": str(self.data_dir),
            "AGENTOS_GRPC_ADDR": f"127.0.0.1:{self.port}",
            "AGENTOS_LOG_LEVEL": "WARNING",
            "AGENTOS_FAUCET_ENABLED": "true",
            # The benchmark measures the proxy, not the API tier's burst limit or the licence's.
            "AGENTOS_TIERS": json.dumps(
                {"free": {"burst_per_second": 1_000_000, "monthly_api_calls": 10**12}}
            ),
            "AGENTOS_PROXY_LICENSE_RATE_PER_SECOND": "1000000",
            "AGENTOS_REDIS_PREFIX": f"agentos-bench-{secrets.token_hex(4)}:",
        }
        if backend == "postgres":
            import psycopg

            self._pg_admin = os.environ.get(
                "AGENTOS_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
            )
            self._pg_name = f"agentos_bench_{secrets.token_hex(4)}"
            with psycopg.connect(self._pg_admin, autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{self._pg_name}"')
            env["AGENTOS_DATABASE_URL"] = self._pg_admin.rsplit("/", 1)[0] + "/" + self._pg_name
            env["AGENTOS_REDIS_URL"] = os.environ.get("AGENTOS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
        subprocess.run([AGENTOS, "migrate"], env=env, check=True, capture_output=True)
        self.process = subprocess.Popen([AGENTOS, "serve"], env=env)
        self.address = f"127.0.0.1:{self.port}"
        with grpc.insecure_channel(self.address) as channel:
            grpc.channel_ready_future(channel).result(timeout=60)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self._pg_name:
            import psycopg

            with psycopg.connect(self._pg_admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')


def setup(address: str, skill_port: int) -> tuple[str, str, str, str, str]:
    """(buyer key, seller key, HTTP skill name, channel skill name, buyer id)."""
    with grpc.insecure_channel(address) as channel:
        registry = registry_pb2_grpc.RegistryServiceStub(channel)
        market = marketplace_pb2_grpc.MarketplaceServiceStub(channel)
        payment = payment_pb2_grpc.PaymentServiceStub(channel)
        suffix = secrets.token_hex(3)
        seller = registry.CreateAgent(
            rpb.CreateAgentRequest(agent_id=f"bench-seller-{suffix}", agent=rpb.Agent(display_name="Seller"))
        )
        buyer = registry.CreateAgent(
            rpb.CreateAgentRequest(agent_id=f"bench-buyer-{suffix}", agent=rpb.Agent(display_name="Buyer"))
        )
        seller_auth = (("authorization", f"Bearer {seller.api_key}"),)
        buyer_auth = (("authorization", f"Bearer {buyer.api_key}"),)
        pricing = rpb.Pricing(
            model=rpb.PRICING_MODEL_USAGE,
            price=common_pb2.Money(asset="USDC", amount=1),
            usage_unit="call",
            usage_billing=rpb.USAGE_BILLING_PAY_PER_CALL,
        )
        names = []
        for endpoint in (
            rpb.SkillEndpoint(https_url=f"http://127.0.0.1:{skill_port}"),
            rpb.SkillEndpoint(agent_channel=rpb.AgentChannelTarget()),
        ):
            skill = registry.CreateSkill(
                rpb.CreateSkillRequest(
                    skill=rpb.Skill(
                        display_name=f"Echo {secrets.token_hex(3)}",
                        version="1.0.0",
                        description="Echoes its payload",
                        category=rpb.CATEGORY_UTILITY,
                        pricing=pricing,
                        openapi_spec=SPEC,
                        endpoint=endpoint,
                    )
                ),
                metadata=seller_auth,
            ).skill
            market.Purchase(
                mpb.PurchaseRequest(
                    listing=skill.name,
                    license_type=rpb.LICENSE_TYPE_PERSONAL,
                    idempotency_key=secrets.token_hex(8),
                ),
                metadata=buyer_auth,
            )
            names.append(skill.name)
        payment.Deposit(
            ppb.DepositRequest(
                agent=buyer.agent.name,
                amount=common_pb2.Money(asset="USDC", amount=1_000_000_000),
                idempotency_key=secrets.token_hex(8),
                faucet=ppb.FaucetDepositSource(),
            ),
            metadata=buyer_auth,
        )
        return buyer.api_key, seller.api_key, names[0], names[1], buyer.agent.name.removeprefix("agents/")


# --- measuring ---------------------------------------------------------------------------------------------

Call = Callable[[], Awaitable[object]]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def latencies(
    paths: dict[str, Call], calls: int, server_pid: int, block: int = 100
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Per path: each call's latency (ms), and the AgentOS server's CPU time per call (ms)."""
    found: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, float] = dict.fromkeys(paths, 0.0)
    for _ in range(max(1, calls // block)):
        for name, call in paths.items():
            before = cpu_seconds(server_pid)
            for _ in range(block):
                started = time.perf_counter()
                await call()
                found[name].append((time.perf_counter() - started) * 1000)
            cpu[name] += cpu_seconds(server_pid) - before
    return found, {name: cpu[name] * 1000 / len(found[name]) for name in paths}


async def throughput(call: Call, concurrency: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def measure(
    args: argparse.Namespace,
    address: str,
    server_pid: int,
    skill_port: int,
    names: tuple[str, str, str, str, str],
) -> None:
    buyer_key, _, http_skill, channel_skill, buyer_id = names
    auth = (("authorization", f"Bearer {buyer_key}"),)
    payload = struct_pb2.Value()
    payload.struct_value.update(PAYLOAD)
    body = json.dumps(PAYLOAD).encode()
    async with (
        httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=128), trust_env=False) as client,
        grpc.aio.insecure_channel(address) as channel,
    ):
        stub = execution_pb2_grpc.ExecutionServiceStub(channel)
        url = f"http://127.0.0.1:{skill_port}/echo"

        async def direct() -> object:
            response = await client.post(url, content=body, headers={"content-type": "application/json"})
            return response.json()

        def proxied(skill: str) -> Call:
            request = epb.ExecuteSkillRequest(skill=skill, operation="echo", payload=payload)

            async def call() -> object:
                return await stub.ExecuteSkill(request, metadata=auth)

            return call

        wallets = payment_pb2_grpc.PaymentServiceStub(channel)
        wallet = ppb.GetWalletRequest(name=f"agents/{buyer_id}/wallets/USDC")

        async def get_wallet() -> object:
            return await wallets.GetWallet(wallet, metadata=auth)

        paths: dict[str, Call] = {
            "direct httpx": direct,
            "ExecuteSkill (HTTP)": proxied(http_skill),
            "ExecuteSkill (channel)": proxied(channel_skill),
            # Not a proxy path: the floor any authenticated RPC with one read pays on this server.
            "GetWallet (reference)": get_wallet,
        }
        await latencies(paths, 300, server_pid)  # warm-up: connections, caches, the page cache
        found, cpu = await latencies(paths, args.calls, server_pid)
        rates = {name: await throughput(call, args.concurrency, args.seconds) for name, call in paths.items()}

    base50 = percentile(found["direct httpx"], 0.5)
    base99 = percentile(found["direct httpx"], 0.99)
    print(
        f"\nbackend {args.backend}; {args.calls} sequential calls per path; {args.concurrency} in flight for"
    )
    print(f"{args.seconds:g} s per path for throughput; every proxied call is a paid pay-per-call call\n")
    print(
        f"{'path':<24}{'p50 ms':>9}{'p99 ms':>9}{'added p50':>11}{'added p99':>11}{'calls/s':>10}{'ratio':>8}"
        f"{'server CPU ms/call':>20}"
    )
    for name, samples in found.items():
        p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
        proxied = name.startswith("ExecuteSkill")
        added50 = f"{p50 - base50:+.2f}" if proxied else ""
        added99 = f"{p99 - base99:+.2f}" if proxied else ""
        ratio = rates[name] / rates["direct httpx"]
        print(
            f"{name:<24}{p50:>9.2f}{p99:>9.2f}{added50:>11}{added99:>11}{rates[name]:>10.0f}{ratio:>8.2f}"
            f"{cpu[name]:>20.2f}"
        )
    added = percentile(found["ExecuteSkill (HTTP)"], 0.5) - base50
    verdict = "met" if added <= 3.0 else "MISSED"
    print(f"\ntarget: at most 3 ms added at p50 through the HTTP endpoint: {added:.2f} ms, {verdict}")
    print(f"mean latency, for comparison: direct {statistics.mean(found['direct httpx']):.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls per path")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0, help="throughput run per path")
    args = parser.parse_args()

    skill_port = free_port()
    http_skill = multiprocessing.Process(target=run_http_skill, args=(skill_port,), daemon=True)
    http_skill.start()
    server = AgentOS(args.backend)
    agent: multiprocessing.Process | None = None
    try:
        names = setup(server.address, skill_port)
        ready = multiprocessing.Event()
        agent = multiprocessing.Process(
            target=run_channel_agent, args=(server.address, names[1], ready), daemon=True
        )
        agent.start()
        if not ready.wait(30):
            raise RuntimeError("the channel agent did not connect")
        asyncio.run(measure(args, server.address, server.process.pid, skill_port, names))
    finally:
        if agent is not None:
            agent.terminate()
        server.stop()
        http_skill.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
