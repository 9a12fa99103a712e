"""Skill proxy and provider keys: usage records, agents' sealed provider API keys.

Revision ID: 0006_proxy
Revises: 0005_execution
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_proxy"
down_revision = "0005_execution"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("skill_id", sa.String(63), nullable=False),
        sa.Column("skill_version", sa.String(64), nullable=False),
        sa.Column("buyer_id", sa.String(63), nullable=False),
        sa.Column("seller_id", sa.String(63), nullable=False),
        sa.Column("license_id", sa.String(63), nullable=False),
        sa.Column("operation", sa.String(300), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("request_bytes", sa.BigInteger(), nullable=False),
        sa.Column("response_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.Column("cost_asset", sa.String(16), nullable=False),
        sa.Column("cost_amount", sa.BigInteger(), nullable=False),
        sa.Column("used_unit", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error_reason", sa.String(64), nullable=False),
        sa.Column("execution", sa.String(100), nullable=False),
        sa.Column("transaction_id", sa.String(26), nullable=True),
        sa.Column("result", JSON_DOC, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["skill_id"], ["skills.id"], name=op.f("fk_usage_records_skill_id_skills")),
        sa.ForeignKeyConstraint(["buyer_id"], ["agents.id"], name=op.f("fk_usage_records_buyer_id_agents")),
        sa.ForeignKeyConstraint(["seller_id"], ["agents.id"], name=op.f("fk_usage_records_seller_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
    )
    op.create_index("ix_usage_records_buyer_created", "usage_records", ["buyer_id", "created_at", "id"])
    op.create_index("ix_usage_records_seller_created", "usage_records", ["seller_id", "created_at", "id"])
    op.create_index("ix_usage_records_skill_created", "usage_records", ["skill_id", "created_at", "id"])

    op.create_table(
        "provider_keys",
        sa.Column("agent_id", sa.String(63), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(32), nullable=False),
        sa.Column("masked_key", sa.String(64), nullable=False),
        sa.Column("base_url", sa.String(2048), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_provider_keys_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "provider", name=op.f("pk_provider_keys")),
    )
    op.create_index(op.f("ix_provider_keys_master_key_id"), "provider_keys", ["master_key_id"])


def downgrade() -> None:
    op.drop_table("provider_keys")
    op.drop_table("usage_records")
