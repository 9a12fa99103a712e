"""Marketplace tables: purchases, licences, reviews, reputations, featured listings and the daily
execution counts that feed reputation and seller analytics.

A listing is stored as (listing_kind, listing_id): kind "skill" or "daemon", id the skill's or
daemon's id. Amounts are BIGINT counts of an asset's atomic unit. Purchases point at their ledger
transactions by id without a foreign key: the ledger is the payments area's, and a purchase row is
written before its transaction so that the platform-wide fee account is locked as briefly as
possible (domain/purchases.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentos_server.infra.db import Base


class LicenseRow(Base):
    """A right to use a listing: granted by a purchase (renewed in place for subscriptions), by a
    free listing, or by a trial."""

    __tablename__ = "licenses"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    # "skill" | "daemon"
    listing_kind: Mapped[str] = mapped_column(String(8))
    listing_id: Mapped[str] = mapped_column(String(63))
    # domain/pricing.LicenseType value
    license_type: Mapped[str] = mapped_column(String(16))
    # domain/pricing.PricingModel value at grant time
    pricing_model: Mapped[str] = mapped_column(String(16))
    # "prepaid_units" | "pay_per_call" for usage licences, "" otherwise
    usage_billing: Mapped[str] = mapped_column(String(16), default="")
    # "purchase" | "free" | "trial"
    origin: Mapped[str] = mapped_column(String(16))
    # "active" | "expired" | "revoked" | "exhausted"
    state: Mapped[str] = mapped_column(String(16))
    # The price the buyer agreed to: per interval (subscription, charged again at renewal), per
    # unit (usage: what each pay-per-call call costs) or the one-time price.
    price_asset: Mapped[str] = mapped_column(String(16), default="")
    price_amount: Mapped[int] = mapped_column(default=0)
    # Subscriptions: the billing interval, the start of the first period and the periods paid;
    # expires_at = period_anchor + periods x interval.
    interval: Mapped[str] = mapped_column(String(16), default="")
    period_anchor: Mapped[datetime | None] = mapped_column(nullable=True)
    periods: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Prepaid units or trial runs; NULL means unlimited.
    usage_limit: Mapped[int | None] = mapped_column(nullable=True)
    usage_count: Mapped[int] = mapped_column(default=0)
    auto_renew: Mapped[bool] = mapped_column(default=False)
    # The purchase that granted it (the latest renewal for subscriptions); "" for trials.
    purchase_id: Mapped[str] = mapped_column(String(26), default="")
    # Makes "at most one at a time" a database guarantee that holds under concurrent purchases:
    # set while a one-time, subscription, pay-per-call or free licence is active (one per buyer,
    # listing and licence type) and forever for a trial (one per buyer and listing); NULL for
    # prepaid-unit packs, which a buyer may hold several of. NULLs never collide.
    exclusive_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    lapse_reason: Mapped[str] = mapped_column(String(200), default="")
    # When it stopped being active (revoked, lapsed, exhausted); NULL while active.
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        # The licence check on the proxy's hot path reads exactly this.
        Index("ix_licenses_buyer_listing", "buyer_id", "listing_kind", "listing_id", "state"),
        Index("ix_licenses_buyer_id", "buyer_id", "id"),
        Index("ix_licenses_seller_id", "seller_id", "id"),
        Index("ix_licenses_listing", "listing_kind", "listing_id", "buyer_id"),
        # The renewal job's scan: active subscriptions by expiry.
        Index("ix_licenses_renewal", "pricing_model", "state", "expires_at"),
    )


class PurchaseRow(Base):
    __tablename__ = "purchases"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    listing_kind: Mapped[str] = mapped_column(String(8))
    listing_id: Mapped[str] = mapped_column(String(63))
    listing_version: Mapped[str] = mapped_column(String(64))
    license_type: Mapped[str] = mapped_column(String(16))
    pricing_model: Mapped[str] = mapped_column(String(16))
    asset: Mapped[str] = mapped_column(String(16))
    # What the buyer paid, what the seller received and the platform's fee (amount = seller + fee).
    amount: Mapped[int]
    seller_amount: Mapped[int]
    fee_amount: Mapped[int]
    units: Mapped[int] = mapped_column(default=0)
    # "pending" | "completed" | "refunded" | "failed"
    state: Mapped[str] = mapped_column(String(16))
    license_id: Mapped[str] = mapped_column(ForeignKey("licenses.id"))
    transaction_id: Mapped[str | None] = mapped_column(String(26), nullable=True)
    refund_transaction_id: Mapped[str | None] = mapped_column(String(26), nullable=True)
    renewal: Mapped[bool] = mapped_column(default=False)
    idempotency_key: Mapped[str] = mapped_column(String(128), default="")
    # Why a renewal could not be paid ("failed" purchases only).
    failure_reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    refunded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    refund_reason: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (
        Index("ix_purchases_buyer_id", "buyer_id", "id"),
        Index("ix_purchases_seller_id", "seller_id", "id"),
        Index("ix_purchases_listing", "listing_kind", "listing_id", "id"),
        Index("ix_purchases_seller_created", "seller_id", "created_at"),
        Index("ix_purchases_seller_refunded", "seller_id", "refunded_at"),
    )


class ReviewRow(Base):
    __tablename__ = "reviews"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    listing_kind: Mapped[str] = mapped_column(String(8))
    listing_id: Mapped[str] = mapped_column(String(63))
    seller_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    stars: Mapped[int]
    text: Mapped[str] = mapped_column(Text, default="")
    # The reviewer's weight when the review was last written (domain/reputation.review_weight).
    weight: Mapped[float] = mapped_column(Float)
    reply_text: Mapped[str] = mapped_column(Text, default="")
    reply_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        # One review per buyer per listing.
        UniqueConstraint("listing_kind", "listing_id", "reviewer_id"),
        Index("ix_reviews_listing", "listing_kind", "listing_id", "id"),
        Index("ix_reviews_seller_created", "seller_id", "created_at"),
    )


class ReputationRow(Base):
    """The parts of an agent's reputation, kept incrementally (domain/reputation.py). The score
    itself lives on agents.reputation, where the Registry shows it."""

    __tablename__ = "reputations"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    # Sums over the reviews of the agent's listings: sum(weight) and sum(weight x stars).
    rating_weight: Mapped[float] = mapped_column(Float, default=0.0)
    rating_sum: Mapped[float] = mapped_column(Float, default=0.0)
    review_count: Mapped[int] = mapped_column(default=0)
    # Paid purchases completed and not refunded, renewals included.
    transaction_count: Mapped[int] = mapped_column(default=0)
    documentation_score: Mapped[float] = mapped_column(Float, default=0.0)
    execution_count: Mapped[int] = mapped_column(default=0)
    execution_successes: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]


class FeaturedListingRow(Base):
    __tablename__ = "featured_listings"

    listing_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    featured_by: Mapped[str] = mapped_column(String(63))
    featured_at: Mapped[datetime]
    # NULL: until unfeatured.
    end_time: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_featured_listings_featured_at", "featured_at", "listing_kind", "listing_id"),)


class ListingExecutionRow(Base):
    """Calls (skills) and runs (daemons) of a listing per UTC day, as the execution engine reports
    them: the "calls" of seller analytics and the success rate of reputation."""

    __tablename__ = "listing_executions"

    listing_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    day: Mapped[datetime] = mapped_column(primary_key=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    calls: Mapped[int] = mapped_column(default=0)
    successes: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_listing_executions_seller_day", "seller_id", "day"),)
