"""HTTP failures map to the same ProviderError kinds whichever vendor produced them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from provider_wire import RecordingServer

from agentos_server.infra.providers import (
    AnthropicProvider,
    ChatMessage,
    CompletionRequest,
    GoogleProvider,
    OpenAIProvider,
    ProviderCredentials,
    ProviderError,
    default_catalogue,
)

ServerFactory = Callable[[], RecordingServer]
SECRET = "sk-secret-never-echoed-123456"


@dataclass(frozen=True)
class Vendor:
    name: str
    make: Callable[[], OpenAIProvider | AnthropicProvider | GoogleProvider]
    model_id: str


VENDORS = [
    Vendor("openai", OpenAIProvider, "gpt-4o-mini"),
    Vendor("anthropic", AnthropicProvider, "claude-haiku-4-5"),
    Vendor("google", GoogleProvider, "gemini-2.5-flash"),
]
REQUEST = CompletionRequest(messages=[ChatMessage("user", "ping")], max_output_tokens=8)


def attempt(vendor: Vendor, base_url: str, request: CompletionRequest = REQUEST) -> ProviderError:
    model = next(m for m in default_catalogue() if m.id == vendor.model_id)

    async def run() -> None:
        provider = vendor.make()
        try:
            await provider.complete(model, request, ProviderCredentials(SECRET, base_url))
        finally:
            await provider.aclose()

    with pytest.raises(ProviderError) as caught:
        asyncio.run(run())
    error = caught.value
    assert error.provider == vendor.name
    assert SECRET not in str(error)
    return error


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_429_is_rate_limited_with_retry_after_header(http_server: ServerFactory, vendor: Vendor) -> None:
    server = http_server()
    server.reply(
        fixture=f"{vendor.name.replace('google', 'gemini')}_error_429.json",
        status=429,
        headers={"retry-after": "7"},
    )

    error = attempt(vendor, server.base_url)

    assert (error.kind, error.status, error.retryable) == ("rate_limited", 429, True)
    # The header wins over Gemini's body hint: it is what the HTTP layer promises.
    assert error.retry_after == 7.0


def test_retry_after_as_http_date_and_in_milliseconds(http_server: ServerFactory) -> None:
    server = http_server()
    server.reply(fixture="openai_error_429.json", status=429, headers={"retry-after-ms": "1500"})
    server.reply(
        fixture="openai_error_429.json",
        status=429,
        headers={"retry-after": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))},
    )

    assert attempt(VENDORS[0], server.base_url).retry_after == 1.5
    from_date = attempt(VENDORS[0], server.base_url).retry_after
    assert from_date is not None
    assert 25 <= from_date <= 31


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_500_is_unavailable(http_server: ServerFactory, vendor: Vendor) -> None:
    server = http_server()
    server.reply(fixture=f"{vendor.name.replace('google', 'gemini')}_error_500.json", status=500)

    error = attempt(vendor, server.base_url)

    assert (error.kind, error.status, error.retryable) == ("unavailable", 500, True)


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_auth(http_server: ServerFactory, vendor: Vendor, status: int) -> None:
    server = http_server()
    fixture = {"openai": "openai_error_401.json", "anthropic": "anthropic_error_401.json"}.get(
        vendor.name, "gemini_error_403.json"
    )
    server.reply(fixture=fixture, status=status)

    error = attempt(vendor, server.base_url)

    assert (error.kind, error.status) == ("auth", status)


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_400_is_bad_request_and_not_fallback_worthy(http_server: ServerFactory, vendor: Vendor) -> None:
    server = http_server()
    server.reply(fixture=f"{vendor.name.replace('google', 'gemini')}_error_400.json", status=400)

    error = attempt(vendor, server.base_url)

    assert (error.kind, error.status, error.retryable) == ("bad_request", 400, False)


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, "<html><body>502 Bad Gateway</body></html>"),
        (200, '{"id": "x", "choices": "not a list", "content": 7, "candidates": {"oops": 1}}'),
        (200, ""),
        (200, "[]"),
        (204, ""),
    ],
    ids=["html", "wrong-shape", "empty", "array", "no-content"],
)
def test_garbage_body_is_bad_response(
    http_server: ServerFactory, vendor: Vendor, status: int, body: str
) -> None:
    server = http_server()
    server.reply(body, status=status, headers={"content-type": "text/html"})

    error = attempt(vendor, server.base_url)

    assert error.kind == "bad_response"
    assert error.retryable


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_slow_server_times_out_at_the_request_deadline(http_server: ServerFactory, vendor: Vendor) -> None:
    server = http_server()
    server.reply({}, delay=5.0)
    request = CompletionRequest(messages=[ChatMessage("user", "ping")], timeout_seconds=0.3)

    started = time.monotonic()
    error = attempt(vendor, server.base_url, request)
    elapsed = time.monotonic() - started

    assert (error.kind, error.retryable) == ("timeout", True)
    assert elapsed < 2.0
    assert len(server.requests) == 1


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_connection_refused_is_unavailable(closed_port_url: str, vendor: Vendor) -> None:
    error = attempt(vendor, closed_port_url)

    assert (error.kind, error.status, error.retryable) == ("unavailable", None, True)
