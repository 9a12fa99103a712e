"""The one-trip settlement (infra/settle_fast.py) writes exactly what the general path writes, and
steps aside (writing nothing) whenever the general path has something to decide."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from agentos.payment.v1 import payment_pb2 as ppb
from agentos.registry.v1 import registry_pb2 as rpb
from agentos_server.infra import sqlite_driver
from agentos_server.infra.tables.marketplace import LicenseRow
from agentos_server.infra.tables.payment import IdempotencyKeyRow, LedgerEntryRow, LedgerTransactionRow
from agentos_server.infra.tables.proxy import UsageRecordRow

from marketkit import buy
from paykit import balances, fund
from proxykit import SkillHttpServer, execute, https_skill, pay_per_call, prepaid_units, usdc
from testkit import BACKEND, AgentHandle, ServerHandle, create_agent, create_operator, start_server

PRICE = 1_000


@pytest.fixture(scope="module")
def settling() -> Iterator[ServerHandle]:
    handle = start_server(proxy_license_rate_per_second=1000)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[SkillHttpServer]:
    server = SkillHttpServer().start()
    yield server
    server.stop()


def written(server: ServerHandle) -> int:
    return server.runtime.proxy.settler.written


def general_path(server: ServerHandle, on: bool) -> None:
    proxy = server.runtime.proxy
    proxy.proxy.set_fast_settlement(None if on else proxy.settler)


def rows_of(server: ServerHandle, usage_name: str) -> dict[str, Any]:
    """The rows one call wrote, without the values that differ from call to call by nature."""
    usage_id = usage_name.removeprefix("usageRecords/")

    async def read() -> dict[str, Any]:
        async with server.runtime.db.snapshot() as session:
            usage = await session.get(UsageRecordRow, usage_id)
            assert usage is not None
            found: dict[str, Any] = {
                "usage": {
                    c.name: getattr(usage, c.name)
                    for c in UsageRecordRow.__table__.columns
                    # What differs from call to call by nature (the answer itself is compared apart).
                    if c.name
                    not in (
                        "id",
                        "created_at",
                        "duration_ms",
                        "transaction_id",
                        "request_bytes",
                        "response_bytes",
                        "result",
                    )
                }
            }
            if usage.transaction_id:
                tx = await session.get(LedgerTransactionRow, usage.transaction_id)
                assert tx is not None
                found["transaction"] = {
                    "kind": tx.kind,
                    "initiator": tx.initiator,
                    "memo": tx.memo,
                    "idempotency_key": tx.idempotency_key.replace(usage_id, "<id>"),
                    "reference": tx.reference.replace(usage_id, "<id>"),
                    "reverses": tx.reverses,
                    "same_time": abs((tx.created_at - usage.created_at).total_seconds()) < 1,
                }
                entries = await session.scalars(
                    select(LedgerEntryRow).where(LedgerEntryRow.transaction_id == tx.id)
                )
                found["entries"] = sorted((e.account, e.agent_id, e.asset, e.amount) for e in entries)
            claims = await session.scalars(
                select(IdempotencyKeyRow).where(IdempotencyKeyRow.result == usage_name)
            )
            found["claims"] = [(c.caller, c.operation, c.key) for c in claims]
            return found

    return server.run(read())


def stored_result(server: ServerHandle, usage_name: str) -> Any:
    async def read() -> Any:
        async with server.runtime.db.snapshot() as session:
            usage = await session.get(UsageRecordRow, usage_name.removeprefix("usageRecords/"))
            assert usage is not None
            return usage.result

    return server.run(read())


def licence_row(server: ServerHandle, license_name: str) -> LicenseRow:
    async def read() -> LicenseRow:
        async with server.runtime.db.snapshot() as session:
            row = await session.get(LicenseRow, license_name.removeprefix("licenses/"))
            assert row is not None
            return row

    return server.run(read())


def parties(server: ServerHandle, op: AgentHandle, http: SkillHttpServer, pricing: Any, **purchase: Any):  # type: ignore[no-untyped-def]
    seller, buyer = create_agent(server, "seller"), create_agent(server, "buyer")
    fund(server, op, buyer, 100_000)
    skill = https_skill(server, seller, http, pricing=pricing)
    bought = buy(server, buyer, skill.name, **purchase)
    return seller, buyer, skill, bought


def paying_buyer(server: ServerHandle, http: SkillHttpServer) -> tuple[AgentHandle, Any]:
    """A funded buyer of a pay-per-call skill, after one call: the seller's account exists, so the
    next calls can settle in one trip."""
    op = create_operator(server)
    _, buyer, skill, _ = parties(server, op, http, pay_per_call(PRICE))
    execute(server, buyer, skill.name, "echo", {"text": "warm up the seller's account"})
    return buyer, skill


def test_a_paid_call_writes_the_same_rows_on_both_paths(
    settling: ServerHandle, http: SkillHttpServer
) -> None:
    op = create_operator(settling)
    seller, buyer, skill, _ = parties(settling, op, http, pay_per_call(PRICE))
    # The seller's first sale: its wallet account does not exist yet, so the one-trip write steps
    # aside and the general path creates it.
    before = written(settling)
    first = execute(settling, buyer, skill.name, "echo", {"text": "first"})
    assert written(settling) == before
    fast = execute(settling, buyer, skill.name, "echo", {"text": "fast"}, key="k-fast")
    assert written(settling) == before + 1
    general_path(settling, True)
    try:
        slow = execute(settling, buyer, skill.name, "echo", {"text": "slow"}, key="k-slow")
    finally:
        general_path(settling, False)
    assert written(settling) == before + 1
    fast_rows, slow_rows = rows_of(settling, fast.usage.name), rows_of(settling, slow.usage.name)
    assert fast_rows["claims"] == [(buyer.name, "execution.ExecuteSkill", "k-fast")]
    assert slow_rows["claims"] == [(buyer.name, "execution.ExecuteSkill", "k-slow")]
    first_rows = rows_of(settling, first.usage.name)
    for rows in (fast_rows, slow_rows, first_rows):
        rows.pop("claims")
    assert fast_rows == slow_rows == first_rows
    assert stored_result(settling, fast.usage.name) == {"echo": {"text": "fast"}, "buyer": buyer.name}
    assert stored_result(settling, first.usage.name) is None  # kept only under an idempotency key
    assert fast_rows["entries"] == sorted(
        [
            (f"agents/{buyer.id}/wallets/USDC", buyer.id, "USDC", -PRICE),
            (f"agents/{seller.id}/wallets/USDC", seller.id, "USDC", PRICE - 25),
            ("platform/fees/USDC", None, "USDC", 25),
        ]
    )
    assert balances(settling, buyer) == (100_000 - 3 * PRICE, 0)
    assert balances(settling, seller) == (3 * (PRICE - 25), 0)
    # The repeat of a key settled on the fast path answers as the first time.
    assert execute(settling, buyer, skill.name, "echo", {"text": "fast"}, key="k-fast") == fast


def test_a_unit_is_taken_alike_on_both_paths(settling: ServerHandle, http: SkillHttpServer) -> None:
    op = create_operator(settling)
    _, buyer, skill, bought = parties(settling, op, http, prepaid_units(100), units=2)
    before = written(settling)
    fast = execute(settling, buyer, skill.name, "echo", {"text": "one"})
    assert written(settling) == before + 1
    assert licence_row(settling, bought.license.name).usage_count == 1
    general_path(settling, True)
    try:
        slow = execute(settling, buyer, skill.name, "echo", {"text": "two"})
    finally:
        general_path(settling, False)
    assert rows_of(settling, fast.usage.name) == rows_of(settling, slow.usage.name)
    assert fast.usage.used_unit
    exhausted = licence_row(settling, bought.license.name)
    assert (exhausted.usage_count, exhausted.state) == (2, "exhausted")
    assert exhausted.ended_at is not None

    # The last unit taken on the fast path marks the licence exhausted the same way.
    _, buyer2, skill2, bought2 = parties(settling, op, http, prepaid_units(100), units=1)
    execute(settling, buyer2, skill2.name, "echo", {"text": "only"})
    last = licence_row(settling, bought2.license.name)
    assert (last.usage_count, last.state, last.ended_at is not None) == (1, "exhausted", True)


def test_a_budget_sends_the_charge_down_the_general_path(
    settling: ServerHandle, http: SkillHttpServer
) -> None:
    buyer, skill = paying_buyer(settling, http)
    settling.payment.CreateBudget(
        ppb.CreateBudgetRequest(
            parent=buyer.name,
            budget=ppb.Budget(period=ppb.BUDGET_PERIOD_MONTH, limit=usdc(10 * PRICE)),
        ),
        metadata=buyer.auth,
    )
    before = written(settling)
    execute(settling, buyer, skill.name, "echo", {"text": "budgeted"})
    # Counted against the budget, which only the general path does.
    assert written(settling) == before
    budgets = settling.payment.ListBudgets(ppb.ListBudgetsRequest(parent=buyer.name), metadata=buyer.auth)
    assert budgets.budgets[0].spent == PRICE


@pytest.mark.skipif(BACKEND != "sqlite", reason="how the SQLite settlement meets the file's write lock")
def test_a_settlement_waits_for_the_write_lock_off_the_event_loop(
    settling: ServerHandle, http: SkillHttpServer
) -> None:
    buyer, skill = paying_buyer(settling, http)
    settler = settling.runtime.proxy.settler
    inline, waited = settler.inline, settler.waited
    execute(settling, buyer, skill.name, "echo", {"text": "lock free"})
    assert (settler.inline, settler.waited) == (inline + 1, waited)

    # Another writer holds the lock: the settlement waits on its thread (the loop keeps serving:
    # GetSkill answers meanwhile), and writes once the lock is let go.
    path = make_url(settling.runtime.db.url).database
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            call = pool.submit(execute, settling, buyer, skill.name, "echo", {"text": "behind a lock"})
            deadline = time.monotonic() + 10
            while settler.waited == waited and time.monotonic() < deadline:
                time.sleep(0.01)
            assert settler.waited == waited + 1
            assert not call.done()
            got = settling.registry.GetSkill(rpb.GetSkillRequest(name=skill.name), metadata=buyer.auth)
            assert got.skill.name == skill.name
            blocker.execute("ROLLBACK")
            answered = call.result(timeout=10)
    finally:
        if blocker.in_transaction:
            blocker.execute("ROLLBACK")
        blocker.close()
    assert answered.result.struct_value["echo"]["text"] == "behind a lock"
    assert balances(settling, buyer) == (100_000 - 3 * PRICE, 0)


@pytest.mark.skipif(BACKEND != "sqlite", reason="the SQLite settlement's WAL checkpoints")
def test_settlements_on_the_loop_leave_checkpoints_to_the_thread(
    settling: ServerHandle, http: SkillHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 3)
    buyer, skill = paying_buyer(settling, http)
    settler = settling.runtime.proxy.settler
    checkpointer = settling.runtime.db.checkpointer
    assert checkpointer is not None
    inline, before = settler.inline, checkpointer.checkpoints
    for n in range(7):
        execute(settling, buyer, skill.name, "echo", {"text": f"call {n}"})
    assert settler.inline >= inline + 7
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints < before + 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checkpointer.checkpoints >= before + 2
    # The loop's own connection never checkpoints: SQLite's automatic threshold is off on it.
    assert settler._connect_inline().execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
