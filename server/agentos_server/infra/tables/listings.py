"""Listings: skills and daemons, each a current row plus one immutable row per published version.

The current row carries what changes without a new version (state, statistics, revision, access
rules); the version rows are snapshots of the content as published, so that "skills/{id}@{version}"
stays answerable forever. Enumerations are stored as the domain's lower-case strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentos_server.infra.db import Base, JsonDocument

# A semver sort key (domain/semver.Version.sort_key) grows by 11 characters per numeric pre-release
# identifier; a 64-character version cannot produce more than this.
VERSION_KEY_LENGTH = 512


class SkillRow(Base):
    __tablename__ = "skills"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    display_name: Mapped[str] = mapped_column(String(100))
    # Case-folded display name: two skills of one owner may not differ only by case.
    name_key: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(64))
    version_key: Mapped[str] = mapped_column(String(VERSION_KEY_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    # domain/pricing.Pricing.as_document()
    pricing: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    # {"repo_url", "entry_point", "dependencies", "documentation_uri"}
    code: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    openapi_spec: Mapped[str] = mapped_column(Text, default="")
    # {"https_url": str} | {"hosted_script": {...}} | {"agent_channel": {}}
    endpoint: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    rating: Mapped[float] = mapped_column(Float, default=0.0)
    review_count: Mapped[int] = mapped_column(default=0)
    purchase_count: Mapped[int] = mapped_column(default=0)
    # "active" | "deprecated"
    state: Mapped[str] = mapped_column(String(16), default="active")
    deprecation_reason: Mapped[str] = mapped_column(String(500), default="")
    featured: Mapped[bool] = mapped_column(default=False)
    # Bumped by every owner-visible change; the etag derives from it. Statistics do not bump it.
    revision: Mapped[int] = mapped_column(default=1)
    # When the skill was first published.
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # When the current version was published.
    version_time: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("owner_id", "name_key"),
        Index("ix_skills_state_created", "state", "created_at", "id"),
        Index("ix_skills_owner_created", "owner_id", "created_at", "id"),
    )


class SkillVersionRow(Base):
    __tablename__ = "skill_versions"

    skill_id: Mapped[str] = mapped_column(ForeignKey("skills.id"), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_key: Mapped[str] = mapped_column(String(VERSION_KEY_LENGTH))
    display_name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(JsonDocument)
    pricing: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    code: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    openapi_spec: Mapped[str] = mapped_column(Text)
    endpoint: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[datetime]

    # Two versions with equal precedence ("1.0.0+a", "1.0.0+b") cannot both exist.
    __table_args__ = (UniqueConstraint("skill_id", "version_key"),)


class DaemonRow(Base):
    __tablename__ = "daemons"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("agents.id"))
    display_name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(String(64))
    version_key: Mapped[str] = mapped_column(String(VERSION_KEY_LENGTH))
    definition_yaml: Mapped[str] = mapped_column(Text)
    # The parsed definition as the API shows it (domain/daemons.spec_document), stored so that reads
    # never re-validate and a stricter parser cannot make an old version unreadable.
    spec: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    category: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    pricing: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    license: Mapped[str] = mapped_column(String(64))
    # "public" | "private" | "organization" | "listed_agents"
    visibility: Mapped[str] = mapped_column(String(16))
    # Kept as given; daemon_access holds the same names in a form SQL can filter on.
    allowed_organizations: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    allowed_agents: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    # "daemons/{id}@{version}" of the source, "" when not a fork.
    forked_from: Mapped[str] = mapped_column(String(200), default="")
    # Every ancestor as "daemons/{id}@{version}", nearest first.
    lineage: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    run_count: Mapped[int] = mapped_column(default=0)
    fork_count: Mapped[int] = mapped_column(default=0)
    rating: Mapped[float] = mapped_column(Float, default=0.0)
    review_count: Mapped[int] = mapped_column(default=0)
    purchase_count: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(16), default="active")
    deprecation_reason: Mapped[str] = mapped_column(String(500), default="")
    featured: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version_time: Mapped[datetime]

    __table_args__ = (
        Index("ix_daemons_state_created", "state", "created_at", "id"),
        Index("ix_daemons_owner_created", "owner_id", "created_at", "id"),
    )


class DaemonVersionRow(Base):
    __tablename__ = "daemon_versions"

    daemon_id: Mapped[str] = mapped_column(ForeignKey("daemons.id"), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_key: Mapped[str] = mapped_column(String(VERSION_KEY_LENGTH))
    display_name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    definition_yaml: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    category: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(JsonDocument)
    pricing: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    license: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("daemon_id", "version_key"),)


class DaemonAccessRow(Base):
    """Who besides the owner may see a restricted daemon: one row per allowed organisation or agent."""

    __tablename__ = "daemon_access"

    daemon_id: Mapped[str] = mapped_column(ForeignKey("daemons.id"), primary_key=True)
    # "organization" | "agent"
    principal_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    principal: Mapped[str] = mapped_column(String(63), primary_key=True)

    __table_args__ = (Index("ix_daemon_access_principal", "principal_kind", "principal"),)
