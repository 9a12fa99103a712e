"""What the Marketplace needs to know about a listing: its name, seller, state, pricing, category,
and whether a caller may see it.

A listing is named "skills/{id}" or "daemons/{id}" (a version suffix is not accepted: a licence
covers every version). Skills are visible to everyone; daemons follow domain/daemons.may_see, and a
daemon the caller may not see answers NOT_FOUND, as the Registry does, so that private names do not
leak.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.caller import Caller
from agentos_server.domain.daemons import Visibility, may_see
from agentos_server.domain.errors import NotFound
from agentos_server.domain.listing_refs import AGENTS, DAEMON, DAEMONS, SKILL, ListingRef
from agentos_server.domain.listings import ListingState
from agentos_server.domain.pricing import Pricing
from agentos_server.infra.sql import table_of
from agentos_server.infra.tables.listings import DaemonRow
from agentos_server.infra.tables.search import SearchDocumentRow

SEARCH_DOCUMENTS = table_of(SearchDocumentRow)


@dataclass(frozen=True)
class ListingInfo:
    ref: ListingRef
    owner_id: str
    owner_active: bool
    display_name: str
    version: str
    state: str
    category: str
    pricing: Pricing
    # "public" for skills.
    visibility: str

    @property
    def deprecated(self) -> bool:
        return self.state != ListingState.ACTIVE


class ListingCache:
    """Recently read public listings, for pricing purchases without reading the listing first.
    A cached copy may be stale: whoever uses one must check, in the statement that writes, that
    the listing still has the version and state it was priced at (infra/marketplace_pg.py does)."""

    def __init__(self, ttl_seconds: float = 60.0, max_entries: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[ListingRef, tuple[ListingInfo, float]] = {}

    def get(self, ref: ListingRef) -> ListingInfo | None:
        found = self._entries.get(ref)
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def put(self, info: ListingInfo) -> None:
        if info.visibility != "public":
            # Who may see a restricted daemon depends on the caller: never shared.
            self._entries.pop(info.ref, None)
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[info.ref] = (info, time.monotonic() + self._ttl)


def not_found(ref: ListingRef, field: str = "listing") -> NotFound:
    reason = "SKILL_NOT_FOUND" if ref.kind == SKILL else "DAEMON_NOT_FOUND"
    return NotFound(f"{ref.name} does not exist", reason=reason, metadata={"field": field, "name": ref.name})


async def load_listing(
    session: AsyncSession, ref: ListingRef, caller: Caller | None, *, field: str = "listing"
) -> ListingInfo:
    """The listing as `caller` may see it (None: anyone), or NOT_FOUND naming `field`."""
    table = ref.table
    columns: list[Any] = [
        table.c.owner_id,
        table.c.display_name,
        table.c.version,
        table.c.state,
        table.c.category,
        table.c.pricing,
        AGENTS.c.state.label("owner_state"),
    ]
    if ref.kind == DAEMON:
        columns += [DAEMONS.c.visibility, DAEMONS.c.allowed_organizations, DAEMONS.c.allowed_agents]
    connection = await session.connection()
    row = (
        await connection.execute(
            select(*columns).join(AGENTS, AGENTS.c.id == table.c.owner_id).where(table.c.id == ref.id)
        )
    ).first()
    if row is None:
        raise not_found(ref, field)
    visibility = Visibility.PUBLIC.value
    if ref.kind == DAEMON:
        visibility = row.visibility
        if visibility != Visibility.PUBLIC and not await _may_see_daemon(session, caller, row):
            raise not_found(ref, field)
    return ListingInfo(
        ref=ref,
        owner_id=row.owner_id,
        owner_active=row.owner_state == "active",
        display_name=row.display_name,
        version=row.version,
        state=row.state,
        category=row.category,
        pricing=Pricing.from_document(row.pricing),
        visibility=visibility,
    )


async def _may_see_daemon(session: AsyncSession, caller: Caller | None, row: Any) -> bool:
    organization = ""
    if caller is not None and row.visibility == Visibility.ORGANIZATION:
        organization = (
            await session.scalar(select(AGENTS.c.organization).where(AGENTS.c.id == caller.agent_id))
        ) or ""
    probe = DaemonRow(
        owner_id=row.owner_id,
        visibility=row.visibility,
        allowed_organizations=row.allowed_organizations,
        allowed_agents=row.allowed_agents,
    )
    return may_see(caller, organization, probe)


async def publish_listing(session: AsyncSession, ref: ListingRef, **values: Any) -> None:
    """Copies a listing's statistics (popularity = purchase count, rating) into its search document,
    which ranks the popular and rating orders."""
    connection = await session.connection()
    await connection.execute(
        update(SEARCH_DOCUMENTS)
        .where(SEARCH_DOCUMENTS.c.kind == ref.kind, SEARCH_DOCUMENTS.c.resource_id == ref.id)
        .values(**values)
    )


async def add_purchases(session: AsyncSession, ref: ListingRef, delta: int) -> int:
    """Moves the listing's purchase count by `delta` and returns it. Search learns the new count
    from the caller: with the seller's reputation (Reputation.add_transactions) or, when no money
    moved, publish_listing."""
    table = ref.table
    connection = await session.connection()
    count = (
        await connection.execute(
            update(table)
            .where(table.c.id == ref.id)
            .values(purchase_count=table.c.purchase_count + delta)
            .returning(table.c.purchase_count)
        )
    ).scalar_one_or_none()
    return int(count or 0)
