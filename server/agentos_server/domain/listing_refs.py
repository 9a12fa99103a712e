"""Names of listings as the Marketplace stores them: ("skill" | "daemon", id) for
"skills/{id}" and "daemons/{id}". Kept apart from domain/catalog so that the Registry's modules can
reach the Marketplace's reputation hook without an import cycle."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table

from agentos_server.domain.errors import InvalidArgument
from agentos_server.domain.ids import parse_name
from agentos_server.infra.sql import table_of
from agentos_server.infra.tables.listings import DaemonRow, SkillRow
from agentos_server.infra.tables.registry import AgentRow

SKILLS = table_of(SkillRow)
DAEMONS = table_of(DaemonRow)
AGENTS = table_of(AgentRow)

SKILL = "skill"
DAEMON = "daemon"
_COLLECTIONS = {SKILL: "skills", DAEMON: "daemons"}


@dataclass(frozen=True, order=True)
class ListingRef:
    kind: str
    id: str

    @property
    def collection(self) -> str:
        return _COLLECTIONS[self.kind]

    @property
    def name(self) -> str:
        return f"{self.collection}/{self.id}"

    @property
    def table(self) -> Table:
        return SKILLS if self.kind == SKILL else DAEMONS


def parse_listing(name: str, field: str = "listing") -> ListingRef:
    if name.startswith("skills/"):
        return ListingRef(SKILL, parse_name(name, "skills", field))
    if name.startswith("daemons/"):
        return ListingRef(DAEMON, parse_name(name, "daemons", field))
    if not name:
        raise InvalidArgument(
            "is required: skills/{skill_id} or daemons/{daemon_id}", field=field, reason="REQUIRED_FIELD"
        )
    raise InvalidArgument(
        "must name a listing: skills/{skill_id} or daemons/{daemon_id}", field=field, reason="INVALID_NAME"
    )


def listing_of(kind: str, listing_id: str) -> ListingRef:
    return ListingRef(kind, listing_id)
