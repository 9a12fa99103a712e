"""The database behind every domain module: SQLAlchemy 2 async on SQLite or PostgreSQL.

SQLite (the embedded default) gets two engines: one writer connection, so that writes inside this
process queue up instead of failing with "database is locked", opening its transactions with
BEGIN IMMEDIATE so that a read-then-write transaction never deadlocks against another process; and
a small pool of readers that see consistent WAL snapshots. PostgreSQL gets one pooled engine via
psycopg 3. Domain code sees `transaction()` for work that writes and `snapshot()` for reads, and
`fast` (infra/fastread) for the few hot reads that bypass the session machinery.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from agentos_server.infra import sqlite_driver
from agentos_server.infra.fastread import FastReader


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")
# Surrogate integer keys: SQLite only auto-increments INTEGER PRIMARY KEY.
BigIntPk = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime, int: BigInteger, dict[str, Any]: JsonDocument}


def _install_sqlite_pragmas(
    engine: AsyncEngine, begin_statement: str, *, checkpointer: sqlite_driver.WalCheckpointer | None = None
) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself instead of the driver's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={sqlite_driver.LOCK_WAIT_MS}")
        cursor.close()
        if checkpointer is not None:
            dbapi_connection.run_inline(checkpointer)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin_statement)


class Database:
    def __init__(self, url: str, *, pool_size: int = 20, echo: bool = False) -> None:
        self.url = url
        self.backend = make_url(url).get_backend_name()
        # SQLite: the WAL checkpoints of the connections that write on the event loop.
        self.checkpointer: sqlite_driver.WalCheckpointer | None = None
        if self.backend == "sqlite":
            engine_url = make_url(url).set(drivername=f"sqlite+{sqlite_driver.DRIVER}")
            # The one writer connection runs its statements on the event loop (infra/sqlite_driver),
            # so sqlite3 must let it be used outside aiosqlite's thread.
            self._writer = create_async_engine(
                engine_url,
                pool_size=1,
                max_overflow=0,
                pool_timeout=120,
                echo=echo,
                connect_args={"check_same_thread": False},
            )
            self._reader = create_async_engine(engine_url, pool_size=4, max_overflow=4, echo=echo)
            self.checkpointer = sqlite_driver.WalCheckpointer(make_url(url).database or "")
            _install_sqlite_pragmas(self._writer, "BEGIN IMMEDIATE", checkpointer=self.checkpointer)
            _install_sqlite_pragmas(self._reader, "BEGIN")
        elif self.backend == "postgresql":
            self._writer = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size // 2, pool_timeout=60, echo=echo
            )
            self._reader = self._writer
        else:
            raise ValueError(f"unsupported database backend {self.backend!r}: use sqlite or postgresql")
        self._write_sessions = async_sessionmaker(self._writer, expire_on_commit=False, autoflush=False)
        self._read_sessions = async_sessionmaker(self._reader, expire_on_commit=False, autoflush=False)
        self.fast = FastReader(url, self._reader.dialect)

    @property
    def dialect(self) -> Dialect:
        return self._reader.dialect

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A read-write transaction: committed when the block ends, rolled back on any exception."""
        async with self._write_sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def offloaded_transaction(self) -> AsyncIterator[AsyncSession]:
        """A transaction whose statements may run long (a purge of many rows): on SQLite they run
        on the driver's thread rather than on the event loop. Elsewhere the same as transaction()."""
        if not self.is_sqlite:
            async with self.transaction() as session:
                yield session
            return
        async with self._write_sessions() as session:
            # Taking the connection begins the transaction; from there to COMMIT (which writes the
            # WAL frames of everything changed) nothing runs on the loop's thread.
            raw = (await (await session.connection()).get_raw_connection()).dbapi_connection
            with cast(sqlite_driver.OneTripConnection, raw).offloaded():
                try:
                    yield session
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read-only view. Closing the session ends its transaction without expiring the rows it
        loaded, so they stay readable after the block."""
        async with self._read_sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.fast.close()
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()
        if self.checkpointer is not None:
            await self.checkpointer.close()
