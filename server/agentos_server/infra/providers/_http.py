"""Plumbing shared by the HTTP adapters: one client, one deadline, one error classification."""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import ssl
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from .types import ErrorKind, ProviderError

# Enough of a body to recognise what went wrong, never enough to flood a log line.
_EXCERPT_CHARS = 300


def join_url(base: str, path: str) -> str:
    """Join a configured base URL and an API path without doubling a version segment.

    Operators paste base URLs both ways ("http://localhost:11434" and "https://host/openai/v1"), so
    a base that already ends in the path's first segment is used as is.
    """
    base = base.rstrip("/")
    first_segment = "/" + path.lstrip("/").split("/", 1)[0]
    if base.endswith(first_segment):
        base = base[: -len(first_segment)]
    return base + "/" + path.lstrip("/")


def excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…"


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``retry-after`` (delta-seconds or HTTP-date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_message(body: object, fallback: str) -> str:
    """The human message in an error body; all three vendors put it at ``error.message``."""
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping):
            message = err.get("message")
            if isinstance(message, str) and message:
                return excerpt(message)
        # Ollama and several other OpenAI-compatible servers send {"error": "text"}.
        if isinstance(err, str) and err:
            return excerpt(err)
    return excerpt(fallback) or "(empty body)"


def kind_for_status(status: int) -> ErrorKind:
    if status == 429:
        return "rate_limited"
    if status in (401, 402, 403):
        # 402 is a billing failure: the key cannot be used, whatever the request.
        return "auth"
    if status == 408:
        return "timeout"
    if status == 404:
        # The model id or endpoint is unknown to this provider (a retired model, a wrong base URL):
        # a fact about the provider, not about the request, so another candidate may serve it.
        return "unavailable"
    if status >= 500:
        return "unavailable"
    return "bad_request"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~0.1 s per client; every adapter's client shares one context,
    # built the way httpx builds its default (certifi bundle, or SSL_CERT_FILE / SSL_CERT_DIR).
    return httpx.create_ssl_context()


class JsonValue:
    """Typed reads from a decoded JSON body; any shape surprise becomes a ``bad_response``."""

    def __init__(self, provider: str, value: object, where: str = "body") -> None:
        self._provider = provider
        self.value = value
        self._where = where

    def _fail(self, expected: str) -> ProviderError:
        return ProviderError(
            "bad_response",
            f"{self._provider}: expected {expected} at {self._where}, got {type(self.value).__name__}",
            provider=self._provider,
        )

    def get(self, key: str) -> JsonValue:
        if not isinstance(self.value, Mapping):
            raise self._fail("an object")
        return JsonValue(self._provider, self.value.get(key), f"{self._where}.{key}")

    def has(self, key: str) -> bool:
        return isinstance(self.value, Mapping) and self.value.get(key) is not None

    def as_list(self) -> list[JsonValue]:
        if not isinstance(self.value, list):
            raise self._fail("an array")
        return [JsonValue(self._provider, v, f"{self._where}[{i}]") for i, v in enumerate(self.value)]

    def as_str(self) -> str:
        if not isinstance(self.value, str):
            raise self._fail("a string")
        return self.value

    def opt_str(self, default: str = "") -> str:
        return default if self.value is None else self.as_str()

    def as_int(self, default: int | None = None) -> int:
        if self.value is None and default is not None:
            return default
        # bool is an int subclass in Python; a token count of `true` is still garbage.
        if not isinstance(self.value, int) or isinstance(self.value, bool) or self.value < 0:
            raise self._fail("a non-negative integer")
        return self.value


class HttpAdapter:
    """Base of the networked adapters: a shared ``httpx.AsyncClient`` and the error mapping."""

    name: str
    default_base_url: str | None

    def __init__(self, *, client: httpx.AsyncClient | None = None) -> None:
        # One client per adapter keeps connections (and TLS sessions) warm across calls. It is made
        # on first use, so it belongs to the event loop that uses it; a client passed in belongs to
        # the caller, who closes it.
        self._client = client
        self._owns_client = client is None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(verify=_tls_context(), follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _base_url(self, base_url: str | None) -> str:
        base = base_url or self.default_base_url
        if not base:
            raise ProviderError(
                "auth",
                f"{self.name}: no base_url configured for this provider",
                provider=self.name,
            )
        return base

    async def _post_json(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        body: Mapping[str, Any],
        timeout_seconds: float,
    ) -> tuple[JsonValue, int]:
        """POST ``body`` and return the decoded success body and the elapsed milliseconds."""
        started = time.monotonic()
        try:
            # httpx timeouts are per socket operation; a server trickling bytes could outlast them
            # all, so the request's deadline is enforced around the whole exchange as well.
            async with asyncio.timeout(timeout_seconds):
                response = await self.client.post(
                    url,
                    headers={"content-type": "application/json", **headers},
                    content=json.dumps(body).encode(),
                    timeout=httpx.Timeout(timeout_seconds),
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ProviderError(
                "timeout",
                f"{self.name}: no answer within {timeout_seconds:g}s",
                provider=self.name,
            ) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                "unavailable",
                f"{self.name}: {type(exc).__name__}: {excerpt(str(exc)) or 'connection failed'}",
                provider=self.name,
            ) from exc
        elapsed_ms = int((time.monotonic() - started) * 1000)

        decoded: object = None
        decode_failed = False
        try:
            decoded = response.json()
        except ValueError:
            decode_failed = True

        if response.status_code >= 400:
            raise self._error_for(response, decoded)
        if response.status_code != 200 or decode_failed:
            raise ProviderError(
                "bad_response",
                f"{self.name}: unexpected HTTP {response.status_code} body: "
                f"{excerpt(response.text) or '(empty)'}",
                status=response.status_code,
                provider=self.name,
            )
        return JsonValue(self.name, decoded), elapsed_ms

    def _error_for(self, response: httpx.Response, body: object) -> ProviderError:
        kind = kind_for_status(response.status_code)
        retry_after = parse_retry_after(response.headers)
        return self._refine_error(
            ProviderError(
                kind,
                f"{self.name}: HTTP {response.status_code}: {error_message(body, response.text)}",
                status=response.status_code,
                retry_after=retry_after,
                provider=self.name,
            ),
            body,
        )

    def _refine_error(self, error: ProviderError, body: object) -> ProviderError:
        """Hook for vendor quirks that the status code alone gets wrong."""
        return error
