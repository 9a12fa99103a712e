"""HTTP to sellers in production mode connects only to the public address it checked.

The host names here do not resolve in DNS (.invalid): a request that reaches the local test server
proves the connection went to the address the resolver gave, not to a second lookup of the name,
which is what DNS rebinding would exploit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agentos_server.infra.seller_http import Address, HttpFailure, SellerHttp


class _PretendPublic(ipaddress.IPv4Address):
    """A loopback address that claims to be global, standing in for a public seller."""

    @property
    def is_global(self) -> bool:
        return True


@pytest.fixture
def seller() -> Iterator[tuple[int, list[str]]]:
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            paths.append(self.path)
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield httpd.server_address[1], paths
    httpd.shutdown()
    httpd.server_close()


def _get(http: SellerHttp, url: str) -> int:
    async def call() -> int:
        try:
            reply = await http.send("GET", url, body=None, query=[], headers={}, timeout=5.0)
            return reply.status
        finally:
            await http.aclose()

    return asyncio.run(call())


def _resolving_to(*addresses: Address) -> Any:
    async def resolve(host: str, port: int) -> list[Address]:
        assert host == "skill.invalid"
        return list(addresses)

    return resolve


def test_the_connection_goes_to_the_address_that_was_checked(seller: tuple[int, list[str]]) -> None:
    port, paths = seller
    http = SellerHttp(
        max_response_bytes=1024, public_only=True, resolver=_resolving_to(_PretendPublic("127.0.0.1"))
    )
    assert _get(http, f"http://skill.invalid:{port}/answer") == 200
    assert paths == ["/answer"]


@pytest.mark.parametrize(
    "addresses",
    [
        (ipaddress.IPv4Address("127.0.0.1"),),
        (ipaddress.IPv4Address("10.1.2.3"),),
        (ipaddress.IPv6Address("::1"),),
        # One private answer among public ones is enough to refuse.
        (_PretendPublic("127.0.0.1"), ipaddress.IPv4Address("169.254.169.254")),
        (),
    ],
)
def test_a_name_that_resolves_to_a_private_address_is_never_connected_to(
    seller: tuple[int, list[str]], addresses: tuple[Address, ...]
) -> None:
    port, paths = seller
    http = SellerHttp(max_response_bytes=1024, public_only=True, resolver=_resolving_to(*addresses))
    with pytest.raises(HttpFailure) as refused:
        _get(http, f"http://skill.invalid:{port}/secret")
    assert refused.value.kind == "connect"
    assert "non-public address" in str(refused.value)
    assert paths == []


def test_outside_production_mode_local_endpoints_are_called(seller: tuple[int, list[str]]) -> None:
    port, paths = seller
    assert _get(SellerHttp(max_response_bytes=1024), f"http://127.0.0.1:{port}/local") == 200
    assert paths == ["/local"]
