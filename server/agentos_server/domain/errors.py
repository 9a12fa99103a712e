"""The error model every layer raises and the API layer turns into gRPC statuses.

Each error carries a canonical code, an UPPER_SNAKE reason (ErrorInfo.reason, domain agentos.dev),
a message for humans and, for bad input, the offending fields (BadRequest field violations).
Domain code raises these; it never imports grpc.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Code(enum.Enum):
    """The canonical codes AgentOS uses; the API layer maps them one to one onto grpc.StatusCode."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    ABORTED = "ABORTED"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    UNAVAILABLE = "UNAVAILABLE"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    INTERNAL = "INTERNAL"


@dataclass(frozen=True)
class FieldViolation:
    # Path of the field as the client wrote it, e.g. "skill.pricing.price.amount".
    field: str
    description: str


class DomainError(Exception):
    code: Code = Code.INTERNAL
    default_reason: str = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        field: str | None = None,
        violations: tuple[FieldViolation, ...] | list[FieldViolation] = (),
        metadata: Mapping[str, str] | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        found = list(violations)
        if field is not None:
            found.insert(0, FieldViolation(field, message))
        self.violations: tuple[FieldViolation, ...] = tuple(found)
        self.metadata: dict[str, str] = dict(metadata or {})
        self.retry_after_seconds = retry_after_seconds

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason}: {self.message})"


class InvalidArgument(DomainError):
    code = Code.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"


class NotFound(DomainError):
    code = Code.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    code = Code.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class PermissionDenied(DomainError):
    code = Code.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    code = Code.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class FailedPrecondition(DomainError):
    code = Code.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class ResourceExhausted(DomainError):
    code = Code.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class Aborted(DomainError):
    code = Code.ABORTED
    default_reason = "ABORTED"


class DeadlineExceeded(DomainError):
    code = Code.DEADLINE_EXCEEDED
    default_reason = "DEADLINE_EXCEEDED"


class Unavailable(DomainError):
    code = Code.UNAVAILABLE
    default_reason = "UNAVAILABLE"


class Unimplemented(DomainError):
    code = Code.UNIMPLEMENTED
    default_reason = "NOT_IMPLEMENTED"


class Violations:
    """Collects every problem of a request so the caller learns them all in one answer."""

    def __init__(self) -> None:
        self._found: list[FieldViolation] = []
        # The reason of each violation's source: None for add(), the error's reason for extend().
        self._reasons: list[str | None] = []

    def add(self, field: str, description: str) -> None:
        self._found.append(FieldViolation(field, description))
        self._reasons.append(None)

    def extend(self, error: InvalidArgument) -> None:
        self._found.extend(error.violations)
        self._reasons.extend([error.reason] * len(error.violations))

    def __bool__(self) -> bool:
        return bool(self._found)

    def __len__(self) -> int:
        return len(self._found)

    def raise_if_any(self, reason: str | None = None) -> None:
        """Raises INVALID_ARGUMENT listing every violation. Without an explicit reason, a specific
        one (INVALID_SEMVER, INVALID_YAML ...) is kept when every violation shares it."""
        if not self._found:
            return
        if reason is None:
            distinct = set(self._reasons)
            only = distinct.pop() if len(distinct) == 1 else None
            reason = only or InvalidArgument.default_reason
        first = self._found[0]
        message = f"{first.field}: {first.description}"
        if len(self._found) > 1:
            message += f" (and {len(self._found) - 1} more problem{'s' if len(self._found) > 2 else ''})"
        raise InvalidArgument(message, reason=reason, violations=self._found)
