"""Purchases racing through the real server: 32 at once from a buyer that can afford N of them.

"Exactly N licences" means three different things, each tested here:
- 32 different listings: exactly N purchases complete, each with its licence; the rest fail
  INSUFFICIENT_FUNDS and leave nothing behind;
- one listing sold in prepaid-unit packs, which a buyer may buy again and again: exactly N packs;
- one one-time listing, which a buyer holds at most once: exactly one licence however much money
  there is, the other 31 refused ALREADY_LICENSED and not charged.
Balances are exact, the platform fee account moves by exactly N fees to the atomic unit, and
CheckLedger finds every balance equal to its entries.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import grpc

from agentos.marketplace.v1 import marketplace_pb2 as mpb
from agentos.payment.v1 import payment_pb2 as ppb
from agentos_server.domain.errors import FailedPrecondition

from marketkit import buy, create_daemon, create_skill, one_time, prepaid
from paykit import assert_ledger_balanced, balances, fund, set_tier
from testkit import AgentHandle, ServerHandle, create_agent, failure

T = TypeVar("T")
CALLS = 32
AFFORDABLE = 11


def all_at_once(count: int, call: Callable[[int], T]) -> list[T]:
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def outcome(call: Callable[[], object]) -> str:
    try:
        call()
        return "OK"
    except grpc.RpcError as error:
        refused = error

    def again() -> None:
        raise refused

    return failure(again).reason


def fees(server: ServerHandle) -> int:
    return server.run(server.runtime.payments.ledger.balance("platform/fees/USDC"))


def licences_of(server: ServerHandle, buyer: AgentHandle, listing: str = "") -> list[mpb.License]:
    found: list[mpb.License] = []
    token = ""
    while True:
        page = server.marketplace.ListLicenses(
            mpb.ListLicensesRequest(
                role=mpb.MARKET_ROLE_BUYER, listing=listing, page_size=100, page_token=token
            ),
            metadata=buyer.auth,
        )
        found += page.licenses
        token = page.next_page_token
        if not token:
            return found


def rich_buyer(server: ServerHandle, operator: AgentHandle, name: str) -> AgentHandle:
    buyer = create_agent(server, name)
    # Enterprise, so that the burst limit does not refuse the 32 calls before the marketplace sees them.
    set_tier(server, operator, buyer, ppb.SUBSCRIPTION_TIER_ENTERPRISE)
    return buyer


def test_32_purchases_of_different_listings_with_money_for_11(
    server: ServerHandle, operator: AgentHandle
) -> None:
    sellers = [create_agent(server, f"racer{i}") for i in range(4)]
    # A price whose 2.5 % fee is not a whole number of atomic units: rounding must be consistent.
    price = 1_234_567
    fee = price * 250 // 10_000
    listings = [create_skill(server, sellers[i % 4], one_time(price)).name for i in range(CALLS)]
    buyer = rich_buyer(server, operator, "racebuyer")
    fund(server, operator, buyer, AFFORDABLE * price)
    fees_before = fees(server)

    outcomes = Counter(all_at_once(CALLS, lambda i: outcome(lambda: buy(server, buyer, listings[i]))))

    assert outcomes == {"OK": AFFORDABLE, "INSUFFICIENT_FUNDS": CALLS - AFFORDABLE}
    owned = licences_of(server, buyer)
    assert len(owned) == AFFORDABLE
    assert len({licence.listing for licence in owned}) == AFFORDABLE
    purchases = server.marketplace.ListPurchases(
        mpb.ListPurchasesRequest(page_size=100), metadata=buyer.auth
    ).purchases
    assert len(purchases) == AFFORDABLE
    assert all(p.state == mpb.PURCHASE_STATE_COMPLETED for p in purchases)
    assert balances(server, buyer) == (0, 0)
    assert sum(balances(server, s)[0] for s in sellers) == AFFORDABLE * (price - fee)
    assert fees(server) - fees_before == AFFORDABLE * fee
    assert_ledger_balanced(server, operator)


def test_32_purchases_of_one_prepaid_listing_with_money_for_11_packs(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller = create_agent(server, "packseller")
    # A daemon, so that the 30 % commission is the one exercised; 7 units at 3,333 each.
    unit_price, units = 3_333, 7
    amount = unit_price * units
    fee = amount * 3_000 // 10_000
    daemon = create_daemon(server, seller, prepaid(unit_price))
    buyer = rich_buyer(server, operator, "packbuyer")
    fund(server, operator, buyer, AFFORDABLE * amount + amount - 1)
    fees_before = fees(server)

    outcomes = Counter(
        all_at_once(CALLS, lambda i: outcome(lambda: buy(server, buyer, daemon.name, units=units)))
    )

    assert outcomes == {"OK": AFFORDABLE, "INSUFFICIENT_FUNDS": CALLS - AFFORDABLE}
    packs = licences_of(server, buyer, daemon.name)
    assert len(packs) == AFFORDABLE
    assert sum(p.usage_limit for p in packs) == AFFORDABLE * units
    assert balances(server, buyer) == (amount - 1, 0)
    assert balances(server, seller) == (AFFORDABLE * (amount - fee), 0)
    assert fees(server) - fees_before == AFFORDABLE * fee
    answer = server.marketplace.VerifyLicense(
        mpb.VerifyLicenseRequest(listing=daemon.name), metadata=buyer.auth
    )
    assert answer.valid
    assert answer.remaining_units == AFFORDABLE * units
    assert_ledger_balanced(server, operator)


def test_32_purchases_of_one_one_time_listing_grant_one_licence(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller = create_agent(server, "onceseller")
    price = 500_001
    skill = create_skill(server, seller, one_time(price))
    buyer = rich_buyer(server, operator, "oncebuyer")
    fund(server, operator, buyer, CALLS * price)
    fees_before = fees(server)

    outcomes = Counter(all_at_once(CALLS, lambda i: outcome(lambda: buy(server, buyer, skill.name))))

    assert outcomes == {"OK": 1, "ALREADY_LICENSED": CALLS - 1}
    assert len(licences_of(server, buyer, skill.name)) == 1
    assert balances(server, buyer) == ((CALLS - 1) * price, 0)
    assert balances(server, seller) == (price - price * 250 // 10_000, 0)
    assert fees(server) - fees_before == price * 250 // 10_000
    assert_ledger_balanced(server, operator)


def test_32_concurrent_calls_consume_exactly_the_10_prepaid_units(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller = create_agent(server, "unitseller")
    skill = create_skill(server, seller, prepaid(10))
    buyer = create_agent(server, "unitcaller")
    fund(server, operator, buyer, 100)
    licence = buy(server, buyer, skill.name, units=10).license
    licenses = server.runtime.marketplace.licenses

    async def one() -> str:
        try:
            await licenses.consume(buyer.id, skill.name)
            return "OK"
        except FailedPrecondition as error:
            return error.reason

    async def race() -> list[str]:
        return list(await asyncio.gather(*(one() for _ in range(CALLS))))

    assert Counter(server.run(race())) == {"OK": 10, "LICENSE_EXHAUSTED": CALLS - 10}
    final = server.marketplace.GetLicense(
        mpb.GetLicenseRequest(name=licence.name), metadata=buyer.auth
    ).license
    assert final.usage_count == 10
    assert final.state == mpb.LICENSE_STATE_EXHAUSTED
