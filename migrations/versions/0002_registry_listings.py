"""Registry listings: skills and daemons (each with its versions), daemon access lists, and the
search index over agents, skills and daemons.

The full-text part of the search index differs per backend and is created here only:
- SQLite: an FTS5 table over search_documents (external content, rowid = doc_id) kept in sync by
  triggers, so every write to a document updates its text index in the same transaction;
- PostgreSQL: a stored generated tsvector column with a GIN index.
Agents that exist before this revision get their search documents here.

Revision ID: 0002_registry_listings
Revises: 0001_foundation
"""

from __future__ import annotations

import json
import math

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_registry_listings"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)
VERSION_KEY = sa.String(512)


def _skills() -> None:
    op.create_table(
        "skills",
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("owner_id", sa.String(63), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("version_key", VERSION_KEY, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("tags", JSON_DOC, nullable=False),
        sa.Column("pricing", JSON_DOC, nullable=False),
        sa.Column("code", JSON_DOC, nullable=False),
        sa.Column("openapi_spec", sa.Text(), nullable=False),
        sa.Column("endpoint", JSON_DOC, nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("review_count", sa.BigInteger(), nullable=False),
        sa.Column("purchase_count", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("deprecation_reason", sa.String(500), nullable=False),
        sa.Column("featured", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("version_time", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["agents.id"], name=op.f("fk_skills_owner_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint("owner_id", "name_key", name=op.f("uq_skills_owner_id_name_key")),
    )
    op.create_index("ix_skills_state_created", "skills", ["state", "created_at", "id"])
    op.create_index("ix_skills_owner_created", "skills", ["owner_id", "created_at", "id"])
    op.create_table(
        "skill_versions",
        sa.Column("skill_id", sa.String(63), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("version_key", VERSION_KEY, nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("tags", JSON_DOC, nullable=False),
        sa.Column("pricing", JSON_DOC, nullable=False),
        sa.Column("code", JSON_DOC, nullable=False),
        sa.Column("openapi_spec", sa.Text(), nullable=False),
        sa.Column("endpoint", JSON_DOC, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["skill_id"], ["skills.id"], name=op.f("fk_skill_versions_skill_id_skills")),
        sa.PrimaryKeyConstraint("skill_id", "version", name=op.f("pk_skill_versions")),
        sa.UniqueConstraint("skill_id", "version_key", name=op.f("uq_skill_versions_skill_id_version_key")),
    )


def _daemons() -> None:
    op.create_table(
        "daemons",
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("owner_id", sa.String(63), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("version_key", VERSION_KEY, nullable=False),
        sa.Column("definition_yaml", sa.Text(), nullable=False),
        sa.Column("spec", JSON_DOC, nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("tags", JSON_DOC, nullable=False),
        sa.Column("pricing", JSON_DOC, nullable=False),
        sa.Column("license", sa.String(64), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("allowed_organizations", JSON_DOC, nullable=False),
        sa.Column("allowed_agents", JSON_DOC, nullable=False),
        sa.Column("forked_from", sa.String(200), nullable=False),
        sa.Column("lineage", JSON_DOC, nullable=False),
        sa.Column("run_count", sa.BigInteger(), nullable=False),
        sa.Column("fork_count", sa.BigInteger(), nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("review_count", sa.BigInteger(), nullable=False),
        sa.Column("purchase_count", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("deprecation_reason", sa.String(500), nullable=False),
        sa.Column("featured", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("version_time", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["agents.id"], name=op.f("fk_daemons_owner_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daemons")),
    )
    op.create_index("ix_daemons_state_created", "daemons", ["state", "created_at", "id"])
    op.create_index("ix_daemons_owner_created", "daemons", ["owner_id", "created_at", "id"])
    op.create_table(
        "daemon_versions",
        sa.Column("daemon_id", sa.String(63), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("version_key", VERSION_KEY, nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("definition_yaml", sa.Text(), nullable=False),
        sa.Column("spec", JSON_DOC, nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("tags", JSON_DOC, nullable=False),
        sa.Column("pricing", JSON_DOC, nullable=False),
        sa.Column("license", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["daemon_id"], ["daemons.id"], name=op.f("fk_daemon_versions_daemon_id_daemons")
        ),
        sa.PrimaryKeyConstraint("daemon_id", "version", name=op.f("pk_daemon_versions")),
        sa.UniqueConstraint(
            "daemon_id", "version_key", name=op.f("uq_daemon_versions_daemon_id_version_key")
        ),
    )
    op.create_table(
        "daemon_access",
        sa.Column("daemon_id", sa.String(63), nullable=False),
        sa.Column("principal_kind", sa.String(16), nullable=False),
        sa.Column("principal", sa.String(63), nullable=False),
        sa.ForeignKeyConstraint(
            ["daemon_id"], ["daemons.id"], name=op.f("fk_daemon_access_daemon_id_daemons")
        ),
        sa.PrimaryKeyConstraint("daemon_id", "principal_kind", "principal", name=op.f("pk_daemon_access")),
    )
    op.create_index("ix_daemon_access_principal", "daemon_access", ["principal_kind", "principal"])


def _search() -> None:
    dialect = op.get_bind().dialect.name
    text_columns = []
    if dialect == "postgresql":
        # title is weight A, tags B, body C: ts_rank_cd weighs them 1.0, 0.5 and 0.1.
        text_columns.append(
            sa.Column(
                "search_vector",
                postgresql.TSVECTOR(),
                sa.Computed(
                    "setweight(to_tsvector('english', title), 'A') || "
                    "setweight(to_tsvector('english', tags_text), 'B') || "
                    "setweight(to_tsvector('english', body), 'C')",
                    persisted=True,
                ),
                nullable=True,
            )
        )
    op.create_table(
        "search_documents",
        sa.Column("doc_id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("resource_id", sa.String(63), nullable=False),
        sa.Column("owner_id", sa.String(63), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("tags_text", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("pricing_model", sa.String(16), nullable=False),
        sa.Column("price_asset", sa.String(16), nullable=False),
        sa.Column("price_amount", sa.BigInteger(), nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("popularity", sa.BigInteger(), nullable=False),
        sa.Column("reputation", sa.Float(), nullable=False),
        sa.Column("boost", sa.Float(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        *text_columns,
        sa.PrimaryKeyConstraint("doc_id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint("kind", "resource_id", name=op.f("uq_search_documents_kind_resource_id")),
    )
    op.create_index("ix_search_documents_owner", "search_documents", ["owner_id"])
    op.create_index("ix_search_documents_popular", "search_documents", ["listed", "popularity", "doc_id"])
    op.create_index("ix_search_documents_newest", "search_documents", ["listed", "created_at", "doc_id"])
    op.create_index("ix_search_documents_rating", "search_documents", ["listed", "rating", "doc_id"])
    op.create_index("ix_search_documents_reputation", "search_documents", ["listed", "reputation", "doc_id"])
    op.create_table(
        "search_tags",
        sa.Column("tag", sa.String(32), nullable=False),
        sa.Column("doc_id", BIG_PK, nullable=False),
        sa.ForeignKeyConstraint(
            ["doc_id"],
            ["search_documents.doc_id"],
            name=op.f("fk_search_tags_doc_id_search_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tag", "doc_id", name=op.f("pk_search_tags")),
    )
    op.create_index("ix_search_tags_doc_id", "search_tags", ["doc_id"])

    if dialect == "postgresql":
        # btree_gin (a trusted contrib extension) lets the text index also hold the filters most
        # searches add, so a word plus a category reads only the rows that pass both instead of
        # every row that has the word. The extension outlives a downgrade: others may use it.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.create_index(
            "ix_search_documents_search_vector",
            "search_documents",
            ["search_vector", "kind", "category", "pricing_model"],
            postgresql_using="gin",
        )
    elif dialect == "sqlite":
        # prefix='2 3' indexes 2- and 3-character prefixes, so type-ahead queries stay cheap.
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(title, tags_text, body, "
            "content='search_documents', content_rowid='doc_id', "
            "tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')"
        )
        op.execute(
            "CREATE TRIGGER search_documents_text_insert AFTER INSERT ON search_documents BEGIN "
            "INSERT INTO search_fts (rowid, title, tags_text, body) "
            "VALUES (new.doc_id, new.title, new.tags_text, new.body); END"
        )
        op.execute(
            "CREATE TRIGGER search_documents_text_delete AFTER DELETE ON search_documents BEGIN "
            "INSERT INTO search_fts (search_fts, rowid, title, tags_text, body) "
            "VALUES ('delete', old.doc_id, old.title, old.tags_text, old.body); END"
        )
        # Only a change of the text touches the text index; popularity, rating ... do not.
        op.execute(
            "CREATE TRIGGER search_documents_text_update AFTER UPDATE OF title, tags_text, body "
            "ON search_documents BEGIN "
            "INSERT INTO search_fts (search_fts, rowid, title, tags_text, body) "
            "VALUES ('delete', old.doc_id, old.title, old.tags_text, old.body); "
            "INSERT INTO search_fts (rowid, title, tags_text, body) "
            "VALUES (new.doc_id, new.title, new.tags_text, new.body); END"
        )
    else:
        raise NotImplementedError(f"no search index for the {dialect} database")
    _index_existing_agents()


def _index_existing_agents() -> None:
    """Search documents for the agents registered before this revision (the same fields
    domain/search.index_agent writes)."""
    bind = op.get_bind()
    agents = sa.table(
        "agents",
        sa.column("id"),
        sa.column("display_name"),
        sa.column("description"),
        sa.column("character", JSON_DOC),
        sa.column("reputation"),
        sa.column("total_sales"),
        sa.column("state"),
        sa.column("created_at"),
    )
    documents = sa.table(
        "search_documents",
        *(
            sa.column(name)
            for name in (
                "kind",
                "resource_id",
                "owner_id",
                "title",
                "tags_text",
                "body",
                "category",
                "pricing_model",
                "price_asset",
                "price_amount",
                "rating",
                "popularity",
                "reputation",
                "boost",
                "created_at",
                "listed",
            )
        ),
    )
    rows = []
    for agent in bind.execute(sa.select(agents).order_by(agents.c.created_at, agents.c.id)):
        character = (
            agent.character if isinstance(agent.character, dict) else json.loads(agent.character or "{}")
        )
        parts = [
            agent.description,
            character.get("bio", ""),
            *character.get("traits", []),
            *character.get("topics", []),
        ]
        reputation = float(agent.reputation)
        rows.append(
            {
                "kind": "agent",
                "resource_id": agent.id,
                "owner_id": agent.id,
                "title": agent.display_name,
                "tags_text": "",
                "body": "\n".join(p for p in parts if p),
                "category": "",
                "pricing_model": "",
                "price_asset": "",
                "price_amount": 0,
                "rating": 0.0,
                "popularity": agent.total_sales,
                "reputation": reputation,
                "boost": min(2.0, 1.0 + math.log1p(max(reputation, 0.0)) / 4.0),
                "created_at": agent.created_at,
                "listed": agent.state == "active",
            }
        )
    if rows:
        bind.execute(documents.insert(), rows)


def upgrade() -> None:
    _skills()
    _daemons()
    _search()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_tags")
    op.drop_table("search_documents")
    op.drop_table("daemon_access")
    op.drop_table("daemon_versions")
    op.drop_table("daemons")
    op.drop_table("skill_versions")
    op.drop_table("skills")
