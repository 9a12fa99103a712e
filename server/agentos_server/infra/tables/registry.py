"""Registry tables: agents and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentos_server.infra.db import Base, JsonDocument


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    avatar_uri: Mapped[str] = mapped_column(String(2048), default="")
    # [{"chain": "evm"|"solana", "address": "..."}]
    owner_wallets: Mapped[list[dict[str, str]]] = mapped_column(JsonDocument, default=list)
    # {"bio": str, "traits": [...], "topics": [...], "style": {"all": [...], "chat": [...], "post": [...]}}
    character: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    organization: Mapped[str] = mapped_column(String(63), default="")
    reputation: Mapped[float] = mapped_column(Float, default=0.0)
    total_sales: Mapped[int] = mapped_column(default=0)
    # "active" | "deactivated"
    state: Mapped[str] = mapped_column(String(16), default="active")
    is_operator: Mapped[bool] = mapped_column(default=False)
    # ERC-8004 identity once registered on-chain.
    on_chain_identity: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)
    # Bumped on every update; the etag is derived from it.
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_agents_state_created", "state", "created_at", "id"),
        Index("ix_agents_organization", "organization"),
    )


class ApiKeyRow(Base):
    """One API key. Only a SHA-256 of its secret part is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
