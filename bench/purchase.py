"""Purchases per second through the gRPC API, against the ledger's transfer rate in the same run.

    .venv/bin/python bench/purchase.py [--seconds 5] [--buyers 32] [--sellers 32,1] [--servers 1]
                                       [--repeat 1] [--no-redis]

Reuses bench/ledger.py: the same server (`agentos serve` as a process of its own on a fresh
PostgreSQL database, Redis for the admission gate), the same agents (one funded payer on the
enterprise tier and one payee per client) and the same transfer measurement, which is the
baseline: PaymentService.Transfer of 1 atomic USDC at the same number of clients.

The purchases: every seller publishes a skill sold in prepaid units (1,000 atomic USDC a unit),
the one pricing a buyer may buy again and again; each buyer is an asyncio task with a grpc.aio
channel of its own that sends MarketplaceService.Purchase of one unit (a fresh idempotency key each
time) as fast as the answers come back. Each purchase is the whole flow: the idempotency claim, the
listing, a licence, the purchase row, the listing's purchase count, the seller's reputation and
sales, the seller's search documents, and one ledger transaction with the 2.5 % platform fee. With
--sellers 32 every buyer buys from a seller of its own; with 1, all buy the same listing (the
hottest case: one seller's rows serialise every purchase). --servers N runs N server processes on
one port (bench/ledger.py's replicas); --repeat N alternates transfers and purchases N times and
prints medians (useful on a shared machine).

At the end: the number of purchase rows must equal the purchases answered OK, every seller's
balance must be exactly its share, and CheckLedger must find the ledger balanced; the exit status
is 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import psycopg

from agentos.common.v1 import common_pb2
from agentos.marketplace.v1 import marketplace_pb2 as mpb
from agentos.marketplace.v1 import marketplace_pb2_grpc
from agentos.payment.v1 import payment_pb2 as ppb
from agentos.payment.v1 import payment_pb2_grpc
from agentos.registry.v1 import registry_pb2 as rpb
from agentos.registry.v1 import registry_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
ledger_bench: Any = importlib.import_module("ledger")

UNIT_PRICE = 1_000
FEE_BPS = 250


def make_sellers(server: Any, count: int) -> list[tuple[str, str]]:
    """(name, api key) of `count` sellers, each publishing one prepaid-unit skill."""
    channel = grpc.insecure_channel(server.address)
    registry = registry_pb2_grpc.RegistryServiceStub(channel)
    found = []
    for index in range(count):
        made = registry.CreateAgent(
            rpb.CreateAgentRequest(
                agent_id=f"seller-{index}-{secrets.token_hex(3)}",
                agent=rpb.Agent(display_name=f"Seller {index}"),
            )
        )
        found.append((made.agent.name, made.api_key))
    channel.close()
    return found


def publish_listings(server: Any, sellers: list[tuple[str, str]]) -> list[str]:
    channel = grpc.insecure_channel(server.address)
    registry = registry_pb2_grpc.RegistryServiceStub(channel)
    listings = []
    for index, (_, key) in enumerate(sellers):
        made = registry.CreateSkill(
            rpb.CreateSkillRequest(
                skill=rpb.Skill(
                    display_name=f"Bench skill {index}",
                    version="1.0.0",
                    description="Counts words",
                    category=rpb.CATEGORY_UTILITY,
                    pricing=rpb.Pricing(
                        model=rpb.PRICING_MODEL_USAGE,
                        price=common_pb2.Money(asset="USDC", amount=UNIT_PRICE),
                        usage_unit="call",
                        usage_billing=rpb.USAGE_BILLING_PREPAID_UNITS,
                    ),
                    endpoint=rpb.SkillEndpoint(https_url="https://seller.example/words"),
                )
            ),
            metadata=ledger_bench.bearer(key),
        )
        listings.append(made.skill.name)
    channel.close()
    return listings


async def purchases(address: str, buyers: list[tuple[str, str]], seconds: float) -> tuple[float, int]:
    """(purchases/s, purchases answered OK over warm-up and measurement) with one task and one
    channel per buyer, as bench/ledger.py does for transfers: (api key, listing)."""
    channels = [
        grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in buyers
    ]
    stubs = [marketplace_pb2_grpc.MarketplaceServiceStub(channel) for channel in channels]
    done = 0
    total = 0
    failed = 0
    stop_at = 0.0

    async def buyer(index: int) -> None:
        nonlocal done, total, failed
        key, listing = buyers[index]
        metadata = ledger_bench.bearer(key)
        stub = stubs[index]
        sequence = 0
        while time.perf_counter() < stop_at:
            sequence += 1
            request = mpb.PurchaseRequest(
                listing=listing,
                license_type=rpb.LICENSE_TYPE_PERSONAL,
                units=1,
                idempotency_key=f"p{index}-{sequence}-{secrets.token_hex(4)}",
            )
            try:
                await stub.Purchase(request, metadata=metadata)
                done += 1
                total += 1
            except grpc.aio.AioRpcError as error:
                failed += 1
                if failed < 5:
                    print(f"  purchase failed: {error.code().name} {error.details()}", file=sys.stderr)

    try:
        # Warm up (connections, prepared statements, the listing cache, sellers' accounts).
        stop_at = time.perf_counter() + 1.0
        await asyncio.gather(*(buyer(i) for i in range(len(buyers))))
        done = 0
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(buyer(i) for i in range(len(buyers))))
        elapsed = time.perf_counter() - started
    finally:
        for channel in channels:
            await channel.close()
    if failed:
        print(f"  {failed} purchases failed", file=sys.stderr)
    return done / elapsed, total


def verify(server: Any, sellers: list[tuple[str, str]], expected: int) -> bool:
    """Purchase rows, sellers' balances and CheckLedger against what the clients saw."""
    ok = True
    with psycopg.connect(ledger_bench.database_url(server.name)) as conn:
        rows = conn.execute("SELECT count(*) FROM purchases WHERE state = 'completed'").fetchone()
        count = int(rows[0]) if rows else -1
        balances = conn.execute(
            "SELECT coalesce(sum(balance), 0) FROM ledger_accounts WHERE name = ANY(%s)",
            ([f"{seller}/wallets/USDC" for seller, _ in sellers],),
        ).fetchone()
        received = int(balances[0]) if balances else -1
    share = UNIT_PRICE - UNIT_PRICE * FEE_BPS // 10_000
    print(f"purchases answered OK {expected}, purchase rows {count}, sellers received {received}")
    if count != expected or received != expected * share:
        print(f"MISMATCH: expected {expected} rows and {expected * share} received", file=sys.stderr)
        ok = False
    channel = grpc.insecure_channel(server.address)
    report = payment_pb2_grpc.PaymentServiceStub(channel).CheckLedger(
        ppb.CheckLedgerRequest(), metadata=ledger_bench.bearer(server.operator_key)
    )
    channel.close()
    print(
        f"CheckLedger: {'balanced' if report.balanced else 'UNBALANCED'} "
        f"({report.accounts_checked} accounts, {report.transactions_checked} transactions, "
        f"{len(report.problems)} problems)"
    )
    for problem in list(report.problems)[:10]:
        print(f"  {problem}", file=sys.stderr)
    return ok and report.balanced


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--buyers", type=int, default=32)
    parser.add_argument("--sellers", default="32,1", help="comma-separated seller counts to run")
    parser.add_argument("--servers", type=int, default=1, help="server processes sharing the port")
    parser.add_argument(
        "--repeat", type=int, default=1, help="alternate transfers and purchases N times; print medians"
    )
    parser.add_argument("--no-redis", action="store_true", help="run the admission gate in-process")
    args = parser.parse_args()
    seller_counts = [int(s) for s in args.sellers.split(",")]

    server = ledger_bench.Server(use_redis=not args.no_redis, processes=args.servers)
    server.start()
    balanced = False
    try:
        payers = ledger_bench.prepare_agents(server, args.buyers)
        sellers = make_sellers(server, max(seller_counts))
        listings = publish_listings(server, sellers)
        print(
            f"{args.buyers} buyers, {args.servers} server process(es), {os.cpu_count()} CPUs, "
            f"Redis {'off' if args.no_redis else 'on'}, {args.seconds:g} s per measurement; "
            "baseline: bench/ledger.py transfers at the same number of clients"
        )
        print(f"{'sellers':>8} {'purchases/s':>12} {'transfers/s':>12} {'ratio':>7}")
        answered = 0
        for count in seller_counts:
            buyers = [(payer_key, listings[index % count]) for index, (payer_key, _, _) in enumerate(payers)]
            rates, bases = [], []
            for _ in range(args.repeat):
                bases.append(
                    asyncio.run(ledger_bench.transfers(server.address, payers, args.buyers, args.seconds))
                )
                rate, total = asyncio.run(purchases(server.address, buyers, args.seconds))
                rates.append(rate)
                answered += total
            rate, base = statistics.median(rates), statistics.median(bases)
            print(f"{count:>8} {rate:>12.0f} {base:>12.0f} {rate / base:>7.2f}", flush=True)
        balanced = verify(server, sellers, answered)
    finally:
        server.stop()
    return 0 if balanced else 1


if __name__ == "__main__":
    sys.exit(main())
