"""OpenAI Chat Completions, and the many servers that speak the same dialect.

Wire format: ``POST {base}/v1/chat/completions`` with ``Authorization: Bearer <key>``; the answer is
``choices[0].message.content`` and usage is ``usage.prompt_tokens`` / ``usage.completion_tokens``.
"""

from __future__ import annotations

from typing import Any

import httpx

from ._http import HttpAdapter, JsonValue, join_url
from .tokens import count_message_tokens, count_tokens
from .types import (
    FINISH_CONTENT_FILTER,
    FINISH_LENGTH,
    FINISH_STOP,
    FINISH_TOOL_CALLS,
    CompletionRequest,
    CompletionResult,
    ModelInfo,
    ProviderCredentials,
    ProviderError,
)

_FINISH = {
    "stop": FINISH_STOP,
    "length": FINISH_LENGTH,
    "content_filter": FINISH_CONTENT_FILTER,
    "tool_calls": FINISH_TOOL_CALLS,
    "function_call": FINISH_TOOL_CALLS,
}

# JSON mode is rejected with a 400 unless the word "JSON" appears somewhere in the messages, so the
# adapter adds this line when the caller's prompt does not already say it.
JSON_INSTRUCTION = "Respond with a single JSON object and nothing else."


class OpenAIProvider(HttpAdapter):
    name = "openai"
    default_base_url: str | None = "https://api.openai.com"
    # OpenAI deprecated `max_tokens` for chat completions (reasoning models reject it); compatible
    # servers mostly still only know `max_tokens`.
    max_tokens_field = "max_completion_tokens"
    requires_api_key = True
    requires_usage = True

    def __init__(
        self,
        *,
        name: str | None = None,
        base_url: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(client=client)
        if name is not None:
            self.name = name
        if base_url is not None:
            self.default_base_url = base_url

    def build_body(self, model: ModelInfo, request: CompletionRequest) -> dict[str, Any]:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        body: dict[str, Any] = {
            "model": model.wire_id,
            "messages": messages,
            self.max_tokens_field: request.max_output_tokens,
            "temperature": request.temperature,
        }
        if request.json_output:
            if not any("json" in m.content.lower() for m in request.messages):
                messages.insert(0, {"role": "system", "content": JSON_INSTRUCTION})
            body["response_format"] = {"type": "json_object"}
        return body

    async def complete(
        self, model: ModelInfo, request: CompletionRequest, credentials: ProviderCredentials | None
    ) -> CompletionResult:
        if credentials is None or (self.requires_api_key and not credentials.api_key):
            raise ProviderError("auth", f"{self.name}: no API key", provider=self.name)
        headers = {}
        if credentials.api_key:
            headers["authorization"] = f"Bearer {credentials.api_key}"
        url = join_url(self._base_url(credentials.base_url), "/v1/chat/completions")
        body, elapsed_ms = await self._post_json(
            url,
            headers=headers,
            body=self.build_body(model, request),
            timeout_seconds=request.timeout_seconds,
        )
        return self._parse(model, request, body, elapsed_ms)

    def _parse(
        self, model: ModelInfo, request: CompletionRequest, body: JsonValue, elapsed_ms: int
    ) -> CompletionResult:
        choices = body.get("choices").as_list()
        if not choices:
            raise ProviderError("bad_response", f"{self.name}: response has no choices", provider=self.name)
        choice = choices[0]
        message = choice.get("message")
        # content is null when the model refused or only called tools; a refusal carries its text.
        text = message.get("content").opt_str() or message.get("refusal").opt_str()
        raw_finish = choice.get("finish_reason").opt_str("stop")
        finish = _FINISH.get(raw_finish, raw_finish.lower())
        if message.has("refusal") and not message.has("content"):
            finish = FINISH_CONTENT_FILTER

        if body.has("usage") or self.requires_usage:
            usage = body.get("usage")
            input_tokens = usage.get("prompt_tokens").as_int()
            output_tokens = usage.get("completion_tokens").as_int(default=0)
        else:
            # Some self-hosted servers omit usage; an estimate keeps accounting non-zero and honest
            # about order of magnitude.
            input_tokens = count_message_tokens(request.messages)
            output_tokens = count_tokens(text)
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
        if error.status == 429 and _error_code(body) == "insufficient_quota":
            # An exhausted balance is not a transient rate limit: waiting will not help, and every
            # model on this account will fail the same way.
            return ProviderError(
                "auth", error.message, status=error.status, retry_after=None, provider=error.provider
            )
        return error


class OpenAICompatibleProvider(OpenAIProvider):
    """Ollama, vLLM, Mistral, LM Studio, ...: the OpenAI wire format at an operator-given base URL.

    The base URL comes from the credentials (or from ``base_url=`` when one instance is registered
    per server, e.g. ``OpenAICompatibleProvider(name="mistral", base_url="https://api.mistral.ai")``).
    An empty API key is allowed: local servers such as Ollama need none.
    """

    name = "openai_compatible"
    default_base_url: str | None = None
    max_tokens_field = "max_tokens"
    requires_api_key = False
    requires_usage = False


def _error_code(body: object) -> str | None:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            code = err.get("code")
            return code if isinstance(code, str) else None
    return None
