"""The vocabulary shared by the router and every provider adapter.

Amounts of money are integer micro-dollars (1 USD = 1_000_000), the same rule the ledger follows: a
float never touches a price or a cost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]
Strategy = Literal["explicit", "cheapest", "fastest"]
ErrorKind = Literal["rate_limited", "timeout", "unavailable", "auth", "bad_request", "bad_response"]
AttemptOutcome = Literal["ok", "error", "timeout", "rate_limited"]

# Finish reasons are normalised across providers so a daemon stage can tell a truncated answer from
# a complete one without knowing who produced it. Anything else is passed through lower-cased.
FINISH_STOP = "stop"
FINISH_LENGTH = "length"
FINISH_CONTENT_FILTER = "content_filter"
FINISH_TOOL_CALLS = "tool_calls"

MICROS_PER_USD = 1_000_000
TOKENS_PER_MTOK = 1_000_000


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class CompletionRequest:
    messages: Sequence[ChatMessage]
    model: str | None = None
    capability: str | None = None
    strategy: Strategy = "explicit"
    max_output_tokens: int = 1024
    temperature: float = 0.0
    json_output: bool = False
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class CompletionResult:
    text: str
    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    cost_usd_micros: int
    latency_ms: int
    finish_reason: str


@dataclass(frozen=True)
class ModelInfo:
    id: str
    provider: str
    capabilities: frozenset[str]
    input_price_per_mtok: int
    output_price_per_mtok: int
    context_window: int
    upstream_id: str = ""

    @property
    def wire_id(self) -> str:
        """The name the provider itself knows the model by."""
        return self.upstream_id or self.id

    def cost_usd_micros(self, input_tokens: int, output_tokens: int) -> int:
        """Cost of one call, rounded up to the next micro-dollar.

        Rounding up means the platform never bills less than the provider charged it; the most a
        caller can overpay is one micro-dollar per call.
        """
        numerator = input_tokens * self.input_price_per_mtok + output_tokens * self.output_price_per_mtok
        return -(-numerator // TOKENS_PER_MTOK)

    @property
    def blended_price_per_mtok(self) -> int:
        # Prompts are usually several times longer than answers; a 3:1 input:output mix is the
        # common convention for comparing models by one number.
        return (3 * self.input_price_per_mtok + self.output_price_per_mtok) // 4


_RETRYABLE_KINDS: frozenset[str] = frozenset(
    {"rate_limited", "timeout", "unavailable", "auth", "bad_response"}
)


class ProviderError(Exception):
    """A failed model call, classified so the router knows whether another candidate may succeed.

    ``retryable`` means "worth falling back to another candidate", not "send the same request to the
    same model again": an auth failure is fallback-worthy (another provider has another key) while a
    bad request is not (every model would reject it the same way).
    """

    kind: ErrorKind
    retryable: bool
    status: int | None
    retry_after: float | None
    provider: str

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        provider: str = "",
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.provider = provider
        self.retryable = kind in _RETRYABLE_KINDS if retryable is None else retryable

    def __repr__(self) -> str:
        return (
            f"ProviderError(kind={self.kind!r}, status={self.status!r}, provider={self.provider!r}, "
            f"message={self.message!r})"
        )


@dataclass(frozen=True)
class ProviderCredentials:
    api_key: str
    base_url: str | None = None

    def __repr__(self) -> str:
        # Credentials end up in tracebacks and debug logs; the key itself must not.
        return f"ProviderCredentials(api_key=<redacted>, base_url={self.base_url!r})"


class ModelProvider(Protocol):
    name: str

    async def complete(
        self, model: ModelInfo, request: CompletionRequest, credentials: ProviderCredentials | None
    ) -> CompletionResult: ...


@runtime_checkable
class ClosableProvider(Protocol):
    async def aclose(self) -> None: ...


CredentialResolver = Callable[[str], Awaitable[ProviderCredentials | None]]


@dataclass(frozen=True)
class Attempt:
    provider: str
    model: str
    outcome: AttemptOutcome
    error: str
    latency_ms: int
