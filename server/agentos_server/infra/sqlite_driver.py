"""SQLAlchemy's aiosqlite dialect with one trip to the database thread per statement.

aiosqlite runs each sqlite3 call on a thread of its own, and SQLAlchemy's adapter makes four such
calls for every statement: open a cursor, execute, fetch the rows, close the cursor. Each is a
hand-over to that thread and a wake-up of the event loop back, and on a busy two-core machine the
four cost more than SQLite's own work for the small statements a request makes. The cursor here
does all four in one function on the same thread, and otherwise behaves as the stock adapter does
(same dialect, same SQL, same errors), so the rest of the server cannot tell the difference.

Registered as the driver `sqlite+agentos_aiosqlite`; infra/db.py selects it for every SQLite URL.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

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
            self._outcome = await_(self._run(_execute, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows = collections.deque(self._outcome[3])
        return None

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            self._outcome = await_(self._run(_execute_many, operation, seq_of_parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows.clear()
        return None

    def nextset(self) -> None:
        raise NotImplementedError("SQLite statements have a single result set")

    def setinputsizes(self, *inputsizes: Any) -> None:
        pass  # a no-op in sqlite3 as well

    async def _run(self, function: Any, operation: Any, parameters: Any) -> _Outcome:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await connection._execute(function, connection, operation, parameters)
            return outcome


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass; mypy compares constructors


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        connection = aiosqlite.connect(*arg, **kw)
        # As the stock adapter does: an abandoned connection must not keep the process alive.
        connection._thread.daemon = True
        return OneTripConnection(self, await_(connection))  # type: ignore[arg-type]


class OneTripDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True
    # Buffered cursors only: there is no server-side cursor to stream from.
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        return OneTripDBAPI(aiosqlite, sqlite3)


registry.register(f"sqlite.{DRIVER}", __name__, "OneTripDialect")
