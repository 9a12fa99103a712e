"""What the run service needs from other areas, as narrow protocols: the daemon to run (Registry),
the right to run it (Marketplace licences), and the money (Payments holds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.caller import Caller
from agentos_server.domain.daemon_spec import DaemonSpec
from agentos_server.domain.errors import PermissionDenied


@dataclass(frozen=True)
class DaemonToRun:
    daemon_id: str
    version: str
    owner_id: str
    spec: DaemonSpec
    definition_yaml: str
    # Free to run for anyone who can see it; a priced daemon needs a licence.
    is_free: bool


class DaemonSource(Protocol):
    async def resolve(self, caller: Caller, name: str, version: str) -> DaemonToRun:
        """The daemon version `caller` asks to run; NOT_FOUND when it does not exist or `caller`
        may not see it."""
        ...


class RunLicences(Protocol):
    async def check(self, caller: Caller, daemon: DaemonToRun) -> None:
        """Raises PERMISSION_DENIED unless `caller` may run `daemon`."""
        ...


class OwnerOrFreeLicences:
    """The licence hook until the Marketplace sells licences: the owner may run its own daemons and
    anyone who can see a free daemon may run it; a priced daemon of someone else needs a licence,
    which nobody can hold yet."""

    async def check(self, caller: Caller, daemon: DaemonToRun) -> None:
        if caller.agent_id == daemon.owner_id or daemon.is_free:
            return
        raise PermissionDenied(
            f"daemons/{daemon.daemon_id} is a priced daemon of agents/{daemon.owner_id}: running it "
            "needs a licence, and licences are sold by the Marketplace (not available yet)",
            reason="LICENSE_REQUIRED",
            metadata={"field": "daemon"},
        )


class RunBilling(Protocol):
    """Execution credits of a run: held before it starts, captured when it ends. Each operation
    writes inside the caller's transaction, so the run's own rows and its money commit together."""

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
        """Reserves `credits` in the agent's CREDIT wallet; returns the hold's name ("" when nothing
        was held). FAILED_PRECONDITION when the agent cannot afford it, RESOURCE_EXHAUSTED when a
        budget (the agent's own, or one scoped to `budget_scopes`) would be passed."""
        ...

    async def capture(self, hold: str, credits: int, *, reference: str, session: AsyncSession) -> None:
        """Takes `credits` (at most the held amount) and returns the rest to the wallet."""
        ...

    async def release(self, hold: str, *, reference: str, session: AsyncSession) -> None: ...
