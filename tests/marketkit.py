"""Helpers for the marketplace tests: listings with a given pricing, purchases, licences."""

from __future__ import annotations

from typing import Any

from agentos.common.v1 import common_pb2
from agentos.marketplace.v1 import marketplace_pb2 as mpb
from agentos.registry.v1 import registry_pb2 as rpb

from paykit import key
from testkit import AgentHandle, ServerHandle, unique_id

OPENAPI = """
openapi: 3.0.3
info: {title: Demo, version: '1.0'}
paths:
  /run:
    post:
      operationId: run
      responses:
        '200': {description: done}
"""

DAEMON_YAML = """
version: '1.0.0'
inputs:
  - name: topic
    type: string
stages:
  - name: Outline
    model: builtin-small
    prompt_template: "Outline ${topic}"
    output: outline
"""


def usdc(amount: int) -> common_pb2.Money:
    return common_pb2.Money(asset="USDC", amount=amount)


def one_time(amount: int, **extra: Any) -> rpb.Pricing:
    return rpb.Pricing(model=rpb.PRICING_MODEL_ONE_TIME, price=usdc(amount), **extra)


def subscription(amount: int, interval: int = rpb.BILLING_INTERVAL_MONTHLY, **extra: Any) -> rpb.Pricing:
    return rpb.Pricing(model=rpb.PRICING_MODEL_SUBSCRIPTION, price=usdc(amount), interval=interval, **extra)


def prepaid(unit_price: int, **extra: Any) -> rpb.Pricing:
    return rpb.Pricing(
        model=rpb.PRICING_MODEL_USAGE,
        price=usdc(unit_price),
        usage_unit="call",
        usage_billing=rpb.USAGE_BILLING_PREPAID_UNITS,
        **extra,
    )


def per_call(unit_price: int, **extra: Any) -> rpb.Pricing:
    return rpb.Pricing(
        model=rpb.PRICING_MODEL_USAGE,
        price=usdc(unit_price),
        usage_unit="call",
        usage_billing=rpb.USAGE_BILLING_PAY_PER_CALL,
        **extra,
    )


def free(**extra: Any) -> rpb.Pricing:
    return rpb.Pricing(model=rpb.PRICING_MODEL_FREE, **extra)


def create_skill(
    server: ServerHandle,
    owner: AgentHandle,
    pricing: rpb.Pricing,
    *,
    category: int = rpb.CATEGORY_ANALYSIS,
    documented: bool = True,
    **fields: Any,
) -> rpb.Skill:
    message = rpb.Skill(
        display_name=fields.pop("display_name", f"Skill {unique_id('s')}"),
        version="1.0.0",
        description="Does one thing well",
        category=category,
        pricing=pricing,
        endpoint=rpb.SkillEndpoint(https_url="https://seller.example/api"),
        code=rpb.CodeDetails(documentation_uri="https://docs.example/skill" if documented else ""),
        openapi_spec=OPENAPI if documented else "",
        **fields,
    )
    response: rpb.CreateSkillResponse = server.registry.CreateSkill(
        rpb.CreateSkillRequest(skill=message), metadata=owner.auth
    )
    return response.skill


def create_daemon(
    server: ServerHandle, owner: AgentHandle, pricing: rpb.Pricing, **fields: Any
) -> rpb.Daemon:
    message = rpb.Daemon(
        display_name=fields.pop("display_name", f"Daemon {unique_id('d')}"),
        description="Outlines a topic",
        version="1.0.0",
        definition_yaml=DAEMON_YAML,
        category=fields.pop("category", rpb.CATEGORY_CONTENT),
        pricing=pricing,
        license="proprietary",
        visibility=fields.pop("visibility", rpb.VISIBILITY_PUBLIC),
        **fields,
    )
    response: rpb.CreateDaemonResponse = server.registry.CreateDaemon(
        rpb.CreateDaemonRequest(daemon=message), metadata=owner.auth
    )
    return response.daemon


def buy(
    server: ServerHandle,
    buyer: AgentHandle,
    listing: str,
    license_type: int = rpb.LICENSE_TYPE_PERSONAL,
    *,
    units: int = 0,
    idempotency_key: str | None = None,
    **extra: Any,
) -> mpb.PurchaseResponse:
    response: mpb.PurchaseResponse = server.marketplace.Purchase(
        mpb.PurchaseRequest(
            listing=listing,
            license_type=license_type,
            units=units,
            idempotency_key=idempotency_key or key("buy"),
            **extra,
        ),
        metadata=buyer.auth,
    )
    return response


def verify(
    server: ServerHandle, caller: AgentHandle, listing: str, buyer: str = ""
) -> mpb.VerifyLicenseResponse:
    response: mpb.VerifyLicenseResponse = server.marketplace.VerifyLicense(
        mpb.VerifyLicenseRequest(listing=listing, buyer=buyer), metadata=caller.auth
    )
    return response


def refund(
    server: ServerHandle,
    caller: AgentHandle,
    purchase: str,
    reason: str = "",
    idempotency_key: str | None = None,
) -> mpb.Purchase:
    response: mpb.RefundPurchaseResponse = server.marketplace.RefundPurchase(
        mpb.RefundPurchaseRequest(
            name=purchase, reason=reason, idempotency_key=idempotency_key or key("refund")
        ),
        metadata=caller.auth,
    )
    return response.purchase


def review(
    server: ServerHandle, reviewer: AgentHandle, listing: str, stars: int, text: str = ""
) -> mpb.Review:
    response: mpb.CreateReviewResponse = server.marketplace.CreateReview(
        mpb.CreateReviewRequest(review=mpb.Review(listing=listing, stars=stars, text=text)),
        metadata=reviewer.auth,
    )
    return response.review


def reputation(server: ServerHandle, agent: AgentHandle) -> mpb.Reputation:
    response: mpb.GetReputationResponse = server.marketplace.GetReputation(
        mpb.GetReputationRequest(agent=agent.name)
    )
    return response.reputation


def get_agent(server: ServerHandle, agent: AgentHandle) -> rpb.Agent:
    response: rpb.GetAgentResponse = server.registry.GetAgent(rpb.GetAgentRequest(name=agent.name))
    return response.agent


def get_skill(server: ServerHandle, name: str) -> rpb.Skill:
    response: rpb.GetSkillResponse = server.registry.GetSkill(rpb.GetSkillRequest(name=name))
    return response.skill
