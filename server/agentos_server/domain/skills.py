"""Skills: what agents sell, published at a semantic version and kept at every version since.

A skill has a category, tags, pricing (domain/pricing), code details, an optional OpenAPI 3.0/3.1
document of the operations buyers call, and the endpoint the execution proxy dispatches to:
- https_url: the seller's base URL. It must be https; plain http is accepted only for loopback
  (127.0.0.1, ::1, localhost) so that a seller can develop against a local server. The proxy
  issue decides what else it refuses at call time (private ranges, redirects).
- hosted_script: a script AgentOS runs in its sandbox (runtime, source, timeout 1 to 300 s).
- agent_channel: calls go to the owner over ExecutionService.ConnectAgent.
Skill reads are public; every write checks that the caller owns the skill (or is an operator).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Violations,
)
from agentos_server.domain.etags import check_etag, etag_for
from agentos_server.domain.ids import new_id, parse_name, parse_versioned_name, validate_user_id
from agentos_server.domain.listings import (
    Category,
    ListingState,
    check_category,
    check_deprecation_reason,
    check_description,
    check_update_mask,
    check_version,
    require_active,
)
from agentos_server.domain.openapi import OpenApiDocument, parse_operations, validate_openapi
from agentos_server.domain.pagination import PageTokens, fingerprint, newest_first, page_of, page_size
from agentos_server.domain.pricing import PricingDraft, check_pricing
from agentos_server.domain.reputation import listing_changed
from agentos_server.domain.search import index_skill
from agentos_server.domain.semver import Version, require_greater
from agentos_server.domain.validation import (
    check_display_name,
    check_string_list,
    check_tags,
    check_text,
    check_uri,
)
from agentos_server.infra.db import Database
from agentos_server.infra.fastread import RowBuilder
from agentos_server.infra.tables.listings import SkillRow, SkillVersionRow
from agentos_server.infra.tables.registry import AgentRow

MAX_SCRIPT_CHARACTERS = 200_000
DEFAULT_SCRIPT_TIMEOUT_SECONDS = 30
MAX_SCRIPT_TIMEOUT_SECONDS = 300
MAX_DEPENDENCIES = 100
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class ScriptRuntime(enum.StrEnum):
    PYTHON = "python"
    NODE = "node"
    BASH = "bash"


@dataclass(frozen=True)
class CodeDraft:
    repo_url: str = ""
    entry_point: str = ""
    dependencies: Sequence[str] = ()
    documentation_uri: str = ""


@dataclass(frozen=True)
class HostedScriptDraft:
    runtime: ScriptRuntime | None = None
    source: str = ""
    timeout_seconds: int = 0


@dataclass(frozen=True)
class EndpointDraft:
    # Which member of the SkillEndpoint oneof the client set; None when it set none.
    target: Literal["https_url", "hosted_script", "agent_channel"] | None = None
    https_url: str = ""
    hosted_script: HostedScriptDraft = field(default_factory=HostedScriptDraft)


@dataclass(frozen=True)
class SkillDraft:
    display_name: str = ""
    version: str = ""
    description: str = ""
    category: Category | None = None
    tags: Sequence[str] = ()
    pricing: PricingDraft = field(default_factory=PricingDraft)
    code: CodeDraft = field(default_factory=CodeDraft)
    openapi_spec: str = ""
    endpoint: EndpointDraft = field(default_factory=EndpointDraft)


UPDATABLE_PATHS = frozenset(
    {"display_name", "description", "category", "tags", "pricing", "code", "openapi_spec", "endpoint"}
)


@dataclass(frozen=True)
class SkillView:
    """A skill as read: the current row, and the snapshot when a version was named."""

    skill: SkillRow
    snapshot: SkillVersionRow | None = None


def skill_etag(row: SkillRow) -> str:
    return etag_for(f"skills/{row.id}", row.revision)


def operations(spec_text: str) -> OpenApiDocument:
    """The operations a skill version offers (operationId or "METHOD /path", with the JSON schema
    of each request body), for the execution proxy. Empty when the skill has no OpenAPI document."""
    return parse_operations(spec_text)


def check_https_url(v: Violations, value: str, field_name: str) -> str:
    if len(value) > 2048:
        v.add(field_name, "must be at most 2048 characters")
        return value
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        pass
    elif parts.scheme == "http" and host in _LOOPBACK_HOSTS:
        pass  # local development only; see the module docstring
    else:
        v.add(field_name, "must be an https:// URL (http:// only for 127.0.0.1, ::1 or localhost)")
        return value
    if parts.username is not None or parts.password is not None:
        v.add(field_name, "must not carry credentials; the proxy authenticates on the seller's behalf")
    if parts.fragment:
        v.add(field_name, "must not have a #fragment")
    return value


def _clean_endpoint(v: Violations, draft: EndpointDraft, field_name: str) -> dict[str, Any]:
    if draft.target is None:
        v.add(field_name, "is required: https_url, hosted_script or agent_channel")
        return {}
    if draft.target == "https_url":
        return {"https_url": check_https_url(v, draft.https_url, f"{field_name}.https_url")}
    if draft.target == "agent_channel":
        return {"agent_channel": {}}
    script = draft.hosted_script
    where = f"{field_name}.hosted_script"
    if script.runtime is None:
        v.add(f"{where}.runtime", f"is required: one of {', '.join(r.value for r in ScriptRuntime)}")
    if not script.source.strip():
        v.add(f"{where}.source", "is required")
    elif len(script.source) > MAX_SCRIPT_CHARACTERS:
        v.add(f"{where}.source", f"must be at most {MAX_SCRIPT_CHARACTERS} characters")
    timeout = script.timeout_seconds or DEFAULT_SCRIPT_TIMEOUT_SECONDS
    if not 1 <= timeout <= MAX_SCRIPT_TIMEOUT_SECONDS:
        v.add(f"{where}.timeout_seconds", f"must be between 1 and {MAX_SCRIPT_TIMEOUT_SECONDS} (0 means 30)")
    return {
        "hosted_script": {
            "runtime": script.runtime.value if script.runtime else "",
            "source": script.source,
            "timeout_seconds": timeout,
        }
    }


def _clean_code(v: Violations, draft: CodeDraft, field_name: str) -> dict[str, Any]:
    return {
        "repo_url": check_uri(v, draft.repo_url, f"{field_name}.repo_url", schemes=("https",)),
        "entry_point": check_text(v, draft.entry_point.strip(), f"{field_name}.entry_point", max_length=200),
        "dependencies": check_string_list(
            v, draft.dependencies, f"{field_name}.dependencies", max_count=MAX_DEPENDENCIES, max_length=200
        ),
        "documentation_uri": check_uri(v, draft.documentation_uri, f"{field_name}.documentation_uri"),
    }


async def clean_draft(draft: SkillDraft) -> dict[str, Any]:
    """The column values of a new skill from a draft, or INVALID_ARGUMENT; for bulk loaders that
    write rows themselves (the benchmark's seeding)."""
    v = Violations()
    values = await _clean_fields(v, draft, UPDATABLE_PATHS)
    version = check_version(v, draft.version, "skill.version")
    v.raise_if_any()
    assert version is not None
    return {**values, "version": str(version), "version_key": version.sort_key()}


async def _clean_fields(v: Violations, draft: SkillDraft, paths: Collection[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "display_name" in paths:
        values["display_name"] = check_display_name(v, draft.display_name, "skill.display_name")
        values["name_key"] = values["display_name"].casefold()
    if "description" in paths:
        values["description"] = check_description(v, draft.description, "skill.description")
    if "category" in paths:
        category = check_category(v, draft.category, "skill.category")
        values["category"] = category.value if category else ""
    if "tags" in paths:
        values["tags"] = check_tags(v, draft.tags, "skill.tags")
    if "pricing" in paths:
        pricing = check_pricing(v, draft.pricing, "skill.pricing")
        values["pricing"] = pricing.as_document() if pricing else {}
    if "code" in paths:
        values["code"] = _clean_code(v, draft.code, "skill.code")
    if "endpoint" in paths:
        values["endpoint"] = _clean_endpoint(v, draft.endpoint, "skill.endpoint")
    if "openapi_spec" in paths:
        values["openapi_spec"] = draft.openapi_spec
        if draft.openapi_spec.strip():
            try:
                # Validating a large document takes a while; keep it off the event loop.
                await asyncio.to_thread(validate_openapi, draft.openapi_spec, "skill.openapi_spec")
            except InvalidArgument as error:
                v.extend(error)
    return values


def _snapshot(row: SkillRow, now: datetime) -> SkillVersionRow:
    return SkillVersionRow(
        skill_id=row.id,
        version=row.version,
        version_key=row.version_key,
        display_name=row.display_name,
        description=row.description,
        category=row.category,
        tags=list(row.tags),
        pricing=dict(row.pricing),
        code=dict(row.code),
        openapi_spec=row.openapi_spec,
        endpoint=dict(row.endpoint),
        created_at=now,
    )


def _not_found(skill_id: str, version: str | None = None) -> NotFound:
    name = f"skills/{skill_id}" + (f"@{version}" if version else "")
    return NotFound(f"{name} does not exist", reason="SKILL_NOT_FOUND", metadata={"name": name})


def _name_taken(display_name: str) -> AlreadyExists:
    return AlreadyExists(
        f"you already publish a skill named {display_name!r}",
        field="skill.display_name",
        reason="SKILL_NAME_TAKEN",
    )


class SkillRegistry:
    def __init__(self, db: Database, clock: Clock, page_tokens: PageTokens) -> None:
        self._db = db
        self._clock = clock
        self._tokens = page_tokens
        self._skill_rows = RowBuilder(SkillRow, db.dialect)
        self._version_rows = RowBuilder(SkillVersionRow, db.dialect)
        self._get_sql = self._skill_rows.select("FROM skills WHERE id = :id")
        self._get_version_sql = self._version_rows.select(
            "FROM skill_versions WHERE skill_id = :id AND version_key = :key"
        )

    # --- reads --------------------------------------------------------------------------------

    async def get(self, name: str) -> SkillView:
        skill_id, version_text = parse_versioned_name(name, "skills")
        version = None
        if version_text is not None:
            try:
                version = Version.parse(version_text, "name")
            except InvalidArgument:
                raise InvalidArgument(
                    f"{version_text!r} after '@' is not a semantic version",
                    field="name",
                    reason="INVALID_NAME",
                ) from None
        # The hottest read of the registry: straight on the driver (infra/fastread), a primary-key
        # lookup each.
        found = await self._db.fast.fetch(self._get_sql, {"id": skill_id}, inline=True)
        if not found:
            raise _not_found(skill_id)
        row = self._skill_rows.build(found[0])
        if version is None:
            return SkillView(row)
        # Matched by precedence, so "1.0.0" finds a version published as "1.0.0+build.7".
        versions = await self._db.fast.fetch(
            self._get_version_sql, {"id": skill_id, "key": version.sort_key()}, inline=True
        )
        if not versions:
            raise _not_found(skill_id, version_text)
        return SkillView(row, self._version_rows.build(versions[0]))

    async def list_skills(
        self, *, size: int, token: str, owner: str, category: Category | None, show_deprecated: bool
    ) -> tuple[list[SkillRow], str]:
        limit = page_size(size)
        owner_id = parse_name(owner, "agents", "owner") if owner else ""
        binding = fingerprint(owner_id, category, show_deprecated)
        cursor = self._tokens.decode("skills", token, binding)
        query = select(SkillRow)
        if owner_id:
            query = query.where(SkillRow.owner_id == owner_id)
        if category is not None:
            query = query.where(SkillRow.category == category.value)
        if not show_deprecated:
            # Deprecated skills and those of deactivated agents are off sale.
            query = query.where(
                SkillRow.state == ListingState.ACTIVE.value,
                exists().where(AgentRow.id == SkillRow.owner_id, AgentRow.state == "active"),
            )
        query = newest_first(query, SkillRow, cursor, limit)
        async with self._db.snapshot() as session:
            rows = list((await session.scalars(query)).all())
        rows, next_token = page_of(rows, limit, self._tokens, "skills", binding)
        return rows, next_token

    async def list_versions(
        self, name: str, *, size: int, token: str
    ) -> tuple[SkillRow, list[SkillVersionRow], str]:
        skill_id = parse_name(name, "skills")
        limit = page_size(size)
        binding = fingerprint(skill_id)
        cursor = self._tokens.decode("skill_versions", token, binding)
        query = select(SkillVersionRow).where(SkillVersionRow.skill_id == skill_id)
        if cursor is not None:
            query = query.where(SkillVersionRow.version_key < str(cursor["k"]))
        query = query.order_by(SkillVersionRow.version_key.desc()).limit(limit + 1)
        async with self._db.snapshot() as session:
            row = await session.get(SkillRow, skill_id)
            if row is None:
                raise _not_found(skill_id)
            versions = list((await session.scalars(query)).all())
        next_token = ""
        if len(versions) > limit:
            versions = versions[:limit]
            next_token = self._tokens.encode("skill_versions", {"k": versions[-1].version_key}, binding)
        return row, versions, next_token

    # --- writes -------------------------------------------------------------------------------

    async def _require_owner_active(self, session: AsyncSession, owner_id: str) -> None:
        state = await session.scalar(select(AgentRow.state).where(AgentRow.id == owner_id))
        if state != "active":
            raise FailedPrecondition(f"agents/{owner_id} is deactivated", reason="AGENT_DEACTIVATED")

    async def _require_name_free(
        self, session: AsyncSession, owner_id: str, name_key: str, display_name: str, except_id: str = ""
    ) -> None:
        taken = await session.scalar(
            select(SkillRow.id).where(
                SkillRow.owner_id == owner_id, SkillRow.name_key == name_key, SkillRow.id != except_id
            )
        )
        if taken is not None:
            raise _name_taken(display_name)

    async def create(self, caller: Caller, skill_id: str, draft: SkillDraft) -> SkillRow:
        v = Violations()
        if skill_id:
            try:
                validate_user_id(skill_id, "skill_id")
            except InvalidArgument as error:
                v.extend(error)
        else:
            skill_id = new_id()
        values = await _clean_fields(v, draft, UPDATABLE_PATHS)
        version = check_version(v, draft.version, "skill.version")
        v.raise_if_any()
        assert version is not None

        now = self._clock.now()
        row = SkillRow(
            id=skill_id,
            owner_id=caller.agent_id,
            version=str(version),
            version_key=version.sort_key(),
            rating=0.0,
            review_count=0,
            purchase_count=0,
            state=ListingState.ACTIVE.value,
            deprecation_reason="",
            featured=False,
            revision=1,
            created_at=now,
            updated_at=now,
            version_time=now,
            **values,
        )
        try:
            async with self._db.transaction() as session:
                await self._require_owner_active(session, caller.agent_id)
                if await session.get(SkillRow, skill_id) is not None:
                    raise self._duplicate(skill_id)
                await self._require_name_free(session, caller.agent_id, row.name_key, row.display_name)
                session.add(row)
                await session.flush()
                session.add(_snapshot(row, now))
                await listing_changed(session, row.owner_id, now)
                await index_skill(session, row)
        except IntegrityError:
            # A concurrent publish won the race for the id or the name; say which.
            async with self._db.snapshot() as session:
                if await session.get(SkillRow, skill_id) is not None:
                    raise self._duplicate(skill_id) from None
            raise _name_taken(row.display_name) from None
        return row

    @staticmethod
    def _duplicate(skill_id: str) -> AlreadyExists:
        return AlreadyExists(f"skills/{skill_id} already exists", field="skill_id", reason="SKILL_EXISTS")

    async def update(
        self, caller: Caller, name: str, draft: SkillDraft, paths: Collection[str], etag: str
    ) -> SkillRow:
        skill_id = parse_name(name, "skills", "skill.name")
        check_update_mask(paths, UPDATABLE_PATHS, implied={"version"})
        v = Violations()
        changes = await _clean_fields(v, draft, paths)
        version = check_version(v, draft.version, "skill.version")
        v.raise_if_any()
        assert version is not None

        now = self._clock.now()
        async with self._db.transaction() as session:
            row = await session.get(SkillRow, skill_id)
            if row is None:
                raise _not_found(skill_id)
            caller.require_self_or_operator(row.owner_id, "skill.name")
            await self._require_owner_active(session, row.owner_id)
            require_active(row.state, f"skills/{skill_id}")
            check_etag(etag, f"skills/{skill_id}", row.revision)
            require_greater(str(version), row.version, "skill.version")
            if "name_key" in changes:
                await self._require_name_free(
                    session, row.owner_id, changes["name_key"], changes["display_name"], except_id=skill_id
                )
            changes.update(
                version=str(version), version_key=version.sort_key(), updated_at=now, version_time=now
            )
            # The revision guard makes a concurrent update lose with ABORTED instead of silently winning.
            result = await session.execute(
                update(SkillRow)
                .where(SkillRow.id == skill_id, SkillRow.revision == row.revision)
                .values(revision=row.revision + 1, **changes)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise Aborted(
                    f"skills/{skill_id} changed while it was being updated; read it again and retry",
                    reason="ETAG_MISMATCH",
                    metadata={"field": "etag"},
                )
            await session.refresh(row)
            session.add(_snapshot(row, now))
            await listing_changed(session, row.owner_id, now)
            await index_skill(session, row)
        return row

    async def deprecate(self, caller: Caller, name: str, reason: str) -> SkillRow:
        skill_id = parse_name(name, "skills")
        reason = check_deprecation_reason(reason)
        async with self._db.transaction() as session:
            row = await session.get(SkillRow, skill_id)
            if row is None:
                raise _not_found(skill_id)
            caller.require_self_or_operator(row.owner_id)
            if row.state == ListingState.DEPRECATED:
                raise FailedPrecondition(
                    f"skills/{skill_id} is already deprecated", reason="LISTING_DEPRECATED"
                )
            row.state = ListingState.DEPRECATED.value
            row.deprecation_reason = reason
            row.revision += 1
            row.updated_at = self._clock.now()
            await listing_changed(session, row.owner_id, row.updated_at)
            await index_skill(session, row)
        return row
