"""A payment in one statement and one round trip on PostgreSQL: the ledger's hot path.

The general path (domain/ledger.py) runs each step as its own statement inside a transaction:
claim the idempotency key, look for budgets, update each balance in ascending account order,
insert the transaction and its entries, commit: eight round trips and as many passes through
SQLAlchemy. This module sends the same steps as one autocommitted statement of chained CTEs:

    WITH claim AS (INSERT INTO idempotency_keys ... ON CONFLICT DO NOTHING RETURNING 1),
         go   AS (SELECT 1 WHERE EXISTS (SELECT 1 FROM claim) AND NOT EXISTS (budgets that apply)),
         a1   AS (UPDATE ledger_accounts SET balance = balance + :d1 ... WHERE name = :n1
                  AND balance BETWEEN :low1 AND :high1 AND EXISTS (SELECT 1 FROM go) RETURNING 1),
         a2   AS (UPDATE ... WHERE name = :n2 ... AND EXISTS (SELECT 1 FROM a1) RETURNING 1),
         tx   AS (INSERT INTO ledger_transactions SELECT ... WHERE EXISTS (SELECT 1 FROM a2) RETURNING 1),
         en   AS (INSERT INTO ledger_entries SELECT ... WHERE EXISTS (SELECT 1 FROM tx) RETURNING 1)
    SELECT 1 / (SELECT count(*) FROM en)

Each step runs only if the one before it produced a row: the EXISTS becomes a one-time filter that
PostgreSQL evaluates (running the earlier CTE) before it scans for the next account, so the rows
are locked in the same ascending order as on the general path. The bounds are the general path's
bounds. If any step finds nothing to do (the key was used before, a budget applies, a balance
would leave its bounds, an account does not exist yet) no entry is written, the final division by
zero fails the statement, and PostgreSQL undoes all of it. The caller then runs the general path,
which does the same work step by step and says precisely what happened. Success here writes exactly
the rows the general path would have written.
"""

# ruff: noqa: S608  (the statement is assembled from fixed text, CTE names and placeholders only)

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy.engine import make_url

from agentos_server.infra.db import Database


@dataclass(frozen=True)
class Claim:
    caller: str
    operation: str
    key: str
    fingerprint: str
    result: str


@dataclass(frozen=True)
class BalanceChange:
    account: str
    delta: int
    low: int
    high: int


@dataclass(frozen=True)
class EntryRow:
    account: str
    agent_id: str | None
    asset: str
    amount: int


class PgPoster:
    """Sends hot-path payments on a few autocommit connections of its own (at most `size`), which
    skips the ORM session and pool bookkeeping the general path needs."""

    def __init__(self, db: Database, size: int = 8) -> None:
        self._url = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._sql: dict[tuple[int, int, bool, int], str] = {}

    async def _acquire(self) -> psycopg.AsyncConnection[Any]:
        await self._slots.acquire()
        try:
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection
            return await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        except BaseException:
            self._slots.release()
            raise

    async def _release(self, connection: psycopg.AsyncConnection[Any]) -> None:
        try:
            if connection.closed or connection.info.transaction_status != TransactionStatus.IDLE:
                await connection.close()
            else:
                self._idle.append(connection)
        finally:
            self._slots.release()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    def _statement(self, changes: int, entries: int, with_claim: bool, scopes: int) -> str:
        """The statement for one shape of payment. Only CTE names and lists of placeholders are
        formatted into it; every value travels as a parameter."""
        shape = (changes, entries, with_claim, scopes)
        cached = self._sql.get(shape)
        if cached is not None:
            return cached
        parts = []
        gate = []
        if with_claim:
            parts.append(
                "claim AS (INSERT INTO idempotency_keys "
                "(caller, operation, key, fingerprint, result, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1)"
            )
            gate.append("EXISTS (SELECT 1 FROM claim)")
        if scopes >= 0:
            in_scopes = ", ".join(["%s"] * (scopes + 1))
            gate.append(
                "NOT EXISTS (SELECT 1 FROM budgets WHERE agent_id = %s AND asset = %s "
                f"AND scope IN ({in_scopes}))"
            )
        parts.append("go AS (SELECT 1 AS one" + (" WHERE " + " AND ".join(gate) if gate else "") + ")")
        previous = "go"
        for index in range(changes):
            parts.append(
                f"a{index} AS (UPDATE ledger_accounts SET balance = balance + %s::bigint, updated_at = %s "
                "WHERE name = %s AND balance >= %s::bigint AND balance <= %s::bigint "
                f"AND EXISTS (SELECT 1 FROM {previous}) RETURNING 1)"
            )
            previous = f"a{index}"
        parts.append(
            "tx AS (INSERT INTO ledger_transactions "
            "(id, kind, initiator, memo, idempotency_key, reference, reverses, created_at) "
            f"SELECT %s, %s, %s, %s, %s, %s, NULL, %s WHERE EXISTS (SELECT 1 FROM {previous}) RETURNING 1)"
        )
        values = ", ".join(["(%s, %s, %s, %s::bigint)"] * entries)
        parts.append(
            "en AS (INSERT INTO ledger_entries (transaction_id, account, agent_id, asset, amount) "
            f"SELECT %s, v.account, v.agent_id, v.asset, v.amount FROM (VALUES {values}) "
            "AS v(account, agent_id, asset, amount) WHERE EXISTS (SELECT 1 FROM tx) RETURNING 1)"
        )
        sql = "WITH " + ",\n".join(parts) + "\nSELECT 1 / (SELECT count(*) FROM en)"
        self._sql[shape] = sql
        return sql

    async def post(
        self,
        *,
        claim: Claim | None,
        budget_agent: str | None,
        budget_asset: str,
        budget_scopes: Sequence[str],
        changes: Sequence[BalanceChange],
        transaction: dict[str, Any],
        entries: Sequence[EntryRow],
        now: datetime,
    ) -> bool:
        """True when the whole payment was committed; False when nothing was written and the
        general path must run (see the module docstring)."""
        params: list[Any] = []
        if claim is not None:
            params += [claim.caller, claim.operation, claim.key, claim.fingerprint, claim.result, now]
        if budget_agent is not None:
            params += [budget_agent, budget_asset, "", *budget_scopes]
        for change in changes:
            params += [change.delta, now, change.account, change.low, change.high]
        params += [
            transaction["id"],
            transaction["kind"],
            transaction["initiator"],
            transaction["memo"],
            transaction["idempotency_key"],
            transaction["reference"],
            now,
            transaction["id"],
        ]
        for entry in entries:
            params += [entry.account, entry.agent_id, entry.asset, entry.amount]
        sql = self._statement(
            len(changes),
            len(entries),
            claim is not None,
            len(budget_scopes) if budget_agent is not None else -1,
        )
        connection = await self._acquire()
        try:
            await connection.execute(sql, params)
        except (psycopg.errors.DivisionByZero, psycopg.errors.DeadlockDetected):
            return False
        finally:
            await self._release(connection)
        return True
