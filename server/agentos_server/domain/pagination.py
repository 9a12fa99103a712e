"""AIP-158 pagination: page sizes and opaque, tamper-proof page tokens.

A token is base64url(JSON cursor) + "." + a truncated HMAC-SHA256 over the cursor, the list it
belongs to and a fingerprint of the request's other parameters. A token that was edited, comes from
another list, or is reused with different filters is refused with INVALID_ARGUMENT on page_token.
The HMAC key is a server secret shared by every replica (kept in the database).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, and_, or_

from agentos_server.domain.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
_MAC_BYTES = 16


def page_size(value: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """0 means the default; above the maximum is coerced down (AIP-158); negative is an error."""
    if value < 0:
        raise InvalidArgument("must not be negative", field="page_size", reason="INVALID_PAGE_SIZE")
    if value == 0:
        return default
    return min(value, maximum)


def fingerprint(*parts: object) -> str:
    """A stable digest of the request parameters a page token is bound to."""
    encoded = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PageTokens:
    secret: bytes

    def _mac(self, listing: str, binding: str, payload: bytes) -> bytes:
        message = listing.encode() + b"\x00" + binding.encode() + b"\x00" + payload
        return hmac.new(self.secret, message, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, listing: str, cursor: Mapping[str, Any], binding: str = "") -> str:
        payload = json.dumps(cursor, separators=(",", ":"), sort_keys=True).encode()
        mac = self._mac(listing, binding, payload)
        return _b64(payload) + "." + _b64(mac)

    def decode(self, listing: str, token: str, binding: str = "") -> dict[str, Any] | None:
        """None for an empty token (first page); the cursor otherwise."""
        if not token:
            return None
        invalid = InvalidArgument(
            "is not a page token this list issued for these parameters",
            field="page_token",
            reason="INVALID_PAGE_TOKEN",
        )
        payload_part, dot, mac_part = token.partition(".")
        if not dot or len(token) > 4096:
            raise invalid
        try:
            payload = _unb64(payload_part)
            mac = _unb64(mac_part)
        except (binascii.Error, ValueError):
            raise invalid from None
        if not hmac.compare_digest(mac, self._mac(listing, binding, payload)):
            raise invalid
        try:
            cursor = json.loads(payload)
        except ValueError:
            raise invalid from None
        if not isinstance(cursor, dict):
            raise invalid
        return cursor


class _Dated(Protocol):
    id: str
    created_at: datetime


RowT = TypeVar("RowT", bound=_Dated)
SelectT = TypeVar("SelectT", bound=Select[Any])


def newest_first(query: SelectT, model: Any, cursor: Mapping[str, Any] | None, limit: int) -> SelectT:
    """`query` ordered newest first by (created_at, id), resumed after `cursor`, with one row more
    than a page so that page_of can tell whether another page follows."""
    if cursor is not None:
        after_time = datetime.fromisoformat(str(cursor["t"]))
        after_id = str(cursor["id"])
        query = query.where(
            or_(model.created_at < after_time, and_(model.created_at == after_time, model.id < after_id))
        )
    return query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)


def page_of(
    rows: Sequence[RowT], limit: int, tokens: PageTokens, listing: str, binding: str
) -> tuple[list[RowT], str]:
    """The page of rows a newest_first query returned, and the token of the page after it."""
    if len(rows) <= limit:
        return list(rows), ""
    page = list(rows[:limit])
    last = page[-1]
    return page, tokens.encode(listing, {"t": last.created_at.isoformat(), "id": last.id}, binding)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
