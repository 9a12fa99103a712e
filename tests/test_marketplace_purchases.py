"""Purchases over the real server: every pricing model, the fee split, licences, idempotency,
purchase history, and the licence API the execution engine calls."""

from __future__ import annotations

import grpc
import pytest

from agentos.marketplace.v1 import marketplace_pb2 as mpb
from agentos.payment.v1 import payment_pb2 as ppb
from agentos.registry.v1 import registry_pb2 as rpb
from agentos_server.domain.caller import Caller
from agentos_server.domain.errors import FailedPrecondition

from marketkit import (
    buy,
    create_daemon,
    create_skill,
    free,
    get_agent,
    get_skill,
    one_time,
    per_call,
    prepaid,
    subscription,
    usdc,
    verify,
)
from paykit import USDC, assert_ledger_balanced, balances, fund, key
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent, failure


def fee_balance(server: ServerHandle) -> int:
    return server.run(server.runtime.payments.ledger.balance("platform/fees/USDC"))


def test_one_time_skill_splits_97_5_to_2_5_in_one_transaction(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller, buyer = create_agent(server, "seller"), create_agent(server, "buyer")
    skill = create_skill(server, seller, one_time(10 * USDC))
    fund(server, operator, buyer, 25 * USDC)
    fees_before = fee_balance(server)

    bought = buy(server, buyer, skill.name)
    purchase, licence = bought.purchase, bought.license
    assert purchase.state == mpb.PURCHASE_STATE_COMPLETED
    assert purchase.buyer == buyer.name
    assert purchase.seller == seller.name
    assert purchase.listing == skill.name
    assert purchase.listing_version == "1.0.0"
    assert purchase.amount == usdc(10 * USDC)
    assert purchase.platform_fee == usdc(250_000)
    assert purchase.seller_amount == usdc(9_750_000)
    assert purchase.pricing_model == rpb.PRICING_MODEL_ONE_TIME
    assert purchase.license == licence.name
    assert licence.state == mpb.LICENSE_STATE_ACTIVE
    assert licence.origin == mpb.LICENSE_ORIGIN_PURCHASE
    assert not licence.HasField("expire_time")
    assert not licence.HasField("usage_limit")

    transaction = server.payment.GetTransaction(
        ppb.GetTransactionRequest(name=purchase.transaction), metadata=buyer.auth
    ).transaction
    assert transaction.kind == ppb.TRANSACTION_KIND_PURCHASE
    assert transaction.reference == purchase.name
    assert {(e.account, e.amount) for e in transaction.entries} == {
        (f"{buyer.name}/wallets/USDC", -10 * USDC),
        (f"{seller.name}/wallets/USDC", 9_750_000),
        ("platform/fees/USDC", 250_000),
    }
    assert balances(server, buyer) == (15 * USDC, 0)
    assert balances(server, seller) == (9_750_000, 0)
    assert fee_balance(server) - fees_before == 250_000
    assert get_skill(server, skill.name).purchase_count == 1
    assert get_agent(server, seller).total_sales == 1
    assert_ledger_balanced(server, operator)


def test_daemon_sales_pay_the_30_percent_commission(server: ServerHandle, operator: AgentHandle) -> None:
    seller, buyer = create_agent(server, "author"), create_agent(server, "runner")
    daemon = create_daemon(server, seller, one_time(4_990_000))
    fund(server, operator, buyer, 5 * USDC)
    purchase = buy(server, buyer, daemon.name).purchase
    # 30 % of 4.99 USDC, rounded down to the atomic unit.
    assert purchase.platform_fee == usdc(1_497_000)
    assert purchase.seller_amount == usdc(3_493_000)
    assert balances(server, seller) == (3_493_000, 0)
    assert balances(server, buyer) == (10_000, 0)


def test_each_licence_type_has_its_own_price(server: ServerHandle, operator: AgentHandle) -> None:
    seller, buyer = create_agent(server, "tiered"), create_agent(server, "firm")
    skill = create_skill(
        server,
        seller,
        one_time(
            1 * USDC,
            license_prices=[
                rpb.LicensePrice(license_type=rpb.LICENSE_TYPE_PERSONAL, price=usdc(1 * USDC)),
                rpb.LicensePrice(license_type=rpb.LICENSE_TYPE_COMMERCIAL, price=usdc(5 * USDC)),
            ],
        ),
    )
    fund(server, operator, buyer, 10 * USDC)
    personal = buy(server, buyer, skill.name, rpb.LICENSE_TYPE_PERSONAL).purchase
    commercial = buy(server, buyer, skill.name, rpb.LICENSE_TYPE_COMMERCIAL).purchase
    assert personal.amount.amount == 1 * USDC
    assert commercial.amount.amount == 5 * USDC
    assert balances(server, buyer) == (4 * USDC, 0)
    # Enterprise is not on offer.
    found = assert_refused(
        server,
        lambda: buy(server, buyer, skill.name, rpb.LICENSE_TYPE_ENTERPRISE),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason="LICENSE_TYPE_NOT_OFFERED",
        field="license_type",
    )
    assert "personal, commercial" in found.message


def test_free_listing_grants_a_licence_without_a_transaction(server: ServerHandle) -> None:
    seller, buyer = create_agent(server, "giver"), create_agent(server, "taker")
    skill = create_skill(server, seller, free())
    bought = buy(server, buyer, skill.name)
    assert bought.purchase.state == mpb.PURCHASE_STATE_COMPLETED
    assert bought.purchase.amount.amount == 0
    assert bought.purchase.transaction == ""
    assert bought.license.origin == mpb.LICENSE_ORIGIN_FREE
    assert verify(server, buyer, skill.name).valid
    # A free acquisition is no sale: reputation counts paid transactions.
    assert get_agent(server, seller).total_sales == 0
    assert get_skill(server, skill.name).purchase_count == 1
    # One free licence per licence type at a time.
    assert_refused(
        server,
        lambda: buy(server, buyer, skill.name),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="ALREADY_LICENSED",
        field="listing",
    )


def test_subscription_licence_expires_at_the_end_of_its_interval(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller, buyer = create_agent(server, "monthly"), create_agent(server, "subscriber")
    skill = create_skill(server, seller, subscription(2 * USDC, rpb.BILLING_INTERVAL_WEEKLY))
    fund(server, operator, buyer, 2 * USDC)
    bought = buy(server, buyer, skill.name)
    licence = bought.license
    assert licence.auto_renew
    start = bought.purchase.create_time.ToDatetime()
    assert (licence.expire_time.ToDatetime() - start).days == 7
    answer = verify(server, buyer, skill.name)
    assert answer.valid
    assert answer.expire_time == licence.expire_time
    # Subscribing twice to the same licence type is refused while the first runs.
    assert_refused(
        server,
        lambda: buy(server, buyer, skill.name),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="ALREADY_LICENSED",
    )
    once = create_agent(server, "once")
    fund(server, operator, once, 2 * USDC)
    no_renewal = buy(server, once, skill.name, auto_renew=False)
    assert not no_renewal.license.auto_renew


def test_prepaid_units_are_counted_down_and_never_below_zero(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller, buyer = create_agent(server, "meter"), create_agent(server, "caller")
    skill = create_skill(server, seller, prepaid(1_000))
    fund(server, operator, buyer, 1 * USDC)
    bought = buy(server, buyer, skill.name, units=3)
    assert bought.purchase.amount.amount == 3_000
    assert bought.purchase.units == 3
    assert bought.license.usage_limit == 3
    assert bought.license.usage_count == 0
    answer = verify(server, buyer, skill.name)
    assert answer.valid
    assert answer.remaining_units == 3
    # A second pack adds a licence of its own; remaining units add up.
    buy(server, buyer, skill.name, units=2)
    assert verify(server, buyer, skill.name).remaining_units == 5

    licenses = server.runtime.marketplace.licenses
    used = [server.run(licenses.consume(buyer.id, skill.name)) for _ in range(5)]
    # The older pack is used first.
    assert [u.id for u in used[:3]] == [bought.license.name.removeprefix("licenses/")] * 3
    assert used[2].state == "exhausted"
    assert used[4].state == "exhausted"
    answer = verify(server, buyer, skill.name)
    assert not answer.valid
    assert answer.denial == mpb.LICENSE_DENIAL_EXHAUSTED
    with pytest.raises(FailedPrecondition) as refused:
        server.run(licenses.consume(buyer.id, skill.name))
    assert refused.value.reason == "LICENSE_EXHAUSTED"
    # A call that never reached the seller gives its unit back.
    server.run(licenses.restore(used[4].id))
    assert verify(server, buyer, skill.name).remaining_units == 1


def test_units_are_required_exactly_for_prepaid_listings(server: ServerHandle, operator: AgentHandle) -> None:
    seller, buyer = create_agent(server, "units"), create_agent(server, "unitbuyer")
    packs = create_skill(server, seller, prepaid(10))
    once = create_skill(server, seller, one_time(10))
    fund(server, operator, buyer, 1 * USDC)
    assert_refused(
        server,
        lambda: buy(server, buyer, packs.name, units=0),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason="UNITS_REQUIRED",
        field="units",
    )
    assert_refused(
        server,
        lambda: buy(server, buyer, once.name, units=5),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason="UNITS_NOT_APPLICABLE",
        field="units",
    )


def test_pay_per_call_charges_each_call_through_the_ledger(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller, buyer = create_agent(server, "percall"), create_agent(server, "metered")
    skill = create_skill(server, seller, per_call(2_000))
    fund(server, operator, buyer, 10_000)
    bought = buy(server, buyer, skill.name)
    # Nothing is paid up front.
    assert bought.purchase.amount.amount == 0
    assert bought.purchase.transaction == ""
    assert balances(server, buyer) == (10_000, 0)
    licenses = server.runtime.marketplace.licenses
    found = server.run(licenses.check(buyer.id, skill.name))
    assert found.valid
    assert found.metering == "pay_per_call"
    posted = server.run(
        licenses.charge_call(found.require(), idempotency_key=key("call"), reference="executions/x")
    )
    assert {(e.account, e.amount) for e in posted.entries} == {
        (f"agents/{buyer.id}/wallets/USDC", -2_000),
        (f"agents/{seller.id}/wallets/USDC", 1_950),
        ("platform/fees/USDC", 50),
    }
    assert balances(server, buyer) == (8_000, 0)


def test_a_repeated_purchase_key_returns_the_first_purchase(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller, buyer = create_agent(server, "idem"), create_agent(server, "retry")
    skill = create_skill(server, seller, prepaid(100))
    fund(server, operator, buyer, 1 * USDC)
    first = buy(server, buyer, skill.name, units=2, idempotency_key="purchase-1")
    again = buy(server, buyer, skill.name, units=2, idempotency_key="purchase-1")
    assert again.purchase == first.purchase
    assert again.license.name == first.license.name
    assert balances(server, buyer) == (1 * USDC - 200, 0)
    assert_refused(
        server,
        lambda: buy(server, buyer, skill.name, units=3, idempotency_key="purchase-1"),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="IDEMPOTENCY_KEY_REUSED",
        field="idempotency_key",
    )


def test_purchase_history_for_buyers_and_sellers(server: ServerHandle, operator: AgentHandle) -> None:
    seller, buyer = create_agent(server, "shop"), create_agent(server, "shopper")
    skills = [create_skill(server, seller, one_time(100)) for _ in range(3)]
    fund(server, operator, buyer, 1 * USDC)
    bought = [buy(server, buyer, s.name).purchase.name for s in skills]

    def pages(caller: AgentHandle, role: int, listing: str = "") -> list[str]:
        seen: list[str] = []
        token = ""
        while True:
            page = server.marketplace.ListPurchases(
                mpb.ListPurchasesRequest(role=role, listing=listing, page_size=2, page_token=token),
                metadata=caller.auth,
            )
            seen += [p.name for p in page.purchases]
            token = page.next_page_token
            if not token:
                return seen

    assert pages(buyer, mpb.MARKET_ROLE_BUYER) == list(reversed(bought))
    assert pages(buyer, mpb.MARKET_ROLE_UNSPECIFIED) == list(reversed(bought))
    assert pages(seller, mpb.MARKET_ROLE_SELLER) == list(reversed(bought))
    assert pages(seller, mpb.MARKET_ROLE_SELLER, skills[1].name) == [bought[1]]
    assert pages(seller, mpb.MARKET_ROLE_BUYER) == []
    # Purchases are private to their buyer, seller and operators.
    stranger = create_agent(server, "nosy")
    for caller in (buyer, seller, operator):
        found = server.marketplace.GetPurchase(mpb.GetPurchaseRequest(name=bought[0]), metadata=caller.auth)
        assert found.purchase.name == bought[0]
    assert (
        failure(
            lambda: server.marketplace.GetPurchase(
                mpb.GetPurchaseRequest(name=bought[0]), metadata=stranger.auth
            )
        ).code
        == grpc.StatusCode.PERMISSION_DENIED
    )


def test_licences_are_listed_for_buyer_and_seller_and_verified_by_them(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller, buyer = create_agent(server, "licensor"), create_agent(server, "licensee")
    skill = create_skill(server, seller, one_time(100))
    fund(server, operator, buyer, 1_000)
    licence = buy(server, buyer, skill.name).license
    for caller, role in ((buyer, mpb.MARKET_ROLE_BUYER), (seller, mpb.MARKET_ROLE_SELLER)):
        listed = server.marketplace.ListLicenses(
            mpb.ListLicensesRequest(role=role, state=mpb.LICENSE_STATE_ACTIVE), metadata=caller.auth
        ).licenses
        assert [found.name for found in listed] == [licence.name]
        got = server.marketplace.GetLicense(mpb.GetLicenseRequest(name=licence.name), metadata=caller.auth)
        assert got.license == licence
    # The seller may verify a buyer's licence; a third agent may not.
    assert verify(server, seller, skill.name, buyer.name).valid
    assert verify(server, operator, skill.name, buyer.name).valid
    stranger = create_agent(server, "auditor")
    assert (
        failure(lambda: verify(server, stranger, skill.name, buyer.name)).code
        == grpc.StatusCode.PERMISSION_DENIED
    )
    answer = verify(server, stranger, skill.name)
    assert not answer.valid
    assert answer.denial == mpb.LICENSE_DENIAL_NO_LICENSE
    assert not answer.HasField("license")
    assert not answer.HasField("remaining_units")


def test_the_licence_check_of_the_proxy(server: ServerHandle, operator: AgentHandle) -> None:
    seller, buyer = create_agent(server, "proxied"), create_agent(server, "proxyuser")
    skill = create_skill(server, seller, one_time(100, trial_runs=2))
    licenses = server.runtime.marketplace.licenses
    found = server.run(licenses.check(buyer.id, skill.name))
    assert not found.valid
    with pytest.raises(FailedPrecondition) as refused:
        found.require()
    assert refused.value.reason == "NO_LICENSE"
    server.run(licenses.start_trial(Caller(buyer.id), skill.name))
    found = server.run(licenses.check(buyer.id, skill.name))
    assert found.valid
    assert found.metering == "units"
    assert found.remaining_units == 2
    fund(server, operator, buyer, 100)
    buy(server, buyer, skill.name)
    # An unlimited licence counts before the trial: trial runs are not burnt needlessly.
    found = server.run(licenses.check(buyer.id, skill.name))
    assert found.valid
    assert found.metering == "none"
    assert found.remaining_units is None
