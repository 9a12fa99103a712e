"""Bad input and forbidden moves: each gets its code, its reason and its field, and writes nothing
(testkit.assert_refused compares every table's row count before and after)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2

from agentos.common.v1 import common_pb2
from agentos.payment.v1 import payment_pb2 as pb

from paykit import USDC, fund, key, money, usdc
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent, create_operator, start_server

INVALID = grpc.StatusCode.INVALID_ARGUMENT
SOLANA_KEY = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
EVM_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
INT64_MAX = 2**63 - 1


@pytest.fixture
def funded(server: ServerHandle, operator: AgentHandle) -> AgentHandle:
    made = create_agent(server, "funded")
    fund(server, operator, made, 10 * USDC)
    return made


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        (usdc(0), "amount.amount"),
        (usdc(-5), "amount.amount"),
        (usdc(INT64_MAX), "amount.amount"),
        (money("DOGE", 5), "amount.asset"),
        (money("", 5), "amount.asset"),
        (money("usdc", 5), "amount.asset"),
    ],
)
def test_transfer_amounts(
    server: ServerHandle, funded: AgentHandle, other_agent: AgentHandle, amount: common_pb2.Money, field: str
) -> None:
    assert_refused(
        server,
        lambda: server.payment.Transfer(
            pb.TransferRequest(recipient=other_agent.name, amount=amount, idempotency_key=key()),
            metadata=funded.auth,
        ),
        INVALID,
        field=field,
    )


def test_transfer_recipients_and_keys(
    server: ServerHandle, funded: AgentHandle, other_agent: AgentHandle
) -> None:
    def transfer(recipient: str, idempotency_key: str = "", amount: int = 1) -> None:
        server.payment.Transfer(
            pb.TransferRequest(
                recipient=recipient, amount=usdc(amount), idempotency_key=idempotency_key or key()
            ),
            metadata=funded.auth,
        )

    assert_refused(server, lambda: transfer(funded.name), INVALID, field="recipient")
    assert_refused(server, lambda: transfer("nobody"), INVALID, field="recipient")
    assert_refused(server, lambda: transfer(""), INVALID, field="recipient")
    assert_refused(
        server,
        lambda: transfer("agents/nobody-at-all"),
        grpc.StatusCode.NOT_FOUND,
        reason="AGENT_NOT_FOUND",
        field="recipient",
    )
    for bad_key in ("has space", "x" * 129, "tab\tkey"):
        assert_refused(server, lambda: transfer(other_agent.name, bad_key), INVALID, field="idempotency_key")
    assert_refused(
        server,
        lambda: server.payment.Transfer(
            pb.TransferRequest(recipient=other_agent.name, amount=usdc(1)), metadata=funded.auth
        ),
        INVALID,
        field="idempotency_key",
    )
    # More than the wallet has.
    assert_refused(
        server,
        lambda: transfer(other_agent.name, amount=11 * USDC),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="INSUFFICIENT_FUNDS",
    )
    # A deactivated agent cannot receive money.
    gone = create_agent(server, "gone")
    from agentos.registry.v1 import registry_pb2

    server.registry.DeactivateAgent(registry_pb2.DeactivateAgentRequest(name=gone.name), metadata=gone.auth)
    assert_refused(
        server,
        lambda: transfer(gone.name),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="AGENT_DEACTIVATED",
        field="recipient",
    )


def test_reused_key_with_another_body(
    server: ServerHandle, funded: AgentHandle, other_agent: AgentHandle
) -> None:
    shared = key("reuse")
    first = server.payment.Transfer(
        pb.TransferRequest(recipient=other_agent.name, amount=usdc(100), idempotency_key=shared),
        metadata=funded.auth,
    ).transaction
    for changed in (
        pb.TransferRequest(recipient=other_agent.name, amount=usdc(101), idempotency_key=shared),
        pb.TransferRequest(
            recipient=other_agent.name, amount=usdc(100), memo="different", idempotency_key=shared
        ),
    ):
        assert_refused(
            server,
            lambda: server.payment.Transfer(changed, metadata=funded.auth),
            grpc.StatusCode.ALREADY_EXISTS,
            reason="IDEMPOTENCY_KEY_REUSED",
            field="idempotency_key",
        )
    # The key belongs to (caller, operation): a hold may use it, and another agent may too.
    server.payment.CreateHold(
        pb.CreateHoldRequest(amount=usdc(1), idempotency_key=shared), metadata=funded.auth
    )
    # The original request still answers with its transaction, writing nothing new.
    before = server.row_counts()
    again = server.payment.Transfer(
        pb.TransferRequest(recipient=other_agent.name, amount=usdc(100), idempotency_key=shared),
        metadata=funded.auth,
    ).transaction
    assert again == first
    assert server.row_counts() == before


def test_another_agents_money(
    server: ServerHandle, operator: AgentHandle, funded: AgentHandle, other_agent: AgentHandle
) -> None:
    denied = grpc.StatusCode.PERMISSION_DENIED
    hold = server.payment.CreateHold(
        pb.CreateHoldRequest(amount=usdc(USDC), idempotency_key=key()), metadata=funded.auth
    ).hold
    transfer = server.payment.Transfer(
        pb.TransferRequest(recipient=operator.name, amount=usdc(1), idempotency_key=key()),
        metadata=funded.auth,
    ).transaction
    calls = [
        lambda: server.payment.GetWallet(
            pb.GetWalletRequest(name=f"{funded.name}/wallets/USDC"), metadata=other_agent.auth
        ),
        lambda: server.payment.ListWallets(
            pb.ListWalletsRequest(parent=funded.name), metadata=other_agent.auth
        ),
        lambda: server.payment.ListTransactions(
            pb.ListTransactionsRequest(parent=funded.name), metadata=other_agent.auth
        ),
        lambda: server.payment.GetTransaction(
            pb.GetTransactionRequest(name=transfer.name), metadata=other_agent.auth
        ),
        lambda: server.payment.GetTransaction(
            pb.GetTransactionRequest(name="transactions/01aaaaaaaaaaaaaaaaaaaaaaaa"),
            metadata=other_agent.auth,
        ),
        lambda: server.payment.GetHold(pb.GetHoldRequest(name=hold.name), metadata=other_agent.auth),
        lambda: server.payment.ListHolds(pb.ListHoldsRequest(parent=funded.name), metadata=other_agent.auth),
        lambda: server.payment.CaptureHold(
            pb.CaptureHoldRequest(name=hold.name, amount=1, payee=other_agent.name, idempotency_key=key()),
            metadata=other_agent.auth,
        ),
        lambda: server.payment.ReleaseHold(
            pb.ReleaseHoldRequest(name=hold.name, idempotency_key=key()), metadata=other_agent.auth
        ),
        lambda: server.payment.ListBudgets(
            pb.ListBudgetsRequest(parent=funded.name), metadata=other_agent.auth
        ),
        lambda: server.payment.GetSubscription(
            pb.GetSubscriptionRequest(name=f"{funded.name}/subscription"), metadata=other_agent.auth
        ),
        lambda: server.payment.GetApiUsage(
            pb.GetApiUsageRequest(agent=funded.name), metadata=other_agent.auth
        ),
        lambda: server.payment.ListWithdrawals(
            pb.ListWithdrawalsRequest(parent="agents/-"), metadata=other_agent.auth
        ),
    ]
    for call in calls:
        assert_refused(server, call, denied)
    # Operator-only methods.
    for call in (
        lambda: server.payment.CheckLedger(pb.CheckLedgerRequest(), metadata=funded.auth),
        lambda: server.payment.CompleteWithdrawal(
            pb.CompleteWithdrawalRequest(
                name="withdrawals/01aaaaaaaaaaaaaaaaaaaaaaaa", external_reference="x"
            ),
            metadata=funded.auth,
        ),
        lambda: server.payment.Deposit(
            pb.DepositRequest(
                agent=funded.name,
                amount=usdc(5),
                idempotency_key=key(),
                operator=pb.OperatorDepositSource(note="I wish"),
            ),
            metadata=funded.auth,
        ),
    ):
        assert_refused(server, call, denied, reason="OPERATOR_ONLY")


def test_holds(server: ServerHandle, funded: AgentHandle, other_agent: AgentHandle) -> None:
    hold = server.payment.CreateHold(
        pb.CreateHoldRequest(amount=usdc(USDC), idempotency_key=key()), metadata=funded.auth
    ).hold

    def capture(amount: int, payee: str = "", name: str = hold.name) -> None:
        server.payment.CaptureHold(
            pb.CaptureHoldRequest(name=name, amount=amount, payee=payee, idempotency_key=key()),
            metadata=funded.auth,
        )

    assert_refused(server, lambda: capture(USDC + 1), INVALID, reason="CAPTURE_EXCEEDS_HOLD", field="amount")
    assert_refused(server, lambda: capture(0), INVALID, field="amount")
    assert_refused(server, lambda: capture(-1), INVALID, field="amount")
    assert_refused(server, lambda: capture(1, funded.name), INVALID, field="payee")
    assert_refused(
        server, lambda: capture(1, "agents/nobody-at-all"), grpc.StatusCode.NOT_FOUND, field="payee"
    )
    assert_refused(server, lambda: capture(1, name="holds/"), INVALID, field="name")
    assert_refused(
        server, lambda: capture(1, name="holds/01aaaaaaaaaaaaaaaaaaaaaaaa"), grpc.StatusCode.PERMISSION_DENIED
    )
    for ttl in (-1, 8 * 86400):
        assert_refused(
            server,
            lambda: server.payment.CreateHold(
                pb.CreateHoldRequest(amount=usdc(1), ttl_seconds=ttl, idempotency_key=key()),
                metadata=funded.auth,
            ),
            INVALID,
            field="ttl_seconds",
        )
    assert_refused(
        server,
        lambda: server.payment.CreateHold(
            pb.CreateHoldRequest(amount=usdc(10 * USDC), idempotency_key=key()), metadata=funded.auth
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="INSUFFICIENT_FUNDS",
    )
    server.payment.ReleaseHold(
        pb.ReleaseHoldRequest(name=hold.name, idempotency_key=key()), metadata=funded.auth
    )
    assert_refused(server, lambda: capture(1), grpc.StatusCode.FAILED_PRECONDITION, reason="HOLD_NOT_ACTIVE")
    assert_refused(
        server,
        lambda: server.payment.ReleaseHold(
            pb.ReleaseHoldRequest(name=hold.name, idempotency_key=key()), metadata=funded.auth
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="HOLD_NOT_ACTIVE",
    )


def test_deposits(server: ServerHandle, operator: AgentHandle, agent: AgentHandle) -> None:
    def deposit(**source: object) -> None:
        server.payment.Deposit(
            pb.DepositRequest(agent=agent.name, amount=usdc(5), idempotency_key=key(), **source),  # type: ignore[arg-type]
            metadata=agent.auth,
        )

    assert_refused(
        server,
        lambda: deposit(faucet=pb.FaucetDepositSource()),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="FAUCET_DISABLED",
    )
    found = assert_refused(
        server,
        lambda: deposit(
            evm_transaction=pb.EvmTransactionProof(chain_id=8453, transaction_hash="0x" + "ab" * 32)
        ),
        grpc.StatusCode.UNIMPLEMENTED,
    )
    assert "evm_transaction" in found.message
    assert_refused(
        server,
        lambda: deposit(solana_transaction=pb.SolanaTransactionProof(signature="5" * 88)),
        grpc.StatusCode.UNIMPLEMENTED,
    )
    assert_refused(server, lambda: deposit(), INVALID, field="source")
    assert_refused(
        server,
        lambda: server.payment.Deposit(
            pb.DepositRequest(
                agent="agents/nobody-at-all",
                amount=usdc(5),
                idempotency_key=key(),
                operator=pb.OperatorDepositSource(),
            ),
            metadata=operator.auth,
        ),
        grpc.StatusCode.NOT_FOUND,
        field="agent",
    )
    assert_refused(
        server,
        lambda: server.payment.Deposit(
            pb.DepositRequest(
                agent=agent.name, amount=usdc(0), idempotency_key=key(), operator=pb.OperatorDepositSource()
            ),
            metadata=operator.auth,
        ),
        INVALID,
        field="amount.amount",
    )


def test_withdrawals(server: ServerHandle, operator: AgentHandle, funded: AgentHandle) -> None:
    def withdraw(amount: common_pb2.Money, chain: int, address: str) -> None:
        server.payment.Withdraw(
            pb.WithdrawRequest(
                amount=amount,
                destination=common_pb2.ExternalWallet(chain=chain, address=address),  # type: ignore[arg-type]
                idempotency_key=key(),
            ),
            metadata=funded.auth,
        )

    assert_refused(
        server,
        lambda: withdraw(money("CREDIT", 5), common_pb2.CHAIN_SOLANA, SOLANA_KEY),
        INVALID,
        field="amount.asset",
    )
    assert_refused(
        server,
        lambda: withdraw(money("SOL", 5), common_pb2.CHAIN_EVM, EVM_ADDRESS),
        INVALID,
        field="destination.chain",
    )
    assert_refused(
        server,
        lambda: withdraw(usdc(5), common_pb2.CHAIN_EVM, "0x1234"),
        INVALID,
        field="destination.address",
    )
    assert_refused(
        server,
        lambda: withdraw(usdc(5), common_pb2.CHAIN_UNSPECIFIED, EVM_ADDRESS),
        INVALID,
        field="destination.chain",
    )
    assert_refused(
        server,
        lambda: withdraw(usdc(11 * USDC), common_pb2.CHAIN_EVM, EVM_ADDRESS),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="INSUFFICIENT_FUNDS",
    )
    pending = server.payment.Withdraw(
        pb.WithdrawRequest(
            amount=usdc(USDC),
            destination=common_pb2.ExternalWallet(chain=common_pb2.CHAIN_EVM, address=EVM_ADDRESS),
            idempotency_key=key(),
        ),
        metadata=funded.auth,
    ).withdrawal
    assert_refused(
        server,
        lambda: server.payment.CompleteWithdrawal(
            pb.CompleteWithdrawalRequest(name=pending.name), metadata=operator.auth
        ),
        INVALID,
        field="external_reference",
    )
    server.payment.RejectWithdrawal(
        pb.RejectWithdrawalRequest(name=pending.name, reason="no"), metadata=operator.auth
    )
    assert_refused(
        server,
        lambda: server.payment.CompleteWithdrawal(
            pb.CompleteWithdrawalRequest(name=pending.name, external_reference="0xdef"),
            metadata=operator.auth,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="WITHDRAWAL_NOT_PENDING",
    )
    assert_refused(
        server,
        lambda: server.payment.GetWithdrawal(
            pb.GetWithdrawalRequest(name="withdrawals/01aaaaaaaaaaaaaaaaaaaaaaaa"), metadata=operator.auth
        ),
        grpc.StatusCode.NOT_FOUND,
    )


def test_budgets_and_listing_input(server: ServerHandle, agent: AgentHandle) -> None:
    def create(budget: pb.Budget) -> pb.Budget:
        response: pb.CreateBudgetResponse = server.payment.CreateBudget(
            pb.CreateBudgetRequest(parent=agent.name, budget=budget), metadata=agent.auth
        )
        return response.budget

    assert_refused(
        server,
        lambda: create(pb.Budget(scope="teams/x", period=pb.BUDGET_PERIOD_DAY, limit=usdc(5))),
        INVALID,
        field="budget.scope",
    )
    assert_refused(server, lambda: create(pb.Budget(limit=usdc(5))), INVALID, field="budget.period")
    assert_refused(
        server,
        lambda: create(pb.Budget(period=pb.BUDGET_PERIOD_DAY, limit=usdc(-1))),
        INVALID,
        field="budget.limit.amount",
    )
    assert_refused(
        server,
        lambda: create(pb.Budget(period=pb.BUDGET_PERIOD_DAY, limit=money("XYZ", 1))),
        INVALID,
        field="budget.limit.asset",
    )
    made = create(pb.Budget(period=pb.BUDGET_PERIOD_DAY, limit=usdc(5)))
    assert_refused(
        server,
        lambda: create(pb.Budget(period=pb.BUDGET_PERIOD_DAY, limit=usdc(7))),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="BUDGET_EXISTS",
    )
    server.payment.UpdateBudget(
        pb.UpdateBudgetRequest(budget=pb.Budget(name=made.name, limit=usdc(6), etag=made.etag)),
        metadata=agent.auth,
    )
    assert_refused(
        server,
        lambda: server.payment.UpdateBudget(
            pb.UpdateBudgetRequest(
                budget=pb.Budget(name=made.name, limit=usdc(8), etag=made.etag),
                update_mask=field_mask_pb2.FieldMask(paths=["limit"]),
            ),
            metadata=agent.auth,
        ),
        grpc.StatusCode.ABORTED,
        reason="ETAG_MISMATCH",
    )
    assert_refused(
        server,
        lambda: server.payment.UpdateBudget(
            pb.UpdateBudgetRequest(
                budget=pb.Budget(name=made.name, scope="skills/x"),
                update_mask=field_mask_pb2.FieldMask(paths=["scope"]),
            ),
            metadata=agent.auth,
        ),
        INVALID,
        field="update_mask",
    )
    assert_refused(
        server,
        lambda: server.payment.GetBudget(
            pb.GetBudgetRequest(name=f"{agent.name}/budgets/01aaaaaaaaaaaaaaaaaaaaaaaa"), metadata=agent.auth
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert_refused(
        server,
        lambda: server.payment.ListTransactions(
            pb.ListTransactionsRequest(parent=agent.name, asset="NOPE"), metadata=agent.auth
        ),
        INVALID,
        field="asset",
    )
    assert_refused(
        server,
        lambda: server.payment.ListTransactions(
            pb.ListTransactionsRequest(parent=agent.name, page_token="forged"), metadata=agent.auth
        ),
        INVALID,
        field="page_token",
    )
    assert_refused(
        server,
        lambda: server.payment.GetWallet(
            pb.GetWalletRequest(name=f"{agent.name}/wallets/NOPE"), metadata=agent.auth
        ),
        INVALID,
        field="name",
    )


def test_credits_and_tiers(server: ServerHandle, agent: AgentHandle) -> None:
    # Ask for the subscription first, so that the month's grant is not what the refusals write.
    server.payment.GetSubscription(
        pb.GetSubscriptionRequest(name=f"{agent.name}/subscription"), metadata=agent.auth
    )
    for credits in (0, -3):
        assert_refused(
            server,
            lambda: server.payment.BuyCredits(
                pb.BuyCreditsRequest(credits=credits, idempotency_key=key()), metadata=agent.auth
            ),
            INVALID,
            field="credits",
        )
    # So many credits that their price would overflow a 64-bit amount.
    assert_refused(
        server,
        lambda: server.payment.BuyCredits(
            pb.BuyCreditsRequest(credits=2**61, idempotency_key=key()), metadata=agent.auth
        ),
        INVALID,
        field="credits",
    )
    assert_refused(
        server,
        lambda: server.payment.BuyCredits(
            pb.BuyCreditsRequest(credits=1000, idempotency_key=key()), metadata=agent.auth
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="INSUFFICIENT_FUNDS",
    )
    subscription = f"{agent.name}/subscription"
    assert_refused(
        server,
        lambda: server.payment.ChangeSubscription(
            pb.ChangeSubscriptionRequest(
                name=subscription, tier=pb.SUBSCRIPTION_TIER_ENTERPRISE, idempotency_key=key()
            ),
            metadata=agent.auth,
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        reason="TIER_REQUIRES_OPERATOR",
    )
    assert_refused(
        server,
        lambda: server.payment.ChangeSubscription(
            pb.ChangeSubscriptionRequest(
                name=subscription, tier=pb.SUBSCRIPTION_TIER_PRO, idempotency_key=key()
            ),
            metadata=agent.auth,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="INSUFFICIENT_FUNDS",
    )
    assert_refused(
        server,
        lambda: server.payment.ChangeSubscription(
            pb.ChangeSubscriptionRequest(name=subscription, idempotency_key=key()), metadata=agent.auth
        ),
        INVALID,
        field="tier",
    )


def test_a_balance_cannot_pass_int64() -> None:
    """Two of the largest deposits fit a BIGINT balance; a third would overflow and is refused."""
    handle = start_server(extra_assets='[{"code": "BIG", "decimals": 0}]')
    try:
        operator = create_operator(handle)
        agent = create_agent(handle, "whale")
        largest = 2**62 - 1
        for _ in range(2):
            fund(handle, operator, agent, largest, "BIG")
        assert_refused(
            handle,
            lambda: fund(handle, operator, agent, largest, "BIG"),
            grpc.StatusCode.FAILED_PRECONDITION,
            reason="BALANCE_LIMIT",
        )
        assert_refused(
            handle,
            lambda: fund(handle, operator, agent, largest + 1, "BIG"),
            INVALID,
            field="amount.amount",
        )
        report = handle.payment.CheckLedger(pb.CheckLedgerRequest(), metadata=operator.auth)
        assert report.balanced, list(report.problems)
        assert {a.code for a in handle.payment.ListAssets(pb.ListAssetsRequest()).assets} == {
            "USDC",
            "SOL",
            "CREDIT",
            "BIG",
        }
    finally:
        handle.stop()
