"""External wallet addresses: EVM (EIP-55 checksummed) and Solana (base58 of 32 bytes)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from eth_utils.address import is_checksum_address, to_checksum_address
from solders.pubkey import Pubkey

from agentos_server.domain.errors import Violations

_EVM_HEX = re.compile(r"^0x[0-9a-fA-F]{40}$")


class ChainFamily(enum.StrEnum):
    EVM = "evm"
    SOLANA = "solana"


@dataclass(frozen=True)
class ExternalWallet:
    chain: ChainFamily
    address: str


def check_wallet(v: Violations, chain: ChainFamily | None, address: str, field: str) -> ExternalWallet | None:
    """Validates and normalises one address; None (with a violation recorded) when it is bad."""
    if chain is None:
        v.add(f"{field}.chain", "must be CHAIN_EVM or CHAIN_SOLANA")
        return None
    if chain is ChainFamily.EVM:
        if not _EVM_HEX.fullmatch(address):
            v.add(f"{field}.address", "must be 0x followed by 40 hexadecimal digits")
            return None
        body = address[2:]
        # All-lower or all-upper addresses carry no checksum; mixed case must be a valid EIP-55 one.
        if body != body.lower() and body != body.upper() and not is_checksum_address(address):
            v.add(f"{field}.address", "has an invalid EIP-55 checksum")
            return None
        return ExternalWallet(chain, to_checksum_address(address))
    try:
        key = Pubkey.from_string(address)
    except ValueError:
        v.add(f"{field}.address", "must be a base58-encoded 32-byte Solana public key")
        return None
    return ExternalWallet(chain, str(key))
