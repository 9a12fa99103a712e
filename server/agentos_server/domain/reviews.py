"""Reviews: what buyers say about a listing, and the rating that comes of it.

Rules: only an agent that holds or held a licence it paid for (origin purchase; trials and free
licences do not count) may review a listing (FAILED_PRECONDITION, reason NO_PAID_LICENSE); one
review per buyer per listing (a second CreateReview: ALREADY_EXISTS, REVIEW_EXISTS; UpdateReview
edits it); 1 to 5 stars (INVALID_ARGUMENT on review.stars); text up to 4,000 characters. The seller
answers each review once (ReplyToReview; a second answer: ALREADY_EXISTS, REPLY_EXISTS). Reviews
are public, except those of a daemon the caller may not see.

A review carries its reviewer's weight, w = 1 + ln(1 + reviewer reputation) (domain/reputation),
taken when the review is written and again when it is edited. The listing's rating is the
weighted average of its reviews' stars, sum(w x stars) / sum(w) (0 without reviews), recomputed
from the listing's reviews in the transaction that writes one and kept on the skill or daemon row
(Skill.rating, review_count) and in its search document; the seller's reputation follows
(Reputation.refresh_ratings).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.caller import Caller
from agentos_server.domain.catalog import load_listing
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Violations,
)
from agentos_server.domain.ids import new_id, parse_name
from agentos_server.domain.ledger import transact
from agentos_server.domain.licenses import Licenses
from agentos_server.domain.listing_refs import ListingRef, listing_of, parse_listing
from agentos_server.domain.listings import check_update_mask
from agentos_server.domain.pagination import PageTokens, fingerprint, page_size
from agentos_server.domain.reputation import REVIEWS, Reputation
from agentos_server.domain.validation import check_text
from agentos_server.infra.db import Database

MAX_TEXT = 4000
UPDATABLE_PATHS = frozenset({"stars", "text"})


@dataclass(frozen=True)
class ReviewDraft:
    listing: str = ""
    stars: int = 0
    text: str = ""


@dataclass(frozen=True)
class ReviewView:
    id: str
    listing: ListingRef
    seller_id: str
    reviewer_id: str
    stars: int
    text: str
    weight: float
    reply_text: str
    reply_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        return f"reviews/{self.id}"


def review_view(row: Any) -> ReviewView:
    return ReviewView(
        id=row.id,
        listing=listing_of(row.listing_kind, row.listing_id),
        seller_id=row.seller_id,
        reviewer_id=row.reviewer_id,
        stars=row.stars,
        text=row.text,
        weight=row.weight,
        reply_text=row.reply_text,
        reply_at=row.reply_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _check_stars(v: Violations, stars: int) -> None:
    if not 1 <= stars <= 5:
        v.add("review.stars", f"must be 1 to 5 stars, not {stars}")


def _not_found(name: str) -> NotFound:
    return NotFound(f"{name} does not exist", reason="REVIEW_NOT_FOUND", metadata={"field": "name"})


class Reviews:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        licenses: Licenses,
        reputation: Reputation,
        page_tokens: PageTokens,
    ) -> None:
        self._db = db
        self._clock = clock
        self._licenses = licenses
        self._reputation = reputation
        self._tokens = page_tokens

    async def _rerate(self, s: AsyncSession, listing: ListingRef, seller_id: str) -> None:
        connection = await s.connection()
        total_weight, weighted, count = (
            await connection.execute(
                select(
                    func.coalesce(func.sum(REVIEWS.c.weight), 0.0),
                    func.coalesce(func.sum(REVIEWS.c.weight * REVIEWS.c.stars), 0.0),
                    func.count(),
                ).where(REVIEWS.c.listing_kind == listing.kind, REVIEWS.c.listing_id == listing.id)
            )
        ).one()
        rating = float(weighted) / float(total_weight) if total_weight else 0.0
        table = listing.table
        await connection.execute(
            update(table).where(table.c.id == listing.id).values(rating=rating, review_count=int(count))
        )
        await self._reputation.refresh_ratings(s, seller_id, (listing, {"rating": rating}))

    async def create(self, caller: Caller, draft: ReviewDraft) -> ReviewView:
        v = Violations()
        ref: ListingRef | None = None
        try:
            ref = parse_listing(draft.listing, "review.listing")
        except InvalidArgument as error:
            v.extend(error)
        _check_stars(v, draft.stars)
        check_text(v, draft.text, "review.text", max_length=MAX_TEXT)
        v.raise_if_any()
        assert ref is not None

        async def work(s: AsyncSession) -> ReviewView:
            info = await load_listing(s, ref, caller, field="review.listing")
            if not await self._licenses.held_paid(s, caller.agent_id, ref):
                raise FailedPrecondition(
                    f"only agents that bought a licence to {ref.name} may review it",
                    reason="NO_PAID_LICENSE",
                    metadata={"field": "review.listing"},
                )
            connection = await s.connection()
            existing = (
                await connection.execute(
                    select(REVIEWS.c.id).where(
                        REVIEWS.c.listing_kind == ref.kind,
                        REVIEWS.c.listing_id == ref.id,
                        REVIEWS.c.reviewer_id == caller.agent_id,
                    )
                )
            ).first()
            if existing is not None:
                raise AlreadyExists(
                    f"you already reviewed {ref.name}: edit reviews/{existing.id} with UpdateReview",
                    reason="REVIEW_EXISTS",
                    metadata={"field": "review.listing", "review": f"reviews/{existing.id}"},
                )
            now = self._clock.now()
            values = {
                "id": new_id(),
                "listing_kind": ref.kind,
                "listing_id": ref.id,
                "seller_id": info.owner_id,
                "reviewer_id": caller.agent_id,
                "stars": draft.stars,
                "text": draft.text,
                "weight": await self._reputation.weight_of(s, caller.agent_id),
                "reply_text": "",
                "reply_at": None,
                "created_at": now,
                "updated_at": now,
            }
            await connection.execute(insert(REVIEWS), values)
            await self._rerate(s, ref, info.owner_id)
            return review_view(_Row(values))

        try:
            return await transact(self._db, work)
        except IntegrityError:
            # A concurrent CreateReview by the same buyer won the unique (listing, reviewer) key.
            raise AlreadyExists(
                f"you already reviewed {ref.name}; edit it with UpdateReview",
                reason="REVIEW_EXISTS",
                metadata={"field": "review.listing"},
            ) from None

    async def update(
        self, caller: Caller, name: str, draft: ReviewDraft, paths: Collection[str]
    ) -> ReviewView:
        review_id = parse_name(name, "reviews", "review.name")
        check_update_mask(paths, UPDATABLE_PATHS)
        v = Violations()
        if "stars" in paths:
            _check_stars(v, draft.stars)
        if "text" in paths:
            check_text(v, draft.text, "review.text", max_length=MAX_TEXT)
        v.raise_if_any()

        async def work(s: AsyncSession) -> ReviewView:
            found = await self._load(s, review_id, "review.name")
            if found.reviewer_id != caller.agent_id:
                raise PermissionDenied(
                    f"only its reviewer may edit {found.name}",
                    reason="NOT_REVIEWER",
                    metadata={"field": "review.name"},
                )
            now = self._clock.now()
            changes: dict[str, Any] = {
                "updated_at": now,
                "weight": await self._reputation.weight_of(s, caller.agent_id),
            }
            if "stars" in paths:
                changes["stars"] = draft.stars
            if "text" in paths:
                changes["text"] = draft.text
            await (await s.connection()).execute(
                update(REVIEWS).where(REVIEWS.c.id == review_id).values(**changes)
            )
            await self._rerate(s, found.listing, found.seller_id)
            return await self._load(s, review_id, "review.name")

        return await transact(self._db, work)

    async def _load(self, s: AsyncSession, review_id: str, field: str = "name") -> ReviewView:
        row = (await (await s.connection()).execute(select(REVIEWS).where(REVIEWS.c.id == review_id))).first()
        if row is None:
            raise NotFound(
                f"reviews/{review_id} does not exist", reason="REVIEW_NOT_FOUND", metadata={"field": field}
            )
        return review_view(row)

    async def get(self, caller: Caller | None, name: str) -> ReviewView:
        review_id = parse_name(name, "reviews")
        async with self._db.snapshot() as s:
            found = await self._load(s, review_id)
            try:
                await load_listing(s, found.listing, caller)
            except NotFound:
                # A review of a daemon the caller may not see does not exist for it either.
                raise _not_found(name) from None
        return found

    async def list_reviews(
        self, caller: Caller | None, listing: str, *, size: int, token: str
    ) -> tuple[list[ReviewView], str]:
        ref = parse_listing(listing)
        limit = page_size(size)
        binding = fingerprint(ref)
        cursor = self._tokens.decode("reviews", token, binding)
        query = select(REVIEWS).where(REVIEWS.c.listing_kind == ref.kind, REVIEWS.c.listing_id == ref.id)
        if cursor is not None:
            query = query.where(REVIEWS.c.id < str(cursor["id"]))
        query = query.order_by(REVIEWS.c.id.desc()).limit(limit + 1)
        async with self._db.snapshot() as s:
            await load_listing(s, ref, caller)
            found = [review_view(row) for row in (await (await s.connection()).execute(query)).all()]
        next_token = ""
        if len(found) > limit:
            found = found[:limit]
            next_token = self._tokens.encode("reviews", {"id": found[-1].id}, binding)
        return found, next_token

    async def reply(self, caller: Caller, name: str, text: str) -> ReviewView:
        review_id = parse_name(name, "reviews")
        v = Violations()
        check_text(v, text.strip(), "text", max_length=MAX_TEXT, required=True)
        v.raise_if_any()

        async def work(s: AsyncSession) -> ReviewView:
            found = await self._load(s, review_id)
            if found.seller_id != caller.agent_id:
                raise PermissionDenied(
                    f"only the seller of {found.listing.name} may answer {name}",
                    reason="NOT_SELLER",
                    metadata={"field": "name"},
                )
            now = self._clock.now()
            answered = await (await s.connection()).execute(
                update(REVIEWS)
                .where(REVIEWS.c.id == review_id, REVIEWS.c.reply_at.is_(None))
                .values(reply_text=text.strip(), reply_at=now)
            )
            if not answered.rowcount:
                raise AlreadyExists(
                    f"{name} already has the seller's answer; a review is answered once",
                    reason="REPLY_EXISTS",
                    metadata={"field": "name"},
                )
            return await self._load(s, review_id)

        return await transact(self._db, work)


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
