"""Every table of the schema. Importing this package registers them all on Base.metadata, which
Alembic compares against the migrations."""

from agentos_server.infra.tables import (
    core,
    execution,
    listings,
    marketplace,
    payment,
    proxy,
    registry,
    search,
)

__all__ = ["core", "execution", "listings", "marketplace", "payment", "proxy", "registry", "search"]
