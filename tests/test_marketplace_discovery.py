"""Featured listings and recommendations over the real server."""

from __future__ import annotations

import math

import grpc
import pytest

from agentos.marketplace.v1 import marketplace_pb2 as mpb
from agentos.registry.v1 import registry_pb2 as rpb

from marketkit import buy, create_daemon, create_skill, free, one_time
from paykit import USDC, fund
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent

# Only this file publishes integration listings, so the popularity scale below is its own.
CATEGORY = rpb.CATEGORY_INTEGRATION


def recommend(server: ServerHandle, caller: AgentHandle, agent: str = "") -> list[mpb.Recommendation]:
    response: mpb.RecommendListingsResponse = server.marketplace.RecommendListings(
        mpb.RecommendListingsRequest(agent=agent, page_size=50), metadata=caller.auth
    )
    return list(response.recommendations)


def test_recommendations_from_co_purchases_then_category_popularity(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller = create_agent(server, "catalogue")
    x, y, z, popular, unsold = (
        create_skill(server, seller, one_time(100), category=CATEGORY, display_name=f"Connector {n}").name
        for n in "xyzpq"
    )
    retired = create_skill(server, seller, one_time(100), category=CATEGORY).name
    agent = create_agent(server, "curious")
    own = create_skill(server, agent, one_time(100), category=CATEGORY).name

    def customer(name: str, *listings: str) -> AgentHandle:
        buyer = create_agent(server, name)
        fund(server, operator, buyer, USDC)
        for listing in listings:
            buy(server, buyer, listing)
        return buyer

    customer("early", x, y, z, retired)
    customer("second", x, y)
    for index in range(3):
        customer(f"crowd{index}", popular)
    server.registry.DeprecateSkill(
        rpb.DeprecateSkillRequest(name=retired, reason="gone"), metadata=seller.auth
    )
    fund(server, operator, agent, USDC)
    buy(server, agent, x)

    found = recommend(server, agent)
    names = [r.listing.skill.name for r in found]
    # Co-purchases first: y with two co-buyers, z with one; then the category's most purchased.
    assert names[:3] == [y, z, popular]
    assert [r.reason for r in found[:3]] == [
        f"bought together with {x}",
        f"bought together with {x}",
        "popular in CATEGORY_INTEGRATION",
    ]
    # Popularity is ln(1 + purchases) / ln(1 + the most purchased candidate's), here 3 purchases.
    assert found[0].score == pytest.approx(2 + math.log(3) / math.log(4))
    assert found[1].score == pytest.approx(1 + math.log(2) / math.log(4))
    assert found[2].score == pytest.approx(1.0)
    # Never what it licensed or owns, nor deprecated or unsold listings.
    for excluded in (x, own, retired, unsold):
        assert excluded not in names
    assert found[0].listing.skill.owner == seller.name

    # Recommendations reveal purchases: another agent's are for operators only.
    assert_refused(server, lambda: recommend(server, seller, agent.name), grpc.StatusCode.PERMISSION_DENIED)
    assert [r.listing.skill.name for r in recommend(server, operator, agent.name)][:3] == [y, z, popular]


def test_a_newcomer_gets_popular_listings(server: ServerHandle, operator: AgentHandle) -> None:
    seller = create_agent(server, "starter")
    hit = create_daemon(server, seller, free(), category=CATEGORY)
    buy(server, create_agent(server, "early-adopter"), hit.name)
    newcomer = create_agent(server, "newcomer")
    found = recommend(server, newcomer)
    assert found
    assert all(r.reason.startswith("popular in CATEGORY_") for r in found)
    assert all(0 < r.score <= 1 for r in found)
    assert all(r.listing.WhichOneof("listing") in ("skill", "daemon") for r in found)


def test_featuring_shows_the_listing_with_its_kind(server: ServerHandle, operator: AgentHandle) -> None:
    seller = create_agent(server, "spotlit")
    daemon = create_daemon(server, seller, free())
    hidden = create_daemon(server, seller, free(), visibility=rpb.VISIBILITY_PRIVATE)
    shown = server.marketplace.FeatureListing(
        mpb.FeatureListingRequest(listing=daemon.name), metadata=operator.auth
    ).featured_listing
    assert shown.listing.daemon.name == daemon.name
    assert shown.listing.daemon.featured
    listed = server.marketplace.ListFeaturedListings(mpb.ListFeaturedListingsRequest(page_size=100))
    assert daemon.name in [f.listing.daemon.name for f in listed.featured_listings]
    assert_refused(
        server,
        lambda: server.marketplace.FeatureListing(
            mpb.FeatureListingRequest(listing=hidden.name), metadata=operator.auth
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="LISTING_NOT_PUBLIC",
    )
    assert_refused(
        server,
        lambda: server.marketplace.FeatureListing(
            mpb.FeatureListingRequest(listing="skills/not-a-real-one"), metadata=operator.auth
        ),
        grpc.StatusCode.NOT_FOUND,
    )


def test_featured_pages_do_not_repeat(server: ServerHandle, operator: AgentHandle) -> None:
    seller = create_agent(server, "paged")
    for _ in range(5):
        skill = create_skill(server, seller, free())
        server.marketplace.FeatureListing(
            mpb.FeatureListingRequest(listing=skill.name), metadata=operator.auth
        )
    seen: list[str] = []
    token = ""
    while True:
        page = server.marketplace.ListFeaturedListings(
            mpb.ListFeaturedListingsRequest(page_size=2, page_token=token)
        )
        assert len(page.featured_listings) <= 2
        seen += [f.listing.skill.name or f.listing.daemon.name for f in page.featured_listings]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) >= 5
