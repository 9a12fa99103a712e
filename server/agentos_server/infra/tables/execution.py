"""Execution tables: daemon runs, their stages, their numbered events and large stage outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentos_server.infra.db import Base, JsonDocument


class ExecutionRow(Base):
    """One run of one daemon version. The definition is copied in, so the run is exactly what was
    started even if the daemon changes afterwards."""

    __tablename__ = "executions"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    daemon_id: Mapped[str] = mapped_column(String(63))
    daemon_version: Mapped[str] = mapped_column(String(64))
    definition_yaml: Mapped[str] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    # queued | running | succeeded | failed | timed_out | cancelled
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="")
    # "holds/{id}" reserving max_credits, empty when nothing was held.
    hold: Mapped[str] = mapped_column(String(80), default="")
    max_credits: Mapped[int] = mapped_column(default=0)
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    credits: Mapped[int] = mapped_column(default=0)
    usd_micros: Mapped[int] = mapped_column(default=0)
    # Highest event sequence written; event writers advance it only from the value they expect,
    # which is what keeps sequences gapless and fences off a worker that lost its claim.
    last_sequence: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str] = mapped_column(String(128), default="")
    # Claims so far; also the fencing token of the current claim.
    attempts: Mapped[int] = mapped_column(default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    enqueued_at: Mapped[datetime]
    # Set by the first claim; the run's deadline is started_at + the definition's timeout.
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (
        UniqueConstraint("owner_id", "idempotency_key"),
        Index("ix_executions_owner_created", "owner_id", "created_at", "id"),
        Index("ix_executions_owner_daemon_created", "owner_id", "daemon_id", "created_at", "id"),
        Index("ix_executions_state_heartbeat", "state", "heartbeat_at"),
    )


class ExecutionStageRow(Base):
    __tablename__ = "execution_stages"

    execution_id: Mapped[str] = mapped_column(ForeignKey("executions.id"), primary_key=True)
    # Position in the definition's file order.
    position: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    # pending | running | succeeded | failed | timed_out | cancelled | skipped
    state: Mapped[str] = mapped_column(String(16), default="pending")
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    duration_ms: Mapped[int] = mapped_column(default=0)
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    credits: Mapped[int] = mapped_column(default=0)
    usd_micros: Mapped[int] = mapped_column(default=0)
    # {"value": <JSON>} when kept inline; the wrapper tells a JSON null output from no output.
    output: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)
    output_artifact: Mapped[str] = mapped_column(String(26), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    model: Mapped[str] = mapped_column(String(100), default="")
    exit_code: Mapped[int | None] = mapped_column(nullable=True)


class ExecutionEventRow(Base):
    __tablename__ = "execution_events"

    execution_id: Mapped[str] = mapped_column(ForeignKey("executions.id"), primary_key=True)
    sequence: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    # log | stage_started | stage_finished | stage_output | cost | state_changed | provider_attempt
    kind: Mapped[str] = mapped_column(String(24))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDocument)


class ExecutionArtifactRow(Base):
    """A stage output too large to keep inline, kept in the database so every replica can serve it."""

    __tablename__ = "execution_artifacts"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    execution_id: Mapped[str] = mapped_column(ForeignKey("executions.id"), index=True)
    stage: Mapped[str] = mapped_column(String(100))
    content_type: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    created_at: Mapped[datetime]
