"""Seller analytics: what a seller's listings earned and how they were used, per day, week or month.

Per bucket (UTC days; weeks start on Monday; months on the 1st) of [start_time, end_time):
- revenue: the seller's share of purchases made in the bucket, minus the seller's share of
  purchases refunded in the bucket, in one asset (default USDC);
- purchases: purchases made in the bucket (renewals included, failed renewals not);
- refunds: purchases refunded in the bucket;
- active_licenses: licences granted by purchase or free acquisition (trials not counted) active at
  the end of the bucket (or now, for a bucket that has not ended);
- buyers: distinct buyers of the purchases made in the bucket;
- calls: calls and runs of the seller's listings the execution engine reported in the bucket
  (Reputation.record_execution; 0 until it reports any);
- average_rating: the weighted average stars (as Skill.rating) of the reviews written in the bucket.
Totals cover the whole range; their buyers are distinct over the range, their active licences
those active at its end.

Rows are read for the range and counted in Python: the same code on both backends, and a range is
at most MAX_BUCKETS buckets.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Table, and_, or_, select

from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import InvalidArgument, PermissionDenied, Violations
from agentos_server.domain.ids import parse_name
from agentos_server.domain.licenses import LICENSES, TRIAL
from agentos_server.domain.listing_refs import ListingRef, parse_listing
from agentos_server.domain.money import USDC, AssetCatalog
from agentos_server.domain.purchases import COMPLETED, PURCHASES, REFUNDED
from agentos_server.domain.reputation import EXECUTIONS, REVIEWS
from agentos_server.infra.db import Database

MAX_BUCKETS = 1000


class Granularity(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


_DEFAULT_SPAN = {Granularity.DAY: 30, Granularity.WEEK: 12, Granularity.MONTH: 12}


def bucket_start(moment: datetime, granularity: Granularity) -> datetime:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity is Granularity.DAY:
        return day
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket(start: datetime, granularity: Granularity, count: int = 1) -> datetime:
    if granularity is Granularity.DAY:
        return start + timedelta(days=count)
    if granularity is Granularity.WEEK:
        return start + timedelta(weeks=count)
    index = start.month - 1 + count
    return start.replace(year=start.year + index // 12, month=index % 12 + 1)


@dataclass
class Bucket:
    start: datetime
    revenue: int = 0
    purchases: int = 0
    refunds: int = 0
    active_licenses: int = 0
    buyers: int = 0
    calls: int = 0
    average_rating: float = 0.0
    _buyers: set[str] = field(default_factory=set, repr=False)
    _weight: float = field(default=0.0, repr=False)
    _weighted: float = field(default=0.0, repr=False)

    def finish(self) -> None:
        self.buyers = len(self._buyers)
        self.average_rating = self._weighted / self._weight if self._weight else 0.0


@dataclass(frozen=True)
class SellerAnalytics:
    seller_id: str
    asset: str
    granularity: Granularity
    start: datetime
    end: datetime
    buckets: list[Bucket]
    totals: Bucket


def _active_at(moments: Sequence[datetime], spans: Iterable[tuple[datetime, datetime | None]]) -> list[int]:
    """For each moment, how many [start, end) spans contain it (end None: still open)."""
    starts = sorted(start for start, _ in spans)
    ends = sorted(end for _, end in spans if end is not None)
    return [bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t) for t in moments]


class Analytics:
    def __init__(self, db: Database, clock: Clock, assets: AssetCatalog) -> None:
        self._db = db
        self._clock = clock
        self._assets = assets

    async def seller_analytics(
        self,
        caller: Caller,
        seller: str,
        granularity: Granularity | None,
        start: datetime | None,
        end: datetime | None,
        asset: str,
        listing: str,
    ) -> SellerAnalytics:
        v = Violations()
        seller_id = caller.agent_id
        ref: ListingRef | None = None
        if seller:
            try:
                seller_id = parse_name(seller, "agents", "seller")
            except InvalidArgument as error:
                v.extend(error)
        if listing:
            try:
                ref = parse_listing(listing)
            except InvalidArgument as error:
                v.extend(error)
        asset = asset or USDC
        self._assets.check(v, asset, "asset")
        grain = granularity or Granularity.DAY
        now = self._clock.now()
        end = end or now
        start = start or next_bucket(bucket_start(end, grain), grain, -_DEFAULT_SPAN[grain])
        if start >= end:
            v.add("end_time", "must be after start_time")
        v.raise_if_any()
        if seller_id != caller.agent_id and not caller.is_operator:
            raise PermissionDenied(
                "sellers see their own analytics; operators see anyone's",
                reason="NOT_SELLER",
                metadata={"field": "seller"},
            )
        starts = [bucket_start(start, grain)]
        while True:
            following = next_bucket(starts[-1], grain)
            if following >= end:
                break
            starts.append(following)
            if len(starts) > MAX_BUCKETS:
                raise InvalidArgument(
                    f"spans more than {MAX_BUCKETS} {grain.value}s: "
                    "narrow the range or use a coarser granularity",
                    field="start_time",
                    reason="RANGE_TOO_LONG",
                )
        buckets = [Bucket(s) for s in starts]
        totals = Bucket(starts[0])

        def place(moment: datetime) -> Bucket:
            return buckets[bisect.bisect_right(starts, moment) - 1]

        def scoped(table: Table) -> list[ColumnElement[bool]]:
            if ref is None:
                return []
            return [table.c.listing_kind == ref.kind, table.c.listing_id == ref.id]

        async with self._db.snapshot() as session:
            connection = await session.connection()
            bought = await connection.execute(
                select(
                    PURCHASES.c.created_at,
                    PURCHASES.c.buyer_id,
                    PURCHASES.c.asset,
                    PURCHASES.c.seller_amount,
                ).where(
                    PURCHASES.c.seller_id == seller_id,
                    PURCHASES.c.state.in_((COMPLETED, REFUNDED)),
                    PURCHASES.c.created_at >= start,
                    PURCHASES.c.created_at < end,
                    *scoped(PURCHASES),
                )
            )
            for row in bought:
                for target in (place(row.created_at), totals):
                    target.purchases += 1
                    target._buyers.add(row.buyer_id)
                    if row.asset == asset:
                        target.revenue += row.seller_amount
            refunded = await connection.execute(
                select(PURCHASES.c.refunded_at, PURCHASES.c.asset, PURCHASES.c.seller_amount).where(
                    PURCHASES.c.seller_id == seller_id,
                    PURCHASES.c.refunded_at >= start,
                    PURCHASES.c.refunded_at < end,
                    *scoped(PURCHASES),
                )
            )
            for refund in refunded:
                for target in (place(refund.refunded_at), totals):
                    target.refunds += 1
                    if refund.asset == asset:
                        target.revenue -= refund.seller_amount
            reviews = await connection.execute(
                select(REVIEWS.c.created_at, REVIEWS.c.stars, REVIEWS.c.weight).where(
                    REVIEWS.c.seller_id == seller_id,
                    REVIEWS.c.created_at >= start,
                    REVIEWS.c.created_at < end,
                    *scoped(REVIEWS),
                )
            )
            for review in reviews:
                for target in (place(review.created_at), totals):
                    target._weight += review.weight
                    target._weighted += review.weight * review.stars
            executions = await connection.execute(
                select(EXECUTIONS.c.day, EXECUTIONS.c.calls).where(
                    EXECUTIONS.c.seller_id == seller_id,
                    EXECUTIONS.c.day >= bucket_start(start, Granularity.DAY),
                    EXECUTIONS.c.day < end,
                    *scoped(EXECUTIONS),
                )
            )
            for execution in executions:
                for target in (place(max(execution.day, starts[0])), totals):
                    target.calls += execution.calls
            licences = await connection.execute(
                select(LICENSES.c.created_at, LICENSES.c.ended_at, LICENSES.c.expires_at).where(
                    LICENSES.c.seller_id == seller_id,
                    LICENSES.c.origin != TRIAL,
                    LICENSES.c.created_at < end,
                    or_(LICENSES.c.ended_at.is_(None), LICENSES.c.ended_at > start),
                    or_(LICENSES.c.expires_at.is_(None), and_(LICENSES.c.expires_at > start)),
                    *scoped(LICENSES),
                )
            )
            spans = []
            for licence in licences:
                stops = [t for t in (licence.ended_at, licence.expires_at) if t is not None]
                spans.append((licence.created_at, min(stops) if stops else None))
        moments = [min(next_bucket(b.start, grain), end, now) for b in buckets] + [min(end, now)]
        counts = _active_at(moments, spans)
        for bucket, count in zip(buckets, counts, strict=False):
            bucket.active_licenses = count
            bucket.finish()
        totals.active_licenses = counts[-1]
        totals.finish()
        return SellerAnalytics(seller_id, asset, grain, start, end, buckets, totals)
