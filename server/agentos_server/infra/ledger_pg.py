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

from collections.abc import Sequence
from datetime import datetime
from typing import Any

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


class PgPoster:
    """Sends hot-path payments on connections of its own (infra/pg_hot.py)."""

    def __init__(self, db: Database, size: int = 8) -> None:
        self._connections = HotConnections(db, size=size)
        self._sql: dict[tuple[int, int, bool, int], str] = {}

    async def close(self) -> None:
        await self._connections.close()

    def _statement(self, changes: int, entries: int, with_claim: bool, scopes: int) -> str:
        """The statement for one shape of payment. Only CTE names and lists of placeholders are
        formatted into it; every value travels as a parameter."""
        shape = (changes, entries, with_claim, scopes)
        cached = self._sql.get(shape)
        if cached is not None:
            return cached
        parts = [CLAIM_STEP] if with_claim else []
        gate = ["EXISTS (SELECT 1 FROM claim)"] if with_claim else []
        if scopes >= 0:
            gate.append(no_budget_condition(scopes))
        parts.append(gate_step(gate))
        last = transaction_steps(parts, entries, balance_steps(parts, changes, "go"))
        sql = "WITH " + ",\n".join(parts) + f"\nSELECT 1 / (SELECT count(*) FROM {last})"
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
            params += claim_params(claim, now)
        if budget_agent is not None:
            params += budget_params(budget_agent, budget_asset, budget_scopes)
        params += balance_params(changes, now)
        params += transaction_params(transaction, entries, now)
        sql = self._statement(
            len(changes),
            len(entries),
            claim is not None,
            len(budget_scopes) if budget_agent is not None else -1,
        )
        return await self._connections.run(sql, params)
