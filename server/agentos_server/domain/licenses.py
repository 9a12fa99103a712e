"""Licences: who may use which listing, how long and how many times.

A licence is granted by a purchase (origin "purchase"; a subscription's renewals extend the same
licence), by taking a free listing ("free"), or by a trial ("trial"). Its state is active,
expired (a subscription that was not renewed), revoked (its purchase was refunded) or exhausted
(every prepaid unit or trial run used). A subscription whose expiry has passed reads as expired
even before the renewal job records the lapse.

Which licence counts (check, VerifyLicense and consume agree)
------------------------------------------------------------
A buyer may hold several licences to one listing (a trial, prepaid-unit packs, a one-time licence
of another licence type ...). Among the usable ones the cheapest to use wins:
  1. unlimited and not metered: one-time, subscription, free;
  2. a trial (its runs are free);
  3. prepaid-unit packs, oldest first;
  4. pay-per-call (every call costs money).
When none is usable, the most recent licence explains why (expired, revoked, exhausted), or there
is none (NO_LICENSE).

Domain API for the execution engine (skill proxy and daemon runs)
-----------------------------------------------------------------
    check(buyer_id, listing) -> LicenseCheck
        valid, denial, message, the licence that counts, its metering ("none" | "units" |
        "pay_per_call"), expiry and remaining units (summed over usable trial and prepaid
        licences). One indexed query (ix_licenses_buyer_listing), no cache: a refund, lapse or
        exhaustion is seen by every replica at once. LicenseCheck.require() raises the denial as
        FAILED_PRECONDITION (NO_LICENSE, LICENSE_EXPIRED, LICENSE_REVOKED, LICENSE_EXHAUSTED).
    consume(buyer_id, listing, *, session=None) -> LicenseView
        takes one unit from the licence that counts (trial, then packs oldest first) with one
        conditional UPDATE (usage_count < usage_limit); concurrent calls never take a licence
        below zero, and the one that takes the last unit marks it exhausted. Raises the denial
        when nothing is left. Call it when check().metering == "units", before dispatching.
    restore(license_id, *, session=None) -> LicenseView
        gives back a unit consume() took for a call that never reached the seller.
    charge_call(license, *, idempotency_key, reference="", session=None) -> PostedTransaction
        charges one call of a pay-per-call licence at its unit price: buyer -> seller with the
        listing kind's platform fee, in one ledger transaction, against the buyer's budgets
        (agent-wide and the listing's scope). Call it when check().metering == "pay_per_call".
    Reputation.record_execution(listing, seller_id, success, session=None)   (domain/reputation)
        after the call or run: counts it for analytics and the seller's success rate.

Typical proxied call:
    found = await licenses.check(buyer_id, "skills/abc")
    found.require()
    if found.metering == UNITS:
        used = await licenses.consume(buyer_id, "skills/abc")
    elif found.metering == PAY_PER_CALL:
        await licenses.charge_call(found.license, idempotency_key=call_id, reference=execution_name)
    ... dispatch; on a failure before the seller was reached: await licenses.restore(used.id) ...
    await reputation.record_execution(found.license.listing, found.license.seller_id, ok)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.caller import Caller
from agentos_server.domain.catalog import load_listing
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from agentos_server.domain.ids import new_id, parse_name
from agentos_server.domain.ledger import USAGE_CHARGE, Fee, Ledger, PostedTransaction, transact
from agentos_server.domain.listing_refs import DAEMON, SKILL, ListingRef, listing_of, parse_listing
from agentos_server.domain.money import Money
from agentos_server.domain.pagination import PageTokens, fingerprint, page_size
from agentos_server.domain.pricing import LicenseType, PricingModel, UsageBilling
from agentos_server.infra.db import Database
from agentos_server.infra.sql import insert_ignoring_conflicts, table_of
from agentos_server.infra.tables.marketplace import LicenseRow

LICENSES = table_of(LicenseRow)

# Origins.
PURCHASE = "purchase"
FREE = "free"
TRIAL = "trial"

# States.
ACTIVE = "active"
EXPIRED = "expired"
REVOKED = "revoked"
EXHAUSTED = "exhausted"
STATES = (ACTIVE, EXPIRED, REVOKED, EXHAUSTED)

# Metering of the licence that counts.
UNMETERED = "none"
UNITS = "units"
PAY_PER_CALL = "pay_per_call"


class Denial(enum.StrEnum):
    NO_LICENSE = "no_license"
    EXPIRED = "expired"
    REVOKED = "revoked"
    EXHAUSTED = "exhausted"


_DENIAL_REASONS = {
    Denial.NO_LICENSE: "NO_LICENSE",
    Denial.EXPIRED: "LICENSE_EXPIRED",
    Denial.REVOKED: "LICENSE_REVOKED",
    Denial.EXHAUSTED: "LICENSE_EXHAUSTED",
}


@dataclass(frozen=True)
class FeeSchedule:
    """The platform's share of a sale in basis points, per listing kind."""

    skill_bps: int
    daemon_bps: int

    def bps(self, kind: str) -> int:
        return self.skill_bps if kind == SKILL else self.daemon_bps

    def fee(self, kind: str) -> Fee:
        return Fee(basis_points=self.bps(kind))


@dataclass(frozen=True)
class LicenseView:
    id: str
    buyer_id: str
    seller_id: str
    listing: ListingRef
    license_type: LicenseType
    pricing_model: PricingModel
    usage_billing: UsageBilling | None
    origin: str
    # The state as of `now` when read: an active subscription past its expiry reads "expired".
    state: str
    price: Money
    interval: str
    expires_at: datetime | None
    usage_limit: int | None
    usage_count: int
    auto_renew: bool
    purchase_id: str
    lapse_reason: str
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        return f"licenses/{self.id}"

    @property
    def remaining(self) -> int | None:
        if self.usage_limit is None:
            return None
        return max(self.usage_limit - self.usage_count, 0)

    @property
    def usable(self) -> bool:
        return self.state == ACTIVE and (self.remaining is None or self.remaining > 0)

    @property
    def metering(self) -> str:
        if self.usage_limit is not None:
            return UNITS
        if self.usage_billing is UsageBilling.PAY_PER_CALL:
            return PAY_PER_CALL
        return UNMETERED

    @property
    def paid(self) -> bool:
        return self.origin == PURCHASE


def license_view(row: Any, now: datetime) -> LicenseView:
    state = row.state
    if state == ACTIVE and row.expires_at is not None and row.expires_at <= now:
        state = EXPIRED
    return LicenseView(
        id=row.id,
        buyer_id=row.buyer_id,
        seller_id=row.seller_id,
        listing=listing_of(row.listing_kind, row.listing_id),
        license_type=LicenseType(row.license_type),
        pricing_model=PricingModel(row.pricing_model),
        usage_billing=UsageBilling(row.usage_billing) if row.usage_billing else None,
        origin=row.origin,
        state=state,
        price=Money(row.price_asset, row.price_amount),
        interval=row.interval,
        expires_at=row.expires_at,
        usage_limit=row.usage_limit,
        usage_count=row.usage_count,
        auto_renew=row.auto_renew,
        purchase_id=row.purchase_id,
        lapse_reason=row.lapse_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _preference(view: LicenseView) -> tuple[int, Any, str]:
    """Sort key: the licence that counts first (see the module docstring)."""
    if view.metering == UNMETERED:
        rank = 0
    elif view.origin == TRIAL:
        rank = 1
    elif view.metering == UNITS:
        rank = 2
    else:
        rank = 3
    return rank, view.created_at, view.id


@dataclass(frozen=True)
class LicenseCheck:
    listing: ListingRef
    buyer_id: str
    valid: bool
    denial: Denial | None
    message: str
    license: LicenseView | None
    # Summed over every usable trial and prepaid licence when the one that counts is limited.
    remaining_units: int | None

    @property
    def metering(self) -> str:
        return self.license.metering if self.valid and self.license is not None else UNMETERED

    @property
    def expires_at(self) -> datetime | None:
        return self.license.expires_at if self.license is not None else None

    def require(self) -> LicenseView:
        """The licence that counts, or the denial as FAILED_PRECONDITION."""
        if self.valid and self.license is not None:
            return self.license
        denial = self.denial or Denial.NO_LICENSE
        raise FailedPrecondition(
            self.message,
            reason=_DENIAL_REASONS[denial],
            metadata={"listing": self.listing.name, "buyer": f"agents/{self.buyer_id}"},
        )


def decide(listing: ListingRef, buyer_id: str, views: Sequence[LicenseView]) -> LicenseCheck:
    usable = sorted((v for v in views if v.usable), key=_preference)
    if usable:
        best = usable[0]
        remaining = None
        if best.usage_limit is not None:
            remaining = sum(v.remaining or 0 for v in usable if v.usage_limit is not None)
        return LicenseCheck(listing, buyer_id, True, None, "", best, remaining)
    if not views:
        return LicenseCheck(
            listing,
            buyer_id,
            False,
            Denial.NO_LICENSE,
            f"agents/{buyer_id} holds no licence to {listing.name}",
            None,
            None,
        )
    latest = max(views, key=lambda v: (v.updated_at, v.id))
    if latest.state == REVOKED:
        denial, why = Denial.REVOKED, "was revoked when its purchase was refunded"
    elif latest.state == EXHAUSTED or (latest.state == ACTIVE and latest.remaining == 0):
        denial, why = Denial.EXHAUSTED, f"has used all {latest.usage_limit} of its units"
    else:
        denial = Denial.EXPIRED
        why = f"expired at {latest.expires_at.isoformat() if latest.expires_at else 'its end'}"
        if latest.lapse_reason:
            why += f" ({latest.lapse_reason})"
    return LicenseCheck(
        listing,
        buyer_id,
        False,
        denial,
        f"{latest.name} to {listing.name} {why}",
        latest,
        latest.remaining,
    )


def exclusive_key(buyer_id: str, listing: ListingRef, license_type: LicenseType, origin: str) -> str:
    if origin == TRIAL:
        return f"trial|{buyer_id}|{listing.kind}|{listing.id}"
    return f"licence|{buyer_id}|{listing.kind}|{listing.id}|{license_type.value}"


class AlreadyLicensed(AlreadyExists):
    def __init__(self, holder: LicenseView) -> None:
        what = "a trial of" if holder.origin == TRIAL else f"an active {holder.license_type.value} licence to"
        super().__init__(
            f"agents/{holder.buyer_id} already holds {what} {holder.listing.name}: {holder.name}",
            reason="TRIAL_ALREADY_USED" if holder.origin == TRIAL else "ALREADY_LICENSED",
            field="listing",
            metadata={"license": holder.name},
        )


class Licenses:
    def __init__(
        self, db: Database, clock: Clock, ledger: Ledger, fees: FeeSchedule, page_tokens: PageTokens
    ) -> None:
        self._db = db
        self._clock = clock
        self._ledger = ledger
        self._fees = fees
        self._tokens = page_tokens
        self._dialect = "postgresql" if db.is_postgres else "sqlite"

    # --- the hot path -----------------------------------------------------------------------------

    async def _rows(self, session: AsyncSession, buyer_id: str, listing: ListingRef) -> list[Any]:
        connection = await session.connection()
        return list(
            (
                await connection.execute(
                    select(LICENSES).where(
                        LICENSES.c.buyer_id == buyer_id,
                        LICENSES.c.listing_kind == listing.kind,
                        LICENSES.c.listing_id == listing.id,
                    )
                )
            ).all()
        )

    async def check(
        self, buyer_id: str, listing: str | ListingRef, *, session: AsyncSession | None = None
    ) -> LicenseCheck:
        ref = parse_listing(listing) if isinstance(listing, str) else listing
        now = self._clock.now()
        if session is not None:
            rows = await self._rows(session, buyer_id, ref)
        else:
            async with self._db.snapshot() as s:
                rows = await self._rows(s, buyer_id, ref)
        return decide(ref, buyer_id, [license_view(row, now) for row in rows])

    async def consume(
        self, buyer_id: str, listing: str | ListingRef, *, session: AsyncSession | None = None
    ) -> LicenseView:
        ref = parse_listing(listing) if isinstance(listing, str) else listing

        async def work(s: AsyncSession) -> LicenseView:
            connection = await s.connection()
            for _ in range(8):
                now = self._clock.now()
                found = decide(
                    ref, buyer_id, [license_view(row, now) for row in await self._rows(s, buyer_id, ref)]
                )
                chosen = found.require()
                if chosen.usage_limit is None:
                    raise FailedPrecondition(
                        f"{chosen.name} is not metered by units: nothing to consume",
                        reason="LICENSE_NOT_METERED",
                        metadata={"license": chosen.name},
                    )
                # The WHERE clause is re-checked against the newest row version under concurrent
                # updates (PostgreSQL READ COMMITTED; SQLite has one writer), so the count can
                # never pass the limit; a lost race matches no row and the loop looks again.
                taken = (
                    await connection.execute(
                        update(LICENSES)
                        .where(
                            LICENSES.c.id == chosen.id,
                            LICENSES.c.state == ACTIVE,
                            LICENSES.c.usage_count < LICENSES.c.usage_limit,
                        )
                        .values(
                            usage_count=LICENSES.c.usage_count + 1,
                            state=case(
                                (LICENSES.c.usage_count + 1 >= LICENSES.c.usage_limit, EXHAUSTED),
                                else_=LICENSES.c.state,
                            ),
                            ended_at=case(
                                (LICENSES.c.usage_count + 1 >= LICENSES.c.usage_limit, now),
                                else_=LICENSES.c.ended_at,
                            ),
                            updated_at=now,
                        )
                        .returning(*LICENSES.c)
                    )
                ).first()
                if taken is not None:
                    return license_view(taken, now)
            raise Aborted(
                f"the licences of agents/{buyer_id} to {ref.name} kept changing; retry",
                reason="CONCURRENT_UPDATE",
            )

        if session is not None:
            return await work(session)
        return await transact(self._db, work)

    async def restore(self, license_id: str, *, session: AsyncSession | None = None) -> LicenseView:
        async def work(s: AsyncSession) -> LicenseView:
            now = self._clock.now()
            row = (
                await (await s.connection()).execute(
                    update(LICENSES)
                    .where(
                        LICENSES.c.id == license_id,
                        LICENSES.c.usage_limit.is_not(None),
                        LICENSES.c.usage_count > 0,
                        LICENSES.c.state.in_((ACTIVE, EXHAUSTED)),
                    )
                    .values(
                        usage_count=LICENSES.c.usage_count - 1, state=ACTIVE, ended_at=None, updated_at=now
                    )
                    .returning(*LICENSES.c)
                )
            ).first()
            if row is None:
                raise FailedPrecondition(
                    f"licenses/{license_id} has no consumed unit to give back",
                    reason="NOTHING_TO_RESTORE",
                    metadata={"license": f"licenses/{license_id}"},
                )
            return license_view(row, now)

        if session is not None:
            return await work(session)
        return await transact(self._db, work)

    async def charge_call(
        self,
        license: LicenseView,
        *,
        idempotency_key: str,
        reference: str = "",
        session: AsyncSession | None = None,
    ) -> PostedTransaction:
        if license.metering != PAY_PER_CALL:
            raise FailedPrecondition(
                f"{license.name} is not billed per call", reason="LICENSE_NOT_PAY_PER_CALL"
            )
        if not license.usable:
            raise FailedPrecondition(
                f"{license.name} is {license.state}", reason=f"LICENSE_{license.state.upper()}"
            )
        return await self._ledger.charge(
            license.buyer_id,
            license.price,
            payee=license.seller_id,
            fee=self._fees.fee(license.listing.kind),
            kind=USAGE_CHARGE,
            budget_scopes=(license.listing.name,),
            reference=reference or license.name,
            memo=f"one call of {license.listing.name} under {license.name}",
            idempotency_key=idempotency_key,
            session=session,
        )

    # --- grants (used by purchases and trials) ----------------------------------------------------

    async def insert(self, session: AsyncSession, values: dict[str, Any]) -> LicenseView | None:
        """Inserts a licence; None when its exclusive key is taken (the buyer already holds one)."""
        connection = await session.connection()
        row = (
            await connection.execute(
                insert_ignoring_conflicts(self._dialect, LICENSES, values).returning(*LICENSES.c)
            )
        ).first()
        return license_view(row, values["updated_at"]) if row is not None else None

    async def holder_of(self, session: AsyncSession, key: str) -> LicenseView | None:
        row = (
            await (await session.connection()).execute(
                select(LICENSES).where(LICENSES.c.exclusive_key == key)
            )
        ).first()
        return license_view(row, self._clock.now()) if row is not None else None

    async def lapse(
        self,
        session: AsyncSession,
        license_id: str,
        reason: str,
        *,
        ended_at: datetime,
        expected_expiry: datetime | None = None,
    ) -> bool:
        """Ends an active subscription that was not renewed; False when it changed meanwhile."""
        conditions = [LICENSES.c.id == license_id, LICENSES.c.state == ACTIVE]
        if expected_expiry is not None:
            conditions.append(LICENSES.c.expires_at == expected_expiry)
        result = await (await session.connection()).execute(
            update(LICENSES)
            .where(*conditions)
            .values(
                state=EXPIRED,
                lapse_reason=reason[:200],
                auto_renew=False,
                exclusive_key=None,
                ended_at=ended_at,
                updated_at=self._clock.now(),
            )
        )
        return bool(result.rowcount)

    async def revoke(self, session: AsyncSession, license_id: str) -> None:
        now = self._clock.now()
        await (await session.connection()).execute(
            update(LICENSES)
            .where(LICENSES.c.id == license_id, LICENSES.c.state != REVOKED)
            .values(
                state=REVOKED,
                auto_renew=False,
                exclusive_key=None,
                ended_at=case((LICENSES.c.ended_at.is_(None), now), else_=LICENSES.c.ended_at),
                updated_at=now,
            )
        )

    async def load_row(self, session: AsyncSession, license_id: str, *, lock: bool = False) -> Any | None:
        """The stored row (state as stored, period_anchor, periods), locked when asked."""
        query = select(LICENSES).where(LICENSES.c.id == license_id)
        if lock and self._dialect == "postgresql":
            query = query.with_for_update()
        return (await (await session.connection()).execute(query)).first()

    async def load(self, session: AsyncSession, license_id: str, *, lock: bool = False) -> LicenseView | None:
        row = await self.load_row(session, license_id, lock=lock)
        return license_view(row, self._clock.now()) if row is not None else None

    async def held_paid(self, session: AsyncSession, buyer_id: str, listing: ListingRef) -> bool:
        """Whether the buyer holds or held a licence it paid for (reviews need one)."""
        found = (
            await (await session.connection()).execute(
                select(LICENSES.c.id)
                .where(
                    LICENSES.c.buyer_id == buyer_id,
                    LICENSES.c.listing_kind == listing.kind,
                    LICENSES.c.listing_id == listing.id,
                    LICENSES.c.origin == PURCHASE,
                )
                .limit(1)
            )
        ).first()
        return found is not None

    # --- RPCs -------------------------------------------------------------------------------------

    async def verify(self, caller: Caller, listing: str, buyer: str) -> LicenseCheck:
        ref = parse_listing(listing)
        buyer_id = parse_name(buyer, "agents", "buyer") if buyer else caller.agent_id
        async with self._db.snapshot() as session:
            info = await load_listing(session, ref, caller)
            if buyer_id != caller.agent_id and not caller.is_operator and info.owner_id != caller.agent_id:
                raise PermissionDenied(
                    f"only the buyer, the seller of {ref.name} or an operator may check this licence",
                    reason="NOT_BUYER_OR_SELLER",
                    metadata={"field": "buyer"},
                )
            return await self.check(buyer_id, ref, session=session)

    def _denied(self, name: str) -> PermissionDenied:
        return PermissionDenied(f"{name} does not exist or is not yours", reason="NOT_BUYER_OR_SELLER")

    async def get(self, caller: Caller, name: str) -> LicenseView:
        license_id = parse_name(name, "licenses")
        async with self._db.snapshot() as session:
            found = await self.load(session, license_id)
        if found is None:
            if caller.is_operator:
                raise NotFound(f"{name} does not exist", reason="LICENSE_NOT_FOUND")
            raise self._denied(name)
        if caller.agent_id not in (found.buyer_id, found.seller_id) and not caller.is_operator:
            raise self._denied(name)
        return found

    async def list_licenses(
        self, caller: Caller, *, seller: bool, listing: str, state: str, size: int, token: str
    ) -> tuple[list[LicenseView], str]:
        ref = parse_listing(listing) if listing else None
        if state and state not in STATES:
            raise InvalidArgument("is not a licence state", field="state")
        limit = page_size(size)
        binding = fingerprint(caller.agent_id, seller, ref, state)
        cursor = self._tokens.decode("licenses", token, binding)
        owner_column = LICENSES.c.seller_id if seller else LICENSES.c.buyer_id
        query = select(LICENSES).where(owner_column == caller.agent_id)
        if ref is not None:
            query = query.where(LICENSES.c.listing_kind == ref.kind, LICENSES.c.listing_id == ref.id)
        now = self._clock.now()
        if state == ACTIVE:
            query = query.where(
                LICENSES.c.state == ACTIVE, or_(LICENSES.c.expires_at.is_(None), LICENSES.c.expires_at > now)
            )
        elif state == EXPIRED:
            query = query.where(
                or_(
                    LICENSES.c.state == EXPIRED,
                    and_(LICENSES.c.state == ACTIVE, LICENSES.c.expires_at <= now),
                )
            )
        elif state:
            query = query.where(LICENSES.c.state == state)
        if cursor is not None:
            query = query.where(LICENSES.c.id < str(cursor["id"]))
        query = query.order_by(LICENSES.c.id.desc()).limit(limit + 1)
        async with self._db.snapshot() as session:
            rows = (await (await session.connection()).execute(query)).all()
        found = [license_view(row, now) for row in rows]
        next_token = ""
        if len(found) > limit:
            found = found[:limit]
            next_token = self._tokens.encode("licenses", {"id": found[-1].id}, binding)
        return found, next_token

    async def cancel_subscription(self, caller: Caller, name: str) -> LicenseView:
        license_id = parse_name(name, "licenses")

        async def work(s: AsyncSession) -> LicenseView:
            found = await self.load(s, license_id, lock=True)
            if found is None:
                if caller.is_operator:
                    raise NotFound(f"{name} does not exist", reason="LICENSE_NOT_FOUND")
                raise self._denied(name)
            if found.buyer_id != caller.agent_id and not caller.is_operator:
                raise PermissionDenied(
                    f"only the buyer may cancel {name}", reason="NOT_BUYER", metadata={"field": "name"}
                )
            if found.pricing_model is not PricingModel.SUBSCRIPTION or found.origin != PURCHASE:
                raise FailedPrecondition(
                    f"{name} is not a subscription", reason="NOT_A_SUBSCRIPTION", metadata={"field": "name"}
                )
            if found.state != ACTIVE:
                raise FailedPrecondition(
                    f"{name} is {found.state}: there is nothing left to cancel",
                    reason="LICENSE_NOT_ACTIVE",
                    metadata={"field": "name"},
                )
            if not found.auto_renew:
                return found
            now = self._clock.now()
            await (await s.connection()).execute(
                update(LICENSES).where(LICENSES.c.id == license_id).values(auto_renew=False, updated_at=now)
            )
            return replace(found, auto_renew=False, updated_at=now)

        return await transact(self._db, work)

    async def start_trial(self, caller: Caller, listing: str) -> LicenseView:
        ref = parse_listing(listing)

        async def work(s: AsyncSession) -> LicenseView:
            info = await load_listing(s, ref, caller)
            if info.owner_id == caller.agent_id:
                raise FailedPrecondition(
                    f"{ref.name} is your own listing", reason="OWN_LISTING", metadata={"field": "listing"}
                )
            if info.deprecated:
                raise FailedPrecondition(
                    f"{ref.name} is deprecated and off sale",
                    reason="LISTING_DEPRECATED",
                    metadata={"field": "listing"},
                )
            if not info.owner_active:
                raise FailedPrecondition(
                    f"the seller of {ref.name} is deactivated",
                    reason="SELLER_DEACTIVATED",
                    metadata={"field": "listing"},
                )
            runs = info.pricing.trial_runs
            if runs <= 0:
                raise FailedPrecondition(
                    f"{ref.name} offers no trial", reason="NO_TRIAL", metadata={"field": "listing"}
                )
            now = self._clock.now()
            key = exclusive_key(caller.agent_id, ref, LicenseType.PERSONAL, TRIAL)
            granted = await self.insert(
                s,
                {
                    "id": new_id(),
                    "buyer_id": caller.agent_id,
                    "seller_id": info.owner_id,
                    "listing_kind": ref.kind,
                    "listing_id": ref.id,
                    "license_type": LicenseType.PERSONAL.value,
                    "pricing_model": info.pricing.model.value,
                    "usage_billing": info.pricing.usage_billing.value if info.pricing.usage_billing else "",
                    "origin": TRIAL,
                    "state": ACTIVE,
                    "price_asset": "",
                    "price_amount": 0,
                    "interval": "",
                    "period_anchor": None,
                    "periods": 0,
                    "expires_at": None,
                    "usage_limit": runs,
                    "usage_count": 0,
                    "auto_renew": False,
                    "purchase_id": "",
                    "exclusive_key": key,
                    "lapse_reason": "",
                    "ended_at": None,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if granted is None:
                holder = await self.holder_of(s, key)
                if holder is None:
                    raise Aborted(
                        "a concurrent trial request was being processed; retry", reason="CONCURRENT_UPDATE"
                    )
                raise AlreadyLicensed(holder)
            return granted

        return await transact(self._db, work)


__all__ = [
    "ACTIVE",
    "DAEMON",
    "EXHAUSTED",
    "EXPIRED",
    "FREE",
    "PAY_PER_CALL",
    "PURCHASE",
    "REVOKED",
    "SKILL",
    "TRIAL",
    "UNITS",
    "UNMETERED",
    "AlreadyLicensed",
    "Denial",
    "FeeSchedule",
    "LicenseCheck",
    "LicenseView",
    "Licenses",
    "decide",
    "exclusive_key",
]
