"""Execution credits, subscription tiers and the per-call service price list.

Credits are the CREDIT asset (0 decimals). BuyCredits sells them for USDC at
AGENTOS_CREDIT_PRICE_PER_1000 (default 10,000,000 atomic USDC = $10 per 1,000 credits; a partial
thousand costs its share, rounded up to the next atomic unit) in one transaction of two assets:
USDC from the agent to platform/revenue, CREDIT from platform/issuance to the agent.

Subscriptions run in UTC calendar months. An agent without a subscription row is on the free
tier. The month's business is done lazily, at the agent's first use in the month ("the roll"):
for a paid tier its price is charged from the agent's USDC (if the wallet cannot pay, the agent
drops to the free tier), then the tier's monthly credits are granted (CREDIT_GRANT, from
platform/issuance). Unused credits carry over. First use means: any call that reads or spends the
agent's money (GetWallet, ListWallets, GetSubscription, GetApiUsage, BuyCredits,
ChangeSubscription, or a ledger debit of CREDIT); and, for an agent that already has a
subscription row, its first authenticated call of the month (the admission gate rolls it, so a
paid tier is renewed, or dropped, before its quota is used). A month nobody uses grants nothing.

ChangeSubscription charges the new tier's full monthly price at once (no proration) and grants
its monthly credits for the rest of the month; moving to a cheaper tier charges nothing and takes
effect at once. Enterprise (unlimited credits and calls, contract pricing) is assigned by an
operator; its agents' credit debits are minted from platform/issuance in the debit's own
transaction, so they never run out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import InvalidArgument, NotFound, PermissionDenied, Violations
from agentos_server.domain.idempotency import Idempotency, request_fingerprint
from agentos_server.domain.ids import new_id, parse_name
from agentos_server.domain.ledger import (
    CREDIT_GRANT,
    CREDIT_PURCHASE,
    ISSUANCE,
    REVENUE,
    SUBSCRIPTION,
    USAGE_CHARGE,
    InsufficientFunds,
    Ledger,
    Line,
    PostedTransaction,
    platform_account,
    transact,
    wallet_account,
)
from agentos_server.domain.money import (
    CREDIT,
    MAX_AMOUNT,
    USDC,
    AssetCatalog,
    Money,
    check_amount,
    check_idempotency_key,
)
from agentos_server.domain.periods import month_end, month_start
from agentos_server.domain.tiers import ENTERPRISE, FREE, Tier, TierTable
from agentos_server.infra.db import Database
from agentos_server.infra.sql import insert_ignoring_conflicts, table_of
from agentos_server.infra.tables.payment import SubscriptionRow
from agentos_server.infra.tables.registry import AgentRow

_SUBSCRIPTIONS = table_of(SubscriptionRow)


@dataclass(frozen=True)
class ServicePrice:
    service: str
    display_name: str
    price: Money
    unit: str


DEFAULT_PRICES = (
    ServicePrice("sentiment-analysis", "Sentiment analysis", Money(USDC, 1_000), "call"),
    ServicePrice("content-moderation", "Content moderation", Money(USDC, 2_000), "call"),
    ServicePrice("image-generation", "Image generation", Money(USDC, 20_000), "image"),
    ServicePrice("analytics-report", "Analytics report", Money(USDC, 100_000), "report"),
)


class PriceList:
    """The catalogue of per-call service prices (the PerkOS Spark list by default)."""

    def __init__(self, prices: tuple[ServicePrice, ...]) -> None:
        self._prices = {p.service: p for p in prices}

    @classmethod
    def from_config(cls, prices_json: str, assets: AssetCatalog) -> PriceList:
        if not prices_json.strip():
            return cls(DEFAULT_PRICES)
        try:
            parsed = json.loads(prices_json)
        except ValueError as error:
            raise ValueError(f"AGENTOS_SERVICE_PRICES is not JSON: {error}") from error
        if not isinstance(parsed, list):
            raise ValueError("AGENTOS_SERVICE_PRICES must be a JSON list of prices")
        prices = []
        for item in parsed:
            if not isinstance(item, Mapping):
                raise ValueError(f"AGENTOS_SERVICE_PRICES entry {item!r} must be an object")
            service, asset, amount = item.get("service"), item.get("asset", USDC), item.get("amount")
            if not isinstance(service, str) or not service:
                raise ValueError(f"AGENTOS_SERVICE_PRICES entry {item!r} needs a service id")
            if asset not in assets:
                raise ValueError(f"AGENTOS_SERVICE_PRICES[{service}] names unknown asset {asset!r}")
            if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= MAX_AMOUNT:
                raise ValueError(f"AGENTOS_SERVICE_PRICES[{service}].amount must be a non-negative integer")
            prices.append(
                ServicePrice(
                    service,
                    str(item.get("display_name", service)),
                    Money(str(asset), amount),
                    str(item.get("unit", "call")),
                )
            )
        if len({p.service for p in prices}) != len(prices):
            raise ValueError("AGENTOS_SERVICE_PRICES lists a service twice")
        return cls(tuple(prices))

    def all(self) -> list[ServicePrice]:
        return list(self._prices.values())

    def get(self, service: str) -> ServicePrice | None:
        return self._prices.get(service)


@dataclass(frozen=True)
class SubscriptionView:
    agent_id: str
    tier: str
    period_start: datetime
    period_end: datetime
    credits_granted: int

    @property
    def name(self) -> str:
        return f"agents/{self.agent_id}/subscription"


def parse_subscription_name(name: str, field: str = "name") -> str:
    agent_part, sep, tail = name.rpartition("/")
    if not sep or tail != "subscription":
        raise InvalidArgument(
            "must be a subscription name of the form agents/{agent_id}/subscription",
            field=field,
            reason="INVALID_NAME",
        )
    return parse_name(agent_part, "agents", field)


class Billing:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ledger: Ledger,
        tiers: TierTable,
        prices: PriceList,
        idempotency: Idempotency,
        *,
        credit_price_per_1000: int,
    ) -> None:
        if credit_price_per_1000 <= 0:
            raise ValueError("AGENTOS_CREDIT_PRICE_PER_1000 must be positive")
        self._db = db
        self._clock = clock
        self._ledger = ledger
        self.tiers = tiers
        self.prices = prices
        self._idempotency = idempotency
        self.credit_price_per_1000 = credit_price_per_1000
        self._dialect = "postgresql" if db.is_postgres else "sqlite"
        # Called with an agent id whenever its tier changes (the admission gate forgets its cache).
        self.on_tier_change: Callable[[str], None] = lambda agent_id: None
        ledger.set_credit_policy(self)

    # --- the monthly roll ---------------------------------------------------------------------

    async def roll(self, session: AsyncSession, agent_id: str, now: datetime) -> SubscriptionView:
        """Brings the agent's subscription to the month of `now`: creates it (free) on first use,
        renews a paid tier (or drops to free when the wallet cannot pay) and grants the month's
        credits. Does nothing when the period is current. Runs in the caller's transaction."""
        connection = await session.connection()
        month = month_start(now)
        query = select(_SUBSCRIPTIONS).where(_SUBSCRIPTIONS.c.agent_id == agent_id)
        if self._dialect == "postgresql":
            query = query.with_for_update()
        row = (await connection.execute(query)).first()
        if row is not None and row.period_start >= month:
            return SubscriptionView(agent_id, row.tier, row.period_start, month_end(now), row.credits_granted)
        if row is None:
            free = self.tiers.get(FREE)
            created = await connection.execute(
                insert_ignoring_conflicts(
                    self._dialect,
                    _SUBSCRIPTIONS,
                    {
                        "agent_id": agent_id,
                        "tier": FREE,
                        "period_start": month,
                        "credits_granted": free.monthly_credits,
                        "created_at": now,
                        "updated_at": now,
                    },
                ).returning(_SUBSCRIPTIONS.c.agent_id)
            )
            if created.first() is None:
                # Another transaction created it first and granted the credits; use its row.
                return await self.roll(session, agent_id, now)
            await self._grant(session, agent_id, free.monthly_credits, month)
            return SubscriptionView(agent_id, FREE, month, month_end(now), free.monthly_credits)

        tier = self.tiers.get(row.tier)
        if tier.monthly_price > 0:
            try:
                await self._ledger.pay(
                    agent_id,
                    None,
                    Money(USDC, tier.monthly_price),
                    kind=SUBSCRIPTION,
                    memo=f"{tier.display_name} tier, {month:%Y-%m}",
                    reference=f"agents/{agent_id}/subscription",
                    budgeted=False,
                    session=session,
                )
            except InsufficientFunds:
                # The failed debit matched no row, so nothing was written: drop to free instead.
                tier = self.tiers.get(FREE)
        granted = 0 if tier.unlimited_credits else tier.monthly_credits
        await connection.execute(
            update(_SUBSCRIPTIONS)
            .where(_SUBSCRIPTIONS.c.agent_id == agent_id)
            .values(tier=tier.code, period_start=month, credits_granted=granted, updated_at=now)
        )
        await self._grant(session, agent_id, granted, month)
        if tier.code != row.tier:
            self.on_tier_change(agent_id)
        return SubscriptionView(agent_id, tier.code, month, month_end(now), granted)

    async def _grant(self, session: AsyncSession, agent_id: str, credits: int, month: datetime) -> None:
        if credits <= 0:
            return
        await self._ledger.post(
            CREDIT_GRANT,
            [
                Line(platform_account(ISSUANCE, CREDIT), CREDIT, -credits),
                Line(wallet_account(agent_id, CREDIT), CREDIT, credits),
            ],
            memo=f"monthly credits, {month:%Y-%m}",
            reference=f"agents/{agent_id}/subscription",
            session=session,
        )

    async def before_credit_debit(self, session: AsyncSession, agent_id: str, now: datetime) -> bool:
        """CreditPolicy for the ledger: roll first, then say whether credits are unlimited."""
        view = await self.roll(session, agent_id, now)
        return self.tiers.get(view.tier).unlimited_credits

    async def current(self, session: AsyncSession, agent_id: str) -> SubscriptionView | None:
        """The agent's subscription if it is current (rolled into this month), read in `session`;
        None when it needs ensure_current."""
        now = self._clock.now()
        row = await session.get(SubscriptionRow, agent_id)
        if row is not None and row.period_start >= month_start(now):
            return SubscriptionView(agent_id, row.tier, row.period_start, month_end(now), row.credits_granted)
        return None

    async def ensure_current(self, agent_id: str) -> SubscriptionView:
        """Rolls the agent's subscription in a transaction of its own (a no-op read when current)."""
        now = self._clock.now()
        async with self._db.snapshot() as session:
            found = await self.current(session, agent_id)
            if found is not None:
                return found

        async def work(s: AsyncSession) -> SubscriptionView:
            return await self.roll(s, agent_id, now)

        return await transact(self._db, work)

    async def tier_for_admission(self, agent_id: str) -> str:
        """The tier the admission gate enforces. Never creates a subscription (a first call must not
        write), but renews a stored one at the first call of a new month."""
        now = self._clock.now()
        async with self._db.snapshot() as session:
            row = await session.get(SubscriptionRow, agent_id)
        if row is None:
            return FREE
        if row.period_start >= month_start(now):
            return row.tier
        return (await self.ensure_current(agent_id)).tier

    # --- RPCs -----------------------------------------------------------------------------------

    async def get_subscription(self, caller: Caller, name: str) -> SubscriptionView:
        agent_id = parse_subscription_name(name)
        caller.require_self_or_operator(agent_id)
        await self._require_agent(agent_id)
        return await self.ensure_current(agent_id)

    async def _require_agent(self, agent_id: str, field: str = "name") -> None:
        async with self._db.snapshot() as session:
            if await session.get(AgentRow, agent_id) is None:
                raise NotFound(
                    f"agents/{agent_id} does not exist", reason="AGENT_NOT_FOUND", metadata={"field": field}
                )

    async def change_subscription(
        self, caller: Caller, name: str, tier_code: str, idempotency_key: str
    ) -> tuple[SubscriptionView, PostedTransaction | None]:
        agent_id = parse_subscription_name(name)
        caller.require_self_or_operator(agent_id)
        v = Violations()
        if tier_code not in {t.code for t in self.tiers.all()}:
            v.add("tier", "must be SUBSCRIPTION_TIER_FREE, _PRO, _SCALE or _ENTERPRISE")
        check_idempotency_key(v, idempotency_key)
        v.raise_if_any()
        tier = self.tiers.get(tier_code)
        if not tier.self_service and not caller.is_operator:
            raise PermissionDenied(
                f"the {tier.display_name} tier is arranged with the AgentOS team; an operator assigns it",
                reason="TIER_REQUIRES_OPERATOR",
                metadata={"field": "tier"},
            )
        await self._require_agent(agent_id)
        transaction_id = new_id()

        async def work(s: AsyncSession) -> tuple[SubscriptionView, PostedTransaction | None]:
            now = self._clock.now()
            prior = await self._idempotency.claim(
                s,
                caller=caller.name,
                operation="payment.ChangeSubscription",
                key=idempotency_key,
                fingerprint=request_fingerprint(agent_id, tier_code),
                result=f"transactions/{transaction_id}",
                now=now,
            )
            current = await self.roll(s, agent_id, now)
            if prior is not None:
                posted = await self._ledger.get_transaction(prior.removeprefix("transactions/"), session=s)
                return current, posted
            if current.tier == tier_code:
                return current, None
            posted = None
            granted = current.credits_granted
            if tier.monthly_price > 0:
                posted = await self._ledger.pay(
                    agent_id,
                    None,
                    Money(USDC, tier.monthly_price),
                    kind=SUBSCRIPTION,
                    memo=f"{tier.display_name} tier from {now:%Y-%m-%d}",
                    reference=f"agents/{agent_id}/subscription",
                    initiator=caller.name,
                    idempotency_key=idempotency_key,
                    transaction_id=transaction_id,
                    session=s,
                )
                if not tier.unlimited_credits and tier.monthly_credits > 0:
                    await self._grant(s, agent_id, tier.monthly_credits, month_start(now))
                    granted += tier.monthly_credits
            await (await s.connection()).execute(
                update(_SUBSCRIPTIONS)
                .where(_SUBSCRIPTIONS.c.agent_id == agent_id)
                .values(tier=tier_code, credits_granted=granted, updated_at=now)
            )
            return (
                SubscriptionView(agent_id, tier_code, current.period_start, current.period_end, granted),
                posted,
            )

        view, posted = await transact(self._db, work)
        self.on_tier_change(agent_id)
        return view, posted

    def credit_price(self, credits: int) -> int:
        """USDC (atomic) for `credits` at the configured rate, rounded up."""
        return -(-credits * self.credit_price_per_1000 // 1000)

    async def buy_credits(
        self, caller: Caller, credits: int, idempotency_key: str
    ) -> tuple[PostedTransaction, Money]:
        v = Violations()
        check_amount(v, credits, "credits")
        check_idempotency_key(v, idempotency_key)
        if not v and self.credit_price(credits) > MAX_AMOUNT:
            v.add("credits", f"costs more than the largest payment ({MAX_AMOUNT} atomic USDC); buy fewer")
        v.raise_if_any()
        agent_id = caller.agent_id
        price = self.credit_price(credits)
        transaction_id = new_id()

        async def work(s: AsyncSession) -> PostedTransaction:
            now = self._clock.now()
            prior = await self._idempotency.claim(
                s,
                caller=caller.name,
                operation="payment.BuyCredits",
                key=idempotency_key,
                fingerprint=request_fingerprint(credits),
                result=f"transactions/{transaction_id}",
                now=now,
            )
            if prior is not None:
                found = await self._ledger.get_transaction(prior.removeprefix("transactions/"), session=s)
                assert found is not None
                return found
            await self.roll(s, agent_id, now)
            await self._ledger.budgets.consume(
                await s.connection(), agent_id=agent_id, asset=USDC, amount=price, scopes=(), now=now
            )
            return await self._ledger.post(
                CREDIT_PURCHASE,
                [
                    Line(wallet_account(agent_id, USDC), USDC, -price),
                    Line(platform_account(REVENUE, USDC), USDC, price),
                    Line(platform_account(ISSUANCE, CREDIT), CREDIT, -credits),
                    Line(wallet_account(agent_id, CREDIT), CREDIT, credits),
                ],
                initiator=caller.name,
                memo=f"{credits} credits",
                idempotency_key=idempotency_key,
                transaction_id=transaction_id,
                session=s,
            )

        posted = await transact(self._db, work)
        return posted, Money(
            USDC, -sum(e.amount for e in posted.entries if e.account == wallet_account(agent_id, USDC))
        )

    async def charge_service(
        self,
        agent_id: str,
        service: str,
        quantity: int = 1,
        *,
        budget_scopes: tuple[str, ...] = (),
        reference: str = "",
        initiator: str | None = None,
        session: AsyncSession | None = None,
    ) -> PostedTransaction:
        """Charges `quantity` units of a listed service at its price, against the agent's budgets."""
        price = self.prices.get(service)
        if price is None:
            raise NotFound(f"no service {service!r} in the price list", reason="SERVICE_NOT_FOUND")
        if quantity <= 0:
            raise InvalidArgument("quantity must be positive", field="quantity")
        total = price.price.amount * quantity
        return await self._ledger.charge(
            agent_id,
            Money(price.price.asset, total),
            kind=USAGE_CHARGE,
            budget_scopes=budget_scopes,
            reference=reference,
            memo=f"{quantity} {price.unit}(s) of {price.display_name}",
            initiator=initiator,
            session=session,
        )

    def tier(self, code: str) -> Tier:
        return self.tiers.get(code)


__all__ = ["ENTERPRISE", "Billing", "PriceList", "ServicePrice", "SubscriptionView"]
