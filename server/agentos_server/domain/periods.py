"""UTC calendar periods: the day and the month that budgets, tiers and API quotas count in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DAY = "day"
MONTH = "month"
PERIODS = (DAY, MONTH)


def period_start(now: datetime, period: str) -> datetime:
    now = now.astimezone(UTC)
    if period == DAY:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == MONTH:
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    raise ValueError(f"unknown period {period!r}")


def period_end(start: datetime, period: str) -> datetime:
    if period == DAY:
        return start + timedelta(days=1)
    if period == MONTH:
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    raise ValueError(f"unknown period {period!r}")


def month_start(now: datetime) -> datetime:
    return period_start(now, MONTH)


def month_end(now: datetime) -> datetime:
    return period_end(month_start(now), MONTH)


def month_key(now: datetime) -> str:
    """ "2026-05": the label of the month `now` falls in."""
    return now.astimezone(UTC).strftime("%Y-%m")
