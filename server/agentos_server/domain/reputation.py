"""Reputation: how far buyers can trust a seller, as the ClawOS seed defines it.

The formula
-----------
    reputation = weighted_rating x ln(transactions + 1) x quality_multiplier

- weighted_rating: the stars of every review of the agent's listings, each weighted by its
  reviewer's weight, averaged with a neutral prior of PRIOR_STARS (3) stars at PRIOR_WEIGHT (1):
      weighted_rating = (sum(w_i x stars_i) + 3 x 1) / (sum(w_i) + 1)
  so an agent without reviews stands at 3.0 and one five-star review moves it to 4.0, not to 5.0.
  Without the prior an agent with many sales and no reviews would have reputation 0, below one
  with a single sale and a single review.
- review weight (frozen when the review is written or edited, so that a reputation change never
  cascades through every review its owner ever wrote):
      w = 1 + ln(1 + max(reviewer_reputation, 0))
  a reviewer without reputation counts 1, one at reputation 10 counts 3.4, one at 100 counts 5.6:
  reputable reviewers count more, but logarithmically, so none can outvote the crowd.
- transactions: paid purchases of the agent's listings completed and not refunded, renewals
  included (Agent.total_sales shows the same count). ln(transactions + 1) is 0 without sales.
- quality_multiplier = (0.5 + 0.5 x documentation_score) x (0.5 + 0.5 x execution_success_rate)
  documentation_score: the mean over the agent's active listings of 0.5 x [documentation present]
  + 0.5 x [API spec present]; for a skill those are code.documentation_uri and openapi_spec, for a
  daemon its description and its definition (validated on publish, so always present).
  execution_success_rate: successful calls and runs of the agent's listings over all of them, as
  the execution engine reports them (record_execution); 1.0 until the first is recorded. Each
  factor ranges 0.5 to 1, so neither missing docs nor failing runs alone can zero a seller out.

Examples: no sales -> 0. 10 sales, no reviews, full docs -> 3 x ln 11 x 1 = 7.19. 100 sales,
five-star reviews of total weight 20, full docs, 90 % success -> (100+3)/21 x ln 101 x 0.95 = 21.5.

Kept up to date incrementally, inside the transaction of the change that moves it: a purchase or a
renewal (+1 transaction), a refund (-1), a review written or edited (ratings recomputed from the
agent's reviews), a listing published, updated or deprecated (documentation recomputed from the
agent's listings), and an execution outcome. Each change updates the `reputations` row, the
agent's reputation and total_sales (what Agent.reputation shows), and the publisher reputation of
the agent's search documents (the reputation sort and the relevance factor of Search).

Domain API for the execution engine: `record_execution(listing, seller_id, success, session=)`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import NotFound
from agentos_server.domain.ids import parse_name
from agentos_server.domain.ledger import transact
from agentos_server.domain.listing_refs import AGENTS, DAEMONS, SKILLS, ListingRef
from agentos_server.domain.listings import ListingState
from agentos_server.domain.search import ResourceKind, reputation_boost
from agentos_server.infra.db import Database
from agentos_server.infra.sql import table_of
from agentos_server.infra.tables.marketplace import ListingExecutionRow, ReputationRow, ReviewRow
from agentos_server.infra.tables.search import SearchDocumentRow

PRIOR_STARS = 3.0
PRIOR_WEIGHT = 1.0

REPUTATIONS = table_of(ReputationRow)
REVIEWS = table_of(ReviewRow)
EXECUTIONS = table_of(ListingExecutionRow)
SEARCH_DOCUMENTS = table_of(SearchDocumentRow)


# A listing and the new values of its search statistics ("popularity", "rating").
ListingStats = tuple[ListingRef, dict[str, float | int]]


def review_weight(reviewer_reputation: float) -> float:
    return 1.0 + math.log1p(max(reviewer_reputation, 0.0))


def weighted_rating(rating_sum: float, rating_weight: float) -> float:
    return (rating_sum + PRIOR_STARS * PRIOR_WEIGHT) / (rating_weight + PRIOR_WEIGHT)


def success_rate(executions: int, successes: int) -> float:
    return 1.0 if executions <= 0 else successes / executions


def quality_multiplier(documentation_score: float, execution_success_rate: float) -> float:
    return (0.5 + 0.5 * documentation_score) * (0.5 + 0.5 * execution_success_rate)


def reputation_score(
    rating_sum: float,
    rating_weight: float,
    transactions: int,
    documentation_score: float,
    executions: int,
    successes: int,
) -> float:
    return (
        weighted_rating(rating_sum, rating_weight)
        * math.log(max(transactions, 0) + 1)
        * quality_multiplier(documentation_score, success_rate(executions, successes))
    )


# The same formula in SQL over a row of `reputations`, for the purchase hot path on PostgreSQL
# (infra/marketplace_pg.py), which updates the score in the statement that records the sale.
SCORE_SQL = (
    f"((reputations.rating_sum + {PRIOR_STARS * PRIOR_WEIGHT!r})"
    f" / (reputations.rating_weight + {PRIOR_WEIGHT!r}))"
    " * ln((reputations.transaction_count + 1)::float8)"
    " * (0.5 + 0.5 * reputations.documentation_score)"
    " * (0.5 + 0.5 * CASE WHEN reputations.execution_count <= 0 THEN 1.0"
    " ELSE reputations.execution_successes::float8 / reputations.execution_count END)"
)
# search.reputation_boost in SQL, over the score expression substituted for {score}.
BOOST_SQL = "(1 + ln(1 + greatest({score}, 0)) / 4)"


def skill_documentation(code: Mapping[str, Any] | None, openapi_spec: str) -> float:
    documented = bool((code or {}).get("documentation_uri"))
    return 0.5 * documented + 0.5 * bool(openapi_spec.strip())


def daemon_documentation(description: str) -> float:
    # The definition is the daemon's API spec (typed inputs, validated on publish): always present.
    return 0.5 * bool(description.strip()) + 0.5


@dataclass(frozen=True)
class ReputationView:
    agent_id: str
    score: float
    weighted_rating: float
    transaction_count: int
    review_count: int
    quality_multiplier: float
    documentation_score: float
    execution_success_rate: float
    execution_count: int
    updated_at: datetime | None

    @property
    def name(self) -> str:
        return f"agents/{self.agent_id}"


def _view(agent_id: str, row: Any | None) -> ReputationView:
    if row is None:
        return ReputationView(
            agent_id, 0.0, PRIOR_STARS, 0, 0, quality_multiplier(0.0, 1.0), 0.0, 1.0, 0, None
        )
    rate = success_rate(row.execution_count, row.execution_successes)
    return ReputationView(
        agent_id=agent_id,
        score=reputation_score(
            row.rating_sum,
            row.rating_weight,
            row.transaction_count,
            row.documentation_score,
            row.execution_count,
            row.execution_successes,
        ),
        weighted_rating=weighted_rating(row.rating_sum, row.rating_weight),
        transaction_count=row.transaction_count,
        review_count=row.review_count,
        quality_multiplier=quality_multiplier(row.documentation_score, rate),
        documentation_score=row.documentation_score,
        execution_success_rate=rate,
        execution_count=row.execution_count,
        updated_at=row.updated_at,
    )


class Reputation:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    # --- reads ------------------------------------------------------------------------------------

    async def get(self, agent: str, field: str = "agent") -> ReputationView:
        agent_id = parse_name(agent, "agents", field)
        async with self._db.snapshot() as session:
            connection = await session.connection()
            exists = (await connection.execute(select(AGENTS.c.id).where(AGENTS.c.id == agent_id))).first()
            if exists is None:
                raise NotFound(
                    f"agents/{agent_id} does not exist", reason="AGENT_NOT_FOUND", metadata={"field": field}
                )
            row = (
                await connection.execute(select(REPUTATIONS).where(REPUTATIONS.c.agent_id == agent_id))
            ).first()
        return _view(agent_id, row)

    async def weight_of(self, session: AsyncSession, reviewer_id: str) -> float:
        """The weight a review by this agent carries now."""
        score = await session.scalar(select(AGENTS.c.reputation).where(AGENTS.c.id == reviewer_id))
        return review_weight(float(score or 0.0))

    # --- incremental changes ----------------------------------------------------------------------

    async def add_transactions(
        self, session: AsyncSession, seller_id: str, delta: int, listing: ListingStats | None = None
    ) -> ReputationView:
        """A paid purchase or renewal (+1) or a refund (-1) of the seller's listings; `listing`
        carries the listing's new statistics for its search document."""
        return await _apply(
            session,
            seller_id,
            self._clock.now(),
            increments={"transaction_count": delta},
            sales_changed=True,
            listing=listing,
        )

    async def refresh_ratings(
        self, session: AsyncSession, seller_id: str, listing: ListingStats | None = None
    ) -> ReputationView:
        """Recomputes the rating sums from the seller's reviews (after one was written or edited)."""
        connection = await session.connection()
        sums = (
            await connection.execute(
                select(
                    func.coalesce(func.sum(REVIEWS.c.weight), 0.0),
                    func.coalesce(func.sum(REVIEWS.c.weight * REVIEWS.c.stars), 0.0),
                    func.count(),
                ).where(REVIEWS.c.seller_id == seller_id)
            )
        ).one()
        values = {"rating_weight": float(sums[0]), "rating_sum": float(sums[1]), "review_count": int(sums[2])}
        return await _apply(session, seller_id, self._clock.now(), values=values, listing=listing)

    async def record_execution(
        self,
        listing: ListingRef,
        seller_id: str,
        success: bool,
        *,
        when: datetime | None = None,
        session: AsyncSession | None = None,
    ) -> ReputationView:
        """Counts one proxied call (skill) or run (daemon) of a listing and whether it succeeded:
        the listing's calls per day (seller analytics) and the seller's execution success rate."""
        return await self.record_executions(listing, seller_id, 1, int(success), when=when, session=session)

    async def record_executions(
        self,
        listing: ListingRef,
        seller_id: str,
        calls: int,
        successes: int,
        *,
        when: datetime | None = None,
        session: AsyncSession | None = None,
    ) -> ReputationView:
        """record_execution for `calls` executions of one day at once, `successes` of them
        successful (the skill proxy counts its calls in batches, off the call's hot path)."""

        async def work(s: AsyncSession) -> ReputationView:
            now = self._clock.now()
            moment = when or now
            day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            connection = await s.connection()
            statement = _insert(connection, EXECUTIONS).values(
                listing_kind=listing.kind,
                listing_id=listing.id,
                day=day,
                seller_id=seller_id,
                calls=calls,
                successes=successes,
            )
            statement = statement.on_conflict_do_update(
                index_elements=[EXECUTIONS.c.listing_kind, EXECUTIONS.c.listing_id, EXECUTIONS.c.day],
                set_={"calls": EXECUTIONS.c.calls + calls, "successes": EXECUTIONS.c.successes + successes},
            )
            await connection.execute(statement)
            return await _apply(
                s, seller_id, now, increments={"execution_count": calls, "execution_successes": successes}
            )

        if session is not None:
            return await work(session)
        return await transact(self._db, work)


async def listing_changed(session: AsyncSession, owner_id: str, now: datetime) -> ReputationView:
    """The Registry calls this in the transaction that publishes, updates, forks or deprecates a
    listing: recomputes the owner's documentation score from its active listings, and so its
    reputation."""
    # The Registry's session does not autoflush: make the listing change it just made visible.
    await session.flush()
    connection = await session.connection()
    active = ListingState.ACTIVE.value
    scores = [
        skill_documentation(row.code, "x" if row.has_spec else "")
        for row in await connection.execute(
            select(SKILLS.c.code, (SKILLS.c.openapi_spec != "").label("has_spec")).where(
                SKILLS.c.owner_id == owner_id, SKILLS.c.state == active
            )
        )
    ]
    scores += [
        daemon_documentation(row.description)
        for row in await connection.execute(
            select(DAEMONS.c.description).where(DAEMONS.c.owner_id == owner_id, DAEMONS.c.state == active)
        )
    ]
    score = sum(scores) / len(scores) if scores else 0.0
    return await _apply(session, owner_id, now, values={"documentation_score": score})


# --- the one write path ---------------------------------------------------------------------------


def _insert(connection: AsyncConnection, table: Any) -> Any:
    return postgresql.insert(table) if connection.dialect.name == "postgresql" else sqlite.insert(table)


async def _apply(
    session: AsyncSession,
    agent_id: str,
    now: datetime,
    *,
    increments: Mapping[str, int] | None = None,
    values: Mapping[str, float | int] | None = None,
    sales_changed: bool = False,
    listing: ListingStats | None = None,
) -> ReputationView:
    """Upserts the agent's reputation parts, then publishes the new score on the agent row and on
    the agent's search documents, all in the caller's transaction.

    Lock order, the same in every marketplace and registry write, so that none can deadlock
    another: the listing's row, then this reputations row, the agent row, the agent's search
    documents, and (in the caller, last) the ledger accounts. A listing's own search statistics
    are written in the same statement as its owner's documents for that reason."""
    increments = increments or {}
    values = values or {}
    initial: dict[str, Any] = {
        "agent_id": agent_id,
        "rating_weight": 0.0,
        "rating_sum": 0.0,
        "review_count": 0,
        "transaction_count": 0,
        "documentation_score": 0.0,
        "execution_count": 0,
        "execution_successes": 0,
        "updated_at": now,
    }
    for column, delta in increments.items():
        initial[column] = max(delta, 0)
    initial.update(values)
    changes: dict[str, Any] = {"updated_at": now, **values}
    for column, delta in increments.items():
        changes[column] = REPUTATIONS.c[column] + delta
    connection = await session.connection()
    statement = (
        _insert(connection, REPUTATIONS)
        .values(**initial)
        .on_conflict_do_update(index_elements=[REPUTATIONS.c.agent_id], set_=changes)
        .returning(*REPUTATIONS.c)
    )
    row = (await connection.execute(statement)).one()
    view = _view(agent_id, row)
    published: dict[str, Any] = {"reputation": view.score}
    searchable: dict[str, Any] = {"reputation": view.score, "boost": reputation_boost(view.score)}
    popularity: list[Any] = []
    if sales_changed:
        published["total_sales"] = view.transaction_count
        # An agent's own document ranks by its sales in the popular order.
        popularity.append((SEARCH_DOCUMENTS.c.kind == ResourceKind.AGENT.value, view.transaction_count))
    if listing is not None:
        ref, stats = listing
        its_document = and_(SEARCH_DOCUMENTS.c.kind == ref.kind, SEARCH_DOCUMENTS.c.resource_id == ref.id)
        for column, value in stats.items():
            if column == "popularity":
                popularity.append((its_document, value))
            else:
                searchable[column] = case((its_document, value), else_=SEARCH_DOCUMENTS.c[column])
    if popularity:
        searchable["popularity"] = case(*popularity, else_=SEARCH_DOCUMENTS.c.popularity)
    await connection.execute(update(AGENTS).where(AGENTS.c.id == agent_id).values(**published))
    await connection.execute(
        update(SEARCH_DOCUMENTS).where(SEARCH_DOCUMENTS.c.owner_id == agent_id).values(**searchable)
    )
    return view
