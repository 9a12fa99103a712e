"""Reviews, ratings and reputation over the real server, and what Search makes of them."""

from __future__ import annotations

import math
import secrets

import grpc
import pytest
from google.protobuf import field_mask_pb2

from agentos.marketplace.v1 import marketplace_pb2 as mpb
from agentos.registry.v1 import registry_pb2 as rpb
from agentos_server.domain.listing_refs import parse_listing

from marketkit import (
    buy,
    create_skill,
    free,
    get_agent,
    get_skill,
    one_time,
    refund,
    reputation,
    review,
)
from paykit import USDC, fund
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def buyer_of(
    server: ServerHandle, operator: AgentHandle, listing: str, name: str = "reviewer"
) -> AgentHandle:
    buyer = create_agent(server, name)
    fund(server, operator, buyer, 10 * USDC)
    buy(server, buyer, listing)
    return buyer


def test_a_buyer_reviews_once_and_the_seller_answers_once(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller = create_agent(server, "reviewed")
    skill = create_skill(server, seller, one_time(USDC))
    buyer = buyer_of(server, operator, skill.name)

    written = review(server, buyer, skill.name, 4, "Solid, a little slow")
    assert written.reviewer == buyer.name
    assert written.listing == skill.name
    assert written.stars == 4
    assert written.weight == pytest.approx(1.0)
    assert not written.HasField("reply")
    fetched = server.marketplace.GetReview(mpb.GetReviewRequest(name=written.name)).review
    assert fetched == written
    found = get_skill(server, skill.name)
    assert found.rating == pytest.approx(4.0)
    assert found.review_count == 1

    assert_refused(
        server,
        lambda: review(server, buyer, skill.name, 5),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="REVIEW_EXISTS",
        field="review.listing",
    )
    edited = server.marketplace.UpdateReview(
        mpb.UpdateReviewRequest(
            review=mpb.Review(name=written.name, stars=2, text="ignored"),
            update_mask=field_mask_pb2.FieldMask(paths=["stars"]),
        ),
        metadata=buyer.auth,
    ).review
    assert edited.stars == 2
    assert edited.text == "Solid, a little slow"
    assert get_skill(server, skill.name).rating == pytest.approx(2.0)

    def reply(caller: AgentHandle, text: str) -> mpb.Review:
        response: mpb.ReplyToReviewResponse = server.marketplace.ReplyToReview(
            mpb.ReplyToReviewRequest(name=written.name, text=text), metadata=caller.auth
        )
        return response.review

    assert_refused(
        server, lambda: reply(buyer, "self-praise"), grpc.StatusCode.PERMISSION_DENIED, reason="NOT_SELLER"
    )
    answered = reply(seller, "Fixed the latency in 1.1.0")
    assert answered.reply.text == "Fixed the latency in 1.1.0"
    assert answered.reply.HasField("create_time")
    assert_refused(
        server,
        lambda: reply(seller, "and another thing"),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="REPLY_EXISTS",
    )
    assert_refused(
        server,
        lambda: server.marketplace.UpdateReview(
            mpb.UpdateReviewRequest(
                review=mpb.Review(name=written.name, stars=5),
                update_mask=field_mask_pb2.FieldMask(paths=["stars"]),
            ),
            metadata=seller.auth,
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        reason="NOT_REVIEWER",
    )
    # Reviews are public.
    listed = server.marketplace.ListReviews(mpb.ListReviewsRequest(listing=skill.name)).reviews
    assert [r.name for r in listed] == [written.name]


def test_only_paid_licences_entitle_a_review(server: ServerHandle, operator: AgentHandle) -> None:
    seller = create_agent(server, "guarded")
    paid = create_skill(server, seller, one_time(USDC, trial_runs=2))
    gift = create_skill(server, seller, free())
    nobody = create_agent(server, "bystander")
    assert_refused(
        server,
        lambda: review(server, nobody, paid.name, 1),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="NO_PAID_LICENSE",
        field="review.listing",
    )
    server.marketplace.StartTrial(mpb.StartTrialRequest(listing=paid.name), metadata=nobody.auth)
    buy(server, nobody, gift.name)
    for listing in (paid.name, gift.name):
        assert_refused(
            server,
            lambda listing=listing: review(server, nobody, listing, 1),
            grpc.StatusCode.FAILED_PRECONDITION,
            reason="NO_PAID_LICENSE",
        )
    # Who held a paid licence may review, even after a refund.
    buyer = buyer_of(server, operator, paid.name, "refunded")
    purchase = server.marketplace.ListPurchases(mpb.ListPurchasesRequest(), metadata=buyer.auth).purchases[0]
    refund(server, seller, purchase.name)
    assert review(server, buyer, paid.name, 1, "refunded, and here is why").stars == 1
    assert_refused(
        server,
        lambda: review(server, buyer, "skills/missing-one", 3),
        grpc.StatusCode.NOT_FOUND,
        reason="SKILL_NOT_FOUND",
    )


@pytest.mark.parametrize("stars", [0, 6, -1])
def test_stars_are_1_to_5(server: ServerHandle, operator: AgentHandle, stars: int) -> None:
    seller = create_agent(server, "starry")
    skill = create_skill(server, seller, one_time(USDC))
    buyer = buyer_of(server, operator, skill.name)
    assert_refused(server, lambda: review(server, buyer, skill.name, stars), INVALID, field="review.stars")


def test_text_is_at_most_4000_characters(server: ServerHandle, operator: AgentHandle) -> None:
    seller = create_agent(server, "verbose")
    skill = create_skill(server, seller, one_time(USDC))
    buyer = buyer_of(server, operator, skill.name)
    assert_refused(
        server, lambda: review(server, buyer, skill.name, 3, "x" * 4001), INVALID, field="review.text"
    )
    assert len(review(server, buyer, skill.name, 3, "x" * 4000).text) == 4000


def test_ratings_weigh_reviewers_by_reputation_and_feed_the_formula(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller = create_agent(server, "weighed")
    skill = create_skill(server, seller, one_time(USDC))
    # A reviewer with a reputation of its own: it sold three licences of a documented skill.
    expert = create_agent(server, "expert")
    own = create_skill(server, expert, one_time(USDC))
    for index in range(3):
        buyer_of(server, operator, own.name, f"fan{index}")
    expert_reputation = reputation(server, expert)
    assert expert_reputation.transaction_count == 3
    assert expert_reputation.score == pytest.approx(3.0 * math.log(4))
    assert get_agent(server, expert).reputation == pytest.approx(expert_reputation.score)

    fund(server, operator, expert, 10 * USDC)
    buy(server, expert, skill.name)
    novice = buyer_of(server, operator, skill.name, "novice")
    heavy = review(server, expert, skill.name, 5)
    light = review(server, novice, skill.name, 1)
    assert heavy.weight == pytest.approx(1 + math.log1p(expert_reputation.score))
    assert light.weight == pytest.approx(1.0)
    expected = (heavy.weight * 5 + 1) / (heavy.weight + 1)
    assert get_skill(server, skill.name).rating == pytest.approx(expected)

    # reputation = weighted_avg(ratings, with a 3-star prior of weight 1) x ln(sales + 1) x quality
    found = reputation(server, seller)
    weighted = (heavy.weight * 5 + 1 * 1 + 3) / (heavy.weight + 1 + 1)
    assert found.weighted_rating == pytest.approx(weighted)
    assert found.transaction_count == 2
    assert found.documentation_score == pytest.approx(1.0)
    assert found.execution_success_rate == pytest.approx(1.0)
    assert found.execution_count == 0
    assert found.quality_multiplier == pytest.approx(1.0)
    assert found.score == pytest.approx(weighted * math.log(3))
    assert get_agent(server, seller).reputation == pytest.approx(found.score)
    assert get_agent(server, seller).total_sales == 2


def test_documentation_and_execution_outcomes_move_the_quality_multiplier(
    server: ServerHandle, operator: AgentHandle
) -> None:
    seller = create_agent(server, "sloppy")
    documented = create_skill(server, seller, one_time(USDC))
    create_skill(server, seller, one_time(USDC), documented=False)
    buyer_of(server, operator, documented.name)
    found = reputation(server, seller)
    # One listing with docs and spec, one with neither: 0.5; quality (0.5 + 0.25) x 1.
    assert found.documentation_score == pytest.approx(0.5)
    assert found.quality_multiplier == pytest.approx(0.75)
    assert found.score == pytest.approx(3.0 * math.log(2) * 0.75)

    # The execution engine reports three calls, two of them successful.
    marketplace = server.runtime.marketplace
    ref = parse_listing(documented.name)
    for ok in (True, True, False):
        server.run(marketplace.reputation.record_execution(ref, seller.id, ok))
    found = reputation(server, seller)
    assert found.execution_count == 3
    assert found.execution_success_rate == pytest.approx(2 / 3)
    assert found.quality_multiplier == pytest.approx(0.75 * (0.5 + 0.5 * 2 / 3))

    # A listing update that adds the spec is a listing change: the score follows at once.
    undocumented = next(
        s
        for s in server.registry.ListSkills(rpb.ListSkillsRequest(owner=seller.name)).skills
        if not s.openapi_spec
    )
    server.registry.UpdateSkill(
        rpb.UpdateSkillRequest(
            skill=rpb.Skill(
                name=undocumented.name,
                version="1.1.0",
                openapi_spec=documented.openapi_spec,
                code=rpb.CodeDetails(documentation_uri="https://docs.example/two"),
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["openapi_spec", "code"]),
        ),
        metadata=seller.auth,
    )
    assert reputation(server, seller).documentation_score == pytest.approx(1.0)


def test_search_ranks_by_the_reputation_and_rating_the_marketplace_keeps(
    server: ServerHandle, operator: AgentHandle
) -> None:
    word = f"zeta{secrets.token_hex(3)}"
    trusted, unknown = create_agent(server, "trusted"), create_agent(server, "unknown")
    # The same title and text, so that only what the marketplace keeps tells them apart.
    good = create_skill(server, trusted, one_time(USDC), display_name=f"{word} translator")
    plain = create_skill(server, unknown, one_time(USDC), display_name=f"{word} translator")
    buyer = buyer_of(server, operator, good.name, "fan")
    review(server, buyer, good.name, 5)

    def ranked(order: int) -> list[tuple[str, float]]:
        results = server.registry.Search(
            rpb.SearchRequest(query=word, kinds=[rpb.RESOURCE_KIND_SKILL], order_by=order)
        ).results
        return [(r.skill.name, r.score) for r in results]

    by_reputation = ranked(rpb.SEARCH_ORDER_REPUTATION)
    assert [name for name, _ in by_reputation] == [good.name, plain.name]
    assert by_reputation[0][1] == pytest.approx(reputation(server, trusted).score)
    by_rating = ranked(rpb.SEARCH_ORDER_RATING)
    assert by_rating[0] == (good.name, pytest.approx(5.0))
    by_popularity = ranked(rpb.SEARCH_ORDER_POPULAR)
    assert by_popularity[0] == (good.name, pytest.approx(1.0))
    # Relevance multiplies the (equal) text match by the publisher's reputation factor.
    by_relevance = ranked(rpb.SEARCH_ORDER_RELEVANCE)
    assert [name for name, _ in by_relevance] == [good.name, plain.name]
    assert by_relevance[0][1] > by_relevance[1][1]
