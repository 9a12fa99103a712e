"""The one-trip SQLite driver (infra/sqlite_driver.py) answers as the stock aiosqlite adapter does.

Every SQLite test of the server runs on it; these pin down the cursor properties the ORM and Core
read after a statement, which a buffered cursor has to carry back from the database thread, and
how the writer works on the event loop: where its statements run, how it meets a write lock held
elsewhere, and who checkpoints the WAL.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

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


# --- the writer on the event loop -------------------------------------------------------------------


def _record_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The threads the driver's statements (other than BEGIN) and commits run on, from now on."""
    seen: list[int] = []
    run = sqlite_driver._execute

    def recording(connection: Any, operation: str, parameters: Any) -> Any:
        if not operation.startswith("BEGIN"):
            seen.append(threading.get_ident())
        return run(connection, operation, parameters)

    def committing(connection: Any, *arguments: Any) -> None:
        seen.append(threading.get_ident())
        commit(connection, *arguments)

    commit = sqlite_driver._commit
    monkeypatch.setattr(sqlite_driver, "_execute", recording)
    monkeypatch.setattr(sqlite_driver, "_commit", committing)
    return seen


def _on_notes(path: Path, scenario: Callable[[Database], Awaitable[None]]) -> None:
    """Runs `scenario` on a new database at `path` holding the notes table, then disposes of it."""

    async def run() -> None:
        db = Database(f"sqlite:///{path}")
        try:
            async with db.transaction() as session:
                await session.run_sync(lambda s: _METADATA.create_all(s.connection()))
            await scenario(db)
        finally:
            await db.dispose()

    asyncio.run(run())


async def _writer_pragma(db: Database, name: str) -> Any:
    """A PRAGMA's value on the writer's connection."""
    async with db.transaction() as session:
        raw = (await (await session.connection()).get_raw_connection()).dbapi_connection
        return raw._connection._conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_write_transactions_run_on_the_event_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(db: Database) -> None:
        seen = _record_threads(monkeypatch)
        async with db.transaction() as session:
            await session.execute(insert(_NOTES).values(title="inline"))
            assert (await session.execute(select(_NOTES.c.title))).scalars().all() == ["inline"]
        assert seen
        assert set(seen) == {threading.get_ident()}
        # Never a wait for the lock on the loop, never a checkpoint there.
        assert await _writer_pragma(db, "busy_timeout") == 0
        assert await _writer_pragma(db, "wal_autocheckpoint") == 0

    _on_notes(tmp_path / "inline.db", scenario)


def test_a_write_waits_for_a_held_write_lock_off_the_event_loop(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"

    async def scenario(db: Database) -> None:
        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            blocker.execute("BEGIN IMMEDIATE")

            async def write() -> None:
                async with db.transaction() as session:
                    await session.execute(insert(_NOTES).values(title="after the lock"))

            writing = asyncio.create_task(write())
            # The loop keeps running other work while the write waits for the lock on the thread:
            # a write waiting on the loop would hold these ticks up for its whole busy timeout.
            started = time.monotonic()
            for _ in range(20):
                await asyncio.sleep(0.01)
            assert time.monotonic() - started < 5
            assert not writing.done()
            blocker.execute("ROLLBACK")
            await asyncio.wait_for(writing, 10)
            async with db.snapshot() as session:
                titles = (await session.execute(select(_NOTES.c.title))).scalars().all()
            assert titles == ["after the lock"]
            # The connection is back to waiting for nothing on the loop.
            assert await _writer_pragma(db, "busy_timeout") == 0
        finally:
            if blocker.in_transaction:
                blocker.execute("ROLLBACK")
            blocker.close()

    _on_notes(path, scenario)


def test_commits_on_the_loop_leave_wal_checkpoints_to_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 3)
    threads: list[int] = []
    checkpoint = sqlite_driver.WalCheckpointer._checkpoint

    def recording(self: sqlite_driver.WalCheckpointer) -> None:
        threads.append(threading.get_ident())
        checkpoint(self)

    monkeypatch.setattr(sqlite_driver.WalCheckpointer, "_checkpoint", recording)

    async def scenario(db: Database) -> None:
        assert db.checkpointer is not None
        for n in range(7):
            async with db.transaction() as session:
                await session.execute(insert(_NOTES).values(title=f"note {n}"))
            # A checkpoint runs while the loop goes on; let it finish before the next is due.
            for _ in range(100):
                if db.checkpointer._running is None:
                    break
                await asyncio.sleep(0.01)
        assert db.checkpointer.checkpoints >= 2
        assert threads
        assert threading.get_ident() not in threads

    _on_notes(tmp_path / "checkpoints.db", scenario)


def test_an_offloaded_transaction_runs_its_statements_on_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(db: Database) -> None:
        seen = _record_threads(monkeypatch)
        async with db.offloaded_transaction() as session:
            await session.execute(insert(_NOTES).values(title="purged later"))
            await session.execute(_NOTES.delete())
        assert seen
        assert threading.get_ident() not in seen
        seen.clear()
        async with db.transaction() as session:
            await session.execute(insert(_NOTES).values(title="inline again"))
        assert set(seen) == {threading.get_ident()}
        async with db.snapshot() as session:
            titles = (await session.execute(select(_NOTES.c.title))).scalars().all()
        assert titles == ["inline again"]

    _on_notes(tmp_path / "offloaded.db", scenario)
