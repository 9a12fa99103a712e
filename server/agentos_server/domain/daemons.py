"""Daemons: YAML workflows published by agents, versioned, shared by visibility, forked with lineage.

Who may see a daemon:
- VISIBILITY_PUBLIC: everyone, including anonymous callers;
- VISIBILITY_PRIVATE: its owner;
- VISIBILITY_ORGANIZATION: its owner and agents whose `organization` is in allowed_organizations;
- VISIBILITY_LISTED_AGENTS: its owner and the agents in allowed_agents;
- operators see every daemon (moderation).
A daemon the caller may not see does not exist for it: reads answer NOT_FOUND, so that names of
private daemons do not leak. The allowed lists are kept whatever the visibility, but each is only
consulted under its own visibility.

Forks copy one version of a daemon the caller may see into a new daemon the caller owns. The fork
keeps the source's version number, because a definition may pin `version:` and rewriting the
author's YAML would lose its formatting; its own history continues from there. It starts private
and free (the forker decides when and how to publish), keeps the content licence of the source,
records forked_from = "daemons/{id}@{version}" and lineage = [forked_from, *source.lineage], and
increments the source's fork_count.

For the execution engine: `DaemonRegistry.resolve_runnable(caller, name, version)` returns the
parsed definition with the owner, visibility, pricing and state. It decides visibility only;
whether the caller holds a licence to run a paid daemon is the Marketplace's decision.
"""

from __future__ import annotations

import asyncio
import enum
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.daemon_spec import MISSING, DaemonSpec, parse_daemon_yaml
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
from agentos_server.domain.pagination import PageTokens, fingerprint, newest_first, page_of, page_size
from agentos_server.domain.pricing import Money, Pricing, PricingDraft, PricingModel, check_pricing
from agentos_server.domain.reputation import listing_changed
from agentos_server.domain.search import index_daemon
from agentos_server.domain.semver import Version, require_greater
from agentos_server.domain.validation import check_display_name, check_tags
from agentos_server.infra.db import Database
from agentos_server.infra.tables.listings import DaemonAccessRow, DaemonRow, DaemonVersionRow
from agentos_server.infra.tables.registry import AgentRow

MAX_ALLOWED_ORGANIZATIONS = 32
MAX_ALLOWED_AGENTS = 100
DEFAULT_LICENSE = "proprietary"
# An SPDX license id ("MIT", "Apache-2.0", "CC-BY-4.0") or "proprietary".
_LICENSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$")

_ORGANIZATION = "organization"
_AGENT = "agent"


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    ORGANIZATION = "organization"
    LISTED_AGENTS = "listed_agents"


@dataclass(frozen=True)
class DaemonDraft:
    """A daemon's writable fields as a client sent them; unspecified enumerations are None."""

    display_name: str = ""
    description: str = ""
    version: str = ""
    definition_yaml: str = ""
    category: Category | None = None
    tags: Sequence[str] = ()
    pricing: PricingDraft = field(default_factory=PricingDraft)
    license: str = ""
    visibility: Visibility | None = None
    allowed_organizations: Sequence[str] = ()
    allowed_agents: Sequence[str] = ()


UPDATABLE_PATHS = frozenset(
    {
        "display_name",
        "description",
        "definition_yaml",
        "category",
        "tags",
        "pricing",
        "license",
        "visibility",
        "allowed_organizations",
        "allowed_agents",
    }
)


@dataclass(frozen=True)
class DaemonView:
    """A daemon as read: the current row, and the snapshot when a version was named."""

    daemon: DaemonRow
    snapshot: DaemonVersionRow | None = None


@dataclass(frozen=True)
class RunnableDaemon:
    """One version of a daemon, resolved for a caller that may see it."""

    daemon_id: str
    version: str
    owner_id: str
    visibility: Visibility
    allowed_organizations: tuple[str, ...]
    allowed_agents: tuple[str, ...]
    pricing: Pricing
    license: str
    state: ListingState
    spec: DaemonSpec
    definition_yaml: str

    @property
    def name(self) -> str:
        return f"daemons/{self.daemon_id}@{self.version}"

    @property
    def owner(self) -> str:
        return f"agents/{self.owner_id}"


def daemon_etag(row: DaemonRow) -> str:
    return etag_for(f"daemons/{row.id}", row.revision)


def spec_document(spec: DaemonSpec) -> dict[str, Any]:
    """The parsed definition in the shape of the DaemonSpec message, stored beside the YAML."""
    return {
        "inputs": [
            {
                "name": i.name,
                "type": i.kind,
                "description": i.description,
                "required": i.required,
                "options": list(i.options),
                "default_json": "" if i.default is MISSING else json.dumps(i.default, ensure_ascii=False),
            }
            for i in spec.inputs
        ],
        "stages": [
            {
                "name": s.name,
                "kind": s.kind,
                "needs": list(s.depends_on),
                "output": s.output or "",
                "model": s.model or s.capability or "",
                "runtime": s.runtime or "",
                "skill": s.skill or "",
                "operation": s.operation or "",
                "timeout_seconds": s.timeout_seconds,
                "retries": s.retries,
            }
            for s in spec.stages
        ],
        "limits": {"timeout_seconds": spec.timeout_seconds, "max_credits": spec.max_credits or 0},
    }


_STORED_SPECS: dict[tuple[str, str], DaemonSpec] = {}
_STORED_SPECS_MAX = 256


async def _parse_stored(text: str, version: str) -> DaemonSpec:
    # Versions are immutable, so a parsed definition can be reused for as long as it is kept. A hit
    # is answered on the event loop: only parsing, which is CPU work, goes to a thread.
    key = (text, version)
    spec = _STORED_SPECS.get(key)
    if spec is None:
        spec = await asyncio.to_thread(parse_daemon_yaml, text, version=version)
        if len(_STORED_SPECS) >= _STORED_SPECS_MAX:
            _STORED_SPECS.clear()
        _STORED_SPECS[key] = spec
    return spec


async def _parse_definition(v: Violations, text: str, version: Version | None) -> DaemonSpec | None:
    try:
        # Schema validation of a large definition is CPU work; keep it off the event loop.
        return await asyncio.to_thread(
            parse_daemon_yaml, text, version=str(version) if version is not None else None
        )
    except InvalidArgument as error:
        v.extend(error)
        return None


def _check_license(v: Violations, value: str, field_name: str) -> str:
    text = value.strip() or DEFAULT_LICENSE
    if not _LICENSE.fullmatch(text):
        v.add(field_name, "must be an SPDX license id such as MIT or CC-BY-4.0, or 'proprietary'")
    return text


def _check_organizations(v: Violations, values: Sequence[str], field_name: str) -> list[str]:
    if len(values) > MAX_ALLOWED_ORGANIZATIONS:
        v.add(field_name, f"must have at most {MAX_ALLOWED_ORGANIZATIONS} organisations")
    cleaned: list[str] = []
    for index, value in enumerate(values):
        try:
            validate_user_id(value, f"{field_name}[{index}]")
        except InvalidArgument as error:
            v.extend(error)
            continue
        if value not in cleaned:
            cleaned.append(value)
    return cleaned


def _check_agent_names(v: Violations, values: Sequence[str], field_name: str) -> list[str]:
    if len(values) > MAX_ALLOWED_AGENTS:
        v.add(field_name, f"must have at most {MAX_ALLOWED_AGENTS} agents")
    cleaned: list[str] = []
    for index, value in enumerate(values):
        try:
            agent_id = parse_name(value, "agents", f"{field_name}[{index}]")
        except InvalidArgument as error:
            v.extend(error)
            continue
        if f"agents/{agent_id}" not in cleaned:
            cleaned.append(f"agents/{agent_id}")
    return cleaned


def _clean_fields(v: Violations, draft: DaemonDraft, paths: Collection[str]) -> dict[str, Any]:
    """Validated column values for the named fields (all of them on create)."""
    values: dict[str, Any] = {}
    if "display_name" in paths:
        values["display_name"] = check_display_name(v, draft.display_name, "daemon.display_name")
    if "description" in paths:
        values["description"] = check_description(v, draft.description, "daemon.description")
    if "category" in paths:
        category = check_category(v, draft.category, "daemon.category")
        values["category"] = category.value if category else ""
    if "tags" in paths:
        values["tags"] = check_tags(v, draft.tags, "daemon.tags")
    if "pricing" in paths:
        pricing = check_pricing(v, draft.pricing, "daemon.pricing")
        values["pricing"] = pricing.as_document() if pricing else {}
    if "license" in paths:
        values["license"] = _check_license(v, draft.license, "daemon.license")
    if "visibility" in paths:
        # An unspecified visibility on create is private: nobody is exposed by omission.
        values["visibility"] = (draft.visibility or Visibility.PRIVATE).value
    if "allowed_organizations" in paths:
        values["allowed_organizations"] = _check_organizations(
            v, draft.allowed_organizations, "daemon.allowed_organizations"
        )
    if "allowed_agents" in paths:
        values["allowed_agents"] = _check_agent_names(v, draft.allowed_agents, "daemon.allowed_agents")
    return values


def _snapshot(row: DaemonRow, now: datetime) -> DaemonVersionRow:
    return DaemonVersionRow(
        daemon_id=row.id,
        version=row.version,
        version_key=row.version_key,
        display_name=row.display_name,
        description=row.description,
        definition_yaml=row.definition_yaml,
        spec=row.spec,
        category=row.category,
        tags=list(row.tags),
        pricing=dict(row.pricing),
        license=row.license,
        created_at=now,
    )


def _access_rows(
    daemon_id: str, organizations: Sequence[str], agents: Sequence[str]
) -> list[DaemonAccessRow]:
    return [
        *(
            DaemonAccessRow(daemon_id=daemon_id, principal_kind=_ORGANIZATION, principal=o)
            for o in organizations
        ),
        *(
            DaemonAccessRow(daemon_id=daemon_id, principal_kind=_AGENT, principal=a.removeprefix("agents/"))
            for a in agents
        ),
    ]


def may_see(caller: Caller | None, organization: str, row: DaemonRow) -> bool:
    """Whether `caller` (of `organization`, "" when none) may see the daemon."""
    if row.visibility == Visibility.PUBLIC:
        return True
    if caller is None:
        return False
    if caller.is_operator or caller.agent_id == row.owner_id:
        return True
    if row.visibility == Visibility.ORGANIZATION:
        return bool(organization) and organization in row.allowed_organizations
    if row.visibility == Visibility.LISTED_AGENTS:
        return caller.name in row.allowed_agents
    return False


def visible_to(caller: Caller | None) -> ColumnElement[bool]:
    """The SQL form of may_see, for listings."""
    public = DaemonRow.visibility == Visibility.PUBLIC.value
    if caller is None:
        return public
    if caller.is_operator:
        return true()
    caller_organization = (
        select(AgentRow.organization).where(AgentRow.id == caller.agent_id).scalar_subquery()
    )
    by_organization = and_(
        DaemonRow.visibility == Visibility.ORGANIZATION.value,
        exists().where(
            DaemonAccessRow.daemon_id == DaemonRow.id,
            DaemonAccessRow.principal_kind == _ORGANIZATION,
            DaemonAccessRow.principal == caller_organization,
        ),
    )
    by_name = and_(
        DaemonRow.visibility == Visibility.LISTED_AGENTS.value,
        exists().where(
            DaemonAccessRow.daemon_id == DaemonRow.id,
            DaemonAccessRow.principal_kind == _AGENT,
            DaemonAccessRow.principal == caller.agent_id,
        ),
    )
    return or_(public, DaemonRow.owner_id == caller.agent_id, by_organization, by_name)


def _not_found(daemon_id: str, version: str | None = None) -> NotFound:
    name = f"daemons/{daemon_id}" + (f"@{version}" if version else "")
    return NotFound(f"{name} does not exist", reason="DAEMON_NOT_FOUND", metadata={"name": name})


def _parse_requested_version(version: str | None, field_name: str) -> Version | None:
    if version is None:
        return None
    try:
        return Version.parse(version, field_name)
    except InvalidArgument:
        raise InvalidArgument(
            f"{version!r} after '@' is not a semantic version", field=field_name, reason="INVALID_NAME"
        ) from None


class DaemonRegistry:
    def __init__(self, db: Database, clock: Clock, page_tokens: PageTokens) -> None:
        self._db = db
        self._clock = clock
        self._tokens = page_tokens

    # --- reads --------------------------------------------------------------------------------

    async def _organization(self, session: AsyncSession, caller: Caller | None) -> str:
        if caller is None:
            return ""
        found = await session.scalar(select(AgentRow.organization).where(AgentRow.id == caller.agent_id))
        return found or ""

    async def _visible(self, session: AsyncSession, caller: Caller | None, daemon_id: str) -> DaemonRow:
        row = await session.get(DaemonRow, daemon_id)
        if row is None:
            raise _not_found(daemon_id)
        needs_organization = row.visibility == Visibility.ORGANIZATION and caller is not None
        organization = await self._organization(session, caller) if needs_organization else ""
        if not may_see(caller, organization, row):
            raise _not_found(daemon_id)
        return row

    async def _version(self, session: AsyncSession, row: DaemonRow, version: Version) -> DaemonVersionRow:
        # Matched by precedence, so "1.0.0" finds a version published as "1.0.0+build.7".
        snapshot = await session.scalar(
            select(DaemonVersionRow).where(
                DaemonVersionRow.daemon_id == row.id, DaemonVersionRow.version_key == version.sort_key()
            )
        )
        if snapshot is None:
            raise _not_found(row.id, str(version))
        return snapshot

    async def get(self, caller: Caller | None, name: str) -> DaemonView:
        daemon_id, version_text = parse_versioned_name(name, "daemons")
        version = _parse_requested_version(version_text, "name")
        async with self._db.snapshot() as session:
            row = await self._visible(session, caller, daemon_id)
            if version is None:
                return DaemonView(row)
            return DaemonView(row, await self._version(session, row, version))

    async def list_daemons(
        self,
        caller: Caller | None,
        *,
        size: int,
        token: str,
        owner: str,
        category: Category | None,
        show_deprecated: bool,
    ) -> tuple[list[DaemonRow], str]:
        limit = page_size(size)
        owner_id = parse_name(owner, "agents", "owner") if owner else ""
        binding = fingerprint(owner_id, category, show_deprecated)
        cursor = self._tokens.decode("daemons", token, binding)
        query = select(DaemonRow).where(visible_to(caller))
        if owner_id:
            query = query.where(DaemonRow.owner_id == owner_id)
        if category is not None:
            query = query.where(DaemonRow.category == category.value)
        if not show_deprecated:
            # Deprecated daemons and those of deactivated agents are off sale.
            query = query.where(
                DaemonRow.state == ListingState.ACTIVE.value,
                exists().where(AgentRow.id == DaemonRow.owner_id, AgentRow.state == "active"),
            )
        query = newest_first(query, DaemonRow, cursor, limit)
        async with self._db.snapshot() as session:
            rows = list((await session.scalars(query)).all())
        rows, next_token = page_of(rows, limit, self._tokens, "daemons", binding)
        return rows, next_token

    async def list_versions(
        self, caller: Caller | None, name: str, *, size: int, token: str
    ) -> tuple[DaemonRow, list[DaemonVersionRow], str]:
        daemon_id = parse_name(name, "daemons")
        limit = page_size(size)
        binding = fingerprint(daemon_id)
        cursor = self._tokens.decode("daemon_versions", token, binding)
        query = select(DaemonVersionRow).where(DaemonVersionRow.daemon_id == daemon_id)
        if cursor is not None:
            query = query.where(DaemonVersionRow.version_key < str(cursor["k"]))
        query = query.order_by(DaemonVersionRow.version_key.desc()).limit(limit + 1)
        async with self._db.snapshot() as session:
            row = await self._visible(session, caller, daemon_id)
            versions = list((await session.scalars(query)).all())
        next_token = ""
        if len(versions) > limit:
            versions = versions[:limit]
            next_token = self._tokens.encode("daemon_versions", {"k": versions[-1].version_key}, binding)
        return row, versions, next_token

    async def resolve_runnable(self, caller: Caller, name: str, version: str | None = None) -> RunnableDaemon:
        """The version of a daemon to run: `name` is "daemons/{id}" or "daemons/{id}@{version}";
        `version`, when given, must agree. NOT_FOUND when it does not exist or the caller may not
        see it; the licence check is the Marketplace's."""
        daemon_id, named_version = parse_versioned_name(name, "daemons")
        if (
            version
            and named_version
            and Version.parse(version, "version") != Version.parse(named_version, "name")
        ):
            raise InvalidArgument(
                f"the name names version {named_version} but version says {version}",
                field="version",
                reason="VERSION_MISMATCH",
            )
        wanted = _parse_requested_version(version or named_version, "version" if version else "name")
        async with self._db.snapshot() as session:
            row = await self._visible(session, caller, daemon_id)
            snapshot = await self._version(session, row, wanted) if wanted is not None else None
        text = snapshot.definition_yaml if snapshot else row.definition_yaml
        resolved_version = snapshot.version if snapshot else row.version
        return RunnableDaemon(
            daemon_id=row.id,
            version=resolved_version,
            owner_id=row.owner_id,
            visibility=Visibility(row.visibility),
            allowed_organizations=tuple(row.allowed_organizations),
            allowed_agents=tuple(row.allowed_agents),
            pricing=Pricing.from_document(snapshot.pricing if snapshot else row.pricing),
            license=snapshot.license if snapshot else row.license,
            state=ListingState(row.state),
            spec=await _parse_stored(text, resolved_version),
            definition_yaml=text,
        )

    # --- writes -------------------------------------------------------------------------------

    async def _require_owner_active(self, session: AsyncSession, owner_id: str) -> None:
        state = await session.scalar(select(AgentRow.state).where(AgentRow.id == owner_id))
        if state != "active":
            raise FailedPrecondition(f"agents/{owner_id} is deactivated", reason="AGENT_DEACTIVATED")

    async def _require_agents_exist(
        self, session: AsyncSession, names: Sequence[str], field_name: str
    ) -> None:
        if not names:
            return
        ids = [n.removeprefix("agents/") for n in names]
        found = set((await session.scalars(select(AgentRow.id).where(AgentRow.id.in_(ids)))).all())
        v = Violations()
        for index, agent_id in enumerate(ids):
            if agent_id not in found:
                v.add(f"{field_name}[{index}]", f"agents/{agent_id} does not exist")
        v.raise_if_any()

    async def create(self, caller: Caller, daemon_id: str, draft: DaemonDraft) -> DaemonRow:
        v = Violations()
        if daemon_id:
            try:
                validate_user_id(daemon_id, "daemon_id")
            except InvalidArgument as error:
                v.extend(error)
        else:
            daemon_id = new_id()
        values = _clean_fields(v, draft, UPDATABLE_PATHS)
        version = check_version(v, draft.version, "daemon.version")
        spec = await _parse_definition(v, draft.definition_yaml, version)
        v.raise_if_any()
        assert version is not None
        assert spec is not None

        now = self._clock.now()
        row = DaemonRow(
            id=daemon_id,
            owner_id=caller.agent_id,
            version=str(version),
            version_key=version.sort_key(),
            definition_yaml=draft.definition_yaml,
            spec=spec_document(spec),
            forked_from="",
            lineage=[],
            run_count=0,
            fork_count=0,
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
                if await session.get(DaemonRow, daemon_id) is not None:
                    raise self._duplicate(daemon_id)
                await self._require_agents_exist(session, row.allowed_agents, "daemon.allowed_agents")
                session.add(row)
                await session.flush()
                session.add(_snapshot(row, now))
                session.add_all(_access_rows(daemon_id, row.allowed_organizations, row.allowed_agents))
                await listing_changed(session, row.owner_id, now)
                await index_daemon(session, row)
        except IntegrityError:
            raise self._duplicate(daemon_id) from None
        return row

    @staticmethod
    def _duplicate(daemon_id: str) -> AlreadyExists:
        return AlreadyExists(f"daemons/{daemon_id} already exists", field="daemon_id", reason="DAEMON_EXISTS")

    async def update(
        self, caller: Caller, name: str, draft: DaemonDraft, paths: Collection[str], etag: str
    ) -> DaemonRow:
        daemon_id = parse_name(name, "daemons", "daemon.name")
        check_update_mask(paths, UPDATABLE_PATHS, implied={"version"})
        v = Violations()
        changes = _clean_fields(v, draft, paths)
        version = check_version(v, draft.version, "daemon.version")
        new_spec = (
            await _parse_definition(v, draft.definition_yaml, version) if "definition_yaml" in paths else None
        )
        v.raise_if_any()
        assert version is not None

        now = self._clock.now()
        async with self._db.transaction() as session:
            row = await self._visible(session, caller, daemon_id)
            caller.require_self_or_operator(row.owner_id, "daemon.name")
            await self._require_owner_active(session, row.owner_id)
            require_active(row.state, f"daemons/{daemon_id}")
            check_etag(etag, f"daemons/{daemon_id}", row.revision)
            require_greater(str(version), row.version, "daemon.version")
            if "definition_yaml" in paths:
                assert new_spec is not None
                changes["definition_yaml"] = draft.definition_yaml
                changes["spec"] = spec_document(new_spec)
            else:
                # The kept definition must still agree with the new version if it names one.
                v = Violations()
                kept = await _parse_definition(v, row.definition_yaml, version)
                v.raise_if_any("INVALID_DAEMON_DEFINITION")
                assert kept is not None
                changes["spec"] = spec_document(kept)
            if "allowed_agents" in changes:
                await self._require_agents_exist(session, changes["allowed_agents"], "daemon.allowed_agents")
            changes.update(
                version=str(version), version_key=version.sort_key(), updated_at=now, version_time=now
            )
            # The revision guard makes a concurrent update lose with ABORTED instead of silently winning.
            result = await session.execute(
                update(DaemonRow)
                .where(DaemonRow.id == daemon_id, DaemonRow.revision == row.revision)
                .values(revision=row.revision + 1, **changes)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise _concurrent_update(daemon_id)
            await session.refresh(row)
            session.add(_snapshot(row, now))
            if "allowed_organizations" in changes or "allowed_agents" in changes:
                await session.execute(delete(DaemonAccessRow).where(DaemonAccessRow.daemon_id == daemon_id))
                session.add_all(_access_rows(daemon_id, row.allowed_organizations, row.allowed_agents))
            await listing_changed(session, row.owner_id, now)
            await index_daemon(session, row)
        return row

    async def fork(self, caller: Caller, name: str, new_daemon_id: str, display_name: str) -> DaemonRow:
        source_id, version_text = parse_versioned_name(name, "daemons")
        wanted = _parse_requested_version(version_text, "name")
        v = Violations()
        if new_daemon_id:
            try:
                validate_user_id(new_daemon_id, "daemon_id")
            except InvalidArgument as error:
                v.extend(error)
        else:
            new_daemon_id = new_id()
        title = check_display_name(v, display_name, "display_name") if display_name else ""
        v.raise_if_any()

        now = self._clock.now()
        try:
            async with self._db.transaction() as session:
                source = await self._visible(session, caller, source_id)
                snapshot = await self._version(session, source, wanted or Version.parse(source.version))
                if await session.get(DaemonRow, new_daemon_id) is not None:
                    raise self._duplicate(new_daemon_id)
                origin = f"daemons/{source.id}@{snapshot.version}"
                row = DaemonRow(
                    id=new_daemon_id,
                    owner_id=caller.agent_id,
                    display_name=title or snapshot.display_name,
                    description=snapshot.description,
                    version=snapshot.version,
                    version_key=snapshot.version_key,
                    definition_yaml=snapshot.definition_yaml,
                    spec=snapshot.spec,
                    category=snapshot.category,
                    tags=list(snapshot.tags),
                    pricing=Pricing(PricingModel.FREE, Money("", 0)).as_document(),
                    license=snapshot.license,
                    visibility=Visibility.PRIVATE.value,
                    allowed_organizations=[],
                    allowed_agents=[],
                    forked_from=origin,
                    lineage=[origin, *source.lineage],
                    run_count=0,
                    fork_count=0,
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
                )
                session.add(row)
                await session.flush()
                session.add(_snapshot(row, now))
                # A statistic, not an edit: the source's revision (and so its etag) stays.
                await session.execute(
                    update(DaemonRow)
                    .where(DaemonRow.id == source.id)
                    .values(fork_count=DaemonRow.fork_count + 1)
                    .execution_options(synchronize_session=False)
                )
                await listing_changed(session, row.owner_id, now)
                await index_daemon(session, row)
        except IntegrityError:
            raise self._duplicate(new_daemon_id) from None
        return row

    async def deprecate(self, caller: Caller, name: str, reason: str) -> DaemonRow:
        daemon_id = parse_name(name, "daemons")
        reason = check_deprecation_reason(reason)
        async with self._db.transaction() as session:
            row = await self._visible(session, caller, daemon_id)
            caller.require_self_or_operator(row.owner_id)
            if row.state == ListingState.DEPRECATED:
                raise FailedPrecondition(
                    f"daemons/{daemon_id} is already deprecated", reason="LISTING_DEPRECATED"
                )
            row.state = ListingState.DEPRECATED.value
            row.deprecation_reason = reason
            row.revision += 1
            row.updated_at = self._clock.now()
            await listing_changed(session, row.owner_id, row.updated_at)
            await index_daemon(session, row)
        return row


def _concurrent_update(daemon_id: str) -> Aborted:
    return Aborted(
        f"daemons/{daemon_id} changed while it was being updated; read it again and retry",
        reason="ETAG_MISMATCH",
        metadata={"field": "etag"},
    )
