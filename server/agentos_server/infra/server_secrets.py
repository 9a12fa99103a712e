"""Secrets every replica shares, kept in the database and created by whichever replica starts first."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError

from agentos_server.domain.clock import Clock
from agentos_server.infra.db import Database
from agentos_server.infra.tables.core import ServerSecretRow


async def shared_secret(db: Database, name: str, clock: Clock, size: int = 32) -> bytes:
    async with db.snapshot() as session:
        row = await session.get(ServerSecretRow, name)
        if row is not None:
            return row.value
    try:
        async with db.transaction() as session:
            session.add(ServerSecretRow(name=name, value=secrets.token_bytes(size), created_at=clock.now()))
    except IntegrityError:
        pass  # another replica created it first; use theirs
    async with db.snapshot() as session:
        row = await session.get(ServerSecretRow, name)
        assert row is not None
        return row.value
