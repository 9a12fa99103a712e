"""Semantic versions as semver.org 2.0.0 defines them, with its precedence rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from agentos_server.domain.errors import InvalidArgument

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
MAX_LENGTH = 64


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    @classmethod
    def parse(cls, text: str, field: str = "version") -> Version:
        match = _SEMVER.fullmatch(text) if len(text) <= MAX_LENGTH else None
        if match is None:
            raise InvalidArgument(
                f"{text!r} is not a semantic version such as 1.2.3 or 2.0.0-beta.1",
                field=field,
                reason="INVALID_SEMVER",
            )
        major, minor, patch, pre, build = match.groups()
        return cls(int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (), build or "")

    def _precedence_key(self) -> tuple[object, ...]:
        # A release outranks its pre-releases; numeric identifiers rank below alphanumeric ones.
        pre_key: tuple[object, ...]
        if not self.prerelease:
            pre_key = (1,)
        else:
            pre_key = (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease))
        return (self.major, self.minor, self.patch, pre_key)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._precedence_key() < other._precedence_key()

    def __eq__(self, other: object) -> bool:
        # Build metadata does not take part in precedence.
        if not isinstance(other, Version):
            return NotImplemented
        return self._precedence_key() == other._precedence_key()

    def __hash__(self) -> int:
        return hash(self._precedence_key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + self.build
        return text

    def sort_key(self) -> str:
        """A string that sorts like the version's precedence, for ORDER BY in SQL."""
        parts = [f"{self.major:010d}.{self.minor:010d}.{self.patch:010d}"]
        if not self.prerelease:
            parts.append("~")  # '~' sorts after every pre-release marker below
        else:
            for p in self.prerelease:
                parts.append(f"0{int(p):010d}" if p.isdigit() else f"1{p}")
        return "-".join(parts)


def require_greater(new: str, current: str, field: str = "version") -> Version:
    new_version = Version.parse(new, field)
    if not new_version > Version.parse(current):
        raise InvalidArgument(
            f"{new} must be greater than the current version {current}",
            field=field,
            reason="VERSION_NOT_INCREASED",
        )
    return new_version
