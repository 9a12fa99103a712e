"""Builds the skill proxy, the agent channel, the model router and provider keys from the settings."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.config import Settings
from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.execution.stages import SkillAnswer
from agentos_server.domain.ids import new_id
from agentos_server.domain.ledger import Ledger
from agentos_server.domain.licenses import Licenses
from agentos_server.domain.listing_refs import SKILL, ListingRef
from agentos_server.domain.pagination import PageTokens
from agentos_server.domain.provider_keys import ProviderKeys, platform_credentials
from agentos_server.domain.proxy.breaker import CircuitBreakers
from agentos_server.domain.proxy.channel import ChannelHub, ChannelSkills
from agentos_server.domain.proxy.counts import CallCounts, Writer
from agentos_server.domain.proxy.dispatch import (
    AGENT_CHANNEL,
    HOSTED_SCRIPT,
    HTTPS,
    Answer,
    Dispatcher,
    SkillCall,
)
from agentos_server.domain.proxy.relay import RedisChannelRelay
from agentos_server.domain.proxy.service import ExecuteRequest, ProxyConfig, SkillProxy
from agentos_server.domain.proxy.targets import HttpsTarget, ScriptTarget
from agentos_server.domain.proxy.usage import UsageRecords
from agentos_server.domain.reputation import Reputation
from agentos_server.infra.db import Database
from agentos_server.infra.providers import ModelRouter, default_catalogue, default_providers, load_catalogue
from agentos_server.infra.ratelimit import Limiter, MemoryLimiter, RedisLimiter
from agentos_server.infra.redis import RedisKeys, close_redis, create_redis
from agentos_server.infra.redis_mailbox import RedisMailbox
from agentos_server.infra.sandbox import Sandbox, create_sandbox
from agentos_server.infra.secretbox import SecretBox
from agentos_server.infra.seller_http import SellerHttp
from agentos_server.infra.settle_fast import FastSettler, fast_settler

log = logging.getLogger("agentos.proxy")


def reputation_writer(reputation: Reputation) -> Writer:
    """Writes batched call counts where the Marketplace reads them: the skill's calls per day
    (seller analytics) and the seller's execution success rate (reputation)."""

    async def write(
        skill_id: str, seller_id: str, calls: int, successes: int, day: datetime, session: AsyncSession
    ) -> None:
        await reputation.record_executions(
            ListingRef(SKILL, skill_id), seller_id, calls, successes, when=day, session=session
        )

    return write


class SkillStageCalls:
    """Skill stages of daemon runs call through the same proxy as ExecuteSkill, as the run owner."""

    def __init__(self, proxy: SkillProxy) -> None:
        self._proxy = proxy

    async def call_skill(
        self,
        owner_id: str,
        execution_id: str,
        stage: str,
        skill: str,
        operation: str,
        payload: Any,
        timeout_seconds: float,
    ) -> SkillAnswer:
        result = await self._proxy.execute(
            Caller(owner_id),
            ExecuteRequest(
                skill=skill,
                operation=operation,
                payload=payload,
                # One key per run and stage: a run re-executed after a lost worker gets the answer
                # it already paid for.
                idempotency_key=f"run-{execution_id}-{hashlib.sha256(stage.encode()).hexdigest()[:24]}",
                timeout_ms=max(1, int(timeout_seconds * 1000)),
            ),
            execution=f"executions/{execution_id}",
        )
        usage = result.usage
        return SkillAnswer(result.value, usage.cost_asset, usage.cost_amount)


class _ChannelTarget:
    def __init__(self, hub: ChannelHub) -> None:
        self._hub = hub

    async def dispatch(self, call: SkillCall) -> Answer:
        return await self._hub.call(call)


@dataclass
class _LazySandbox:
    """The sandbox (AGENTOS_SANDBOX, as for daemon scripts) is only needed once a hosted script is
    called; a host without bubblewrap can still proxy HTTPS and agent channel calls."""

    kind: str = "auto"
    allow_insecure_process: bool = False
    found: Sandbox | None = field(default=None)

    def __call__(self) -> Sandbox:
        if self.found is None:
            self.found = create_sandbox(self.kind, allow_insecure_process=self.allow_insecure_process)
        return self.found


@dataclass
class ProxyRuntime:
    page_tokens: PageTokens
    models: ModelRouter
    provider_keys: ProviderKeys
    proxy: SkillProxy
    usage: UsageRecords
    hub: ChannelHub
    channel_skills: ChannelSkills
    http: SellerHttp
    redis: aioredis.Redis | None
    relay: RedisChannelRelay | None
    counts: CallCounts
    settler: FastSettler
    limiter: Limiter

    @classmethod
    async def open(
        cls,
        settings: Settings,
        db: Database,
        clock: Clock,
        page_tokens: PageTokens,
        ledger: Ledger,
        *,
        licences: Licenses,
        reputation: Reputation,
    ) -> ProxyRuntime:
        catalogue = (
            load_catalogue(settings.model_catalogue_file)
            if settings.model_catalogue_file
            else default_catalogue()
        )
        models = ModelRouter(catalogue, default_providers())
        box = SecretBox.from_config(settings.master_keys) if settings.master_keys.strip() else None
        if box is None:
            log.warning(
                "AGENTOS_MASTER_KEYS is not set: agents cannot store provider keys (SetProviderKey answers "
                "FAILED_PRECONDITION). Generate one with `agentos generate-master-key`."
            )
        provider_keys = ProviderKeys(
            db,
            clock,
            page_tokens,
            box,
            platform_credentials(
                openai_api_key=settings.openai_api_key,
                anthropic_api_key=settings.anthropic_api_key,
                google_api_key=settings.google_api_key,
                openai_compatible_base_url=settings.openai_compatible_base_url,
                openai_compatible_api_key=settings.openai_compatible_api_key,
            ),
            production=settings.production_mode,
        )
        client = create_redis(settings)
        limiter: Limiter = (
            RedisLimiter(client, RedisKeys(settings.redis_prefix + "proxy:"))
            if client is not None
            else MemoryLimiter()
        )
        hub = ChannelHub()
        relay = None
        if client is not None:
            relay = RedisChannelRelay(
                RedisMailbox(client, RedisKeys(settings.redis_prefix)), hub, replica_id=new_id()
            )
            await relay.start()
            hub.set_relay(relay)
        http = SellerHttp(
            max_response_bytes=settings.proxy_max_response_bytes, public_only=settings.production_mode
        )
        targets: dict[str, Dispatcher] = {
            HTTPS: HttpsTarget(
                http,
                CircuitBreakers(
                    failures=settings.proxy_breaker_failures,
                    cooldown_seconds=settings.proxy_breaker_cooldown_seconds,
                ),
                retries=settings.proxy_http_retries,
                production=settings.production_mode,
            ),
            HOSTED_SCRIPT: ScriptTarget(
                _LazySandbox(settings.sandbox, settings.allow_insecure_process_sandbox),
                max_output_bytes=settings.proxy_max_response_bytes,
            ),
            AGENT_CHANNEL: _ChannelTarget(hub),
        }
        counts = CallCounts(
            db, clock, reputation_writer(reputation), flush_seconds=settings.proxy_count_flush_seconds
        )
        settler = fast_settler(db)
        proxy = SkillProxy(
            db,
            clock,
            ledger,
            limiter,
            targets,
            ProxyConfig(
                default_timeout_ms=settings.proxy_default_timeout_ms,
                max_timeout_ms=settings.proxy_max_timeout_ms,
                license_rate_per_second=settings.proxy_license_rate_per_second,
                cache_seconds=settings.proxy_cache_seconds,
                skill_fee_bps=settings.platform_fee_bps,
            ),
            fast=settler,
            licences=licences,
            counter=counts,
        )
        return cls(
            page_tokens=page_tokens,
            models=models,
            provider_keys=provider_keys,
            proxy=proxy,
            usage=UsageRecords(db, page_tokens),
            hub=hub,
            channel_skills=ChannelSkills(db),
            http=http,
            redis=client,
            relay=relay,
            counts=counts,
            settler=settler,
            limiter=limiter,
        )

    async def close(self) -> None:
        await self.hub.close_all()
        await self.counts.close()
        await self.settler.close()
        await self.limiter.close()
        if self.relay is not None:
            await self.relay.aclose()
        await self.http.aclose()
        await self.models.aclose()
        await close_redis(self.redis)
