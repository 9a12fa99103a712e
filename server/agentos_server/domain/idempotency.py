"""Idempotency keys, for every service: a repeat returns the first result; the same key with a
different request is refused.

A key is scoped to (caller, operation): "agents/a" may use "k1" for a Transfer and for a Purchase.
It is claimed inside the caller's own database transaction, together with the name of the
resource that transaction is about to create, so the claim commits (or rolls back) with the work:

    async with db.transaction() as session:
        purchase_id = new_id()
        prior = await idempotency.claim(
            session,
            caller=caller.name,
            operation="marketplace.Purchase",
            key=request_key,
            fingerprint=request_fingerprint(skill, license_type, price),
            result=f"purchases/{purchase_id}",
        )
        if prior is not None:
            return await load_purchase(session, prior)   # a repeat: the first result, nothing new
        ...create purchases/{purchase_id}, its licence and its ledger transaction...

Only requests that succeed are remembered: a refused request writes nothing, so it may be retried
with the same key. Two concurrent requests with one key serialise on the key's primary key: the
second waits for the first to commit and then sees its result (or, if it rolled back, runs itself).
The same key with a different fingerprint fails ALREADY_EXISTS, reason IDEMPOTENCY_KEY_REUSED,
naming the field idempotency_key. Keys are forgotten after AGENTOS_IDEMPOTENCY_RETENTION_HOURS.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.errors import Aborted, AlreadyExists
from agentos_server.infra.sql import insert_ignoring_conflicts, table_of
from agentos_server.infra.tables.payment import IdempotencyKeyRow

_TABLE = table_of(IdempotencyKeyRow)


def request_fingerprint(*parts: object) -> str:
    """A stable digest of what a request asks for (not of the key itself)."""
    encoded = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


class IdempotencyKeyReused(AlreadyExists):
    def __init__(self, operation: str, key: str, field: str = "idempotency_key") -> None:
        super().__init__(
            f"idempotency key {key!r} was already used for a different {operation} request; "
            "use a new key for a new request",
            field=field,
            reason="IDEMPOTENCY_KEY_REUSED",
        )


class Idempotency:
    def __init__(self, dialect_name: str) -> None:
        self._dialect = dialect_name

    async def claim(
        self,
        session: AsyncSession,
        *,
        caller: str,
        operation: str,
        key: str,
        fingerprint: str,
        result: str,
        now: datetime,
        field: str = "idempotency_key",
    ) -> str | None:
        """None when this request is new (go on and create `result`); the first request's result
        when it is a repeat; IdempotencyKeyReused when the key was used for another request."""
        connection = await session.connection()
        claimed = await connection.execute(
            insert_ignoring_conflicts(
                self._dialect,
                _TABLE,
                {
                    "caller": caller,
                    "operation": operation,
                    "key": key,
                    "fingerprint": fingerprint,
                    "result": result,
                    "created_at": now,
                },
            ).returning(_TABLE.c.key)
        )
        if claimed.first() is not None:
            return None
        prior = (
            await connection.execute(
                select(_TABLE.c.fingerprint, _TABLE.c.result).where(
                    _TABLE.c.caller == caller, _TABLE.c.operation == operation, _TABLE.c.key == key
                )
            )
        ).first()
        if prior is None:
            raise Aborted(
                "a concurrent request with the same idempotency key was being processed; retry",
                reason="IDEMPOTENCY_KEY_BUSY",
            )
        if prior.fingerprint != fingerprint:
            raise IdempotencyKeyReused(operation, key, field)
        return str(prior.result)

    async def prune(self, session: AsyncSession, before: datetime) -> int:
        result = await session.execute(delete(IdempotencyKeyRow).where(IdempotencyKeyRow.created_at < before))
        return int(result.rowcount)  # type: ignore[attr-defined]
