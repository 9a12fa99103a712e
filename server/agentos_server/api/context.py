"""The calling agent of the RPC being served, set by the call pipeline for the handler's task."""

from __future__ import annotations

from contextvars import ContextVar

from agentos_server.domain.caller import Caller
from agentos_server.domain.errors import Unauthenticated

current_caller: ContextVar[Caller | None] = ContextVar("agentos_current_caller", default=None)


def caller() -> Caller:
    """The authenticated caller; the pipeline guarantees one for non-public methods."""
    found = current_caller.get()
    if found is None:
        raise Unauthenticated(
            "this call needs an API key: authorization: Bearer <key>", reason="MISSING_API_KEY"
        )
    return found


def optional_caller() -> Caller | None:
    return current_caller.get()
