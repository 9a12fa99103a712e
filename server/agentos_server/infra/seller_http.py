"""HTTP to sellers' skill endpoints: one pooled httpx.AsyncClient for the whole process.

This module only moves bytes and says what went wrong in transport terms; what a status or a
failure means for the call (retry, breaker, error code) is decided by domain/proxy/targets.py.
Redirects are never followed (a redirect could point the proxy at an internal host), proxies from
the environment are ignored, cookies are never kept, and an answer is read only up to the
configured size. With `public_only` (production mode) the connection itself resolves the host and
connects to the address it checked, so a name that answers a public address to a check and a
private one to the connect (DNS rebinding) still cannot reach an internal host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Literal

import httpcore
import httpx

FailureKind = Literal["connect", "timeout", "transport"]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[Address]]]


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes
    # Bytes received, including any beyond the size cap (which were not kept).
    size: int
    # True when the body was larger than the cap; `body` is then incomplete.
    too_large: bool
    retry_after: float | None


class HttpFailure(Exception):
    """No HTTP answer. `connect`: nothing was sent (refused, unresolvable, pool exhausted);
    `timeout`: the deadline passed; `transport`: the exchange broke after the request may have
    been sent."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date; rare from APIs, and a guess is worse than none
    return seconds if seconds >= 0 else None


class SellerHttp:
    def __init__(
        self,
        *,
        max_response_bytes: int,
        max_connections: int = 512,
        public_only: bool = False,
        resolver: Resolver | None = None,
    ) -> None:
        self._max = max_response_bytes
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=128)
        transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
        if public_only:
            transport = _public_only(transport, limits, resolver or resolve_addresses)
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            # Every request carries its own timeout: what is left of the call's deadline.
            timeout=None,  # noqa: S113
            headers={"user-agent": "AgentOS-skill-proxy/1"},
            # One client serves every buyer: a cookie a seller sets must not ride along with the
            # next call, which may be another buyer's.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )

    async def send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        timeout: float,  # noqa: ASYNC109  (the caller's remaining deadline, also given to httpx)
    ) -> HttpReply:
        if timeout <= 0:
            raise HttpFailure("timeout", "no time left before the deadline")
        request = self._client.build_request(
            method,
            url,
            params=list(query) or None,
            content=body,
            headers=dict(headers),
            # Reads and writes are bounded by the asyncio.timeout below, which covers the whole
            # exchange; a per-operation timeout in httpx would arm and disarm a timer for every
            # socket write and read (a tenth of the proxy's CPU per call).
            timeout=httpx.Timeout(None, connect=timeout, pool=timeout),
        )
        try:
            # httpx's timeout bounds each phase (connect, each read); this bounds the whole exchange.
            async with asyncio.timeout(timeout):
                response = await self._client.send(request, stream=True)
                try:
                    chunks: list[bytes] = []
                    size = 0
                    too_large = False
                    async for chunk in response.aiter_raw():
                        size += len(chunk)
                        if size > self._max:
                            too_large = True
                            break
                        chunks.append(chunk)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise HttpFailure("timeout", f"no answer within {timeout:.3f} s") from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise HttpFailure("connect", f"cannot connect: {error or type(error).__name__}") from None
        except httpx.TimeoutException:
            raise HttpFailure("timeout", f"no answer within {timeout:.3f} s") from None
        except httpx.HTTPError as error:
            raise HttpFailure("transport", f"{type(error).__name__}: {error}") from None
        return HttpReply(
            response.status_code,
            b"".join(chunks),
            size,
            too_large,
            _retry_after(response.headers.get("retry-after")),
        )

    async def aclose(self) -> None:
        await self._client.aclose()


async def resolve_addresses(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


class PublicAddressesOnly(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to global addresses. The host is resolved here and the
    connection made to the address that was checked; TLS still verifies the certificate against
    the host name (httpcore passes the request's host as the server name)."""

    def __init__(self, resolver: Resolver, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._resolve = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._resolve(host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"{host} does not resolve: {error}") from None
        private = [str(a) for a in addresses if not a.is_global]
        if private or not addresses:
            raise httpcore.ConnectError(
                f"{host} resolves to a non-public address ({', '.join(private) or 'none'}); "
                "only public endpoints are called"
            )
        return await self._inner.connect_tcp(
            str(addresses[0]),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("a unix socket is not a skill endpoint")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _public_only(
    transport: httpx.AsyncHTTPTransport, limits: httpx.Limits, resolver: Resolver
) -> httpx.AsyncHTTPTransport:
    # httpx (pinned in pyproject.toml) takes no network backend, so the transport's connection
    # pool is replaced by one built the same way with the checking backend.
    old = transport._pool
    assert isinstance(old, httpcore.AsyncConnectionPool), "httpx changed how it builds its pool"
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=old._ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PublicAddressesOnly(resolver),
    )
    return transport
