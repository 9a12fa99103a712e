import datetime

from agentos.common.v1 import common_pb2 as _common_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_STATE_UNSPECIFIED: _ClassVar[AgentState]
    AGENT_STATE_ACTIVE: _ClassVar[AgentState]
    AGENT_STATE_DEACTIVATED: _ClassVar[AgentState]

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    CATEGORY_COMMUNICATION: _ClassVar[Category]
    CATEGORY_AUTOMATION: _ClassVar[Category]
    CATEGORY_ANALYSIS: _ClassVar[Category]
    CATEGORY_CREATIVE: _ClassVar[Category]
    CATEGORY_UTILITY: _ClassVar[Category]
    CATEGORY_INTEGRATION: _ClassVar[Category]
    CATEGORY_DEVELOPMENT: _ClassVar[Category]
    CATEGORY_CONTENT: _ClassVar[Category]

class PricingModel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRICING_MODEL_UNSPECIFIED: _ClassVar[PricingModel]
    PRICING_MODEL_FREE: _ClassVar[PricingModel]
    PRICING_MODEL_ONE_TIME: _ClassVar[PricingModel]
    PRICING_MODEL_SUBSCRIPTION: _ClassVar[PricingModel]
    PRICING_MODEL_USAGE: _ClassVar[PricingModel]

class BillingInterval(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BILLING_INTERVAL_UNSPECIFIED: _ClassVar[BillingInterval]
    BILLING_INTERVAL_DAILY: _ClassVar[BillingInterval]
    BILLING_INTERVAL_WEEKLY: _ClassVar[BillingInterval]
    BILLING_INTERVAL_MONTHLY: _ClassVar[BillingInterval]
    BILLING_INTERVAL_YEARLY: _ClassVar[BillingInterval]

class UsageBilling(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USAGE_BILLING_UNSPECIFIED: _ClassVar[UsageBilling]
    USAGE_BILLING_PREPAID_UNITS: _ClassVar[UsageBilling]
    USAGE_BILLING_PAY_PER_CALL: _ClassVar[UsageBilling]

class LicenseType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LICENSE_TYPE_UNSPECIFIED: _ClassVar[LicenseType]
    LICENSE_TYPE_PERSONAL: _ClassVar[LicenseType]
    LICENSE_TYPE_COMMERCIAL: _ClassVar[LicenseType]
    LICENSE_TYPE_ENTERPRISE: _ClassVar[LicenseType]

class ListingState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LISTING_STATE_UNSPECIFIED: _ClassVar[ListingState]
    LISTING_STATE_ACTIVE: _ClassVar[ListingState]
    LISTING_STATE_DEPRECATED: _ClassVar[ListingState]

class ScriptRuntime(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCRIPT_RUNTIME_UNSPECIFIED: _ClassVar[ScriptRuntime]
    SCRIPT_RUNTIME_PYTHON: _ClassVar[ScriptRuntime]
    SCRIPT_RUNTIME_NODE: _ClassVar[ScriptRuntime]
    SCRIPT_RUNTIME_BASH: _ClassVar[ScriptRuntime]

class Visibility(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VISIBILITY_UNSPECIFIED: _ClassVar[Visibility]
    VISIBILITY_PUBLIC: _ClassVar[Visibility]
    VISIBILITY_PRIVATE: _ClassVar[Visibility]
    VISIBILITY_ORGANIZATION: _ClassVar[Visibility]
    VISIBILITY_LISTED_AGENTS: _ClassVar[Visibility]

class InputType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INPUT_TYPE_UNSPECIFIED: _ClassVar[InputType]
    INPUT_TYPE_STRING: _ClassVar[InputType]
    INPUT_TYPE_NUMBER: _ClassVar[InputType]
    INPUT_TYPE_BOOLEAN: _ClassVar[InputType]
    INPUT_TYPE_ENUM: _ClassVar[InputType]
    INPUT_TYPE_JSON: _ClassVar[InputType]

class StageKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAGE_KIND_UNSPECIFIED: _ClassVar[StageKind]
    STAGE_KIND_AGENT: _ClassVar[StageKind]
    STAGE_KIND_SCRIPT: _ClassVar[StageKind]
    STAGE_KIND_HYBRID: _ClassVar[StageKind]
    STAGE_KIND_SKILL: _ClassVar[StageKind]

class ResourceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESOURCE_KIND_UNSPECIFIED: _ClassVar[ResourceKind]
    RESOURCE_KIND_AGENT: _ClassVar[ResourceKind]
    RESOURCE_KIND_SKILL: _ClassVar[ResourceKind]
    RESOURCE_KIND_DAEMON: _ClassVar[ResourceKind]

class SearchOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEARCH_ORDER_UNSPECIFIED: _ClassVar[SearchOrder]
    SEARCH_ORDER_RELEVANCE: _ClassVar[SearchOrder]
    SEARCH_ORDER_POPULAR: _ClassVar[SearchOrder]
    SEARCH_ORDER_NEWEST: _ClassVar[SearchOrder]
    SEARCH_ORDER_RATING: _ClassVar[SearchOrder]
    SEARCH_ORDER_REPUTATION: _ClassVar[SearchOrder]
AGENT_STATE_UNSPECIFIED: AgentState
AGENT_STATE_ACTIVE: AgentState
AGENT_STATE_DEACTIVATED: AgentState
CATEGORY_UNSPECIFIED: Category
CATEGORY_COMMUNICATION: Category
CATEGORY_AUTOMATION: Category
CATEGORY_ANALYSIS: Category
CATEGORY_CREATIVE: Category
CATEGORY_UTILITY: Category
CATEGORY_INTEGRATION: Category
CATEGORY_DEVELOPMENT: Category
CATEGORY_CONTENT: Category
PRICING_MODEL_UNSPECIFIED: PricingModel
PRICING_MODEL_FREE: PricingModel
PRICING_MODEL_ONE_TIME: PricingModel
PRICING_MODEL_SUBSCRIPTION: PricingModel
PRICING_MODEL_USAGE: PricingModel
BILLING_INTERVAL_UNSPECIFIED: BillingInterval
BILLING_INTERVAL_DAILY: BillingInterval
BILLING_INTERVAL_WEEKLY: BillingInterval
BILLING_INTERVAL_MONTHLY: BillingInterval
BILLING_INTERVAL_YEARLY: BillingInterval
USAGE_BILLING_UNSPECIFIED: UsageBilling
USAGE_BILLING_PREPAID_UNITS: UsageBilling
USAGE_BILLING_PAY_PER_CALL: UsageBilling
LICENSE_TYPE_UNSPECIFIED: LicenseType
LICENSE_TYPE_PERSONAL: LicenseType
LICENSE_TYPE_COMMERCIAL: LicenseType
LICENSE_TYPE_ENTERPRISE: LicenseType
LISTING_STATE_UNSPECIFIED: ListingState
LISTING_STATE_ACTIVE: ListingState
LISTING_STATE_DEPRECATED: ListingState
SCRIPT_RUNTIME_UNSPECIFIED: ScriptRuntime
SCRIPT_RUNTIME_PYTHON: ScriptRuntime
SCRIPT_RUNTIME_NODE: ScriptRuntime
SCRIPT_RUNTIME_BASH: ScriptRuntime
VISIBILITY_UNSPECIFIED: Visibility
VISIBILITY_PUBLIC: Visibility
VISIBILITY_PRIVATE: Visibility
VISIBILITY_ORGANIZATION: Visibility
VISIBILITY_LISTED_AGENTS: Visibility
INPUT_TYPE_UNSPECIFIED: InputType
INPUT_TYPE_STRING: InputType
INPUT_TYPE_NUMBER: InputType
INPUT_TYPE_BOOLEAN: InputType
INPUT_TYPE_ENUM: InputType
INPUT_TYPE_JSON: InputType
STAGE_KIND_UNSPECIFIED: StageKind
STAGE_KIND_AGENT: StageKind
STAGE_KIND_SCRIPT: StageKind
STAGE_KIND_HYBRID: StageKind
STAGE_KIND_SKILL: StageKind
RESOURCE_KIND_UNSPECIFIED: ResourceKind
RESOURCE_KIND_AGENT: ResourceKind
RESOURCE_KIND_SKILL: ResourceKind
RESOURCE_KIND_DAEMON: ResourceKind
SEARCH_ORDER_UNSPECIFIED: SearchOrder
SEARCH_ORDER_RELEVANCE: SearchOrder
SEARCH_ORDER_POPULAR: SearchOrder
SEARCH_ORDER_NEWEST: SearchOrder
SEARCH_ORDER_RATING: SearchOrder
SEARCH_ORDER_REPUTATION: SearchOrder

class Agent(_message.Message):
    __slots__ = ("name", "display_name", "description", "avatar_uri", "owner_wallets", "character", "organization", "reputation", "total_sales", "state", "operator", "on_chain_identity", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    AVATAR_URI_FIELD_NUMBER: _ClassVar[int]
    OWNER_WALLETS_FIELD_NUMBER: _ClassVar[int]
    CHARACTER_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    REPUTATION_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SALES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    ON_CHAIN_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    avatar_uri: str
    owner_wallets: _containers.RepeatedCompositeFieldContainer[_common_pb2.ExternalWallet]
    character: Character
    organization: str
    reputation: float
    total_sales: int
    state: AgentState
    operator: bool
    on_chain_identity: OnChainIdentity
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., avatar_uri: _Optional[str] = ..., owner_wallets: _Optional[_Iterable[_Union[_common_pb2.ExternalWallet, _Mapping]]] = ..., character: _Optional[_Union[Character, _Mapping]] = ..., organization: _Optional[str] = ..., reputation: _Optional[float] = ..., total_sales: _Optional[int] = ..., state: _Optional[_Union[AgentState, str]] = ..., operator: _Optional[bool] = ..., on_chain_identity: _Optional[_Union[OnChainIdentity, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class Character(_message.Message):
    __slots__ = ("bio", "traits", "topics", "style")
    BIO_FIELD_NUMBER: _ClassVar[int]
    TRAITS_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    bio: str
    traits: _containers.RepeatedScalarFieldContainer[str]
    topics: _containers.RepeatedScalarFieldContainer[str]
    style: CharacterStyle
    def __init__(self, bio: _Optional[str] = ..., traits: _Optional[_Iterable[str]] = ..., topics: _Optional[_Iterable[str]] = ..., style: _Optional[_Union[CharacterStyle, _Mapping]] = ...) -> None: ...

class CharacterStyle(_message.Message):
    __slots__ = ("all", "chat", "post")
    ALL_FIELD_NUMBER: _ClassVar[int]
    CHAT_FIELD_NUMBER: _ClassVar[int]
    POST_FIELD_NUMBER: _ClassVar[int]
    all: _containers.RepeatedScalarFieldContainer[str]
    chat: _containers.RepeatedScalarFieldContainer[str]
    post: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, all: _Optional[_Iterable[str]] = ..., chat: _Optional[_Iterable[str]] = ..., post: _Optional[_Iterable[str]] = ...) -> None: ...

class OnChainIdentity(_message.Message):
    __slots__ = ("chain_id", "identity_registry", "token_id", "agent_uri", "transaction_hash", "register_time")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_REGISTRY_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_URI_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_HASH_FIELD_NUMBER: _ClassVar[int]
    REGISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    identity_registry: str
    token_id: str
    agent_uri: str
    transaction_hash: str
    register_time: _timestamp_pb2.Timestamp
    def __init__(self, chain_id: _Optional[int] = ..., identity_registry: _Optional[str] = ..., token_id: _Optional[str] = ..., agent_uri: _Optional[str] = ..., transaction_hash: _Optional[str] = ..., register_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateAgentRequest(_message.Message):
    __slots__ = ("agent_id", "agent")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    agent: Agent
    def __init__(self, agent_id: _Optional[str] = ..., agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class CreateAgentResponse(_message.Message):
    __slots__ = ("agent", "api_key")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    api_key: str
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ..., api_key: _Optional[str] = ...) -> None: ...

class GetAgentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "organization")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    organization: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., organization: _Optional[str] = ...) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents", "next_page_token")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[Agent]
    next_page_token: str
    def __init__(self, agents: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAgentRequest(_message.Message):
    __slots__ = ("agent", "update_mask")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class RotateApiKeyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RotateApiKeyResponse(_message.Message):
    __slots__ = ("api_key",)
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    def __init__(self, api_key: _Optional[str] = ...) -> None: ...

class DeactivateAgentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeactivateAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class Pricing(_message.Message):
    __slots__ = ("model", "price", "interval", "usage_unit", "usage_billing", "license_prices", "trial_runs")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    USAGE_UNIT_FIELD_NUMBER: _ClassVar[int]
    USAGE_BILLING_FIELD_NUMBER: _ClassVar[int]
    LICENSE_PRICES_FIELD_NUMBER: _ClassVar[int]
    TRIAL_RUNS_FIELD_NUMBER: _ClassVar[int]
    model: PricingModel
    price: _common_pb2.Money
    interval: BillingInterval
    usage_unit: str
    usage_billing: UsageBilling
    license_prices: _containers.RepeatedCompositeFieldContainer[LicensePrice]
    trial_runs: int
    def __init__(self, model: _Optional[_Union[PricingModel, str]] = ..., price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., interval: _Optional[_Union[BillingInterval, str]] = ..., usage_unit: _Optional[str] = ..., usage_billing: _Optional[_Union[UsageBilling, str]] = ..., license_prices: _Optional[_Iterable[_Union[LicensePrice, _Mapping]]] = ..., trial_runs: _Optional[int] = ...) -> None: ...

class LicensePrice(_message.Message):
    __slots__ = ("license_type", "price")
    LICENSE_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    license_type: LicenseType
    price: _common_pb2.Money
    def __init__(self, license_type: _Optional[_Union[LicenseType, str]] = ..., price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class Skill(_message.Message):
    __slots__ = ("name", "owner", "display_name", "version", "description", "category", "tags", "pricing", "code", "openapi_spec", "endpoint", "rating", "review_count", "purchase_count", "state", "deprecation_reason", "create_time", "update_time", "etag", "featured")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PRICING_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    OPENAPI_SPEC_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    REVIEW_COUNT_FIELD_NUMBER: _ClassVar[int]
    PURCHASE_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DEPRECATION_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FEATURED_FIELD_NUMBER: _ClassVar[int]
    name: str
    owner: str
    display_name: str
    version: str
    description: str
    category: Category
    tags: _containers.RepeatedScalarFieldContainer[str]
    pricing: Pricing
    code: CodeDetails
    openapi_spec: str
    endpoint: SkillEndpoint
    rating: float
    review_count: int
    purchase_count: int
    state: ListingState
    deprecation_reason: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    featured: bool
    def __init__(self, name: _Optional[str] = ..., owner: _Optional[str] = ..., display_name: _Optional[str] = ..., version: _Optional[str] = ..., description: _Optional[str] = ..., category: _Optional[_Union[Category, str]] = ..., tags: _Optional[_Iterable[str]] = ..., pricing: _Optional[_Union[Pricing, _Mapping]] = ..., code: _Optional[_Union[CodeDetails, _Mapping]] = ..., openapi_spec: _Optional[str] = ..., endpoint: _Optional[_Union[SkillEndpoint, _Mapping]] = ..., rating: _Optional[float] = ..., review_count: _Optional[int] = ..., purchase_count: _Optional[int] = ..., state: _Optional[_Union[ListingState, str]] = ..., deprecation_reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., featured: _Optional[bool] = ...) -> None: ...

class CodeDetails(_message.Message):
    __slots__ = ("repo_url", "entry_point", "dependencies", "documentation_uri")
    REPO_URL_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCIES_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTATION_URI_FIELD_NUMBER: _ClassVar[int]
    repo_url: str
    entry_point: str
    dependencies: _containers.RepeatedScalarFieldContainer[str]
    documentation_uri: str
    def __init__(self, repo_url: _Optional[str] = ..., entry_point: _Optional[str] = ..., dependencies: _Optional[_Iterable[str]] = ..., documentation_uri: _Optional[str] = ...) -> None: ...

class SkillEndpoint(_message.Message):
    __slots__ = ("https_url", "hosted_script", "agent_channel")
    HTTPS_URL_FIELD_NUMBER: _ClassVar[int]
    HOSTED_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    AGENT_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    https_url: str
    hosted_script: HostedScript
    agent_channel: AgentChannelTarget
    def __init__(self, https_url: _Optional[str] = ..., hosted_script: _Optional[_Union[HostedScript, _Mapping]] = ..., agent_channel: _Optional[_Union[AgentChannelTarget, _Mapping]] = ...) -> None: ...

class HostedScript(_message.Message):
    __slots__ = ("runtime", "source", "timeout_seconds")
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    runtime: ScriptRuntime
    source: str
    timeout_seconds: int
    def __init__(self, runtime: _Optional[_Union[ScriptRuntime, str]] = ..., source: _Optional[str] = ..., timeout_seconds: _Optional[int] = ...) -> None: ...

class AgentChannelTarget(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateSkillRequest(_message.Message):
    __slots__ = ("skill_id", "skill")
    SKILL_ID_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    skill_id: str
    skill: Skill
    def __init__(self, skill_id: _Optional[str] = ..., skill: _Optional[_Union[Skill, _Mapping]] = ...) -> None: ...

class CreateSkillResponse(_message.Message):
    __slots__ = ("skill",)
    SKILL_FIELD_NUMBER: _ClassVar[int]
    skill: Skill
    def __init__(self, skill: _Optional[_Union[Skill, _Mapping]] = ...) -> None: ...

class GetSkillRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetSkillResponse(_message.Message):
    __slots__ = ("skill",)
    SKILL_FIELD_NUMBER: _ClassVar[int]
    skill: Skill
    def __init__(self, skill: _Optional[_Union[Skill, _Mapping]] = ...) -> None: ...

class ListSkillsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "owner", "category", "show_deprecated")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SHOW_DEPRECATED_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    owner: str
    category: Category
    show_deprecated: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., owner: _Optional[str] = ..., category: _Optional[_Union[Category, str]] = ..., show_deprecated: _Optional[bool] = ...) -> None: ...

class ListSkillsResponse(_message.Message):
    __slots__ = ("skills", "next_page_token")
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    skills: _containers.RepeatedCompositeFieldContainer[Skill]
    next_page_token: str
    def __init__(self, skills: _Optional[_Iterable[_Union[Skill, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateSkillRequest(_message.Message):
    __slots__ = ("skill", "update_mask")
    SKILL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    skill: Skill
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, skill: _Optional[_Union[Skill, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateSkillResponse(_message.Message):
    __slots__ = ("skill",)
    SKILL_FIELD_NUMBER: _ClassVar[int]
    skill: Skill
    def __init__(self, skill: _Optional[_Union[Skill, _Mapping]] = ...) -> None: ...

class ListSkillVersionsRequest(_message.Message):
    __slots__ = ("name", "page_size", "page_token")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    page_size: int
    page_token: str
    def __init__(self, name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSkillVersionsResponse(_message.Message):
    __slots__ = ("skills", "next_page_token")
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    skills: _containers.RepeatedCompositeFieldContainer[Skill]
    next_page_token: str
    def __init__(self, skills: _Optional[_Iterable[_Union[Skill, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeprecateSkillRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DeprecateSkillResponse(_message.Message):
    __slots__ = ("skill",)
    SKILL_FIELD_NUMBER: _ClassVar[int]
    skill: Skill
    def __init__(self, skill: _Optional[_Union[Skill, _Mapping]] = ...) -> None: ...

class Daemon(_message.Message):
    __slots__ = ("name", "owner", "display_name", "description", "version", "definition_yaml", "category", "tags", "pricing", "license", "visibility", "allowed_organizations", "allowed_agents", "forked_from", "lineage", "spec", "run_count", "fork_count", "rating", "review_count", "purchase_count", "state", "create_time", "update_time", "etag", "featured")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_YAML_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PRICING_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ORGANIZATIONS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_AGENTS_FIELD_NUMBER: _ClassVar[int]
    FORKED_FROM_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    RUN_COUNT_FIELD_NUMBER: _ClassVar[int]
    FORK_COUNT_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    REVIEW_COUNT_FIELD_NUMBER: _ClassVar[int]
    PURCHASE_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FEATURED_FIELD_NUMBER: _ClassVar[int]
    name: str
    owner: str
    display_name: str
    description: str
    version: str
    definition_yaml: str
    category: Category
    tags: _containers.RepeatedScalarFieldContainer[str]
    pricing: Pricing
    license: str
    visibility: Visibility
    allowed_organizations: _containers.RepeatedScalarFieldContainer[str]
    allowed_agents: _containers.RepeatedScalarFieldContainer[str]
    forked_from: str
    lineage: _containers.RepeatedScalarFieldContainer[str]
    spec: DaemonSpec
    run_count: int
    fork_count: int
    rating: float
    review_count: int
    purchase_count: int
    state: ListingState
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    featured: bool
    def __init__(self, name: _Optional[str] = ..., owner: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., version: _Optional[str] = ..., definition_yaml: _Optional[str] = ..., category: _Optional[_Union[Category, str]] = ..., tags: _Optional[_Iterable[str]] = ..., pricing: _Optional[_Union[Pricing, _Mapping]] = ..., license: _Optional[str] = ..., visibility: _Optional[_Union[Visibility, str]] = ..., allowed_organizations: _Optional[_Iterable[str]] = ..., allowed_agents: _Optional[_Iterable[str]] = ..., forked_from: _Optional[str] = ..., lineage: _Optional[_Iterable[str]] = ..., spec: _Optional[_Union[DaemonSpec, _Mapping]] = ..., run_count: _Optional[int] = ..., fork_count: _Optional[int] = ..., rating: _Optional[float] = ..., review_count: _Optional[int] = ..., purchase_count: _Optional[int] = ..., state: _Optional[_Union[ListingState, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., featured: _Optional[bool] = ...) -> None: ...

class DaemonSpec(_message.Message):
    __slots__ = ("inputs", "stages", "limits")
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedCompositeFieldContainer[DaemonInput]
    stages: _containers.RepeatedCompositeFieldContainer[DaemonStage]
    limits: DaemonLimits
    def __init__(self, inputs: _Optional[_Iterable[_Union[DaemonInput, _Mapping]]] = ..., stages: _Optional[_Iterable[_Union[DaemonStage, _Mapping]]] = ..., limits: _Optional[_Union[DaemonLimits, _Mapping]] = ...) -> None: ...

class DaemonInput(_message.Message):
    __slots__ = ("name", "type", "description", "required", "options", "default_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: InputType
    description: str
    required: bool
    options: _containers.RepeatedScalarFieldContainer[str]
    default_json: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[InputType, str]] = ..., description: _Optional[str] = ..., required: _Optional[bool] = ..., options: _Optional[_Iterable[str]] = ..., default_json: _Optional[str] = ...) -> None: ...

class DaemonStage(_message.Message):
    __slots__ = ("name", "kind", "needs", "output", "model", "runtime", "skill", "operation", "timeout_seconds", "retries")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NEEDS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: StageKind
    needs: _containers.RepeatedScalarFieldContainer[str]
    output: str
    model: str
    runtime: ScriptRuntime
    skill: str
    operation: str
    timeout_seconds: int
    retries: int
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[StageKind, str]] = ..., needs: _Optional[_Iterable[str]] = ..., output: _Optional[str] = ..., model: _Optional[str] = ..., runtime: _Optional[_Union[ScriptRuntime, str]] = ..., skill: _Optional[str] = ..., operation: _Optional[str] = ..., timeout_seconds: _Optional[int] = ..., retries: _Optional[int] = ...) -> None: ...

class DaemonLimits(_message.Message):
    __slots__ = ("timeout_seconds", "max_credits")
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_CREDITS_FIELD_NUMBER: _ClassVar[int]
    timeout_seconds: int
    max_credits: int
    def __init__(self, timeout_seconds: _Optional[int] = ..., max_credits: _Optional[int] = ...) -> None: ...

class CreateDaemonRequest(_message.Message):
    __slots__ = ("daemon_id", "daemon")
    DAEMON_ID_FIELD_NUMBER: _ClassVar[int]
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    daemon_id: str
    daemon: Daemon
    def __init__(self, daemon_id: _Optional[str] = ..., daemon: _Optional[_Union[Daemon, _Mapping]] = ...) -> None: ...

class CreateDaemonResponse(_message.Message):
    __slots__ = ("daemon",)
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    daemon: Daemon
    def __init__(self, daemon: _Optional[_Union[Daemon, _Mapping]] = ...) -> None: ...

class GetDaemonRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetDaemonResponse(_message.Message):
    __slots__ = ("daemon",)
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    daemon: Daemon
    def __init__(self, daemon: _Optional[_Union[Daemon, _Mapping]] = ...) -> None: ...

class ListDaemonsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "owner", "category", "show_deprecated")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SHOW_DEPRECATED_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    owner: str
    category: Category
    show_deprecated: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., owner: _Optional[str] = ..., category: _Optional[_Union[Category, str]] = ..., show_deprecated: _Optional[bool] = ...) -> None: ...

class ListDaemonsResponse(_message.Message):
    __slots__ = ("daemons", "next_page_token")
    DAEMONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    daemons: _containers.RepeatedCompositeFieldContainer[Daemon]
    next_page_token: str
    def __init__(self, daemons: _Optional[_Iterable[_Union[Daemon, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateDaemonRequest(_message.Message):
    __slots__ = ("daemon", "update_mask")
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    daemon: Daemon
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, daemon: _Optional[_Union[Daemon, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateDaemonResponse(_message.Message):
    __slots__ = ("daemon",)
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    daemon: Daemon
    def __init__(self, daemon: _Optional[_Union[Daemon, _Mapping]] = ...) -> None: ...

class ListDaemonVersionsRequest(_message.Message):
    __slots__ = ("name", "page_size", "page_token")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    page_size: int
    page_token: str
    def __init__(self, name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDaemonVersionsResponse(_message.Message):
    __slots__ = ("daemons", "next_page_token")
    DAEMONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    daemons: _containers.RepeatedCompositeFieldContainer[Daemon]
    next_page_token: str
    def __init__(self, daemons: _Optional[_Iterable[_Union[Daemon, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ForkDaemonRequest(_message.Message):
    __slots__ = ("name", "daemon_id", "display_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DAEMON_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    daemon_id: str
    display_name: str
    def __init__(self, name: _Optional[str] = ..., daemon_id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class ForkDaemonResponse(_message.Message):
    __slots__ = ("daemon",)
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    daemon: Daemon
    def __init__(self, daemon: _Optional[_Union[Daemon, _Mapping]] = ...) -> None: ...

class DeprecateDaemonRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DeprecateDaemonResponse(_message.Message):
    __slots__ = ("daemon",)
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    daemon: Daemon
    def __init__(self, daemon: _Optional[_Union[Daemon, _Mapping]] = ...) -> None: ...

class SearchFilter(_message.Message):
    __slots__ = ("categories", "tags", "pricing_models", "price_asset", "min_price", "max_price", "min_rating")
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PRICING_MODELS_FIELD_NUMBER: _ClassVar[int]
    PRICE_ASSET_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    MIN_RATING_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedScalarFieldContainer[Category]
    tags: _containers.RepeatedScalarFieldContainer[str]
    pricing_models: _containers.RepeatedScalarFieldContainer[PricingModel]
    price_asset: str
    min_price: int
    max_price: int
    min_rating: float
    def __init__(self, categories: _Optional[_Iterable[_Union[Category, str]]] = ..., tags: _Optional[_Iterable[str]] = ..., pricing_models: _Optional[_Iterable[_Union[PricingModel, str]]] = ..., price_asset: _Optional[str] = ..., min_price: _Optional[int] = ..., max_price: _Optional[int] = ..., min_rating: _Optional[float] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("query", "kinds", "filter", "order_by", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    kinds: _containers.RepeatedScalarFieldContainer[ResourceKind]
    filter: SearchFilter
    order_by: SearchOrder
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[ResourceKind, str]]] = ..., filter: _Optional[_Union[SearchFilter, _Mapping]] = ..., order_by: _Optional[_Union[SearchOrder, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchResult(_message.Message):
    __slots__ = ("agent", "skill", "daemon", "score")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    skill: Skill
    daemon: Daemon
    score: float
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ..., skill: _Optional[_Union[Skill, _Mapping]] = ..., daemon: _Optional[_Union[Daemon, _Mapping]] = ..., score: _Optional[float] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("results", "next_page_token")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SearchResult]
    next_page_token: str
    def __init__(self, results: _Optional[_Iterable[_Union[SearchResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RegisterAgentOnChainRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RegisterAgentOnChainResponse(_message.Message):
    __slots__ = ("identity",)
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    identity: OnChainIdentity
    def __init__(self, identity: _Optional[_Union[OnChainIdentity, _Mapping]] = ...) -> None: ...

class GetAgentRegistrationFileRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAgentRegistrationFileResponse(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class OnChainFeedback(_message.Message):
    __slots__ = ("client_address", "score", "tags", "feedback_uri", "transaction_hash", "block_number", "revoked")
    CLIENT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_URI_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_HASH_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    client_address: str
    score: int
    tags: _containers.RepeatedScalarFieldContainer[str]
    feedback_uri: str
    transaction_hash: str
    block_number: int
    revoked: bool
    def __init__(self, client_address: _Optional[str] = ..., score: _Optional[int] = ..., tags: _Optional[_Iterable[str]] = ..., feedback_uri: _Optional[str] = ..., transaction_hash: _Optional[str] = ..., block_number: _Optional[int] = ..., revoked: _Optional[bool] = ...) -> None: ...

class ListOnChainFeedbackRequest(_message.Message):
    __slots__ = ("name", "page_size", "page_token")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    page_size: int
    page_token: str
    def __init__(self, name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOnChainFeedbackResponse(_message.Message):
    __slots__ = ("feedback", "next_page_token", "average_score")
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_SCORE_FIELD_NUMBER: _ClassVar[int]
    feedback: _containers.RepeatedCompositeFieldContainer[OnChainFeedback]
    next_page_token: str
    average_score: float
    def __init__(self, feedback: _Optional[_Iterable[_Union[OnChainFeedback, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., average_score: _Optional[float] = ...) -> None: ...
