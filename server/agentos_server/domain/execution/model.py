"""The vocabulary of runs: states, costs and what one stage attempt produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

RunState = Literal["queued", "running", "succeeded", "failed", "timed_out", "cancelled"]
StageState = Literal["pending", "running", "succeeded", "failed", "timed_out", "cancelled", "skipped"]

QUEUED: RunState = "queued"
RUNNING: RunState = "running"
SUCCEEDED: RunState = "succeeded"
FAILED: RunState = "failed"
TIMED_OUT: RunState = "timed_out"
CANCELLED: RunState = "cancelled"

RUN_STATES: tuple[RunState, ...] = (QUEUED, RUNNING, SUCCEEDED, FAILED, TIMED_OUT, CANCELLED)
FINAL_STATES: frozenset[str] = frozenset({SUCCEEDED, FAILED, TIMED_OUT, CANCELLED})

# A JSON value; text outputs are strings.
Json = Any


@dataclass(frozen=True)
class Cost:
    input_tokens: int = 0
    output_tokens: int = 0
    credits: int = 0
    usd_micros: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.credits + other.credits,
            self.usd_micros + other.usd_micros,
        )

    def as_data(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "credits": self.credits,
            "usd_micros": self.usd_micros,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Cost:
        return cls(
            int(data.get("input_tokens", 0)),
            int(data.get("output_tokens", 0)),
            int(data.get("credits", 0)),
            int(data.get("usd_micros", 0)),
        )


@dataclass
class StageProgress:
    """What one stage has done so far, across its attempts; read by the scheduler when the stage
    is interrupted, so that a killed stage still reports what it cost."""

    attempt: int = 0
    cost: Cost = field(default_factory=Cost)
    model: str = ""
    exit_code: int | None = None


@dataclass(frozen=True)
class AttemptResult:
    """The end of one attempt of one stage."""

    state: StageState
    output: Json = None
    has_output: bool = False
    error: str = ""
    # False when trying again cannot help (a missing feature, a definition that cannot be filled in).
    retryable: bool = True
