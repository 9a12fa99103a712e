"""The ledger's domain API as Marketplace and Execution will call it (on the server's own loop),
checked afterwards through the RPCs."""

from __future__ import annotations

import grpc
import pytest

from agentos.payment.v1 import payment_pb2 as pb
from agentos_server.domain.budgets import BudgetExceeded
from agentos_server.domain.errors import DomainError
from agentos_server.domain.idempotency import IdempotencyKeyReused, request_fingerprint
from agentos_server.domain.ids import new_id
from agentos_server.domain.ledger import (
    ADJUSTMENT,
    PURCHASE,
    Fee,
    InsufficientFunds,
    Line,
    platform_account,
    wallet_account,
)
from agentos_server.domain.money import Money
from agentos_server.domain.payments import Payments

from paykit import USDC, assert_ledger_balanced, balances, fund, key, set_tier, usdc
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent


def payments(server: ServerHandle) -> Payments:
    return server.runtime.payments


def test_purchase_with_fee_split_and_full_refund(server: ServerHandle, operator: AgentHandle) -> None:
    buyer, seller, third = (
        create_agent(server, "buyer"),
        create_agent(server, "seller"),
        create_agent(server, "third"),
    )
    fund(server, operator, buyer, 10 * USDC)
    ledger = payments(server).ledger
    fees_before = server.run(ledger.balance(platform_account("fees", "USDC")))
    purchase = server.run(
        ledger.pay(
            buyer.id,
            seller.id,
            Money("USDC", 4 * USDC),
            fee=ledger.platform_fee(),
            kind=PURCHASE,
            reference="purchases/p1",
            budget_scopes=("skills/summariser",),
        )
    )
    # The default fee is 2.5 %: 100,000 of 4,000,000.
    assert sorted((e.account, e.amount) for e in purchase.entries) == sorted(
        [
            (wallet_account(buyer.id, "USDC"), -4 * USDC),
            (wallet_account(seller.id, "USDC"), 3_900_000),
            (platform_account("fees", "USDC"), 100_000),
        ]
    )
    fetched = server.payment.GetTransaction(pb.GetTransactionRequest(name=purchase.name), metadata=buyer.auth)
    assert fetched.transaction.kind == pb.TRANSACTION_KIND_PURCHASE
    assert fetched.transaction.reference == "purchases/p1"
    assert balances(server, seller) == (3_900_000, 0)
    assert server.run(ledger.balance(platform_account("fees", "USDC"))) == fees_before + 100_000

    refund = server.run(ledger.reverse(purchase.id, memo="refund of purchases/p1"))
    assert refund.reverses == purchase.id
    assert sorted((e.account, e.amount) for e in refund.entries) == sorted(
        (e.account, -e.amount) for e in purchase.entries
    )
    assert balances(server, buyer) == (10 * USDC, 0)
    assert balances(server, seller) == (0, 0)
    assert server.run(ledger.balance(platform_account("fees", "USDC"))) == fees_before
    shown = server.payment.GetTransaction(pb.GetTransactionRequest(name=refund.name), metadata=buyer.auth)
    assert shown.transaction.kind == pb.TRANSACTION_KIND_REFUND
    assert shown.transaction.reverses == purchase.name

    with pytest.raises(DomainError) as twice:
        server.run(ledger.reverse(purchase.id))
    assert twice.value.reason == "ALREADY_REVERSED"

    # A refund the seller can no longer cover fails and moves nothing.
    second = server.run(
        ledger.pay(buyer.id, seller.id, Money("USDC", USDC), fee=Fee(amount=10), kind=PURCHASE)
    )
    server.payment.Transfer(
        pb.TransferRequest(recipient=third.name, amount=usdc(USDC - 10), idempotency_key=key()),
        metadata=seller.auth,
    )
    with pytest.raises(InsufficientFunds):
        server.run(ledger.reverse(second.id))
    assert balances(server, buyer) == (9 * USDC, 0)
    assert_ledger_balanced(server, operator)


def test_work_in_the_callers_transaction_commits_or_rolls_back_together(
    server: ServerHandle, operator: AgentHandle
) -> None:
    a, b, c = create_agent(server, "first"), create_agent(server, "second"), create_agent(server, "third")
    fund(server, operator, a, 5 * USDC)
    p = payments(server)

    async def two_payments(second_amount: int) -> None:
        async with p.ledger.db.transaction() as session:
            purchase_id = new_id()
            prior = await p.idempotency.claim(
                session,
                caller=a.name,
                operation="marketplace.Purchase",
                key=f"buy-{second_amount}",
                fingerprint=request_fingerprint("skills/x", second_amount),
                result=f"purchases/{purchase_id}",
                now=server.runtime.clock.now(),
            )
            assert prior is None
            await p.ledger.pay(a.id, b.id, Money("USDC", 2 * USDC), kind=PURCHASE, session=session)
            await p.ledger.pay(b.id, c.id, Money("USDC", second_amount), kind=PURCHASE, session=session)

    before = server.row_counts()
    with pytest.raises(InsufficientFunds):
        server.run(two_payments(3 * USDC))
    assert server.row_counts() == before
    assert balances(server, a) == (5 * USDC, 0)

    server.run(two_payments(USDC))
    assert (balances(server, a)[0], balances(server, b)[0], balances(server, c)[0]) == (3 * USDC, USDC, USDC)
    assert_ledger_balanced(server, operator)


def test_idempotency_helper_for_other_services(server: ServerHandle) -> None:
    p = payments(server)
    now = server.runtime.clock.now()

    async def claim(fingerprint: str, result: str) -> str | None:
        async with p.ledger.db.transaction() as session:
            return await p.idempotency.claim(
                session,
                caller="agents/someone",
                operation="execution.StartRun",
                key="run-1",
                fingerprint=fingerprint,
                result=result,
                now=now,
            )

    first = request_fingerprint("daemons/d@1.0.0", {"topic": "cats"})
    assert server.run(claim(first, "executions/e1")) is None
    assert server.run(claim(first, "executions/e2")) == "executions/e1"
    with pytest.raises(IdempotencyKeyReused):
        server.run(claim(request_fingerprint("daemons/d@1.0.0", {"topic": "dogs"}), "executions/e3"))


def test_execution_holds_captures_to_a_seller_and_releases_the_rest(
    server: ServerHandle, operator: AgentHandle
) -> None:
    runner, seller = create_agent(server, "runner"), create_agent(server, "skill-seller")
    fund(server, operator, runner, 10 * USDC)
    ledger = payments(server).ledger
    hold = server.run(
        ledger.hold(runner.id, Money("USDC", 5 * USDC), purpose="run", reference="executions/e9")
    )
    assert balances(server, runner) == (5 * USDC, 5 * USDC)
    captured, posted = server.run(
        ledger.capture(
            hold.id, amount=3 * USDC, payee=seller.id, fee=Fee(basis_points=1_000), reference="executions/e9"
        )
    )
    assert captured.state == "captured"
    assert captured.captured_amount == 3 * USDC
    assert sorted((e.account, e.amount) for e in posted.entries) == sorted(
        [
            (f"agents/{runner.id}/wallets/USDC/held", -5 * USDC),
            (wallet_account(seller.id, "USDC"), 2_700_000),
            (platform_account("fees", "USDC"), 300_000),
            (wallet_account(runner.id, "USDC"), 2 * USDC),
        ]
    )
    assert balances(server, runner) == (7 * USDC, 0)
    assert balances(server, seller) == (2_700_000, 0)
    with pytest.raises(DomainError) as again:
        server.run(ledger.capture(hold.id, amount=1))
    assert again.value.reason == "HOLD_NOT_ACTIVE"

    # A capture can be reversed too; what was taken from the hold returns to the wallet.
    server.run(ledger.reverse(posted.id))
    assert balances(server, runner) == (10 * USDC, 0)
    assert balances(server, seller) == (0, 0)
    assert_ledger_balanced(server, operator)


def test_budget_scopes_and_holds_reserving_budget(server: ServerHandle, operator: AgentHandle) -> None:
    agent = create_agent(server, "metered")
    fund(server, operator, agent, 20 * USDC)
    daemon_budget = server.payment.CreateBudget(
        pb.CreateBudgetRequest(
            parent=agent.name,
            budget=pb.Budget(scope="daemons/summarise", period=pb.BUDGET_PERIOD_DAY, limit=usdc(10 * USDC)),
        ),
        metadata=agent.auth,
    ).budget
    p = payments(server)

    def spent() -> int:
        budget = server.payment.GetBudget(
            pb.GetBudgetRequest(name=daemon_budget.name), metadata=agent.auth
        ).budget
        assert budget.spent + budget.remaining == 10 * USDC
        return budget.spent

    server.run(p.ledger.charge(agent.id, Money("USDC", 3 * USDC), budget_scopes=("daemons/summarise",)))
    assert spent() == 3 * USDC
    # Spending on something else does not count against the daemon's budget.
    server.run(p.ledger.charge(agent.id, Money("USDC", USDC), budget_scopes=("daemons/other",)))
    assert spent() == 3 * USDC

    hold = server.run(p.ledger.hold(agent.id, Money("USDC", 6 * USDC), budget_scopes=("daemons/summarise",)))
    assert spent() == 9 * USDC
    before = server.row_counts()
    with pytest.raises(BudgetExceeded) as exceeded:
        server.run(p.ledger.charge(agent.id, Money("USDC", 2 * USDC), budget_scopes=("daemons/summarise",)))
    assert exceeded.value.code.value == "RESOURCE_EXHAUSTED"
    assert exceeded.value.retry_after_seconds is not None
    assert server.row_counts() == before
    server.run(p.ledger.capture(hold.id, amount=USDC))
    assert spent() == 4 * USDC
    second = server.run(
        p.ledger.hold(agent.id, Money("USDC", 5 * USDC), budget_scopes=("daemons/summarise",))
    )
    assert spent() == 9 * USDC
    server.run(p.ledger.release(second.id))
    assert spent() == 4 * USDC
    assert balances(server, agent) == (15 * USDC, 0)
    assert_ledger_balanced(server, operator)


def test_transfer_over_a_budget_is_refused_before_anything_moves(
    server: ServerHandle, operator: AgentHandle, other_agent: AgentHandle
) -> None:
    agent = create_agent(server, "capped")
    fund(server, operator, agent, 10 * USDC)
    budget = server.payment.CreateBudget(
        pb.CreateBudgetRequest(
            parent=agent.name, budget=pb.Budget(period=pb.BUDGET_PERIOD_MONTH, limit=usdc(3 * USDC))
        ),
        metadata=agent.auth,
    ).budget

    def transfer(amount: int) -> None:
        server.payment.Transfer(
            pb.TransferRequest(recipient=other_agent.name, amount=usdc(amount), idempotency_key=key()),
            metadata=agent.auth,
        )

    transfer(2 * USDC)
    found = assert_refused(
        server, lambda: transfer(2 * USDC), grpc.StatusCode.RESOURCE_EXHAUSTED, reason="BUDGET_EXCEEDED"
    )
    assert found.retry_delay_seconds is not None
    assert found.retry_delay_seconds > 0
    assert found.metadata["budget"] == budget.name
    assert_refused(
        server,
        lambda: server.payment.CreateHold(
            pb.CreateHoldRequest(amount=usdc(2 * USDC), idempotency_key=key()), metadata=agent.auth
        ),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        reason="BUDGET_EXCEEDED",
    )
    transfer(USDC)
    shown = server.payment.GetBudget(pb.GetBudgetRequest(name=budget.name), metadata=agent.auth).budget
    assert (shown.spent, shown.remaining) == (3 * USDC, 0)
    assert balances(server, agent) == (7 * USDC, 0)


def test_service_prices_and_credit_charges(server: ServerHandle, operator: AgentHandle) -> None:
    agent, big = create_agent(server, "caller"), create_agent(server, "enterprise")
    fund(server, operator, agent, USDC)
    billing = payments(server).billing
    charged = server.run(billing.charge_service(agent.id, "sentiment-analysis", 3, reference="calls/c1"))
    assert (wallet_account(agent.id, "USDC"), -3_000) in [(e.account, e.amount) for e in charged.entries]
    assert balances(server, agent) == (USDC - 3_000, 0)

    # A free agent's first credit charge of the month is preceded by the month's grant.
    ledger = payments(server).ledger
    server.run(ledger.charge(agent.id, Money("CREDIT", 30), reference="executions/e1"))
    assert balances(server, agent, "CREDIT") == (70, 0)
    with pytest.raises(InsufficientFunds):
        server.run(ledger.charge(agent.id, Money("CREDIT", 71)))

    # An enterprise agent's credit charges are minted: it never runs out, and the credits it got
    # while it was on the free tier (changing tier was its first use of the month) stay untouched.
    set_tier(server, operator, big, pb.SUBSCRIPTION_TIER_ENTERPRISE)
    posted = server.run(ledger.charge(big.id, Money("CREDIT", 50_000)))
    assert (platform_account("issuance", "CREDIT"), -50_000) in [
        (e.account, e.amount) for e in posted.entries
    ]
    assert balances(server, big, "CREDIT") == (100, 0)
    assert_ledger_balanced(server, operator)


def test_post_checks_balance_and_accounts(server: ServerHandle, operator: AgentHandle) -> None:
    ledger = payments(server).ledger
    agent = create_agent(server, "adjusted")
    with pytest.raises(DomainError) as unbalanced:
        server.run(ledger.post(ADJUSTMENT, [Line(wallet_account(agent.id, "USDC"), "USDC", 5)]))
    assert unbalanced.value.reason == "UNBALANCED_TRANSACTION"
    with pytest.raises(DomainError) as unknown:
        server.run(
            ledger.post(
                ADJUSTMENT,
                [
                    Line("platform/nowhere/USDC", "USDC", 5),
                    Line(wallet_account(agent.id, "USDC"), "USDC", -5),
                ],
            )
        )
    assert unknown.value.reason == "UNKNOWN_ACCOUNT"
    with pytest.raises(DomainError) as nobody:
        server.run(
            ledger.post(
                ADJUSTMENT,
                [
                    Line(platform_account("external", "USDC"), "USDC", -5),
                    Line(wallet_account("ghost-agent", "USDC"), "USDC", 5),
                ],
            )
        )
    assert nobody.value.reason == "AGENT_NOT_FOUND"
    posted = server.run(
        ledger.post(
            ADJUSTMENT,
            [
                Line(platform_account("escrow", "USDC"), "USDC", 5),
                Line(platform_account("external", "USDC"), "USDC", -5),
            ],
            memo="parked",
        )
    )
    assert posted.kind == ADJUSTMENT
    with pytest.raises(InsufficientFunds):
        server.run(
            ledger.post(
                ADJUSTMENT,
                [
                    Line(platform_account("escrow", "USDC"), "USDC", -6),
                    Line(platform_account("external", "USDC"), "USDC", 6),
                ],
            )
        )
    assert_ledger_balanced(server, operator)


def test_the_postgresql_hot_path_writes_what_the_general_path_writes(
    server: ServerHandle, operator: AgentHandle
) -> None:
    buyer, seller = create_agent(server, "twin-buyer"), create_agent(server, "twin-seller")
    fund(server, operator, buyer, 10_000)
    fund(server, operator, seller, 1)
    ledger = payments(server).ledger
    if server.runtime.db.is_postgres:
        hot = server.run(
            ledger.try_fast_pay(
                buyer.id,
                seller.id,
                Money("USDC", 1_000),
                fee_amount=1_000,
                kind=PURCHASE,
                reference="purchases/twin",
                memo="all fee",
                initiator=buyer.name,
                budget_scopes=(),
                budgeted=True,
                idempotency_key="",
                transaction_id=None,
            )
        )
        assert hot is not None, "the hot path should take a plain payment"
    else:
        hot = server.run(
            ledger.pay(
                buyer.id,
                seller.id,
                Money("USDC", 1_000),
                fee=Fee(amount=1_000),
                kind=PURCHASE,
                reference="purchases/twin",
                memo="all fee",
            )
        )

    async def general() -> object:
        async with ledger.db.transaction() as session:
            return await ledger.pay(
                buyer.id,
                seller.id,
                Money("USDC", 1_000),
                fee=Fee(amount=1_000),
                kind=PURCHASE,
                reference="purchases/twin",
                memo="all fee",
                session=session,
            )

    slow = server.run(general())
    stored_hot = server.run(ledger.get_transaction(hot.id))
    stored_slow = server.run(ledger.get_transaction(slow.id))  # type: ignore[attr-defined]
    assert stored_hot is not None
    assert stored_slow is not None
    assert stored_hot.entries == hot.entries
    # A fee that takes everything leaves no zero entry for the seller, on either path.
    assert stored_hot.entries == stored_slow.entries
    assert len(stored_hot.entries) == 2
    same = ("kind", "memo", "initiator", "reference", "reverses", "idempotency_key")
    assert [getattr(stored_hot, f) for f in same] == [getattr(stored_slow, f) for f in same]
    assert balances(server, buyer) == (8_000, 0)
    assert balances(server, seller) == (1, 0)
    assert_ledger_balanced(server, operator)
