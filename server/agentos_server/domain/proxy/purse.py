"""What a pay-per-call buyer can afford, checked before a call is dispatched.

The check is advisory: the charge after the call is the ledger's conditional update against the
wallet and every budget, which can never overdraw. Checking first keeps calls the buyer cannot pay
for away from the seller. A buyer's purse (available balance, and each applicable budget with what
it has spent this period) is read once and reused for AGENTOS_PROXY_CACHE_SECONDS, with this
replica's own charges taken off as they happen; a purse that says no is read again before the call
is refused, so a deposit or a raised budget counts at once. What another replica spent meanwhile is
seen at the next read: until then a call may be dispatched that the charge then refuses (outcome
rejected, domain/proxy/service.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.budgets import BudgetExceeded
from agentos_server.domain.errors import DomainError
from agentos_server.domain.ledger import InsufficientFunds, Ledger, wallet_account
from agentos_server.domain.money import Money
from agentos_server.domain.periods import period_end, period_start
from agentos_server.infra.tables.payment import BudgetRow, BudgetSpendRow


@dataclass
class BudgetState:
    id: str
    scope: str
    period: str
    limit: int
    start: datetime
    spent: int


@dataclass
class Purse:
    buyer_id: str
    asset: str
    available: int
    budgets: list[BudgetState]
    # time.monotonic() after which the purse is read again.
    expires: float = 0.0

    def _applying(self, skill_id: str) -> list[BudgetState]:
        return [b for b in self.budgets if b.scope in ("", f"skills/{skill_id}")]

    def shortfall(self, skill_id: str, price: Money, in_flight: int, now: datetime) -> DomainError | None:
        """Why a call of `skill_id` at `price` cannot be paid on top of `in_flight` (what this
        replica's calls in flight will take), or None."""
        needed = price.amount + in_flight
        if self.available < needed:
            return InsufficientFunds(
                wallet_account(self.buyer_id, self.asset), self.asset, self.available, needed
            )
        for budget in self._applying(skill_id):
            start = period_start(now, budget.period)
            spent = (budget.spent if start == budget.start else 0) + in_flight
            if spent + price.amount > budget.limit:
                return BudgetExceeded(
                    f"agents/{self.buyer_id}/budgets/{budget.id}",
                    budget.scope,
                    budget.period,
                    budget.limit,
                    spent,
                    price.amount,
                    max(1.0, (period_end(start, budget.period) - now).total_seconds()),
                )
        return None

    def spend(self, skill_id: str, amount: int, now: datetime) -> None:
        self.available -= amount
        for budget in self._applying(skill_id):
            start = period_start(now, budget.period)
            if start != budget.start:
                budget.start, budget.spent = start, 0
            budget.spent += amount


async def read_purse(
    session: AsyncSession, ledger: Ledger, buyer_id: str, asset: str, now: datetime
) -> Purse:
    """The buyer's balance of `asset` and every budget of it (agent-wide and scoped)."""
    wallet = await ledger.wallet(buyer_id, asset, session=session)
    budgets = (
        await session.execute(
            select(BudgetRow.id, BudgetRow.scope, BudgetRow.period, BudgetRow.limit_amount).where(
                BudgetRow.agent_id == buyer_id,
                BudgetRow.asset == asset,
            )
        )
    ).all()
    states = [
        BudgetState(b.id, b.scope, b.period, b.limit_amount, period_start(now, b.period), 0) for b in budgets
    ]
    if states:
        by_id = {s.id: s for s in states}
        for spend in (
            await session.execute(
                select(BudgetSpendRow.budget_id, BudgetSpendRow.period_start, BudgetSpendRow.spent).where(
                    BudgetSpendRow.budget_id.in_(list(by_id))
                )
            )
        ).all():
            state = by_id[spend.budget_id]
            if spend.period_start == state.start:
                state.spent = spend.spent
    return Purse(buyer_id, asset, wallet.available, states)
