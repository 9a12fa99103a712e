"""Execution: daemon runs, their stages, their numbered events and large stage outputs.

Revision ID: 0005_execution
Revises: 0004_marketplace

0004_marketplace is not on this branch yet; when it lands before this one, down_revision becomes
"0004_marketplace".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_execution"
down_revision = "0004_marketplace"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_TIME = sa.DateTime(timezone=True)


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "executions",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("owner_id", sa.String(63), nullable=False),
        sa.Column("daemon_id", sa.String(63), nullable=False),
        sa.Column("daemon_version", sa.String(64), nullable=False),
        sa.Column("definition_yaml", sa.Text(), nullable=False),
        sa.Column("inputs", JSON_DOC, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("hold", sa.String(80), nullable=False),
        _counter("max_credits"),
        _counter("input_tokens"),
        _counter("output_tokens"),
        _counter("credits"),
        _counter("usd_micros"),
        _counter("last_sequence"),
        sa.Column("worker", sa.String(128), nullable=False),
        _counter("attempts"),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("request_fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("enqueued_at", UTC_TIME, nullable=False),
        sa.Column("started_at", UTC_TIME, nullable=True),
        sa.Column("ended_at", UTC_TIME, nullable=True),
        sa.Column("heartbeat_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["agents.id"], name=op.f("fk_executions_owner_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
        sa.UniqueConstraint(
            "owner_id", "idempotency_key", name=op.f("uq_executions_owner_id_idempotency_key")
        ),
    )
    op.create_index("ix_executions_owner_created", "executions", ["owner_id", "created_at", "id"])
    op.create_index(
        "ix_executions_owner_daemon_created", "executions", ["owner_id", "daemon_id", "created_at", "id"]
    )
    op.create_index("ix_executions_state_heartbeat", "executions", ["state", "heartbeat_at"])

    op.create_table(
        "execution_stages",
        sa.Column("execution_id", sa.String(26), nullable=False),
        _counter("position"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", UTC_TIME, nullable=True),
        sa.Column("ended_at", UTC_TIME, nullable=True),
        _counter("duration_ms"),
        _counter("input_tokens"),
        _counter("output_tokens"),
        _counter("credits"),
        _counter("usd_micros"),
        sa.Column("output", JSON_DOC, nullable=True),
        sa.Column("output_artifact", sa.String(26), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        _counter("attempts"),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("exit_code", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"], name=op.f("fk_execution_stages_execution_id_executions")
        ),
        sa.PrimaryKeyConstraint("execution_id", "position", name=op.f("pk_execution_stages")),
    )

    op.create_table(
        "execution_events",
        sa.Column("execution_id", sa.String(26), nullable=False),
        _counter("sequence"),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"], name=op.f("fk_execution_events_execution_id_executions")
        ),
        sa.PrimaryKeyConstraint("execution_id", "sequence", name=op.f("pk_execution_events")),
    )

    op.create_table(
        "execution_artifacts",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("execution_id", sa.String(26), nullable=False),
        sa.Column("stage", sa.String(100), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        _counter("size"),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"], ["executions.id"], name=op.f("fk_execution_artifacts_execution_id_executions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_artifacts")),
    )
    op.create_index(op.f("ix_execution_artifacts_execution_id"), "execution_artifacts", ["execution_id"])


def downgrade() -> None:
    op.drop_table("execution_artifacts")
    op.drop_table("execution_events")
    op.drop_table("execution_stages")
    op.drop_table("executions")
