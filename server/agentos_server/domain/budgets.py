"""Budgets: hard caps on what an agent spends of one asset per UTC day or month, over all its
spending (scope "") or over spending on one daemon or skill (scope "daemons/{id}", "skills/{id}").

What counts: money leaving an agent's wallet to someone else through a budgeted ledger operation:
Transfer, marketplace payments, usage charges, credit purchases and subscription fees, and holds
(a hold reserves budget for its whole amount when it is made; what a capture does not take, and
what a release or expiry returns, is given back). Withdrawals of one's own money, refunds and
grants do not count. A charge counts against the agent-wide budgets of its asset and against the
budgets of each scope the caller names (Execution names the daemon and the skill it runs).

A charge that would take any applicable budget past its limit fails RESOURCE_EXHAUSTED, reason
BUDGET_EXCEEDED, before the ledger moves anything (a RetryInfo says when the period ends). The
check and the spend are one conditional UPDATE per budget, so concurrent charges cannot overshoot.
Refunds do not give budget back: budgets cap gross spending in a period.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Violations,
)
from agentos_server.domain.etags import check_etag, etag_for
from agentos_server.domain.ids import new_id, parse_name
from agentos_server.domain.money import AssetCatalog, Money, check_amount
from agentos_server.domain.pagination import PageTokens, fingerprint, page_size
from agentos_server.domain.periods import PERIODS, period_end, period_start
from agentos_server.infra.db import Database
from agentos_server.infra.sql import insert_ignoring_conflicts, table_of
from agentos_server.infra.tables.payment import BudgetRow, BudgetSpendRow
from agentos_server.infra.tables.registry import AgentRow

_SCOPE = re.compile(r"^(daemons|skills)/[a-z0-9][a-z0-9-]{0,62}$")
_BUDGETS = table_of(BudgetRow)
_SPEND = table_of(BudgetSpendRow)


@dataclass(frozen=True)
class BudgetCharge:
    """Spend taken from one budget for one period, remembered so a hold can give back what it
    does not use."""

    budget_id: str
    period_start: datetime
    amount: int

    def to_json(self) -> list[object]:
        return [self.budget_id, self.period_start.isoformat(), self.amount]

    @staticmethod
    def from_json(value: Sequence[object]) -> BudgetCharge:
        return BudgetCharge(str(value[0]), datetime.fromisoformat(str(value[1])), int(str(value[2])))


@dataclass(frozen=True)
class BudgetView:
    row: BudgetRow
    spent: int
    period_start: datetime
    period_end: datetime

    @property
    def name(self) -> str:
        return f"agents/{self.row.agent_id}/budgets/{self.row.id}"

    @property
    def remaining(self) -> int:
        return max(0, self.row.limit_amount - self.spent)

    @property
    def etag(self) -> str:
        return etag_for(self.name, self.row.revision)


class BudgetExceeded(ResourceExhausted):
    def __init__(
        self, name: str, scope: str, period: str, limit: int, spent: int, asked: int, retry_after: float
    ) -> None:
        what = f"spending on {scope}" if scope else "all spending"
        super().__init__(
            f"{name} caps {what} at {limit} a {period}; {spent} is spent this {period} and this charge "
            f"asks {asked}",
            reason="BUDGET_EXCEEDED",
            metadata={"budget": name, "limit": str(limit), "spent": str(spent), "requested": str(asked)},
            retry_after_seconds=retry_after,
        )


def check_scope(v: Violations, scope: str, field: str) -> str:
    if scope and not _SCOPE.fullmatch(scope):
        v.add(field, 'must be empty (all spending), "daemons/{id}" or "skills/{id}"')
    return scope


def _exceeded(
    name: str, scope: str, period: str, limit: int, spent: int, amount: int, start: datetime, now: datetime
) -> BudgetExceeded:
    end = period_end(start, period)
    return BudgetExceeded(name, scope, period, limit, spent, amount, max(1.0, (end - now).total_seconds()))


class BudgetGuard:
    """Takes and gives back budget inside a ledger operation's database transaction."""

    def __init__(self, dialect_name: str) -> None:
        self._dialect = dialect_name
        self._consume = (
            update(_SPEND)
            .where(
                _SPEND.c.budget_id == bindparam("p_budget"),
                _SPEND.c.period_start == bindparam("p_start"),
                _SPEND.c.spent <= bindparam("p_ceiling"),
            )
            .values(spent=_SPEND.c.spent + bindparam("p_amount"))
            .returning(_SPEND.c.spent)
        )

    async def consume(
        self,
        connection: AsyncConnection,
        *,
        agent_id: str,
        asset: str,
        amount: int,
        scopes: Sequence[str],
        now: datetime,
    ) -> list[BudgetCharge]:
        """Counts `amount` against every budget that applies, or raises BudgetExceeded having
        counted nothing that survives (the caller's transaction rolls back)."""
        wanted = ["", *scopes]
        budgets = (
            await connection.execute(
                select(_BUDGETS.c.id, _BUDGETS.c.scope, _BUDGETS.c.period, _BUDGETS.c.limit_amount)
                .where(
                    _BUDGETS.c.agent_id == agent_id,
                    _BUDGETS.c.asset == asset,
                    _BUDGETS.c.scope.in_(wanted),
                )
                .order_by(_BUDGETS.c.id)
            )
        ).all()
        charges: list[BudgetCharge] = []
        for budget in budgets:
            start = period_start(now, budget.period)
            ceiling = budget.limit_amount - amount
            name = f"agents/{agent_id}/budgets/{budget.id}"
            if ceiling < 0:
                raise _exceeded(name, budget.scope, budget.period, budget.limit_amount, 0, amount, start, now)
            params = {"p_budget": budget.id, "p_start": start, "p_ceiling": ceiling, "p_amount": amount}
            taken = (await connection.execute(self._consume, params)).first()
            if taken is None:
                await connection.execute(
                    insert_ignoring_conflicts(
                        self._dialect, _SPEND, {"budget_id": budget.id, "period_start": start, "spent": 0}
                    )
                )
                taken = (await connection.execute(self._consume, params)).first()
            if taken is None:
                spent = (
                    await connection.execute(
                        select(_SPEND.c.spent).where(
                            _SPEND.c.budget_id == budget.id, _SPEND.c.period_start == start
                        )
                    )
                ).scalar_one_or_none()
                raise _exceeded(
                    name, budget.scope, budget.period, budget.limit_amount, spent or 0, amount, start, now
                )
            charges.append(BudgetCharge(budget.id, start, amount))
        return charges

    async def give_back(
        self, connection: AsyncConnection, charges: Sequence[BudgetCharge], amount: int
    ) -> None:
        """Returns up to `amount` of each charge (a hold's unused part) to its budget period."""
        if amount <= 0:
            return
        for charge in sorted(charges, key=lambda c: c.budget_id):
            back = min(amount, charge.amount)
            await connection.execute(
                update(_SPEND)
                .where(_SPEND.c.budget_id == charge.budget_id, _SPEND.c.period_start == charge.period_start)
                .values(spent=_SPEND.c.spent - back)
            )


class Budgets:
    """CreateBudget / GetBudget / ListBudgets / UpdateBudget / DeleteBudget."""

    def __init__(self, db: Database, clock: Clock, assets: AssetCatalog, page_tokens: PageTokens) -> None:
        self._db = db
        self._clock = clock
        self._assets = assets
        self._tokens = page_tokens

    async def create(self, caller: Caller, parent: str, scope: str, period: str, limit: Money) -> BudgetView:
        agent_id = parse_name(parent, "agents", "parent")
        caller.require_self_or_operator(agent_id, "parent")
        v = Violations()
        check_scope(v, scope, "budget.scope")
        if period not in PERIODS:
            v.add("budget.period", "must be BUDGET_PERIOD_DAY or BUDGET_PERIOD_MONTH")
        self._assets.check(v, limit.asset, "budget.limit.asset")
        check_amount(v, limit.amount, "budget.limit.amount", allow_zero=True)
        v.raise_if_any()
        now = self._clock.now()
        row = BudgetRow(
            id=new_id(),
            agent_id=agent_id,
            scope=scope,
            period=period,
            asset=limit.asset,
            limit_amount=limit.amount,
            revision=1,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._db.transaction() as session:
                if await session.get(AgentRow, agent_id) is None:
                    raise NotFound(f"agents/{agent_id} does not exist", reason="AGENT_NOT_FOUND")
                if await self._duplicate(session, row) is not None:
                    raise self._exists(row)
                session.add(row)
        except IntegrityError:
            raise self._exists(row) from None
        return BudgetView(row, 0, period_start(now, period), period_end(period_start(now, period), period))

    @staticmethod
    async def _duplicate(session: AsyncSession, row: BudgetRow) -> str | None:
        found = await session.scalar(
            select(BudgetRow.id).where(
                BudgetRow.agent_id == row.agent_id,
                BudgetRow.asset == row.asset,
                BudgetRow.scope == row.scope,
                BudgetRow.period == row.period,
            )
        )
        return str(found) if found is not None else None

    @staticmethod
    def _exists(row: BudgetRow) -> AlreadyExists:
        scope = row.scope or "all spending"
        return AlreadyExists(
            f"agents/{row.agent_id} already has a {row.period} budget of {row.asset} for {scope}; update it",
            field="budget",
            reason="BUDGET_EXISTS",
        )

    def _parse(self, caller: Caller, name: str, field: str = "name") -> tuple[str, str]:
        parts = name.split("/")
        if len(parts) != 4 or parts[0] != "agents" or parts[2] != "budgets":
            raise InvalidArgument(
                "must be a budget name of the form agents/{agent_id}/budgets/{budget_id}",
                field=field,
                reason="INVALID_NAME",
            )
        agent_id = parse_name(f"agents/{parts[1]}", "agents", field)
        budget_id = parse_name(f"budgets/{parts[3]}", "budgets", field)
        caller.require_self_or_operator(agent_id, field)
        return agent_id, budget_id

    async def _view(self, session: AsyncSession, row: BudgetRow) -> BudgetView:
        now = self._clock.now()
        start = period_start(now, row.period)
        spent = await session.scalar(
            select(BudgetSpendRow.spent).where(
                BudgetSpendRow.budget_id == row.id, BudgetSpendRow.period_start == start
            )
        )
        return BudgetView(row, int(spent or 0), start, period_end(start, row.period))

    async def _load(self, session: AsyncSession, agent_id: str, budget_id: str) -> BudgetRow:
        row = await session.get(BudgetRow, budget_id)
        if row is None or row.agent_id != agent_id:
            raise NotFound(
                f"agents/{agent_id}/budgets/{budget_id} does not exist",
                reason="BUDGET_NOT_FOUND",
                metadata={"field": "name"},
            )
        return row

    async def get(self, caller: Caller, name: str) -> BudgetView:
        agent_id, budget_id = self._parse(caller, name)
        async with self._db.snapshot() as session:
            return await self._view(session, await self._load(session, agent_id, budget_id))

    async def list(
        self, caller: Caller, parent: str, *, size: int, token: str
    ) -> tuple[list[BudgetView], str]:
        agent_id = parse_name(parent, "agents", "parent")
        caller.require_self_or_operator(agent_id, "parent")
        limit = page_size(size)
        binding = fingerprint(agent_id)
        cursor = self._tokens.decode("budgets", token, binding)
        query = select(BudgetRow).where(BudgetRow.agent_id == agent_id)
        if cursor is not None:
            query = query.where(BudgetRow.id > str(cursor["id"]))
        query = query.order_by(BudgetRow.id).limit(limit + 1)
        async with self._db.snapshot() as session:
            rows = list((await session.scalars(query)).all())
            next_token = ""
            if len(rows) > limit:
                rows = rows[:limit]
                next_token = self._tokens.encode("budgets", {"id": rows[-1].id}, binding)
            return [await self._view(session, row) for row in rows], next_token

    async def update(self, caller: Caller, name: str, paths: set[str], limit: Money, etag: str) -> BudgetView:
        agent_id, budget_id = self._parse(caller, name, "budget.name")
        v = Violations()
        if not paths:
            v.add("update_mask", "must name the field to update: limit")
        for path in paths:
            if path not in {"limit", "limit.amount"}:
                v.add("update_mask", f"{path!r} cannot be updated; updatable: limit")
        check_amount(v, limit.amount, "budget.limit.amount", allow_zero=True)
        v.raise_if_any()
        async with self._db.transaction() as session:
            row = await self._load(session, agent_id, budget_id)
            check_etag(etag, f"agents/{agent_id}/budgets/{budget_id}", row.revision)
            if "limit" in paths and limit.asset and limit.asset != row.asset:
                raise InvalidArgument(
                    f"a budget's asset cannot change (it is {row.asset}); create another budget",
                    field="budget.limit.asset",
                )
            result = await session.execute(
                update(BudgetRow)
                .where(and_(BudgetRow.id == budget_id, BudgetRow.revision == row.revision))
                .values(limit_amount=limit.amount, revision=row.revision + 1, updated_at=self._clock.now())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                check_etag("stale", f"agents/{agent_id}/budgets/{budget_id}", row.revision)
            await session.refresh(row)
            return await self._view(session, row)

    async def delete(self, caller: Caller, name: str) -> None:
        agent_id, budget_id = self._parse(caller, name)
        async with self._db.transaction() as session:
            await self._load(session, agent_id, budget_id)
            await session.execute(delete(BudgetSpendRow).where(BudgetSpendRow.budget_id == budget_id))
            await session.execute(delete(BudgetRow).where(BudgetRow.id == budget_id))
