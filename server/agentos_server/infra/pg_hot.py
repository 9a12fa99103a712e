"""What the PostgreSQL hot paths share (infra/ledger_pg.py, infra/marketplace_pg.py and
infra/settle_fast.py): a few autocommit connections of their own, and the steps of a payment as
chained CTEs.

Each hot path sends its whole write as one statement whose steps run only if the step before them
produced a row, and which ends by dividing by the row count of its last step: when any step finds
nothing to do, the division by zero fails the statement and PostgreSQL undoes all of it. `run`
reports that as False, and the caller then takes its general path, which does the same work step
by step and says precisely what happened.
"""

# ruff: noqa: S608  (the steps are assembled from fixed text, CTE names and placeholders only)

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy.engine import make_url

from agentos_server.infra.db import Database

# What makes a hot-path statement write nothing: a step that found nothing to do, or a deadlock
# (the general path then retries in a transaction of its own).
ABANDONED: tuple[type[Exception], ...] = (psycopg.errors.DivisionByZero, psycopg.errors.DeadlockDetected)


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


class HotConnections:
    """At most `size` autocommit connections, which skips the ORM session and pool bookkeeping the
    general path needs. `setup` statements run once on each new connection."""

    def __init__(self, db: Database, *, size: int = 8, setup: Sequence[str] = ()) -> None:
        self._url = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._setup = tuple(setup)
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection[Any]] = []

    async def run(
        self, sql: str, params: Sequence[Any], *, abandoned: tuple[type[Exception], ...] = ABANDONED
    ) -> bool:
        """True when the statement committed; False when it was undone for one of `abandoned`."""
        connection = await self._acquire()
        try:
            await connection.execute(sql, params)
        except abandoned:
            return False
        finally:
            await self._release(connection)
        return True

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def _acquire(self) -> psycopg.AsyncConnection[Any]:
        await self._slots.acquire()
        try:
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection
            connection = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            for statement in self._setup:
                await connection.execute(statement)
            return connection
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


# --- the steps of a payment -------------------------------------------------------------------------

CLAIM_STEP = (
    "claim AS (INSERT INTO idempotency_keys (caller, operation, key, fingerprint, result, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1)"
)


def claim_params(claim: Claim, now: datetime) -> list[Any]:
    return [claim.caller, claim.operation, claim.key, claim.fingerprint, claim.result, now]


def no_budget_condition(scopes: int) -> str:
    """True when no budget of the agent applies: its whole-wallet budget ("") and `scopes` more.
    Parameters: the agent, the asset, "", then each scope."""
    marks = ", ".join(["%s"] * (scopes + 1))
    return f"NOT EXISTS (SELECT 1 FROM budgets WHERE agent_id = %s AND asset = %s AND scope IN ({marks}))"


def budget_params(agent: str, asset: str, scopes: Sequence[str]) -> list[Any]:
    return [agent, asset, "", *scopes]


def balance_steps(parts: list[str], changes: int, previous: str) -> str:
    """Appends a step per balance change (a0, a1, ...), each after the one before it, so rows are
    locked in the order of the changes; returns the name of the last step."""
    for index in range(changes):
        parts.append(
            f"a{index} AS (UPDATE ledger_accounts SET balance = balance + %s::bigint, updated_at = %s "
            "WHERE name = %s AND balance >= %s::bigint AND balance <= %s::bigint "
            f"AND EXISTS (SELECT 1 FROM {previous}) RETURNING 1)"
        )
        previous = f"a{index}"
    return previous


def balance_params(changes: Sequence[BalanceChange], now: datetime) -> list[Any]:
    params: list[Any] = []
    for change in changes:
        params += [change.delta, now, change.account, change.low, change.high]
    return params


def transaction_steps(parts: list[str], entries: int, previous: str) -> str:
    """Appends the transaction (tx) and its entries (en) after `previous`; returns "en"."""
    values = ", ".join(["(%s, %s, %s, %s::bigint)"] * entries)
    parts += [
        "tx AS (INSERT INTO ledger_transactions "
        "(id, kind, initiator, memo, idempotency_key, reference, reverses, created_at) "
        f"SELECT %s, %s, %s, %s, %s, %s, NULL, %s WHERE EXISTS (SELECT 1 FROM {previous}) RETURNING 1)",
        "en AS (INSERT INTO ledger_entries (transaction_id, account, agent_id, asset, amount) "
        f"SELECT %s, v.account, v.agent_id, v.asset, v.amount FROM (VALUES {values}) "
        "AS v(account, agent_id, asset, amount) WHERE EXISTS (SELECT 1 FROM tx) RETURNING 1)",
    ]
    return "en"


def transaction_params(
    transaction: Mapping[str, Any], entries: Sequence[EntryRow], now: datetime
) -> list[Any]:
    params: list[Any] = [
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
    return params


def gate_step(conditions: Sequence[str]) -> str:
    """The step `go`, which produces its row only when every condition holds."""
    return "go AS (SELECT 1 AS one" + (" WHERE " + " AND ".join(conditions) if conditions else "") + ")"
