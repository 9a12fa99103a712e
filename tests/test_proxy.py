"""ExecuteSkill over the real server against a real HTTP skill server on 127.0.0.1: licences, money,
units, idempotency, payload checks, seller failures, retries, the circuit breaker, concurrency, and
the usage records that feed the Marketplace. After every call the buyer's balance or units show it
paid for exactly the calls that succeeded."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from agentos.execution.v1 import execution_pb2 as epb
from agentos.marketplace.v1 import marketplace_pb2 as mpb
from agentos.payment.v1 import payment_pb2 as ppb

from marketkit import buy, reputation, verify
from paykit import balances, fund, key
from proxykit import (
    FREE,
    SkillHttpServer,
    execute,
    https_skill,
    pay_per_call,
    prepaid_units,
    refused,
    result_of,
    usage_records,
    usdc,
    wait_for,
)
from testkit import (
    AgentHandle,
    RpcFailure,
    ServerHandle,
    create_agent,
    create_operator,
    failure,
)
from testkit import start_server as start

PRICE = 1_000
FEE = 25  # 2.5 % of the price, the default skill fee


@pytest.fixture(scope="module")
def proxy() -> Iterator[ServerHandle]:
    handle = start(
        proxy_breaker_failures=3,
        proxy_breaker_cooldown_seconds=0.5,
        proxy_license_rate_per_second=1000,
        proxy_count_flush_seconds=0.05,
    )
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def op(proxy: ServerHandle) -> AgentHandle:
    return create_operator(proxy)


@pytest.fixture
def http() -> Iterator[SkillHttpServer]:
    server = SkillHttpServer(slow_seconds=1.5).start()
    yield server
    server.stop()


def trio(proxy: ServerHandle, op: AgentHandle, funds: int) -> tuple[AgentHandle, AgentHandle]:
    seller, buyer = create_agent(proxy, "seller"), create_agent(proxy, "buyer")
    if funds:
        fund(proxy, op, buyer, funds)
    return seller, buyer


def paid_skill(proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer, funds: int = 10_000):  # type: ignore[no-untyped-def]
    seller, buyer = trio(proxy, op, funds)
    skill = https_skill(proxy, seller, http, pricing=pay_per_call(PRICE))
    buy(proxy, buyer, skill.name)
    return seller, buyer, skill


def refused_and_unpaid(
    proxy: ServerHandle,
    buyer: AgentHandle,
    call,
    code: grpc.StatusCode,
    reason: str,
    field: str | None = None,
) -> RpcFailure:  # type: ignore[no-untyped-def]
    before = balances(proxy, buyer)
    found = refused(proxy, call, code, reason=reason, field=field)
    assert balances(proxy, buyer) == before
    return found


# --- paying calls ----------------------------------------------------------------------------------


def test_a_pay_per_call_call_is_charged_once_with_the_fee_split(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    seller, buyer, skill = paid_skill(proxy, op, http)
    response = execute(proxy, buyer, skill.name, "echo", {"text": "hello", "count": 2})
    assert result_of(response) == {"echo": {"text": "hello", "count": 2}, "buyer": buyer.name}
    seen = http.seen[-1]
    assert (seen.method, seen.path, json.loads(seen.body)) == ("POST", "/echo", {"text": "hello", "count": 2})
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["x-agentos-skill"] == f"{skill.name}@1.0.0"
    assert seen.headers["x-agentos-call-id"] == response.usage.name.removeprefix("usageRecords/")
    usage = response.usage
    assert usage.skill == skill.name
    assert usage.buyer == buyer.name
    assert usage.seller == seller.name
    assert usage.license.startswith("licenses/")
    assert usage.operation == "echo"
    assert usage.target == epb.DISPATCH_TARGET_HTTPS
    assert usage.outcome == epb.CALL_OUTCOME_SUCCEEDED
    assert usage.cost == usdc(PRICE)
    assert not usage.used_unit
    assert usage.request_bytes == len(seen.body)
    assert usage.response_bytes > 0
    assert balances(proxy, buyer) == (10_000 - PRICE, 0)
    assert balances(proxy, seller) == (PRICE - FEE, 0)
    assert [r.name for r in usage_records(proxy, buyer)] == [usage.name]
    assert [r.name for r in usage_records(proxy, seller, seller=True)] == [usage.name]
    assert usage_records(proxy, seller) == []
    # The call counts for the seller's analytics and execution success rate (written in batches).
    wait_for(lambda: reputation(proxy, seller).execution_count == 1)
    assert reputation(proxy, seller).execution_success_rate == 1.0
    analytics = proxy.marketplace.GetSellerAnalytics(
        mpb.GetSellerAnalyticsRequest(seller=seller.name), metadata=seller.auth
    )
    assert analytics.totals.calls == 1


def test_a_seller_cookie_never_travels_with_another_call(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    _, first_buyer, skill = paid_skill(proxy, op, http)
    second_buyer = create_agent(proxy, "buyer")
    fund(proxy, op, second_buyer, 10_000)
    buy(proxy, second_buyer, skill.name)
    for buyer in (first_buyer, second_buyer, first_buyer):
        execute(proxy, buyer, skill.name, "echo", {"text": "who am I"})
    # Every answer set a cookie; no request carried one back, to the same buyer or another.
    assert http.hits("/echo") == 3
    assert all("cookie" not in seen.headers for seen in http.seen)


def test_path_and_query_parameters_come_from_the_payload(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    _, buyer, skill = paid_skill(proxy, op, http)
    response = execute(proxy, buyer, skill.name, "getItem", {"id": 42, "fields": "name price"})
    assert result_of(response) == {"id": 42, "query": {"fields": "name price"}}
    assert (http.seen[-1].method, http.seen[-1].body) == ("GET", b"")
    # Named as "METHOD /path" too.
    assert result_of(execute(proxy, buyer, skill.name, "GET /items/{id}", {"id": 7}))["id"] == 7


def test_the_same_idempotency_key_returns_the_first_answer_charged_once(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    _, buyer, skill = paid_skill(proxy, op, http)
    first = execute(proxy, buyer, skill.name, "echo", {"text": "once"}, key="order-1")
    again = execute(proxy, buyer, skill.name, "echo", {"text": "once"}, key="order-1")
    assert again == first
    assert http.hits("/echo") == 1
    assert balances(proxy, buyer) == (10_000 - PRICE, 0)
    refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, skill.name, "echo", {"text": "twice"}, key="order-1"),
        grpc.StatusCode.ALREADY_EXISTS,
        "IDEMPOTENCY_KEY_REUSED",
        "idempotency_key",
    )
    # Concurrent repeats of a new key: one call reaches the seller, every answer is the first.
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: execute(proxy, buyer, skill.name, "echo", {"text": "burst"}, key="order-2"),
                range(4),
            )
        )
    assert len({a.usage.name for a in answers}) == 1
    assert http.hits("/echo") == 2
    assert balances(proxy, buyer) == (10_000 - 2 * PRICE, 0)


def test_a_failed_call_is_not_remembered_under_its_key(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    _, buyer, skill = paid_skill(proxy, op, http)
    assert (
        failure(lambda: execute(proxy, buyer, skill.name, "fail", None, key="k-fail")).reason
        == "UPSTREAM_ERROR"
    )
    assert (
        failure(lambda: execute(proxy, buyer, skill.name, "fail", None, key="k-fail")).reason
        == "UPSTREAM_ERROR"
    )
    assert http.hits("/fail") == 2
    assert balances(proxy, buyer) == (10_000, 0)


def test_prepaid_units_are_used_only_by_calls_that_succeed(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    seller, buyer = trio(proxy, op, 10_000)
    skill = https_skill(proxy, seller, http, pricing=prepaid_units(500))
    buy(proxy, buyer, skill.name, units=2)
    paid = balances(proxy, buyer)
    response = execute(proxy, buyer, skill.name, "echo", {"text": "one"})
    assert response.usage.used_unit
    assert not response.usage.HasField("cost")
    assert verify(proxy, buyer, skill.name).remaining_units == 1
    assert failure(lambda: execute(proxy, buyer, skill.name, "fail")).reason == "UPSTREAM_ERROR"
    assert verify(proxy, buyer, skill.name).remaining_units == 1
    execute(proxy, buyer, skill.name, "echo", {"text": "two"})
    assert verify(proxy, buyer, skill.name).remaining_units == 0
    refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, skill.name, "echo", {"text": "three"}),
        grpc.StatusCode.FAILED_PRECONDITION,
        "LICENSE_EXHAUSTED",
    )
    assert balances(proxy, buyer) == paid
    assert [r.used_unit for r in usage_records(proxy, buyer)] == [True, False, True]


def test_a_free_skill_needs_its_free_licence_and_costs_nothing(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    seller, buyer = trio(proxy, op, 0)
    skill = https_skill(proxy, seller, http, pricing=FREE)
    refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, skill.name, "echo", {"text": "x"}),
        grpc.StatusCode.FAILED_PRECONDITION,
        "NO_LICENSE",
    )
    buy(proxy, buyer, skill.name)
    usage = execute(proxy, buyer, skill.name, "echo", {"text": "x"}).usage
    assert not usage.HasField("cost")
    assert not usage.used_unit
    # The seller tries its own skill without a licence, for nothing.
    own = execute(proxy, seller, skill.name, "echo", {"text": "mine"}).usage
    assert own.license == ""
    assert own.buyer == seller.name


# --- refused before dispatch: nothing written, nothing charged, the seller never called -------------


def test_calls_without_a_usable_licence_are_refused(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    seller, buyer = trio(proxy, op, 10_000)
    skill = https_skill(proxy, seller, http, pricing=pay_per_call(PRICE))
    refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, skill.name, "echo", {"text": "x"}),
        grpc.StatusCode.FAILED_PRECONDITION,
        "NO_LICENSE",
    )
    once = https_skill(proxy, seller, http, pricing=prepaid_units(100))
    bought = buy(proxy, buyer, once.name, units=1)
    proxy.marketplace.RefundPurchase(
        mpb.RefundPurchaseRequest(name=bought.purchase.name, reason="changed my mind", idempotency_key=key()),
        metadata=seller.auth,
    )
    refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, once.name, "echo", {"text": "x"}),
        grpc.StatusCode.FAILED_PRECONDITION,
        "LICENSE_REVOKED",
    )
    assert http.seen == []


def test_bad_requests_are_refused_naming_the_field(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    _, buyer, skill = paid_skill(proxy, op, http)
    found = refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, skill.name, "launch", {"text": "x"}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "UNKNOWN_OPERATION",
        "operation",
    )
    assert "echo" in found.message
    assert "getItem" in found.message
    found = refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, skill.name, "echo", {"text": "x", "count": 0}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAYLOAD",
        "payload.count",
    )
    assert "#/properties/count/minimum" in found.message
    found = refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, skill.name, "echo", {"count": 3}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAYLOAD",
        "payload",
    )
    assert "'text' is a required property" in found.message
    refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, skill.name, "getItem", {"id": "seven"}),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAYLOAD",
        "payload.id",
    )
    refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, "skills/no-such-skill", "echo", {"text": "x"}),
        grpc.StatusCode.NOT_FOUND,
        "SKILL_NOT_FOUND",
    )
    refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, "skill-without-collection", "echo"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_NAME",
        "skill",
    )
    refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, skill.name, "echo", {"text": "x"}, timeout_ms=-5),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        "timeout_ms",
    )
    assert http.seen == []


def test_over_budget_and_without_funds_nothing_is_sent(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    _, buyer, skill = paid_skill(proxy, op, http)
    proxy.payment.CreateBudget(
        ppb.CreateBudgetRequest(
            parent=buyer.name,
            budget=ppb.Budget(scope=skill.name, period=ppb.BUDGET_PERIOD_DAY, limit=usdc(PRICE + PRICE // 2)),
        ),
        metadata=buyer.auth,
    )
    execute(proxy, buyer, skill.name, "echo", {"text": "within"})
    found = refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, skill.name, "echo", {"text": "beyond"}),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "BUDGET_EXCEEDED",
    )
    assert found.retry_delay_seconds is not None
    assert found.retry_delay_seconds > 0
    assert http.hits("/echo") == 1

    _, poor, other = paid_skill(proxy, op, http, funds=PRICE - 1)
    refused_and_unpaid(
        proxy,
        poor,
        lambda: execute(proxy, poor, other.name, "echo", {"text": "broke"}),
        grpc.StatusCode.FAILED_PRECONDITION,
        "INSUFFICIENT_FUNDS",
    )
    assert http.hits("/echo") == 1


# --- the seller fails: recorded, not charged ---------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "code", "reason", "outcome"),
    [
        ("slow", grpc.StatusCode.DEADLINE_EXCEEDED, "UPSTREAM_TIMEOUT", epb.CALL_OUTCOME_TIMED_OUT),
        ("fail", grpc.StatusCode.UNAVAILABLE, "UPSTREAM_ERROR", epb.CALL_OUTCOME_FAILED),
        ("garbage", grpc.StatusCode.UNAVAILABLE, "UPSTREAM_BAD_RESPONSE", epb.CALL_OUTCOME_FAILED),
        ("reject", grpc.StatusCode.INVALID_ARGUMENT, "UPSTREAM_REJECTED", epb.CALL_OUTCOME_FAILED),
    ],
)
def test_seller_failures_are_recorded_and_never_charged(
    proxy: ServerHandle,
    op: AgentHandle,
    http: SkillHttpServer,
    operation: str,
    code: grpc.StatusCode,
    reason: str,
    outcome: int,
) -> None:
    seller, buyer, skill = paid_skill(proxy, op, http)
    started = time.monotonic()
    found = failure(lambda: execute(proxy, buyer, skill.name, operation, None, timeout_ms=400))
    assert (found.code, found.reason) == (code, reason), found.message
    assert time.monotonic() - started < 1.4  # a timeout does not wait for the slow seller
    if operation == "reject":
        assert "subject is too rude" in found.message
    assert balances(proxy, buyer) == (10_000, 0)
    assert balances(proxy, seller) == (0, 0)
    record = usage_records(proxy, buyer)[0]
    assert (record.outcome, record.error_reason) == (outcome, reason)
    assert not record.HasField("cost")
    assert not record.used_unit
    wait_for(lambda: reputation(proxy, seller).execution_count == 1)
    assert reputation(proxy, seller).execution_success_rate == 0.0


def test_an_unreachable_endpoint_is_retried_then_reported(proxy: ServerHandle, op: AgentHandle) -> None:
    gone = SkillHttpServer().start()
    gone.stop()  # nothing listens on its port any more
    _seller, buyer, skill = paid_skill(proxy, op, gone)
    found = failure(lambda: execute(proxy, buyer, skill.name, "echo", {"text": "anyone?"}))
    assert (found.code, found.reason) == (grpc.StatusCode.UNAVAILABLE, "UPSTREAM_UNREACHABLE")
    assert balances(proxy, buyer) == (10_000, 0)


def test_only_idempotent_calls_are_retried(proxy: ServerHandle, op: AgentHandle) -> None:
    flaky = SkillHttpServer(flaky_failures=2).start()
    try:
        _, buyer, skill = paid_skill(proxy, op, flaky)
        # GET answered 503 twice: retried with backoff, the third try succeeds, charged once.
        assert result_of(execute(proxy, buyer, skill.name, "flaky")) == {"ok": True}
        assert flaky.hits("/flaky") == 3
        # POST answered 503: sending it again could do the work twice, so it fails at once.
        assert failure(lambda: execute(proxy, buyer, skill.name, "flakyPost")).reason == "UPSTREAM_ERROR"
        assert flaky.hits("/flaky-post") == 1
        assert balances(proxy, buyer) == (10_000 - PRICE, 0)
    finally:
        flaky.stop()


def test_the_circuit_opens_after_failures_and_closes_after_a_probe(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    _, buyer, skill = paid_skill(proxy, op, http)
    for _ in range(3):
        assert failure(lambda: execute(proxy, buyer, skill.name, "fail")).reason == "UPSTREAM_ERROR"
    found = refused_and_unpaid(
        proxy,
        buyer,
        lambda: execute(proxy, buyer, skill.name, "echo", {"text": "let me in"}),
        grpc.StatusCode.UNAVAILABLE,
        "CIRCUIT_OPEN",
    )
    assert found.retry_delay_seconds is not None
    assert 0 < found.retry_delay_seconds <= 0.5
    assert http.hits("/echo") == 0
    time.sleep(0.6)
    assert result_of(execute(proxy, buyer, skill.name, "echo", {"text": "probe"}))["echo"] == {
        "text": "probe"
    }
    assert result_of(execute(proxy, buyer, skill.name, "echo", {"text": "closed"}))["echo"] == {
        "text": "closed"
    }
    assert balances(proxy, buyer) == (10_000 - 2 * PRICE, 0)


# --- concurrency -------------------------------------------------------------------------------------


def test_racing_calls_never_take_more_units_or_money_than_there_is(
    proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer
) -> None:
    seller, buyer = trio(proxy, op, 10_000)
    units = https_skill(proxy, seller, http, pricing=prepaid_units(100))
    buy(proxy, buyer, units.name, units=3)
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(
            pool.map(
                lambda i: _try(lambda: execute(proxy, buyer, units.name, "echo", {"text": f"u{i}"})), range(8)
            )
        )
    assert sum(1 for o in outcomes if o is None) == 3
    assert {o.reason for o in outcomes if o is not None} == {"LICENSE_EXHAUSTED"}
    assert verify(proxy, buyer, units.name).remaining_units == 0

    _, poor, money = paid_skill(proxy, op, http, funds=3 * PRICE)
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(
            pool.map(
                lambda i: _try(lambda: execute(proxy, poor, money.name, "echo", {"text": f"m{i}"})), range(8)
            )
        )
    assert sum(1 for o in outcomes if o is None) == 3
    assert {o.reason for o in outcomes if o is not None} == {"INSUFFICIENT_FUNDS"}
    assert balances(proxy, poor) == (0, 0)
    succeeded = [r for r in usage_records(proxy, poor) if r.outcome == epb.CALL_OUTCOME_SUCCEEDED]
    assert len(succeeded) == 3


def _try(call) -> RpcFailure | None:  # type: ignore[no-untyped-def]
    """The call's failure, or None when it succeeded."""
    try:
        return failure(call)
    except AssertionError:
        return None


# --- usage records -------------------------------------------------------------------------------------


def test_usage_records_page_and_filter(proxy: ServerHandle, op: AgentHandle, http: SkillHttpServer) -> None:
    seller, buyer, first = paid_skill(proxy, op, http)
    second = https_skill(proxy, seller, http, pricing=pay_per_call(PRICE))
    buy(proxy, buyer, second.name)
    for skill in (first, first, second):
        execute(proxy, buyer, skill.name, "echo", {"text": "paged"})
    page = proxy.execution.ListUsageRecords(epb.ListUsageRecordsRequest(page_size=2), metadata=buyer.auth)
    assert len(page.usage_records) == 2
    assert page.next_page_token
    rest = proxy.execution.ListUsageRecords(
        epb.ListUsageRecordsRequest(page_size=2, page_token=page.next_page_token), metadata=buyer.auth
    )
    assert len(rest.usage_records) == 1
    assert not rest.next_page_token
    names = [r.name for r in [*page.usage_records, *rest.usage_records]]
    assert names == sorted(names, reverse=True)  # newest first
    assert len(usage_records(proxy, seller, seller=True, skill=first.name)) == 2
    newest = page.usage_records[0].create_time
    after = proxy.execution.ListUsageRecords(
        epb.ListUsageRecordsRequest(start_time=newest), metadata=buyer.auth
    ).usage_records
    assert [r.name for r in after] == [names[0]]
    refused(
        proxy,
        lambda: proxy.execution.ListUsageRecords(
            epb.ListUsageRecordsRequest(page_size=2, page_token=page.next_page_token, skill=first.name),
            metadata=buyer.auth,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason="INVALID_PAGE_TOKEN",
        field="page_token",
    )
    # Nobody else sees them.
    stranger = create_agent(proxy, "stranger")
    assert usage_records(proxy, stranger) == []
    assert usage_records(proxy, stranger, seller=True) == []
