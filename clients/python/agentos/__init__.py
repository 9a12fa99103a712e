"""AgentOS Python client: generated stubs under agentos.<area>.v1 and the typed SDK."""

from __future__ import annotations

from typing import Any

__all__ = ["AsyncClient", "Client"]


def __getattr__(name: str) -> Any:
    # Imported lazily so that loading a generated module does not pull in grpc channels.
    if name in __all__:
        from agentos import client

        return getattr(client, name)
    raise AttributeError(name)
