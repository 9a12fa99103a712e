"""The ledger under concurrent calls through the real server: no overdraft, no lost update, no
deadlock, no double spend of an idempotency key."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import grpc

from agentos.payment.v1 import payment_pb2 as pb

from paykit import assert_ledger_balanced, balances, fund, key, set_tier, usdc
from testkit import AgentHandle, ServerHandle, create_agent, failure

T = TypeVar("T")


def reraise(error: BaseException) -> None:
    raise error


def all_at_once(count: int, call: Callable[[int], T]) -> list[T]:
    """Runs `call(i)` for i in range(count) on `count` threads released together."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_64_transfers_from_a_wallet_that_affords_23(server: ServerHandle, operator: AgentHandle) -> None:
    payer = create_agent(server, "spender")
    # Enterprise, so that the burst limit does not refuse the 64 calls before the ledger sees them.
    set_tier(server, operator, payer, pb.SUBSCRIPTION_TIER_ENTERPRISE)
    payees = [create_agent(server, f"receiver{i}") for i in range(4)]
    affordable, amount = 23, 1_000
    fund(server, operator, payer, affordable * amount)

    def transfer(index: int) -> str:
        request = pb.TransferRequest(
            recipient=payees[index % len(payees)].name, amount=usdc(amount), idempotency_key=key("race")
        )
        try:
            server.payment.Transfer(request, metadata=payer.auth)
            return "OK"
        except grpc.RpcError as error:
            refused = error
        found = failure(lambda: reraise(refused))
        assert found.code == grpc.StatusCode.FAILED_PRECONDITION, found
        return found.reason

    outcomes = Counter(all_at_once(64, transfer))
    assert outcomes == {"OK": affordable, "INSUFFICIENT_FUNDS": 64 - affordable}
    assert balances(server, payer) == (0, 0)
    assert sum(balances(server, p)[0] for p in payees) == affordable * amount
    history = server.payment.ListTransactions(
        pb.ListTransactionsRequest(parent=payer.name, kind=pb.TRANSACTION_KIND_TRANSFER, page_size=100),
        metadata=payer.auth,
    ).transactions
    assert len(history) == affordable
    report = assert_ledger_balanced(server, operator)
    assert report.accounts_checked > 0
    assert report.transactions_checked > affordable


def test_transfers_both_ways_at_once_do_not_deadlock(server: ServerHandle, operator: AgentHandle) -> None:
    left, right = create_agent(server, "left"), create_agent(server, "right")
    for side in (left, right):
        set_tier(server, operator, side, pb.SUBSCRIPTION_TIER_ENTERPRISE)
        fund(server, operator, side, 1_000)

    def transfer(index: int) -> None:
        payer, payee = (left, right) if index % 2 else (right, left)
        server.payment.Transfer(
            pb.TransferRequest(recipient=payee.name, amount=usdc(10 + index), idempotency_key=key("both")),
            metadata=payer.auth,
            timeout=30,
        )

    all_at_once(40, transfer)
    sent_left = sum(10 + i for i in range(40) if i % 2)
    sent_right = sum(10 + i for i in range(40) if not i % 2)
    assert balances(server, left)[0] == 1_000 - sent_left + sent_right
    assert balances(server, right)[0] == 1_000 - sent_right + sent_left
    assert_ledger_balanced(server, operator)


def test_one_key_sent_16_times_at_once_moves_money_once(server: ServerHandle, operator: AgentHandle) -> None:
    payer, payee = create_agent(server, "eager"), create_agent(server, "patient")
    set_tier(server, operator, payer, pb.SUBSCRIPTION_TIER_ENTERPRISE)
    fund(server, operator, payer, 1_000)
    request = pb.TransferRequest(recipient=payee.name, amount=usdc(100), idempotency_key=key("once"))
    names = all_at_once(16, lambda _: server.payment.Transfer(request, metadata=payer.auth).transaction.name)
    assert len(set(names)) == 1
    assert balances(server, payer)[0] == 900
    assert balances(server, payee)[0] == 100
    assert_ledger_balanced(server, operator)


def test_concurrent_holds_never_overdraw(server: ServerHandle, operator: AgentHandle) -> None:
    agent: AgentHandle = create_agent(server, "holder")
    set_tier(server, operator, agent, pb.SUBSCRIPTION_TIER_ENTERPRISE)
    fund(server, operator, agent, 10 * 70)

    def hold(_: int) -> bool:
        try:
            server.payment.CreateHold(
                pb.CreateHoldRequest(amount=usdc(70), idempotency_key=key("h")), metadata=agent.auth
            )
            return True
        except grpc.RpcError as error:
            refused = error
        assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
        return False

    assert sum(all_at_once(32, hold)) == 10
    assert balances(server, agent) == (0, 700)
    assert_ledger_balanced(server, operator)
