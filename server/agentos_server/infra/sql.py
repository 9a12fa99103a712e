"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

# deadlock_detected, serialization_failure, lock_not_available
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def insert_ignoring_conflicts(dialect_name: str, table: Table, values: dict[str, Any] | None = None) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the backend in use."""
    if dialect_name == "postgresql":
        statement: Any = postgresql.insert(table)
    else:
        statement = sqlite.insert(table)
    if values is not None:
        statement = statement.values(**values)
    return statement.on_conflict_do_nothing()


def is_retryable(error: BaseException) -> bool:
    """A transaction that lost a deadlock or a serialization check and may simply run again."""
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate in _RETRYABLE_SQLSTATES


def table_of(model: type[Any]) -> Table:
    """The Core table of a declarative model, typed as a Table."""
    return cast(Table, model.__table__)
