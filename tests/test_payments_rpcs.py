"""PaymentService over the real server: the happy path of every implemented RPC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf import field_mask_pb2, timestamp_pb2

from agentos.common.v1 import common_pb2
from agentos.payment.v1 import payment_pb2 as pb

from paykit import USDC, assert_ledger_balanced, balances, fund, key, usdc, wallet
from testkit import AgentHandle, ServerHandle, create_agent

SOLANA_KEY = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
EVM_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def test_list_assets_is_public(server: ServerHandle) -> None:
    assets = {a.code: a.decimals for a in server.payment.ListAssets(pb.ListAssetsRequest()).assets}
    assert assets == {"USDC": 6, "SOL": 9, "CREDIT": 0}


def test_operator_deposit_credits_the_wallet_once(
    server: ServerHandle, operator: AgentHandle, agent: AgentHandle
) -> None:
    request = pb.DepositRequest(
        agent=agent.name,
        amount=usdc(5 * USDC),
        idempotency_key=key(),
        operator=pb.OperatorDepositSource(note="bank transfer 42"),
    )
    first = server.payment.Deposit(request, metadata=operator.auth)
    assert first.transaction.kind == pb.TRANSACTION_KIND_DEPOSIT
    assert {(e.account, e.amount) for e in first.transaction.entries} == {
        ("platform/external/USDC", -5 * USDC),
        (f"{agent.name}/wallets/USDC", 5 * USDC),
    }
    assert first.transaction.initiator == operator.name
    assert first.transaction.memo == "bank transfer 42"
    assert first.wallet.available == 5 * USDC
    # The same request again: the same transaction, no second deposit.
    again = server.payment.Deposit(request, metadata=operator.auth)
    assert again.transaction == first.transaction
    assert balances(server, agent) == (5 * USDC, 0)


def test_wallets_show_every_asset_and_page(
    server: ServerHandle, operator: AgentHandle, agent: AgentHandle
) -> None:
    fund(server, operator, agent, 7, "SOL")
    got = wallet(server, agent, "SOL")
    assert (got.name, got.asset, got.available, got.held) == (f"{agent.name}/wallets/SOL", "SOL", 7, 0)
    assert got.HasField("update_time")
    seen = []
    token = ""
    while True:
        page = server.payment.ListWallets(
            pb.ListWalletsRequest(parent=agent.name, page_size=2, page_token=token), metadata=agent.auth
        )
        seen += [(w.asset, w.available) for w in page.wallets]
        token = page.next_page_token
        if not token:
            break
    # Listing a wallet is a first use of the month: the free tier's 100 credits arrive.
    assert seen == [("USDC", 0), ("SOL", 7), ("CREDIT", 100)]


def test_transfer_and_history(server: ServerHandle, operator: AgentHandle) -> None:
    payer = create_agent(server, "payer")
    payee = create_agent(server, "payee")
    fund(server, operator, payer, 10 * USDC)
    started = datetime.now(UTC) - timedelta(seconds=1)
    transfer = server.payment.Transfer(
        pb.TransferRequest(
            recipient=payee.name, amount=usdc(3 * USDC), memo="for the report", idempotency_key=key()
        ),
        metadata=payer.auth,
    ).transaction
    assert transfer.kind == pb.TRANSACTION_KIND_TRANSFER
    assert transfer.memo == "for the report"
    assert sorted((e.account, e.amount) for e in transfer.entries) == [
        (f"{payee.name}/wallets/USDC", 3 * USDC),
        (f"{payer.name}/wallets/USDC", -3 * USDC),
    ]
    assert balances(server, payer) == (7 * USDC, 0)
    assert balances(server, payee) == (3 * USDC, 0)
    for who in (payer, payee, operator):
        fetched = server.payment.GetTransaction(
            pb.GetTransactionRequest(name=transfer.name), metadata=who.auth
        )
        assert fetched.transaction == transfer

    for _ in range(3):
        server.payment.Transfer(
            pb.TransferRequest(recipient=payee.name, amount=usdc(1), idempotency_key=key()),
            metadata=payer.auth,
        )
    listed: list[pb.Transaction] = []
    token = ""
    while True:
        page = server.payment.ListTransactions(
            pb.ListTransactionsRequest(parent=payer.name, asset="USDC", page_size=2, page_token=token),
            metadata=payer.auth,
        )
        listed += page.transactions
        token = page.next_page_token
        if not token:
            break
    kinds = [t.kind for t in listed]
    assert kinds == [pb.TRANSACTION_KIND_TRANSFER] * 4 + [pb.TRANSACTION_KIND_DEPOSIT]
    # Reading the wallet was the month's first use: the free tier's credits were granted.
    grants = server.payment.ListTransactions(
        pb.ListTransactionsRequest(parent=payer.name, asset="CREDIT"), metadata=payer.auth
    ).transactions
    assert [t.kind for t in grants] == [pb.TRANSACTION_KIND_CREDIT_GRANT]
    assert listed[3] == transfer
    ids = [t.name for t in listed]
    assert ids == sorted(ids, reverse=True)

    deposits = server.payment.ListTransactions(
        pb.ListTransactionsRequest(parent=payer.name, kind=pb.TRANSACTION_KIND_DEPOSIT), metadata=payer.auth
    ).transactions
    assert [t.kind for t in deposits] == [pb.TRANSACTION_KIND_DEPOSIT]
    assert not server.payment.ListTransactions(
        pb.ListTransactionsRequest(parent=payer.name, asset="SOL"), metadata=payer.auth
    ).transactions
    start = timestamp_pb2.Timestamp()
    start.FromDatetime(started)
    end = timestamp_pb2.Timestamp()
    end.FromDatetime(started)
    assert not server.payment.ListTransactions(
        pb.ListTransactionsRequest(parent=payer.name, end_time=end), metadata=payer.auth
    ).transactions
    since = server.payment.ListTransactions(
        pb.ListTransactionsRequest(parent=payer.name, start_time=start), metadata=payer.auth
    ).transactions
    assert len(since) == 6
    assert_ledger_balanced(server, operator)


def test_withdrawal_completed_and_rejected(
    server: ServerHandle, operator: AgentHandle, agent: AgentHandle
) -> None:
    fund(server, operator, agent, 10 * USDC)
    request = pb.WithdrawRequest(
        amount=usdc(4 * USDC),
        destination=common_pb2.ExternalWallet(chain=common_pb2.CHAIN_EVM, address=EVM_ADDRESS.lower()),
        idempotency_key=key(),
    )
    pending = server.payment.Withdraw(request, metadata=agent.auth).withdrawal
    assert pending.state == pb.WITHDRAWAL_STATE_PENDING
    assert pending.destination.address == EVM_ADDRESS
    assert pending.hold.startswith("holds/")
    assert balances(server, agent) == (6 * USDC, 4 * USDC)
    assert server.payment.Withdraw(request, metadata=agent.auth).withdrawal == pending
    assert (
        server.payment.GetWithdrawal(
            pb.GetWithdrawalRequest(name=pending.name), metadata=agent.auth
        ).withdrawal
        == pending
    )
    hold = server.payment.GetHold(pb.GetHoldRequest(name=pending.hold), metadata=agent.auth).hold
    assert hold.state == pb.HOLD_STATE_ACTIVE
    assert not hold.HasField("expire_time")

    done = server.payment.CompleteWithdrawal(
        pb.CompleteWithdrawalRequest(name=pending.name, external_reference="0xabc"), metadata=operator.auth
    ).withdrawal
    assert done.state == pb.WITHDRAWAL_STATE_COMPLETED
    assert done.external_reference == "0xabc"
    assert done.HasField("resolve_time")
    assert balances(server, agent) == (6 * USDC, 0)
    # Repeating the completion with the same reference changes nothing.
    assert (
        server.payment.CompleteWithdrawal(
            pb.CompleteWithdrawalRequest(name=pending.name, external_reference="0xabc"),
            metadata=operator.auth,
        ).withdrawal
        == done
    )
    history = server.payment.ListTransactions(
        pb.ListTransactionsRequest(parent=agent.name, kind=pb.TRANSACTION_KIND_WITHDRAWAL),
        metadata=agent.auth,
    ).transactions
    assert len(history) == 1
    assert ("platform/external/USDC", 4 * USDC) in [(e.account, e.amount) for e in history[0].entries]

    second = server.payment.Withdraw(
        pb.WithdrawRequest(
            amount=usdc(2 * USDC),
            destination=common_pb2.ExternalWallet(chain=common_pb2.CHAIN_SOLANA, address=SOLANA_KEY),
            idempotency_key=key(),
        ),
        metadata=agent.auth,
    ).withdrawal
    assert balances(server, agent) == (4 * USDC, 2 * USDC)
    rejected = server.payment.RejectWithdrawal(
        pb.RejectWithdrawalRequest(name=second.name, reason="address is sanctioned"), metadata=operator.auth
    ).withdrawal
    assert rejected.state == pb.WITHDRAWAL_STATE_REJECTED
    assert rejected.reject_reason == "address is sanctioned"
    assert balances(server, agent) == (6 * USDC, 0)

    mine = server.payment.ListWithdrawals(pb.ListWithdrawalsRequest(parent=agent.name), metadata=agent.auth)
    assert [w.name for w in mine.withdrawals] == [second.name, pending.name]
    everyone = server.payment.ListWithdrawals(
        pb.ListWithdrawalsRequest(parent="agents/-", state=pb.WITHDRAWAL_STATE_REJECTED),
        metadata=operator.auth,
    )
    assert second.name in [w.name for w in everyone.withdrawals]
    assert pending.name not in [w.name for w in everyone.withdrawals]
    assert_ledger_balanced(server, operator)


def test_hold_capture_part_to_a_payee(server: ServerHandle, operator: AgentHandle) -> None:
    runner = create_agent(server, "runner")
    seller = create_agent(server, "seller")
    fund(server, operator, runner, 10 * USDC)
    hold = server.payment.CreateHold(
        pb.CreateHoldRequest(
            amount=usdc(5 * USDC), purpose="run of daemons/summarise", idempotency_key=key()
        ),
        metadata=runner.auth,
    ).hold
    assert hold.state == pb.HOLD_STATE_ACTIVE
    assert hold.agent == runner.name
    assert hold.expire_time.ToDatetime(tzinfo=UTC) - hold.create_time.ToDatetime(tzinfo=UTC) == timedelta(
        hours=1
    )
    assert balances(server, runner) == (5 * USDC, 5 * USDC)
    assert server.payment.GetHold(pb.GetHoldRequest(name=hold.name), metadata=runner.auth).hold == hold

    captured = server.payment.CaptureHold(
        pb.CaptureHoldRequest(name=hold.name, amount=2 * USDC, payee=seller.name, idempotency_key=key()),
        metadata=runner.auth,
    )
    assert captured.hold.state == pb.HOLD_STATE_CAPTURED
    assert captured.hold.captured_amount == 2 * USDC
    assert captured.transaction.kind == pb.TRANSACTION_KIND_CAPTURE
    assert balances(server, runner) == (8 * USDC, 0)
    assert balances(server, seller) == (2 * USDC, 0)

    released = server.payment.CreateHold(
        pb.CreateHoldRequest(amount=usdc(USDC), ttl_seconds=60, idempotency_key=key()), metadata=runner.auth
    ).hold
    assert released.expire_time.ToDatetime(tzinfo=UTC) - released.create_time.ToDatetime(
        tzinfo=UTC
    ) == timedelta(seconds=60)
    back = server.payment.ReleaseHold(
        pb.ReleaseHoldRequest(name=released.name, idempotency_key=key()), metadata=runner.auth
    ).hold
    assert back.state == pb.HOLD_STATE_RELEASED
    assert balances(server, runner) == (8 * USDC, 0)

    active = server.payment.ListHolds(
        pb.ListHoldsRequest(parent=runner.name, state=pb.HOLD_STATE_ACTIVE), metadata=runner.auth
    ).holds
    assert not active
    every = server.payment.ListHolds(
        pb.ListHoldsRequest(parent=runner.name, page_size=1), metadata=runner.auth
    )
    assert [h.name for h in every.holds] == [released.name]
    rest = server.payment.ListHolds(
        pb.ListHoldsRequest(parent=runner.name, page_size=1, page_token=every.next_page_token),
        metadata=runner.auth,
    )
    assert [h.name for h in rest.holds] == [hold.name]
    assert_ledger_balanced(server, operator)


def test_capture_to_the_platform(server: ServerHandle, operator: AgentHandle, agent: AgentHandle) -> None:
    fund(server, operator, agent, 3 * USDC)
    hold = server.payment.CreateHold(
        pb.CreateHoldRequest(amount=usdc(3 * USDC), idempotency_key=key()), metadata=agent.auth
    ).hold
    captured = server.payment.CaptureHold(
        pb.CaptureHoldRequest(name=hold.name, amount=USDC, idempotency_key=key()), metadata=agent.auth
    )
    assert ("platform/revenue/USDC", USDC) in [(e.account, e.amount) for e in captured.transaction.entries]
    assert balances(server, agent) == (2 * USDC, 0)


def test_budget_lifecycle(server: ServerHandle, operator: AgentHandle, agent: AgentHandle) -> None:
    created = server.payment.CreateBudget(
        pb.CreateBudgetRequest(
            parent=agent.name,
            budget=pb.Budget(scope="daemons/summarise", period=pb.BUDGET_PERIOD_DAY, limit=usdc(5 * USDC)),
        ),
        metadata=agent.auth,
    ).budget
    assert created.name.startswith(f"{agent.name}/budgets/")
    assert (created.spent, created.remaining) == (0, 5 * USDC)
    assert created.period_end_time.ToDatetime() - created.period_start_time.ToDatetime() == timedelta(days=1)
    monthly = server.payment.CreateBudget(
        pb.CreateBudgetRequest(
            parent=agent.name, budget=pb.Budget(period=pb.BUDGET_PERIOD_MONTH, limit=usdc(50 * USDC))
        ),
        metadata=agent.auth,
    ).budget
    assert (
        server.payment.GetBudget(pb.GetBudgetRequest(name=created.name), metadata=agent.auth).budget
        == created
    )
    listed = server.payment.ListBudgets(pb.ListBudgetsRequest(parent=agent.name), metadata=agent.auth).budgets
    assert [b.name for b in listed] == [created.name, monthly.name]

    updated = server.payment.UpdateBudget(
        pb.UpdateBudgetRequest(
            budget=pb.Budget(name=created.name, limit=usdc(8 * USDC), etag=created.etag),
            update_mask=field_mask_pb2.FieldMask(paths=["limit"]),
        ),
        metadata=agent.auth,
    ).budget
    assert (updated.limit.amount, updated.remaining) == (8 * USDC, 8 * USDC)
    assert updated.etag != created.etag

    # A transfer counts against the agent-wide monthly budget, not against the daemon's.
    fund(server, operator, agent, 10 * USDC)
    other = create_agent(server, "budget-payee")
    server.payment.Transfer(
        pb.TransferRequest(recipient=other.name, amount=usdc(2 * USDC), idempotency_key=key()),
        metadata=agent.auth,
    )
    assert (
        server.payment.GetBudget(pb.GetBudgetRequest(name=monthly.name), metadata=agent.auth).budget.spent
        == 2 * USDC
    )
    assert (
        server.payment.GetBudget(pb.GetBudgetRequest(name=created.name), metadata=agent.auth).budget.spent
        == 0
    )

    server.payment.DeleteBudget(pb.DeleteBudgetRequest(name=created.name), metadata=agent.auth)
    listed = server.payment.ListBudgets(pb.ListBudgetsRequest(parent=agent.name), metadata=agent.auth).budgets
    assert [b.name for b in listed] == [monthly.name]


def test_credits_tiers_prices_and_usage(
    server: ServerHandle, operator: AgentHandle, agent: AgentHandle
) -> None:
    tiers = {t.tier: t for t in server.payment.ListTiers(pb.ListTiersRequest()).tiers}
    assert (
        tiers[pb.SUBSCRIPTION_TIER_FREE].monthly_credits,
        tiers[pb.SUBSCRIPTION_TIER_FREE].monthly_api_calls,
    ) == (
        100,
        10_000,
    )
    pro = tiers[pb.SUBSCRIPTION_TIER_PRO]
    assert (pro.monthly_price.amount, pro.monthly_credits, pro.monthly_api_calls) == (
        29 * USDC,
        2_000,
        100_000,
    )
    assert tiers[pb.SUBSCRIPTION_TIER_SCALE].monthly_api_calls == 1_000_000
    assert tiers[pb.SUBSCRIPTION_TIER_SCALE].monthly_price.amount == 299 * USDC
    enterprise = tiers[pb.SUBSCRIPTION_TIER_ENTERPRISE]
    assert enterprise.unlimited_credits
    assert enterprise.unlimited_api_calls

    prices = {
        p.service: (p.price.asset, p.price.amount, p.unit)
        for p in server.payment.ListServicePrices(pb.ListServicePricesRequest()).prices
    }
    assert prices == {
        "sentiment-analysis": ("USDC", 1_000, "call"),
        "content-moderation": ("USDC", 2_000, "call"),
        "image-generation": ("USDC", 20_000, "image"),
        "analytics-report": ("USDC", 100_000, "report"),
    }

    subscription = server.payment.GetSubscription(
        pb.GetSubscriptionRequest(name=f"{agent.name}/subscription"), metadata=agent.auth
    ).subscription
    assert (subscription.tier, subscription.credits_granted) == (pb.SUBSCRIPTION_TIER_FREE, 100)
    assert balances(server, agent, "CREDIT") == (100, 0)

    fund(server, operator, agent, 50 * USDC)
    bought = server.payment.BuyCredits(
        pb.BuyCreditsRequest(credits=1_500, idempotency_key=key()), metadata=agent.auth
    )
    assert (bought.price.asset, bought.price.amount) == ("USDC", 15 * USDC)
    assert bought.transaction.kind == pb.TRANSACTION_KIND_CREDIT_PURCHASE
    assert balances(server, agent, "CREDIT") == (1_600, 0)
    assert balances(server, agent) == (35 * USDC, 0)

    changed = server.payment.ChangeSubscription(
        pb.ChangeSubscriptionRequest(
            name=f"{agent.name}/subscription", tier=pb.SUBSCRIPTION_TIER_PRO, idempotency_key=key()
        ),
        metadata=agent.auth,
    )
    assert changed.subscription.tier == pb.SUBSCRIPTION_TIER_PRO
    assert changed.subscription.credits_granted == 2_100
    assert changed.transaction.kind == pb.TRANSACTION_KIND_SUBSCRIPTION
    assert balances(server, agent) == (6 * USDC, 0)
    assert balances(server, agent, "CREDIT") == (3_600, 0)

    usage = server.payment.GetApiUsage(pb.GetApiUsageRequest(agent=agent.name), metadata=agent.auth)
    assert usage.tier == pb.SUBSCRIPTION_TIER_PRO
    assert (usage.calls_quota, usage.unlimited, usage.burst_per_second) == (100_000, False, 100)
    # Every authenticated call of this test so far was counted, this one included.
    assert usage.calls_used >= 8
    later = server.payment.GetApiUsage(pb.GetApiUsageRequest(agent=agent.name), metadata=agent.auth)
    assert later.calls_used == usage.calls_used + 1
    assert_ledger_balanced(server, operator)


def test_ledger_volume_is_counted_for_prometheus(
    server: ServerHandle, operator: AgentHandle, agent: AgentHandle, other_agent: AgentHandle
) -> None:
    registry = server.runtime.metrics.registry

    def volume(kind: str) -> float:
        found = registry.get_sample_value(
            "agentos_ledger_volume_atomic_total", {"asset": "USDC", "kind": kind}
        )
        return found or 0.0

    deposits, transfers = volume("deposit"), volume("transfer")
    fund(server, operator, agent, 700)
    server.payment.Transfer(
        pb.TransferRequest(recipient=other_agent.name, amount=usdc(300), idempotency_key=key()),
        metadata=agent.auth,
    )
    assert volume("deposit") == deposits + 700
    assert volume("transfer") == transfers + 300
