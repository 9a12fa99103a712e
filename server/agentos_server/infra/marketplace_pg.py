"""A paid purchase in one statement and one round trip on PostgreSQL: the Marketplace's hot path.

The general path (domain/purchases.py) runs a purchase as some fifteen statements in one
transaction. Every paid purchase updates the platform fee account, one row that every purchase
shares, and holds its lock until commit: with the statements after that update each waiting for
its turn on a busy event loop, the lock is held for milliseconds and purchases queue behind it.
Here the same writes are one autocommitted statement of chained CTEs, so locks are held for the
time PostgreSQL needs to run it and no longer:

    claim    INSERT INTO idempotency_keys ... ON CONFLICT DO NOTHING
    lic      INSERT INTO licenses ... ON CONFLICT DO NOTHING      (exclusive licences)
    pur      INSERT INTO purchases ...
    tx, en   INSERT the ledger transaction and its entries
    listing  UPDATE skills|daemons SET purchase_count + 1 WHERE id, version, active, seller active
    rep      INSERT INTO reputations ... ON CONFLICT DO UPDATE transaction_count + 1 RETURNING score
    ag       UPDATE agents SET reputation, total_sales
    docs     UPDATE search_documents SET reputation, boost, popularity WHERE owner_id = seller
    go       no budget applies to the buyer
    a0..aN   UPDATE ledger_accounts ... within bounds, in ascending name order
    SELECT 1 / (SELECT count(*) FROM aN)

As in infra/ledger_pg.py, each step names the one before it (FROM or EXISTS), which makes
PostgreSQL run them in this order, taking row locks in the order the general path takes them
(listing, reputation, agent, search documents, accounts), and makes each step write nothing unless
the one before it did. The rows nobody else touches are written first and the shared ones last:
the seller's rows (listing, reputation, agent, documents) serialise the purchases of one seller,
and the platform fee account every purchase, so each is held only from its update to the end of
the statement (an entry's foreign key takes a KEY SHARE lock on its account, which no balance
update waits for). The listing's version, state and seller are checked by the statement, so the
caller may price the purchase from a cached copy of the listing: a listing that changed since
(every change of a price bumps its version) fails the check. Whenever any step finds nothing to do
(a repeated key, a licence already held, a changed listing, a budget, too little money), the final
division by zero fails the statement (an account that does not exist yet fails its entry's
foreign key instead), PostgreSQL undoes all of it, and the caller runs the general path, which
does the same work step by step and says precisely what happened. A deadlock is treated the same
way.
"""

# ruff: noqa: S608  (the statement is assembled from fixed text, quoted column names and placeholders)

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from agentos_server.infra.db import Database
from agentos_server.infra.pg_hot import (
    ABANDONED,
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
)

_LISTING_TABLES = frozenset({"skills", "daemons"})


@dataclass(frozen=True)
class HotPurchase:
    claim: Claim
    # "skills" or "daemons", and what the caller priced the purchase from.
    listing_table: str
    listing_kind: str
    listing_id: str
    listing_version: str
    seller_id: str
    buyer_id: str
    license_row: dict[str, Any]
    purchase_row: dict[str, Any]
    asset: str
    budget_scopes: Sequence[str]
    changes: Sequence[BalanceChange]
    transaction: dict[str, Any]
    entries: Sequence[EntryRow]
    now: datetime


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in a row")


def _dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _jsonb(value: object) -> Jsonb:
    return Jsonb(value, dumps=_dumps)


class PurchasePoster:
    """Sends hot-path purchases on connections of its own (infra/pg_hot.py)."""

    def __init__(self, db: Database, *, score_sql: str, boost_sql: str, size: int = 8) -> None:
        # Every step of the statement is a lookup by key whatever the values: planning it again
        # for each purchase (PostgreSQL's custom plans) would only cost time.
        self._connections = HotConnections(db, size=size, setup=["SET plan_cache_mode = force_generic_plan"])
        # SQL expressions of the reputation formula over the reputations row ("reputations.x"),
        # and of the search boost over a score ("{score}").
        self._score_sql = score_sql
        self._boost_sql = boost_sql
        self._sql: dict[tuple[Any, ...], str] = {}

    async def close(self) -> None:
        await self._connections.close()

    def _statement(self, purchase: HotPurchase) -> str:
        # Rows travel as one jsonb parameter each (jsonb_populate_record fills every column of the
        # table from it), which keeps the statement under psycopg's limits for caching its
        # conversion (4,096 characters, 50 parameters), and so lets it be prepared server-side.
        if purchase.listing_table not in _LISTING_TABLES:
            raise ValueError(f"not a listing table: {purchase.listing_table!r}")
        shape = (purchase.listing_table, len(purchase.budget_scopes), len(purchase.changes))
        cached = self._sql.get(shape)
        if cached is not None:
            return cached
        table = purchase.listing_table
        public = " AND visibility = 'public'" if table == "daemons" else ""
        parts = [
            CLAIM_STEP,
            "lic AS (INSERT INTO licenses SELECT r.* FROM jsonb_populate_record(NULL::licenses, %s) r "
            "WHERE EXISTS (SELECT 1 FROM claim) ON CONFLICT DO NOTHING RETURNING 1)",
            "pur AS (INSERT INTO purchases SELECT r.* FROM jsonb_populate_record(NULL::purchases, %s) r "
            "WHERE EXISTS (SELECT 1 FROM lic) RETURNING 1)",
            "tx AS (INSERT INTO ledger_transactions "
            "SELECT r.* FROM jsonb_populate_record(NULL::ledger_transactions, %s) r "
            "WHERE EXISTS (SELECT 1 FROM pur) RETURNING 1)",
            "en AS (INSERT INTO ledger_entries (transaction_id, account, agent_id, asset, amount) "
            "SELECT r.transaction_id, r.account, r.agent_id, r.asset, r.amount "
            "FROM jsonb_populate_recordset(NULL::ledger_entries, %s) r "
            "WHERE EXISTS (SELECT 1 FROM tx) RETURNING 1)",
            f"listing AS (UPDATE {table} SET purchase_count = purchase_count + 1 "
            f"WHERE id = %s AND version = %s AND state = 'active' AND owner_id = %s{public} "
            "AND EXISTS (SELECT 1 FROM en) "
            "AND EXISTS (SELECT 1 FROM agents WHERE id = %s AND state = 'active') RETURNING purchase_count)",
            "rep AS (INSERT INTO reputations (agent_id, rating_weight, rating_sum, review_count, "
            "transaction_count, documentation_score, execution_count, execution_successes, updated_at) "
            "SELECT %s, 0, 0, 0, 1, 0, 0, 0, %s FROM listing "
            "ON CONFLICT (agent_id) DO UPDATE SET transaction_count = reputations.transaction_count + 1, "
            "updated_at = EXCLUDED.updated_at "
            f"RETURNING reputations.transaction_count AS sales, ({self._score_sql})::float8 AS score)",
            "ag AS (UPDATE agents SET reputation = rep.score, total_sales = rep.sales FROM rep "
            "WHERE agents.id = %s RETURNING 1)",
            "docs AS (UPDATE search_documents SET reputation = rep.score, "
            f"boost = {self._boost_sql.format(score='rep.score')}, "
            "popularity = CASE WHEN search_documents.kind = 'agent' THEN rep.sales "
            "WHEN search_documents.kind = %s AND search_documents.resource_id = %s "
            "THEN (SELECT purchase_count FROM listing) ELSE search_documents.popularity END "
            "FROM rep WHERE search_documents.owner_id = %s AND EXISTS (SELECT 1 FROM ag) RETURNING 1)",
        ]
        parts.append(
            gate_step(
                [
                    "(SELECT count(*) FROM docs) >= 0",
                    "EXISTS (SELECT 1 FROM ag)",
                    no_budget_condition(len(purchase.budget_scopes)),
                ]
            )
        )
        previous = balance_steps(parts, len(purchase.changes), "go")
        sql = "WITH " + ",\n".join(parts) + f"\nSELECT 1 / (SELECT count(*) FROM {previous})"
        self._sql[shape] = sql
        return sql

    async def post(self, purchase: HotPurchase) -> bool:
        """True when the whole purchase was committed; False when nothing was written and the
        general path must run."""
        claim, now = purchase.claim, purchase.now
        params = claim_params(claim, now)
        params += [_jsonb(purchase.license_row), _jsonb(purchase.purchase_row)]
        params.append(_jsonb({**purchase.transaction, "reverses": None, "created_at": now}))
        params.append(
            _jsonb(
                [
                    {
                        "transaction_id": purchase.transaction["id"],
                        "account": entry.account,
                        "agent_id": entry.agent_id,
                        "asset": entry.asset,
                        "amount": entry.amount,
                    }
                    for entry in purchase.entries
                ]
            )
        )
        params += [purchase.listing_id, purchase.listing_version, purchase.seller_id, purchase.seller_id]
        params += [purchase.seller_id, now, purchase.seller_id]
        params += [purchase.listing_kind, purchase.listing_id, purchase.seller_id]
        params += budget_params(purchase.buyer_id, purchase.asset, purchase.budget_scopes)
        params += balance_params(purchase.changes, now)
        # An entry may name an account that does not exist yet (a seller's first sale).
        return await self._connections.run(
            self._statement(purchase), params, abandoned=(*ABANDONED, psycopg.errors.ForeignKeyViolation)
        )
