"""What skills and daemons share: categories, listing states, versions and the checks on them."""

from __future__ import annotations

import enum
from collections.abc import Collection

from agentos_server.domain.errors import FailedPrecondition, InvalidArgument, Violations
from agentos_server.domain.semver import Version
from agentos_server.domain.validation import check_text

MAX_DESCRIPTION = 4000
MAX_DEPRECATION_REASON = 500


class Category(enum.StrEnum):
    COMMUNICATION = "communication"
    AUTOMATION = "automation"
    ANALYSIS = "analysis"
    CREATIVE = "creative"
    UTILITY = "utility"
    INTEGRATION = "integration"
    DEVELOPMENT = "development"
    CONTENT = "content"


class ListingState(enum.StrEnum):
    ACTIVE = "active"
    DEPRECATED = "deprecated"


def check_category(v: Violations, value: Category | None, field: str) -> Category | None:
    if value is None:
        v.add(field, f"is required: one of {', '.join(c.value for c in Category)}")
    return value


def check_version(v: Violations, text: str, field: str) -> Version | None:
    if not text:
        v.add(field, "is required: a semantic version such as 1.0.0")
        return None
    try:
        return Version.parse(text, field)
    except InvalidArgument as error:
        v.extend(error)
        return None


def check_description(v: Violations, text: str, field: str) -> str:
    return check_text(v, text, field, max_length=MAX_DESCRIPTION)


def check_deprecation_reason(text: str, field: str = "reason") -> str:
    v = Violations()
    reason = check_text(v, text.strip(), field, max_length=MAX_DEPRECATION_REASON)
    v.raise_if_any()
    return reason


def check_update_mask(
    paths: Collection[str], updatable: Collection[str], implied: Collection[str] = ()
) -> None:
    """Refuses an empty mask and any path that is not updatable (paths in `implied` are accepted)."""
    v = Violations()
    if not paths:
        v.add("update_mask", "must name at least one field to update")
    for path in paths:
        if path not in updatable and path not in implied:
            v.add("update_mask", f"{path!r} cannot be updated; updatable: {', '.join(sorted(updatable))}")
    v.raise_if_any()


def require_active(state: str, name: str) -> None:
    if state != ListingState.ACTIVE:
        raise FailedPrecondition(
            f"{name} is deprecated and can no longer change",
            reason="LISTING_DEPRECATED",
            metadata={"name": name},
        )
