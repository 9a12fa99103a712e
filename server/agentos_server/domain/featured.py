"""Featured listings and recommendations.

Featuring: an operator features an active, public listing until an optional end time
(FeatureListing again moves the end time; UnfeatureListing ends it). ListFeaturedListings is
public, newest feature first, and shows only listings still featured, active and sold by an active
agent. The listing's `featured` flag (Skill.featured, Daemon.featured) follows; the marketplace
sweeper clears it and forgets the feature once the end time has passed.

Recommendations for an agent (itself, or anyone's for operators, since they reveal what it bought):
candidates are listings it neither owns nor holds or held a licence to, active, visible to it and
sold by an active agent. Two signals, item-to-item:
- bought together: for each listing L the agent licensed (trials count: they show interest), the
  other agents that licensed L by purchase or free acquisition; every other listing M they
  licensed scores one point per such agent and per L (co-occurrence counts). The reason names the
  L with the most co-buyers: "bought together with skills/...".
- category popularity: listings in the categories of the agent's licences (all categories when it
  has none) score ln(1 + purchase_count) / ln(1 + the largest purchase_count among them), in
  [0, 1]: "popular in CATEGORY_ANALYSIS".
score = co-occurrences + popularity, so one co-buyer outranks any popularity; ties go to the more
purchased listing. A listing with score 0 (nobody bought it) is not recommended. The scans are
bounded: at most CO_BUYERS_SCANNED other buyers and POPULAR_SCANNED popular listings per kind are
considered.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.caller import Caller
from agentos_server.domain.catalog import load_listing
from agentos_server.domain.clock import Clock
from agentos_server.domain.daemons import Visibility, visible_to
from agentos_server.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from agentos_server.domain.ids import parse_name
from agentos_server.domain.ledger import transact
from agentos_server.domain.licenses import LICENSES, TRIAL
from agentos_server.domain.listing_refs import (
    AGENTS,
    DAEMON,
    DAEMONS,
    SKILL,
    SKILLS,
    ListingRef,
    parse_listing,
)
from agentos_server.domain.listings import ListingState
from agentos_server.domain.pagination import PageTokens, fingerprint, page_size
from agentos_server.infra.db import Database
from agentos_server.infra.sql import insert_ignoring_conflicts, table_of
from agentos_server.infra.tables.listings import DaemonRow, SkillRow
from agentos_server.infra.tables.marketplace import FeaturedListingRow
from agentos_server.infra.tables.registry import AgentRow

FEATURED = table_of(FeaturedListingRow)
CO_BUYERS_SCANNED = 500
POPULAR_SCANNED = 200
MAX_RECOMMENDATIONS = 50
DEFAULT_RECOMMENDATIONS = 10


@dataclass(frozen=True)
class FeaturedView:
    listing: ListingRef
    row: SkillRow | DaemonRow
    featured_at: datetime
    end_time: datetime | None


@dataclass(frozen=True)
class Recommendation:
    listing: ListingRef
    row: SkillRow | DaemonRow
    score: float
    reason: str


def _category_label(category: str) -> str:
    return f"CATEGORY_{category.upper()}"


class Featured:
    def __init__(self, db: Database, clock: Clock, page_tokens: PageTokens) -> None:
        self._db = db
        self._clock = clock
        self._tokens = page_tokens
        self._dialect = "postgresql" if db.is_postgres else "sqlite"

    async def _flag(self, s: AsyncSession, ref: ListingRef, featured: bool) -> None:
        table = ref.table
        await (await s.connection()).execute(
            update(table).where(table.c.id == ref.id).values(featured=featured)
        )

    async def feature(self, caller: Caller, listing: str, end_time: datetime | None) -> FeaturedView:
        caller.require_operator()
        ref = parse_listing(listing)
        now = self._clock.now()
        if end_time is not None and end_time <= now:
            raise InvalidArgument("must be in the future (or unset: until unfeatured)", field="end_time")

        async def work(s: AsyncSession) -> FeaturedView:
            info = await load_listing(s, ref, caller)
            if info.deprecated:
                raise FailedPrecondition(
                    f"{ref.name} is deprecated", reason="LISTING_DEPRECATED", metadata={"field": "listing"}
                )
            if info.visibility != Visibility.PUBLIC:
                raise FailedPrecondition(
                    f"{ref.name} is not public; only public listings can be featured",
                    reason="LISTING_NOT_PUBLIC",
                    metadata={"field": "listing"},
                )
            connection = await s.connection()
            values = {
                "listing_kind": ref.kind,
                "listing_id": ref.id,
                "featured_by": caller.agent_id,
                "featured_at": now,
                "end_time": end_time,
            }
            inserted = (
                await connection.execute(
                    insert_ignoring_conflicts(self._dialect, FEATURED, values).returning(
                        FEATURED.c.listing_id
                    )
                )
            ).first()
            if inserted is None:
                await connection.execute(
                    update(FEATURED)
                    .where(FEATURED.c.listing_kind == ref.kind, FEATURED.c.listing_id == ref.id)
                    .values(featured_by=caller.agent_id, featured_at=now, end_time=end_time)
                )
            await self._flag(s, ref, True)
            row: SkillRow | DaemonRow | None = (
                await s.get(SkillRow, ref.id) if ref.kind == SKILL else await s.get(DaemonRow, ref.id)
            )
            assert row is not None
            return FeaturedView(ref, row, now, end_time)

        return await transact(self._db, work)

    async def unfeature(self, caller: Caller, listing: str) -> None:
        caller.require_operator()
        ref = parse_listing(listing)

        async def work(s: AsyncSession) -> None:
            removed = await (await s.connection()).execute(
                delete(FEATURED).where(FEATURED.c.listing_kind == ref.kind, FEATURED.c.listing_id == ref.id)
            )
            if not removed.rowcount:
                raise NotFound(
                    f"{ref.name} is not featured", reason="NOT_FEATURED", metadata={"field": "listing"}
                )
            await self._flag(s, ref, False)

        await transact(self._db, work)

    async def expire(self) -> int:
        """Forgets features whose end time has passed and clears their listings' flags."""
        now = self._clock.now()

        async def work(s: AsyncSession) -> int:
            connection = await s.connection()
            due = (
                await connection.execute(
                    select(FEATURED.c.listing_kind, FEATURED.c.listing_id).where(FEATURED.c.end_time <= now)
                )
            ).all()
            for kind, listing_id in due:
                ref = ListingRef(kind, listing_id)
                await connection.execute(
                    delete(FEATURED).where(
                        FEATURED.c.listing_kind == kind,
                        FEATURED.c.listing_id == listing_id,
                        FEATURED.c.end_time <= now,
                    )
                )
                await self._flag(s, ref, False)
            return len(due)

        return await transact(self._db, work)

    async def list_featured(self, *, size: int, token: str) -> tuple[list[FeaturedView], str]:
        limit = page_size(size)
        binding = fingerprint("featured")
        cursor = self._tokens.decode("featured_listings", token, binding)
        now = self._clock.now()
        query = select(FEATURED).where(or_(FEATURED.c.end_time.is_(None), FEATURED.c.end_time > now))
        if cursor is not None:
            after = datetime.fromisoformat(str(cursor["t"]))
            key = (str(cursor["k"]), str(cursor["id"]))
            query = query.where(
                or_(
                    FEATURED.c.featured_at < after,
                    and_(
                        FEATURED.c.featured_at == after,
                        tuple_(FEATURED.c.listing_kind, FEATURED.c.listing_id) < key,
                    ),
                )
            )
        query = query.order_by(
            FEATURED.c.featured_at.desc(), FEATURED.c.listing_kind.desc(), FEATURED.c.listing_id.desc()
        )
        found: list[FeaturedView] = []
        last: Any = None
        more = False
        async with self._db.snapshot() as s:
            # Listings that stopped qualifying (deprecated, seller deactivated) are skipped here
            # rather than filtered in SQL: the page is read in chunks until it is full.
            offset = 0
            while len(found) <= limit:
                rows = (await s.execute(query.offset(offset).limit(limit + 1))).all()
                if not rows:
                    break
                offset += len(rows)
                for row in rows:
                    ref = ListingRef(row.listing_kind, row.listing_id)
                    listing = await _load_sellable(s, ref)
                    if listing is None:
                        continue
                    if len(found) == limit:
                        more = True
                        break
                    found.append(FeaturedView(ref, listing, row.featured_at, row.end_time))
                    last = row
                if more or len(rows) <= limit:
                    break
        next_token = ""
        if more and last is not None:
            next_token = self._tokens.encode(
                "featured_listings",
                {"t": last.featured_at.isoformat(), "k": last.listing_kind, "id": last.listing_id},
                binding,
            )
        return found, next_token

    # --- recommendations --------------------------------------------------------------------------

    async def recommend(self, caller: Caller, agent: str, size: int) -> list[Recommendation]:
        agent_id = parse_name(agent, "agents", "agent") if agent else caller.agent_id
        caller.require_self_or_operator(agent_id, "agent")
        if size < 0:
            raise InvalidArgument("must not be negative", field="page_size", reason="INVALID_PAGE_SIZE")
        limit = min(size or DEFAULT_RECOMMENDATIONS, MAX_RECOMMENDATIONS)
        viewer = Caller(agent_id)
        async with self._db.snapshot() as s:
            exists = await s.scalar(select(AGENTS.c.id).where(AGENTS.c.id == agent_id))
            if exists is None:
                raise NotFound(
                    f"agents/{agent_id} does not exist", reason="AGENT_NOT_FOUND", metadata={"field": "agent"}
                )
            connection = await s.connection()
            mine = {
                ListingRef(kind, listing_id)
                for kind, listing_id in await connection.execute(
                    select(LICENSES.c.listing_kind, LICENSES.c.listing_id)
                    .where(LICENSES.c.buyer_id == agent_id)
                    .distinct()
                )
            }
            scores: dict[ListingRef, float] = defaultdict(float)
            reasons: dict[ListingRef, str] = {}
            if mine:
                await self._co_purchases(s, agent_id, mine, scores, reasons)
            categories = await self._categories(s, mine)
            candidates = await self._popular(s, viewer, agent_id, categories, mine, scores, reasons)
            picked: list[Recommendation] = []
            for ref in sorted(
                scores,
                key=lambda r: (-scores[r], -candidates[r].purchase_count if r in candidates else 0, r),
            ):
                # Nothing to go on (a listing nobody bought): no recommendation.
                if ref in mine or scores[ref] <= 0:
                    continue
                row = candidates.get(ref) or await _load_sellable(s, ref, viewer)
                if row is None or row.owner_id == agent_id:
                    continue
                picked.append(Recommendation(ref, row, round(scores[ref], 6), reasons[ref]))
                if len(picked) == limit:
                    break
        return picked

    async def _co_purchases(
        self,
        s: AsyncSession,
        agent_id: str,
        mine: set[ListingRef],
        scores: dict[ListingRef, float],
        reasons: dict[ListingRef, str],
    ) -> None:
        connection = await s.connection()
        keys = [(ref.kind, ref.id) for ref in mine]
        mine_key = tuple_(LICENSES.c.listing_kind, LICENSES.c.listing_id)
        co_buyers = (
            select(LICENSES.c.buyer_id)
            .where(mine_key.in_(keys), LICENSES.c.buyer_id != agent_id, LICENSES.c.origin != TRIAL)
            .distinct()
            .limit(CO_BUYERS_SCANNED)
            .subquery()
        )
        theirs = LICENSES.alias("theirs")
        pairs = (
            await connection.execute(
                select(
                    LICENSES.c.listing_kind,
                    LICENSES.c.listing_id,
                    theirs.c.listing_kind,
                    theirs.c.listing_id,
                    func.count(func.distinct(theirs.c.buyer_id)),
                )
                .join(theirs, theirs.c.buyer_id == LICENSES.c.buyer_id)
                .where(
                    LICENSES.c.buyer_id.in_(select(co_buyers.c.buyer_id)),
                    mine_key.in_(keys),
                    LICENSES.c.origin != TRIAL,
                    theirs.c.origin != TRIAL,
                    tuple_(theirs.c.listing_kind, theirs.c.listing_id).not_in(keys),
                )
                .group_by(
                    LICENSES.c.listing_kind, LICENSES.c.listing_id, theirs.c.listing_kind, theirs.c.listing_id
                )
            )
        ).all()
        strongest: dict[ListingRef, tuple[int, ListingRef]] = {}
        for kind, listing_id, other_kind, other_id, count in pairs:
            source, target = ListingRef(kind, listing_id), ListingRef(other_kind, other_id)
            scores[target] += int(count)
            best = strongest.get(target)
            if best is None or (int(count), source) > best:
                strongest[target] = (int(count), source)
        for target, (_, source) in strongest.items():
            reasons[target] = f"bought together with {source.name}"

    async def _categories(self, s: AsyncSession, mine: set[ListingRef]) -> list[str]:
        connection = await s.connection()
        found: Counter[str] = Counter()
        for kind, table in ((SKILL, SKILLS), (DAEMON, DAEMONS)):
            ids = [ref.id for ref in mine if ref.kind == kind]
            if ids:
                for (category,) in await connection.execute(
                    select(table.c.category).where(table.c.id.in_(ids))
                ):
                    found[category] += 1
        return list(found)

    async def _popular(
        self,
        s: AsyncSession,
        viewer: Caller,
        agent_id: str,
        categories: list[str],
        mine: set[ListingRef],
        scores: dict[ListingRef, float],
        reasons: dict[ListingRef, str],
    ) -> dict[ListingRef, Any]:
        """Adds the category-popularity scores; returns the sellable candidate rows it read."""
        rows: dict[ListingRef, Any] = {}
        for kind, model in ((SKILL, SkillRow), (DAEMON, DaemonRow)):
            query: Any = (
                select(model)
                .join(AgentRow, AgentRow.id == model.owner_id)
                .where(
                    model.state == ListingState.ACTIVE.value,
                    AgentRow.state == "active",
                    model.owner_id != agent_id,
                )
                .order_by(model.purchase_count.desc(), model.created_at.desc())
                .limit(POPULAR_SCANNED)
            )
            if categories:
                query = query.where(model.category.in_(categories))
            if model is DaemonRow:
                query = query.where(visible_to(viewer))
            for row in (await s.scalars(query)).all():
                ref = ListingRef(kind, row.id)
                if ref not in mine:
                    rows[ref] = row
        most = max((row.purchase_count for row in rows.values()), default=0)
        for ref, row in rows.items():
            popularity = math.log1p(row.purchase_count) / math.log1p(most) if most else 0.0
            scores[ref] += popularity
            reasons.setdefault(ref, f"popular in {_category_label(row.category)}")
        return rows


async def _load_sellable(
    s: AsyncSession, ref: ListingRef, viewer: Caller | None = None
) -> SkillRow | DaemonRow | None:
    """The listing's row when it is active, sold by an active agent and visible (public, or to
    `viewer`); None otherwise."""
    model: Any = SkillRow if ref.kind == SKILL else DaemonRow
    query: Any = (
        select(model)
        .join(AgentRow, AgentRow.id == model.owner_id)
        .where(model.id == ref.id, model.state == ListingState.ACTIVE.value, AgentRow.state == "active")
    )
    if ref.kind == DAEMON:
        query = query.where(
            visible_to(viewer) if viewer is not None else DaemonRow.visibility == Visibility.PUBLIC.value
        )
    row: SkillRow | DaemonRow | None = await s.scalar(query)
    return row
