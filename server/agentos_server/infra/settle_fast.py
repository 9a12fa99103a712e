"""A proxied call's settlement in one trip to the database: the skill proxy's hot path.

The general path (domain/proxy/service.py, `_settle`) is a SQLAlchemy transaction of seven to ten
statements: the idempotency claim, the licence unit or the ledger payment (budgets, each balance,
the transaction, its entries), the usage record. Through the async session each statement costs
about a millisecond of the server's time — on SQLite every cursor, execute, fetch and close crosses
to aiosqlite's thread and back. This module writes the same rows in one go:

- SQLite: BEGIN IMMEDIATE, the statements, COMMIT on a plain sqlite3 connection, about 0.3 ms of
  work. When the file's write lock is free it runs right on the event loop thread: the two thread
  hand-offs it would otherwise take cost about as much again (0.1 to 0.2 ms each on this kind of
  machine). When another writer holds the lock it goes to a thread of its own, which waits for the
  lock there, never on the loop. The loop's connection never checkpoints the WAL (a checkpoint
  writes and syncs the database file): it counts its commits with the database's WalCheckpointer
  (infra/sqlite_driver), as the writer engine's connection does, which runs passive checkpoints on
  a thread. SQLite serialises all of it with every other writer of the file.
- PostgreSQL: one autocommitted statement of chained CTEs, each step running only if the one before
  it produced a row (as infra/ledger_pg.py does for a plain payment), ending with a division by the
  number of usage records written, so that a step that found nothing to do fails the statement and
  PostgreSQL undoes all of it.

Either way the answer is True (everything was written) or False (nothing was): the key was used
before, a budget applies, an account does not exist yet, a balance would leave its bounds, the
licence has no unit left. The caller then runs the general path, which handles every case and says
precisely what went wrong. What succeeds here writes exactly the rows the general path writes
(tests/test_proxy_settle.py compares them).
"""

# ruff: noqa: S608  (statements are assembled from fixed text and placeholders only)

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from psycopg.types.json import Jsonb
from sqlalchemy import Table
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url

from agentos_server.infra.db import Database
from agentos_server.infra.pg_hot import (
    CLAIM_STEP,
    BalanceChange,
    Claim,
    EntryRow,
    HotConnections,
    balance_params,
    balance_steps,
    budget_params,
    claim_params,
    gate_step,
    no_budget_condition,
    transaction_params,
    transaction_steps,
)
from agentos_server.infra.sql import table_of
from agentos_server.infra.sqlite_driver import close_on_its_thread, leave_checkpoints_to_a_thread
from agentos_server.infra.tables.marketplace import LicenseRow
from agentos_server.infra.tables.payment import IdempotencyKeyRow, LedgerTransactionRow
from agentos_server.infra.tables.proxy import UsageRecordRow

_USAGE = table_of(UsageRecordRow)
_TRANSACTIONS = table_of(LedgerTransactionRow)
_CLAIMS = table_of(IdempotencyKeyRow)
_LICENSES = table_of(LicenseRow)
_EXHAUSTED = "exhausted"
_ACTIVE = "active"


@dataclass(frozen=True)
class FastSettlement:
    now: datetime
    # The ExecuteSkill idempotency key, when the call carried one.
    claim: Claim | None
    # Set for a payment: nothing is written when a budget of this agent and asset applies (agent-wide
    # or one of the scopes); the general path counts the charge against it.
    budget_agent: str | None
    budget_asset: str
    budget_scopes: tuple[str, ...]
    # The payment (domain/ledger.plan_payment), in lock order; empty when nothing is charged.
    changes: Sequence[BalanceChange]
    transaction: Mapping[str, Any] | None
    entries: Sequence[EntryRow]
    # The licence to take one prepaid unit or trial run from.
    license_unit: str | None
    # The usage_records row, created_at included.
    usage: Mapping[str, Any]


class FastSettler(Protocol):
    # Settlements written so far (for metrics and tests).
    written: int

    async def settle(self, write: FastSettlement) -> bool:
        """True when everything was written; False when nothing was."""
        ...

    async def close(self) -> None: ...


def fast_settler(db: Database) -> FastSettler:
    return SqliteSettler(db) if db.is_sqlite else PgSettler(db)


# --- SQLite -----------------------------------------------------------------------------------------


def _bind(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values as SQLAlchemy would bind them on SQLite (UTC text times, JSON text, 0/1)."""
    dialect = _SQLITE
    bound = {}
    for name, value in values.items():
        processor = table.c[name].type._cached_bind_processor(dialect)
        bound[name] = processor(value) if processor is not None else value
    return bound


_SQLITE = sqlite_dialect.dialect()


def _insert_sql(table: Table, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"


class SqliteSettler:
    def __init__(self, db: Database) -> None:
        self._path = make_url(db.url).database or ""
        # The settlement's thread when the write lock is taken: it waits there, not on the loop.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentos-settle")
        self._connection: sqlite3.Connection | None = None
        self._inline: sqlite3.Connection | None = None
        assert db.checkpointer is not None
        self._checkpointer = db.checkpointer
        self.written = 0
        # Settlements run on the loop, settlements that waited for the lock.
        self.inline = 0
        self.waited = 0

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._open(busy_timeout_ms=30_000)
        return self._connection

    def _connect_inline(self) -> sqlite3.Connection:
        if self._inline is None:
            connection = self._open(busy_timeout_ms=0)
            leave_checkpoints_to_a_thread(connection)
            self._inline = connection
        return self._inline

    def _open(self, *, busy_timeout_ms: int) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        return connection

    async def settle(self, write: FastSettlement) -> bool:
        cursor = self._connect_inline().cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as busy:
            if busy.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            self.waited += 1
            done = await asyncio.get_running_loop().run_in_executor(self._executor, self._settle, write)
        else:
            self.inline += 1
            done = self._finish(cursor, write)
            self._checkpointer.committed()
        self.written += done
        return done

    def _settle(self, write: FastSettlement) -> bool:
        cursor = self._connect().cursor()
        cursor.execute("BEGIN IMMEDIATE")
        return self._finish(cursor, write)

    def _finish(self, cursor: sqlite3.Cursor, write: FastSettlement) -> bool:
        """The statements and COMMIT, in the transaction `cursor` has begun; ROLLBACK unless all held."""
        now = _bind(_TRANSACTIONS, {"created_at": write.now})["created_at"]
        try:
            if not self._steps(cursor, write, now):
                cursor.execute("ROLLBACK")
                return False
            cursor.execute("COMMIT")
            return True
        except BaseException:
            cursor.execute("ROLLBACK")
            raise

    def _steps(self, cursor: sqlite3.Cursor, write: FastSettlement, now: str) -> bool:
        if write.claim is not None:
            claim = write.claim
            values = _bind(
                _CLAIMS,
                {
                    "caller": claim.caller,
                    "operation": claim.operation,
                    "key": claim.key,
                    "fingerprint": claim.fingerprint,
                    "result": claim.result,
                    "created_at": write.now,
                },
            )
            cursor.execute(_insert_sql(_CLAIMS, list(values)) + " ON CONFLICT DO NOTHING", values)
            if cursor.rowcount != 1:
                return False
        if write.budget_agent is not None:
            scopes = ("", *write.budget_scopes)
            marks = ", ".join("?" * len(scopes))
            found = cursor.execute(
                f"SELECT 1 FROM budgets WHERE agent_id = ? AND asset = ? AND scope IN ({marks}) LIMIT 1",
                (write.budget_agent, write.budget_asset, *scopes),
            ).fetchone()
            if found is not None:
                return False
        for change in write.changes:
            cursor.execute(
                "UPDATE ledger_accounts SET balance = balance + ?, updated_at = ? "
                "WHERE name = ? AND balance >= ? AND balance <= ?",
                (change.delta, now, change.account, change.low, change.high),
            )
            if cursor.rowcount != 1:
                return False
        if write.transaction is not None:
            values = _bind(_TRANSACTIONS, {**write.transaction, "reverses": None, "created_at": write.now})
            cursor.execute(_insert_sql(_TRANSACTIONS, list(values)), values)
            cursor.executemany(
                "INSERT INTO ledger_entries (transaction_id, account, agent_id, asset, amount) "
                "VALUES (?, ?, ?, ?, ?)",
                [(write.transaction["id"], e.account, e.agent_id, e.asset, e.amount) for e in write.entries],
            )
        if write.license_unit is not None:
            cursor.execute(
                "UPDATE licenses SET usage_count = usage_count + 1, "
                "state = CASE WHEN usage_count + 1 >= usage_limit THEN ? ELSE state END, "
                "ended_at = CASE WHEN usage_count + 1 >= usage_limit THEN ? ELSE ended_at END, "
                "updated_at = ? "
                "WHERE id = ? AND state = ? AND usage_limit IS NOT NULL AND usage_count < usage_limit "
                "AND (expires_at IS NULL OR expires_at > ?)",
                (_EXHAUSTED, now, now, write.license_unit, _ACTIVE, now),
            )
            if cursor.rowcount != 1:
                return False
        values = _bind(_USAGE, write.usage)
        cursor.execute(_insert_sql(_USAGE, list(values)), values)
        return True

    async def close(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        connection, self._connection = self._connection, None
        await close_on_its_thread(self._executor, connection)


# --- PostgreSQL -----------------------------------------------------------------------------------------


class PgSettler:
    def __init__(self, db: Database, size: int = 8) -> None:
        self._connections = HotConnections(db, size=size)
        self._sql: dict[tuple[bool, int, int, int, bool], str] = {}
        self.written = 0

    async def close(self) -> None:
        await self._connections.close()

    def _statement(self, claim: bool, scopes: int, changes: int, entries: int, unit: bool) -> str:
        shape = (claim, scopes, changes, entries, unit)
        cached = self._sql.get(shape)
        if cached is not None:
            return cached
        parts = [CLAIM_STEP] if claim else []
        gate = ["EXISTS (SELECT 1 FROM claim)"] if claim else []
        if scopes >= 0:
            gate.append(no_budget_condition(scopes))
        parts.append(gate_step(gate))
        previous = balance_steps(parts, changes, "go")
        if changes:
            transaction_steps(parts, entries, previous)
            previous = "tx"
        if unit:
            parts.append(
                "lic AS (UPDATE licenses SET usage_count = usage_count + 1, "
                "state = CASE WHEN usage_count + 1 >= usage_limit THEN %s ELSE state END, "
                "ended_at = CASE WHEN usage_count + 1 >= usage_limit THEN %s ELSE ended_at END, "
                "updated_at = %s WHERE id = %s AND state = %s AND usage_limit IS NOT NULL "
                "AND usage_count < usage_limit AND (expires_at IS NULL OR expires_at > %s) "
                f"AND EXISTS (SELECT 1 FROM {previous}) RETURNING 1)"
            )
            previous = "lic"
        columns = [c.name for c in _USAGE.columns]
        parts.append(
            f"ur AS (INSERT INTO usage_records ({', '.join(columns)}) "
            f"SELECT {', '.join(['%s'] * len(columns))} WHERE EXISTS (SELECT 1 FROM {previous}) RETURNING 1)"
        )
        sql = "WITH " + ",\n".join(parts) + "\nSELECT 1 / (SELECT count(*) FROM ur)"
        self._sql[shape] = sql
        return sql

    async def settle(self, write: FastSettlement) -> bool:
        now = write.now
        params: list[Any] = []
        claim = write.claim
        if claim is not None:
            params += claim_params(claim, now)
        if write.budget_agent is not None:
            params += budget_params(write.budget_agent, write.budget_asset, write.budget_scopes)
        params += balance_params(write.changes, now)
        if write.changes:
            assert write.transaction is not None
            params += transaction_params(write.transaction, write.entries, now)
        if write.license_unit is not None:
            params += [_EXHAUSTED, now, now, write.license_unit, _ACTIVE, now]
        for column in _USAGE.columns:
            value = write.usage[column.name]
            params.append(Jsonb(value) if column.name == "result" and value is not None else value)
        sql = self._statement(
            claim is not None,
            len(write.budget_scopes) if write.budget_agent is not None else -1,
            len(write.changes),
            len(write.entries),
            write.license_unit is not None,
        )
        if not await self._connections.run(sql, params):
            return False
        self.written += 1
        return True
