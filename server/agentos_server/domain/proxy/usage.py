"""Usage records: one per proxied skill call that reached the seller, readable by its buyer and by
its seller (ListUsageRecords).

Outcomes: succeeded (charged, or a unit used, as the licence says), failed (the seller answered
with an error, garbage, or could not be reached), timed_out, and rejected — the seller answered
but AgentOS refused to settle the call because, meanwhile, the buyer's last unit, funds or budget
were taken by a concurrent call; the answer is withheld and nothing is charged. Calls refused before
dispatch leave no record (see infra/tables/proxy.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select

from agentos_server.domain.caller import Caller
from agentos_server.domain.errors import InvalidArgument
from agentos_server.domain.ids import parse_name
from agentos_server.domain.pagination import PageTokens, fingerprint, newest_first, page_of, page_size
from agentos_server.infra.db import Database
from agentos_server.infra.tables.proxy import UsageRecordRow

SUCCEEDED = "succeeded"
FAILED = "failed"
TIMED_OUT = "timed_out"
REJECTED = "rejected"
OUTCOMES = (SUCCEEDED, FAILED, TIMED_OUT, REJECTED)

BUYER = "buyer"
SELLER = "seller"


@dataclass(frozen=True)
class UsageView:
    id: str
    skill_id: str
    skill_version: str
    buyer_id: str
    seller_id: str
    license_id: str
    operation: str
    target: str
    request_bytes: int
    response_bytes: int
    duration_ms: int
    cost_asset: str
    cost_amount: int
    used_unit: bool
    outcome: str
    error_reason: str
    execution: str
    transaction_id: str | None
    created_at: datetime

    @property
    def name(self) -> str:
        return f"usageRecords/{self.id}"

    @staticmethod
    def of(row: Any) -> UsageView:
        return UsageView(
            id=row.id,
            skill_id=row.skill_id,
            skill_version=row.skill_version,
            buyer_id=row.buyer_id,
            seller_id=row.seller_id,
            license_id=row.license_id,
            operation=row.operation,
            target=row.target,
            request_bytes=row.request_bytes,
            response_bytes=row.response_bytes,
            duration_ms=row.duration_ms,
            cost_asset=row.cost_asset,
            cost_amount=row.cost_amount,
            used_unit=row.used_unit,
            outcome=row.outcome,
            error_reason=row.error_reason,
            execution=row.execution,
            transaction_id=row.transaction_id,
            created_at=row.created_at,
        )

    @staticmethod
    def of_values(values: Mapping[str, Any]) -> UsageView:
        """From the usage_records row's values (as written), without building an ORM object."""
        return UsageView(**{name: values[name] for name in _VIEW_FIELDS})


_VIEW_FIELDS = tuple(field.name for field in fields(UsageView))


class UsageRecords:
    def __init__(self, db: Database, page_tokens: PageTokens) -> None:
        self._db = db
        self._tokens = page_tokens

    async def list(
        self,
        caller: Caller,
        *,
        role: str,
        skill: str,
        start: datetime | None,
        end: datetime | None,
        size: int,
        token: str,
    ) -> tuple[list[UsageView], str]:
        skill_id = parse_name(skill, "skills", "skill") if skill else ""
        if start is not None and end is not None and end <= start:
            raise InvalidArgument("must be after start_time", field="end_time", reason="INVALID_TIME_RANGE")
        limit = page_size(size)
        binding = fingerprint(caller.agent_id, role, skill_id, start, end)
        cursor = self._tokens.decode("usage_records", token, binding)
        column = UsageRecordRow.seller_id if role == SELLER else UsageRecordRow.buyer_id
        query = select(UsageRecordRow).where(column == caller.agent_id)
        if skill_id:
            query = query.where(UsageRecordRow.skill_id == skill_id)
        if start is not None:
            query = query.where(UsageRecordRow.created_at >= start)
        if end is not None:
            query = query.where(UsageRecordRow.created_at < end)
        query = newest_first(query, UsageRecordRow, cursor, limit)
        async with self._db.snapshot() as session:
            rows = list((await session.scalars(query)).all())
        rows, next_token = page_of(rows, limit, self._tokens, "usage_records", binding)
        return [UsageView.of(r) for r in rows], next_token
