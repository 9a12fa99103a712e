"""Discovery: one search document per agent, skill and daemon, kept in step with the resource.

The text index is not a model: it is built by the migration per backend, and the model comparison
in tests/test_migrations.py (and Alembic autogenerate, through migrations/env.py) skips exactly the
objects named here.
- SQLite: the FTS5 table `search_fts` with external content `search_documents` (rowid = doc_id),
  kept in sync by triggers on search_documents, and the shadow tables FTS5 creates for it.
- PostgreSQL: the generated column `search_documents.search_vector` (weighted tsvector) and its GIN
  index, which also holds kind, category and pricing_model (btree_gin) for filtered searches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentos_server.infra.db import Base, BigIntPk

FTS_TABLE = "search_fts"
# FTS5 creates these beside an external-content table (no _content table).
FTS_SHADOW_TABLES = frozenset(f"{FTS_TABLE}_{suffix}" for suffix in ("data", "idx", "docsize", "config"))
TSVECTOR_COLUMN = "search_vector"
TSVECTOR_INDEX = "ix_search_documents_search_vector"


class SearchDocumentRow(Base):
    __tablename__ = "search_documents"

    # The FTS5 rowid on SQLite: an INTEGER PRIMARY KEY, assigned in insertion order, so a higher
    # doc_id is a more recently listed resource.
    doc_id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    # "agent" | "skill" | "daemon"
    kind: Mapped[str] = mapped_column(String(8))
    resource_id: Mapped[str] = mapped_column(String(63))
    owner_id: Mapped[str] = mapped_column(String(63))
    # Weighted text: title (display name) > tags > body (description; an agent's bio, traits, topics).
    title: Mapped[str] = mapped_column(String(100))
    tags_text: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # "" for agents, which have no category or price.
    category: Mapped[str] = mapped_column(String(16))
    pricing_model: Mapped[str] = mapped_column(String(16))
    price_asset: Mapped[str] = mapped_column(String(16))
    price_amount: Mapped[int] = mapped_column(BigInteger)
    rating: Mapped[float] = mapped_column(Float)
    # Purchases (skills, daemons) or completed sales (agents).
    popularity: Mapped[int] = mapped_column(BigInteger)
    # The publisher's reputation, and the relevance multiplier derived from it (domain/search).
    reputation: Mapped[float] = mapped_column(Float)
    boost: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]
    # Whether it appears in search: public, not deprecated, published by an active agent.
    listed: Mapped[bool]

    __table_args__ = (
        UniqueConstraint("kind", "resource_id"),
        Index("ix_search_documents_owner", "owner_id"),
        # One index per sort order, so a page without a text query is an index range scan.
        Index("ix_search_documents_popular", "listed", "popularity", "doc_id"),
        Index("ix_search_documents_newest", "listed", "created_at", "doc_id"),
        Index("ix_search_documents_rating", "listed", "rating", "doc_id"),
        Index("ix_search_documents_reputation", "listed", "reputation", "doc_id"),
    )


class SearchTagRow(Base):
    """The tags of a document, one row each, for the "has all of these tags" filter."""

    __tablename__ = "search_tags"

    tag: Mapped[str] = mapped_column(String(32), primary_key=True)
    doc_id: Mapped[int] = mapped_column(
        BigIntPk, ForeignKey("search_documents.doc_id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (Index("ix_search_tags_doc_id", "doc_id"),)


def include_in_schema_comparison(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic include_object hook: False only for the backend-specific text-index objects."""
    if type_ == "table" and name is not None and (name == FTS_TABLE or name in FTS_SHADOW_TABLES):
        return False
    if type_ == "column" and name == TSVECTOR_COLUMN and getattr(obj, "table", None) is not None:
        return bool(obj.table.name != SearchDocumentRow.__tablename__)
    return not (type_ == "index" and name == TSVECTOR_INDEX)
