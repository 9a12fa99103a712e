"""Payments: ledger accounts, transactions and entries, holds, withdrawals, budgets, subscriptions,
idempotency keys.

Revision ID: 0003_payment
Revises: 0002_registry_listings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_payment"
down_revision = "0002_registry_listings"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_TIME = sa.DateTime(timezone=True)
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("agent_id", sa.String(63), nullable=True),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.CheckConstraint(
            "balance >= 0 OR kind IN ('external', 'issuance')",
            name=op.f("ck_ledger_accounts_balance_not_negative"),
        ),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_ledger_accounts_agent_id_agents")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ledger_accounts")),
    )
    op.create_index("ix_ledger_accounts_agent", "ledger_accounts", ["agent_id", "asset"])

    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("initiator", sa.String(80), nullable=False),
        sa.Column("memo", sa.String(500), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("reverses", sa.String(26), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["reverses"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_transactions_reverses_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("reverses", name=op.f("uq_ledger_transactions_reverses")),
    )
    op.create_index("ix_ledger_transactions_reference", "ledger_transactions", ["reference"])

    op.create_table(
        "ledger_entries",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.String(26), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("agent_id", sa.String(63), nullable=True),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_entries_transaction_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["account"], ["ledger_accounts.name"], name=op.f("fk_ledger_entries_account_ledger_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_transaction", "ledger_entries", ["transaction_id"])
    op.create_index("ix_ledger_entries_account", "ledger_entries", ["account"])
    op.create_index("ix_ledger_entries_agent", "ledger_entries", ["agent_id", "transaction_id"])

    op.create_table(
        "ledger_holds",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("agent_id", sa.String(63), nullable=False),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("captured_amount", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=True),
        sa.Column("budget_charges", JSON_DOC, nullable=False),
        sa.Column("hold_transaction_id", sa.String(26), nullable=False),
        sa.Column("resolve_transaction_id", sa.String(26), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("resolved_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_ledger_holds_agent_id_agents")),
        sa.ForeignKeyConstraint(
            ["hold_transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_holds_hold_transaction_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["resolve_transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_holds_resolve_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_holds")),
    )
    op.create_index("ix_ledger_holds_agent", "ledger_holds", ["agent_id", "id"])
    op.create_index("ix_ledger_holds_state_expires", "ledger_holds", ["state", "expires_at"])

    op.create_table(
        "ledger_withdrawals",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("agent_id", sa.String(63), nullable=False),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("destination_chain", sa.String(8), nullable=False),
        sa.Column("destination_address", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("hold_id", sa.String(26), nullable=False),
        sa.Column("external_reference", sa.String(200), nullable=False),
        sa.Column("reject_reason", sa.String(500), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("resolved_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_ledger_withdrawals_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["ledger_holds.id"], name=op.f("fk_ledger_withdrawals_hold_id_ledger_holds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_withdrawals")),
    )
    op.create_index("ix_ledger_withdrawals_agent", "ledger_withdrawals", ["agent_id", "id"])
    op.create_index("ix_ledger_withdrawals_state", "ledger_withdrawals", ["state", "id"])

    op.create_table(
        "budgets",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("agent_id", sa.String(63), nullable=False),
        sa.Column("scope", sa.String(100), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("limit_amount", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_budgets_agent_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
    )
    op.create_index(
        "uq_budgets_agent_scope", "budgets", ["agent_id", "asset", "scope", "period"], unique=True
    )

    op.create_table(
        "budget_spend",
        sa.Column("budget_id", sa.String(26), nullable=False),
        sa.Column("period_start", UTC_TIME, nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["budget_id"], ["budgets.id"], name=op.f("fk_budget_spend_budget_id_budgets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("budget_id", "period_start", name=op.f("pk_budget_spend")),
    )

    op.create_table(
        "subscriptions",
        sa.Column("agent_id", sa.String(63), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("period_start", UTC_TIME, nullable=False),
        sa.Column("credits_granted", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_subscriptions_agent_id_agents")),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_subscriptions")),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.String(80), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("caller", "operation", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("subscriptions")
    op.drop_table("budget_spend")
    op.drop_table("budgets")
    op.drop_table("ledger_withdrawals")
    op.drop_table("ledger_holds")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_transactions")
    op.drop_table("ledger_accounts")
