"""Validators for the fields many resources share. Each names the field it rejects."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from urllib.parse import urlparse

from agentos_server.domain.errors import Violations

_TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def _has_control_chars(text: str, allow_newlines: bool) -> bool:
    for ch in text:
        if allow_newlines and ch in "\n\r\t":
            continue
        if unicodedata.category(ch) in {"Cc", "Cf"}:
            return True
    return False


def check_display_name(v: Violations, value: str, field: str, *, max_length: int = 100) -> str:
    stripped = value.strip()
    if not stripped:
        v.add(field, "is required")
    elif len(stripped) > max_length:
        v.add(field, f"must be at most {max_length} characters (got {len(stripped)})")
    elif _has_control_chars(stripped, allow_newlines=False):
        v.add(field, "must not contain control characters")
    return stripped


def check_text(v: Violations, value: str, field: str, *, max_length: int, required: bool = False) -> str:
    if required and not value.strip():
        v.add(field, "is required")
    elif len(value) > max_length:
        v.add(field, f"must be at most {max_length} characters (got {len(value)})")
    elif _has_control_chars(value, allow_newlines=True):
        v.add(field, "must not contain control characters")
    return value


def check_uri(
    v: Violations, value: str, field: str, *, schemes: Iterable[str] = ("https", "http", "ipfs")
) -> str:
    if not value:
        return value
    allowed = tuple(schemes)
    parsed = urlparse(value)
    if len(value) > 2048:
        v.add(field, "must be at most 2048 characters")
    elif parsed.scheme not in allowed or not (parsed.netloc or (parsed.scheme == "ipfs" and parsed.path)):
        v.add(field, f"must be an absolute URI with scheme {' or '.join(allowed)}")
    return value


def check_tags(v: Violations, values: Sequence[str], field: str, *, max_count: int = 16) -> list[str]:
    if len(values) > max_count:
        v.add(field, f"must have at most {max_count} tags")
    seen: list[str] = []
    for index, tag in enumerate(values):
        normalized = tag.strip().lower()
        if not _TAG.fullmatch(normalized):
            v.add(f"{field}[{index}]", "must be 1 to 32 characters of a-z, 0-9 and '-'")
        elif normalized not in seen:
            seen.append(normalized)
    return seen


def check_string_list(
    v: Violations, values: Sequence[str], field: str, *, max_count: int, max_length: int
) -> list[str]:
    if len(values) > max_count:
        v.add(field, f"must have at most {max_count} entries")
    cleaned = []
    for index, item in enumerate(values):
        text = item.strip()
        if not text:
            v.add(f"{field}[{index}]", "must not be empty")
        elif len(text) > max_length:
            v.add(f"{field}[{index}]", f"must be at most {max_length} characters")
        elif _has_control_chars(text, allow_newlines=False):
            v.add(f"{field}[{index}]", "must not contain control characters")
        else:
            cleaned.append(text)
    return cleaned
