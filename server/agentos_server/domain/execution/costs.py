"""What a run costs, in execution credits (asset CREDIT, whole credits).

* Model calls: the provider cost in micro-USD (from the catalogue's list prices, as the router
  reports it) converted at `credit_usd_micros` per credit, rounded up per call. The built-in model
  is free, so its stages cost 0 credits.
* Scripts: `script_credits_per_second` per started second of wall time, per attempt (a 30 ms
  script costs one second's worth).
* A run costs at least `minimum_run_credits`, whatever its stages cost.
* The hold taken before a run starts is `limits.max_credits` when the definition sets it, otherwise
  an upper bound computed from the definition: every stage at its timeout, every model call at
  `hold_prompt_tokens` prompt tokens plus its max_tokens answer at the dearest model it may route
  to, every retry included. A run whose cost reaches its hold is stopped and fails, so the capture
  never exceeds the hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agentos_server.domain.daemon_spec import DaemonSpec, StageSpec


@dataclass(frozen=True)
class ModelPrice:
    input_price_per_mtok: int
    output_price_per_mtok: int


# The models a stage may be answered by, for pricing its hold; empty when none is known.
PriceLookup = Callable[[StageSpec], Sequence[ModelPrice]]

_TOKENS_PER_MTOK = 1_000_000


@dataclass(frozen=True)
class CostModel:
    credit_usd_micros: int = 10_000
    script_credits_per_second: int = 1
    minimum_run_credits: int = 1
    hold_prompt_tokens: int = 8_000

    def model_credits(self, usd_micros: int) -> int:
        return -(-usd_micros // self.credit_usd_micros) if usd_micros > 0 else 0

    def script_credits(self, duration_ms: int) -> int:
        if duration_ms <= 0:
            return 0
        return math.ceil(duration_ms / 1000) * self.script_credits_per_second

    def run_credits(self, stage_credits: int) -> int:
        return max(stage_credits, self.minimum_run_credits)

    def max_run_credits(self, spec: DaemonSpec, prices: PriceLookup) -> int:
        """The hold for a run of `spec`: its declared limit, or the bound described above."""
        if spec.max_credits is not None:
            return max(int(spec.max_credits), self.minimum_run_credits)
        total = 0
        for stage in spec.stages:
            tries = 1 + stage.retries
            per_try = 0
            if stage.kind in ("script", "hybrid"):
                per_try += stage.timeout_seconds * self.script_credits_per_second
            if stage.kind in ("agent", "hybrid"):
                per_try += self._dearest_call(stage, prices(stage))
            total += tries * per_try
        return max(total, self.minimum_run_credits)

    def _dearest_call(self, stage: StageSpec, models: Sequence[ModelPrice]) -> int:
        usd = 0
        for model in models:
            numerator = (
                self.hold_prompt_tokens * model.input_price_per_mtok
                + stage.max_tokens * model.output_price_per_mtok
            )
            usd = max(usd, -(-numerator // _TOKENS_PER_MTOK))
        return self.model_credits(usd)
