"""Execution credits of runs on the payments ledger (ports.RunBilling)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.ledger import Ledger
from agentos_server.domain.money import CREDIT, Money


class LedgerRunBilling:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def hold(
        self,
        agent_id: str,
        credits: int,
        *,
        reference: str,
        ttl_seconds: int,
        budget_scopes: Sequence[str],
        session: AsyncSession,
    ) -> str:
        if credits <= 0:
            return ""
        view = await self._ledger.hold(
            agent_id,
            Money(CREDIT, credits),
            purpose="daemon run",
            reference=reference,
            ttl=timedelta(seconds=ttl_seconds),
            budget_scopes=budget_scopes,
            initiator=f"agents/{agent_id}",
            session=session,
        )
        return view.name

    async def capture(self, hold: str, credits: int, *, reference: str, session: AsyncSession) -> None:
        await self._ledger.capture(
            hold.removeprefix("holds/"),
            amount=credits,
            memo="daemon run",
            reference=reference,
            session=session,
        )

    async def release(self, hold: str, *, reference: str, session: AsyncSession) -> None:
        await self._ledger.release(hold.removeprefix("holds/"), session=session)
