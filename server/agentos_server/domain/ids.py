"""Identifiers and resource names.

Generated ids are ULIDs in lower-case Crockford base32: 26 characters, time-ordered, so that a
listing ordered by id is ordered by creation. Ids chosen by users follow AIP-122: 3 to 63
characters of [a-z0-9-], starting with a letter and not ending with a hyphen. Generated ids start
with a digit, so the two can never collide.
"""

from __future__ import annotations

import re
import secrets
import time

from agentos_server.domain.errors import InvalidArgument

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
USER_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
_ANY_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def new_id() -> str:
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def validate_user_id(value: str, field: str) -> str:
    if not USER_ID_PATTERN.fullmatch(value):
        raise InvalidArgument(
            "must be 3 to 63 characters of a-z, 0-9 and '-', start with a letter and not end with '-'",
            field=field,
            reason="INVALID_ID",
        )
    return value


def parse_name(name: str, collection: str, field: str = "name") -> str:
    """Returns the id of "collection/{id}", or raises INVALID_ARGUMENT naming the field."""
    prefix = collection + "/"
    if not name:
        raise InvalidArgument(f"is required, as {collection}/{{id}}", field=field, reason="REQUIRED_FIELD")
    if not name.startswith(prefix) or not _ANY_ID_PATTERN.fullmatch(name[len(prefix) :]):
        raise InvalidArgument(
            f"must be a resource name of the form {collection}/{{id}}", field=field, reason="INVALID_NAME"
        )
    return name[len(prefix) :]


def parse_versioned_name(name: str, collection: str, field: str = "name") -> tuple[str, str | None]:
    """Parses "collection/{id}" or "collection/{id}@{version}" (AIP-162 revision syntax)."""
    base, sep, version = name.partition("@")
    resource_id = parse_name(base, collection, field)
    if sep and not version:
        raise InvalidArgument("has an empty version after '@'", field=field, reason="INVALID_NAME")
    return resource_id, (version if sep else None)


def agent_name(agent_id: str) -> str:
    return f"agents/{agent_id}"
