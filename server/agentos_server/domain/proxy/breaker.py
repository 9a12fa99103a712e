"""A circuit breaker per seller endpoint, so a dead endpoint fails fast instead of holding every
buyer's call for the whole deadline.

closed     calls pass; `failures` consecutive failures open the circuit.
open       calls are refused at once (UNAVAILABLE, CIRCUIT_OPEN, RetryInfo = time left) until
           `cooldown` has passed since it opened.
half-open  one probe call passes; the others are refused as if open. The probe's success closes
           the circuit, its failure opens it for another cooldown.

What counts as a failure is the dispatcher's decision (connection errors, timeouts, 5xx, garbage);
a seller refusing bad input (4xx) is a success as far as the endpoint's health goes. The state is
per server process: each replica learns about a dead endpoint on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from agentos_server.domain.errors import Unavailable

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


@dataclass
class _State:
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    probing: bool = False


class CircuitBreakers:
    def __init__(
        self,
        *,
        failures: int,
        cooldown_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_endpoints: int = 10_000,
    ) -> None:
        if failures < 1:
            raise ValueError("failures must be at least 1")
        self._threshold = failures
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._max = max_endpoints
        self._states: dict[str, _State] = {}

    def state(self, endpoint: str) -> str:
        found = self._states.get(endpoint)
        if found is None:
            return CLOSED
        if found.state == OPEN and self._clock() - found.opened_at >= self._cooldown:
            return HALF_OPEN
        return found.state

    def before_call(self, endpoint: str) -> None:
        """Lets a call through, or raises UNAVAILABLE CIRCUIT_OPEN. A call let through must be
        followed by exactly one success() or failure() for the same endpoint."""
        found = self._states.get(endpoint)
        if found is None or found.state == CLOSED:
            return
        now = self._clock()
        remaining = self._cooldown - (now - found.opened_at)
        if found.state == OPEN and remaining <= 0:
            found.state = HALF_OPEN
            found.probing = False
        if found.state == HALF_OPEN and not found.probing:
            found.probing = True
            return
        raise Unavailable(
            f"calls to {endpoint} are suspended after {found.failures} consecutive failures; "
            "the next probe goes through when the cooldown ends",
            reason="CIRCUIT_OPEN",
            metadata={"endpoint": endpoint},
            retry_after_seconds=max(remaining, 0.001),
        )

    def success(self, endpoint: str) -> None:
        found = self._states.get(endpoint)
        if found is not None:
            # Closed and clean is the default: forgetting the entry keeps the map small.
            del self._states[endpoint]

    def failure(self, endpoint: str) -> None:
        found = self._states.get(endpoint)
        if found is None:
            if len(self._states) >= self._max:
                self._states.clear()
            found = self._states[endpoint] = _State()
        found.failures += 1
        if found.state == HALF_OPEN or found.failures >= self._threshold:
            found.state = OPEN
            found.opened_at = self._clock()
            found.probing = False
