"""The one-trip SQLite driver (infra/sqlite_driver.py) answers as the stock aiosqlite adapter does.

Every SQLite test of the server runs on it; these pin down the cursor properties the ORM and Core
read after a statement, which a buffered cursor has to carry back from the database thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from agentos_server.infra import sqlite_driver
from agentos_server.infra.db import Database

_METADATA = MetaData()
_NOTES = Table(
    "notes",
    _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(20), nullable=False, unique=True),
)


async def _exercise(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert db.dialect.driver == sqlite_driver.DRIVER
        async with db.transaction() as session:
            await session.run_sync(lambda s: _METADATA.create_all(s.connection()))
            first = await session.execute(insert(_NOTES).values(title="first"))
            assert first.inserted_primary_key == (1,)
            # executemany: several parameter sets, no rows back.
            await session.execute(insert(_NOTES), [{"title": "second"}, {"title": "third"}])
            changed = await session.execute(
                update(_NOTES).where(_NOTES.c.id > 1).values(title=_NOTES.c.title + "!")
            )
            assert changed.rowcount == 2
            returned = await session.execute(
                update(_NOTES)
                .where(_NOTES.c.id == 1)
                .values(title="one")
                .returning(_NOTES.c.id, _NOTES.c.title)
            )
            assert returned.all() == [(1, "one")]

        async with db.snapshot() as session:
            rows = (await session.execute(select(_NOTES.c.title).order_by(_NOTES.c.id))).scalars().all()
            assert rows == ["one", "second!", "third!"]
            # Rows are fetched with the statement, and handed out in pieces as asked.
            result = await session.execute(select(_NOTES.c.id).order_by(_NOTES.c.id))
            assert result.fetchmany(2) == [(1,), (2,)]
            assert result.fetchall() == [(3,)]

        # The driver's errors reach the caller as SQLAlchemy's, and the transaction is undone.
        async def insert_a_duplicate() -> None:
            async with db.transaction() as session:
                await session.execute(insert(_NOTES).values(title="fourth"))
                await session.execute(insert(_NOTES).values(title="one"))

        with pytest.raises(IntegrityError):
            await insert_a_duplicate()
        with pytest.raises(OperationalError):
            async with db.snapshot() as session:
                await session.execute(text("SELECT nothing FROM nowhere"))
        async with db.snapshot() as session:
            count = (await session.execute(text("SELECT count(*) FROM notes"))).scalar_one()
            assert count == 3
    finally:
        await db.dispose()


def test_the_one_trip_cursor_carries_what_the_orm_reads(tmp_path: Path) -> None:
    asyncio.run(_exercise(tmp_path / "driver.db"))
