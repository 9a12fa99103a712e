"""Proto <-> domain mapping for listings (skills and daemons) and what they share (pricing)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from google.protobuf.message import Message

from agentos.common.v1 import common_pb2
from agentos.registry.v1 import registry_pb2 as pb
from agentos_server.api.servicers import timestamp
from agentos_server.domain.daemons import DaemonDraft, DaemonView, Visibility, daemon_etag
from agentos_server.domain.listings import Category, ListingState
from agentos_server.domain.pricing import (
    BillingInterval,
    LicensePriceDraft,
    LicenseType,
    MoneyDraft,
    PricingDraft,
    PricingModel,
    UsageBilling,
)
from agentos_server.domain.skills import (
    CodeDraft,
    EndpointDraft,
    HostedScriptDraft,
    ScriptRuntime,
    SkillDraft,
    SkillView,
    skill_etag,
)
from agentos_server.infra.tables.listings import DaemonRow, SkillRow

E = TypeVar("E")
K = TypeVar("K")

CATEGORIES: dict[pb.Category, Category] = {
    pb.CATEGORY_COMMUNICATION: Category.COMMUNICATION,
    pb.CATEGORY_AUTOMATION: Category.AUTOMATION,
    pb.CATEGORY_ANALYSIS: Category.ANALYSIS,
    pb.CATEGORY_CREATIVE: Category.CREATIVE,
    pb.CATEGORY_UTILITY: Category.UTILITY,
    pb.CATEGORY_INTEGRATION: Category.INTEGRATION,
    pb.CATEGORY_DEVELOPMENT: Category.DEVELOPMENT,
    pb.CATEGORY_CONTENT: Category.CONTENT,
}
PRICING_MODELS: dict[pb.PricingModel, PricingModel] = {
    pb.PRICING_MODEL_FREE: PricingModel.FREE,
    pb.PRICING_MODEL_ONE_TIME: PricingModel.ONE_TIME,
    pb.PRICING_MODEL_SUBSCRIPTION: PricingModel.SUBSCRIPTION,
    pb.PRICING_MODEL_USAGE: PricingModel.USAGE,
}
_INTERVALS: dict[pb.BillingInterval, BillingInterval] = {
    pb.BILLING_INTERVAL_DAILY: BillingInterval.DAILY,
    pb.BILLING_INTERVAL_WEEKLY: BillingInterval.WEEKLY,
    pb.BILLING_INTERVAL_MONTHLY: BillingInterval.MONTHLY,
    pb.BILLING_INTERVAL_YEARLY: BillingInterval.YEARLY,
}
_USAGE_BILLING: dict[pb.UsageBilling, UsageBilling] = {
    pb.USAGE_BILLING_PREPAID_UNITS: UsageBilling.PREPAID_UNITS,
    pb.USAGE_BILLING_PAY_PER_CALL: UsageBilling.PAY_PER_CALL,
}
_LICENSE_TYPES: dict[pb.LicenseType, LicenseType] = {
    pb.LICENSE_TYPE_PERSONAL: LicenseType.PERSONAL,
    pb.LICENSE_TYPE_COMMERCIAL: LicenseType.COMMERCIAL,
    pb.LICENSE_TYPE_ENTERPRISE: LicenseType.ENTERPRISE,
}
_VISIBILITY: dict[pb.Visibility, Visibility] = {
    pb.VISIBILITY_PUBLIC: Visibility.PUBLIC,
    pb.VISIBILITY_PRIVATE: Visibility.PRIVATE,
    pb.VISIBILITY_ORGANIZATION: Visibility.ORGANIZATION,
    pb.VISIBILITY_LISTED_AGENTS: Visibility.LISTED_AGENTS,
}
LISTING_STATES: dict[str, pb.ListingState] = {
    ListingState.ACTIVE: pb.LISTING_STATE_ACTIVE,
    ListingState.DEPRECATED: pb.LISTING_STATE_DEPRECATED,
}
_SCRIPT_RUNTIMES: dict[pb.ScriptRuntime, ScriptRuntime] = {
    pb.SCRIPT_RUNTIME_PYTHON: ScriptRuntime.PYTHON,
    pb.SCRIPT_RUNTIME_NODE: ScriptRuntime.NODE,
    pb.SCRIPT_RUNTIME_BASH: ScriptRuntime.BASH,
}
RUNTIMES: dict[str, pb.ScriptRuntime] = {
    "python": pb.SCRIPT_RUNTIME_PYTHON,
    "node": pb.SCRIPT_RUNTIME_NODE,
    "bash": pb.SCRIPT_RUNTIME_BASH,
}
_STAGE_KINDS: dict[str, pb.StageKind] = {
    "agent": pb.STAGE_KIND_AGENT,
    "script": pb.STAGE_KIND_SCRIPT,
    "hybrid": pb.STAGE_KIND_HYBRID,
    "skill": pb.STAGE_KIND_SKILL,
}
_INPUT_TYPES: dict[str, pb.InputType] = {
    "string": pb.INPUT_TYPE_STRING,
    "number": pb.INPUT_TYPE_NUMBER,
    "boolean": pb.INPUT_TYPE_BOOLEAN,
    "enum": pb.INPUT_TYPE_ENUM,
    "json": pb.INPUT_TYPE_JSON,
}


def inverse(mapping: Mapping[K, E]) -> dict[E, K]:
    return {value: key for key, value in mapping.items()}


CATEGORY_PROTO = inverse(CATEGORIES)
PRICING_MODEL_PROTO = inverse(PRICING_MODELS)
_INTERVAL_PROTO = inverse(_INTERVALS)
_USAGE_BILLING_PROTO = inverse(_USAGE_BILLING)
_LICENSE_TYPE_PROTO = inverse(_LICENSE_TYPES)
_VISIBILITY_PROTO = inverse(_VISIBILITY)


def populated_paths(message: Message, updatable: Iterable[str]) -> set[str]:
    """Without an update_mask, the fields the client set are the ones to update (AIP-134)."""
    return {f.name for f, _ in message.ListFields()} & set(updatable)


# --- pricing ------------------------------------------------------------------------------------


def pricing_draft(pricing: pb.Pricing) -> PricingDraft:
    return PricingDraft(
        model=PRICING_MODELS.get(pricing.model),
        price=MoneyDraft(pricing.price.asset, pricing.price.amount),
        interval=_INTERVALS.get(pricing.interval),
        usage_unit=pricing.usage_unit,
        usage_billing=_USAGE_BILLING.get(pricing.usage_billing),
        license_prices=[
            LicensePriceDraft(_LICENSE_TYPES.get(p.license_type), MoneyDraft(p.price.asset, p.price.amount))
            for p in pricing.license_prices
        ],
        trial_runs=pricing.trial_runs,
    )


def pricing_to_proto(document: Mapping[str, Any]) -> pb.Pricing:
    price = document.get("price") or {}
    return pb.Pricing(
        model=PRICING_MODEL_PROTO.get(PricingModel(document["model"]), pb.PRICING_MODEL_UNSPECIFIED),
        price=common_pb2.Money(asset=price.get("asset", ""), amount=int(price.get("amount", 0))),
        interval=(
            _INTERVAL_PROTO[BillingInterval(document["interval"])]
            if document.get("interval")
            else pb.BILLING_INTERVAL_UNSPECIFIED
        ),
        usage_unit=document.get("usage_unit", ""),
        usage_billing=(
            _USAGE_BILLING_PROTO[UsageBilling(document["usage_billing"])]
            if document.get("usage_billing")
            else pb.USAGE_BILLING_UNSPECIFIED
        ),
        license_prices=[
            pb.LicensePrice(
                license_type=_LICENSE_TYPE_PROTO[LicenseType(p["license_type"])],
                price=common_pb2.Money(asset=p["price"]["asset"], amount=int(p["price"]["amount"])),
            )
            for p in document.get("license_prices", [])
        ],
        trial_runs=int(document.get("trial_runs", 0)),
    )


# --- daemons ------------------------------------------------------------------------------------


def daemon_draft(daemon: pb.Daemon) -> DaemonDraft:
    return DaemonDraft(
        display_name=daemon.display_name,
        description=daemon.description,
        version=daemon.version,
        definition_yaml=daemon.definition_yaml,
        category=CATEGORIES.get(daemon.category),
        tags=list(daemon.tags),
        pricing=pricing_draft(daemon.pricing),
        license=daemon.license,
        visibility=_VISIBILITY.get(daemon.visibility),
        allowed_organizations=list(daemon.allowed_organizations),
        allowed_agents=list(daemon.allowed_agents),
    )


def spec_to_proto(document: Mapping[str, Any]) -> pb.DaemonSpec:
    limits = document.get("limits") or {}
    return pb.DaemonSpec(
        inputs=[
            pb.DaemonInput(
                name=i["name"],
                type=_INPUT_TYPES.get(i["type"], pb.INPUT_TYPE_UNSPECIFIED),
                description=i.get("description", ""),
                required=bool(i.get("required", False)),
                options=i.get("options", []),
                default_json=i.get("default_json", ""),
            )
            for i in document.get("inputs", [])
        ],
        stages=[
            pb.DaemonStage(
                name=s["name"],
                kind=_STAGE_KINDS.get(s["kind"], pb.STAGE_KIND_UNSPECIFIED),
                needs=s.get("needs", []),
                output=s.get("output", ""),
                model=s.get("model", ""),
                runtime=RUNTIMES.get(s.get("runtime", ""), pb.SCRIPT_RUNTIME_UNSPECIFIED),
                skill=s.get("skill", ""),
                operation=s.get("operation", ""),
                timeout_seconds=int(s.get("timeout_seconds", 0)),
                retries=int(s.get("retries", 0)),
            )
            for s in document.get("stages", [])
        ],
        limits=pb.DaemonLimits(
            timeout_seconds=int(limits.get("timeout_seconds", 0)),
            max_credits=int(limits.get("max_credits", 0)),
        ),
    )


def daemon_to_proto(view: DaemonView) -> pb.Daemon:
    if view.snapshot is None:
        found = _DAEMON_PROTOS.get(view.daemon)
        if found is None:
            found = _DAEMON_PROTOS[view.daemon] = _daemon_to_proto(view)
        return found
    return _daemon_to_proto(view)


def _daemon_to_proto(view: DaemonView) -> pb.Daemon:
    row, snapshot = view.daemon, view.snapshot
    # A snapshot shows the content as that version was published; who may see it, the statistics
    # and the state are the daemon's own and always current.
    content = snapshot if snapshot is not None else row
    created = snapshot.created_at if snapshot is not None else row.created_at
    return pb.Daemon(
        name=f"daemons/{row.id}@{snapshot.version}" if snapshot is not None else f"daemons/{row.id}",
        owner=f"agents/{row.owner_id}",
        display_name=content.display_name,
        description=content.description,
        version=content.version,
        definition_yaml=content.definition_yaml,
        category=CATEGORY_PROTO.get(Category(content.category), pb.CATEGORY_UNSPECIFIED),
        tags=content.tags,
        pricing=pricing_to_proto(content.pricing),
        license=content.license,
        visibility=_VISIBILITY_PROTO.get(Visibility(row.visibility), pb.VISIBILITY_UNSPECIFIED),
        allowed_organizations=row.allowed_organizations,
        allowed_agents=row.allowed_agents,
        forked_from=row.forked_from,
        lineage=row.lineage,
        spec=spec_to_proto(content.spec),
        run_count=row.run_count,
        fork_count=row.fork_count,
        rating=row.rating,
        review_count=row.review_count,
        purchase_count=row.purchase_count,
        state=LISTING_STATES.get(row.state, pb.LISTING_STATE_UNSPECIFIED),
        featured=row.featured,
        create_time=timestamp(created),
        update_time=timestamp(snapshot.created_at if snapshot is not None else row.updated_at),
        # Snapshots never change, so they carry no etag.
        etag="" if snapshot is not None else daemon_etag(row),
    )


# --- skills -------------------------------------------------------------------------------------


def _endpoint_draft(endpoint: pb.SkillEndpoint) -> EndpointDraft:
    target = endpoint.WhichOneof("target")
    if target == "https_url":
        return EndpointDraft("https_url", https_url=endpoint.https_url)
    if target == "hosted_script":
        script = endpoint.hosted_script
        return EndpointDraft(
            "hosted_script",
            hosted_script=HostedScriptDraft(
                runtime=_SCRIPT_RUNTIMES.get(script.runtime),
                source=script.source,
                timeout_seconds=script.timeout_seconds,
            ),
        )
    if target == "agent_channel":
        return EndpointDraft("agent_channel")
    return EndpointDraft()


def skill_draft(skill: pb.Skill) -> SkillDraft:
    return SkillDraft(
        display_name=skill.display_name,
        version=skill.version,
        description=skill.description,
        category=CATEGORIES.get(skill.category),
        tags=list(skill.tags),
        pricing=pricing_draft(skill.pricing),
        code=CodeDraft(
            repo_url=skill.code.repo_url,
            entry_point=skill.code.entry_point,
            dependencies=list(skill.code.dependencies),
            documentation_uri=skill.code.documentation_uri,
        ),
        openapi_spec=skill.openapi_spec,
        endpoint=_endpoint_draft(skill.endpoint),
    )


def _endpoint_to_proto(document: Mapping[str, Any]) -> pb.SkillEndpoint:
    if "https_url" in document:
        return pb.SkillEndpoint(https_url=document["https_url"])
    if "hosted_script" in document:
        script = document["hosted_script"]
        return pb.SkillEndpoint(
            hosted_script=pb.HostedScript(
                runtime=RUNTIMES.get(script.get("runtime", ""), pb.SCRIPT_RUNTIME_UNSPECIFIED),
                source=script.get("source", ""),
                timeout_seconds=int(script.get("timeout_seconds", 0)),
            )
        )
    if "agent_channel" in document:
        return pb.SkillEndpoint(agent_channel=pb.AgentChannelTarget())
    return pb.SkillEndpoint()


# Protos of current rows, by row instance. Fast reads hand out one shared instance per distinct row
# content (infra/fastread.RowBuilder), so a listing that appears in many searches is converted once;
# a changed row is a new instance. The protos are shared: never mutate what these return.
_SKILL_PROTOS: WeakKeyDictionary[SkillRow, pb.Skill] = WeakKeyDictionary()
_DAEMON_PROTOS: WeakKeyDictionary[DaemonRow, pb.Daemon] = WeakKeyDictionary()


def skill_to_proto(view: SkillView) -> pb.Skill:
    if view.snapshot is None:
        found = _SKILL_PROTOS.get(view.skill)
        if found is None:
            found = _SKILL_PROTOS[view.skill] = _skill_to_proto(view)
        return found
    return _skill_to_proto(view)


def _skill_to_proto(view: SkillView) -> pb.Skill:
    row, snapshot = view.skill, view.snapshot
    # A snapshot shows the content as that version was published; statistics and state are the
    # skill's own and always current.
    content = snapshot if snapshot is not None else row
    code = content.code or {}
    published = snapshot.created_at if snapshot is not None else row.version_time
    return pb.Skill(
        name=f"skills/{row.id}@{snapshot.version}" if snapshot is not None else f"skills/{row.id}",
        owner=f"agents/{row.owner_id}",
        display_name=content.display_name,
        version=content.version,
        description=content.description,
        category=CATEGORY_PROTO.get(Category(content.category), pb.CATEGORY_UNSPECIFIED),
        tags=content.tags,
        pricing=pricing_to_proto(content.pricing),
        code=pb.CodeDetails(
            repo_url=code.get("repo_url", ""),
            entry_point=code.get("entry_point", ""),
            dependencies=code.get("dependencies", []),
            documentation_uri=code.get("documentation_uri", ""),
        ),
        openapi_spec=content.openapi_spec,
        endpoint=_endpoint_to_proto(content.endpoint),
        rating=row.rating,
        review_count=row.review_count,
        purchase_count=row.purchase_count,
        state=LISTING_STATES.get(row.state, pb.LISTING_STATE_UNSPECIFIED),
        deprecation_reason=row.deprecation_reason,
        # Skill.create_time is when the version shown was published.
        create_time=timestamp(published),
        update_time=timestamp(published if snapshot is not None else row.updated_at),
        etag="" if snapshot is not None else skill_etag(row),
        featured=row.featured,
    )
