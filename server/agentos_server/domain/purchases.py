"""Purchases: buying a licence to a skill or daemon, refunds, and the subscription renewal job.

Purchase flow
-------------
Purchase(listing, license_type, units, auto_renew, idempotency_key) runs in one database
transaction that commits or rolls back as a whole:
  1. claims the idempotency key (domain/idempotency): a repeat returns the first purchase;
  2. reads the listing (NOT_FOUND, also for a daemon the buyer may not see) and refuses one's own
     listing (OWN_LISTING), a deprecated one (LISTING_DEPRECATED) or one whose seller is
     deactivated (FAILED_PRECONDITION), and a licence type the listing does not price
     (INVALID_ARGUMENT on license_type);
  3. prices it with the listing's current pricing: one-time -> the price of the licence type;
     subscription -> the price of one interval; usage with prepaid units -> unit price x units;
     usage billed per call -> nothing now (the proxy charges each call, Licenses.charge_call);
     free -> nothing;
  4. grants the licence. One-time, subscription, pay-per-call and free licences are exclusive: a
     buyer holds at most one active licence per listing and licence type, which a unique key on
     the licence row guarantees under any concurrency (ALREADY_LICENSED). Prepaid-unit packs are
     not: every purchase of units is a pack of its own, used oldest first;
  5. records the purchase (state completed), counts it on the listing and, when money moves, in
     the seller's reputation (domain/reputation);
  6. moves the money last, in ONE balanced ledger transaction: buyer -amount, seller
     +(amount - fee), platform/fees +fee, fee = amount x fee_bps / 10000 rounded down (skills:
     AGENTOS_PLATFORM_FEE_BPS, 2.5 %; daemons: AGENTOS_DAEMON_FEE_BPS, 30 %). It counts against
     the buyer's budgets (agent-wide and the listing's scope). Last, because the platform fee
     account is one row every purchase updates: taking its lock just before commit keeps the
     time it is held, and so the serial part of every purchase, as short as possible.
A free listing grants its licence with no ledger transaction. Insufficient funds, a budget, or any
refusal roll everything back: nothing of a refused purchase remains, and its key may be retried.

States: a ledger-paid purchase is completed in the transaction that creates it, so none is ever
observed pending (PENDING is for payments settled outside the ledger, which no issue schedules
yet); refunded after a refund; failed for a subscription renewal that could not be paid (recorded
with its reason when the licence lapses).

Refunds: the seller or an operator, within AGENTOS_REFUND_WINDOW_HOURS of the purchase, reverses
its ledger transaction in full (the fee too: the platform gives its share back) and revokes the
licence. Twice, after the window, or a purchase that moved no money: FAILED_PRECONDITION. Anyone
else: PERMISSION_DENIED. A repeat with the same idempotency key returns the refunded purchase.

Subscription renewal (renew_due, run every AGENTOS_RENEWAL_SWEEP_SECONDS by each server and on
demand by tests): a subscription due within AGENTOS_RENEWAL_LEAD_SECONDS of its expiry is renewed
from the buyer's wallet at the price the buyer agreed to (the licence's locked price; a seller's
new price applies to new buyers), for one more interval counted from the first period's start (so
monthly renewals keep their day of the month). Each renewal is a purchase (renewal = true) in one
transaction with its ledger payment; a conditional update on the licence's expiry makes it happen
once even when several servers sweep at once. A renewal that cannot be paid (INSUFFICIENT_FUNDS,
BUDGET_EXCEEDED, the listing deprecated or no longer a subscription) is retried on every sweep
until the expiry; then the licence lapses (state expired, lapse_reason "renewal failed: REASON")
and a failed purchase records the attempt. A cancelled subscription lapses at its expiry with
lapse_reason "cancelled".
"""

from __future__ import annotations

import calendar
import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.caller import Caller
from agentos_server.domain.catalog import (
    ListingCache,
    ListingInfo,
    add_purchases,
    load_listing,
    publish_listing,
)
from agentos_server.domain.clock import Clock
from agentos_server.domain.daemons import Visibility
from agentos_server.domain.errors import (
    Aborted,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Violations,
)
from agentos_server.domain.idempotency import Idempotency, request_fingerprint
from agentos_server.domain.ids import new_id, parse_name
from agentos_server.domain.ledger import PURCHASE as PURCHASE_KIND
from agentos_server.domain.ledger import Fee, Ledger, transact
from agentos_server.domain.licenses import (
    ACTIVE,
    EXPIRED,
    FREE,
    LICENSES,
    PURCHASE,
    AlreadyLicensed,
    FeeSchedule,
    Licenses,
    LicenseView,
    exclusive_key,
    license_view,
)
from agentos_server.domain.listing_refs import ListingRef, listing_of, parse_listing
from agentos_server.domain.money import MAX_AMOUNT, Money, check_idempotency_key, fee_for
from agentos_server.domain.pagination import PageTokens, fingerprint, page_size
from agentos_server.domain.pricing import BillingInterval, LicenseType, PricingModel, UsageBilling
from agentos_server.domain.reputation import BOOST_SQL, SCORE_SQL, ListingStats, Reputation
from agentos_server.domain.validation import check_text
from agentos_server.infra.db import Database
from agentos_server.infra.marketplace_pg import HotPurchase, PurchasePoster
from agentos_server.infra.pg_hot import Claim
from agentos_server.infra.sql import table_of
from agentos_server.infra.tables.marketplace import PurchaseRow

log = logging.getLogger("agentos.marketplace")

PURCHASES = table_of(PurchaseRow)

PENDING = "pending"
COMPLETED = "completed"
REFUNDED = "refunded"
FAILED = "failed"

# Prepaid units one purchase may buy.
MAX_UNITS = 1_000_000


def add_interval(anchor: datetime, interval: BillingInterval, periods: int) -> datetime:
    """`anchor` plus `periods` intervals; months and years keep the anchor's day, clamped to the
    month's length (a subscription from 31 January renews on 28/29 February, then 31 March)."""
    if interval is BillingInterval.DAILY:
        return anchor + timedelta(days=periods)
    if interval is BillingInterval.WEEKLY:
        return anchor + timedelta(weeks=periods)
    months = periods * (12 if interval is BillingInterval.YEARLY else 1)
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class PurchaseView:
    id: str
    buyer_id: str
    seller_id: str
    listing: ListingRef
    listing_version: str
    license_type: LicenseType
    pricing_model: PricingModel
    asset: str
    amount: int
    seller_amount: int
    fee_amount: int
    units: int
    state: str
    license_id: str
    transaction_id: str | None
    refund_transaction_id: str | None
    renewal: bool
    idempotency_key: str
    failure_reason: str
    created_at: datetime
    refunded_at: datetime | None
    refund_reason: str

    @property
    def name(self) -> str:
        return f"purchases/{self.id}"


def purchase_view(row: Any) -> PurchaseView:
    return PurchaseView(
        id=row.id,
        buyer_id=row.buyer_id,
        seller_id=row.seller_id,
        listing=listing_of(row.listing_kind, row.listing_id),
        listing_version=row.listing_version,
        license_type=LicenseType(row.license_type),
        pricing_model=PricingModel(row.pricing_model),
        asset=row.asset,
        amount=row.amount,
        seller_amount=row.seller_amount,
        fee_amount=row.fee_amount,
        units=row.units,
        state=row.state,
        license_id=row.license_id,
        transaction_id=row.transaction_id,
        refund_transaction_id=row.refund_transaction_id,
        renewal=row.renewal,
        idempotency_key=row.idempotency_key,
        failure_reason=row.failure_reason,
        created_at=row.created_at,
        refunded_at=row.refunded_at,
        refund_reason=row.refund_reason,
    )


@dataclass(frozen=True)
class Terms:
    """What a purchase costs and grants, from the listing's pricing and the request."""

    price: Money
    amount: int
    units: int
    usage_limit: int | None
    exclusive: bool
    origin: str


class RenewalOutcome(enum.StrEnum):
    RENEWED = "renewed"
    LAPSED = "lapsed"
    RETRYING = "retrying"
    SKIPPED = "skipped"


@dataclass
class RenewalReport:
    renewed: int = 0
    lapsed: int = 0
    retrying: int = 0

    def add(self, outcome: RenewalOutcome) -> None:
        if outcome is RenewalOutcome.RENEWED:
            self.renewed += 1
        elif outcome is RenewalOutcome.LAPSED:
            self.lapsed += 1
        elif outcome is RenewalOutcome.RETRYING:
            self.retrying += 1


def _refuse_listing(caller_id: str, info: ListingInfo) -> None:
    name = info.ref.name
    if info.owner_id == caller_id:
        raise FailedPrecondition(
            f"{name} is your own listing: agents cannot buy from themselves",
            reason="OWN_LISTING",
            metadata={"field": "listing"},
        )
    if info.deprecated:
        raise FailedPrecondition(
            f"{name} is deprecated and off sale", reason="LISTING_DEPRECATED", metadata={"field": "listing"}
        )
    if not info.owner_active:
        raise FailedPrecondition(
            f"the seller of {name} is deactivated", reason="SELLER_DEACTIVATED", metadata={"field": "listing"}
        )


def terms_for(info: ListingInfo, license_type: LicenseType, units: int) -> Terms:
    pricing = info.pricing
    price = pricing.price_for(license_type)
    if price is None:
        offered = ", ".join(p.license_type.value for p in pricing.license_prices)
        raise InvalidArgument(
            f"{info.ref.name} does not offer a {license_type.value} licence; it offers {offered}",
            field="license_type",
            reason="LICENSE_TYPE_NOT_OFFERED",
        )
    money = Money(price.asset, price.amount)
    model = pricing.model
    prepaid = model is PricingModel.USAGE and pricing.usage_billing is UsageBilling.PREPAID_UNITS
    if prepaid and units <= 0:
        raise InvalidArgument(
            f"is required for {info.ref.name}, which sells prepaid units "
            f"({pricing.usage_unit}): how many to buy",
            field="units",
            reason="UNITS_REQUIRED",
        )
    if not prepaid and units != 0:
        raise InvalidArgument(
            "applies only to usage listings billed with prepaid units",
            field="units",
            reason="UNITS_NOT_APPLICABLE",
        )
    if model is PricingModel.FREE:
        return Terms(Money(price.asset, 0), 0, 0, None, True, FREE)
    if prepaid:
        amount = money.amount * units
        if amount > MAX_AMOUNT:
            raise InvalidArgument(
                f"{units} units at {money.amount} each exceed the largest payment",
                field="units",
                reason="AMOUNT_TOO_LARGE",
            )
        return Terms(money, amount, units, units, False, PURCHASE)
    if model is PricingModel.USAGE:
        return Terms(money, 0, 0, None, True, PURCHASE)
    return Terms(money, money.amount, 0, None, True, PURCHASE)


_OPERATION = "marketplace.Purchase"


@dataclass(frozen=True)
class _Request:
    """A Purchase request as validated, with the ids its records will take."""

    caller: Caller
    ref: ListingRef
    license_type: LicenseType
    units: int
    auto_renew: bool | None
    idempotency_key: str
    purchase_id: str
    transaction_id: str

    @property
    def fingerprint(self) -> str:
        return request_fingerprint(self.ref.name, self.license_type.value, self.units, self.auto_renew)

    @property
    def memo(self) -> str:
        return f"{self.license_type.value} licence to {self.ref.name}"


def _license_values(request: _Request, info: ListingInfo, terms: Terms, now: datetime) -> dict[str, Any]:
    """The licence row a purchase grants."""
    pricing = info.pricing
    subscription = pricing.model is PricingModel.SUBSCRIPTION and pricing.interval is not None
    buyer_id = request.caller.agent_id
    return {
        "id": new_id(),
        "buyer_id": buyer_id,
        "seller_id": info.owner_id,
        "listing_kind": request.ref.kind,
        "listing_id": request.ref.id,
        "license_type": request.license_type.value,
        "pricing_model": pricing.model.value,
        "usage_billing": pricing.usage_billing.value if pricing.usage_billing else "",
        "origin": terms.origin,
        "state": ACTIVE,
        "price_asset": terms.price.asset,
        "price_amount": terms.price.amount,
        "interval": pricing.interval.value if subscription and pricing.interval else "",
        "period_anchor": now if subscription else None,
        "periods": 1 if subscription else 0,
        "expires_at": add_interval(now, pricing.interval, 1) if subscription and pricing.interval else None,
        "usage_limit": terms.usage_limit,
        "usage_count": 0,
        "auto_renew": subscription and request.auto_renew is not False,
        "purchase_id": request.purchase_id,
        "exclusive_key": (
            exclusive_key(buyer_id, request.ref, request.license_type, terms.origin)
            if terms.exclusive
            else None
        ),
        "lapse_reason": "",
        "ended_at": None,
        "created_at": now,
        "updated_at": now,
    }


class Purchases:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ledger: Ledger,
        idempotency: Idempotency,
        licenses: Licenses,
        reputation: Reputation,
        fees: FeeSchedule,
        page_tokens: PageTokens,
        *,
        refund_window: timedelta,
        renewal_lead: timedelta,
    ) -> None:
        self._db = db
        self._clock = clock
        self._ledger = ledger
        self._idempotency = idempotency
        self._licenses = licenses
        self._reputation = reputation
        self._fees = fees
        self._tokens = page_tokens
        self.refund_window = refund_window
        self.renewal_lead = renewal_lead
        self._postgres = db.is_postgres
        self._listings = ListingCache()
        self._poster = (
            PurchasePoster(db, score_sql=SCORE_SQL, boost_sql=BOOST_SQL) if db.is_postgres else None
        )

    # --- purchase ---------------------------------------------------------------------------------

    async def purchase(
        self,
        caller: Caller,
        listing: str,
        license_type: LicenseType | None,
        units: int,
        auto_renew: bool | None,
        idempotency_key: str,
    ) -> tuple[PurchaseView, LicenseView]:
        v = Violations()
        ref: ListingRef | None = None
        try:
            ref = parse_listing(listing)
        except InvalidArgument as error:
            v.extend(error)
        if license_type is None:
            v.add("license_type", "is required: personal, commercial or enterprise")
        if units < 0:
            v.add("units", "must not be negative")
        elif units > MAX_UNITS:
            v.add("units", f"must be at most {MAX_UNITS} per purchase")
        check_idempotency_key(v, idempotency_key)
        v.raise_if_any()
        assert ref is not None
        assert license_type is not None
        purchase_id, transaction_id = new_id(), new_id()
        request = _Request(
            caller, ref, license_type, units, auto_renew, idempotency_key, purchase_id, transaction_id
        )
        if self._poster is not None:
            done = await self._hot_purchase(request)
            if done is not None:
                return done

        async def work(s: AsyncSession) -> tuple[PurchaseView, LicenseView]:
            now = self._clock.now()
            prior = await self._idempotency.claim(
                s,
                caller=caller.name,
                operation=_OPERATION,
                key=idempotency_key,
                fingerprint=request.fingerprint,
                result=f"purchases/{purchase_id}",
                now=now,
            )
            if prior is not None:
                return await self._result(s, prior.removeprefix("purchases/"))
            info = await load_listing(s, ref, caller)
            self._listings.put(info)
            _refuse_listing(caller.agent_id, info)
            terms = terms_for(info, license_type, units)
            values = _license_values(request, info, terms, now)
            granted = await self._grant(s, values, values["exclusive_key"])
            row = self._purchase_row(request, info, terms, granted.id, now)
            connection = await s.connection()
            await connection.execute(insert(PURCHASES), row)
            count = await add_purchases(s, ref, 1)
            if not terms.amount:
                await publish_listing(s, ref, popularity=count)
            else:
                await self._reputation.add_transactions(s, info.owner_id, 1, (ref, {"popularity": count}))
                await self._ledger.pay(
                    caller.agent_id,
                    info.owner_id,
                    Money(terms.price.asset, terms.amount),
                    fee=Fee(amount=row["fee_amount"]),
                    kind=PURCHASE_KIND,
                    reference=f"purchases/{purchase_id}",
                    memo=request.memo,
                    initiator=caller.name,
                    budget_scopes=(ref.name,),
                    idempotency_key=idempotency_key,
                    transaction_id=transaction_id,
                    session=s,
                )
            return purchase_view(_Row(row)), granted

        return await transact(self._db, work)

    def _purchase_row(
        self, request: _Request, info: ListingInfo, terms: Terms, license_id: str, now: datetime
    ) -> dict[str, Any]:
        fee = fee_for(terms.amount, self._fees.bps(request.ref.kind))
        return {
            "id": request.purchase_id,
            "buyer_id": request.caller.agent_id,
            "seller_id": info.owner_id,
            "listing_kind": request.ref.kind,
            "listing_id": request.ref.id,
            "listing_version": info.version,
            "license_type": request.license_type.value,
            "pricing_model": info.pricing.model.value,
            "asset": terms.price.asset,
            "amount": terms.amount,
            "seller_amount": terms.amount - fee,
            "fee_amount": fee,
            "units": terms.units,
            "state": COMPLETED,
            "license_id": license_id,
            "transaction_id": request.transaction_id if terms.amount else None,
            "refund_transaction_id": None,
            "renewal": False,
            "idempotency_key": request.idempotency_key,
            "failure_reason": "",
            "created_at": now,
            "refunded_at": None,
            "refund_reason": "",
        }

    async def _hot_purchase(self, request: _Request) -> tuple[PurchaseView, LicenseView] | None:
        """A paid purchase of a public listing in one statement (infra/marketplace_pg.py); None
        whenever it does not apply or the statement found anything but the plain case. Every
        refusal is left to the general path, which claims the idempotency key first, so that a
        repeated request returns its first result even if the listing changed since."""
        assert self._poster is not None
        ref = request.ref
        info = self._listings.get(ref)
        if info is None:
            async with self._db.snapshot() as s:
                try:
                    info = await load_listing(s, ref, None)
                except NotFound:
                    return None
            self._listings.put(info)
        if info.visibility != Visibility.PUBLIC:
            return None
        if info.owner_id == request.caller.agent_id or info.deprecated or not info.owner_active:
            return None
        try:
            terms = terms_for(info, request.license_type, request.units)
        except InvalidArgument:
            return None
        if not terms.amount:
            return None
        now = self._clock.now()
        values = _license_values(request, info, terms, now)
        row = self._purchase_row(request, info, terms, values["id"], now)
        prepared = self._ledger.plan_payment(
            request.caller.agent_id,
            info.owner_id,
            Money(terms.price.asset, terms.amount),
            fee_amount=row["fee_amount"],
            kind=PURCHASE_KIND,
            reference=f"purchases/{request.purchase_id}",
            memo=request.memo,
            initiator=request.caller.name,
            idempotency_key=request.idempotency_key,
            transaction_id=request.transaction_id,
        )
        if prepared is None:
            return None
        done = await self._poster.post(
            HotPurchase(
                claim=Claim(
                    request.caller.name,
                    _OPERATION,
                    request.idempotency_key,
                    request.fingerprint,
                    f"purchases/{request.purchase_id}",
                ),
                listing_table=ref.table.name,
                listing_kind=ref.kind,
                listing_id=ref.id,
                listing_version=info.version,
                seller_id=info.owner_id,
                buyer_id=request.caller.agent_id,
                license_row=values,
                purchase_row=row,
                asset=terms.price.asset,
                budget_scopes=(ref.name,),
                changes=prepared.changes,
                transaction=prepared.transaction_row,
                entries=prepared.entries,
                now=now,
            )
        )
        if not done:
            return None
        self._ledger.record_posted(prepared.posted)
        return purchase_view(_Row(row)), license_view(_Row(values), now)

    async def close(self) -> None:
        if self._poster is not None:
            await self._poster.close()

    async def _grant(self, s: AsyncSession, values: dict[str, Any], key: str | None) -> LicenseView:
        granted = await self._licenses.insert(s, values)
        if granted is not None:
            return granted
        assert key is not None
        holder = await self._licenses.holder_of(s, key)
        if holder is not None and holder.state == EXPIRED:
            # A subscription past its end that the renewal job has not lapsed yet: lapse it now,
            # so that buying again is not refused until the next sweep.
            reason = "renewal failed" if holder.auto_renew else "cancelled"
            assert holder.expires_at is not None
            await self._licenses.lapse(
                s,
                holder.id,
                f"{reason}: not renewed by its expiry",
                ended_at=holder.expires_at,
                expected_expiry=holder.expires_at,
            )
            granted = await self._licenses.insert(s, values)
            if granted is not None:
                return granted
            holder = await self._licenses.holder_of(s, key)
        if holder is None:
            raise Aborted(
                "a concurrent purchase of this licence was being processed; retry", reason="CONCURRENT_UPDATE"
            )
        raise AlreadyLicensed(holder)

    async def _result(self, s: AsyncSession, purchase_id: str) -> tuple[PurchaseView, LicenseView]:
        found = await self._load(s, purchase_id)
        licence = await self._licenses.load(s, found.license_id)
        assert licence is not None
        return found, licence

    async def _load(self, s: AsyncSession, purchase_id: str, *, lock: bool = False) -> PurchaseView:
        query = select(PURCHASES).where(PURCHASES.c.id == purchase_id)
        if lock and self._postgres:
            query = query.with_for_update()
        row = (await (await s.connection()).execute(query)).first()
        if row is None:
            raise NotFound(
                f"purchases/{purchase_id} does not exist",
                reason="PURCHASE_NOT_FOUND",
                metadata={"field": "name"},
            )
        return purchase_view(row)

    # --- reads ------------------------------------------------------------------------------------

    @staticmethod
    def _denied(name: str) -> PermissionDenied:
        return PermissionDenied(f"{name} does not exist or is not yours", reason="NOT_BUYER_OR_SELLER")

    async def get(self, caller: Caller, name: str) -> PurchaseView:
        purchase_id = parse_name(name, "purchases")
        async with self._db.snapshot() as s:
            try:
                found = await self._load(s, purchase_id)
            except NotFound:
                if caller.is_operator:
                    raise
                raise self._denied(name) from None
        if caller.agent_id not in (found.buyer_id, found.seller_id) and not caller.is_operator:
            raise self._denied(name)
        return found

    async def list_purchases(
        self, caller: Caller, *, seller: bool, listing: str, size: int, token: str
    ) -> tuple[list[PurchaseView], str]:
        ref = parse_listing(listing) if listing else None
        limit = page_size(size)
        binding = fingerprint(caller.agent_id, seller, ref)
        cursor = self._tokens.decode("purchases", token, binding)
        column = PURCHASES.c.seller_id if seller else PURCHASES.c.buyer_id
        query = select(PURCHASES).where(column == caller.agent_id)
        if ref is not None:
            query = query.where(PURCHASES.c.listing_kind == ref.kind, PURCHASES.c.listing_id == ref.id)
        if cursor is not None:
            query = query.where(PURCHASES.c.id < str(cursor["id"]))
        query = query.order_by(PURCHASES.c.id.desc()).limit(limit + 1)
        async with self._db.snapshot() as s:
            found = [purchase_view(row) for row in (await (await s.connection()).execute(query)).all()]
        next_token = ""
        if len(found) > limit:
            found = found[:limit]
            next_token = self._tokens.encode("purchases", {"id": found[-1].id}, binding)
        return found, next_token

    # --- refunds ----------------------------------------------------------------------------------

    async def refund(self, caller: Caller, name: str, reason: str, idempotency_key: str) -> PurchaseView:
        v = Violations()
        purchase_id = ""
        try:
            purchase_id = parse_name(name, "purchases")
        except InvalidArgument as error:
            v.extend(error)
        check_text(v, reason, "reason", max_length=500)
        check_idempotency_key(v, idempotency_key)
        v.raise_if_any()
        refund_transaction_id = new_id()

        async def work(s: AsyncSession) -> PurchaseView:
            now = self._clock.now()
            try:
                found = await self._load(s, purchase_id, lock=True)
            except NotFound:
                if caller.is_operator:
                    raise
                raise self._denied(name) from None
            if found.seller_id != caller.agent_id and not caller.is_operator:
                raise PermissionDenied(
                    f"only the seller of {name} or an operator may refund it",
                    reason="NOT_SELLER",
                    metadata={"field": "name"},
                )
            prior = await self._idempotency.claim(
                s,
                caller=caller.name,
                operation="marketplace.RefundPurchase",
                key=idempotency_key,
                fingerprint=request_fingerprint(purchase_id, reason),
                result=name,
                now=now,
            )
            if prior is not None:
                return await self._load(s, prior.removeprefix("purchases/"))
            if found.state == REFUNDED:
                raise FailedPrecondition(
                    f"{name} was already refunded", reason="ALREADY_REFUNDED", metadata={"field": "name"}
                )
            if found.state != COMPLETED or found.transaction_id is None or found.amount == 0:
                raise FailedPrecondition(
                    f"{name} moved no money ({found.state}, {found.amount} {found.asset}): "
                    "there is nothing to refund",
                    reason="NOTHING_TO_REFUND",
                    metadata={"field": "name"},
                )
            closes = found.created_at + self.refund_window
            if now > closes:
                raise FailedPrecondition(
                    f"the refund window of {name} closed at {closes.isoformat()}",
                    reason="REFUND_WINDOW_CLOSED",
                    metadata={"field": "name"},
                )
            connection = await s.connection()
            await connection.execute(
                update(PURCHASES)
                .where(PURCHASES.c.id == purchase_id)
                .values(
                    state=REFUNDED,
                    refunded_at=now,
                    refund_reason=reason,
                    refund_transaction_id=refund_transaction_id,
                )
            )
            await self._licenses.revoke(s, found.license_id)
            stats: ListingStats | None = None
            if not found.renewal:
                stats = (found.listing, {"popularity": await add_purchases(s, found.listing, -1)})
            await self._reputation.add_transactions(s, found.seller_id, -1, stats)
            await self._ledger.reverse(
                found.transaction_id,
                initiator=caller.name,
                memo=f"refund of {name}" + (f": {reason}" if reason else ""),
                reference=name,
                idempotency_key=idempotency_key,
                new_transaction_id=refund_transaction_id,
                session=s,
            )
            return await self._load(s, purchase_id)

        return await transact(self._db, work)

    # --- subscription renewal ---------------------------------------------------------------------

    async def renew_due(self, batch: int = 200) -> RenewalReport:
        """Renews, or lapses, every subscription due within the renewal lead, reading them in
        batches ordered by expiry; see the module docstring."""
        report = RenewalReport()
        now = self._clock.now()
        horizon = now + self.renewal_lead
        after: tuple[datetime, str] | None = None
        while True:
            due = await self._due(now, horizon, after, batch)
            await self._renew_all([license_id for license_id, _ in due], now, horizon, report)
            if len(due) < batch:
                break
            after = (due[-1][1], due[-1][0])
        if report.renewed or report.lapsed:
            log.info(
                "subscriptions",
                extra={"renewed": report.renewed, "lapsed": report.lapsed, "retrying": report.retrying},
            )
        return report

    async def _due(
        self, now: datetime, horizon: datetime, after: tuple[datetime, str] | None, batch: int
    ) -> list[tuple[str, datetime]]:
        """(id, expiry) of active subscriptions to renew (renewing, within the lead) or to lapse
        (past their expiry), after the (expiry, id) cursor."""
        query = select(LICENSES.c.id, LICENSES.c.expires_at).where(
            LICENSES.c.pricing_model == PricingModel.SUBSCRIPTION.value,
            LICENSES.c.state == ACTIVE,
            LICENSES.c.origin == PURCHASE,
            or_(
                and_(LICENSES.c.auto_renew.is_(True), LICENSES.c.expires_at <= horizon),
                LICENSES.c.expires_at <= now,
            ),
        )
        if after is not None:
            query = query.where(
                or_(
                    LICENSES.c.expires_at > after[0],
                    and_(LICENSES.c.expires_at == after[0], LICENSES.c.id > after[1]),
                )
            )
        query = query.order_by(LICENSES.c.expires_at, LICENSES.c.id).limit(batch)
        async with self._db.snapshot() as s:
            return [(row.id, row.expires_at) for row in await (await s.connection()).execute(query)]

    async def _renew_all(
        self, due: list[str], now: datetime, horizon: datetime, report: RenewalReport
    ) -> None:
        for license_id in due:

            async def renew(s: AsyncSession, license_id: str = license_id) -> RenewalOutcome:
                return await self._renew(s, license_id, now, horizon)

            try:
                outcome = await transact(self._db, renew)
            except DomainError as error:

                async def failed(
                    s: AsyncSession, license_id: str = license_id, error: DomainError = error
                ) -> RenewalOutcome:
                    return await self._renewal_failed(s, license_id, error, now)

                try:
                    outcome = await transact(self._db, failed)
                except Exception:
                    log.exception("could not record the failed renewal of licenses/%s", license_id)
                    continue
            except Exception:
                log.exception("could not renew licenses/%s", license_id)
                continue
            report.add(outcome)

    async def _renew(
        self, s: AsyncSession, license_id: str, now: datetime, horizon: datetime
    ) -> RenewalOutcome:
        stored = await self._licenses.load_row(s, license_id, lock=True)
        if (
            stored is None
            or stored.state != ACTIVE
            or stored.expires_at is None
            or stored.expires_at > horizon
        ):
            return RenewalOutcome.SKIPPED
        found = license_view(stored, now)
        assert found.expires_at is not None
        if not found.auto_renew:
            if found.expires_at > now:
                return RenewalOutcome.SKIPPED
            lapsed = await self._licenses.lapse(
                s,
                license_id,
                "cancelled: the buyer turned renewal off",
                ended_at=found.expires_at,
                expected_expiry=found.expires_at,
            )
            return RenewalOutcome.LAPSED if lapsed else RenewalOutcome.SKIPPED
        info = await load_listing(s, found.listing, Caller(found.buyer_id))
        if info.deprecated:
            raise FailedPrecondition(f"{info.ref.name} is deprecated", reason="LISTING_DEPRECATED")
        if not info.owner_active:
            raise FailedPrecondition(
                f"the seller of {info.ref.name} is deactivated", reason="SELLER_DEACTIVATED"
            )
        if info.pricing.model is not PricingModel.SUBSCRIPTION:
            raise FailedPrecondition(
                f"{info.ref.name} is no longer sold by subscription", reason="NOT_A_SUBSCRIPTION"
            )
        interval = BillingInterval(found.interval)
        periods = stored.periods + 1
        new_expiry = add_interval(stored.period_anchor, interval, periods)
        purchase_id, transaction_id = new_id(), new_id()
        connection = await s.connection()
        moved = await connection.execute(
            update(LICENSES)
            .where(
                LICENSES.c.id == license_id,
                LICENSES.c.state == ACTIVE,
                LICENSES.c.expires_at == found.expires_at,
            )
            .values(periods=periods, expires_at=new_expiry, purchase_id=purchase_id, updated_at=now)
        )
        if not moved.rowcount:
            return RenewalOutcome.SKIPPED
        amount = found.price.amount
        fee = fee_for(amount, self._fees.bps(found.listing.kind))
        key = f"renewal:{license_id}:{periods}"
        await connection.execute(
            insert(PURCHASES),
            self._renewal_row(
                found, purchase_id, info.version, COMPLETED, amount, fee, key, now, transaction_id, ""
            ),
        )
        await self._reputation.add_transactions(s, found.seller_id, 1)
        await self._ledger.pay(
            found.buyer_id,
            found.seller_id,
            found.price,
            fee=Fee(amount=fee),
            kind=PURCHASE_KIND,
            reference=f"purchases/{purchase_id}",
            memo=f"renewal {periods} of {found.name} ({found.listing.name})",
            initiator="system",
            budget_scopes=(found.listing.name,),
            idempotency_key=key,
            transaction_id=transaction_id,
            session=s,
        )
        return RenewalOutcome.RENEWED

    async def _renewal_failed(
        self, s: AsyncSession, license_id: str, error: DomainError, now: datetime
    ) -> RenewalOutcome:
        stored = await self._licenses.load_row(s, license_id, lock=True)
        if stored is None or stored.state != ACTIVE or stored.expires_at is None:
            return RenewalOutcome.SKIPPED
        found = license_view(stored, now)
        assert found.expires_at is not None
        if found.expires_at > now:
            log.info("renewal of %s failed (%s); retrying until it expires", found.name, error.reason)
            return RenewalOutcome.RETRYING
        lapsed = await self._licenses.lapse(
            s,
            license_id,
            f"renewal failed: {error.reason}",
            ended_at=found.expires_at,
            expected_expiry=found.expires_at,
        )
        if not lapsed:
            return RenewalOutcome.SKIPPED
        version = (
            await (await s.connection()).execute(
                select(found.listing.table.c.version).where(found.listing.table.c.id == found.listing.id)
            )
        ).scalar_one_or_none() or ""
        await (await s.connection()).execute(
            insert(PURCHASES),
            self._renewal_row(
                found,
                new_id(),
                version,
                FAILED,
                found.price.amount,
                0,
                f"renewal:{license_id}:failed",
                now,
                None,
                f"{error.reason}: {error.message}"[:200],
            ),
        )
        return RenewalOutcome.LAPSED

    @staticmethod
    def _renewal_row(
        found: LicenseView,
        purchase_id: str,
        version: str,
        state: str,
        amount: int,
        fee: int,
        key: str,
        now: datetime,
        transaction_id: str | None,
        failure: str,
    ) -> dict[str, Any]:
        return {
            "id": purchase_id,
            "buyer_id": found.buyer_id,
            "seller_id": found.seller_id,
            "listing_kind": found.listing.kind,
            "listing_id": found.listing.id,
            "listing_version": version,
            "license_type": found.license_type.value,
            "pricing_model": found.pricing_model.value,
            "asset": found.price.asset,
            "amount": amount,
            "seller_amount": amount - fee if state == COMPLETED else 0,
            "fee_amount": fee,
            "units": 0,
            "state": state,
            "license_id": found.id,
            "transaction_id": transaction_id,
            "refund_transaction_id": None,
            "renewal": True,
            "idempotency_key": key,
            "failure_reason": failure,
            "created_at": now,
            "refunded_at": None,
            "refund_reason": "",
        }


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
