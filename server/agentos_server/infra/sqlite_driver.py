"""SQLAlchemy's aiosqlite dialect with one trip to the database thread per statement.

aiosqlite runs each sqlite3 call on a thread of its own, and SQLAlchemy's adapter makes four such
calls for every statement: open a cursor, execute, fetch the rows, close the cursor. Each is a
hand-over to that thread and a wake-up of the event loop back, and on a busy two-core machine the
four cost more than SQLite's own work for the small statements a request makes. The cursor here
does all four in one function on the same thread, and otherwise behaves as the stock adapter does
(same dialect, same SQL, same errors), so the rest of the server cannot tell the difference.

Writers run on the event loop. The writer engine (infra/db.py) marks its one connection
`run_inline`: its statements, COMMIT and ROLLBACK then run right on the event loop's thread, with
no hand-over at all. A write transaction's statements are small indexed reads and writes of a few
microseconds each, and SQLite lets one writer at a time work anyway, so a hand-over in each
direction per statement (0.1 to 0.2 ms each on a busy two-core machine, more than the statement)
bought nothing but latency: a run's StartRun, claim and end make about forty. The connection
never waits for a lock on the loop: its busy timeout is zero, and a statement that finds the file's
write lock taken (BEGIN IMMEDIATE while another connection or process writes) goes to aiosqlite's
thread, which waits there with the usual timeout while the loop serves other calls. It never
checkpoints the WAL on the loop either (a checkpoint writes and syncs the database file):
SQLite's automatic checkpoint is off on it, and `WalCheckpointer` runs a passive one on a thread
of its own every `CHECKPOINT_EVERY` commits. A transaction that may run long statements (a purge of
many rows) is made with `offloaded()`, which sends its statements to the thread as before.

Registered as the driver `sqlite+agentos_aiosqlite`; infra/db.py selects it for every SQLite URL.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

DRIVER = "agentos_aiosqlite"
# The busy timeout of a statement that waits for the write lock on aiosqlite's thread.
LOCK_WAIT_MS = 30_000
# Commits on loop connections between two passive checkpoints of the WAL. A small write transaction
# adds a few pages to the WAL (about eight for a paid call's settlement), so this keeps the WAL far
# below SQLite's own threshold of 1,000 pages.
CHECKPOINT_EVERY = 50

log = logging.getLogger("agentos.db")

# (description, rowcount, lastrowid, rows) of a finished statement.
_Outcome = tuple[Any, int, int | None, list[Any]]


def _execute(connection: aiosqlite.Connection, operation: str, parameters: Any) -> _Outcome:
    # Runs on aiosqlite's thread, the only one that touches the sqlite3 connection.
    cursor = connection._conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _execute_many(connection: aiosqlite.Connection, operation: str, parameters: Sequence[Any]) -> _Outcome:
    cursor = connection._conn.cursor()
    try:
        cursor.executemany(operation, parameters)
        return None, cursor.rowcount, cursor.lastrowid, []
    finally:
        cursor.close()


def _is_busy(error: BaseException) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return (
        isinstance(error, sqlite3.OperationalError)
        and code is not None
        and code & 0xFF == sqlite3.SQLITE_BUSY
    )


def _waiting_for_the_lock(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, run with the usual busy timeout on a connection whose own is zero."""

    def run(connection: aiosqlite.Connection, *arguments: Any) -> Any:
        raw = connection._conn
        raw.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
        try:
            return function(connection, *arguments)
        finally:
            raw.execute("PRAGMA busy_timeout=0")

    return run


class _Ready(Awaitable[None]):
    """An awaitable that is done at once. SQLAlchemy's async layer refuses a statement that never
    awaited anything ("AwaitRequired"); a statement run inline awaits this instead, which costs two
    greenlet switches and no trip through the event loop."""

    def __await__(self) -> Generator[Any, Any, None]:
        yield from ()


_READY = _Ready()


def _commit(connection: aiosqlite.Connection, *_: Any) -> None:
    connection._conn.commit()


class WalCheckpointer:
    """Passive WAL checkpoints of one database file, on a thread and connection of their own, every
    CHECKPOINT_EVERY commits made on connections that leave checkpointing to it (this module's
    writer, infra/settle_fast's loop connection). One per Database; closed with it."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentos-checkpoint")
        self._connection: sqlite3.Connection | None = None
        self._since = 0
        self._running: asyncio.Future[None] | None = None
        self.checkpoints = 0

    def committed(self) -> None:
        """Counts a commit; starts a checkpoint when one is due and none is running. Called on the
        event loop's thread."""
        self._since += 1
        if self._since < CHECKPOINT_EVERY or self._running is not None:
            return
        self._since = 0
        self._running = asyncio.get_running_loop().run_in_executor(self._executor, self._checkpoint)
        self._running.add_done_callback(self._finished)

    def _checkpoint(self) -> None:
        if self._connection is None:
            self._connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._connection.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.checkpoints += 1

    def _finished(self, future: asyncio.Future[None]) -> None:
        self._running = None
        if not future.cancelled() and future.exception() is not None:
            # Nothing is lost: the next checkpoint copies the same pages.
            log.warning("WAL checkpoint of %s failed: %s", self._path, future.exception())

    async def close(self) -> None:
        if self._running is not None:
            await asyncio.wait([self._running])
        connection, self._connection = self._connection, None
        await close_on_its_thread(self._executor, connection)


async def close_on_its_thread(executor: ThreadPoolExecutor, connection: sqlite3.Connection | None) -> None:
    """Closes a connection on the single thread of `executor` that used it, then stops the thread."""
    if connection is not None:
        await asyncio.get_running_loop().run_in_executor(executor, connection.close)
    executor.shutdown(wait=True)


def leave_checkpoints_to_a_thread(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA wal_autocheckpoint=0")


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement, rows and close travel to the database thread together."""

    __slots__ = ("_outcome",)

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No driver cursor is opened here: each execute opens and closes its own on the thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome: _Outcome = (None, -1, None, [])

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[1]

    @property
    def lastrowid(self) -> Any:
        return self._outcome[2]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass  # every row is fetched with the statement

    async def _async_soft_close(self) -> None:
        return None  # nothing is open between statements

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            self._outcome = cast(OneTripConnection, self._adapt_connection).call(
                _execute, operation, parameters
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows = collections.deque(self._outcome[3])
        return None

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            self._outcome = cast(OneTripConnection, self._adapt_connection).call(
                _execute_many, operation, seq_of_parameters
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows.clear()
        return None

    def nextset(self) -> None:
        raise NotImplementedError("SQLite statements have a single result set")

    def setinputsizes(self, *inputsizes: Any) -> None:
        pass  # a no-op in sqlite3 as well


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("checkpointer", "offload_depth")
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass; mypy compares constructors

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:
        super().__init__(dbapi, connection)  # type: ignore[arg-type]
        # Set by run_inline(): statements then run on the loop's thread, and commits are counted.
        self.checkpointer: WalCheckpointer | None = None
        # Above zero inside offloaded(): statements go to the thread even on an inline connection.
        self.offload_depth = 0

    def run_inline(self, checkpointer: WalCheckpointer) -> None:
        """From now on statements run on the caller's thread; the connection's busy timeout
        becomes zero and its WAL checkpoints are left to `checkpointer`."""
        raw = self._connection._conn
        raw.execute("PRAGMA busy_timeout=0")
        leave_checkpoints_to_a_thread(raw)
        self.checkpointer = checkpointer

    def call(self, function: Callable[..., Any], *arguments: Any) -> Any:
        """`function(aiosqlite connection, *arguments)` with the sqlite3 connection to itself:
        inline when allowed and the write lock does not have to be waited for, else on aiosqlite's
        thread."""
        if self.checkpointer is not None and not self.offload_depth:
            try:
                outcome = function(self._connection, *arguments)
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
            else:
                await_(_READY)
                return outcome
            return await_(self._on_thread(_waiting_for_the_lock(function), arguments))
        return await_(self._on_thread(function, arguments))

    async def _on_thread(self, function: Callable[..., Any], arguments: Sequence[Any]) -> Any:
        async with self._execute_mutex:
            return await self._connection._execute(function, self._connection, *arguments)

    def commit(self) -> None:
        if self.checkpointer is None or not self._connection._connection:
            super().commit()
            return
        try:
            self.call(_commit)
        except Exception as error:
            self._handle_exception(error)
        self.checkpointer.committed()

    def rollback(self) -> None:
        if self.checkpointer is None or self.offload_depth or not self._connection._connection:
            super().rollback()
            return
        try:
            self._connection._conn.rollback()
        except Exception as error:
            self._handle_exception(error)
        await_(_READY)

    @contextlib.contextmanager
    def offloaded(self) -> Iterator[None]:
        self.offload_depth += 1
        try:
            yield
        finally:
            self.offload_depth -= 1


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        connection = aiosqlite.connect(*arg, **kw)
        # As the stock adapter does: an abandoned connection must not keep the process alive.
        connection._thread.daemon = True
        return OneTripConnection(self, await_(connection))


class OneTripDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True
    # Buffered cursors only: there is no server-side cursor to stream from.
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        return OneTripDBAPI(aiosqlite, sqlite3)


registry.register(f"sqlite.{DRIVER}", __name__, "OneTripDialect")
