"""Payment tables: the double-entry ledger (accounts, transactions, entries), holds, withdrawals,
budgets and their per-period spend, subscriptions, and the idempotency keys every service shares.

Amounts are BIGINT counts of an asset's atomic unit everywhere. Account balances are stored for
speed; `CheckLedger` proves they equal the sum of their entries. A CHECK constraint keeps every
account but the two platform sources (external money, credit issuance) from going negative, as a
second line behind the conditional updates in domain/ledger.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentos_server.infra.db import Base, BigIntPk, JsonDocument

# Account kinds whose balance may go negative: they stand for money outside the ledger.
UNBOUNDED_KINDS = ("external", "issuance")


class LedgerAccountRow(Base):
    """One balance. Agents have "available" and "held" per asset; the platform has "fees",
    "revenue", "escrow", "external" and "issuance" per asset."""

    __tablename__ = "ledger_accounts"

    # "agents/{agent_id}/wallets/{asset}", ".../held", or "platform/{kind}/{asset}".
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    asset: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    balance: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("balance >= 0 OR kind IN ('external', 'issuance')", name="balance_not_negative"),
        Index("ix_ledger_accounts_agent", "agent_id", "asset"),
    )


class LedgerTransactionRow(Base):
    __tablename__ = "ledger_transactions"

    # ULID: time-ordered, so listing by id is listing by creation.
    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    # "agents/{agent_id}" or "system".
    initiator: Mapped[str] = mapped_column(String(80))
    memo: Mapped[str] = mapped_column(String(500), default="")
    idempotency_key: Mapped[str] = mapped_column(String(128), default="")
    # The resource this transaction belongs to: "holds/...", "purchases/...", "executions/...".
    reference: Mapped[str] = mapped_column(String(200), default="")
    # The transaction this one reverses in full; unique, so nothing is refunded twice.
    reverses: Mapped[str | None] = mapped_column(
        ForeignKey("ledger_transactions.id"), nullable=True, unique=True
    )
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_ledger_transactions_reference", "reference"),)


class LedgerEntryRow(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    account: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.name"))
    # Copied from the account so that an agent's history is one index range.
    agent_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    asset: Mapped[str] = mapped_column(String(16))
    # Positive credits the account, negative debits it.
    amount: Mapped[int]

    __table_args__ = (
        Index("ix_ledger_entries_transaction", "transaction_id"),
        Index("ix_ledger_entries_account", "account"),
        Index("ix_ledger_entries_agent", "agent_id", "transaction_id"),
    )


class HoldRow(Base):
    __tablename__ = "ledger_holds"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int]
    captured_amount: Mapped[int] = mapped_column(default=0)
    # "active" | "captured" | "released" | "expired"
    state: Mapped[str] = mapped_column(String(12))
    purpose: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str] = mapped_column(String(200), default="")
    # None: never expires (withdrawal holds wait for an operator).
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Budget spend this hold reserved: [[budget_id, period_start_iso, amount], ...]; the unused
    # part returns on capture, release or expiry.
    budget_charges: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)
    hold_transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    resolve_transaction_id: Mapped[str | None] = mapped_column(
        ForeignKey("ledger_transactions.id"), nullable=True
    )
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (
        Index("ix_ledger_holds_agent", "agent_id", "id"),
        Index("ix_ledger_holds_state_expires", "state", "expires_at"),
    )


class WithdrawalRow(Base):
    __tablename__ = "ledger_withdrawals"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int]
    # "evm" | "solana"
    destination_chain: Mapped[str] = mapped_column(String(8))
    destination_address: Mapped[str] = mapped_column(String(64))
    # "pending" | "completed" | "rejected"
    state: Mapped[str] = mapped_column(String(12))
    hold_id: Mapped[str] = mapped_column(ForeignKey("ledger_holds.id"))
    external_reference: Mapped[str] = mapped_column(String(200), default="")
    reject_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (
        Index("ix_ledger_withdrawals_agent", "agent_id", "id"),
        Index("ix_ledger_withdrawals_state", "state", "id"),
    )


class BudgetRow(Base):
    __tablename__ = "budgets"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    # "" caps all of the agent's spending; "daemons/{id}" or "skills/{id}" caps spending on it.
    scope: Mapped[str] = mapped_column(String(100), default="")
    # "day" | "month" (UTC calendar periods)
    period: Mapped[str] = mapped_column(String(8))
    asset: Mapped[str] = mapped_column(String(16))
    limit_amount: Mapped[int]
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("uq_budgets_agent_scope", "agent_id", "asset", "scope", "period", unique=True),)


class BudgetSpendRow(Base):
    """What a budget has spent in one period; a row per budget per period that saw spending."""

    __tablename__ = "budget_spend"

    budget_id: Mapped[str] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"))
    period_start: Mapped[datetime]
    spent: Mapped[int] = mapped_column(default=0)

    __table_args__ = (PrimaryKeyConstraint("budget_id", "period_start"),)


class SubscriptionRow(Base):
    """An agent's subscription tier. No row means the free tier with nothing granted yet."""

    __tablename__ = "subscriptions"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    # "free" | "pro" | "scale" | "enterprise"
    tier: Mapped[str] = mapped_column(String(16))
    # Start (UTC calendar month) of the period whose price is paid and credits granted.
    period_start: Mapped[datetime]
    credits_granted: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IdempotencyKeyRow(Base):
    """A remembered request: the same caller, operation and key return `result` again; the same
    key with a different fingerprint is refused. Shared by every service (domain/idempotency.py)."""

    __tablename__ = "idempotency_keys"

    # "agents/{agent_id}" or "system".
    caller: Mapped[str] = mapped_column(String(80))
    # "payment.Transfer", "marketplace.Purchase", "execution.StartRun", ...
    operation: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Name of what the first request produced, e.g. "transactions/{id}".
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (
        PrimaryKeyConstraint("caller", "operation", "key"),
        Index("ix_idempotency_keys_created", "created_at"),
    )
