"""Time: hold expiry by the sweeper, budget periods, monthly tier grants and renewals, and how long
idempotency keys are remembered, on a server whose clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from agentos.payment.v1 import payment_pb2 as pb
from agentos.registry.v1 import registry_pb2

from paykit import USDC, TravelClock, assert_ledger_balanced, balances, fund, key, usdc
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent, create_operator, start_server


@pytest.fixture(scope="module")
def clock() -> TravelClock:
    return TravelClock(datetime(2026, 3, 30, 12, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def timed(clock: TravelClock) -> Iterator[ServerHandle]:
    # The sweeper is driven by hand here (hold_sweep_seconds=0).
    handle = start_server(clock=clock, hold_sweep_seconds=0.0)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def op(timed: ServerHandle) -> AgentHandle:
    return create_operator(timed)


def subscription(server: ServerHandle, agent: AgentHandle) -> pb.Subscription:
    response: pb.GetSubscriptionResponse = server.payment.GetSubscription(
        pb.GetSubscriptionRequest(name=f"{agent.name}/subscription"), metadata=agent.auth
    )
    return response.subscription


def test_forgotten_holds_expire(timed: ServerHandle, op: AgentHandle, clock: TravelClock) -> None:
    agent = create_agent(timed, "forgetful")
    fund(timed, op, agent, 10 * USDC)
    budget = timed.payment.CreateBudget(
        pb.CreateBudgetRequest(
            parent=agent.name, budget=pb.Budget(period=pb.BUDGET_PERIOD_MONTH, limit=usdc(50 * USDC))
        ),
        metadata=agent.auth,
    ).budget
    hold = timed.payment.CreateHold(
        pb.CreateHoldRequest(amount=usdc(4 * USDC), ttl_seconds=60, idempotency_key=key()),
        metadata=agent.auth,
    ).hold
    assert balances(timed, agent) == (6 * USDC, 4 * USDC)
    assert (
        timed.payment.GetBudget(pb.GetBudgetRequest(name=budget.name), metadata=agent.auth).budget.spent
        == 4 * USDC
    )
    clock.advance(timedelta(seconds=61))
    assert_refused(
        timed,
        lambda: timed.payment.CaptureHold(
            pb.CaptureHoldRequest(name=hold.name, amount=USDC, idempotency_key=key()), metadata=agent.auth
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="HOLD_EXPIRED",
    )
    assert timed.run(timed.runtime.payments.sweep()) == 1
    expired = timed.payment.GetHold(pb.GetHoldRequest(name=hold.name), metadata=agent.auth).hold
    assert expired.state == pb.HOLD_STATE_EXPIRED
    assert expired.HasField("resolve_time")
    assert balances(timed, agent) == (10 * USDC, 0)
    assert (
        timed.payment.GetBudget(pb.GetBudgetRequest(name=budget.name), metadata=agent.auth).budget.spent == 0
    )
    releases = timed.payment.ListTransactions(
        pb.ListTransactionsRequest(parent=agent.name, kind=pb.TRANSACTION_KIND_RELEASE), metadata=agent.auth
    ).transactions
    assert [t.memo for t in releases] == ["expired"]
    # A second sweep finds nothing more to do.
    assert timed.run(timed.runtime.payments.sweep()) == 0
    assert_ledger_balanced(timed, op)


def test_daily_budget_starts_again_each_utc_day(
    timed: ServerHandle, op: AgentHandle, clock: TravelClock
) -> None:
    agent, payee = create_agent(timed, "daily"), create_agent(timed, "daily-payee")
    fund(timed, op, agent, 20 * USDC)
    budget = timed.payment.CreateBudget(
        pb.CreateBudgetRequest(
            parent=agent.name, budget=pb.Budget(period=pb.BUDGET_PERIOD_DAY, limit=usdc(5 * USDC))
        ),
        metadata=agent.auth,
    ).budget

    def transfer(amount: int) -> None:
        timed.payment.Transfer(
            pb.TransferRequest(recipient=payee.name, amount=usdc(amount), idempotency_key=key()),
            metadata=agent.auth,
        )

    transfer(5 * USDC)
    found = assert_refused(
        timed, lambda: transfer(1), grpc.StatusCode.RESOURCE_EXHAUSTED, reason="BUDGET_EXCEEDED"
    )
    today = timed.payment.GetBudget(pb.GetBudgetRequest(name=budget.name), metadata=agent.auth).budget
    end = today.period_end_time.ToDatetime(tzinfo=UTC)
    assert end.hour == 0
    assert end.minute == 0
    # The retry delay points at the end of the day.
    assert found.retry_delay_seconds == pytest.approx((end - clock.now()).total_seconds(), abs=1)
    clock.set(end + timedelta(minutes=1))
    transfer(3 * USDC)
    tomorrow = timed.payment.GetBudget(pb.GetBudgetRequest(name=budget.name), metadata=agent.auth).budget
    assert (tomorrow.spent, tomorrow.remaining) == (3 * USDC, 2 * USDC)
    assert tomorrow.period_start_time.ToDatetime(tzinfo=UTC) == end


def test_monthly_grants_renewals_and_downgrades(
    timed: ServerHandle, op: AgentHandle, clock: TravelClock
) -> None:
    clock.set(datetime(2026, 4, 20, 9, 0, tzinfo=UTC))
    rich, poor = create_agent(timed, "rich"), create_agent(timed, "poor")
    for agent in (rich, poor):
        first = subscription(timed, agent)
        assert (first.tier, first.credits_granted) == (pb.SUBSCRIPTION_TIER_FREE, 100)
        assert first.current_period_start_time.ToDatetime(tzinfo=UTC) == datetime(2026, 4, 1, tzinfo=UTC)
        assert first.current_period_end_time.ToDatetime(tzinfo=UTC) == datetime(2026, 5, 1, tzinfo=UTC)
        fund(timed, op, agent, 30 * USDC)
        timed.payment.ChangeSubscription(
            pb.ChangeSubscriptionRequest(
                name=f"{agent.name}/subscription", tier=pb.SUBSCRIPTION_TIER_PRO, idempotency_key=key()
            ),
            metadata=agent.auth,
        )
        assert balances(timed, agent, "CREDIT") == (2_100, 0)
        assert balances(timed, agent) == (USDC, 0)
    # Asking again in the same month grants nothing more.
    assert subscription(timed, rich).credits_granted == 2_100
    assert balances(timed, rich, "CREDIT") == (2_100, 0)

    fund(timed, op, rich, 40 * USDC)
    clock.set(datetime(2026, 5, 2, 8, 0, tzinfo=UTC))
    renewed = subscription(timed, rich)
    assert (renewed.tier, renewed.credits_granted) == (pb.SUBSCRIPTION_TIER_PRO, 2_000)
    assert balances(timed, rich) == (12 * USDC, 0)
    assert balances(timed, rich, "CREDIT") == (4_100, 0)
    # The poor agent cannot pay May's $29: its first authenticated call of the month (any RPC)
    # renews the subscription, which drops it to the free tier.
    timed.registry.GetAgent(registry_pb2.GetAgentRequest(name=poor.name), metadata=poor.auth)
    # (ListTransactions does not roll a subscription itself: the grant below is the gate's doing.)
    newest = timed.payment.ListTransactions(
        pb.ListTransactionsRequest(parent=poor.name, asset="CREDIT", page_size=1), metadata=poor.auth
    ).transactions[0]
    assert (newest.kind, newest.memo) == (pb.TRANSACTION_KIND_CREDIT_GRANT, "monthly credits, 2026-05")
    dropped = subscription(timed, poor)
    assert (dropped.tier, dropped.credits_granted) == (pb.SUBSCRIPTION_TIER_FREE, 100)
    assert balances(timed, poor) == (USDC, 0)
    assert balances(timed, poor, "CREDIT") == (2_200, 0)
    usage = timed.payment.GetApiUsage(pb.GetApiUsageRequest(agent=poor.name), metadata=poor.auth)
    assert (usage.tier, usage.calls_quota) == (pb.SUBSCRIPTION_TIER_FREE, 10_000)
    kinds = [
        t.kind
        for t in timed.payment.ListTransactions(
            pb.ListTransactionsRequest(parent=rich.name, asset="USDC"), metadata=rich.auth
        ).transactions
    ]
    assert kinds.count(pb.TRANSACTION_KIND_SUBSCRIPTION) == 2
    assert_ledger_balanced(timed, op)


def test_idempotency_keys_are_forgotten_after_the_retention(
    timed: ServerHandle, op: AgentHandle, clock: TravelClock
) -> None:
    agent, payee = create_agent(timed, "repeat"), create_agent(timed, "repeat-payee")
    fund(timed, op, agent, 10)
    request = pb.TransferRequest(recipient=payee.name, amount=usdc(1), idempotency_key="monthly-rent")
    first = timed.payment.Transfer(request, metadata=agent.auth).transaction
    clock.advance(timedelta(hours=167))
    timed.run(timed.runtime.payments.sweep())
    assert timed.payment.Transfer(request, metadata=agent.auth).transaction == first
    clock.advance(timedelta(hours=2))
    timed.run(timed.runtime.payments.sweep())
    second = timed.payment.Transfer(request, metadata=agent.auth).transaction
    assert second.name != first.name
    assert balances(timed, payee) == (2, 0)
