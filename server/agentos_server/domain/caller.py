"""Who is calling: resolved from the API key by the API layer, passed explicitly to domain code."""

from __future__ import annotations

from dataclasses import dataclass

from agentos_server.domain.errors import PermissionDenied


@dataclass(frozen=True)
class Caller:
    agent_id: str
    is_operator: bool = False

    @property
    def name(self) -> str:
        return f"agents/{self.agent_id}"

    def require_self_or_operator(self, agent_id: str, field: str = "name") -> None:
        if agent_id != self.agent_id and not self.is_operator:
            raise PermissionDenied(
                f"agents/{self.agent_id} may not act for agents/{agent_id}",
                reason="NOT_OWNER",
                metadata={"field": field},
            )

    def require_operator(self) -> None:
        if not self.is_operator:
            raise PermissionDenied("this action is reserved to operators", reason="OPERATOR_ONLY")
