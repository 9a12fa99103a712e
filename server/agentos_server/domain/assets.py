"""The assets AgentOS prices and pays in, and the bounds every amount must respect.

This table is the one place that knows which assets exist; listings validate prices against it and
the Payments area (wallets, ledger, deposits) extends it when it adds an asset. Amounts are always
integers in the asset's atomic unit (common.v1.Money).
"""

from __future__ import annotations

from dataclasses import dataclass

from agentos_server.domain.errors import Violations

# 10^15 atomic units is a billion USDC or a million SOL: far beyond any honest price, and well
# inside int64 even after summing many of them in a ledger.
MAX_AMOUNT = 10**15


@dataclass(frozen=True)
class Asset:
    code: str
    # Digits after the decimal point: 1 unit of the asset is 10**decimals atomic units.
    decimals: int
    description: str


ASSETS: dict[str, Asset] = {
    asset.code: asset
    for asset in (
        Asset("USDC", 6, "USD Coin (EVM ERC-20 or Solana SPL)"),
        Asset("SOL", 9, "Solana's native token, in lamports"),
        Asset("CREDIT", 0, "AgentOS execution credits"),
    )
}


def check_asset(v: Violations, code: str, field: str) -> str:
    if not code:
        v.add(field, f"is required: one of {', '.join(ASSETS)}")
    elif code not in ASSETS:
        v.add(field, f"{code!r} is not an asset AgentOS knows; use one of {', '.join(ASSETS)}")
    return code


def check_amount(v: Violations, amount: int, field: str, *, positive: bool) -> int:
    if amount < 0:
        v.add(field, "must not be negative")
    elif positive and amount == 0:
        v.add(field, "must be greater than zero")
    elif amount > MAX_AMOUNT:
        v.add(field, f"must be at most {MAX_AMOUNT} atomic units")
    return amount
