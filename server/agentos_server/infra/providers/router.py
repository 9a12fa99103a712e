"""Choose a model for a request, call it, and fall back along a candidate list when it fails.

Rules (also in docs/providers.md):

* **Requirements.** A candidate must have ``request.capability`` (if given) and ``json`` (if
  ``json_output``).
* **Explicit model.** ``request.model`` is tried first, whatever the strategy; it must meet the
  requirements itself. Fallbacks must also cover every capability of the named model (so a
  long-context request never falls back to a short-context model) and are ordered by how close
  their blended price is to the named model's, as a proxy for the same class of model.
* **Cheapest.** Candidates by blended price (3:1 input:output), then input price, then id.
* **Fastest.** Candidates by observed latency (an exponentially weighted moving average of real
  calls, timeouts included at their elapsed time); models never observed sort after observed ones,
  cheapest first among them. ``"explicit"`` without a model routes as cheapest.
* **Credentials.** The resolver is asked once per provider per request; a provider with no
  credentials is skipped. The builtin provider needs none.
* **The builtin model is never a stand-in for a real one.** It is a candidate only when named, or
  when no networked candidate has credentials (offline use).
* **Fallback.** Rate limits, timeouts, outages, auth failures and garbage answers move on to the next
  candidate; an auth failure also skips the provider's remaining models (same key). A bad request
  stops at once: every model would reject it. Every call is reported through ``on_attempt``.
* **Deadlines.** ``timeout_seconds`` bounds each attempt; wrap the call in ``asyncio.timeout`` to
  bound the whole fallback chain.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from .builtin import BUILTIN_PROVIDER
from .types import (
    Attempt,
    AttemptOutcome,
    ClosableProvider,
    CompletionRequest,
    CompletionResult,
    CredentialResolver,
    ErrorKind,
    ModelInfo,
    ModelProvider,
    ProviderCredentials,
    ProviderError,
)

AttemptCallback = Callable[[Attempt], Awaitable[None]]

_OUTCOME_FOR_KIND: dict[str, AttemptOutcome] = {"timeout": "timeout", "rate_limited": "rate_limited"}


class ModelRouter:
    def __init__(
        self,
        catalogue: Sequence[ModelInfo],
        providers: Mapping[str, ModelProvider],
        *,
        clock: Callable[[], float] = time.monotonic,
        latency_smoothing: float = 0.3,
    ) -> None:
        if not 0.0 < latency_smoothing <= 1.0:
            raise ValueError("latency_smoothing must be in (0, 1]")
        by_id: dict[str, ModelInfo] = {}
        for model in catalogue:
            if model.id in by_id:
                raise ValueError(f"model id {model.id!r} appears twice in the catalogue")
            if model.provider not in providers:
                # Fail at start-up rather than on the first request that happens to route there.
                raise ValueError(
                    f"model {model.id!r} names provider {model.provider!r}, which is not registered"
                )
            by_id[model.id] = model
        self._catalogue = list(catalogue)
        self._by_id = by_id
        self._providers = dict(providers)
        self._clock = clock
        self._alpha = latency_smoothing
        self._latency_ms: dict[str, float] = {}

    # --- introspection ---------------------------------------------------------------------------

    def models(self, capability: str | None = None) -> list[ModelInfo]:
        """Catalogue models, in catalogue order, optionally only those with ``capability``."""
        return [m for m in self._catalogue if capability is None or capability in m.capabilities]

    def model(self, model_id: str) -> ModelInfo | None:
        return self._by_id.get(model_id)

    def observed_latency_ms(self, model_id: str) -> float | None:
        return self._latency_ms.get(model_id)

    def observe_latency(self, model_id: str, latency_ms: float) -> None:
        """Feed one observed call duration into the model's moving average.

        Public so that a replica can be warmed from metrics persisted by others.
        """
        previous = self._latency_ms.get(model_id)
        self._latency_ms[model_id] = (
            latency_ms if previous is None else previous + self._alpha * (latency_ms - previous)
        )

    async def aclose(self) -> None:
        for provider in self._providers.values():
            if isinstance(provider, ClosableProvider):
                await provider.aclose()

    # --- routing ---------------------------------------------------------------------------------

    def candidates(self, request: CompletionRequest) -> list[ModelInfo]:
        """Every model that may serve ``request``, in the order they would be tried.

        Credentials are not considered here; builtin models are included only when named.
        """
        _validate(request)
        required = _required_capabilities(request)
        strategy = request.strategy
        primary: ModelInfo | None = None
        if request.model is not None:
            primary = self._by_id.get(request.model)
            if primary is None:
                raise ProviderError("bad_request", f"unknown model {request.model!r}", retryable=False)
            lacking = required - primary.capabilities
            if lacking:
                raise ProviderError(
                    "bad_request",
                    f"model {primary.id!r} lacks capability {', '.join(sorted(lacking))}",
                    retryable=False,
                )
            required = required | primary.capabilities
        elif strategy == "explicit":
            strategy = "cheapest"

        others = [
            m
            for m in self._catalogue
            if m is not primary and required <= m.capabilities and m.provider != BUILTIN_PROVIDER
        ]
        if strategy == "fastest":
            others.sort(key=self._fastest_key)
        elif strategy == "explicit" and primary is not None:
            anchor = primary.blended_price_per_mtok
            others.sort(
                key=lambda m: (abs(m.blended_price_per_mtok - anchor), m.blended_price_per_mtok, m.id)
            )
        else:
            others.sort(key=_cheapest_key)
        return ([primary] if primary is not None else []) + others

    def _offline_candidates(self, request: CompletionRequest) -> list[ModelInfo]:
        required = _required_capabilities(request)
        return sorted(
            (m for m in self._catalogue if m.provider == BUILTIN_PROVIDER and required <= m.capabilities),
            key=_cheapest_key,
        )

    def _fastest_key(self, model: ModelInfo) -> tuple[int, float, int, str]:
        observed = self._latency_ms.get(model.id)
        return (observed is None, observed or 0.0, model.blended_price_per_mtok, model.id)

    async def complete(
        self,
        request: CompletionRequest,
        credentials: CredentialResolver,
        *,
        on_attempt: AttemptCallback | None = None,
    ) -> CompletionResult:
        ordered = self.candidates(request)
        offline = self._offline_candidates(request) if request.model is None else []
        if not ordered and not offline:
            wanted = ", ".join(sorted(_required_capabilities(request))) or "any capability"
            raise ProviderError("bad_request", f"no model offers {wanted}", retryable=False)

        resolved: dict[str, ProviderCredentials | None] = {}
        failures: list[tuple[Attempt, ProviderError]] = []
        dead_providers: set[str] = set()
        attempted = False
        for model in ordered:
            if model.provider in dead_providers:
                continue
            creds: ProviderCredentials | None = None
            if model.provider != BUILTIN_PROVIDER:
                # Resolved lazily: a key lookup may hit the database and decrypt, so providers the
                # request never reaches are never asked.
                if model.provider not in resolved:
                    resolved[model.provider] = await credentials(model.provider)
                creds = resolved[model.provider]
                if creds is None:
                    continue
            attempted = True
            outcome = await self._attempt(model, creds, request, on_attempt)
            if isinstance(outcome, CompletionResult):
                return outcome
            failures.append(outcome)
            if outcome[1].kind == "auth":
                dead_providers.add(model.provider)

        if not attempted:
            for model in offline:
                outcome = await self._attempt(model, None, request, on_attempt)
                if isinstance(outcome, CompletionResult):
                    return outcome
                failures.append(outcome)
        if not failures:
            missing = ", ".join(sorted({m.provider for m in ordered}))
            raise ProviderError(
                "auth", f"no credentials configured for any candidate provider ({missing})", retryable=False
            )
        raise _exhausted(failures)

    async def _attempt(
        self,
        model: ModelInfo,
        creds: ProviderCredentials | None,
        request: CompletionRequest,
        on_attempt: AttemptCallback | None,
    ) -> CompletionResult | tuple[Attempt, ProviderError]:
        """One call; a fallback-worthy failure is returned, a final one raised."""
        provider = self._providers[model.provider]
        started = self._clock()
        try:
            result = await provider.complete(model, request, creds)
        except ProviderError as error:
            elapsed_ms = _elapsed_ms(started, self._clock())
            if error.kind == "timeout":
                # A timeout is a lower bound on the model's latency; ignoring it would keep a hung
                # model at the top of the "fastest" ranking.
                self.observe_latency(model.id, elapsed_ms)
            attempt = Attempt(
                provider=model.provider,
                model=model.id,
                outcome=_OUTCOME_FOR_KIND.get(error.kind, "error"),
                error=f"{error.kind}: {error}",
                latency_ms=elapsed_ms,
            )
            if on_attempt is not None:
                await on_attempt(attempt)
            if not error.retryable:
                raise
            return attempt, error
        elapsed_ms = _elapsed_ms(started, self._clock())
        self.observe_latency(model.id, elapsed_ms)
        if on_attempt is not None:
            await on_attempt(
                Attempt(
                    provider=model.provider, model=model.id, outcome="ok", error="", latency_ms=elapsed_ms
                )
            )
        return dataclasses.replace(result, latency_ms=elapsed_ms)


def _validate(request: CompletionRequest) -> None:
    problems = []
    if not request.messages:
        problems.append("messages must not be empty")
    if request.max_output_tokens <= 0:
        problems.append("max_output_tokens must be positive")
    if request.timeout_seconds <= 0:
        problems.append("timeout_seconds must be positive")
    if request.strategy not in ("explicit", "cheapest", "fastest"):
        problems.append(f"unknown strategy {request.strategy!r}")
    if problems:
        raise ProviderError("bad_request", "; ".join(problems), retryable=False)


def _required_capabilities(request: CompletionRequest) -> frozenset[str]:
    required = set()
    if request.capability:
        required.add(request.capability)
    if request.json_output:
        required.add("json")
    return frozenset(required)


def _cheapest_key(model: ModelInfo) -> tuple[int, int, str]:
    return (model.blended_price_per_mtok, model.input_price_per_mtok, model.id)


def _elapsed_ms(started: float, now: float) -> int:
    return max(0, round((now - started) * 1000))


def _exhausted(attempts: list[tuple[Attempt, ProviderError]]) -> ProviderError:
    kinds = {error.kind for _, error in attempts}
    kind: ErrorKind = next(iter(kinds)) if len(kinds) == 1 else "unavailable"
    waits = [e.retry_after for _, e in attempts if e.kind == "rate_limited" and e.retry_after is not None]
    detail = "; ".join(f"{a.provider}/{a.model}: {a.error}" for a, _ in attempts)
    count = len(attempts)
    return ProviderError(
        kind,
        f"all {count} candidate{'s' if count != 1 else ''} failed: {detail}",
        retry_after=min(waits) if waits else None,
        provider=attempts[-1][0].provider if attempts else "",
    )
