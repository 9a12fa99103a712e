"""The purchase hot path on PostgreSQL writes exactly what the general path writes, and steps
aside whenever its cached view of the listing is out of date."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import field_mask_pb2
from sqlalchemy import select

from agentos.registry.v1 import registry_pb2 as rpb
from agentos_server.domain.purchases import Purchases
from agentos_server.infra.tables.marketplace import LicenseRow, PurchaseRow
from agentos_server.infra.tables.payment import LedgerEntryRow, LedgerTransactionRow

from marketkit import buy, create_skill, get_agent, get_skill, prepaid, reputation
from paykit import USDC, assert_ledger_balanced, balances, fund
from testkit import BACKEND, AgentHandle, ServerHandle, create_agent, failure

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="the hot path exists on PostgreSQL only")


class Counting:
    """Wraps the hot path's poster and counts the purchases it committed."""

    def __init__(self, purchases: Purchases) -> None:
        self.inner: Any = purchases._poster
        self.committed = 0

    async def post(self, purchase: Any) -> bool:
        done = bool(await self.inner.post(purchase))
        self.committed += done
        return done

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture
def hot(server: ServerHandle) -> Iterator[Counting]:
    purchases = server.runtime.marketplace.purchases
    counting = Counting(purchases)
    purchases._poster = counting  # type: ignore[assignment]
    yield counting
    purchases._poster = counting.inner


def rows(server: ServerHandle, purchase_name: str) -> dict[str, Any]:
    """The purchase's rows, without ids, keys and times (which differ by construction)."""
    purchase_id = purchase_name.removeprefix("purchases/")
    volatile = {
        "id",
        "license_id",
        "purchase_id",
        "transaction_id",
        "idempotency_key",
        "created_at",
        "updated_at",
    }

    async def read() -> dict[str, Any]:
        async with server.runtime.db.snapshot() as session:
            purchase = await session.get(PurchaseRow, purchase_id)
            assert purchase is not None
            licence = await session.get(LicenseRow, purchase.license_id)
            transaction = await session.get(LedgerTransactionRow, purchase.transaction_id)
            entries = (
                await session.scalars(
                    select(LedgerEntryRow).where(LedgerEntryRow.transaction_id == purchase.transaction_id)
                )
            ).all()

        def plain(row: Any) -> dict[str, Any]:
            return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in volatile}

        return {
            "purchase": plain(purchase),
            "licence": plain(licence),
            "transaction": {k: v for k, v in plain(transaction).items() if k != "reference"},
            "entries": sorted((e.account, e.agent_id, e.asset, e.amount) for e in entries),
        }

    return server.run(read())


def test_hot_and_general_paths_write_the_same_rows(
    server: ServerHandle, operator: AgentHandle, hot: Counting
) -> None:
    seller, buyer = create_agent(server, "twopaths"), create_agent(server, "twobuyer")
    skill = create_skill(server, seller, prepaid(1_234))
    fund(server, operator, buyer, USDC)
    # The first sale creates the seller's wallet account: only the general path does that.
    buy(server, buyer, skill.name, units=2)
    before = hot.committed
    fast = buy(server, buyer, skill.name, units=2).purchase
    assert hot.committed == before + 1

    purchases = server.runtime.marketplace.purchases
    purchases._poster = None
    try:
        slow = buy(server, buyer, skill.name, units=2).purchase
    finally:
        purchases._poster = hot  # type: ignore[assignment]
    assert hot.committed == before + 1

    assert rows(server, fast.name) == rows(server, slow.name)
    fee = 2 * 1_234 * 250 // 10_000
    assert balances(server, seller) == (3 * (2 * 1_234 - fee), 0)
    assert get_skill(server, skill.name).purchase_count == 3
    # The score the statement computed in SQL is the formula's.
    assert get_agent(server, seller).reputation == pytest.approx(reputation(server, seller).score)
    assert get_agent(server, seller).total_sales == 3
    assert_ledger_balanced(server, operator)


def test_a_listing_changed_since_it_was_cached_is_bought_at_its_new_price(
    server: ServerHandle, operator: AgentHandle, hot: Counting
) -> None:
    seller, buyer = create_agent(server, "repricer"), create_agent(server, "watcher")
    skill = create_skill(server, seller, prepaid(1_000))
    fund(server, operator, buyer, USDC)
    buy(server, buyer, skill.name, units=1)
    assert buy(server, buyer, skill.name, units=1).purchase.amount.amount == 1_000
    committed = hot.committed
    server.registry.UpdateSkill(
        rpb.UpdateSkillRequest(
            skill=rpb.Skill(name=skill.name, version="1.1.0", pricing=prepaid(3_000)),
            update_mask=field_mask_pb2.FieldMask(paths=["pricing"]),
        ),
        metadata=seller.auth,
    )
    repriced = buy(server, buyer, skill.name, units=1).purchase
    assert repriced.amount.amount == 3_000
    assert repriced.listing_version == "1.1.0"
    # The cached 1.0.0 price failed the statement's check; the general path sold at 1.1.0.
    assert hot.committed == committed
    assert buy(server, buyer, skill.name, units=1).purchase.amount.amount == 3_000
    assert hot.committed == committed + 1
    server.registry.DeprecateSkill(
        rpb.DeprecateSkillRequest(name=skill.name, reason="gone"), metadata=seller.auth
    )
    assert failure(lambda: buy(server, buyer, skill.name, units=1)).reason == "LISTING_DEPRECATED"
