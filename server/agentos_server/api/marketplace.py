"""agentos.marketplace.v1.MarketplaceService: purchases, licences, reviews, reputation, analytics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentos.common.v1 import common_pb2
from agentos.marketplace.v1 import marketplace_pb2 as pb
from agentos.registry.v1 import registry_pb2
from agentos_server.api import context
from agentos_server.api.listings import PRICING_MODEL_PROTO, daemon_to_proto, populated_paths, skill_to_proto
from agentos_server.api.servicers import service, timestamp
from agentos_server.domain.analytics import Bucket, Granularity
from agentos_server.domain.daemons import DaemonView
from agentos_server.domain.featured import FeaturedView, Recommendation
from agentos_server.domain.licenses import Denial, LicenseCheck, LicenseView
from agentos_server.domain.listing_refs import SKILL
from agentos_server.domain.marketplace import Marketplace
from agentos_server.domain.pricing import LicenseType
from agentos_server.domain.purchases import PurchaseView
from agentos_server.domain.reputation import ReputationView
from agentos_server.domain.reviews import UPDATABLE_PATHS, ReviewDraft, ReviewView
from agentos_server.domain.skills import SkillView
from agentos_server.infra.tables.listings import SkillRow

Ctx = Any


def _by_suffix(enum: Any, prefix: str) -> dict[str, Any]:
    """Proto enum values keyed by their lower-case name without the prefix ("completed")."""
    return {
        name.removeprefix(prefix).lower(): value
        for name, value in enum.items()
        if not name.endswith("_UNSPECIFIED")
    }


LICENSE_TYPES: dict[Any, LicenseType] = {
    value: LicenseType(name) for name, value in _by_suffix(registry_pb2.LicenseType, "LICENSE_TYPE_").items()
}
LICENSE_TYPE_PROTO = {value: key for key, value in LICENSE_TYPES.items()}
PURCHASE_STATES = _by_suffix(pb.PurchaseState, "PURCHASE_STATE_")
LICENSE_STATES = _by_suffix(pb.LicenseState, "LICENSE_STATE_")
LICENSE_STATE_NAMES = {value: key for key, value in LICENSE_STATES.items()}
ORIGINS = _by_suffix(pb.LicenseOrigin, "LICENSE_ORIGIN_")
DENIALS = {Denial(name): value for name, value in _by_suffix(pb.LicenseDenial, "LICENSE_DENIAL_").items()}
GRANULARITIES = {
    value: Granularity(name) for name, value in _by_suffix(pb.Granularity, "GRANULARITY_").items()
}


def money(asset: str, amount: int) -> common_pb2.Money:
    return common_pb2.Money(asset=asset, amount=amount)


def _time(message: Any, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    value: datetime = getattr(message, field).ToDatetime(tzinfo=UTC)
    return value


def purchase_proto(view: PurchaseView) -> pb.Purchase:
    return pb.Purchase(
        name=view.name,
        buyer=f"agents/{view.buyer_id}",
        seller=f"agents/{view.seller_id}",
        listing=view.listing.name,
        listing_version=view.listing_version,
        license_type=LICENSE_TYPE_PROTO[view.license_type],
        pricing_model=PRICING_MODEL_PROTO[view.pricing_model],
        amount=money(view.asset, view.amount),
        seller_amount=money(view.asset, view.seller_amount),
        platform_fee=money(view.asset, view.fee_amount),
        units=view.units,
        state=PURCHASE_STATES[view.state],
        license=f"licenses/{view.license_id}",
        transaction=f"transactions/{view.transaction_id}" if view.transaction_id else "",
        refund_transaction=f"transactions/{view.refund_transaction_id}" if view.refund_transaction_id else "",
        renewal=view.renewal,
        idempotency_key=view.idempotency_key,
        create_time=timestamp(view.created_at),
        refund_time=timestamp(view.refunded_at),
        refund_reason=view.refund_reason or view.failure_reason,
    )


def license_proto(view: LicenseView) -> pb.License:
    message = pb.License(
        name=view.name,
        listing=view.listing.name,
        buyer=f"agents/{view.buyer_id}",
        seller=f"agents/{view.seller_id}",
        license_type=LICENSE_TYPE_PROTO[view.license_type],
        pricing_model=PRICING_MODEL_PROTO[view.pricing_model],
        origin=ORIGINS[view.origin],
        state=LICENSE_STATES[view.state],
        expire_time=timestamp(view.expires_at),
        usage_count=view.usage_count,
        auto_renew=view.auto_renew,
        purchase=f"purchases/{view.purchase_id}" if view.purchase_id else "",
        create_time=timestamp(view.created_at),
        update_time=timestamp(view.updated_at),
        lapse_reason=view.lapse_reason,
    )
    if view.usage_limit is not None:
        message.usage_limit = view.usage_limit
    return message


def verify_proto(found: LicenseCheck) -> pb.VerifyLicenseResponse:
    message = pb.VerifyLicenseResponse(
        valid=found.valid,
        denial=DENIALS[found.denial] if found.denial is not None else pb.LICENSE_DENIAL_UNSPECIFIED,
        message=found.message,
        expire_time=timestamp(found.expires_at),
    )
    if found.license is not None:
        message.license.CopyFrom(license_proto(found.license))
    if found.remaining_units is not None:
        message.remaining_units = found.remaining_units
    return message


def review_proto(view: ReviewView) -> pb.Review:
    message = pb.Review(
        name=view.name,
        listing=view.listing.name,
        reviewer=f"agents/{view.reviewer_id}",
        stars=view.stars,
        text=view.text,
        weight=view.weight,
        create_time=timestamp(view.created_at),
        update_time=timestamp(view.updated_at),
    )
    if view.reply_at is not None:
        message.reply.CopyFrom(pb.ReviewReply(text=view.reply_text, create_time=timestamp(view.reply_at)))
    return message


def reputation_proto(view: ReputationView) -> pb.Reputation:
    return pb.Reputation(
        agent=view.name,
        score=view.score,
        weighted_rating=view.weighted_rating,
        transaction_count=view.transaction_count,
        quality_multiplier=view.quality_multiplier,
        documentation_score=view.documentation_score,
        execution_success_rate=view.execution_success_rate,
        execution_count=view.execution_count,
        update_time=timestamp(view.updated_at),
    )


def bucket_proto(bucket: Bucket, asset: str) -> pb.AnalyticsBucket:
    return pb.AnalyticsBucket(
        start_time=timestamp(bucket.start),
        revenue=money(asset, bucket.revenue),
        purchases=bucket.purchases,
        refunds=bucket.refunds,
        active_licenses=bucket.active_licenses,
        buyers=bucket.buyers,
        calls=bucket.calls,
        average_rating=bucket.average_rating,
    )


def listing_proto(kind: str, row: Any) -> pb.Listing:
    if kind == SKILL:
        assert isinstance(row, SkillRow)
        return pb.Listing(skill=skill_to_proto(SkillView(row)))
    return pb.Listing(daemon=daemon_to_proto(DaemonView(row)))


def featured_proto(view: FeaturedView) -> pb.FeaturedListing:
    return pb.FeaturedListing(
        listing=listing_proto(view.listing.kind, view.row),
        feature_time=timestamp(view.featured_at),
        end_time=timestamp(view.end_time),
    )


def recommendation_proto(found: Recommendation) -> pb.Recommendation:
    return pb.Recommendation(
        listing=listing_proto(found.listing.kind, found.row), score=found.score, reason=found.reason
    )


@service(pb.DESCRIPTOR.services_by_name["MarketplaceService"], pending={})
class MarketplaceServicer:
    def __init__(self, marketplace: Marketplace) -> None:
        self._m = marketplace

    # --- purchases ------------------------------------------------------------------------------

    async def Purchase(self, request: pb.PurchaseRequest, ctx: Ctx) -> pb.PurchaseResponse:
        bought, licence = await self._m.purchases.purchase(
            context.caller(),
            request.listing,
            LICENSE_TYPES.get(request.license_type),
            request.units,
            request.auto_renew if request.HasField("auto_renew") else None,
            request.idempotency_key,
        )
        return pb.PurchaseResponse(purchase=purchase_proto(bought), license=license_proto(licence))

    async def GetPurchase(self, request: pb.GetPurchaseRequest, ctx: Ctx) -> pb.GetPurchaseResponse:
        found = await self._m.purchases.get(context.caller(), request.name)
        return pb.GetPurchaseResponse(purchase=purchase_proto(found))

    async def ListPurchases(self, request: pb.ListPurchasesRequest, ctx: Ctx) -> pb.ListPurchasesResponse:
        found, token = await self._m.purchases.list_purchases(
            context.caller(),
            seller=request.role == pb.MARKET_ROLE_SELLER,
            listing=request.listing,
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListPurchasesResponse(purchases=[purchase_proto(p) for p in found], next_page_token=token)

    async def RefundPurchase(self, request: pb.RefundPurchaseRequest, ctx: Ctx) -> pb.RefundPurchaseResponse:
        found = await self._m.purchases.refund(
            context.caller(), request.name, request.reason, request.idempotency_key
        )
        return pb.RefundPurchaseResponse(purchase=purchase_proto(found))

    # --- licences -------------------------------------------------------------------------------

    async def VerifyLicense(self, request: pb.VerifyLicenseRequest, ctx: Ctx) -> pb.VerifyLicenseResponse:
        return verify_proto(await self._m.licenses.verify(context.caller(), request.listing, request.buyer))

    async def GetLicense(self, request: pb.GetLicenseRequest, ctx: Ctx) -> pb.GetLicenseResponse:
        return pb.GetLicenseResponse(
            license=license_proto(await self._m.licenses.get(context.caller(), request.name))
        )

    async def ListLicenses(self, request: pb.ListLicensesRequest, ctx: Ctx) -> pb.ListLicensesResponse:
        found, token = await self._m.licenses.list_licenses(
            context.caller(),
            seller=request.role == pb.MARKET_ROLE_SELLER,
            listing=request.listing,
            state=LICENSE_STATE_NAMES.get(request.state, ""),
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListLicensesResponse(licenses=[license_proto(v) for v in found], next_page_token=token)

    async def CancelSubscription(
        self, request: pb.CancelSubscriptionRequest, ctx: Ctx
    ) -> pb.CancelSubscriptionResponse:
        found = await self._m.licenses.cancel_subscription(context.caller(), request.name)
        return pb.CancelSubscriptionResponse(license=license_proto(found))

    async def StartTrial(self, request: pb.StartTrialRequest, ctx: Ctx) -> pb.StartTrialResponse:
        found = await self._m.licenses.start_trial(context.caller(), request.listing)
        return pb.StartTrialResponse(license=license_proto(found))

    # --- reviews --------------------------------------------------------------------------------

    async def CreateReview(self, request: pb.CreateReviewRequest, ctx: Ctx) -> pb.CreateReviewResponse:
        review = request.review
        found = await self._m.reviews.create(
            context.caller(), ReviewDraft(listing=review.listing, stars=review.stars, text=review.text)
        )
        return pb.CreateReviewResponse(review=review_proto(found))

    async def UpdateReview(self, request: pb.UpdateReviewRequest, ctx: Ctx) -> pb.UpdateReviewResponse:
        review = request.review
        paths = list(request.update_mask.paths) or sorted(populated_paths(review, UPDATABLE_PATHS))
        found = await self._m.reviews.update(
            context.caller(), review.name, ReviewDraft(stars=review.stars, text=review.text), paths
        )
        return pb.UpdateReviewResponse(review=review_proto(found))

    async def GetReview(self, request: pb.GetReviewRequest, ctx: Ctx) -> pb.GetReviewResponse:
        found = await self._m.reviews.get(context.optional_caller(), request.name)
        return pb.GetReviewResponse(review=review_proto(found))

    async def ListReviews(self, request: pb.ListReviewsRequest, ctx: Ctx) -> pb.ListReviewsResponse:
        found, token = await self._m.reviews.list_reviews(
            context.optional_caller(), request.listing, size=request.page_size, token=request.page_token
        )
        return pb.ListReviewsResponse(reviews=[review_proto(r) for r in found], next_page_token=token)

    async def ReplyToReview(self, request: pb.ReplyToReviewRequest, ctx: Ctx) -> pb.ReplyToReviewResponse:
        found = await self._m.reviews.reply(context.caller(), request.name, request.text)
        return pb.ReplyToReviewResponse(review=review_proto(found))

    # --- reputation and analytics ---------------------------------------------------------------

    async def GetReputation(self, request: pb.GetReputationRequest, ctx: Ctx) -> pb.GetReputationResponse:
        found = await self._m.reputation.get(request.agent)
        return pb.GetReputationResponse(reputation=reputation_proto(found))

    async def GetSellerAnalytics(
        self, request: pb.GetSellerAnalyticsRequest, ctx: Ctx
    ) -> pb.GetSellerAnalyticsResponse:
        found = await self._m.analytics.seller_analytics(
            context.caller(),
            request.seller,
            GRANULARITIES.get(request.granularity),
            _time(request, "start_time"),
            _time(request, "end_time"),
            request.asset,
            request.listing,
        )
        return pb.GetSellerAnalyticsResponse(
            buckets=[bucket_proto(b, found.asset) for b in found.buckets],
            totals=bucket_proto(found.totals, found.asset),
        )

    # --- featured and recommended ---------------------------------------------------------------

    async def FeatureListing(self, request: pb.FeatureListingRequest, ctx: Ctx) -> pb.FeatureListingResponse:
        found = await self._m.featured.feature(context.caller(), request.listing, _time(request, "end_time"))
        return pb.FeatureListingResponse(featured_listing=featured_proto(found))

    async def UnfeatureListing(
        self, request: pb.UnfeatureListingRequest, ctx: Ctx
    ) -> pb.UnfeatureListingResponse:
        await self._m.featured.unfeature(context.caller(), request.listing)
        return pb.UnfeatureListingResponse()

    async def ListFeaturedListings(
        self, request: pb.ListFeaturedListingsRequest, ctx: Ctx
    ) -> pb.ListFeaturedListingsResponse:
        found, token = await self._m.featured.list_featured(size=request.page_size, token=request.page_token)
        return pb.ListFeaturedListingsResponse(
            featured_listings=[featured_proto(f) for f in found], next_page_token=token
        )

    async def RecommendListings(
        self, request: pb.RecommendListingsRequest, ctx: Ctx
    ) -> pb.RecommendListingsResponse:
        found = await self._m.featured.recommend(context.caller(), request.agent, request.page_size)
        return pb.RecommendListingsResponse(recommendations=[recommendation_proto(r) for r in found])
