"""What happens as time passes, on a server whose clock the tests move: subscription renewals and
lapses, the refund window, features that end, and seller analytics per day and week.

The marketplace sweeper is off (AGENTOS_RENEWAL_SWEEP_SECONDS=0); tests run it on demand through
`runtime.marketplace.sweep()`, so nothing sleeps. Each test starts a month after the previous one
ended, so that their subscriptions do not interfere.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2

from agentos.marketplace.v1 import marketplace_pb2 as mpb
from agentos.registry.v1 import registry_pb2 as rpb
from agentos_server.domain.listing_refs import parse_listing
from agentos_server.domain.marketplace import SweepReport

from marketkit import buy, create_skill, get_skill, one_time, refund, review, subscription, verify
from paykit import USDC, TravelClock, assert_ledger_balanced, balances, fund
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent, create_operator, start_server


@pytest.fixture(scope="module")
def clock() -> TravelClock:
    return TravelClock(datetime(2026, 1, 31, 12, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def timed(clock: TravelClock) -> Iterator[ServerHandle]:
    handle = start_server(clock=clock, renewal_sweep_seconds=0, hold_sweep_seconds=0)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def boss(timed: ServerHandle) -> AgentHandle:
    return create_operator(timed)


@pytest.fixture(autouse=True)
def next_month(clock: TravelClock) -> None:
    clock.advance(timedelta(days=31))


def sweep(server: ServerHandle) -> SweepReport:
    return server.run(server.runtime.marketplace.sweep())


def stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(moment)
    return message


def licence(server: ServerHandle, caller: AgentHandle, name: str) -> mpb.License:
    response: mpb.GetLicenseResponse = server.marketplace.GetLicense(
        mpb.GetLicenseRequest(name=name), metadata=caller.auth
    )
    return response.license


def purchases(server: ServerHandle, caller: AgentHandle) -> list[mpb.Purchase]:
    response: mpb.ListPurchasesResponse = server.marketplace.ListPurchases(
        mpb.ListPurchasesRequest(page_size=100), metadata=caller.auth
    )
    return list(response.purchases)


def test_a_subscription_renews_from_the_wallet_on_its_day_of_the_month(
    timed: ServerHandle, boss: AgentHandle, clock: TravelClock
) -> None:
    clock.set(datetime(2026, 3, 31, 9, 0, tzinfo=UTC))
    seller, buyer = create_agent(timed, "landlord"), create_agent(timed, "tenant")
    skill = create_skill(timed, seller, subscription(1_000_001))
    fund(timed, boss, buyer, 3 * 1_000_001)
    bought = buy(timed, buyer, skill.name)
    # 31 March + 1 month is 30 April; the next period keeps the anchor: 31 May.
    assert bought.license.expire_time.ToDatetime(UTC) == datetime(2026, 4, 30, 9, 0, tzinfo=UTC)

    clock.set(datetime(2026, 4, 30, 8, 30, tzinfo=UTC))
    assert sweep(timed).renewals.renewed >= 1
    renewed = licence(timed, buyer, bought.license.name)
    assert renewed.expire_time.ToDatetime(UTC) == datetime(2026, 5, 31, 9, 0, tzinfo=UTC)
    assert renewed.state == mpb.LICENSE_STATE_ACTIVE
    history = purchases(timed, buyer)
    assert len(history) == 2
    renewal = history[0]
    assert renewal.renewal
    assert renewal.state == mpb.PURCHASE_STATE_COMPLETED
    assert renewal.license == bought.license.name
    assert renewed.purchase == renewal.name
    fee = 1_000_001 * 250 // 10_000
    assert renewal.platform_fee.amount == fee
    assert balances(timed, buyer) == (1_000_001, 0)
    assert balances(timed, seller) == (2 * (1_000_001 - fee), 0)
    # A second sweep in the same period renews nothing more.
    sweep(timed)
    assert len(purchases(timed, buyer)) == 2
    assert_ledger_balanced(timed, boss)


def test_an_unpaid_renewal_is_retried_then_the_licence_lapses(
    timed: ServerHandle, boss: AgentHandle, clock: TravelClock
) -> None:
    seller, buyer = create_agent(timed, "strict"), create_agent(timed, "short")
    skill = create_skill(timed, seller, subscription(500, rpb.BILLING_INTERVAL_DAILY))
    fund(timed, boss, buyer, 500)
    bought = buy(timed, buyer, skill.name)
    expiry = bought.license.expire_time.ToDatetime(UTC)

    clock.set(expiry - timedelta(minutes=30))
    assert sweep(timed).renewals.retrying >= 1
    # Still valid until its expiry; nothing recorded yet.
    assert verify(timed, buyer, skill.name).valid
    assert len(purchases(timed, buyer)) == 1

    clock.set(expiry + timedelta(seconds=1))
    answer = verify(timed, buyer, skill.name)
    assert not answer.valid
    assert answer.denial == mpb.LICENSE_DENIAL_EXPIRED
    assert sweep(timed).renewals.lapsed >= 1
    lapsed = licence(timed, buyer, bought.license.name)
    assert lapsed.state == mpb.LICENSE_STATE_EXPIRED
    assert lapsed.lapse_reason == "renewal failed: INSUFFICIENT_FUNDS"
    assert not lapsed.auto_renew
    failed = purchases(timed, buyer)[0]
    assert failed.state == mpb.PURCHASE_STATE_FAILED
    assert failed.renewal
    assert failed.transaction == ""
    assert "INSUFFICIENT_FUNDS" in failed.refund_reason
    assert "renewal failed: INSUFFICIENT_FUNDS" in verify(timed, buyer, skill.name).message
    # With money again, the buyer subscribes anew.
    fund(timed, boss, buyer, 500)
    assert buy(timed, buyer, skill.name).license.state == mpb.LICENSE_STATE_ACTIVE


def test_a_cancelled_subscription_runs_to_its_end_and_is_not_charged(
    timed: ServerHandle, boss: AgentHandle, clock: TravelClock
) -> None:
    seller, buyer = create_agent(timed, "weekly"), create_agent(timed, "quitter")
    skill = create_skill(timed, seller, subscription(700, rpb.BILLING_INTERVAL_WEEKLY))
    fund(timed, boss, buyer, 1_400)
    bought = buy(timed, buyer, skill.name)
    timed.marketplace.CancelSubscription(
        mpb.CancelSubscriptionRequest(name=bought.license.name), metadata=buyer.auth
    )
    expiry = bought.license.expire_time.ToDatetime(UTC)
    clock.set(expiry - timedelta(minutes=10))
    sweep(timed)
    assert verify(timed, buyer, skill.name).valid
    clock.set(expiry + timedelta(minutes=1))
    sweep(timed)
    ended = licence(timed, buyer, bought.license.name)
    assert ended.state == mpb.LICENSE_STATE_EXPIRED
    assert ended.lapse_reason.startswith("cancelled")
    assert balances(timed, buyer) == (700, 0)
    assert len(purchases(timed, buyer)) == 1


def test_a_deprecated_listing_does_not_renew(
    timed: ServerHandle, boss: AgentHandle, clock: TravelClock
) -> None:
    seller, buyer = create_agent(timed, "sunset"), create_agent(timed, "loyal")
    skill = create_skill(timed, seller, subscription(300, rpb.BILLING_INTERVAL_DAILY))
    fund(timed, boss, buyer, 900)
    bought = buy(timed, buyer, skill.name)
    timed.registry.DeprecateSkill(
        rpb.DeprecateSkillRequest(name=skill.name, reason="retired"), metadata=seller.auth
    )
    # Existing licences keep working until they end.
    assert verify(timed, buyer, skill.name).valid
    clock.set(bought.license.expire_time.ToDatetime(UTC) + timedelta(seconds=1))
    sweep(timed)
    ended = licence(timed, buyer, bought.license.name)
    assert ended.lapse_reason == "renewal failed: LISTING_DEPRECATED"
    assert balances(timed, buyer) == (600, 0)


def test_refunds_only_within_the_window(timed: ServerHandle, boss: AgentHandle, clock: TravelClock) -> None:
    seller, buyer = create_agent(timed, "windowed"), create_agent(timed, "patient")
    skill = create_skill(timed, seller, one_time(USDC))
    fund(timed, boss, buyer, 2 * USDC)
    early = buy(timed, buyer, skill.name).purchase
    clock.advance(timedelta(hours=168) - timedelta(seconds=1))
    assert refund(timed, seller, early.name).state == mpb.PURCHASE_STATE_REFUNDED
    late = buy(timed, buyer, skill.name).purchase
    clock.advance(timedelta(hours=168, seconds=1))
    assert_refused(
        timed,
        lambda: refund(timed, seller, late.name),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="REFUND_WINDOW_CLOSED",
        field="name",
    )
    assert_refused(
        timed,
        lambda: refund(timed, boss, late.name),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="REFUND_WINDOW_CLOSED",
    )


def test_features_end_on_time(timed: ServerHandle, boss: AgentHandle, clock: TravelClock) -> None:
    seller = create_agent(timed, "featured")
    lasting = create_skill(timed, seller, one_time(USDC))
    brief = create_skill(timed, seller, one_time(USDC))

    def feature(name: str, end: datetime | None = None) -> mpb.FeaturedListing:
        request = mpb.FeatureListingRequest(listing=name)
        if end is not None:
            request.end_time.CopyFrom(stamp(end))
        response: mpb.FeatureListingResponse = timed.marketplace.FeatureListing(request, metadata=boss.auth)
        return response.featured_listing

    def featured() -> list[str]:
        found = timed.marketplace.ListFeaturedListings(mpb.ListFeaturedListingsRequest(page_size=100))
        return [f.listing.skill.name for f in found.featured_listings]

    shown = feature(lasting.name)
    assert shown.listing.skill.featured
    assert not shown.HasField("end_time")
    clock.advance(timedelta(seconds=1))
    feature(brief.name, clock.now() + timedelta(days=1))
    assert featured()[:2] == [brief.name, lasting.name]
    assert get_skill(timed, brief.name).featured
    assert_refused(
        timed,
        lambda: feature(brief.name, clock.now() - timedelta(seconds=1)),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="end_time",
    )

    clock.advance(timedelta(days=1, seconds=1))
    # Gone from the list at once; the sweeper then clears the listing's flag.
    assert brief.name not in featured()
    assert lasting.name in featured()
    assert sweep(timed).features_ended >= 1
    assert not get_skill(timed, brief.name).featured
    timed.marketplace.UnfeatureListing(mpb.UnfeatureListingRequest(listing=lasting.name), metadata=boss.auth)
    assert lasting.name not in featured()
    assert not get_skill(timed, lasting.name).featured
    assert_refused(
        timed,
        lambda: timed.marketplace.UnfeatureListing(
            mpb.UnfeatureListingRequest(listing=lasting.name), metadata=boss.auth
        ),
        grpc.StatusCode.NOT_FOUND,
        reason="NOT_FEATURED",
    )


def test_seller_analytics_per_day_and_week(
    timed: ServerHandle, boss: AgentHandle, clock: TravelClock
) -> None:
    clock.set(datetime(2027, 3, 1, 10, 0, tzinfo=UTC))  # a Monday
    seller = create_agent(timed, "analysed")
    skill = create_skill(timed, seller, one_time(USDC))
    other = create_skill(timed, seller, one_time(2 * USDC))
    buyers = [create_agent(timed, f"customer{i}") for i in range(3)]
    for buyer in buyers:
        fund(timed, boss, buyer, 10 * USDC)
    share, other_share = USDC - USDC * 250 // 10_000, 2 * USDC - 2 * USDC * 250 // 10_000

    buy(timed, buyers[0], skill.name)  # Monday
    clock.advance(timedelta(days=1))
    second = buy(timed, buyers[1], skill.name).purchase  # Tuesday
    buy(timed, buyers[1], other.name)
    review(timed, buyers[1], skill.name, 4)
    marketplace = timed.runtime.marketplace
    for ok in (True, False, True):
        timed.run(marketplace.reputation.record_execution(parse_listing(skill.name), seller.id, ok))
    clock.advance(timedelta(days=1))
    refund(timed, seller, second.name)  # Wednesday
    buy(timed, buyers[2], skill.name)

    def analytics(
        granularity: int, start: datetime, end: datetime, listing: str = ""
    ) -> mpb.GetSellerAnalyticsResponse:
        response: mpb.GetSellerAnalyticsResponse = timed.marketplace.GetSellerAnalytics(
            mpb.GetSellerAnalyticsRequest(
                granularity=granularity, start_time=stamp(start), end_time=stamp(end), listing=listing
            ),
            metadata=seller.auth,
        )
        return response

    monday = datetime(2027, 3, 1, tzinfo=UTC)
    daily = analytics(mpb.GRANULARITY_DAY, monday, monday + timedelta(days=4))
    assert [b.start_time.ToDatetime(UTC) for b in daily.buckets] == [
        monday + timedelta(days=i) for i in range(4)
    ]
    assert [b.purchases for b in daily.buckets] == [1, 2, 1, 0]
    assert [b.refunds for b in daily.buckets] == [0, 0, 1, 0]
    assert [b.revenue.amount for b in daily.buckets] == [share, share + other_share, share - share, 0]
    assert [b.buyers for b in daily.buckets] == [1, 1, 1, 0]
    assert [b.calls for b in daily.buckets] == [0, 3, 0, 0]
    assert [b.average_rating for b in daily.buckets] == [0.0, pytest.approx(4.0), 0.0, 0.0]
    # Active at the end of each day: 1; 3; 3 - 1 refunded + 1 bought; the last bucket ends now.
    assert [b.active_licenses for b in daily.buckets] == [1, 3, 3, 3]
    totals = daily.totals
    assert totals.purchases == 4
    assert totals.refunds == 1
    assert totals.buyers == 3
    assert totals.revenue.amount == 2 * share + other_share
    assert totals.revenue.asset == "USDC"
    assert totals.active_licenses == 3

    weekly = analytics(mpb.GRANULARITY_WEEK, monday, monday + timedelta(days=7))
    assert len(weekly.buckets) == 1
    assert weekly.buckets[0].purchases == 4
    only_other = analytics(mpb.GRANULARITY_DAY, monday, monday + timedelta(days=4), other.name)
    assert only_other.totals.purchases == 1
    assert only_other.totals.revenue.amount == other_share

    # Sellers see their own; operators see anyone's.
    assert_refused(
        timed,
        lambda: timed.marketplace.GetSellerAnalytics(
            mpb.GetSellerAnalyticsRequest(seller=seller.name), metadata=buyers[0].auth
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    as_operator = timed.marketplace.GetSellerAnalytics(
        mpb.GetSellerAnalyticsRequest(
            seller=seller.name, start_time=stamp(monday), end_time=stamp(monday + timedelta(days=4))
        ),
        metadata=boss.auth,
    )
    assert as_operator.totals == totals
    assert_refused(
        timed,
        lambda: analytics(mpb.GRANULARITY_DAY, monday + timedelta(days=1), monday),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="end_time",
    )


def test_renewals_read_past_a_batch_of_unpaid_ones(
    timed: ServerHandle, boss: AgentHandle, clock: TravelClock
) -> None:
    seller = create_agent(timed, "batched")
    skill = create_skill(timed, seller, subscription(400, rpb.BILLING_INTERVAL_DAILY))
    # Three buyers who cannot pay their renewal expire first; the one who can expires last.
    licences = []
    for name, funds in (("poor1", 400), ("poor2", 400), ("poor3", 400), ("rich", 800)):
        buyer = create_agent(timed, name)
        fund(timed, boss, buyer, funds)
        licences.append((buyer, buy(timed, buyer, skill.name).license))
        clock.advance(timedelta(seconds=1))
    last_expiry = licences[-1][1].expire_time.ToDatetime(UTC)
    clock.set(last_expiry - timedelta(minutes=5))
    report = timed.run(timed.runtime.marketplace.purchases.renew_due(batch=2))
    assert report.retrying >= 3
    rich, renewed = licences[-1]
    assert licence(timed, rich, renewed.name).expire_time.ToDatetime(UTC) == last_expiry + timedelta(days=1)
    assert balances(timed, rich) == (0, 0)
