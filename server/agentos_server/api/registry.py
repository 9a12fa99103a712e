"""agentos.registry.v1.RegistryService: agents, skills, daemons, discovery, ERC-8004."""

from __future__ import annotations

from typing import Any

from agentos.common.v1 import common_pb2
from agentos.registry.v1 import registry_pb2 as pb
from agentos_server.api import context
from agentos_server.api.listings import (
    CATEGORIES,
    PRICING_MODELS,
    daemon_draft,
    daemon_to_proto,
    populated_paths,
    skill_draft,
    skill_to_proto,
)
from agentos_server.api.servicers import service, timestamp
from agentos_server.domain import daemons, skills
from agentos_server.domain.agents import AgentDraft, AgentRegistry, CharacterDraft, agent_etag
from agentos_server.domain.daemons import DaemonRegistry, DaemonView
from agentos_server.domain.search import ResourceKind, SearchHit, SearchOrder, SearchQuery, SearchService
from agentos_server.domain.skills import SkillRegistry, SkillView
from agentos_server.domain.wallets import ChainFamily
from agentos_server.infra.tables.listings import SkillRow
from agentos_server.infra.tables.registry import AgentRow

Ctx = Any

_CHAINS = {common_pb2.CHAIN_EVM: ChainFamily.EVM, common_pb2.CHAIN_SOLANA: ChainFamily.SOLANA}
_CHAIN_PROTO = {value: key for key, value in _CHAINS.items()}
_KINDS = {
    pb.RESOURCE_KIND_AGENT: ResourceKind.AGENT,
    pb.RESOURCE_KIND_SKILL: ResourceKind.SKILL,
    pb.RESOURCE_KIND_DAEMON: ResourceKind.DAEMON,
}
_ORDERS = {
    pb.SEARCH_ORDER_RELEVANCE: SearchOrder.RELEVANCE,
    pb.SEARCH_ORDER_POPULAR: SearchOrder.POPULAR,
    pb.SEARCH_ORDER_NEWEST: SearchOrder.NEWEST,
    pb.SEARCH_ORDER_RATING: SearchOrder.RATING,
    pb.SEARCH_ORDER_REPUTATION: SearchOrder.REPUTATION,
}
_AGENT_STATES = {"active": pb.AGENT_STATE_ACTIVE, "deactivated": pb.AGENT_STATE_DEACTIVATED}


def agent_to_proto(row: AgentRow) -> pb.Agent:
    character = row.character or {}
    style = character.get("style") or {}
    message = pb.Agent(
        name=f"agents/{row.id}",
        display_name=row.display_name,
        description=row.description,
        avatar_uri=row.avatar_uri,
        owner_wallets=[
            common_pb2.ExternalWallet(chain=_CHAIN_PROTO[ChainFamily(w["chain"])], address=w["address"])
            for w in row.owner_wallets or []
        ],
        character=pb.Character(
            bio=character.get("bio", ""),
            traits=character.get("traits", []),
            topics=character.get("topics", []),
            style=pb.CharacterStyle(
                all=style.get("all", []), chat=style.get("chat", []), post=style.get("post", [])
            ),
        ),
        organization=row.organization,
        reputation=row.reputation,
        total_sales=row.total_sales,
        state=_AGENT_STATES.get(row.state, pb.AGENT_STATE_UNSPECIFIED),
        operator=row.is_operator,
        create_time=timestamp(row.created_at),
        update_time=timestamp(row.updated_at),
        etag=agent_etag(row),
    )
    identity = row.on_chain_identity
    if identity:
        message.on_chain_identity.CopyFrom(
            pb.OnChainIdentity(
                chain_id=int(identity["chain_id"]),
                identity_registry=identity["identity_registry"],
                token_id=str(identity["token_id"]),
                agent_uri=identity.get("agent_uri", ""),
                transaction_hash=identity.get("transaction_hash", ""),
            )
        )
    return message


def agent_draft(agent: pb.Agent) -> AgentDraft:
    return AgentDraft(
        display_name=agent.display_name,
        description=agent.description,
        avatar_uri=agent.avatar_uri,
        owner_wallets=[(_CHAINS.get(w.chain), w.address) for w in agent.owner_wallets],
        character=CharacterDraft(
            bio=agent.character.bio,
            traits=list(agent.character.traits),
            topics=list(agent.character.topics),
            style_all=list(agent.character.style.all),
            style_chat=list(agent.character.style.chat),
            style_post=list(agent.character.style.post),
        ),
        organization=agent.organization,
    )


def populated_agent_paths(agent: pb.Agent) -> set[str]:
    """Without an update_mask, the fields the client set are the ones to update (AIP-134)."""
    paths = {field.name for field, _ in agent.ListFields()}
    return paths & {"display_name", "description", "avatar_uri", "owner_wallets", "character", "organization"}


_ERC8004 = "ERC-8004 on-chain identity is planned work that no open issue schedules yet"


def search_query(request: pb.SearchRequest) -> SearchQuery:
    f = request.filter
    return SearchQuery(
        text=request.query,
        kinds=[_KINDS.get(k) for k in request.kinds],
        categories=[CATEGORIES.get(c) for c in f.categories],
        tags=list(f.tags),
        pricing_models=[PRICING_MODELS.get(m) for m in f.pricing_models],
        price_asset=f.price_asset,
        min_price=f.min_price if f.HasField("min_price") else None,
        max_price=f.max_price if f.HasField("max_price") else None,
        min_rating=f.min_rating,
        order=_ORDERS.get(request.order_by),
        page_size=request.page_size,
        page_token=request.page_token,
    )


def add_search_result(response: pb.SearchResponse, hit: SearchHit) -> None:
    # Filled in place: building each SearchResult first and passing the list to the response
    # constructor copies every resource twice, three times the cost for a page of 20 skills.
    result = response.results.add(score=hit.score)
    found = hit.resource
    if isinstance(found, AgentRow):
        result.agent.CopyFrom(agent_to_proto(found))
    elif isinstance(found, SkillRow):
        result.skill.CopyFrom(skill_to_proto(SkillView(found)))
    else:
        result.daemon.CopyFrom(daemon_to_proto(DaemonView(found)))


@service(
    pb.DESCRIPTOR.services_by_name["RegistryService"],
    pending={
        "RegisterAgentOnChain": _ERC8004,
        "GetAgentRegistrationFile": _ERC8004,
        "ListOnChainFeedback": _ERC8004,
    },
)
class RegistryServicer:
    def __init__(
        self,
        agents: AgentRegistry,
        skills: SkillRegistry,
        daemons: DaemonRegistry,
        search: SearchService,
        on_keys_revoked: Any,
    ) -> None:
        self._agents = agents
        self._skills = skills
        self._daemons = daemons
        self._search = search
        # Called with an agent id when its keys stop being valid, so cached keys die at once.
        self._on_keys_revoked = on_keys_revoked

    # --- agents -------------------------------------------------------------------------------

    async def CreateAgent(self, request: pb.CreateAgentRequest, ctx: Ctx) -> pb.CreateAgentResponse:
        created = await self._agents.create(request.agent_id, agent_draft(request.agent))
        return pb.CreateAgentResponse(agent=agent_to_proto(created.agent), api_key=created.api_key)

    async def GetAgent(self, request: pb.GetAgentRequest, ctx: Ctx) -> pb.GetAgentResponse:
        return pb.GetAgentResponse(agent=agent_to_proto(await self._agents.get(request.name)))

    async def ListAgents(self, request: pb.ListAgentsRequest, ctx: Ctx) -> pb.ListAgentsResponse:
        rows, next_token = await self._agents.list(
            size=request.page_size, token=request.page_token, organization=request.organization
        )
        return pb.ListAgentsResponse(agents=[agent_to_proto(r) for r in rows], next_page_token=next_token)

    async def UpdateAgent(self, request: pb.UpdateAgentRequest, ctx: Ctx) -> pb.UpdateAgentResponse:
        paths = (
            set(request.update_mask.paths)
            if request.HasField("update_mask")
            else populated_agent_paths(request.agent)
        )
        row = await self._agents.update(
            context.caller(), request.agent.name, agent_draft(request.agent), paths, request.agent.etag
        )
        return pb.UpdateAgentResponse(agent=agent_to_proto(row))

    async def RotateApiKey(self, request: pb.RotateApiKeyRequest, ctx: Ctx) -> pb.RotateApiKeyResponse:
        caller = context.caller()
        token = await self._agents.rotate_key(caller, request.name)
        self._on_keys_revoked(request.name.removeprefix("agents/"))
        return pb.RotateApiKeyResponse(api_key=token)

    async def DeactivateAgent(
        self, request: pb.DeactivateAgentRequest, ctx: Ctx
    ) -> pb.DeactivateAgentResponse:
        row = await self._agents.deactivate(context.caller(), request.name)
        self._on_keys_revoked(row.id)
        return pb.DeactivateAgentResponse(agent=agent_to_proto(row))

    # --- skills -------------------------------------------------------------------------------

    async def CreateSkill(self, request: pb.CreateSkillRequest, ctx: Ctx) -> pb.CreateSkillResponse:
        row = await self._skills.create(context.caller(), request.skill_id, skill_draft(request.skill))
        return pb.CreateSkillResponse(skill=skill_to_proto(SkillView(row)))

    async def GetSkill(self, request: pb.GetSkillRequest, ctx: Ctx) -> pb.GetSkillResponse:
        return pb.GetSkillResponse(skill=skill_to_proto(await self._skills.get(request.name)))

    async def ListSkills(self, request: pb.ListSkillsRequest, ctx: Ctx) -> pb.ListSkillsResponse:
        rows, next_token = await self._skills.list_skills(
            size=request.page_size,
            token=request.page_token,
            owner=request.owner,
            category=CATEGORIES.get(request.category),
            show_deprecated=request.show_deprecated,
        )
        return pb.ListSkillsResponse(
            skills=[skill_to_proto(SkillView(r)) for r in rows], next_page_token=next_token
        )

    async def UpdateSkill(self, request: pb.UpdateSkillRequest, ctx: Ctx) -> pb.UpdateSkillResponse:
        paths = (
            set(request.update_mask.paths)
            if request.HasField("update_mask")
            else populated_paths(request.skill, skills.UPDATABLE_PATHS)
        )
        row = await self._skills.update(
            context.caller(), request.skill.name, skill_draft(request.skill), paths, request.skill.etag
        )
        return pb.UpdateSkillResponse(skill=skill_to_proto(SkillView(row)))

    async def ListSkillVersions(
        self, request: pb.ListSkillVersionsRequest, ctx: Ctx
    ) -> pb.ListSkillVersionsResponse:
        row, versions, next_token = await self._skills.list_versions(
            request.name, size=request.page_size, token=request.page_token
        )
        return pb.ListSkillVersionsResponse(
            skills=[skill_to_proto(SkillView(row, v)) for v in versions], next_page_token=next_token
        )

    async def DeprecateSkill(self, request: pb.DeprecateSkillRequest, ctx: Ctx) -> pb.DeprecateSkillResponse:
        row = await self._skills.deprecate(context.caller(), request.name, request.reason)
        return pb.DeprecateSkillResponse(skill=skill_to_proto(SkillView(row)))

    # --- daemons ------------------------------------------------------------------------------

    async def CreateDaemon(self, request: pb.CreateDaemonRequest, ctx: Ctx) -> pb.CreateDaemonResponse:
        row = await self._daemons.create(context.caller(), request.daemon_id, daemon_draft(request.daemon))
        return pb.CreateDaemonResponse(daemon=daemon_to_proto(DaemonView(row)))

    async def GetDaemon(self, request: pb.GetDaemonRequest, ctx: Ctx) -> pb.GetDaemonResponse:
        view = await self._daemons.get(context.optional_caller(), request.name)
        return pb.GetDaemonResponse(daemon=daemon_to_proto(view))

    async def ListDaemons(self, request: pb.ListDaemonsRequest, ctx: Ctx) -> pb.ListDaemonsResponse:
        rows, next_token = await self._daemons.list_daemons(
            context.optional_caller(),
            size=request.page_size,
            token=request.page_token,
            owner=request.owner,
            category=CATEGORIES.get(request.category),
            show_deprecated=request.show_deprecated,
        )
        return pb.ListDaemonsResponse(
            daemons=[daemon_to_proto(DaemonView(r)) for r in rows], next_page_token=next_token
        )

    async def UpdateDaemon(self, request: pb.UpdateDaemonRequest, ctx: Ctx) -> pb.UpdateDaemonResponse:
        paths = (
            set(request.update_mask.paths)
            if request.HasField("update_mask")
            else populated_paths(request.daemon, daemons.UPDATABLE_PATHS)
        )
        row = await self._daemons.update(
            context.caller(), request.daemon.name, daemon_draft(request.daemon), paths, request.daemon.etag
        )
        return pb.UpdateDaemonResponse(daemon=daemon_to_proto(DaemonView(row)))

    async def ListDaemonVersions(
        self, request: pb.ListDaemonVersionsRequest, ctx: Ctx
    ) -> pb.ListDaemonVersionsResponse:
        row, versions, next_token = await self._daemons.list_versions(
            context.optional_caller(), request.name, size=request.page_size, token=request.page_token
        )
        return pb.ListDaemonVersionsResponse(
            daemons=[daemon_to_proto(DaemonView(row, v)) for v in versions], next_page_token=next_token
        )

    async def ForkDaemon(self, request: pb.ForkDaemonRequest, ctx: Ctx) -> pb.ForkDaemonResponse:
        row = await self._daemons.fork(
            context.caller(), request.name, request.daemon_id, request.display_name
        )
        return pb.ForkDaemonResponse(daemon=daemon_to_proto(DaemonView(row)))

    async def DeprecateDaemon(
        self, request: pb.DeprecateDaemonRequest, ctx: Ctx
    ) -> pb.DeprecateDaemonResponse:
        row = await self._daemons.deprecate(context.caller(), request.name, request.reason)
        return pb.DeprecateDaemonResponse(daemon=daemon_to_proto(DaemonView(row)))

    # --- discovery ----------------------------------------------------------------------------

    async def Search(self, request: pb.SearchRequest, ctx: Ctx) -> pb.SearchResponse:
        hits, next_token = await self._search.search(search_query(request))
        response = pb.SearchResponse(next_page_token=next_token)
        for hit in hits:
            add_search_result(response, hit)
        return response
