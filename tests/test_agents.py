"""Registry agents over the real server: create, get, list, update, keys, deactivate, bad input."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2

from agentos.common.v1 import common_pb2
from agentos.registry.v1 import registry_pb2 as pb

from testkit import AgentHandle, ServerHandle, assert_refused, bearer, create_agent, unique_id

EVM_CHECKSUMMED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
SOLANA_KEY = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"


def test_create_returns_agent_and_key_once(server: ServerHandle) -> None:
    agent_id = unique_id("weather")
    response = server.registry.CreateAgent(
        pb.CreateAgentRequest(
            agent_id=agent_id,
            agent=pb.Agent(
                display_name="Weather Bot",
                description="Answers weather questions",
                avatar_uri="ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
                owner_wallets=[
                    common_pb2.ExternalWallet(chain=common_pb2.CHAIN_EVM, address=EVM_CHECKSUMMED.lower()),
                    common_pb2.ExternalWallet(chain=common_pb2.CHAIN_SOLANA, address=SOLANA_KEY),
                ],
                character=pb.Character(
                    bio="A helpful meteorologist",
                    traits=["helpful", "precise"],
                    style=pb.CharacterStyle(chat=["short answers"]),
                ),
            ),
        )
    )
    agent = response.agent
    assert agent.name == f"agents/{agent_id}"
    assert response.api_key.startswith("aos_")
    assert len(response.api_key) > 60
    # Lower-case EVM addresses are stored in their checksummed form.
    assert agent.owner_wallets[0].address == EVM_CHECKSUMMED
    assert agent.character.traits == ["helpful", "precise"]
    assert agent.state == pb.AGENT_STATE_ACTIVE
    assert agent.etag

    fetched = server.registry.GetAgent(pb.GetAgentRequest(name=agent.name)).agent
    assert fetched == agent
    # The key is never shown again and never stored in clear.
    assert response.api_key not in str(fetched)


def test_list_agents_pages_newest_first(server: ServerHandle) -> None:
    org = unique_id("org")
    made = [create_agent(server, "lister", organization=org).name for _ in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page = server.registry.ListAgents(
            pb.ListAgentsRequest(page_size=2, page_token=token, organization=org)
        )
        assert len(page.agents) <= 2
        seen += [a.name for a in page.agents]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(made))


def test_update_with_mask_and_etag(server: ServerHandle, agent: AgentHandle) -> None:
    current = server.registry.GetAgent(pb.GetAgentRequest(name=agent.name)).agent
    updated = server.registry.UpdateAgent(
        pb.UpdateAgentRequest(
            agent=pb.Agent(
                name=agent.name, description="new description", display_name="ignored", etag=current.etag
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        metadata=agent.auth,
    ).agent
    assert updated.description == "new description"
    assert updated.display_name == current.display_name
    assert updated.etag != current.etag

    # The old etag is stale now.
    assert_refused(
        server,
        lambda: server.registry.UpdateAgent(
            pb.UpdateAgentRequest(
                agent=pb.Agent(name=agent.name, description="lost update", etag=current.etag),
                update_mask=field_mask_pb2.FieldMask(paths=["description"]),
            ),
            metadata=agent.auth,
        ),
        grpc.StatusCode.ABORTED,
        reason="ETAG_MISMATCH",
        field="etag",
    )


def test_update_character_subfield_keeps_the_rest(server: ServerHandle) -> None:
    made = create_agent(server, "persona", character=pb.Character(bio="old bio", traits=["calm"]))
    updated = server.registry.UpdateAgent(
        pb.UpdateAgentRequest(
            agent=pb.Agent(name=made.name, character=pb.Character(bio="new bio")),
            update_mask=field_mask_pb2.FieldMask(paths=["character.bio"]),
        ),
        metadata=made.auth,
    ).agent
    assert updated.character.bio == "new bio"
    assert list(updated.character.traits) == ["calm"]


def test_rotate_key_revokes_the_old_one(server: ServerHandle, agent: AgentHandle) -> None:
    new_key = server.registry.RotateApiKey(
        pb.RotateApiKeyRequest(name=agent.name), metadata=agent.auth
    ).api_key
    assert new_key != agent.api_key
    assert_refused(
        server,
        lambda: server.registry.RotateApiKey(pb.RotateApiKeyRequest(name=agent.name), metadata=agent.auth),
        grpc.StatusCode.UNAUTHENTICATED,
        reason="INVALID_API_KEY",
    )
    server.registry.UpdateAgent(
        pb.UpdateAgentRequest(
            agent=pb.Agent(name=agent.name, description="with the new key"),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        metadata=bearer(new_key),
    )


def test_deactivate_stops_the_key_and_hides_from_lists(server: ServerHandle) -> None:
    org = unique_id("org")
    made = create_agent(server, "leaving", organization=org)
    deactivated = server.registry.DeactivateAgent(
        pb.DeactivateAgentRequest(name=made.name), metadata=made.auth
    ).agent
    assert deactivated.state == pb.AGENT_STATE_DEACTIVATED
    listed = server.registry.ListAgents(pb.ListAgentsRequest(organization=org)).agents
    assert made.name not in [a.name for a in listed]
    assert_refused(
        server,
        lambda: server.registry.RotateApiKey(pb.RotateApiKeyRequest(name=made.name), metadata=made.auth),
        grpc.StatusCode.UNAUTHENTICATED,
    )


# --- bad input: the right code, the field named, nothing written ---------------------------------


def test_empty_and_overlong_names(server: ServerHandle) -> None:
    for display_name in ["", "   ", "x" * 101]:
        assert_refused(
            server,
            lambda: server.registry.CreateAgent(
                pb.CreateAgentRequest(agent_id=unique_id(), agent=pb.Agent(display_name=display_name))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="agent.display_name",
        )
    for agent_id in ["", "ab", "Has-Capitals", "x" * 64, "1starts-with-digit", "ends-with-"]:
        assert_refused(
            server,
            lambda: server.registry.CreateAgent(
                pb.CreateAgentRequest(agent_id=agent_id, agent=pb.Agent(display_name="Fine"))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="agent_id",
        )


def test_duplicate_agent_name(server: ServerHandle, agent: AgentHandle) -> None:
    assert_refused(
        server,
        lambda: server.registry.CreateAgent(
            pb.CreateAgentRequest(agent_id=agent.id, agent=pb.Agent(display_name="Copy"))
        ),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="AGENT_EXISTS",
        field="agent_id",
    )


def test_invalid_wallets(server: ServerHandle) -> None:
    bad_checksum = EVM_CHECKSUMMED[:-1] + ("d" if EVM_CHECKSUMMED[-1] != "d" else "e")
    cases = [
        (common_pb2.CHAIN_EVM, bad_checksum.replace("a", "A", 1)),
        (common_pb2.CHAIN_EVM, "0x1234"),
        (common_pb2.CHAIN_SOLANA, "not-base58-0OIl"),
        (common_pb2.CHAIN_SOLANA, "111111111111111111111111111111111111111111111"),
        (common_pb2.CHAIN_UNSPECIFIED, EVM_CHECKSUMMED),
    ]
    for chain, address in cases:
        found = assert_refused(
            server,
            lambda: server.registry.CreateAgent(
                pb.CreateAgentRequest(
                    agent_id=unique_id(),
                    agent=pb.Agent(
                        display_name="Wallets",
                        owner_wallets=[common_pb2.ExternalWallet(chain=chain, address=address)],
                    ),
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert any(f.startswith("agent.owner_wallets[0]") for f in found.fields), (address, found.fields)


def test_all_problems_are_reported_at_once(server: ServerHandle) -> None:
    found = assert_refused(
        server,
        lambda: server.registry.CreateAgent(
            pb.CreateAgentRequest(
                agent_id="BAD", agent=pb.Agent(display_name="", avatar_uri="ftp://example.com/a.png")
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert {"agent_id", "agent.display_name", "agent.avatar_uri"} <= set(found.fields)


def test_missing_and_wrong_api_key(server: ServerHandle, agent: AgentHandle) -> None:
    request = pb.RotateApiKeyRequest(name=agent.name)
    assert_refused(
        server,
        lambda: server.registry.RotateApiKey(request),
        grpc.StatusCode.UNAUTHENTICATED,
        reason="MISSING_API_KEY",
    )
    forged = agent.api_key[:-4] + "AAAA"
    assert_refused(
        server,
        lambda: server.registry.RotateApiKey(request, metadata=bearer(forged)),
        grpc.StatusCode.UNAUTHENTICATED,
        reason="INVALID_API_KEY",
    )
    assert_refused(
        server,
        lambda: server.registry.RotateApiKey(request, metadata=(("authorization", "Basic abc"),)),
        grpc.StatusCode.UNAUTHENTICATED,
        reason="INVALID_AUTHORIZATION_HEADER",
    )


def test_updating_another_agent_is_denied(
    server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle
) -> None:
    assert_refused(
        server,
        lambda: server.registry.UpdateAgent(
            pb.UpdateAgentRequest(
                agent=pb.Agent(name=other_agent.name, description="hijack"),
                update_mask=field_mask_pb2.FieldMask(paths=["description"]),
            ),
            metadata=agent.auth,
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        reason="NOT_OWNER",
    )


def test_bad_update_masks(server: ServerHandle, agent: AgentHandle) -> None:
    for paths in (["reputation"], ["state"], ["name"], ["no_such_field"]):
        assert_refused(
            server,
            lambda: server.registry.UpdateAgent(
                pb.UpdateAgentRequest(
                    agent=pb.Agent(name=agent.name), update_mask=field_mask_pb2.FieldMask(paths=paths)
                ),
                metadata=agent.auth,
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="update_mask",
        )


def test_get_unknown_and_malformed_names(server: ServerHandle) -> None:
    assert_refused(
        server,
        lambda: server.registry.GetAgent(pb.GetAgentRequest(name="agents/nobody-here")),
        grpc.StatusCode.NOT_FOUND,
        reason="AGENT_NOT_FOUND",
    )
    for name in ["", "nobody", "skills/x", "agents/"]:
        assert_refused(
            server,
            lambda: server.registry.GetAgent(pb.GetAgentRequest(name=name)),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="name",
        )


def test_negative_page_size_and_forged_token(server: ServerHandle) -> None:
    assert_refused(
        server,
        lambda: server.registry.ListAgents(pb.ListAgentsRequest(page_size=-1)),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="page_size",
    )
    for token in ["garbage", "eyJ0IjoiMjAyNiJ9.AAAA", "a.b.c"]:
        assert_refused(
            server,
            lambda: server.registry.ListAgents(pb.ListAgentsRequest(page_token=token)),
            grpc.StatusCode.INVALID_ARGUMENT,
            reason="INVALID_PAGE_TOKEN",
            field="page_token",
        )


def test_page_token_is_bound_to_its_filters(server: ServerHandle) -> None:
    org = unique_id("org")
    for _ in range(3):
        create_agent(server, "bound", organization=org)
    token = server.registry.ListAgents(pb.ListAgentsRequest(page_size=1, organization=org)).next_page_token
    assert token
    assert_refused(
        server,
        lambda: server.registry.ListAgents(
            pb.ListAgentsRequest(page_size=1, page_token=token, organization="")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="page_token",
    )


def test_sdk_client_attaches_the_key(server: ServerHandle, agent: AgentHandle) -> None:
    from agentos import Client

    with Client(server.address, api_key=agent.api_key) as client:
        updated = client.registry.UpdateAgent(
            pb.UpdateAgentRequest(
                agent=pb.Agent(name=agent.name, description="via the SDK"),
                update_mask=field_mask_pb2.FieldMask(paths=["description"]),
            )
        ).agent
    assert updated.description == "via the SDK"


def test_async_sdk_client(server: ServerHandle, agent: AgentHandle) -> None:
    import asyncio

    from agentos import AsyncClient

    async def call() -> pb.Agent:
        async with AsyncClient(server.address, api_key=agent.api_key) as client:
            response = await client.registry.UpdateAgent(
                pb.UpdateAgentRequest(
                    agent=pb.Agent(name=agent.name, description="via the async SDK"),
                    update_mask=field_mask_pb2.FieldMask(paths=["description"]),
                )
            )
            return response.agent

    assert asyncio.run(call()).description == "via the async SDK"
