"""Two dispatch targets: the seller's HTTPS endpoint and a hosted script in the sandbox.
(The third, an agent on the agent channel, is domain/proxy/channel.py.)

HTTPS. The operation's path is appended to the skill's base URL; the payload is the JSON body (or,
for an operation without one, its parameters went into the path and query string). Headers tell
the seller who is calling: x-agentos-call-id, x-agentos-buyer, x-agentos-skill
("skills/{id}@{version}") and x-agentos-deadline-ms (milliseconds left). Retries, with exponential
backoff and jitter inside the deadline, only where repeating cannot do something twice: a
connection that failed before anything was sent (any method), and for idempotent methods (GET,
HEAD, OPTIONS, PUT, DELETE) a broken exchange or a 502/503/504. Each endpoint (scheme, host, port)
has a circuit breaker. In production mode the URL must be https:// and its host must resolve only
to public addresses (no loopback, private, link-local or reserved ranges); the resolution is
cached for a minute, so a host that re-resolves to an internal address in between is not caught
(see README, "Skill proxy").

Hosted script. The skill's script runs in the sandbox with {"operation", "payload"} as JSON on
stdin, no network, an empty scratch directory, and the earlier of its own timeout and the call's
deadline; its stdout must be one JSON value. A non-zero exit is UPSTREAM_ERROR (the exit code is
in the error's metadata; stderr is not passed on, it is the seller's business).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agentos_server.domain.errors import FailedPrecondition, Unavailable
from agentos_server.domain.proxy.breaker import CircuitBreakers
from agentos_server.domain.proxy.dispatch import (
    Answer,
    SkillCall,
    bad_response,
    timed_out,
    unreachable,
    upstream_error,
    upstream_rate_limited,
    upstream_rejected,
)
from agentos_server.infra.sandbox import Sandbox, SandboxLimits, SandboxUnavailable, ScriptSpec
from agentos_server.infra.seller_http import HttpFailure, HttpReply, SellerHttp, resolve_addresses

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_RETRY_STATUSES = frozenset({502, 503, 504})
_BACKOFF_BASE = 0.05
_BACKOFF_CAP = 1.0
_ADDRESS_CACHE_SECONDS = 60.0
_SNIPPET = 300

Resolver = Callable[[str, int], Awaitable[list[Any]]]


def _snippet(body: bytes) -> str:
    """The seller's own explanation of a refusal, short and printable."""
    text = body[:4096].decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        for key in ("message", "error", "detail", "title"):
            value = parsed.get(key)
            if isinstance(value, str):
                text = value
                break
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                text = value["message"]
                break
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return cleaned[:_SNIPPET]


def parse_json_answer(body: bytes, size: int, *, allow_empty: bool = True) -> Answer:
    """The answer's JSON; an empty body (HTTP 204) is null where allowed."""
    if not body.strip():
        if allow_empty:
            return Answer(None, size)
        raise bad_response("the skill's answer is empty, not JSON", size)
    try:
        return Answer(json.loads(body), size)
    except (ValueError, UnicodeDecodeError):
        raise bad_response("the skill's answer is not JSON", size) from None


class HttpsTarget:
    def __init__(
        self,
        http: SellerHttp,
        breakers: CircuitBreakers,
        *,
        retries: int,
        production: bool,
        resolver: Resolver = resolve_addresses,
    ) -> None:
        self._http = http
        self._breakers = breakers
        self._retries = retries
        self._production = production
        self._resolve = resolver
        self._public_hosts: dict[tuple[str, int], float] = {}

    async def _require_public(self, host: str, port: int) -> None:
        key = (host, port)
        checked = self._public_hosts.get(key)
        if checked is not None and time.monotonic() - checked < _ADDRESS_CACHE_SECONDS:
            return
        try:
            addresses = await self._resolve(host, port)
        except OSError as error:
            raise Unavailable(
                f"the skill's endpoint host {host} does not resolve: {error}", reason="UPSTREAM_UNREACHABLE"
            ) from None
        private = [str(a) for a in addresses if not a.is_global]
        if private or not addresses:
            raise FailedPrecondition(
                f"the skill's endpoint host {host} resolves to a non-public address "
                f"({', '.join(private) or 'none'}); production mode calls only public endpoints",
                reason="ENDPOINT_NOT_PUBLIC",
            )
        if len(self._public_hosts) > 10_000:
            self._public_hosts.clear()
        self._public_hosts[key] = time.monotonic()

    async def dispatch(self, call: SkillCall) -> Answer:
        base = str(call.endpoint.get("https_url", ""))
        parts = urlsplit(base)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if self._production:
            if parts.scheme != "https":
                raise FailedPrecondition(
                    f"the skill's endpoint {parts.scheme}://{host} is not HTTPS; production mode calls "
                    "only https:// endpoints",
                    reason="INSECURE_ENDPOINT",
                )
            await self._require_public(host, port)
        origin = f"{parts.scheme}://{host}:{port}"
        prepared = call.prepared
        url = base.rstrip("/") + prepared.path
        loop = asyncio.get_running_loop()
        headers = {
            "accept": "application/json",
            "x-agentos-call-id": call.call_id,
            "x-agentos-buyer": f"agents/{call.buyer_id}",
            "x-agentos-skill": f"skills/{call.skill_id}@{call.skill_version}",
            "x-agentos-deadline-ms": str(max(0, int((call.deadline - loop.time()) * 1000))),
        }
        if prepared.has_body:
            headers["content-type"] = "application/json"
        idempotent = prepared.method in IDEMPOTENT_METHODS

        self._breakers.before_call(origin)
        attempt = 0
        while True:
            try:
                reply = await self._http.send(
                    prepared.method,
                    url,
                    body=call.body if prepared.has_body else None,
                    query=prepared.query,
                    headers=headers,
                    timeout=call.deadline - loop.time(),
                )
            except HttpFailure as failure:
                safe = failure.kind == "connect" or (idempotent and failure.kind == "transport")
                if safe and attempt < self._retries and await _backoff(attempt, call.deadline):
                    attempt += 1
                    continue
                self._breakers.failure(origin)
                if failure.kind == "timeout":
                    raise timed_out(
                        f"the skill's endpoint did not answer before the deadline ({failure})"
                    ) from None
                if failure.kind == "connect":
                    raise unreachable(f"the skill's endpoint cannot be reached: {failure}") from None
                raise upstream_error(f"the exchange with the skill's endpoint broke: {failure}") from None
            if (
                reply.status in _RETRY_STATUSES
                and idempotent
                and attempt < self._retries
                and await _backoff(attempt, call.deadline)
            ):
                attempt += 1
                continue
            return self._answer(origin, reply)

    def _answer(self, origin: str, reply: HttpReply) -> Answer:
        status = reply.status
        if 200 <= status < 300:
            if reply.too_large:
                self._breakers.failure(origin)
                raise bad_response("the skill's answer is larger than this server accepts", reply.size)
            try:
                answer = parse_json_answer(reply.body, reply.size)
            except Exception:
                self._breakers.failure(origin)
                raise
            self._breakers.success(origin)
            return answer
        if status == 429:
            self._breakers.success(origin)
            raise upstream_rate_limited(
                "the skill's endpoint is rate limiting calls", reply.retry_after, reply.size
            )
        if 400 <= status < 500:
            # The endpoint is healthy; it refused this input.
            self._breakers.success(origin)
            detail = _snippet(reply.body)
            raise upstream_rejected(
                f"the skill refused the call (HTTP {status})" + (f": {detail}" if detail else ""),
                response_bytes=reply.size,
                http_status=str(status),
            )
        self._breakers.failure(origin)
        if 300 <= status < 400:
            raise upstream_error(
                f"the skill's endpoint answered a redirect (HTTP {status}); redirects are not followed",
                response_bytes=reply.size,
                http_status=str(status),
            )
        raise upstream_error(
            f"the skill's endpoint failed (HTTP {status})", response_bytes=reply.size, http_status=str(status)
        )


async def _backoff(attempt: int, deadline: float) -> bool:
    """Sleeps before retry number `attempt + 1`; False when that would leave no time for it."""
    delay = min(_BACKOFF_BASE * (2**attempt), _BACKOFF_CAP) * random.uniform(0.5, 1.0)
    loop = asyncio.get_running_loop()
    if loop.time() + delay >= deadline:
        return False
    await asyncio.sleep(delay)
    return True


class ScriptTarget:
    def __init__(self, sandbox: Callable[[], Sandbox], *, max_output_bytes: int) -> None:
        self._sandbox = sandbox
        self._max_output = max_output_bytes

    async def dispatch(self, call: SkillCall) -> Answer:
        script = call.endpoint.get("hosted_script") or {}
        try:
            sandbox = self._sandbox()
        except SandboxUnavailable as error:
            raise Unavailable(
                f"hosted scripts cannot run on this server: {error}", reason="SANDBOX_UNAVAILABLE"
            ) from None
        loop = asyncio.get_running_loop()
        remaining = call.deadline - loop.time()
        own_limit = float(script.get("timeout_seconds") or 30)
        wall = min(own_limit, remaining)
        if wall <= 0:
            raise timed_out("no time was left to run the skill's script")
        stdin = json.dumps(
            {"operation": call.operation, "payload": call.payload}, separators=(",", ":")
        ).encode()
        # A fresh directory in the system temporary directory: every directory above it must be
        # searchable by the sandbox's uid when the server runs as root (docs/sandbox.md).
        workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="agentos-skill-call-"))
        try:
            result = await sandbox.run(
                ScriptSpec(
                    runtime=script.get("runtime", "python"),
                    source=str(script.get("source", "")),
                    workdir=workdir,
                    stdin=stdin,
                    limits=SandboxLimits(
                        wall_clock_seconds=wall,
                        cpu_seconds=max(1, math.ceil(wall)),
                        max_output_bytes=self._max_output,
                    ),
                )
            )
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)
        size = len(result.stdout)
        if result.outcome == "failed_to_start":
            raise Unavailable(
                f"the skill's script could not be started: {result.detail}", reason="SANDBOX_UNAVAILABLE"
            )
        if result.outcome == "timed_out":
            if own_limit < remaining:
                raise timed_out(f"the skill's script ran past its own limit of {own_limit:g} s", size)
            raise timed_out("the skill's script did not finish before the deadline", size)
        if result.outcome == "output_limit" or result.stdout_truncated:
            raise bad_response("the skill's script wrote more than this server accepts", size)
        if result.outcome == "cancelled":
            raise upstream_error("the skill's script was cancelled", response_bytes=size)
        if result.exit_code != 0:
            raise upstream_error(
                f"the skill's script failed with exit code {result.exit_code}",
                response_bytes=size,
                exit_code=str(result.exit_code),
            )
        return parse_json_answer(result.stdout, size, allow_empty=False)
