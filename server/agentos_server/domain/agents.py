"""Agents: registration, profile updates, API keys, deactivation, and resolving a key to a caller."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from agentos_server.domain import apikeys
from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthenticated,
    Violations,
)
from agentos_server.domain.etags import check_etag, etag_for
from agentos_server.domain.ids import parse_name, validate_user_id
from agentos_server.domain.pagination import PageTokens, fingerprint, newest_first, page_of, page_size
from agentos_server.domain.search import index_agent
from agentos_server.domain.validation import (
    check_display_name,
    check_string_list,
    check_text,
    check_uri,
)
from agentos_server.domain.wallets import ChainFamily, check_wallet
from agentos_server.infra.db import Database
from agentos_server.infra.tables.registry import AgentRow, ApiKeyRow

MAX_WALLETS = 8
ACTIVE = "active"
DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class CharacterDraft:
    bio: str = ""
    traits: Sequence[str] = ()
    topics: Sequence[str] = ()
    style_all: Sequence[str] = ()
    style_chat: Sequence[str] = ()
    style_post: Sequence[str] = ()


@dataclass(frozen=True)
class AgentDraft:
    """An agent's writable fields as a client sent them."""

    display_name: str = ""
    description: str = ""
    avatar_uri: str = ""
    owner_wallets: Sequence[tuple[ChainFamily | None, str]] = ()
    character: CharacterDraft = field(default_factory=CharacterDraft)
    organization: str = ""


UPDATABLE_PATHS = frozenset(
    {
        "display_name",
        "description",
        "avatar_uri",
        "owner_wallets",
        "character",
        "character.bio",
        "character.traits",
        "character.topics",
        "character.style",
        "organization",
    }
)


@dataclass(frozen=True)
class CreatedAgent:
    agent: AgentRow
    api_key: str


def agent_etag(row: AgentRow) -> str:
    return etag_for(f"agents/{row.id}", row.revision)


def _clean_character(v: Violations, draft: CharacterDraft, prefix: str) -> dict[str, object]:
    return {
        "bio": check_text(v, draft.bio, f"{prefix}.bio", max_length=2000),
        "traits": check_string_list(v, draft.traits, f"{prefix}.traits", max_count=32, max_length=64),
        "topics": check_string_list(v, draft.topics, f"{prefix}.topics", max_count=64, max_length=64),
        "style": {
            "all": check_string_list(v, draft.style_all, f"{prefix}.style.all", max_count=32, max_length=280),
            "chat": check_string_list(
                v, draft.style_chat, f"{prefix}.style.chat", max_count=32, max_length=280
            ),
            "post": check_string_list(
                v, draft.style_post, f"{prefix}.style.post", max_count=32, max_length=280
            ),
        },
    }


def _clean_wallets(
    v: Violations, wallets: Sequence[tuple[ChainFamily | None, str]], field_name: str
) -> list[dict[str, str]]:
    if len(wallets) > MAX_WALLETS:
        v.add(field_name, f"must have at most {MAX_WALLETS} wallets")
    cleaned: list[dict[str, str]] = []
    for index, (chain, address) in enumerate(wallets):
        wallet = check_wallet(v, chain, address, f"{field_name}[{index}]")
        if wallet is not None:
            entry = {"chain": wallet.chain.value, "address": wallet.address}
            if entry in cleaned:
                v.add(f"{field_name}[{index}]", "is listed twice")
            else:
                cleaned.append(entry)
    return cleaned


def _clean_organization(v: Violations, value: str, field_name: str) -> str:
    if value:
        try:
            validate_user_id(value, field_name)
        except InvalidArgument as error:
            v.extend(error)
    return value


class AgentRegistry:
    def __init__(self, db: Database, clock: Clock, page_tokens: PageTokens) -> None:
        self._db = db
        self._clock = clock
        self._tokens = page_tokens

    async def create(self, agent_id: str, draft: AgentDraft, *, operator: bool = False) -> CreatedAgent:
        v = Violations()
        try:
            validate_user_id(agent_id, "agent_id")
        except InvalidArgument as error:
            v.extend(error)
        values = {
            "display_name": check_display_name(v, draft.display_name, "agent.display_name"),
            "description": check_text(v, draft.description, "agent.description", max_length=4000),
            "avatar_uri": check_uri(v, draft.avatar_uri, "agent.avatar_uri"),
            "owner_wallets": _clean_wallets(v, draft.owner_wallets, "agent.owner_wallets"),
            "character": _clean_character(v, draft.character, "agent.character"),
            "organization": _clean_organization(v, draft.organization, "agent.organization"),
        }
        v.raise_if_any()

        now = self._clock.now()
        key = apikeys.issue_key()
        row = AgentRow(
            id=agent_id,
            is_operator=operator,
            state=ACTIVE,
            revision=1,
            created_at=now,
            updated_at=now,
            **values,
        )
        try:
            async with self._db.transaction() as session:
                if await session.get(AgentRow, agent_id) is not None:
                    raise self._duplicate(agent_id)
                session.add(row)
                await session.flush()
                session.add(
                    ApiKeyRow(id=key.key_id, agent_id=agent_id, secret_hash=key.secret_hash, created_at=now)
                )
                await index_agent(session, row)
        except IntegrityError:
            # Two registrations of one name raced; the loser learns it the same way as above.
            raise self._duplicate(agent_id) from None
        return CreatedAgent(row, key.token)

    @staticmethod
    def _duplicate(agent_id: str) -> AlreadyExists:
        return AlreadyExists(
            f"an agent named agents/{agent_id} already exists", field="agent_id", reason="AGENT_EXISTS"
        )

    async def get(self, name: str, field_name: str = "name") -> AgentRow:
        agent_id = parse_name(name, "agents", field_name)
        async with self._db.snapshot() as session:
            row = await session.get(AgentRow, agent_id)
        if row is None:
            raise NotFound(
                f"agents/{agent_id} does not exist", reason="AGENT_NOT_FOUND", metadata={"field": field_name}
            )
        return row

    async def list(self, *, size: int, token: str, organization: str) -> tuple[list[AgentRow], str]:
        limit = page_size(size)
        binding = fingerprint(organization)
        cursor = self._tokens.decode("agents", token, binding)
        query = select(AgentRow).where(AgentRow.state == ACTIVE)
        if organization:
            query = query.where(AgentRow.organization == organization)
        query = newest_first(query, AgentRow, cursor, limit)
        async with self._db.snapshot() as session:
            rows = list((await session.scalars(query)).all())
        rows, next_token = page_of(rows, limit, self._tokens, "agents", binding)
        return rows, next_token

    async def update(
        self, caller: Caller, name: str, draft: AgentDraft, paths: Collection[str], etag: str
    ) -> AgentRow:
        agent_id = parse_name(name, "agents", "agent.name")
        caller.require_self_or_operator(agent_id, "agent.name")
        v = Violations()
        if not paths:
            v.add("update_mask", "must name at least one field to update")
        for path in paths:
            if path not in UPDATABLE_PATHS:
                v.add(
                    "update_mask",
                    f"{path!r} cannot be updated; updatable: {', '.join(sorted(UPDATABLE_PATHS))}",
                )
        v.raise_if_any()

        changes: dict[str, object] = {}
        if "display_name" in paths:
            changes["display_name"] = check_display_name(v, draft.display_name, "agent.display_name")
        if "description" in paths:
            changes["description"] = check_text(v, draft.description, "agent.description", max_length=4000)
        if "avatar_uri" in paths:
            changes["avatar_uri"] = check_uri(v, draft.avatar_uri, "agent.avatar_uri")
        if "owner_wallets" in paths:
            changes["owner_wallets"] = _clean_wallets(v, draft.owner_wallets, "agent.owner_wallets")
        if "organization" in paths:
            changes["organization"] = _clean_organization(v, draft.organization, "agent.organization")
        character_paths = {p for p in paths if p == "character" or p.startswith("character.")}
        new_character = _clean_character(v, draft.character, "agent.character") if character_paths else None
        v.raise_if_any()

        async with self._db.transaction() as session:
            row = await session.get(AgentRow, agent_id)
            if row is None:
                raise NotFound(f"agents/{agent_id} does not exist", reason="AGENT_NOT_FOUND")
            if row.state != ACTIVE:
                raise FailedPrecondition(f"agents/{agent_id} is deactivated", reason="AGENT_DEACTIVATED")
            check_etag(etag, f"agents/{agent_id}", row.revision)
            if new_character is not None:
                merged = dict(row.character or {})
                if "character" in character_paths:
                    merged = dict(new_character)
                else:
                    for path in character_paths:
                        key = path.split(".", 1)[1]
                        merged[key] = new_character[key]
                changes["character"] = merged
            changes["updated_at"] = self._clock.now()
            # The revision guard makes a concurrent update lose with ABORTED instead of silently winning.
            result = await session.execute(
                update(AgentRow)
                .where(AgentRow.id == agent_id, AgentRow.revision == row.revision)
                .values(revision=row.revision + 1, **changes)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise _concurrent_update(agent_id)
            await session.refresh(row)
            await index_agent(session, row)
        return row

    async def rotate_key(self, caller: Caller, name: str) -> str:
        agent_id = parse_name(name, "agents")
        caller.require_self_or_operator(agent_id)
        now = self._clock.now()
        key = apikeys.issue_key()
        async with self._db.transaction() as session:
            row = await session.get(AgentRow, agent_id)
            if row is None:
                raise NotFound(f"agents/{agent_id} does not exist", reason="AGENT_NOT_FOUND")
            if row.state != ACTIVE:
                raise FailedPrecondition(f"agents/{agent_id} is deactivated", reason="AGENT_DEACTIVATED")
            await session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.agent_id == agent_id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            session.add(
                ApiKeyRow(id=key.key_id, agent_id=agent_id, secret_hash=key.secret_hash, created_at=now)
            )
        return key.token

    async def deactivate(self, caller: Caller, name: str) -> AgentRow:
        agent_id = parse_name(name, "agents")
        caller.require_self_or_operator(agent_id)
        now = self._clock.now()
        async with self._db.transaction() as session:
            row = await session.get(AgentRow, agent_id)
            if row is None:
                raise NotFound(f"agents/{agent_id} does not exist", reason="AGENT_NOT_FOUND")
            if row.state == DEACTIVATED:
                raise FailedPrecondition(
                    f"agents/{agent_id} is already deactivated", reason="AGENT_DEACTIVATED"
                )
            row.state = DEACTIVATED
            row.revision += 1
            row.updated_at = now
            await session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.agent_id == agent_id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            # Its profile and all its listings leave discovery with it.
            await index_agent(session, row)
        return row

    async def resolve_api_key(self, token: str) -> Caller:
        parsed = apikeys.parse_token(token)
        if parsed is None:
            raise Unauthenticated("the API key is malformed", reason="INVALID_API_KEY")
        key_id, secret = parsed
        async with self._db.snapshot() as session:
            found = (
                await session.execute(
                    select(
                        ApiKeyRow.secret_hash,
                        ApiKeyRow.revoked_at,
                        AgentRow.id,
                        AgentRow.state,
                        AgentRow.is_operator,
                    )
                    .join(AgentRow, AgentRow.id == ApiKeyRow.agent_id)
                    .where(ApiKeyRow.id == key_id)
                )
            ).first()
        # Hash and compare even for an unknown key id so that both paths cost the same.
        stored_hash = found.secret_hash if found is not None else "0" * 64
        matches = apikeys.secret_matches(secret, stored_hash)
        if found is None or not matches or found.revoked_at is not None:
            raise Unauthenticated("the API key is not valid", reason="INVALID_API_KEY")
        if found.state != ACTIVE:
            raise Unauthenticated("the agent of this API key is deactivated", reason="AGENT_DEACTIVATED")
        return Caller(agent_id=found.id, is_operator=bool(found.is_operator))


def _concurrent_update(agent_id: str) -> Aborted:
    return Aborted(
        f"agents/{agent_id} changed while it was being updated; read it again and retry",
        reason="ETAG_MISMATCH",
        metadata={"field": "etag"},
    )
