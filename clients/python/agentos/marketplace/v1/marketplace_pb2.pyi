import datetime

from agentos.common.v1 import common_pb2 as _common_pb2
from agentos.registry.v1 import registry_pb2 as _registry_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PurchaseState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PURCHASE_STATE_UNSPECIFIED: _ClassVar[PurchaseState]
    PURCHASE_STATE_PENDING: _ClassVar[PurchaseState]
    PURCHASE_STATE_COMPLETED: _ClassVar[PurchaseState]
    PURCHASE_STATE_REFUNDED: _ClassVar[PurchaseState]
    PURCHASE_STATE_FAILED: _ClassVar[PurchaseState]

class LicenseState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LICENSE_STATE_UNSPECIFIED: _ClassVar[LicenseState]
    LICENSE_STATE_ACTIVE: _ClassVar[LicenseState]
    LICENSE_STATE_EXPIRED: _ClassVar[LicenseState]
    LICENSE_STATE_REVOKED: _ClassVar[LicenseState]
    LICENSE_STATE_EXHAUSTED: _ClassVar[LicenseState]

class LicenseOrigin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LICENSE_ORIGIN_UNSPECIFIED: _ClassVar[LicenseOrigin]
    LICENSE_ORIGIN_PURCHASE: _ClassVar[LicenseOrigin]
    LICENSE_ORIGIN_FREE: _ClassVar[LicenseOrigin]
    LICENSE_ORIGIN_TRIAL: _ClassVar[LicenseOrigin]

class MarketRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MARKET_ROLE_UNSPECIFIED: _ClassVar[MarketRole]
    MARKET_ROLE_BUYER: _ClassVar[MarketRole]
    MARKET_ROLE_SELLER: _ClassVar[MarketRole]

class LicenseDenial(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LICENSE_DENIAL_UNSPECIFIED: _ClassVar[LicenseDenial]
    LICENSE_DENIAL_NO_LICENSE: _ClassVar[LicenseDenial]
    LICENSE_DENIAL_EXPIRED: _ClassVar[LicenseDenial]
    LICENSE_DENIAL_REVOKED: _ClassVar[LicenseDenial]
    LICENSE_DENIAL_EXHAUSTED: _ClassVar[LicenseDenial]

class Granularity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANULARITY_UNSPECIFIED: _ClassVar[Granularity]
    GRANULARITY_DAY: _ClassVar[Granularity]
    GRANULARITY_WEEK: _ClassVar[Granularity]
    GRANULARITY_MONTH: _ClassVar[Granularity]
PURCHASE_STATE_UNSPECIFIED: PurchaseState
PURCHASE_STATE_PENDING: PurchaseState
PURCHASE_STATE_COMPLETED: PurchaseState
PURCHASE_STATE_REFUNDED: PurchaseState
PURCHASE_STATE_FAILED: PurchaseState
LICENSE_STATE_UNSPECIFIED: LicenseState
LICENSE_STATE_ACTIVE: LicenseState
LICENSE_STATE_EXPIRED: LicenseState
LICENSE_STATE_REVOKED: LicenseState
LICENSE_STATE_EXHAUSTED: LicenseState
LICENSE_ORIGIN_UNSPECIFIED: LicenseOrigin
LICENSE_ORIGIN_PURCHASE: LicenseOrigin
LICENSE_ORIGIN_FREE: LicenseOrigin
LICENSE_ORIGIN_TRIAL: LicenseOrigin
MARKET_ROLE_UNSPECIFIED: MarketRole
MARKET_ROLE_BUYER: MarketRole
MARKET_ROLE_SELLER: MarketRole
LICENSE_DENIAL_UNSPECIFIED: LicenseDenial
LICENSE_DENIAL_NO_LICENSE: LicenseDenial
LICENSE_DENIAL_EXPIRED: LicenseDenial
LICENSE_DENIAL_REVOKED: LicenseDenial
LICENSE_DENIAL_EXHAUSTED: LicenseDenial
GRANULARITY_UNSPECIFIED: Granularity
GRANULARITY_DAY: Granularity
GRANULARITY_WEEK: Granularity
GRANULARITY_MONTH: Granularity

class Listing(_message.Message):
    __slots__ = ("skill", "daemon")
    SKILL_FIELD_NUMBER: _ClassVar[int]
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    skill: _registry_pb2.Skill
    daemon: _registry_pb2.Daemon
    def __init__(self, skill: _Optional[_Union[_registry_pb2.Skill, _Mapping]] = ..., daemon: _Optional[_Union[_registry_pb2.Daemon, _Mapping]] = ...) -> None: ...

class Purchase(_message.Message):
    __slots__ = ("name", "buyer", "seller", "listing", "listing_version", "license_type", "pricing_model", "amount", "seller_amount", "platform_fee", "units", "state", "license", "transaction", "refund_transaction", "renewal", "idempotency_key", "create_time", "refund_time", "refund_reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    LISTING_FIELD_NUMBER: _ClassVar[int]
    LISTING_VERSION_FIELD_NUMBER: _ClassVar[int]
    LICENSE_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRICING_MODEL_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SELLER_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FEE_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    REFUND_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    RENEWAL_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REFUND_TIME_FIELD_NUMBER: _ClassVar[int]
    REFUND_REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    buyer: str
    seller: str
    listing: str
    listing_version: str
    license_type: _registry_pb2.LicenseType
    pricing_model: _registry_pb2.PricingModel
    amount: _common_pb2.Money
    seller_amount: _common_pb2.Money
    platform_fee: _common_pb2.Money
    units: int
    state: PurchaseState
    license: str
    transaction: str
    refund_transaction: str
    renewal: bool
    idempotency_key: str
    create_time: _timestamp_pb2.Timestamp
    refund_time: _timestamp_pb2.Timestamp
    refund_reason: str
    def __init__(self, name: _Optional[str] = ..., buyer: _Optional[str] = ..., seller: _Optional[str] = ..., listing: _Optional[str] = ..., listing_version: _Optional[str] = ..., license_type: _Optional[_Union[_registry_pb2.LicenseType, str]] = ..., pricing_model: _Optional[_Union[_registry_pb2.PricingModel, str]] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., seller_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., platform_fee: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., units: _Optional[int] = ..., state: _Optional[_Union[PurchaseState, str]] = ..., license: _Optional[str] = ..., transaction: _Optional[str] = ..., refund_transaction: _Optional[str] = ..., renewal: _Optional[bool] = ..., idempotency_key: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refund_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refund_reason: _Optional[str] = ...) -> None: ...

class License(_message.Message):
    __slots__ = ("name", "listing", "buyer", "seller", "license_type", "pricing_model", "origin", "state", "expire_time", "usage_limit", "usage_count", "auto_renew", "purchase", "create_time", "update_time", "lapse_reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LISTING_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    LICENSE_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRICING_MODEL_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    USAGE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    USAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    AUTO_RENEW_FIELD_NUMBER: _ClassVar[int]
    PURCHASE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAPSE_REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    listing: str
    buyer: str
    seller: str
    license_type: _registry_pb2.LicenseType
    pricing_model: _registry_pb2.PricingModel
    origin: LicenseOrigin
    state: LicenseState
    expire_time: _timestamp_pb2.Timestamp
    usage_limit: int
    usage_count: int
    auto_renew: bool
    purchase: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    lapse_reason: str
    def __init__(self, name: _Optional[str] = ..., listing: _Optional[str] = ..., buyer: _Optional[str] = ..., seller: _Optional[str] = ..., license_type: _Optional[_Union[_registry_pb2.LicenseType, str]] = ..., pricing_model: _Optional[_Union[_registry_pb2.PricingModel, str]] = ..., origin: _Optional[_Union[LicenseOrigin, str]] = ..., state: _Optional[_Union[LicenseState, str]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., usage_limit: _Optional[int] = ..., usage_count: _Optional[int] = ..., auto_renew: _Optional[bool] = ..., purchase: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lapse_reason: _Optional[str] = ...) -> None: ...

class PurchaseRequest(_message.Message):
    __slots__ = ("listing", "license_type", "units", "auto_renew", "idempotency_key")
    LISTING_FIELD_NUMBER: _ClassVar[int]
    LICENSE_TYPE_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    AUTO_RENEW_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    listing: str
    license_type: _registry_pb2.LicenseType
    units: int
    auto_renew: bool
    idempotency_key: str
    def __init__(self, listing: _Optional[str] = ..., license_type: _Optional[_Union[_registry_pb2.LicenseType, str]] = ..., units: _Optional[int] = ..., auto_renew: _Optional[bool] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class PurchaseResponse(_message.Message):
    __slots__ = ("purchase", "license")
    PURCHASE_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    purchase: Purchase
    license: License
    def __init__(self, purchase: _Optional[_Union[Purchase, _Mapping]] = ..., license: _Optional[_Union[License, _Mapping]] = ...) -> None: ...

class GetPurchaseRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetPurchaseResponse(_message.Message):
    __slots__ = ("purchase",)
    PURCHASE_FIELD_NUMBER: _ClassVar[int]
    purchase: Purchase
    def __init__(self, purchase: _Optional[_Union[Purchase, _Mapping]] = ...) -> None: ...

class ListPurchasesRequest(_message.Message):
    __slots__ = ("role", "listing", "page_size", "page_token")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    LISTING_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    role: MarketRole
    listing: str
    page_size: int
    page_token: str
    def __init__(self, role: _Optional[_Union[MarketRole, str]] = ..., listing: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPurchasesResponse(_message.Message):
    __slots__ = ("purchases", "next_page_token")
    PURCHASES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    purchases: _containers.RepeatedCompositeFieldContainer[Purchase]
    next_page_token: str
    def __init__(self, purchases: _Optional[_Iterable[_Union[Purchase, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RefundPurchaseRequest(_message.Message):
    __slots__ = ("name", "reason", "idempotency_key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    idempotency_key: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RefundPurchaseResponse(_message.Message):
    __slots__ = ("purchase",)
    PURCHASE_FIELD_NUMBER: _ClassVar[int]
    purchase: Purchase
    def __init__(self, purchase: _Optional[_Union[Purchase, _Mapping]] = ...) -> None: ...

class VerifyLicenseRequest(_message.Message):
    __slots__ = ("listing", "buyer")
    LISTING_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    listing: str
    buyer: str
    def __init__(self, listing: _Optional[str] = ..., buyer: _Optional[str] = ...) -> None: ...

class VerifyLicenseResponse(_message.Message):
    __slots__ = ("valid", "denial", "message", "license", "expire_time", "remaining_units")
    VALID_FIELD_NUMBER: _ClassVar[int]
    DENIAL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REMAINING_UNITS_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    denial: LicenseDenial
    message: str
    license: License
    expire_time: _timestamp_pb2.Timestamp
    remaining_units: int
    def __init__(self, valid: _Optional[bool] = ..., denial: _Optional[_Union[LicenseDenial, str]] = ..., message: _Optional[str] = ..., license: _Optional[_Union[License, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., remaining_units: _Optional[int] = ...) -> None: ...

class GetLicenseRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetLicenseResponse(_message.Message):
    __slots__ = ("license",)
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    license: License
    def __init__(self, license: _Optional[_Union[License, _Mapping]] = ...) -> None: ...

class ListLicensesRequest(_message.Message):
    __slots__ = ("role", "listing", "state", "page_size", "page_token")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    LISTING_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    role: MarketRole
    listing: str
    state: LicenseState
    page_size: int
    page_token: str
    def __init__(self, role: _Optional[_Union[MarketRole, str]] = ..., listing: _Optional[str] = ..., state: _Optional[_Union[LicenseState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLicensesResponse(_message.Message):
    __slots__ = ("licenses", "next_page_token")
    LICENSES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    licenses: _containers.RepeatedCompositeFieldContainer[License]
    next_page_token: str
    def __init__(self, licenses: _Optional[_Iterable[_Union[License, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelSubscriptionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelSubscriptionResponse(_message.Message):
    __slots__ = ("license",)
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    license: License
    def __init__(self, license: _Optional[_Union[License, _Mapping]] = ...) -> None: ...

class StartTrialRequest(_message.Message):
    __slots__ = ("listing",)
    LISTING_FIELD_NUMBER: _ClassVar[int]
    listing: str
    def __init__(self, listing: _Optional[str] = ...) -> None: ...

class StartTrialResponse(_message.Message):
    __slots__ = ("license",)
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    license: License
    def __init__(self, license: _Optional[_Union[License, _Mapping]] = ...) -> None: ...

class ReviewReply(_message.Message):
    __slots__ = ("text", "create_time")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    text: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, text: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Review(_message.Message):
    __slots__ = ("name", "listing", "reviewer", "stars", "text", "weight", "reply", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LISTING_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    STARS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    listing: str
    reviewer: str
    stars: int
    text: str
    weight: float
    reply: ReviewReply
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., listing: _Optional[str] = ..., reviewer: _Optional[str] = ..., stars: _Optional[int] = ..., text: _Optional[str] = ..., weight: _Optional[float] = ..., reply: _Optional[_Union[ReviewReply, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateReviewRequest(_message.Message):
    __slots__ = ("review",)
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    review: Review
    def __init__(self, review: _Optional[_Union[Review, _Mapping]] = ...) -> None: ...

class CreateReviewResponse(_message.Message):
    __slots__ = ("review",)
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    review: Review
    def __init__(self, review: _Optional[_Union[Review, _Mapping]] = ...) -> None: ...

class UpdateReviewRequest(_message.Message):
    __slots__ = ("review", "update_mask")
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    review: Review
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, review: _Optional[_Union[Review, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateReviewResponse(_message.Message):
    __slots__ = ("review",)
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    review: Review
    def __init__(self, review: _Optional[_Union[Review, _Mapping]] = ...) -> None: ...

class GetReviewRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetReviewResponse(_message.Message):
    __slots__ = ("review",)
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    review: Review
    def __init__(self, review: _Optional[_Union[Review, _Mapping]] = ...) -> None: ...

class ListReviewsRequest(_message.Message):
    __slots__ = ("listing", "page_size", "page_token")
    LISTING_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    listing: str
    page_size: int
    page_token: str
    def __init__(self, listing: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReviewsResponse(_message.Message):
    __slots__ = ("reviews", "next_page_token")
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    reviews: _containers.RepeatedCompositeFieldContainer[Review]
    next_page_token: str
    def __init__(self, reviews: _Optional[_Iterable[_Union[Review, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReplyToReviewRequest(_message.Message):
    __slots__ = ("name", "text")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    name: str
    text: str
    def __init__(self, name: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class ReplyToReviewResponse(_message.Message):
    __slots__ = ("review",)
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    review: Review
    def __init__(self, review: _Optional[_Union[Review, _Mapping]] = ...) -> None: ...

class Reputation(_message.Message):
    __slots__ = ("agent", "score", "weighted_rating", "transaction_count", "quality_multiplier", "documentation_score", "execution_success_rate", "execution_count", "update_time")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_RATING_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTATION_SCORE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    agent: str
    score: float
    weighted_rating: float
    transaction_count: int
    quality_multiplier: float
    documentation_score: float
    execution_success_rate: float
    execution_count: int
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, agent: _Optional[str] = ..., score: _Optional[float] = ..., weighted_rating: _Optional[float] = ..., transaction_count: _Optional[int] = ..., quality_multiplier: _Optional[float] = ..., documentation_score: _Optional[float] = ..., execution_success_rate: _Optional[float] = ..., execution_count: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetReputationRequest(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: str
    def __init__(self, agent: _Optional[str] = ...) -> None: ...

class GetReputationResponse(_message.Message):
    __slots__ = ("reputation",)
    REPUTATION_FIELD_NUMBER: _ClassVar[int]
    reputation: Reputation
    def __init__(self, reputation: _Optional[_Union[Reputation, _Mapping]] = ...) -> None: ...

class AnalyticsBucket(_message.Message):
    __slots__ = ("start_time", "revenue", "purchases", "refunds", "active_licenses", "buyers", "calls", "average_rating")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    PURCHASES_FIELD_NUMBER: _ClassVar[int]
    REFUNDS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_LICENSES_FIELD_NUMBER: _ClassVar[int]
    BUYERS_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_RATING_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    revenue: _common_pb2.Money
    purchases: int
    refunds: int
    active_licenses: int
    buyers: int
    calls: int
    average_rating: float
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revenue: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., purchases: _Optional[int] = ..., refunds: _Optional[int] = ..., active_licenses: _Optional[int] = ..., buyers: _Optional[int] = ..., calls: _Optional[int] = ..., average_rating: _Optional[float] = ...) -> None: ...

class GetSellerAnalyticsRequest(_message.Message):
    __slots__ = ("seller", "granularity", "start_time", "end_time", "asset", "listing")
    SELLER_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    LISTING_FIELD_NUMBER: _ClassVar[int]
    seller: str
    granularity: Granularity
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    asset: str
    listing: str
    def __init__(self, seller: _Optional[str] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., asset: _Optional[str] = ..., listing: _Optional[str] = ...) -> None: ...

class GetSellerAnalyticsResponse(_message.Message):
    __slots__ = ("buckets", "totals")
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[AnalyticsBucket]
    totals: AnalyticsBucket
    def __init__(self, buckets: _Optional[_Iterable[_Union[AnalyticsBucket, _Mapping]]] = ..., totals: _Optional[_Union[AnalyticsBucket, _Mapping]] = ...) -> None: ...

class FeaturedListing(_message.Message):
    __slots__ = ("listing", "feature_time", "end_time")
    LISTING_FIELD_NUMBER: _ClassVar[int]
    FEATURE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    listing: Listing
    feature_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, listing: _Optional[_Union[Listing, _Mapping]] = ..., feature_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FeatureListingRequest(_message.Message):
    __slots__ = ("listing", "end_time")
    LISTING_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    listing: str
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, listing: _Optional[str] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FeatureListingResponse(_message.Message):
    __slots__ = ("featured_listing",)
    FEATURED_LISTING_FIELD_NUMBER: _ClassVar[int]
    featured_listing: FeaturedListing
    def __init__(self, featured_listing: _Optional[_Union[FeaturedListing, _Mapping]] = ...) -> None: ...

class UnfeatureListingRequest(_message.Message):
    __slots__ = ("listing",)
    LISTING_FIELD_NUMBER: _ClassVar[int]
    listing: str
    def __init__(self, listing: _Optional[str] = ...) -> None: ...

class UnfeatureListingResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListFeaturedListingsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFeaturedListingsResponse(_message.Message):
    __slots__ = ("featured_listings", "next_page_token")
    FEATURED_LISTINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    featured_listings: _containers.RepeatedCompositeFieldContainer[FeaturedListing]
    next_page_token: str
    def __init__(self, featured_listings: _Optional[_Iterable[_Union[FeaturedListing, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ("listing", "score", "reason")
    LISTING_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    listing: Listing
    score: float
    reason: str
    def __init__(self, listing: _Optional[_Union[Listing, _Mapping]] = ..., score: _Optional[float] = ..., reason: _Optional[str] = ...) -> None: ...

class RecommendListingsRequest(_message.Message):
    __slots__ = ("agent", "page_size")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    agent: str
    page_size: int
    def __init__(self, agent: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class RecommendListingsResponse(_message.Message):
    __slots__ = ("recommendations",)
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    recommendations: _containers.RepeatedCompositeFieldContainer[Recommendation]
    def __init__(self, recommendations: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ...) -> None: ...
