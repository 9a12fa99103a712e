"""ModelRouter: choosing, skipping and falling back, with real adapters against loopback servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pytest
from provider_wire import RecordingServer

from agentos_server.infra.providers import (
    AnthropicProvider,
    Attempt,
    BuiltinProvider,
    ChatMessage,
    CompletionRequest,
    CompletionResult,
    GoogleProvider,
    ModelInfo,
    ModelProvider,
    ModelRouter,
    OpenAICompatibleProvider,
    OpenAIProvider,
    ProviderCredentials,
    ProviderError,
    default_catalogue,
    default_providers,
)

ServerFactory = Callable[[], RecordingServer]
HELLO = [ChatMessage("user", "Say hello.")]


def model(
    model_id: str, provider: str, input_price: int, output_price: int, caps: Sequence[str] = ("chat",)
) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        provider=provider,
        capabilities=frozenset(caps),
        input_price_per_mtok=input_price,
        output_price_per_mtok=output_price,
        context_window=128_000,
    )


@dataclass
class Harness:
    """A router plus what it did: attempts reported and credential look-ups made."""

    router: ModelRouter
    credentials: dict[str, ProviderCredentials]
    attempts: list[Attempt] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    async def resolve(self, provider: str) -> ProviderCredentials | None:
        self.lookups.append(provider)
        return self.credentials.get(provider)

    async def record(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)

    async def complete(self, request: CompletionRequest) -> CompletionResult:
        return await self.router.complete(request, self.resolve, on_attempt=self.record)

    def outcomes(self) -> list[tuple[str, str, str]]:
        return [(a.provider, a.model, a.outcome) for a in self.attempts]


def run_with_router(
    catalogue: Sequence[ModelInfo],
    providers: Callable[[], Mapping[str, ModelProvider]],
    credentials: Mapping[str, ProviderCredentials],
    body: Callable[[Harness], Awaitable[None]],
) -> Harness:
    """Run ``body`` in a fresh event loop with a router whose HTTP clients live in that loop."""
    harness: Harness | None = None

    async def main() -> None:
        nonlocal harness
        router = ModelRouter(catalogue, providers())
        harness = Harness(router, dict(credentials))
        try:
            await body(harness)
        finally:
            await router.aclose()

    asyncio.run(main())
    assert harness is not None
    return harness


def three_vendors() -> dict[str, ModelProvider]:
    return {
        "openai": OpenAIProvider(),
        "anthropic": AnthropicProvider(),
        "google": GoogleProvider(),
        "builtin": BuiltinProvider(),
    }


# Prices rise openai < anthropic < google, so "cheapest" tries them in that order.
TRIO = [
    model("oa-small", "openai", 100_000, 400_000),
    model("an-small", "anthropic", 200_000, 800_000),
    model("go-small", "google", 300_000, 1_200_000),
    model("builtin-small", "builtin", 0, 0, ("chat", "json", "code", "long-context")),
]


def trio_servers(http_server: ServerFactory) -> tuple[RecordingServer, RecordingServer, RecordingServer]:
    return http_server(), http_server(), http_server()


def creds_for(**servers: RecordingServer) -> dict[str, ProviderCredentials]:
    return {
        name: ProviderCredentials(f"key-{name}-0123456789", server.base_url)
        for name, server in servers.items()
    }


# --- choosing --------------------------------------------------------------------------------------


def test_cheapest_by_capability_over_the_default_catalogue(http_server: ServerFactory) -> None:
    openai, anthropic, google = trio_servers(http_server)
    openai.reply(fixture="openai_chat_completion.json", always=True)
    anthropic.reply(fixture="anthropic_message.json", always=True)
    google.reply(fixture="gemini_generate_content_json.json", always=True)
    results: list[CompletionResult] = []

    async def body(h: Harness) -> None:
        results.append(await h.complete(CompletionRequest(HELLO, capability="code", strategy="cheapest")))
        results.append(
            await h.complete(CompletionRequest(HELLO, capability="long-context", strategy="cheapest"))
        )
        # "explicit" with no model routes as cheapest.
        results.append(await h.complete(CompletionRequest(HELLO, capability="chat")))

    run_with_router(
        default_catalogue(),
        default_providers,
        creds_for(openai=openai, anthropic=anthropic, google=google),
        body,
    )

    assert [r.model for r in results] == ["gpt-4o-mini", "gemini-2.5-flash-lite", "gemini-2.5-flash-lite"]
    assert openai.last.json()["model"] == "gpt-4o-mini"
    assert google.last.path == "/v1beta/models/gemini-2.5-flash-lite:generateContent"
    assert anthropic.requests == []


def test_candidate_order_for_each_strategy() -> None:
    router = ModelRouter(default_catalogue(), default_providers())

    def ids(request: CompletionRequest) -> list[str]:
        return [m.id for m in router.candidates(request)]

    assert ids(CompletionRequest(HELLO, capability="code", strategy="cheapest")) == [
        "gpt-4o-mini",
        "gpt-4.1-mini",
        "gemini-2.5-flash",
        "claude-haiku-4-5",
        "gemini-2.5-pro",
        "gpt-4o",
        "claude-sonnet-4-5",
    ]
    # An explicit model first, then the models that cover all its capabilities, nearest price first.
    assert ids(CompletionRequest(HELLO, model="gpt-4o")) == [
        "gpt-4o",
        "gemini-2.5-pro",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
        "gemini-2.5-flash",
        "gpt-4.1-mini",
        "gpt-4o-mini",
    ]
    # A long-context model never falls back to a short-context one.
    assert ids(CompletionRequest(HELLO, model="gemini-2.5-flash")) == [
        "gemini-2.5-flash",
        "gpt-4.1-mini",
        "gemini-2.5-pro",
    ]
    assert router.models("long-context") == [
        m
        for m in default_catalogue()
        if m.id
        in {"gpt-4.1-mini", "gemini-2.5-flash-lite", "gemini-2.5-flash", "gemini-2.5-pro", "builtin-small"}
    ]


def test_fastest_follows_observed_latency(http_server: ServerFactory) -> None:
    slow, fast = http_server(), http_server()
    slow.reply(fixture="ollama_chat_completion.json", delay=0.25, always=True)
    fast.reply(fixture="ollama_chat_completion.json", always=True)
    catalogue = [model("slow-model", "slowco", 0, 0), model("fast-model", "fastco", 10, 10)]
    chosen: list[str] = []

    def providers() -> dict[str, ModelProvider]:
        return {
            "slowco": OpenAICompatibleProvider(name="slowco"),
            "fastco": OpenAICompatibleProvider(name="fastco"),
        }

    async def body(h: Harness) -> None:
        fastest = CompletionRequest(HELLO, strategy="fastest")
        # Nothing observed yet: cheapest first among the unknown.
        chosen.append((await h.complete(fastest)).model)
        # slow-model is now known and sorts before the never-observed fast-model.
        chosen.append((await h.complete(fastest)).model)
        await h.complete(CompletionRequest(HELLO, model="fast-model"))
        chosen.append((await h.complete(fastest)).model)
        chosen.append((await h.complete(fastest)).model)
        slow_ms = h.router.observed_latency_ms("slow-model")
        fast_ms = h.router.observed_latency_ms("fast-model")
        assert slow_ms is not None
        assert fast_ms is not None
        assert slow_ms >= 250 > fast_ms

    harness = run_with_router(catalogue, providers, creds_for(slowco=slow, fastco=fast), body)

    assert chosen == ["slow-model", "slow-model", "fast-model", "fast-model"]
    assert (len(slow.requests), len(fast.requests)) == (2, 3)
    assert all(a.outcome == "ok" for a in harness.attempts)


def test_latency_is_an_exponentially_weighted_average() -> None:
    router = ModelRouter(TRIO, three_vendors())

    router.observe_latency("oa-small", 100)
    router.observe_latency("oa-small", 200)

    assert router.observed_latency_ms("oa-small") == pytest.approx(130.0)
    assert router.observed_latency_ms("an-small") is None


# --- falling back ----------------------------------------------------------------------------------


def test_fallback_order_with_every_attempt_reported(http_server: ServerFactory) -> None:
    openai, anthropic, google = trio_servers(http_server)
    openai.reply(fixture="openai_error_429.json", status=429, headers={"retry-after": "3"})
    anthropic.reply(fixture="anthropic_error_500.json", status=500)
    google.reply(fixture="gemini_generate_content.json")
    results: list[CompletionResult] = []

    async def body(h: Harness) -> None:
        results.append(await h.complete(CompletionRequest(HELLO, strategy="cheapest")))

    harness = run_with_router(
        TRIO, three_vendors, creds_for(openai=openai, anthropic=anthropic, google=google), body
    )

    assert harness.outcomes() == [
        ("openai", "oa-small", "rate_limited"),
        ("anthropic", "an-small", "error"),
        ("google", "go-small", "ok"),
    ]
    assert harness.attempts[0].error.startswith("rate_limited: openai: HTTP 429")
    assert harness.attempts[1].error.startswith("unavailable: anthropic: HTTP 500")
    assert harness.attempts[2].error == ""
    assert (results[0].provider, results[0].model, results[0].text) == (
        "google",
        "go-small",
        "The capital of France is Paris.",
    )
    # The result's latency is the router's measurement of the winning attempt.
    assert results[0].latency_ms == harness.attempts[2].latency_ms
    assert (len(openai.requests), len(anthropic.requests), len(google.requests)) == (1, 1, 1)


def test_timeout_falls_back_and_counts_as_latency(http_server: ServerFactory) -> None:
    openai, anthropic, _ = trio_servers(http_server)
    openai.reply({}, delay=3.0)
    anthropic.reply(fixture="anthropic_message.json")

    async def body(h: Harness) -> None:
        started = time.monotonic()
        result = await h.complete(CompletionRequest(HELLO, strategy="cheapest", timeout_seconds=0.3))
        assert result.provider == "anthropic"
        assert time.monotonic() - started < 2.0
        observed = h.router.observed_latency_ms("oa-small")
        assert observed is not None
        assert observed >= 300

    harness = run_with_router(TRIO, three_vendors, creds_for(openai=openai, anthropic=anthropic), body)

    assert [a.outcome for a in harness.attempts] == ["timeout", "ok"]


def test_bad_request_stops_at_once(http_server: ServerFactory) -> None:
    openai, anthropic, google = trio_servers(http_server)
    openai.reply(fixture="openai_error_400.json", status=400)

    async def body(h: Harness) -> None:
        with pytest.raises(ProviderError) as caught:
            await h.complete(CompletionRequest(HELLO, strategy="cheapest"))
        assert caught.value.kind == "bad_request"
        assert "maximum context length" in str(caught.value)

    harness = run_with_router(
        TRIO, three_vendors, creds_for(openai=openai, anthropic=anthropic, google=google), body
    )

    assert harness.outcomes() == [("openai", "oa-small", "error")]
    assert anthropic.requests == []
    assert google.requests == []


def test_auth_failure_skips_the_rest_of_that_provider(http_server: ServerFactory) -> None:
    openai, anthropic, _ = trio_servers(http_server)
    openai.reply(fixture="openai_error_401.json", status=401, always=True)
    anthropic.reply(fixture="anthropic_message.json")
    catalogue = [
        model("oa-small", "openai", 100_000, 400_000),
        model("oa-large", "openai", 150_000, 600_000),
        model("an-small", "anthropic", 200_000, 800_000),
    ]

    async def body(h: Harness) -> None:
        assert (await h.complete(CompletionRequest(HELLO, strategy="cheapest"))).provider == "anthropic"

    harness = run_with_router(catalogue, three_vendors, creds_for(openai=openai, anthropic=anthropic), body)

    # The same key would fail for oa-large too, so it is not tried.
    assert harness.outcomes() == [("openai", "oa-small", "error"), ("anthropic", "an-small", "ok")]
    assert len(openai.requests) == 1


def test_providers_without_credentials_are_skipped_and_asked_once(http_server: ServerFactory) -> None:
    openai, anthropic, google = trio_servers(http_server)
    anthropic.reply(fixture="anthropic_message.json", always=True)
    catalogue = [*TRIO, model("oa-other", "openai", 250_000, 900_000)]

    async def body(h: Harness) -> None:
        assert (await h.complete(CompletionRequest(HELLO, strategy="cheapest"))).provider == "anthropic"

    # openai has no credentials; google has some but is never reached.
    harness = run_with_router(catalogue, three_vendors, creds_for(anthropic=anthropic, google=google), body)

    assert harness.outcomes() == [("anthropic", "an-small", "ok")]
    assert openai.requests == []
    assert google.requests == []
    # Credentials are resolved lazily and once per provider: openai is asked once although two of
    # its models were candidates, and google, never reached, is never asked.
    assert harness.lookups == ["openai", "anthropic"]


def test_when_every_candidate_fails_the_error_summarises_the_attempts(http_server: ServerFactory) -> None:
    openai, anthropic, google = trio_servers(http_server)
    openai.reply(fixture="openai_error_429.json", status=429, headers={"retry-after": "5"})
    anthropic.reply(fixture="anthropic_error_429.json", status=429, headers={"retry-after": "2"})
    google.reply(fixture="gemini_error_429.json", status=429)
    openai.reply(fixture="openai_error_500.json", status=500)
    anthropic.reply(fixture="anthropic_error_429.json", status=429)
    google.reply("garbage")

    async def body(h: Harness) -> None:
        with pytest.raises(ProviderError) as all_limited:
            await h.complete(CompletionRequest(HELLO, strategy="cheapest"))
        assert all_limited.value.kind == "rate_limited"
        # The soonest any candidate will take a request again.
        assert all_limited.value.retry_after == 2.0
        message = str(all_limited.value)
        assert message.startswith("all 3 candidates failed: openai/oa-small: rate_limited")
        assert "anthropic/an-small: rate_limited" in message
        assert "google/go-small: rate_limited" in message

        with pytest.raises(ProviderError) as mixed:
            await h.complete(CompletionRequest(HELLO, strategy="cheapest"))
        assert mixed.value.kind == "unavailable"
        assert "bad_response" in str(mixed.value)

    harness = run_with_router(
        TRIO, three_vendors, creds_for(openai=openai, anthropic=anthropic, google=google), body
    )

    assert len(harness.attempts) == 6


def test_explicit_model_falls_back_only_to_models_covering_its_capabilities(
    http_server: ServerFactory,
) -> None:
    openai, anthropic, google = trio_servers(http_server)
    anthropic.reply(fixture="anthropic_error_500.json", status=500)
    google.reply(fixture="gemini_generate_content.json")
    catalogue = [
        model("oa-small", "openai", 100_000, 400_000),
        model("an-long", "anthropic", 200_000, 800_000, ("chat", "long-context")),
        model("go-long", "google", 300_000, 1_200_000, ("chat", "long-context")),
    ]

    async def body(h: Harness) -> None:
        assert (await h.complete(CompletionRequest(HELLO, model="an-long"))).model == "go-long"

    harness = run_with_router(
        catalogue, three_vendors, creds_for(openai=openai, anthropic=anthropic, google=google), body
    )

    assert harness.outcomes() == [("anthropic", "an-long", "error"), ("google", "go-long", "ok")]
    assert openai.requests == []


# --- offline and the builtin model -----------------------------------------------------------------


def test_routed_request_with_no_credentials_at_all_runs_offline_on_builtin() -> None:
    results: list[CompletionResult] = []

    async def body(h: Harness) -> None:
        request = CompletionRequest(
            [ChatMessage("user", "Summarise: One fact. Two facts.")], strategy="cheapest"
        )
        results.append(await h.complete(request))
        results.append(await h.complete(request))

    harness = run_with_router(TRIO, three_vendors, {}, body)

    assert harness.outcomes() == [("builtin", "builtin-small", "ok")] * 2
    assert results[0].text == results[1].text == "One fact."
    assert results[0].cost_usd_micros == 0


def test_builtin_never_stands_in_for_a_named_real_model() -> None:
    async def body(h: Harness) -> None:
        with pytest.raises(ProviderError) as caught:
            await h.complete(CompletionRequest(HELLO, model="oa-small"))
        assert caught.value.kind == "auth"
        assert "no credentials" in str(caught.value)

    harness = run_with_router(TRIO, three_vendors, {}, body)

    assert harness.attempts == []


def test_builtin_is_not_used_while_real_candidates_have_credentials(http_server: ServerFactory) -> None:
    openai = http_server()
    openai.reply(fixture="openai_error_500.json", status=500)

    async def body(h: Harness) -> None:
        with pytest.raises(ProviderError):
            await h.complete(CompletionRequest(HELLO, strategy="cheapest"))

    harness = run_with_router(TRIO, three_vendors, creds_for(openai=openai), body)

    assert harness.outcomes() == [("openai", "oa-small", "error")]


def test_builtin_by_name_through_the_router_is_deterministic() -> None:
    texts: list[str] = []

    async def body(h: Harness) -> None:
        for _ in range(2):
            result = await h.complete(CompletionRequest(HELLO, model="builtin-small", json_output=True))
            texts.append(result.text)

    run_with_router(TRIO, three_vendors, {}, body)

    assert (
        texts[0]
        == texts[1]
        == '{"echo": "Say hello.", "summary": "Say hello.", "keywords": ["say", "hello"], "word_count": 2}'
    )


# --- refusing bad requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (CompletionRequest(HELLO, model="gpt-9"), "unknown model 'gpt-9'"),
        (CompletionRequest(HELLO, capability="telepathy", strategy="cheapest"), "no model offers telepathy"),
        (CompletionRequest(HELLO, model="oa-small", capability="code"), "lacks capability code"),
        (CompletionRequest([], strategy="cheapest"), "messages must not be empty"),
        (
            CompletionRequest(HELLO, strategy="cheapest", max_output_tokens=0),
            "max_output_tokens must be positive",
        ),
    ],
)
def test_bad_requests_are_refused_before_any_call(request_: CompletionRequest, message: str) -> None:
    async def body(h: Harness) -> None:
        with pytest.raises(ProviderError, match=message) as caught:
            await h.complete(request_)
        assert (caught.value.kind, caught.value.retryable) == ("bad_request", False)

    harness = run_with_router(TRIO, three_vendors, {}, body)

    assert harness.attempts == []
    assert harness.lookups == []


def test_a_catalogue_naming_an_unregistered_provider_is_rejected_at_start() -> None:
    with pytest.raises(ValueError, match="provider 'nowhere', which is not registered"):
        ModelRouter([model("m", "nowhere", 1, 1)], three_vendors())
