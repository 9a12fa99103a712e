"""Refunds over the real server: reversed in full, fee included, licence revoked, once, by the
seller or an operator only."""

from __future__ import annotations

import grpc

from agentos.marketplace.v1 import marketplace_pb2 as mpb
from agentos.payment.v1 import payment_pb2 as ppb

from marketkit import buy, create_daemon, create_skill, free, get_agent, get_skill, one_time, refund, verify
from paykit import USDC, assert_ledger_balanced, balances, fund, key
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent

PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
DENIED = grpc.StatusCode.PERMISSION_DENIED


def fees(server: ServerHandle) -> int:
    return server.run(server.runtime.payments.ledger.balance("platform/fees/USDC"))


def test_a_refund_reverses_everything_and_revokes_the_licence(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller, buyer = create_agent(server, "refunder"), create_agent(server, "unhappy")
    skill = create_skill(server, seller, one_time(10 * USDC))
    fund(server, operator, buyer, 10 * USDC)
    fees_before = fees(server)
    bought = buy(server, buyer, skill.name)
    assert get_agent(server, seller).total_sales == 1

    refunded = refund(
        server, seller, bought.purchase.name, "did not work for them", idempotency_key="refund-1"
    )
    assert refunded.state == mpb.PURCHASE_STATE_REFUNDED
    assert refunded.refund_reason == "did not work for them"
    assert refunded.HasField("refund_time")
    reversal = server.payment.GetTransaction(
        ppb.GetTransactionRequest(name=refunded.refund_transaction), metadata=buyer.auth
    ).transaction
    assert reversal.kind == ppb.TRANSACTION_KIND_REFUND
    assert reversal.reverses == bought.purchase.transaction
    assert {(e.account, e.amount) for e in reversal.entries} == {
        (f"{buyer.name}/wallets/USDC", 10 * USDC),
        (f"{seller.name}/wallets/USDC", -9_750_000),
        ("platform/fees/USDC", -250_000),
    }
    assert balances(server, buyer) == (10 * USDC, 0)
    assert balances(server, seller) == (0, 0)
    assert fees(server) == fees_before

    answer = verify(server, buyer, skill.name)
    assert not answer.valid
    assert answer.denial == mpb.LICENSE_DENIAL_REVOKED
    assert answer.license.state == mpb.LICENSE_STATE_REVOKED
    assert get_skill(server, skill.name).purchase_count == 0
    assert get_agent(server, seller).total_sales == 0

    # The same key returns the refund; another key finds it already refunded.
    again = refund(server, seller, bought.purchase.name, "did not work for them", idempotency_key="refund-1")
    assert again == refunded
    assert_refused(
        server,
        lambda: refund(server, seller, bought.purchase.name, "again"),
        PRECONDITION,
        reason="ALREADY_REFUNDED",
        field="name",
    )
    # A revoked licence does not block buying again.
    assert buy(server, buyer, skill.name).license.state == mpb.LICENSE_STATE_ACTIVE
    assert_ledger_balanced(server, operator)


def test_only_the_seller_or_an_operator_refunds(server: ServerHandle, operator: AgentHandle) -> None:
    seller, buyer = create_agent(server, "vendor"), create_agent(server, "client")
    daemon = create_daemon(server, seller, one_time(USDC))
    fund(server, operator, buyer, 2 * USDC)
    first = buy(server, buyer, daemon.name).purchase
    stranger = create_agent(server, "meddler")
    for caller in (buyer, stranger):
        assert_refused(server, lambda caller=caller: refund(server, caller, first.name), DENIED)
    # A purchase that does not exist is not confirmed to strangers either.
    assert_refused(server, lambda: refund(server, stranger, "purchases/0000000000000000000000000z"), DENIED)
    assert refund(server, operator, first.name, "operator decision").state == mpb.PURCHASE_STATE_REFUNDED
    assert balances(server, buyer) == (2 * USDC, 0)


def test_nothing_to_refund_and_money_already_spent(server: ServerHandle, operator: AgentHandle) -> None:
    seller, buyer = create_agent(server, "spender"), create_agent(server, "payer")
    gift = create_skill(server, seller, free())
    taken = buy(server, buyer, gift.name).purchase
    assert_refused(
        server, lambda: refund(server, seller, taken.name), PRECONDITION, reason="NOTHING_TO_REFUND"
    )

    skill = create_skill(server, seller, one_time(USDC))
    fund(server, operator, buyer, USDC)
    bought = buy(server, buyer, skill.name).purchase
    # The seller spends its share; the reversal cannot take it back, and nothing changes.
    server.payment.Transfer(
        ppb.TransferRequest(
            recipient=operator.name,
            amount=bought.seller_amount,
            idempotency_key=key("spend"),
        ),
        metadata=seller.auth,
    )
    assert_refused(
        server, lambda: refund(server, seller, bought.name), PRECONDITION, reason="INSUFFICIENT_FUNDS"
    )
    assert verify(server, buyer, skill.name).valid
