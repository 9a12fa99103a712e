"""Bad purchases, trials and cancellations: each refused with its code, reason and field, and
nothing written (assert_refused compares every table's row count before and after)."""

from __future__ import annotations

import grpc

from agentos.marketplace.v1 import marketplace_pb2 as mpb
from agentos.registry.v1 import registry_pb2 as rpb

from marketkit import buy, create_daemon, create_skill, free, one_time, prepaid, subscription, usdc
from paykit import USDC, fund
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


def test_unknown_and_malformed_listings(server: ServerHandle, agent: AgentHandle) -> None:
    assert_refused(
        server,
        lambda: buy(server, agent, "skills/does-not-exist"),
        grpc.StatusCode.NOT_FOUND,
        reason="SKILL_NOT_FOUND",
        field="listing",
    )
    assert_refused(
        server,
        lambda: buy(server, agent, "daemons/does-not-exist"),
        grpc.StatusCode.NOT_FOUND,
        reason="DAEMON_NOT_FOUND",
        field="listing",
    )
    for bad in ("", "widgets/abc", "skills/", "skills/Not_An_Id"):
        assert_refused(server, lambda bad=bad: buy(server, agent, bad), INVALID, field="listing")


def test_a_daemon_the_buyer_may_not_see_does_not_exist(server: ServerHandle, operator: AgentHandle) -> None:
    owner, buyer = create_agent(server, "private"), create_agent(server, "outsider")
    daemon = create_daemon(server, owner, one_time(100), visibility=rpb.VISIBILITY_PRIVATE)
    fund(server, operator, buyer, 1_000)
    assert_refused(
        server, lambda: buy(server, buyer, daemon.name), grpc.StatusCode.NOT_FOUND, reason="DAEMON_NOT_FOUND"
    )


def test_deprecated_listings_are_off_sale(server: ServerHandle, operator: AgentHandle) -> None:
    seller, buyer = create_agent(server, "retiring"), create_agent(server, "late")
    skill = create_skill(server, seller, one_time(100, trial_runs=3))
    server.registry.DeprecateSkill(
        rpb.DeprecateSkillRequest(name=skill.name, reason="replaced by v2"), metadata=seller.auth
    )
    fund(server, operator, buyer, 1_000)
    assert_refused(
        server,
        lambda: buy(server, buyer, skill.name),
        PRECONDITION,
        reason="LISTING_DEPRECATED",
        field="listing",
    )
    assert_refused(
        server,
        lambda: server.marketplace.StartTrial(mpb.StartTrialRequest(listing=skill.name), metadata=buyer.auth),
        PRECONDITION,
        reason="LISTING_DEPRECATED",
    )


def test_nobody_buys_their_own_listing(server: ServerHandle, operator: AgentHandle) -> None:
    seller = create_agent(server, "narcissus")
    fund(server, operator, seller, 1_000)
    for listing in (create_skill(server, seller, one_time(100)), create_daemon(server, seller, free())):
        assert_refused(
            server,
            lambda listing=listing: buy(server, seller, listing.name),
            PRECONDITION,
            reason="OWN_LISTING",
        )


def test_licence_type_must_be_named_and_offered(server: ServerHandle, operator: AgentHandle) -> None:
    seller, buyer = create_agent(server, "picky"), create_agent(server, "vague")
    skill = create_skill(
        server,
        seller,
        one_time(
            500,
            license_prices=[rpb.LicensePrice(license_type=rpb.LICENSE_TYPE_ENTERPRISE, price=usdc(500))],
        ),
    )
    fund(server, operator, buyer, 1_000)
    assert_refused(
        server,
        lambda: buy(server, buyer, skill.name, rpb.LICENSE_TYPE_UNSPECIFIED),
        INVALID,
        field="license_type",
    )
    assert_refused(
        server,
        lambda: buy(server, buyer, skill.name, rpb.LICENSE_TYPE_PERSONAL),
        INVALID,
        reason="LICENSE_TYPE_NOT_OFFERED",
        field="license_type",
    )


def test_every_bad_field_is_reported_at_once(server: ServerHandle, agent: AgentHandle) -> None:
    found = assert_refused(
        server,
        lambda: server.marketplace.Purchase(
            mpb.PurchaseRequest(listing="nope", units=-1, idempotency_key=""), metadata=agent.auth
        ),
        INVALID,
    )
    assert set(found.fields) == {"listing", "license_type", "units", "idempotency_key"}


def test_insufficient_funds_leave_nothing_behind(server: ServerHandle, operator: AgentHandle) -> None:
    seller, buyer = create_agent(server, "pricey"), create_agent(server, "broke")
    skill = create_skill(server, seller, one_time(2 * USDC))
    fund(server, operator, buyer, 2 * USDC - 1)
    assert_refused(server, lambda: buy(server, buyer, skill.name), PRECONDITION, reason="INSUFFICIENT_FUNDS")
    packs = create_skill(server, seller, prepaid(USDC))
    assert_refused(
        server, lambda: buy(server, buyer, packs.name, units=2), PRECONDITION, reason="INSUFFICIENT_FUNDS"
    )


def test_trials_once_per_buyer_and_only_where_offered(server: ServerHandle) -> None:
    seller, buyer = create_agent(server, "sampler"), create_agent(server, "taster")
    with_trial = create_skill(server, seller, subscription(USDC, trial_runs=3))
    without = create_skill(server, seller, one_time(USDC))

    def trial(listing: str, caller: AgentHandle = buyer) -> mpb.StartTrialResponse:
        response: mpb.StartTrialResponse = server.marketplace.StartTrial(
            mpb.StartTrialRequest(listing=listing), metadata=caller.auth
        )
        return response

    licence = trial(with_trial.name).license
    assert licence.origin == mpb.LICENSE_ORIGIN_TRIAL
    assert licence.usage_limit == 3
    assert_refused(
        server, lambda: trial(with_trial.name), grpc.StatusCode.ALREADY_EXISTS, reason="TRIAL_ALREADY_USED"
    )
    assert_refused(server, lambda: trial(without.name), PRECONDITION, reason="NO_TRIAL", field="listing")
    assert_refused(server, lambda: trial(with_trial.name, seller), PRECONDITION, reason="OWN_LISTING")


def test_cancel_only_ones_own_subscription(server: ServerHandle, operator: AgentHandle) -> None:
    seller, buyer = create_agent(server, "subseller"), create_agent(server, "subbuyer")
    monthly = create_skill(server, seller, subscription(100))
    once = create_skill(server, seller, one_time(100))
    fund(server, operator, buyer, 1_000)
    subscribed = buy(server, buyer, monthly.name).license
    owned = buy(server, buyer, once.name).license

    def cancel(name: str, caller: AgentHandle = buyer) -> mpb.License:
        response: mpb.CancelSubscriptionResponse = server.marketplace.CancelSubscription(
            mpb.CancelSubscriptionRequest(name=name), metadata=caller.auth
        )
        return response.license

    assert_refused(server, lambda: cancel(owned.name), PRECONDITION, reason="NOT_A_SUBSCRIPTION")
    assert_refused(server, lambda: cancel(subscribed.name, seller), grpc.StatusCode.PERMISSION_DENIED)
    stranger = create_agent(server, "stranger")
    assert_refused(server, lambda: cancel(subscribed.name, stranger), grpc.StatusCode.PERMISSION_DENIED)
    assert_refused(
        server,
        lambda: cancel("licenses/0000000000000000000000000x", stranger),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    cancelled = cancel(subscribed.name)
    assert not cancelled.auto_renew
    assert cancelled.state == mpb.LICENSE_STATE_ACTIVE
    # Cancelling again changes nothing and is not an error.
    assert cancel(subscribed.name) == cancelled


def test_featuring_is_for_operators(server: ServerHandle, agent: AgentHandle) -> None:
    skill = create_skill(server, agent, free())
    assert_refused(
        server,
        lambda: server.marketplace.FeatureListing(
            mpb.FeatureListingRequest(listing=skill.name), metadata=agent.auth
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        reason="OPERATOR_ONLY",
    )
