"""Skill proxy and provider key tables: one usage record per proxied skill call, and agents'
provider API keys sealed with the master key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from agentos_server.infra.db import Base, JsonDocument


class UsageRecordRow(Base):
    """One skill call that reached the seller (or was refused after it did).

    Calls refused before dispatch (licence, rate limit, budget, bad payload, open circuit) leave no
    row: a flood of refused calls must not turn into a flood of writes.
    """

    __tablename__ = "usage_records"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    skill_id: Mapped[str] = mapped_column(ForeignKey("skills.id"))
    skill_version: Mapped[str] = mapped_column(String(64))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    # "" when the seller called its own skill (no licence needed).
    license_id: Mapped[str] = mapped_column(String(63), default="")
    operation: Mapped[str] = mapped_column(String(300))
    # "https" | "hosted_script" | "agent_channel"
    target: Mapped[str] = mapped_column(String(16))
    request_bytes: Mapped[int] = mapped_column(default=0)
    response_bytes: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int] = mapped_column(default=0)
    cost_asset: Mapped[str] = mapped_column(String(16), default="")
    cost_amount: Mapped[int] = mapped_column(default=0)
    used_unit: Mapped[bool] = mapped_column(default=False)
    # "succeeded" | "failed" | "timed_out" | "rejected"
    outcome: Mapped[str] = mapped_column(String(16))
    error_reason: Mapped[str] = mapped_column(String(64), default="")
    # "executions/{id}" when a daemon's skill stage made the call.
    execution: Mapped[str] = mapped_column(String(100), default="")
    # The ledger transaction that charged the call, if it was charged.
    transaction_id: Mapped[str | None] = mapped_column(String(26), nullable=True)
    # The answer, kept only for calls made with an idempotency key, so that a repeat can return it.
    result: Mapped[Any | None] = mapped_column(JsonDocument, nullable=True)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_usage_records_buyer_created", "buyer_id", "created_at", "id"),
        Index("ix_usage_records_seller_created", "seller_id", "created_at", "id"),
        Index("ix_usage_records_skill_created", "skill_id", "created_at", "id"),
    )


class ProviderKeyRow(Base):
    """An agent's API key for one model provider, sealed by infra/secretbox.

    The blob's associated data is the row's resource name ("agents/{id}/providerKeys/{provider}"),
    so a blob copied onto another row, or another agent, fails to open.
    """

    __tablename__ = "provider_keys"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    # The router's provider name: "openai", "anthropic", "google", "openai_compatible".
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Id of the master key that sealed it, so rotation finds what is left to re-encrypt.
    master_key_id: Mapped[str] = mapped_column(String(32), index=True)
    # mask_secret() of the key, computed when it was stored: listing never decrypts.
    masked_key: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str] = mapped_column(String(2048), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
