"""Assets and amounts. Money is an integer count of an asset's atomic unit, never a float.

USDC has 6 decimals (1.50 USDC = 1_500_000), SOL 9 (lamports), CREDIT 0 (whole execution
credits); more assets come from AGENTOS_EXTRA_ASSETS. An amount that moves must be positive and at
most MAX_AMOUNT; balances stay within a signed 64-bit integer, which the ledger checks before it
writes (SQLite would otherwise turn an overflowing sum into a float).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agentos_server.domain.errors import InvalidArgument, Violations

# Largest amount one request may move (2^62 - 1): two of them still fit a BIGINT balance.
MAX_AMOUNT = 2**62 - 1
# Largest magnitude a stored balance may reach.
MAX_BALANCE = 2**63 - 1

USDC = "USDC"
SOL = "SOL"
CREDIT = "CREDIT"

_ASSET_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")


@dataclass(frozen=True)
class Asset:
    code: str
    decimals: int
    description: str = ""

    def format(self, amount: int) -> str:
        """Human form of an atomic amount: Asset("USDC", 6).format(1500000) == "1.5 USDC"."""
        sign = "-" if amount < 0 else ""
        whole, frac = divmod(abs(amount), 10**self.decimals)
        text = str(whole)
        if self.decimals and frac:
            text += "." + str(frac).rjust(self.decimals, "0").rstrip("0")
        return f"{sign}{text} {self.code}"


@dataclass(frozen=True)
class Money:
    asset: str
    amount: int


BUILTIN_ASSETS = (
    Asset(USDC, 6, "USD Coin; atomic unit 0.000001 USDC"),
    Asset(SOL, 9, "Solana; atomic unit 1 lamport = 0.000000001 SOL"),
    Asset(CREDIT, 0, "AgentOS execution credits; bought with USDC or granted by a subscription tier"),
)


class AssetCatalog:
    """The assets the ledger knows, in a stable order: the built-in ones, then configured extras."""

    def __init__(self, assets: Iterable[Asset]) -> None:
        self._assets: dict[str, Asset] = {}
        for asset in assets:
            if not _ASSET_CODE.fullmatch(asset.code):
                raise ValueError(
                    f"asset code {asset.code!r} must be 2-16 of A-Z and 0-9, starting with a letter"
                )
            if not 0 <= asset.decimals <= 18:
                raise ValueError(f"asset {asset.code} must have 0 to 18 decimals, not {asset.decimals}")
            if asset.code in self._assets:
                raise ValueError(f"asset {asset.code} is defined twice")
            self._assets[asset.code] = asset

    @classmethod
    def from_config(cls, extra_assets_json: str) -> AssetCatalog:
        extras: list[Asset] = []
        if extra_assets_json.strip():
            try:
                parsed = json.loads(extra_assets_json)
            except ValueError as error:
                raise ValueError(f"AGENTOS_EXTRA_ASSETS is not JSON: {error}") from error
            if not isinstance(parsed, list):
                raise ValueError("AGENTOS_EXTRA_ASSETS must be a JSON list of {code, decimals}")
            for item in parsed:
                if not isinstance(item, Mapping) or not isinstance(item.get("code"), str):
                    raise ValueError(f"AGENTOS_EXTRA_ASSETS entry {item!r} needs a string code")
                decimals = item.get("decimals")
                if not isinstance(decimals, int) or isinstance(decimals, bool):
                    raise ValueError(f"AGENTOS_EXTRA_ASSETS entry {item['code']} needs integer decimals")
                extras.append(Asset(item["code"], decimals, str(item.get("description", ""))))
        return cls([*BUILTIN_ASSETS, *extras])

    def all(self) -> list[Asset]:
        return list(self._assets.values())

    def get(self, code: str) -> Asset | None:
        return self._assets.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._assets

    def check(self, v: Violations, code: str, field: str) -> str:
        if not code:
            v.add(field, f"is required: one of {', '.join(self._assets)}")
        elif code not in self._assets:
            v.add(field, f"{code!r} is not an asset this ledger knows; known: {', '.join(self._assets)}")
        return code

    def require(self, code: str, field: str) -> Asset:
        asset = self._assets.get(code)
        if asset is None:
            raise InvalidArgument(
                f"{code!r} is not an asset this ledger knows; known: {', '.join(self._assets)}",
                field=field,
                reason="UNKNOWN_ASSET",
            )
        return asset


def check_amount(v: Violations, amount: int, field: str, *, allow_zero: bool = False) -> int:
    """A positive amount (or zero, when allowed) no larger than MAX_AMOUNT."""
    if amount < 0 or (amount == 0 and not allow_zero):
        v.add(field, "must be a positive integer number of the asset's atomic unit")
    elif amount > MAX_AMOUNT:
        v.add(field, f"must be at most {MAX_AMOUNT}")
    return amount


def check_money(
    v: Violations, assets: AssetCatalog, money: Money, field: str, *, allow_zero: bool = False
) -> Money:
    assets.check(v, money.asset, f"{field}.asset")
    check_amount(v, money.amount, f"{field}.amount", allow_zero=allow_zero)
    return money


def check_idempotency_key(v: Violations, key: str, field: str = "idempotency_key") -> str:
    if not key:
        v.add(field, "is required on every request that moves money (1-128 printable ASCII characters)")
    elif not _KEY.fullmatch(key):
        v.add(field, "must be 1-128 printable ASCII characters without spaces")
    return key


def fee_for(amount: int, basis_points: int) -> int:
    """The platform's share of `amount` at `basis_points` (1/100 of a percent), rounded down."""
    if not 0 <= basis_points <= 10_000:
        raise ValueError(f"a fee must be 0 to 10000 basis points, not {basis_points}")
    return amount * basis_points // 10_000
