"""Anthropic Messages adapter against recorded responses on a real socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from provider_wire import RecordingServer

from agentos_server.infra.providers import (
    AnthropicProvider,
    ChatMessage,
    CompletionRequest,
    CompletionResult,
    ModelInfo,
    ProviderCredentials,
    ProviderError,
    default_catalogue,
)
from agentos_server.infra.providers.anthropic import API_VERSION, JSON_INSTRUCTION

ServerFactory = Callable[[], RecordingServer]
KEY = "sk-ant-api03-test-key-0001"


def model(model_id: str) -> ModelInfo:
    return next(m for m in default_catalogue() if m.id == model_id)


def call(server: RecordingServer, model_id: str, request: CompletionRequest) -> CompletionResult:
    async def run() -> CompletionResult:
        provider = AnthropicProvider()
        try:
            return await provider.complete(
                model(model_id), request, ProviderCredentials(KEY, server.base_url)
            )
        finally:
            await provider.aclose()

    return asyncio.run(run())


CONVERSATION = CompletionRequest(
    messages=[
        ChatMessage("system", "You are terse."),
        ChatMessage("user", "Hello."),
        ChatMessage("assistant", "Hi."),
        ChatMessage("system", "Answer in one sentence."),
        ChatMessage("user", "What is the capital of France?"),
        ChatMessage("user", "And why?"),
    ],
    max_output_tokens=64,
    temperature=0.5,
)


def test_success_sends_messages_wire_format(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="anthropic_message.json")

    result = call(server, "claude-haiku-4-5", CONVERSATION)

    sent = server.last
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == API_VERSION
    assert "authorization" not in sent.headers
    assert sent.json() == {
        # The catalogue id is an alias; the wire carries the dated upstream id.
        "model": "claude-haiku-4-5-20251001",
        "max_tokens": 64,
        "temperature": 0.5,
        # System prompts are top-level, never messages; same-role turns are merged to alternate.
        "system": "You are terse.\n\nAnswer in one sentence.",
        "messages": [
            {"role": "user", "content": "Hello."},
            {"role": "assistant", "content": "Hi."},
            {"role": "user", "content": "What is the capital of France?\n\nAnd why?"},
        ],
    }
    assert result.text == "Paris is the capital of France."
    assert (result.model, result.provider) == ("claude-haiku-4-5", "anthropic")
    assert (result.input_tokens, result.output_tokens) == (21, 10)
    # 21 x $1/M + 10 x $5/M = 71 micro-dollars.
    assert result.cost_usd_micros == 71
    assert result.finish_reason == "stop"


def test_json_mode_instructs_and_unwraps_a_fenced_answer(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="anthropic_message_json.json")
    request = CompletionRequest(messages=[ChatMessage("user", "Where is Paris?")], json_output=True)

    result = call(server, "claude-sonnet-4-5", request)

    assert server.last.json()["system"] == JSON_INSTRUCTION
    assert json.loads(result.text) == {"city": "Paris", "country": "France"}
    # 58 x $3/M + 19 x $15/M = 459 micro-dollars.
    assert result.cost_usd_micros == 459


def test_max_tokens_stop_is_reported_as_length(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="anthropic_message_max_tokens.json")

    result = call(server, "claude-haiku-4-5", CONVERSATION)

    assert result.finish_reason == "length"


def test_overloaded_529_is_unavailable(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="anthropic_error_529.json", status=529)

    with pytest.raises(ProviderError) as caught:
        call(server, "claude-haiku-4-5", CONVERSATION)

    assert (caught.value.kind, caught.value.status, caught.value.retryable) == ("unavailable", 529, True)
    assert "Overloaded" in str(caught.value)


def test_a_message_without_usage_is_a_bad_response(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply({"type": "message", "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn"})

    with pytest.raises(ProviderError) as caught:
        call(server, "claude-haiku-4-5", CONVERSATION)

    assert caught.value.kind == "bad_response"
