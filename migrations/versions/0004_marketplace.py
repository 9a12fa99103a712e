"""Marketplace: licences, purchases, reviews, reputations, featured listings, daily execution counts.

Revision ID: 0004_marketplace
Revises: 0003_payment
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_marketplace"
down_revision = "0003_payment"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "licenses",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("buyer_id", sa.String(63), nullable=False),
        sa.Column("seller_id", sa.String(63), nullable=False),
        sa.Column("listing_kind", sa.String(8), nullable=False),
        sa.Column("listing_id", sa.String(63), nullable=False),
        sa.Column("license_type", sa.String(16), nullable=False),
        sa.Column("pricing_model", sa.String(16), nullable=False),
        sa.Column("usage_billing", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("price_asset", sa.String(16), nullable=False),
        sa.Column("price_amount", sa.BigInteger(), nullable=False),
        sa.Column("interval", sa.String(16), nullable=False),
        sa.Column("period_anchor", UTC_TIME, nullable=True),
        sa.Column("periods", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=True),
        sa.Column("usage_limit", sa.BigInteger(), nullable=True),
        sa.Column("usage_count", sa.BigInteger(), nullable=False),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        sa.Column("purchase_id", sa.String(26), nullable=False),
        sa.Column("exclusive_key", sa.String(200), nullable=True),
        sa.Column("lapse_reason", sa.String(200), nullable=False),
        sa.Column("ended_at", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["agents.id"], name=op.f("fk_licenses_buyer_id_agents")),
        sa.ForeignKeyConstraint(["seller_id"], ["agents.id"], name=op.f("fk_licenses_seller_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licenses")),
        sa.UniqueConstraint("exclusive_key", name=op.f("uq_licenses_exclusive_key")),
    )
    op.create_index(
        "ix_licenses_buyer_listing", "licenses", ["buyer_id", "listing_kind", "listing_id", "state"]
    )
    op.create_index("ix_licenses_buyer_id", "licenses", ["buyer_id", "id"])
    op.create_index("ix_licenses_seller_id", "licenses", ["seller_id", "id"])
    op.create_index("ix_licenses_listing", "licenses", ["listing_kind", "listing_id", "buyer_id"])
    op.create_index("ix_licenses_renewal", "licenses", ["pricing_model", "state", "expires_at"])

    op.create_table(
        "purchases",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("buyer_id", sa.String(63), nullable=False),
        sa.Column("seller_id", sa.String(63), nullable=False),
        sa.Column("listing_kind", sa.String(8), nullable=False),
        sa.Column("listing_id", sa.String(63), nullable=False),
        sa.Column("listing_version", sa.String(64), nullable=False),
        sa.Column("license_type", sa.String(16), nullable=False),
        sa.Column("pricing_model", sa.String(16), nullable=False),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("seller_amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_amount", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("license_id", sa.String(26), nullable=False),
        sa.Column("transaction_id", sa.String(26), nullable=True),
        sa.Column("refund_transaction_id", sa.String(26), nullable=True),
        sa.Column("renewal", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("failure_reason", sa.String(200), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("refunded_at", UTC_TIME, nullable=True),
        sa.Column("refund_reason", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["agents.id"], name=op.f("fk_purchases_buyer_id_agents")),
        sa.ForeignKeyConstraint(["seller_id"], ["agents.id"], name=op.f("fk_purchases_seller_id_agents")),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name=op.f("fk_purchases_license_id_licenses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
    )
    op.create_index("ix_purchases_buyer_id", "purchases", ["buyer_id", "id"])
    op.create_index("ix_purchases_seller_id", "purchases", ["seller_id", "id"])
    op.create_index("ix_purchases_listing", "purchases", ["listing_kind", "listing_id", "id"])
    op.create_index("ix_purchases_seller_created", "purchases", ["seller_id", "created_at"])
    op.create_index("ix_purchases_seller_refunded", "purchases", ["seller_id", "refunded_at"])

    op.create_table(
        "reviews",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("listing_kind", sa.String(8), nullable=False),
        sa.Column("listing_id", sa.String(63), nullable=False),
        sa.Column("seller_id", sa.String(63), nullable=False),
        sa.Column("reviewer_id", sa.String(63), nullable=False),
        sa.Column("stars", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("reply_text", sa.Text(), nullable=False),
        sa.Column("reply_at", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["seller_id"], ["agents.id"], name=op.f("fk_reviews_seller_id_agents")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["agents.id"], name=op.f("fk_reviews_reviewer_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint(
            "listing_kind",
            "listing_id",
            "reviewer_id",
            name=op.f("uq_reviews_listing_kind_listing_id_reviewer_id"),
        ),
    )
    op.create_index("ix_reviews_listing", "reviews", ["listing_kind", "listing_id", "id"])
    op.create_index("ix_reviews_seller_created", "reviews", ["seller_id", "created_at"])

    op.create_table(
        "reputations",
        sa.Column("agent_id", sa.String(63), nullable=False),
        sa.Column("rating_weight", sa.Float(), nullable=False),
        sa.Column("rating_sum", sa.Float(), nullable=False),
        sa.Column("review_count", sa.BigInteger(), nullable=False),
        sa.Column("transaction_count", sa.BigInteger(), nullable=False),
        sa.Column("documentation_score", sa.Float(), nullable=False),
        sa.Column("execution_count", sa.BigInteger(), nullable=False),
        sa.Column("execution_successes", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_reputations_agent_id_agents")),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_reputations")),
    )

    op.create_table(
        "featured_listings",
        sa.Column("listing_kind", sa.String(8), nullable=False),
        sa.Column("listing_id", sa.String(63), nullable=False),
        sa.Column("featured_by", sa.String(63), nullable=False),
        sa.Column("featured_at", UTC_TIME, nullable=False),
        sa.Column("end_time", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("listing_kind", "listing_id", name=op.f("pk_featured_listings")),
    )
    op.create_index(
        "ix_featured_listings_featured_at", "featured_listings", ["featured_at", "listing_kind", "listing_id"]
    )

    op.create_table(
        "listing_executions",
        sa.Column("listing_kind", sa.String(8), nullable=False),
        sa.Column("listing_id", sa.String(63), nullable=False),
        sa.Column("day", UTC_TIME, nullable=False),
        sa.Column("seller_id", sa.String(63), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("successes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["agents.id"], name=op.f("fk_listing_executions_seller_id_agents")
        ),
        sa.PrimaryKeyConstraint("listing_kind", "listing_id", "day", name=op.f("pk_listing_executions")),
    )
    op.create_index("ix_listing_executions_seller_day", "listing_executions", ["seller_id", "day"])


def downgrade() -> None:
    op.drop_table("listing_executions")
    op.drop_table("featured_listings")
    op.drop_table("reputations")
    op.drop_table("reviews")
    op.drop_table("purchases")
    op.drop_table("licenses")
