"""Google Gemini API, ``generateContent``.

Wire format: ``POST {base}/v1beta/models/{model}:generateContent`` with an ``x-goog-api-key`` header;
roles are ``user`` and ``model``, the system prompt is ``systemInstruction``, JSON mode is
``generationConfig.responseMimeType = "application/json"``; the answer is
``candidates[0].content.parts[].text`` and usage is ``usageMetadata``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from ._http import HttpAdapter, JsonValue, join_url
from .types import (
    FINISH_CONTENT_FILTER,
    FINISH_LENGTH,
    FINISH_STOP,
    ChatMessage,
    CompletionRequest,
    CompletionResult,
    ModelInfo,
    ProviderCredentials,
    ProviderError,
)

_FINISH = {
    "STOP": FINISH_STOP,
    "MAX_TOKENS": FINISH_LENGTH,
    "SAFETY": FINISH_CONTENT_FILTER,
    "RECITATION": FINISH_CONTENT_FILTER,
    "BLOCKLIST": FINISH_CONTENT_FILTER,
    "PROHIBITED_CONTENT": FINISH_CONTENT_FILTER,
    "SPII": FINISH_CONTENT_FILTER,
    "IMAGE_SAFETY": FINISH_CONTENT_FILTER,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def to_contents(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Gemini turns, consecutive same-role messages joined (the API expects them to alternate)."""
    contents: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "model" if message.role == "assistant" else "user"
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].append({"text": message.content})
        else:
            contents.append({"role": role, "parts": [{"text": message.content}]})
    return contents


class GoogleProvider(HttpAdapter):
    name = "google"
    default_base_url: str | None = "https://generativelanguage.googleapis.com"

    def __init__(self, *, base_url: str | None = None, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(client=client)
        if base_url is not None:
            self.default_base_url = base_url

    def build_body(self, request: CompletionRequest) -> dict[str, Any]:
        generation_config: dict[str, Any] = {
            "temperature": request.temperature,
            "maxOutputTokens": request.max_output_tokens,
        }
        if request.json_output:
            generation_config["responseMimeType"] = "application/json"
        body: dict[str, Any] = {
            "contents": to_contents(request.messages),
            "generationConfig": generation_config,
        }
        system = [{"text": m.content} for m in request.messages if m.role == "system"]
        if system:
            body["systemInstruction"] = {"parts": system}
        return body

    async def complete(
        self, model: ModelInfo, request: CompletionRequest, credentials: ProviderCredentials | None
    ) -> CompletionResult:
        if credentials is None or not credentials.api_key:
            raise ProviderError("auth", f"{self.name}: no API key", provider=self.name)
        path = f"/v1beta/models/{quote(model.wire_id, safe='.-_')}:generateContent"
        url = join_url(self._base_url(credentials.base_url), path)
        body, elapsed_ms = await self._post_json(
            url,
            headers={"x-goog-api-key": credentials.api_key},
            body=self.build_body(request),
            timeout_seconds=request.timeout_seconds,
        )
        return self._parse(model, body, elapsed_ms)

    def _parse(self, model: ModelInfo, body: JsonValue, elapsed_ms: int) -> CompletionResult:
        candidates = body.get("candidates").as_list() if body.has("candidates") else []
        if candidates:
            candidate = candidates[0]
            parts = candidate.get("content").get("parts").as_list() if candidate.has("content") else []
            # Thinking models may return their thought summaries as parts flagged `thought`; those
            # are not the answer.
            text = "".join(
                p.get("text").as_str() for p in parts if p.has("text") and p.get("thought").value is not True
            )
            raw_finish = candidate.get("finishReason").opt_str("STOP")
            finish = _FINISH.get(raw_finish, raw_finish.lower())
        elif body.has("promptFeedback") and body.get("promptFeedback").has("blockReason"):
            # A blocked prompt is an answer (a refusal), not a provider failure.
            text, finish = "", FINISH_CONTENT_FILTER
        else:
            raise ProviderError(
                "bad_response", f"{self.name}: response has no candidates", provider=self.name
            )
        usage = body.get("usageMetadata")
        input_tokens = usage.get("promptTokenCount").as_int()
        # Thinking tokens are billed at the output rate, so they count as output here.
        output_tokens = usage.get("candidatesTokenCount").as_int(default=0) + usage.get(
            "thoughtsTokenCount"
        ).as_int(default=0)
        return CompletionResult(
            text=text,
            model=model.id,
            provider=self.name,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd_micros=model.cost_usd_micros(input_tokens, output_tokens),
            latency_ms=elapsed_ms,
            finish_reason=finish,
        )

    def _refine_error(self, error: ProviderError, body: object) -> ProviderError:
        status_name, details = _google_status(body)
        kind = error.kind
        # Gemini answers a bad key with 400 INVALID_ARGUMENT; only the ErrorInfo reason tells.
        if any(d.get("reason") == "API_KEY_INVALID" for d in details):
            kind = "auth"
        elif status_name == "DEADLINE_EXCEEDED":
            kind = "timeout"
        retry_after = error.retry_after
        if retry_after is None:
            # Gemini states the wait in a google.rpc.RetryInfo detail rather than a header.
            for detail in details:
                delay = detail.get("retryDelay")
                match = _DURATION.match(delay) if isinstance(delay, str) else None
                if match:
                    retry_after = float(match.group(1))
                    break
        if kind == error.kind and retry_after == error.retry_after:
            return error
        return ProviderError(
            kind, error.message, status=error.status, retry_after=retry_after, provider=error.provider
        )


def _google_status(body: object) -> tuple[str, list[Mapping[str, object]]]:
    if not isinstance(body, Mapping):
        return "", []
    err = body.get("error")
    if not isinstance(err, Mapping):
        return "", []
    status = err.get("status")
    details = err.get("details")
    detail_list = [d for d in details if isinstance(d, Mapping)] if isinstance(details, list) else []
    return (status if isinstance(status, str) else ""), detail_list
