"""Foundation: agents, API keys, server secrets.

Revision ID: 0001_foundation
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("avatar_uri", sa.String(2048), nullable=False),
        sa.Column("owner_wallets", JSON_DOC, nullable=False),
        sa.Column("character", JSON_DOC, nullable=False),
        sa.Column("organization", sa.String(63), nullable=False),
        sa.Column("reputation", sa.Float(), nullable=False),
        sa.Column("total_sales", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("is_operator", sa.Boolean(), nullable=False),
        sa.Column("on_chain_identity", JSON_DOC, nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_index("ix_agents_organization", "agents", ["organization"])
    op.create_index("ix_agents_state_created", "agents", ["state", "created_at", "id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("agent_id", sa.String(63), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_api_keys_agent_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_index(op.f("ix_api_keys_agent_id"), "api_keys", ["agent_id"])


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("agents")
    op.drop_table("server_secrets")
