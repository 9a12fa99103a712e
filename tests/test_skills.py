"""Registry skills over the real server: publish, versions, pricing rules, OpenAPI, endpoints, bad input."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from agentos.common.v1 import common_pb2
from agentos.registry.v1 import registry_pb2 as pb
from agentos_server.domain.skills import operations

from testkit import AgentHandle, ServerHandle, assert_refused, create_agent, unique_id

OPENAPI_YAML = """
openapi: 3.0.3
info: {title: SmartEmailer, version: '1.0'}
paths:
  /send:
    post:
      operationId: send
      summary: Send a personalised email
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Email'}
      responses:
        '200': {description: sent}
  /status/{id}:
    parameters: [{name: id, in: path, required: true, schema: {type: string}}]
    get:
      responses:
        '200': {description: the delivery status}
components:
  schemas:
    Email:
      type: object
      required: [to, subject]
      properties:
        to: {type: string}
        subject: {type: string}
        tone: {type: string, enum: [professional, casual, friendly]}
"""

OPENAPI_31_JSON = json.dumps(
    {
        "openapi": "3.1.0",
        "info": {"title": "Summariser", "version": "2"},
        "paths": {
            "/summarise": {
                "post": {
                    "operationId": "summarise",
                    "requestBody": {
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
)

USDC = "USDC"


def usdc(amount: int) -> common_pb2.Money:
    return common_pb2.Money(asset=USDC, amount=amount)


def skill_message(**overrides: Any) -> pb.Skill:
    fields: dict[str, Any] = {
        "display_name": f"Smart Emailer {unique_id('v')}",
        "version": "1.0.0",
        "description": "Sends personalised emails in the tone you pick",
        "category": pb.CATEGORY_COMMUNICATION,
        "tags": ["email", "Outreach"],
        "pricing": pb.Pricing(
            model=pb.PRICING_MODEL_USAGE,
            price=usdc(1_000),
            usage_unit="email",
            usage_billing=pb.USAGE_BILLING_PAY_PER_CALL,
        ),
        "code": pb.CodeDetails(
            repo_url="https://github.com/example/smart-emailer",
            entry_point="emailer.main:send",
            dependencies=["httpx>=0.27"],
            documentation_uri="ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
        ),
        "openapi_spec": OPENAPI_YAML,
        "endpoint": pb.SkillEndpoint(https_url="https://emailer.example.com/v1"),
    }
    fields.update(overrides)
    return pb.Skill(**fields)


def create_skill(server: ServerHandle, owner: AgentHandle, **overrides: Any) -> pb.Skill:
    skill_id = overrides.pop("skill_id", unique_id("skill"))
    return server.registry.CreateSkill(
        pb.CreateSkillRequest(skill_id=skill_id, skill=skill_message(**overrides)), metadata=owner.auth
    ).skill


def update_skill(
    server: ServerHandle, owner: AgentHandle, skill: pb.Skill, paths: list[str] | None, **fields: Any
) -> pb.Skill:
    request = pb.UpdateSkillRequest(skill=pb.Skill(name=skill.name, **fields))
    if paths is not None:
        request.update_mask.CopyFrom(field_mask_pb2.FieldMask(paths=paths))
    return server.registry.UpdateSkill(request, metadata=owner.auth).skill


def refuse_create(
    server: ServerHandle, owner: AgentHandle, field: str, *, reason: str | None = None, **overrides: Any
) -> str:
    found = assert_refused(
        server,
        lambda: create_skill(server, owner, **overrides),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason=reason,
        field=field,
    )
    return found.message


def test_publish_and_read(server: ServerHandle, agent: AgentHandle) -> None:
    skill = create_skill(server, agent)
    assert skill.owner == agent.name
    assert skill.version == "1.0.0"
    assert list(skill.tags) == ["email", "outreach"]
    assert skill.pricing.model == pb.PRICING_MODEL_USAGE
    assert skill.pricing.price == usdc(1_000)
    assert skill.pricing.usage_unit == "email"
    assert skill.code.entry_point == "emailer.main:send"
    assert skill.endpoint.https_url == "https://emailer.example.com/v1"
    assert skill.state == pb.LISTING_STATE_ACTIVE
    assert skill.etag
    assert server.registry.GetSkill(pb.GetSkillRequest(name=skill.name)).skill == skill
    pinned = server.registry.GetSkill(pb.GetSkillRequest(name=f"{skill.name}@1.0.0")).skill
    assert pinned.name == f"{skill.name}@1.0.0"
    assert pinned.openapi_spec == OPENAPI_YAML


def test_generated_id_and_other_endpoints(server: ServerHandle, agent: AgentHandle) -> None:
    script = server.registry.CreateSkill(
        pb.CreateSkillRequest(
            skill=skill_message(
                pricing=pb.Pricing(model=pb.PRICING_MODEL_FREE),
                openapi_spec=OPENAPI_31_JSON,
                endpoint=pb.SkillEndpoint(
                    hosted_script=pb.HostedScript(runtime=pb.SCRIPT_RUNTIME_PYTHON, source="print('{}')")
                ),
            )
        ),
        metadata=agent.auth,
    ).skill
    assert len(script.name.removeprefix("skills/")) == 26
    assert script.endpoint.hosted_script.timeout_seconds == 30
    channel = create_skill(server, agent, endpoint=pb.SkillEndpoint(agent_channel=pb.AgentChannelTarget()))
    assert channel.endpoint.HasField("agent_channel")
    local = create_skill(server, agent, endpoint=pb.SkillEndpoint(https_url="http://127.0.0.1:8080/dev"))
    assert local.endpoint.https_url == "http://127.0.0.1:8080/dev"
    no_spec = create_skill(server, agent, openapi_spec="")
    assert no_spec.openapi_spec == ""


def test_every_version_is_kept(server: ServerHandle, agent: AgentHandle) -> None:
    skill = create_skill(server, agent)
    second = update_skill(
        server,
        agent,
        skill,
        ["description", "version"],
        version="1.1.0",
        description="Now with retries",
        etag=skill.etag,
    )
    assert second.version == "1.1.0"
    assert second.description == "Now with retries"
    assert second.display_name == skill.display_name
    # Without an update_mask, the fields that are set are the ones updated.
    third = update_skill(
        server, agent, second, None, version="2.0.0", pricing=pb.Pricing(model=pb.PRICING_MODEL_FREE)
    )
    assert third.pricing.model == pb.PRICING_MODEL_FREE
    assert third.description == "Now with retries"

    versions = server.registry.ListSkillVersions(pb.ListSkillVersionsRequest(name=skill.name)).skills
    assert [v.name for v in versions] == [f"{skill.name}@2.0.0", f"{skill.name}@1.1.0", f"{skill.name}@1.0.0"]
    assert versions[2].description == skill.description
    assert versions[2].pricing.model == pb.PRICING_MODEL_USAGE
    old = server.registry.GetSkill(pb.GetSkillRequest(name=f"{skill.name}@1.1.0")).skill
    assert old.description == "Now with retries"
    assert old.pricing.model == pb.PRICING_MODEL_USAGE

    first_page = server.registry.ListSkillVersions(pb.ListSkillVersionsRequest(name=skill.name, page_size=2))
    assert len(first_page.skills) == 2
    rest = server.registry.ListSkillVersions(
        pb.ListSkillVersionsRequest(name=skill.name, page_size=2, page_token=first_page.next_page_token)
    )
    assert [v.version for v in rest.skills] == ["1.0.0"]
    assert not rest.next_page_token


def test_version_must_be_valid_and_greater(server: ServerHandle, agent: AgentHandle) -> None:
    skill = create_skill(server, agent, version="1.4.0")
    for version in ["1.4.0", "1.3.9", "1.4.0-rc.1", "1.4.0+build"]:
        assert_refused(
            server,
            lambda: update_skill(server, agent, skill, ["description"], version=version, description="x"),
            grpc.StatusCode.INVALID_ARGUMENT,
            reason="VERSION_NOT_INCREASED",
            field="skill.version",
        )
    for version in ["", "1.5", "v1.5.0", "1.5.0-", "1.5.0-01"]:
        assert_refused(
            server,
            lambda: update_skill(server, agent, skill, ["description"], version=version, description="x"),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="skill.version",
        )
    refuse_create(server, agent, "skill.version", reason="INVALID_SEMVER", version="1.0")


@pytest.mark.parametrize(
    ("pricing", "field"),
    [
        # A free skill with a price.
        (pb.Pricing(model=pb.PRICING_MODEL_FREE, price=usdc(5)), "skill.pricing.price.amount"),
        (
            pb.Pricing(
                model=pb.PRICING_MODEL_FREE,
                license_prices=[pb.LicensePrice(license_type=pb.LICENSE_TYPE_COMMERCIAL, price=usdc(9))],
            ),
            "skill.pricing.license_prices[0].price.amount",
        ),
        # A usage skill without its unit, or without how it bills.
        (
            pb.Pricing(
                model=pb.PRICING_MODEL_USAGE, price=usdc(5), usage_billing=pb.USAGE_BILLING_PREPAID_UNITS
            ),
            "skill.pricing.usage_unit",
        ),
        (
            pb.Pricing(model=pb.PRICING_MODEL_USAGE, price=usdc(5), usage_unit="call"),
            "skill.pricing.usage_billing",
        ),
        # A subscription without an interval.
        (pb.Pricing(model=pb.PRICING_MODEL_SUBSCRIPTION, price=usdc(5)), "skill.pricing.interval"),
        (
            pb.Pricing(model=pb.PRICING_MODEL_ONE_TIME, price=usdc(5), interval=pb.BILLING_INTERVAL_MONTHLY),
            "skill.pricing.interval",
        ),
        (pb.Pricing(model=pb.PRICING_MODEL_UNSPECIFIED), "skill.pricing.model"),
        (pb.Pricing(model=pb.PRICING_MODEL_ONE_TIME, price=usdc(0)), "skill.pricing.price.amount"),
        (pb.Pricing(model=pb.PRICING_MODEL_ONE_TIME, price=usdc(-5)), "skill.pricing.price.amount"),
        (pb.Pricing(model=pb.PRICING_MODEL_ONE_TIME, price=usdc(10**15 + 1)), "skill.pricing.price.amount"),
        (
            pb.Pricing(model=pb.PRICING_MODEL_ONE_TIME, price=common_pb2.Money(asset="DOGE", amount=5)),
            "skill.pricing.price.asset",
        ),
        (
            pb.Pricing(model=pb.PRICING_MODEL_ONE_TIME, price=common_pb2.Money(amount=5)),
            "skill.pricing.price.asset",
        ),
        (
            pb.Pricing(
                model=pb.PRICING_MODEL_ONE_TIME,
                price=usdc(5),
                license_prices=[
                    pb.LicensePrice(license_type=pb.LICENSE_TYPE_PERSONAL, price=usdc(5)),
                    pb.LicensePrice(license_type=pb.LICENSE_TYPE_PERSONAL, price=usdc(7)),
                ],
            ),
            "skill.pricing.license_prices[1].license_type",
        ),
        (
            pb.Pricing(
                model=pb.PRICING_MODEL_ONE_TIME,
                price=usdc(5),
                license_prices=[
                    pb.LicensePrice(
                        license_type=pb.LICENSE_TYPE_ENTERPRISE, price=common_pb2.Money(asset="SOL", amount=9)
                    )
                ],
            ),
            "skill.pricing.license_prices[0].price.asset",
        ),
        (pb.Pricing(model=pb.PRICING_MODEL_FREE, trial_runs=101), "skill.pricing.trial_runs"),
    ],
)
def test_pricing_rules(server: ServerHandle, agent: AgentHandle, pricing: pb.Pricing, field: str) -> None:
    refuse_create(server, agent, field, pricing=pricing)


def test_valid_pricings(server: ServerHandle, agent: AgentHandle) -> None:
    subscription = create_skill(
        server,
        agent,
        pricing=pb.Pricing(
            model=pb.PRICING_MODEL_SUBSCRIPTION,
            price=common_pb2.Money(asset="SOL", amount=250_000_000),
            interval=pb.BILLING_INTERVAL_MONTHLY,
            license_prices=[
                pb.LicensePrice(
                    license_type=pb.LICENSE_TYPE_ENTERPRISE,
                    price=common_pb2.Money(asset="SOL", amount=10**12),
                )
            ],
            trial_runs=3,
        ),
    )
    assert subscription.pricing.interval == pb.BILLING_INTERVAL_MONTHLY
    assert subscription.pricing.license_prices[0].price.amount == 10**12
    credits = create_skill(
        server,
        agent,
        pricing=pb.Pricing(model=pb.PRICING_MODEL_ONE_TIME, price=common_pb2.Money(asset="CREDIT", amount=1)),
    )
    assert credits.pricing.price.asset == "CREDIT"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ("openapi: [3.0\n", "is neither JSON nor valid YAML"),
        ("swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n", "OpenAPI 3.0 or 3.1"),
        ("openapi: 3.0.3\ninfo: {title: x}\npaths: {}\n", "'version' is a required property"),
        (
            OPENAPI_YAML.replace("#/components/schemas/Email", "https://evil.example/x.json"),
            "outside the document",
        ),
        (
            OPENAPI_YAML.replace("#/components/schemas/Email", "#/components/schemas/Nope"),
            "points at nothing",
        ),
        ("- just\n- a list\n", "must be an OpenAPI document"),
        ("openapi: 3.0.3\n" + "# padding\n" * 60_000, "larger than 512 KiB"),
    ],
)
def test_bad_openapi_documents(server: ServerHandle, agent: AgentHandle, spec: str, expected: str) -> None:
    message = refuse_create(server, agent, "skill.openapi_spec", reason="INVALID_OPENAPI", openapi_spec=spec)
    assert expected in message


@pytest.mark.parametrize(
    ("endpoint", "field"),
    [
        (pb.SkillEndpoint(), "skill.endpoint"),
        (pb.SkillEndpoint(https_url="http://emailer.example.com"), "skill.endpoint.https_url"),
        (pb.SkillEndpoint(https_url="ftp://emailer.example.com"), "skill.endpoint.https_url"),
        (pb.SkillEndpoint(https_url="https://user:pw@emailer.example.com"), "skill.endpoint.https_url"),
        (pb.SkillEndpoint(https_url="emailer.example.com"), "skill.endpoint.https_url"),
        (
            pb.SkillEndpoint(hosted_script=pb.HostedScript(runtime=pb.SCRIPT_RUNTIME_BASH, source="  ")),
            "skill.endpoint.hosted_script.source",
        ),
        (
            pb.SkillEndpoint(hosted_script=pb.HostedScript(source="echo hi")),
            "skill.endpoint.hosted_script.runtime",
        ),
        (
            pb.SkillEndpoint(
                hosted_script=pb.HostedScript(runtime=pb.SCRIPT_RUNTIME_NODE, source="x", timeout_seconds=301)
            ),
            "skill.endpoint.hosted_script.timeout_seconds",
        ),
    ],
)
def test_bad_endpoints(
    server: ServerHandle, agent: AgentHandle, endpoint: pb.SkillEndpoint, field: str
) -> None:
    refuse_create(server, agent, field, endpoint=endpoint)


def test_other_bad_fields(server: ServerHandle, agent: AgentHandle) -> None:
    for display_name in ["", "   ", "s" * 101]:
        refuse_create(server, agent, "skill.display_name", display_name=display_name)
    refuse_create(server, agent, "skill.category", category=pb.CATEGORY_UNSPECIFIED)
    refuse_create(server, agent, "skill.tags[1]", tags=["ok", "not ok"])
    refuse_create(server, agent, "skill.tags", tags=[f"t{i}" for i in range(17)])
    refuse_create(server, agent, "skill.code.repo_url", code=pb.CodeDetails(repo_url="http://github.com/x/y"))
    refuse_create(server, agent, "skill.description", description="d" * 4001)
    refuse_create(server, agent, "skill_id", skill_id="Not_An_Id")


def test_names_are_unique_per_owner(
    server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle
) -> None:
    skill = create_skill(server, agent, display_name="Translator")
    assert_refused(
        server,
        lambda: create_skill(server, agent, display_name="translator"),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="SKILL_NAME_TAKEN",
        field="skill.display_name",
    )
    assert create_skill(server, other_agent, display_name="Translator").display_name == "Translator"
    assert_refused(
        server,
        lambda: create_skill(server, agent, skill_id=skill.name.removeprefix("skills/")),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="SKILL_EXISTS",
        field="skill_id",
    )
    second = create_skill(server, agent, display_name="Summariser")
    assert_refused(
        server,
        lambda: update_skill(
            server, agent, second, ["display_name"], version="1.0.1", display_name="TRANSLATOR"
        ),
        grpc.StatusCode.ALREADY_EXISTS,
        field="skill.display_name",
    )


def test_ownership_etag_existence_masks(
    server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle
) -> None:
    skill = create_skill(server, agent)
    assert_refused(
        server,
        lambda: update_skill(
            server, other_agent, skill, ["description"], version="9.0.0", description="mine now"
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        reason="NOT_OWNER",
    )
    update_skill(server, agent, skill, ["tags"], version="1.0.1", tags=["fresh"])
    assert_refused(
        server,
        lambda: update_skill(server, agent, skill, ["tags"], version="1.0.2", tags=["lost"], etag=skill.etag),
        grpc.StatusCode.ABORTED,
        reason="ETAG_MISMATCH",
        field="etag",
    )
    assert_refused(
        server,
        lambda: server.registry.GetSkill(pb.GetSkillRequest(name="skills/no-such-skill")),
        grpc.StatusCode.NOT_FOUND,
        reason="SKILL_NOT_FOUND",
    )
    assert_refused(
        server,
        lambda: server.registry.GetSkill(pb.GetSkillRequest(name=f"{skill.name}@7.0.0")),
        grpc.StatusCode.NOT_FOUND,
        reason="SKILL_NOT_FOUND",
    )
    assert_refused(
        server,
        lambda: update_skill(server, agent, pb.Skill(name="skills/no-such-skill"), ["tags"], version="2.0.0"),
        grpc.StatusCode.NOT_FOUND,
    )
    for paths in (["rating"], ["owner"], ["purchase_count"], []):
        assert_refused(
            server,
            lambda: update_skill(server, agent, skill, paths, version="5.0.0"),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="update_mask",
        )
    for name in ["", "skills/", "agents/x", f"{skill.name}@", f"{skill.name}@latest"]:
        assert_refused(
            server,
            lambda: server.registry.GetSkill(pb.GetSkillRequest(name=name)),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="name",
        )
    # A bad OpenAPI document in an update is refused the same way as on create.
    assert_refused(
        server,
        lambda: update_skill(server, agent, skill, ["openapi_spec"], version="3.0.0", openapi_spec="{"),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="skill.openapi_spec",
    )


def test_deprecation(
    server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle, operator: AgentHandle
) -> None:
    skill = create_skill(server, agent)
    assert_refused(
        server,
        lambda: server.registry.DeprecateSkill(
            pb.DeprecateSkillRequest(name=skill.name), metadata=other_agent.auth
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    assert_refused(
        server,
        lambda: server.registry.DeprecateSkill(
            pb.DeprecateSkillRequest(name=skill.name, reason="r" * 501), metadata=agent.auth
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="reason",
    )
    deprecated = server.registry.DeprecateSkill(
        pb.DeprecateSkillRequest(name=skill.name, reason="use v2 instead"), metadata=agent.auth
    ).skill
    assert deprecated.state == pb.LISTING_STATE_DEPRECATED
    assert deprecated.deprecation_reason == "use v2 instead"
    listed = server.registry.ListSkills(pb.ListSkillsRequest(owner=agent.name)).skills
    assert skill.name not in {s.name for s in listed}
    listed = server.registry.ListSkills(pb.ListSkillsRequest(owner=agent.name, show_deprecated=True)).skills
    assert skill.name in {s.name for s in listed}
    # Still readable: existing licences keep working.
    assert (
        server.registry.GetSkill(pb.GetSkillRequest(name=skill.name)).skill.state
        == pb.LISTING_STATE_DEPRECATED
    )
    assert_refused(
        server,
        lambda: update_skill(server, agent, deprecated, ["description"], version="2.0.0", description="x"),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="LISTING_DEPRECATED",
    )
    # Operators may take anyone's skill off sale.
    another = create_skill(server, agent)
    server.registry.DeprecateSkill(pb.DeprecateSkillRequest(name=another.name), metadata=operator.auth)


def test_list_filters_and_pages(server: ServerHandle) -> None:
    owner = create_agent(server, "catalogue")
    made = [
        create_skill(server, owner, category=pb.CATEGORY_ANALYSIS if i % 2 else pb.CATEGORY_CREATIVE).name
        for i in range(5)
    ]
    seen: list[str] = []
    token = ""
    while True:
        page = server.registry.ListSkills(
            pb.ListSkillsRequest(owner=owner.name, page_size=2, page_token=token)
        )
        assert len(page.skills) <= 2
        seen += [s.name for s in page.skills]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(made))
    analysis = server.registry.ListSkills(
        pb.ListSkillsRequest(owner=owner.name, category=pb.CATEGORY_ANALYSIS)
    ).skills
    assert [s.name for s in analysis] == [made[3], made[1]]

    token = server.registry.ListSkills(pb.ListSkillsRequest(owner=owner.name, page_size=1)).next_page_token
    assert_refused(
        server,
        lambda: server.registry.ListSkills(
            pb.ListSkillsRequest(
                owner=owner.name, page_size=1, page_token=token, category=pb.CATEGORY_ANALYSIS
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason="INVALID_PAGE_TOKEN",
        field="page_token",
    )
    for forged in ["x", token[:-2], token.replace(".", ".A", 1)]:
        assert_refused(
            server,
            lambda: server.registry.ListSkills(pb.ListSkillsRequest(owner=owner.name, page_token=forged)),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="page_token",
        )
    assert_refused(
        server,
        lambda: server.registry.ListSkills(pb.ListSkillsRequest(page_size=-5)),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="page_size",
    )
    assert_refused(
        server,
        lambda: server.registry.ListSkillVersions(pb.ListSkillVersionsRequest(name=made[0], page_size=-1)),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="page_size",
    )


def test_deactivated_owner(server: ServerHandle, operator: AgentHandle) -> None:
    owner = create_agent(server, "retiring")
    skill = create_skill(server, owner)
    server.registry.DeactivateAgent(pb.DeactivateAgentRequest(name=owner.name), metadata=owner.auth)
    assert_refused(server, lambda: create_skill(server, owner), grpc.StatusCode.UNAUTHENTICATED)
    listed = server.registry.ListSkills(pb.ListSkillsRequest(owner=owner.name)).skills
    assert listed == []
    # Even an operator cannot publish new versions for an agent that is gone.
    assert_refused(
        server,
        lambda: update_skill(server, operator, skill, ["description"], version="2.0.0", description="x"),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="AGENT_DEACTIVATED",
    )
    assert server.registry.GetSkill(pb.GetSkillRequest(name=skill.name)).skill.owner == owner.name


def test_operations_for_the_proxy() -> None:
    document = operations(OPENAPI_YAML)
    assert [op.key for op in document.operations] == ["send", "GET /status/{id}"]
    send = document.find("send")
    assert send is not None
    assert send.method == "POST"
    assert send.request_schema is not None
    assert send.request_schema["required"] == ["to", "subject"]
    status = document.find("get /status/{id}")
    assert status is not None
    assert [p["name"] for p in status.parameters] == ["id"]
    assert status.request_schema is None
    assert document.find("nothing") is None
    assert operations("").operations == ()
