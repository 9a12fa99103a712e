"""Gemini generateContent adapter against recorded responses on a real socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from provider_wire import RecordingServer

from agentos_server.infra.providers import (
    ChatMessage,
    CompletionRequest,
    CompletionResult,
    GoogleProvider,
    ProviderCredentials,
    ProviderError,
    default_catalogue,
)

ServerFactory = Callable[[], RecordingServer]
KEY = "AIzaSyTest-0123456789abcdefghijklmn"


def call(server: RecordingServer, model_id: str, request: CompletionRequest) -> CompletionResult:
    model = next(m for m in default_catalogue() if m.id == model_id)

    async def run() -> CompletionResult:
        provider = GoogleProvider()
        try:
            return await provider.complete(model, request, ProviderCredentials(KEY, server.base_url))
        finally:
            await provider.aclose()

    return asyncio.run(run())


def failure(server: RecordingServer) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        call(server, "gemini-2.5-flash", CONVERSATION)
    return caught.value


CONVERSATION = CompletionRequest(
    messages=[
        ChatMessage("system", "You are terse."),
        ChatMessage("user", "Hello."),
        ChatMessage("assistant", "Hi."),
        ChatMessage("user", "What is the capital of France?"),
    ],
    max_output_tokens=200,
    temperature=0.0,
)


def test_success_sends_generate_content_wire_format(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="gemini_generate_content.json")

    result = call(server, "gemini-2.5-flash", CONVERSATION)

    sent = server.last
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == KEY
    # The key travels in the header, never in the URL where proxies would log it.
    assert KEY not in sent.path
    assert sent.json() == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hello."}]},
            {"role": "model", "parts": [{"text": "Hi."}]},
            {"role": "user", "parts": [{"text": "What is the capital of France?"}]},
        ],
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "generationConfig": {"temperature": 0.0, "maxOutputTokens": 200},
    }
    assert result.text == "The capital of France is Paris."
    assert (result.model, result.provider, result.finish_reason) == ("gemini-2.5-flash", "google", "stop")
    # Thinking tokens (28) are billed as output alongside the 8 candidate tokens.
    assert (result.input_tokens, result.output_tokens) == (15, 36)
    # 15 x $0.30/M + 36 x $2.50/M = 94.5 micro-dollars, rounded up.
    assert result.cost_usd_micros == 95


def test_json_mode_sets_response_mime_type(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="gemini_generate_content_json.json")
    request = CompletionRequest(messages=[ChatMessage("user", "Where is Paris?")], json_output=True)

    result = call(server, "gemini-2.5-flash-lite", request)

    body = server.last.json()
    assert server.last.path == "/v1beta/models/gemini-2.5-flash-lite:generateContent"
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert "systemInstruction" not in body
    assert json.loads(result.text) == {"city": "Paris", "country": "France"}
    assert (result.input_tokens, result.output_tokens) == (22, 17)


def test_blocked_prompt_is_an_empty_content_filtered_answer(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="gemini_blocked_prompt.json")

    result = call(server, "gemini-2.5-flash", CONVERSATION)

    assert (result.text, result.finish_reason) == ("", "content_filter")
    assert (result.input_tokens, result.output_tokens) == (12, 0)


def test_rate_limit_reads_retry_delay_from_the_body(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="gemini_error_429.json", status=429)

    error = failure(server)

    assert (error.kind, error.status, error.retry_after) == ("rate_limited", 429, 22.0)


def test_invalid_api_key_400_is_auth(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="gemini_error_api_key_invalid.json", status=400)

    error = failure(server)

    assert error.kind == "auth"
    assert "API key not valid" in str(error)


def test_plain_invalid_argument_is_bad_request(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="gemini_error_400.json", status=400)

    error = failure(server)

    assert (error.kind, error.retryable) == ("bad_request", False)


def test_overloaded_503_is_unavailable(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="gemini_error_503.json", status=503)

    assert failure(server).kind == "unavailable"
