"""Hot reads straight on the database driver: GetSkill, GetDaemon and search.

SQLAlchemy's async session costs 0.6 to 0.8 ms of CPU for a primary-key read (session, greenlet,
statement cache key, result machinery, and on SQLite aiosqlite's thread hand-offs: cursor, execute,
fetch, close, BEGIN and ROLLBACK each cross threads and the GIL). The same read on the driver costs
15 us on SQLite and about 150 us on PostgreSQL. So the read paths that must be fast use this
module with plain SQL, and everything that writes keeps using sessions and transactions.

- SQLite: autocommit sqlite3 connections marked query_only. `inline=True` runs on the event loop
  thread, for statements that take microseconds (a row by primary key in the page cache): handing
  them to a thread would cost more than running them. Longer statements run on one of two worker
  threads, each with a connection of its own, where SQLite's C code works while the loop serves
  other calls. Each connection keeps a 64 MiB page cache, so that the search index and the rows it
  points at stay in memory instead of being read back for every query.
  In WAL mode every statement sees the last committed state, so a reader always sees a write that
  has returned.
- PostgreSQL: a small pool of psycopg connections in autocommit mode: one round trip per
  statement, and psycopg prepares a statement on the server after a few executions.

SQL is written with :name parameters; they are rewritten to psycopg's %(name)s for PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import psycopg
from sqlalchemy import JSON, Table
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, configure_mappers
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.types import TypeDecorator, TypeEngine

M = TypeVar("M", bound=DeclarativeBase)

_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")
_PG_POOL_SIZE = 10
_SQLITE_THREADS = 2
_SQLITE_CACHE_KIB = 64 * 1024
_SQLITE_MMAP_BYTES = 4 * 1024**3


def _pyformat(sql: str) -> str:
    return _PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))


class FastReader:
    def __init__(self, url: str, dialect: Dialect) -> None:
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        self.dialect = dialect
        self._sqlite_path = parsed.database or ""
        self._pg_conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._inline: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self._pg_idle: list[psycopg.AsyncConnection[Any]] = []
        self._pg_count = 0
        self._pg_released: asyncio.Condition | None = None
        self._pg_sql: dict[str, str] = {}

    # --- SQLite -------------------------------------------------------------------------------

    def _sqlite_connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._sqlite_path, isolation_level=None, check_same_thread=False, cached_statements=512
        )
        connection.execute("PRAGMA query_only=ON")
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        connection.execute("PRAGMA temp_store=MEMORY")
        # Pages are read through a shared memory map rather than copied in with a system call
        # each: the map is shared by every connection (and process) on the file.
        connection.execute(f"PRAGMA mmap_size={_SQLITE_MMAP_BYTES}")
        with self._opened_lock:
            self._opened.append(connection)
        return connection

    def _sqlite_run(self, connection: sqlite3.Connection, sql: str, params: Mapping[str, Any]) -> list[Any]:
        return connection.execute(sql, params).fetchall()

    def _sqlite_threaded(self, sql: str, params: Mapping[str, Any]) -> list[Any]:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._sqlite_connect()
        return self._sqlite_run(connection, sql, params)

    # --- PostgreSQL ---------------------------------------------------------------------------

    async def _pg_acquire(self) -> psycopg.AsyncConnection[Any]:
        if self._pg_released is None:
            self._pg_released = asyncio.Condition()
        async with self._pg_released:
            while not self._pg_idle and self._pg_count >= _PG_POOL_SIZE:
                await self._pg_released.wait()
            if self._pg_idle:
                return self._pg_idle.pop()
            self._pg_count += 1
        try:
            return await psycopg.AsyncConnection.connect(self._pg_conninfo, autocommit=True)
        except BaseException:
            async with self._pg_released:
                self._pg_count -= 1
                self._pg_released.notify()
            raise

    async def _pg_release(self, connection: psycopg.AsyncConnection[Any], *, broken: bool) -> None:
        assert self._pg_released is not None
        async with self._pg_released:
            if broken or connection.closed:
                self._pg_count -= 1
                with contextlib.suppress(Exception):
                    await connection.close()
            else:
                self._pg_idle.append(connection)
            self._pg_released.notify()

    async def _pg_fetch(self, sql: str, params: Mapping[str, Any]) -> list[Any]:
        statement = self._pg_sql.get(sql)
        if statement is None:
            statement = self._pg_sql[sql] = _pyformat(sql)
        # A connection the server dropped (restart, idle timeout) fails once; the retry gets a new one.
        for attempt in (1, 2):
            connection = await self._pg_acquire()
            try:
                cursor = await connection.execute(statement, params)
                rows = await cursor.fetchall()
            except psycopg.OperationalError:
                await self._pg_release(connection, broken=True)
                if attempt == 2:
                    raise
                continue
            except BaseException:
                await self._pg_release(connection, broken=connection.broken)
                raise
            await self._pg_release(connection, broken=False)
            return list(rows)
        raise AssertionError("unreachable")

    # --- both ---------------------------------------------------------------------------------

    async def fetch(self, sql: str, params: Mapping[str, Any], *, inline: bool = False) -> list[Any]:
        """All rows of one read-only statement, as tuples of driver values."""
        if self.backend == "sqlite":
            if inline:
                if self._inline is None:
                    self._inline = self._sqlite_connect()
                return self._sqlite_run(self._inline, sql, params)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(_SQLITE_THREADS, thread_name_prefix="agentos-sqlite-read")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._sqlite_threaded, sql, params)
        return await self._pg_fetch(sql, params)

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._inline = None
        self._local = threading.local()
        idle, self._pg_idle = self._pg_idle, []
        for pg in idle:
            await pg.close()
        self._pg_count = 0


def _json_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _decorator_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    if not isinstance(type_, TypeDecorator):
        return None
    decorator = type_

    def process(value: Any) -> Any:
        return decorator.process_result_value(value, dialect)

    return process


class RowBuilder(Generic[M]):
    """Turns driver tuples of a table's columns into detached model instances, decoding each value
    with the column type's own result processor (JSON text, SQLite timestamps, booleans).

    The same row read again (every column equal, compared on the raw driver values) gives back the
    same instance, from a bounded LRU: hot listings are decoded once, and callers may memoise what
    they derive from an instance. Instances are shared, so they are read-only to everyone.
    """

    def __init__(self, model: type[M], dialect: Dialect, alias: str = "", cache_rows: int = 10_000) -> None:
        configure_mappers()
        table = model.__table__
        assert isinstance(table, Table)
        self.names = tuple(c.name for c in table.columns)
        prefix = f"{alias}." if alias else ""
        postgres = dialect.name == "postgresql"
        selected = []
        self._processors: list[tuple[int, Callable[[Any], Any]]] = []
        for index, column in enumerate(table.columns):
            processor: Callable[[Any], Any] | None
            if postgres and isinstance(column.type.dialect_impl(dialect), JSON):
                # JSON comes back as text, so that raw rows stay hashable for the cache.
                selected.append(f"CAST({prefix}{column.name} AS text) AS {column.name}")
                processor = _json_or_none
            elif postgres:
                # psycopg already returns Python values of the right type (timestamptz aware,
                # booleans, floats); only our own type decorators have work left to do.
                selected.append(prefix + column.name)
                processor = _decorator_processor(column.type, dialect)
            else:
                selected.append(prefix + column.name)
                processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if processor is not None:
                self._processors.append((index, processor))
        # The select list for this table, in the order build() expects.
        self.columns_sql = ", ".join(selected)
        self._manager = manager_of_class(model)
        self._cache: OrderedDict[tuple[Any, ...], M] = OrderedDict()
        self._cache_rows = cache_rows

    def select(self, rest: str) -> str:
        """ "SELECT <this table's columns> <rest>"; the column names come from the table model."""
        return f"SELECT {self.columns_sql} {rest}"

    def build(self, raw: Sequence[Any], offset: int = 0) -> M:
        key = tuple(raw[offset : offset + len(self.names)])
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        values = list(key)
        for index, processor in self._processors:
            values[index] = processor(values[index])
        # What the ORM itself does when it loads a row, minus the session: an instrumented instance
        # whose attributes are filled in directly (a constructor call costs 25 times more).
        instance: M = self._manager.new_instance()
        instance.__dict__.update(zip(self.names, values, strict=True))
        self._cache[key] = instance
        if len(self._cache) > self._cache_rows:
            self._cache.popitem(last=False)
        return instance
