"""Limits of the proxy that need a server of their own: the rate limit per licence (in Redis on the
PostgreSQL suite, in process on SQLite), licences that expire (the server's clock travels), and
production mode, which calls only HTTPS endpoints on public addresses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from agentos.execution.v1 import execution_pb2 as epb
from agentos.registry.v1 import registry_pb2 as rpb
from agentos_server.infra.secretbox import generate_master_key

from marketkit import buy
from paykit import TravelClock, balances, fund
from proxykit import (
    SkillHttpServer,
    create_skill,
    execute,
    https_skill,
    pay_per_call,
    refused,
    result_of,
    usdc,
)
from testkit import ServerHandle, create_agent, create_operator, start_server

PRICE = 1_000


@pytest.fixture(scope="module")
def clock() -> TravelClock:
    return TravelClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def limited(clock: TravelClock) -> Iterator[ServerHandle]:
    handle = start_server(clock=clock, proxy_license_rate_per_second=2, renewal_sweep_seconds=0.0)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[SkillHttpServer]:
    server = SkillHttpServer().start()
    yield server
    server.stop()


def licensed(server: ServerHandle, http: SkillHttpServer, pricing: rpb.Pricing, **purchase):  # type: ignore[no-untyped-def]
    operator = create_operator(server)
    seller, buyer = create_agent(server, "seller"), create_agent(server, "buyer")
    fund(server, operator, buyer, 10_000)
    skill = https_skill(server, seller, http, pricing=pricing)
    buy(server, buyer, skill.name, **purchase)
    return buyer, skill


def test_a_licence_is_rate_limited_with_a_retry_delay(
    limited: ServerHandle, clock: TravelClock, http: SkillHttpServer
) -> None:
    buyer, skill = licensed(limited, http, pay_per_call(PRICE))
    for text in ("one", "two"):
        execute(limited, buyer, skill.name, "echo", {"text": text})
    found = refused(
        limited,
        lambda: execute(limited, buyer, skill.name, "echo", {"text": "three"}),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        reason="RATE_LIMITED",
    )
    assert found.retry_delay_seconds is not None
    assert 0 < found.retry_delay_seconds <= 0.5
    assert found.metadata["scope"] == "license"
    assert balances(limited, buyer) == (10_000 - 2 * PRICE, 0)
    assert http.hits("/echo") == 2
    # Another licence of the same buyer has its own bucket; time refills this one.
    other_seller = create_agent(limited, "seller")
    other = https_skill(limited, other_seller, http, pricing=pay_per_call(PRICE))
    buy(limited, buyer, other.name)
    execute(limited, buyer, other.name, "echo", {"text": "elsewhere"})
    clock.advance(timedelta(seconds=1))
    assert result_of(execute(limited, buyer, skill.name, "echo", {"text": "later"}))["echo"] == {
        "text": "later"
    }


def test_an_expired_licence_is_refused(
    limited: ServerHandle, clock: TravelClock, http: SkillHttpServer
) -> None:
    weekly = rpb.Pricing(
        model=rpb.PRICING_MODEL_SUBSCRIPTION, price=usdc(3 * PRICE), interval=rpb.BILLING_INTERVAL_WEEKLY
    )
    buyer, skill = licensed(limited, http, weekly, auto_renew=False)
    execute(limited, buyer, skill.name, "echo", {"text": "subscribed"})
    paid = balances(limited, buyer)
    clock.advance(timedelta(days=8))
    refused(
        limited,
        lambda: execute(limited, buyer, skill.name, "echo", {"text": "lapsed"}),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="LICENSE_EXPIRED",
    )
    assert balances(limited, buyer) == paid


# --- production mode --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def production() -> Iterator[ServerHandle]:
    handle = start_server(production_mode=True, master_keys=f"k1:{generate_master_key()}")
    yield handle
    handle.stop()


def test_production_mode_calls_only_https_on_public_addresses(
    production: ServerHandle, http: SkillHttpServer
) -> None:
    before = http.hits("/echo")
    buyer, plain = licensed(production, http, pay_per_call(PRICE))
    refused(
        production,
        lambda: execute(production, buyer, plain.name, "echo", {"text": "in clear"}),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="INSECURE_ENDPOINT",
    )
    seller = create_agent(production, "seller")
    port = http.url.rsplit(":", 1)[1]
    for url in (f"https://127.0.0.1:{port}", f"https://localhost:{port}", "https://10.1.2.3"):
        internal = create_skill(
            production, seller, endpoint=rpb.SkillEndpoint(https_url=url), pricing=pay_per_call(PRICE)
        )
        buy(production, buyer, internal.name)
        refused(
            production,
            lambda skill=internal: execute(production, buyer, skill.name, "echo", {"text": "inside"}),
            grpc.StatusCode.FAILED_PRECONDITION,
            reason="ENDPOINT_NOT_PUBLIC",
        )
    assert balances(production, buyer) == (10_000, 0)
    assert http.hits("/echo") == before
    # A model server for an agent's runs must be HTTPS too.
    refused(
        production,
        lambda: production.execution.SetProviderKey(
            epb.SetProviderKeyRequest(
                provider=epb.PROVIDER_OPENAI_COMPATIBLE, base_url="http://127.0.0.1:11434"
            ),
            metadata=buyer.auth,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="base_url",
    )
