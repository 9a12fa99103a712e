"""OpenAI Chat Completions and OpenAI-compatible adapters against recorded responses on a real socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from provider_wire import RecordingServer, fixture_json

from agentos_server.infra.providers import (
    ChatMessage,
    CompletionRequest,
    CompletionResult,
    ModelInfo,
    OpenAICompatibleProvider,
    OpenAIProvider,
    ProviderCredentials,
    ProviderError,
    default_catalogue,
)
from agentos_server.infra.providers.openai import JSON_INSTRUCTION

ServerFactory = Callable[[], RecordingServer]
KEY = "sk-test-4f8a1c9e2b7d"


def catalogue_model(model_id: str) -> ModelInfo:
    return next(m for m in default_catalogue() if m.id == model_id)


def call(
    provider_cls: type[OpenAIProvider],
    model: ModelInfo,
    request: CompletionRequest,
    credentials: ProviderCredentials | None,
) -> CompletionResult:
    async def run() -> CompletionResult:
        provider = provider_cls()
        try:
            return await provider.complete(model, request, credentials)
        finally:
            await provider.aclose()

    return asyncio.run(run())


def failure(
    provider_cls: type[OpenAIProvider],
    model: ModelInfo,
    request: CompletionRequest,
    credentials: ProviderCredentials | None,
) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        call(provider_cls, model, request, credentials)
    return caught.value


QUESTION = CompletionRequest(
    messages=[
        ChatMessage("system", "You are terse."),
        ChatMessage("user", "What is the capital of France?"),
    ],
    max_output_tokens=50,
    temperature=0.2,
)


def test_success_sends_chat_completions_wire_format(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="openai_chat_completion.json")

    result = call(
        OpenAIProvider, catalogue_model("gpt-4o-mini"), QUESTION, ProviderCredentials(KEY, server.base_url)
    )

    sent = server.last
    assert sent.method == "POST"
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == "application/json"
    body = sent.json()
    assert body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        "max_completion_tokens": 50,
        "temperature": 0.2,
    }
    assert result.text == "The capital of France is Paris."
    assert (result.model, result.provider) == ("gpt-4o-mini", "openai")
    assert (result.input_tokens, result.output_tokens) == (24, 8)
    # 24 x $0.15/M + 8 x $0.60/M = 8.4 micro-dollars, rounded up.
    assert result.cost_usd_micros == 9
    assert result.finish_reason == "stop"
    assert result.latency_ms >= 0


def test_json_mode_sets_response_format_and_mentions_json(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="openai_chat_completion_json.json")
    request = CompletionRequest(
        messages=[ChatMessage("user", "Describe Paris: city, country, population in millions.")],
        json_output=True,
    )

    result = call(
        OpenAIProvider, catalogue_model("gpt-4o"), request, ProviderCredentials(KEY, server.base_url)
    )

    body = server.last.json()
    assert body["response_format"] == {"type": "json_object"}
    # The API rejects JSON mode unless "json" appears in the messages; the adapter says it.
    assert body["messages"][0] == {"role": "system", "content": JSON_INSTRUCTION}
    assert json.loads(result.text) == {"city": "Paris", "country": "France", "population_millions": 2.1}
    # 41 x $2.50/M + 23 x $10/M = 332.5 micro-dollars, rounded up.
    assert result.cost_usd_micros == 333


def test_json_mode_leaves_messages_alone_when_they_already_ask_for_json(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="openai_chat_completion_json.json")
    request = CompletionRequest(
        messages=[ChatMessage("user", "Answer in JSON: where is Paris?")], json_output=True
    )

    call(OpenAIProvider, catalogue_model("gpt-4o"), request, ProviderCredentials(KEY, server.base_url))

    assert server.last.json()["messages"] == [{"role": "user", "content": "Answer in JSON: where is Paris?"}]


def test_insufficient_quota_is_an_account_problem_not_a_rate_limit(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="openai_error_insufficient_quota.json", status=429)

    error = failure(
        OpenAIProvider, catalogue_model("gpt-4o-mini"), QUESTION, ProviderCredentials(KEY, server.base_url)
    )

    assert error.kind == "auth"
    assert error.retry_after is None


def test_missing_key_fails_before_any_request(http_server: ServerFactory) -> None:
    server = http_server()

    error = failure(OpenAIProvider, catalogue_model("gpt-4o-mini"), QUESTION, None)

    assert error.kind == "auth"
    assert server.requests == []


def test_refusal_is_returned_as_content_filtered_text(http_server: ServerFactory) -> None:
    server = http_server()
    body = fixture_json("openai_chat_completion.json")
    body["choices"][0]["message"].update(content=None, refusal="I can't help with that.")
    server.reply(body)

    result = call(
        OpenAIProvider, catalogue_model("gpt-4o-mini"), QUESTION, ProviderCredentials(KEY, server.base_url)
    )

    assert (result.text, result.finish_reason) == ("I can't help with that.", "content_filter")


# --- OpenAI-compatible ---------------------------------------------------------------------------

LLAMA = ModelInfo(
    id="llama3.1:8b",
    provider="openai_compatible",
    capabilities=frozenset({"chat"}),
    input_price_per_mtok=0,
    output_price_per_mtok=0,
    context_window=131072,
)


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_compatible_uses_base_url_from_credentials_without_doubling_v1(
    http_server: ServerFactory, suffix: str
) -> None:
    server = http_server()
    server.reply(fixture="ollama_chat_completion.json")

    result = call(
        OpenAICompatibleProvider, LLAMA, QUESTION, ProviderCredentials("", server.base_url + suffix)
    )

    sent = server.last
    assert sent.path == "/v1/chat/completions"
    # Local servers such as Ollama take no key; none is sent rather than an empty bearer.
    assert "authorization" not in sent.headers
    body = sent.json()
    assert body["max_tokens"] == 50
    assert "max_completion_tokens" not in body
    assert (result.text, result.provider, result.cost_usd_micros) == ("Paris.", "openai_compatible", 0)
    assert (result.input_tokens, result.output_tokens) == (26, 3)


def test_compatible_sends_bearer_when_a_key_is_given(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="ollama_chat_completion.json")

    call(OpenAICompatibleProvider, LLAMA, QUESTION, ProviderCredentials("mistral-key-123", server.base_url))

    assert server.last.headers["authorization"] == "Bearer mistral-key-123"


def test_compatible_without_base_url_is_a_configuration_error() -> None:
    error = failure(OpenAICompatibleProvider, LLAMA, QUESTION, ProviderCredentials("k"))

    assert error.kind == "auth"
    assert "base_url" in str(error)


def test_compatible_estimates_usage_when_the_server_omits_it(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(
        {
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}
            ]
        }
    )

    result = call(OpenAICompatibleProvider, LLAMA, QUESTION, ProviderCredentials("", server.base_url))

    assert result.input_tokens > 0
    assert result.output_tokens == 2  # "Paris" and "."


def test_compatible_unknown_model_404_is_unavailable(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="ollama_error_404.json", status=404)

    error = failure(OpenAICompatibleProvider, LLAMA, QUESTION, ProviderCredentials("", server.base_url))

    assert error.kind == "unavailable"
    assert error.retryable
    assert 'model "llama9:70b" not found' in str(error)


def test_openai_requires_usage(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(
        {
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}
            ]
        }
    )

    error = failure(
        OpenAIProvider, catalogue_model("gpt-4o-mini"), QUESTION, ProviderCredentials(KEY, server.base_url)
    )

    assert error.kind == "bad_response"
