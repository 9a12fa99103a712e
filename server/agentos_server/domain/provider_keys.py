"""Agents' own provider API keys: stored sealed, never returned, used only for their own runs.

A key is sealed with AES-256-GCM (infra/secretbox) under the primary master key of
AGENTOS_MASTER_KEYS. The blob's associated data is the key's resource name
("agents/{id}/providerKeys/{provider}"), so a blob moved to another row does not open. Listings
show `mask_secret()` of the key, computed when it was stored, so they never decrypt.

Without AGENTOS_MASTER_KEYS, SetProviderKey fails FAILED_PRECONDITION MASTER_KEY_NOT_CONFIGURED.
AgentOS does not invent a key for itself: a key generated into one server's data directory would
leave the other replicas unable to open what it sealed, and would sit next to the database it
protects. `agentos generate-master-key` prints a fresh one to configure.

Rotation (`agentos rotate-master-key`): put the new key first in AGENTOS_MASTER_KEYS, keep the old
ones after it, restart, run the command; it re-seals every key that is not under the primary. When
it reports nothing left, the old master keys can be removed from the configuration.

A run's credentials (`credentials_for(owner)`) are, per provider: the owner's stored key, else the
platform's key from the settings, else none (the router skips the provider).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update

from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import FailedPrecondition, InvalidArgument, NotFound, Violations
from agentos_server.domain.ids import parse_name
from agentos_server.domain.pagination import PageTokens, fingerprint, page_size
from agentos_server.infra.db import Database
from agentos_server.infra.providers import CredentialResolver, ProviderCredentials
from agentos_server.infra.secretbox import DecryptionError, SecretBox, mask_secret
from agentos_server.infra.tables.proxy import ProviderKeyRow
from agentos_server.infra.tables.registry import AgentRow

log = logging.getLogger("agentos.provider_keys")

OPENAI = "openai"
ANTHROPIC = "anthropic"
GOOGLE = "google"
OPENAI_COMPATIBLE = "openai_compatible"
# Providers an agent can store a key for (the builtin model needs none).
KEYED_PROVIDERS = (OPENAI, ANTHROPIC, GOOGLE, OPENAI_COMPATIBLE)

MAX_KEY_LENGTH = 4096
_KEY_TEXT = re.compile(r"^[\x21-\x7e]+$")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_NAME = re.compile(r"^agents/([a-z0-9][a-z0-9-]{0,62})/providerKeys/([a-z_]{1,32})$")


def key_name(agent_id: str, provider: str) -> str:
    return f"agents/{agent_id}/providerKeys/{provider}"


def _associated_data(agent_id: str, provider: str) -> bytes:
    return key_name(agent_id, provider).encode()


@dataclass(frozen=True)
class ProviderKeyView:
    agent_id: str
    provider: str
    masked_key: str
    base_url: str
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        return key_name(self.agent_id, self.provider)

    @staticmethod
    def of(row: ProviderKeyRow) -> ProviderKeyView:
        return ProviderKeyView(
            row.agent_id, row.provider, row.masked_key, row.base_url, row.created_at, row.updated_at
        )


@dataclass(frozen=True)
class RotationReport:
    resealed: int
    already_current: int
    # Keys that could not be opened (their master key is no longer configured, or the row was
    # tampered with), by resource name. They are left as they are.
    unreadable: tuple[str, ...]


def platform_credentials(
    *,
    openai_api_key: str = "",
    anthropic_api_key: str = "",
    google_api_key: str = "",
    openai_compatible_base_url: str = "",
    openai_compatible_api_key: str = "",
) -> dict[str, ProviderCredentials]:
    found: dict[str, ProviderCredentials] = {}
    if openai_api_key:
        found[OPENAI] = ProviderCredentials(openai_api_key)
    if anthropic_api_key:
        found[ANTHROPIC] = ProviderCredentials(anthropic_api_key)
    if google_api_key:
        found[GOOGLE] = ProviderCredentials(google_api_key)
    if openai_compatible_base_url:
        found[OPENAI_COMPATIBLE] = ProviderCredentials(
            openai_compatible_api_key, base_url=openai_compatible_base_url
        )
    return found


def check_base_url(v: Violations, value: str, field: str, *, production: bool) -> str:
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if len(value) > 2048:
        v.add(field, "must be at most 2048 characters")
    elif parts.scheme == "https" and host:
        pass
    elif parts.scheme == "http" and host in _LOOPBACK_HOSTS and not production:
        pass  # a local Ollama or vLLM during development
    else:
        allowed = "an https:// URL" if production else "an https:// URL (http:// only for loopback)"
        v.add(field, f"must be {allowed}")
    if parts.username is not None or parts.password is not None:
        v.add(field, "must not carry credentials; put the key in api_key")
    return value.rstrip("/")


class ProviderKeys:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        page_tokens: PageTokens,
        box: SecretBox | None,
        platform: Mapping[str, ProviderCredentials],
        *,
        production: bool = False,
    ) -> None:
        self._db = db
        self._clock = clock
        self._tokens = page_tokens
        self._box = box
        self._platform = dict(platform)
        self._production = production

    @property
    def box(self) -> SecretBox | None:
        return self._box

    def _require_box(self) -> SecretBox:
        if self._box is None:
            raise FailedPrecondition(
                "this server has no master key to seal provider keys with; the operator must set "
                "AGENTOS_MASTER_KEYS (see `agentos generate-master-key`)",
                reason="MASTER_KEY_NOT_CONFIGURED",
            )
        return self._box

    async def set(self, caller: Caller, provider: str | None, api_key: str, base_url: str) -> ProviderKeyView:
        v = Violations()
        if provider is None:
            v.add(
                "provider", f"is required: one of {', '.join(KEYED_PROVIDERS)} (the builtin model needs none)"
            )
        api_key = api_key.strip()
        if api_key:
            if len(api_key) > MAX_KEY_LENGTH:
                v.add("api_key", f"must be at most {MAX_KEY_LENGTH} characters")
            elif not _KEY_TEXT.fullmatch(api_key):
                v.add("api_key", "must be printable ASCII without spaces")
        elif provider != OPENAI_COMPATIBLE:
            v.add("api_key", "is required")
        if provider == OPENAI_COMPATIBLE:
            if not base_url:
                v.add("base_url", "is required for an OpenAI-compatible server, e.g. https://host/v1")
            else:
                base_url = check_base_url(v, base_url, "base_url", production=self._production)
        elif base_url:
            v.add("base_url", "applies only to PROVIDER_OPENAI_COMPATIBLE")
        v.raise_if_any()
        assert provider is not None
        box = self._require_box()

        agent_id = caller.agent_id
        sealed = box.encrypt(api_key, associated_data=_associated_data(agent_id, provider))
        masked = mask_secret(api_key) if api_key else ""
        now = self._clock.now()
        async with self._db.transaction() as session:
            if await session.get(AgentRow, agent_id) is None:
                raise NotFound(f"agents/{agent_id} does not exist", reason="AGENT_NOT_FOUND")
            row = await session.get(ProviderKeyRow, (agent_id, provider))
            if row is None:
                row = ProviderKeyRow(
                    agent_id=agent_id,
                    provider=provider,
                    sealed_key=sealed,
                    master_key_id=box.primary,
                    masked_key=masked,
                    base_url=base_url,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
            else:
                row.sealed_key = sealed
                row.master_key_id = box.primary
                row.masked_key = masked
                row.base_url = base_url
                row.updated_at = now
        return ProviderKeyView.of(row)

    def _parent(self, caller: Caller, parent: str) -> str:
        agent_id = parse_name(parent, "agents", "parent") if parent else caller.agent_id
        caller.require_self_or_operator(agent_id, "parent")
        return agent_id

    async def list(
        self, caller: Caller, parent: str, *, size: int, token: str
    ) -> tuple[list[ProviderKeyView], str]:
        agent_id = self._parent(caller, parent)
        limit = page_size(size)
        binding = fingerprint(agent_id)
        cursor = self._tokens.decode("provider_keys", token, binding)
        query = select(ProviderKeyRow).where(ProviderKeyRow.agent_id == agent_id)
        if cursor is not None:
            query = query.where(ProviderKeyRow.provider > str(cursor["p"]))
        query = query.order_by(ProviderKeyRow.provider).limit(limit + 1)
        async with self._db.snapshot() as session:
            rows = list((await session.scalars(query)).all())
        next_token = ""
        if len(rows) > limit:
            rows = rows[:limit]
            next_token = self._tokens.encode("provider_keys", {"p": rows[-1].provider}, binding)
        return [ProviderKeyView.of(r) for r in rows], next_token

    async def delete(self, caller: Caller, name: str) -> None:
        agent_id, provider = parse_key_name(name)
        caller.require_self_or_operator(agent_id)
        async with self._db.transaction() as session:
            result = await session.execute(
                delete(ProviderKeyRow).where(
                    ProviderKeyRow.agent_id == agent_id, ProviderKeyRow.provider == provider
                )
            )
            if int(result.rowcount) == 0:  # type: ignore[attr-defined]
                raise NotFound(
                    f"{name} does not exist", reason="PROVIDER_KEY_NOT_FOUND", metadata={"field": "name"}
                )

    # --- runs ------------------------------------------------------------------------------------

    def credentials_for(self, agent_id: str) -> CredentialResolver:
        """The credentials a run owned by `agent_id` uses: its own stored keys first, then the
        platform's. Stored keys are read (and decrypted) once per resolver, on first use."""
        stored: dict[str, ProviderCredentials | None] | None = None

        async def resolve(provider: str) -> ProviderCredentials | None:
            nonlocal stored
            if stored is None:
                stored = await self._open_all(agent_id)
            if provider in stored:
                return stored[provider]
            return self._platform.get(provider)

        return resolve

    async def _open_all(self, agent_id: str) -> dict[str, ProviderCredentials | None]:
        """The agent's stored keys, opened; None for one that cannot be opened."""
        async with self._db.snapshot() as session:
            rows = list(
                (
                    await session.scalars(select(ProviderKeyRow).where(ProviderKeyRow.agent_id == agent_id))
                ).all()
            )
        opened: dict[str, ProviderCredentials | None] = {}
        for row in rows:
            name = key_name(agent_id, row.provider)
            # An unreadable key does not fall back to the platform's: the agent asked for its own
            # key to be used, and quietly billing it for the platform's would surprise it. The
            # router skips the provider; the operator's log says why.
            opened[row.provider] = None
            if self._box is None:
                log.error("%s is stored but AGENTOS_MASTER_KEYS is not set; it cannot be used", name)
                continue
            try:
                secret = self._box.decrypt(
                    row.sealed_key, associated_data=_associated_data(agent_id, row.provider)
                )
            except DecryptionError as error:
                log.error("cannot open %s: %s", name, error)
                continue
            opened[row.provider] = ProviderCredentials(secret, base_url=row.base_url or None)
        return opened

    # --- operator tasks ----------------------------------------------------------------------------

    async def rotate(self, *, batch: int = 200) -> RotationReport:
        """Re-seals every stored key that is not under the primary master key."""
        box = self._require_box()
        async with self._db.snapshot() as session:
            already_current = int(
                (
                    await session.execute(
                        select(func.count())
                        .select_from(ProviderKeyRow)
                        .where(ProviderKeyRow.master_key_id == box.primary)
                    )
                ).scalar_one()
            )
        resealed = 0
        unreadable: list[str] = []
        skip: set[tuple[str, str]] = set()
        while True:
            async with self._db.snapshot() as session:
                rows = list(
                    (
                        await session.scalars(
                            select(ProviderKeyRow)
                            .where(ProviderKeyRow.master_key_id != box.primary)
                            .order_by(ProviderKeyRow.agent_id, ProviderKeyRow.provider)
                            .limit(batch + len(skip))
                        )
                    ).all()
                )
            todo = [r for r in rows if (r.agent_id, r.provider) not in skip]
            if not todo:
                break
            for row in todo:
                ad = _associated_data(row.agent_id, row.provider)
                try:
                    blob = box.reencrypt(row.sealed_key, ad)
                except DecryptionError as error:
                    log.error("cannot re-seal %s: %s", key_name(row.agent_id, row.provider), error)
                    unreadable.append(key_name(row.agent_id, row.provider))
                    skip.add((row.agent_id, row.provider))
                    continue
                async with self._db.transaction() as session:
                    # Conditional on the old blob: a key the agent replaced meanwhile is already
                    # sealed under the primary and must not be overwritten with the old secret.
                    await session.execute(
                        update(ProviderKeyRow)
                        .where(
                            ProviderKeyRow.agent_id == row.agent_id,
                            ProviderKeyRow.provider == row.provider,
                            ProviderKeyRow.sealed_key == row.sealed_key,
                        )
                        .values(sealed_key=blob, master_key_id=box.primary)
                    )
                resealed += 1
        return RotationReport(resealed, already_current, tuple(unreadable))


def parse_key_name(name: str, field: str = "name") -> tuple[str, str]:
    match = _NAME.fullmatch(name)
    if match is None or match.group(2) not in KEYED_PROVIDERS:
        raise InvalidArgument(
            "must be agents/{agent_id}/providerKeys/{provider}, provider one of "
            + ", ".join(KEYED_PROVIDERS),
            field=field,
            reason="INVALID_NAME",
        )
    return match.group(1), match.group(2)
