"""Subscription tiers: monthly price, monthly execution credits, API call quota and burst limit.

Defaults combine the two seeds: the AI OS tiers (free 100 credits a month, pro 2,000 credits at
$29, enterprise unlimited) and the PerkOS Stack API tiers (10,000 / 100,000 / 1,000,000 calls a
month, enterprise unlimited). PerkOS lists Pro at $49 for API access alone; AgentOS sells one Pro
tier at the AI OS price of $29. The scale tier's 25,000 credits are our choice ($250 of credits at
the default rate inside its $299). Burst limits are ours too. Enterprise is priced by contract,
so only an operator can move an agent onto it, and its price here is zero.
AGENTOS_TIERS (JSON) overrides any field of any tier.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

FREE = "free"
PRO = "pro"
SCALE = "scale"
ENTERPRISE = "enterprise"
TIER_CODES = (FREE, PRO, SCALE, ENTERPRISE)


@dataclass(frozen=True)
class Tier:
    code: str
    display_name: str
    # USDC atomic units charged for each month.
    monthly_price: int
    monthly_credits: int
    unlimited_credits: bool
    monthly_api_calls: int
    unlimited_api_calls: bool
    # Token bucket: this many calls a second, and at most this many at once.
    burst_per_second: int
    # Whether an agent may choose this tier itself (otherwise only an operator may assign it).
    self_service: bool


DEFAULT_TIERS = (
    Tier(FREE, "Free", 0, 100, False, 10_000, False, 20, True),
    Tier(PRO, "Pro", 29_000_000, 2_000, False, 100_000, False, 100, True),
    Tier(SCALE, "Scale", 299_000_000, 25_000, False, 1_000_000, False, 500, True),
    Tier(ENTERPRISE, "Enterprise", 0, 0, True, 0, True, 2_000, False),
)

_FIELD_TYPES = {f.name: f.type for f in fields(Tier) if f.name != "code"}


class TierTable:
    def __init__(self, tiers: tuple[Tier, ...] = DEFAULT_TIERS) -> None:
        self._tiers = {t.code: t for t in tiers}

    @classmethod
    def from_config(cls, overrides_json: str) -> TierTable:
        tiers = {t.code: t for t in DEFAULT_TIERS}
        if overrides_json.strip():
            try:
                parsed = json.loads(overrides_json)
            except ValueError as error:
                raise ValueError(f"AGENTOS_TIERS is not JSON: {error}") from error
            if not isinstance(parsed, Mapping):
                raise ValueError(
                    'AGENTOS_TIERS must be a JSON object such as {"free": {"burst_per_second": 5}}'
                )
            for code, changes in parsed.items():
                if code not in tiers:
                    raise ValueError(
                        f"AGENTOS_TIERS names unknown tier {code!r}; tiers: {', '.join(TIER_CODES)}"
                    )
                if not isinstance(changes, Mapping):
                    raise ValueError(f"AGENTOS_TIERS[{code!r}] must be an object")
                tiers[code] = replace(tiers[code], **_checked(code, changes))
        return cls(tuple(tiers.values()))

    def all(self) -> list[Tier]:
        return list(self._tiers.values())

    def get(self, code: str) -> Tier:
        return self._tiers[code]


def _checked(code: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        kind = _FIELD_TYPES.get(name)
        if kind is None:
            raise ValueError(f"AGENTOS_TIERS[{code!r}] has unknown field {name!r}")
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"AGENTOS_TIERS[{code!r}].{name} must be true or false")
        elif kind == "int":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"AGENTOS_TIERS[{code!r}].{name} must be a non-negative integer")
        elif not isinstance(value, str):
            raise ValueError(f"AGENTOS_TIERS[{code!r}].{name} must be a string")
        cleaned[name] = value
    if cleaned.get("burst_per_second") == 0:
        raise ValueError(f"AGENTOS_TIERS[{code!r}].burst_per_second must be at least 1")
    return cleaned
