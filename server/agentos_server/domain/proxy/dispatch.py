"""The dispatch targets' common contract: one call in, a JSON answer or a classified failure out.

Three targets implement `Dispatcher`: the seller's HTTPS endpoint (infra/dispatch/https.py), a
hosted script in the sandbox (infra/dispatch/script.py) and an agent connected over the agent
channel (domain/proxy/channel.py). Whatever the target, a failure is one of:

| failure                                   | gRPC code          | reason                  | outcome   |
|-------------------------------------------|--------------------|-------------------------|-----------|
| no answer before the deadline             | DEADLINE_EXCEEDED  | UPSTREAM_TIMEOUT        | timed_out |
| seller error (HTTP 5xx, script exit ≠ 0, agent error) | UNAVAILABLE | UPSTREAM_ERROR     | failed    |
| seller refused the input (HTTP 4xx, agent BAD_PAYLOAD) | INVALID_ARGUMENT | UPSTREAM_REJECTED | failed   |
| seller rate-limited us (HTTP 429)         | RESOURCE_EXHAUSTED | UPSTREAM_RATE_LIMITED   | failed    |
| answer not JSON, or too large             | UNAVAILABLE        | UPSTREAM_BAD_RESPONSE   | failed    |
| connection refused / reset                | UNAVAILABLE        | UPSTREAM_UNREACHABLE    | failed    |
| agent disconnected with the call in flight | UNAVAILABLE       | AGENT_DISCONNECTED      | failed    |

Those happen after the call left AgentOS and are recorded as usage (never charged). Refusals
*before* anything is sent — circuit open, no agent connected, endpoint not allowed, sandbox
missing — raise a plain DomainError and leave no record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from agentos_server.domain.errors import (
    DeadlineExceeded,
    DomainError,
    InvalidArgument,
    ResourceExhausted,
    Unavailable,
)
from agentos_server.domain.proxy.operations import PreparedCall

JsonValue = Any
Outcome = Literal["failed", "timed_out"]

HTTPS = "https"
HOSTED_SCRIPT = "hosted_script"
AGENT_CHANNEL = "agent_channel"
TARGETS = (HTTPS, HOSTED_SCRIPT, AGENT_CHANNEL)


@dataclass(frozen=True)
class SkillCall:
    call_id: str
    skill_id: str
    skill_version: str
    seller_id: str
    buyer_id: str
    prepared: PreparedCall
    payload: JsonValue
    # The payload as JSON, exactly the bytes a seller's HTTPS endpoint receives.
    body: bytes
    # The skill's stored endpoint document: {"https_url": ...} | {"hosted_script": {...}} | ...
    endpoint: Mapping[str, Any]
    # Absolute deadline on the event loop's clock (loop.time()).
    deadline: float

    @property
    def operation(self) -> str:
        return self.prepared.operation


@dataclass(frozen=True)
class Answer:
    value: JsonValue
    response_bytes: int


class CallFailed(Exception):
    """The call reached the seller (or may have) and did not succeed: recorded, not charged."""

    def __init__(self, outcome: Outcome, error: DomainError, response_bytes: int = 0) -> None:
        super().__init__(error.message)
        self.outcome: Outcome = outcome
        self.error = error
        self.response_bytes = response_bytes

    def __repr__(self) -> str:
        return f"CallFailed({self.outcome}, {self.error!r})"


class Dispatcher(Protocol):
    async def dispatch(self, call: SkillCall) -> Answer:
        """The seller's answer; CallFailed after the call may have reached the seller; a
        DomainError for a refusal before anything was sent."""
        ...


def timed_out(message: str, response_bytes: int = 0) -> CallFailed:
    return CallFailed("timed_out", DeadlineExceeded(message, reason="UPSTREAM_TIMEOUT"), response_bytes)


def upstream_error(message: str, *, response_bytes: int = 0, **metadata: str) -> CallFailed:
    return CallFailed(
        "failed", Unavailable(message, reason="UPSTREAM_ERROR", metadata=metadata), response_bytes
    )


def upstream_rejected(message: str, *, response_bytes: int = 0, **metadata: str) -> CallFailed:
    return CallFailed(
        "failed", InvalidArgument(message, reason="UPSTREAM_REJECTED", metadata=metadata), response_bytes
    )


def upstream_rate_limited(message: str, retry_after: float | None, response_bytes: int = 0) -> CallFailed:
    return CallFailed(
        "failed",
        ResourceExhausted(message, reason="UPSTREAM_RATE_LIMITED", retry_after_seconds=retry_after),
        response_bytes,
    )


def bad_response(message: str, response_bytes: int = 0) -> CallFailed:
    return CallFailed("failed", Unavailable(message, reason="UPSTREAM_BAD_RESPONSE"), response_bytes)


def unreachable(message: str, reason: str = "UPSTREAM_UNREACHABLE") -> CallFailed:
    return CallFailed("failed", Unavailable(message, reason=reason))
