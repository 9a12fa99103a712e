"""Anthropic Messages API.

Wire format: ``POST {base}/v1/messages`` with ``x-api-key`` and ``anthropic-version`` headers; system
prompts travel in the top-level ``system`` field, not as messages; the answer is a list of content
blocks, and usage is ``usage.input_tokens`` / ``usage.output_tokens``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from ._http import HttpAdapter, JsonValue, join_url
from .types import (
    FINISH_CONTENT_FILTER,
    FINISH_LENGTH,
    FINISH_STOP,
    FINISH_TOOL_CALLS,
    ChatMessage,
    CompletionRequest,
    CompletionResult,
    ModelInfo,
    ProviderCredentials,
    ProviderError,
)

API_VERSION = "2023-06-01"

_FINISH = {
    "end_turn": FINISH_STOP,
    "stop_sequence": FINISH_STOP,
    "max_tokens": FINISH_LENGTH,
    "tool_use": FINISH_TOOL_CALLS,
    "refusal": FINISH_CONTENT_FILTER,
}

# The Messages API has no JSON switch; an explicit instruction is the documented way to get one.
JSON_INSTRUCTION = (
    "Respond with a single JSON object and nothing else: no prose before or after it, no code fences."
)
_FENCED = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


def merge_turns(messages: list[ChatMessage]) -> list[dict[str, str]]:
    """Join consecutive messages of one role: the API wants user and assistant turns to alternate."""
    turns: list[dict[str, str]] = []
    for message in messages:
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"] += "\n\n" + message.content
        else:
            turns.append({"role": message.role, "content": message.content})
    return turns


class AnthropicProvider(HttpAdapter):
    name = "anthropic"
    default_base_url: str | None = "https://api.anthropic.com"

    def __init__(self, *, base_url: str | None = None, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(client=client)
        if base_url is not None:
            self.default_base_url = base_url

    def build_body(self, model: ModelInfo, request: CompletionRequest) -> dict[str, Any]:
        system_parts = [m.content for m in request.messages if m.role == "system"]
        if request.json_output:
            system_parts.append(JSON_INSTRUCTION)
        body: dict[str, Any] = {
            "model": model.wire_id,
            "max_tokens": request.max_output_tokens,
            "messages": merge_turns([m for m in request.messages if m.role != "system"]),
            "temperature": request.temperature,
        }
        if system_parts:
            body["system"] = "\n\n".join(system_parts)
        return body

    async def complete(
        self, model: ModelInfo, request: CompletionRequest, credentials: ProviderCredentials | None
    ) -> CompletionResult:
        if credentials is None or not credentials.api_key:
            raise ProviderError("auth", f"{self.name}: no API key", provider=self.name)
        url = join_url(self._base_url(credentials.base_url), "/v1/messages")
        body, elapsed_ms = await self._post_json(
            url,
            headers={"x-api-key": credentials.api_key, "anthropic-version": API_VERSION},
            body=self.build_body(model, request),
            timeout_seconds=request.timeout_seconds,
        )
        return self._parse(model, request, body, elapsed_ms)

    def _parse(
        self, model: ModelInfo, request: CompletionRequest, body: JsonValue, elapsed_ms: int
    ) -> CompletionResult:
        if body.get("type").opt_str("message") != "message":
            raise ProviderError("bad_response", f"{self.name}: response is not a message", provider=self.name)
        texts = [
            block.get("text").as_str()
            for block in body.get("content").as_list()
            if block.get("type").as_str() == "text"
        ]
        text = "".join(texts)
        if request.json_output:
            fenced = _FENCED.match(text)
            if fenced:
                text = fenced.group(1)
        raw_finish = body.get("stop_reason").opt_str("end_turn")
        usage = body.get("usage")
        input_tokens = usage.get("input_tokens").as_int()
        output_tokens = usage.get("output_tokens").as_int()
        return CompletionResult(
            text=text,
            model=model.id,
            provider=self.name,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd_micros=model.cost_usd_micros(input_tokens, output_tokens),
            latency_ms=elapsed_ms,
            finish_reason=_FINISH.get(raw_finish, raw_finish.lower()),
        )
