"""The Alembic history builds exactly the schema the models describe, on this backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

import agentos_server.infra.tables  # noqa: F401
from agentos_server.infra import migrate
from agentos_server.infra.db import Base
from agentos_server.infra.tables.search import include_in_schema_comparison

from testkit import provision_backend


def test_migrations_match_models() -> None:
    backend = provision_backend()
    try:
        engine = create_engine(migrate.sync_url(backend.database_url))
        with engine.connect() as connection:
            # Only the full-text objects (SQLite FTS5 table and its shadow tables, the PostgreSQL
            # tsvector column and its GIN index) are skipped: they exist per backend, outside the models.
            context = MigrationContext.configure(
                connection, opts={"compare_type": False, "include_object": include_in_schema_comparison}
            )
            differences = compare_metadata(context, Base.metadata)
        engine.dispose()
        assert differences == [], f"models and migrations differ: {differences}"
        assert migrate.current_revision(backend.database_url) == migrate.head_revision()
    finally:
        backend.close()
