"""Registry daemons over the real server: publish, versions, visibility, forks, deprecation, bad input."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from agentos.common.v1 import common_pb2
from agentos.registry.v1 import registry_pb2 as pb
from agentos_server.domain.caller import Caller
from agentos_server.domain.daemons import Visibility
from agentos_server.domain.errors import NotFound

from testkit import AgentHandle, ServerHandle, assert_refused, create_agent, unique_id

DEFINITION = """
version: '{version}'
inputs:
  - name: topic
    type: string
    description: What to write about
  - name: tone
    type: enum
    options: [formal, casual]
    default: casual
stages:
  - name: Outline
    model: builtin-small
    prompt_template: "Outline ${{topic}} in a ${{tone}} tone"
    output: outline
  - name: Count words
    runtime: python
    script: "print(len('''${{outline}}'''.split()))"
    output: words
"""


def definition(version: str = "1.0.0") -> str:
    return DEFINITION.format(version=version)


def daemon_message(**overrides: Any) -> pb.Daemon:
    fields: dict[str, Any] = {
        "display_name": "Blog writer",
        "description": "Outlines a post and counts its words",
        "version": "1.0.0",
        "definition_yaml": definition(),
        "category": pb.CATEGORY_CONTENT,
        "tags": ["writing", "blog"],
        "pricing": pb.Pricing(model=pb.PRICING_MODEL_FREE),
        "license": "MIT",
        "visibility": pb.VISIBILITY_PUBLIC,
    }
    fields.update(overrides)
    return pb.Daemon(**fields)


def create_daemon(server: ServerHandle, owner: AgentHandle, **overrides: Any) -> pb.Daemon:
    daemon_id = overrides.pop("daemon_id", unique_id("daemon"))
    return server.registry.CreateDaemon(
        pb.CreateDaemonRequest(daemon_id=daemon_id, daemon=daemon_message(**overrides)), metadata=owner.auth
    ).daemon


def update_daemon(
    server: ServerHandle, owner: AgentHandle, daemon: pb.Daemon, paths: list[str], **fields: Any
) -> pb.Daemon:
    return server.registry.UpdateDaemon(
        pb.UpdateDaemonRequest(
            daemon=pb.Daemon(name=daemon.name, **fields), update_mask=field_mask_pb2.FieldMask(paths=paths)
        ),
        metadata=owner.auth,
    ).daemon


def visible_names(server: ServerHandle, owner: AgentHandle, caller: AgentHandle | None) -> set[str]:
    metadata = caller.auth if caller else None
    page = server.registry.ListDaemons(pb.ListDaemonsRequest(owner=owner.name), metadata=metadata)
    return {d.name for d in page.daemons}


def test_create_parses_the_definition(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = create_daemon(server, agent)
    assert daemon.owner == agent.name
    assert daemon.version == "1.0.0"
    assert daemon.state == pb.LISTING_STATE_ACTIVE
    assert daemon.visibility == pb.VISIBILITY_PUBLIC
    assert daemon.etag
    spec = daemon.spec
    assert [(i.name, i.type, i.required) for i in spec.inputs] == [
        ("topic", pb.INPUT_TYPE_STRING, True),
        ("tone", pb.INPUT_TYPE_ENUM, False),
    ]
    assert list(spec.inputs[1].options) == ["formal", "casual"]
    assert spec.inputs[1].default_json == '"casual"'
    assert [(s.name, s.kind, list(s.needs)) for s in spec.stages] == [
        ("Outline", pb.STAGE_KIND_AGENT, []),
        ("Count words", pb.STAGE_KIND_SCRIPT, ["Outline"]),
    ]
    assert spec.stages[0].model == "builtin-small"
    assert spec.stages[1].runtime == pb.SCRIPT_RUNTIME_PYTHON
    assert spec.limits.timeout_seconds == 3600

    fetched = server.registry.GetDaemon(pb.GetDaemonRequest(name=daemon.name)).daemon
    assert fetched == daemon


def test_generated_id_when_none_is_given(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = server.registry.CreateDaemon(
        pb.CreateDaemonRequest(daemon=daemon_message()), metadata=agent.auth
    ).daemon
    assert len(daemon.name.removeprefix("daemons/")) == 26


def test_updates_keep_every_version(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = create_daemon(server, agent)
    second = update_daemon(
        server,
        agent,
        daemon,
        ["definition_yaml", "description"],
        version="1.1.0",
        definition_yaml=definition("1.1.0"),
        description="Second edition",
        etag=daemon.etag,
    )
    assert second.version == "1.1.0"
    assert second.description == "Second edition"
    assert second.etag != daemon.etag
    # A version without `version:` in its definition may change without touching the YAML.
    unpinned = definition("x").replace("version: 'x'\n", "")
    third = update_daemon(
        server, agent, second, ["definition_yaml"], version="2.0.0-rc.1", definition_yaml=unpinned
    )
    fourth = update_daemon(server, agent, third, ["tags"], version="2.0.0", tags=["final"])
    assert list(fourth.tags) == ["final"]

    versions = server.registry.ListDaemonVersions(pb.ListDaemonVersionsRequest(name=daemon.name)).daemons
    assert [v.name for v in versions] == [
        f"{daemon.name}@2.0.0",
        f"{daemon.name}@2.0.0-rc.1",
        f"{daemon.name}@1.1.0",
        f"{daemon.name}@1.0.0",
    ]
    assert versions[-1].description == daemon.description
    first = server.registry.GetDaemon(pb.GetDaemonRequest(name=f"{daemon.name}@1.0.0")).daemon
    assert first.description == daemon.description
    assert first.definition_yaml == daemon.definition_yaml
    assert server.registry.GetDaemon(pb.GetDaemonRequest(name=daemon.name)).daemon.version == "2.0.0"

    # Paging through the versions two at a time returns them all, once.
    seen: list[str] = []
    token = ""
    while True:
        page = server.registry.ListDaemonVersions(
            pb.ListDaemonVersionsRequest(name=daemon.name, page_size=2, page_token=token)
        )
        seen += [v.version for v in page.daemons]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["2.0.0", "2.0.0-rc.1", "1.1.0", "1.0.0"]


def test_version_must_increase(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = create_daemon(server, agent, version="1.2.0", definition_yaml=definition("1.2.0"))
    for version in ["1.2.0", "1.1.9", "1.2.0-beta", "1.2.0+build.5"]:
        assert_refused(
            server,
            lambda: update_daemon(server, agent, daemon, ["description"], version=version, description="x"),
            grpc.StatusCode.INVALID_ARGUMENT,
            reason="VERSION_NOT_INCREASED",
            field="daemon.version",
        )
    for version in ["", "1.2", "v1.3.0", "1.3.0.0", "01.3.0"]:
        assert_refused(
            server,
            lambda: update_daemon(server, agent, daemon, ["description"], version=version, description="x"),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="daemon.version",
        )


def test_a_pinned_definition_must_follow_the_version(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = create_daemon(server, agent)
    found = assert_refused(
        server,
        lambda: update_daemon(server, agent, daemon, ["description"], version="1.0.1", description="x"),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason="INVALID_DAEMON_DEFINITION",
        field="daemon.definition_yaml",
    )
    assert "1.0.1" in found.message


@pytest.mark.parametrize(
    ("text", "reason", "expected"),
    [
        ("stages: [\n", "INVALID_YAML", "is not valid YAML"),
        (
            "stages:\n  - name: A\n    model: m\n    prompt: 'hi ${nobody}'\n",
            "INVALID_DAEMON_DEFINITION",
            "${nobody}",
        ),
        (
            "stages:\n  - {name: A, model: m, prompt: x, needs: [B]}\n"
            "  - {name: B, model: m, prompt: x, needs: [A]}\n",
            "INVALID_DAEMON_DEFINITION",
            "cycle",
        ),
        ("stages:\n  - {name: A, model: m, prompt: x, colour: red}\n", "INVALID_DAEMON_DEFINITION", "colour"),
        ("", "INVALID_DAEMON_DEFINITION", "is required"),
    ],
)
def test_bad_definitions_are_refused(
    server: ServerHandle, agent: AgentHandle, text: str, reason: str, expected: str
) -> None:
    found = assert_refused(
        server,
        lambda: server.registry.CreateDaemon(
            pb.CreateDaemonRequest(
                daemon_id=unique_id("bad"), daemon=daemon_message(definition_yaml=text, version="1.0.0")
            ),
            metadata=agent.auth,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason=reason,
        field="daemon.definition_yaml",
    )
    assert expected in found.message


def test_bad_fields_are_all_reported(server: ServerHandle, agent: AgentHandle) -> None:
    found = assert_refused(
        server,
        lambda: server.registry.CreateDaemon(
            pb.CreateDaemonRequest(
                daemon_id="Bad_Id",
                daemon=daemon_message(
                    display_name="",
                    version="one",
                    category=pb.CATEGORY_UNSPECIFIED,
                    tags=["Not A Tag!"],
                    license="not a licence",
                    pricing=pb.Pricing(
                        model=pb.PRICING_MODEL_FREE, price=common_pb2.Money(asset="USDC", amount=5)
                    ),
                    allowed_agents=["nobody"],
                ),
            ),
            metadata=agent.auth,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert {
        "daemon_id",
        "daemon.display_name",
        "daemon.version",
        "daemon.category",
        "daemon.tags[0]",
        "daemon.license",
        "daemon.pricing.price.amount",
        "daemon.allowed_agents[0]",
    } <= set(found.fields)


def test_names_too_long_and_empty(server: ServerHandle, agent: AgentHandle) -> None:
    for display_name in ["", "  ", "d" * 101]:
        assert_refused(
            server,
            lambda: create_daemon(server, agent, display_name=display_name),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="daemon.display_name",
        )


def test_unknown_allowed_agent(server: ServerHandle, agent: AgentHandle) -> None:
    assert_refused(
        server,
        lambda: create_daemon(
            server, agent, visibility=pb.VISIBILITY_LISTED_AGENTS, allowed_agents=["agents/no-such-agent"]
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="daemon.allowed_agents[0]",
    )


def test_duplicate_id(server: ServerHandle, agent: AgentHandle) -> None:
    daemon = create_daemon(server, agent)
    assert_refused(
        server,
        lambda: create_daemon(server, agent, daemon_id=daemon.name.removeprefix("daemons/")),
        grpc.StatusCode.ALREADY_EXISTS,
        reason="DAEMON_EXISTS",
        field="daemon_id",
    )


def test_visibility_rules(server: ServerHandle) -> None:
    org = unique_id("org")
    owner = create_agent(server, "owner", organization=org)
    colleague = create_agent(server, "colleague", organization=org)
    friend = create_agent(server, "friend")
    stranger = create_agent(server, "stranger", organization=unique_id("org"))

    public = create_daemon(server, owner)
    private = create_daemon(server, owner, visibility=pb.VISIBILITY_PRIVATE)
    default = create_daemon(server, owner, visibility=pb.VISIBILITY_UNSPECIFIED)
    shared_org = create_daemon(
        server, owner, visibility=pb.VISIBILITY_ORGANIZATION, allowed_organizations=[org]
    )
    listed = create_daemon(
        server, owner, visibility=pb.VISIBILITY_LISTED_AGENTS, allowed_agents=[friend.name, friend.name]
    )
    assert default.visibility == pb.VISIBILITY_PRIVATE
    assert list(listed.allowed_agents) == [friend.name]

    everything = {public.name, private.name, default.name, shared_org.name, listed.name}
    assert visible_names(server, owner, owner) == everything
    assert visible_names(server, owner, colleague) == {public.name, shared_org.name}
    assert visible_names(server, owner, friend) == {public.name, listed.name}
    assert visible_names(server, owner, stranger) == {public.name}
    assert visible_names(server, owner, None) == {public.name}

    for caller, hidden in [
        (stranger, [private.name, shared_org.name, listed.name]),
        (colleague, [private.name, listed.name]),
        (friend, [private.name, shared_org.name]),
        (None, [private.name, default.name, shared_org.name, listed.name]),
    ]:
        for name in hidden:
            assert_refused(
                server,
                lambda: server.registry.GetDaemon(
                    pb.GetDaemonRequest(name=name), metadata=caller.auth if caller else None
                ),
                grpc.StatusCode.NOT_FOUND,
                reason="DAEMON_NOT_FOUND",
            )
    assert server.registry.GetDaemon(
        pb.GetDaemonRequest(name=shared_org.name), metadata=colleague.auth
    ).daemon
    assert server.registry.GetDaemon(pb.GetDaemonRequest(name=listed.name), metadata=friend.auth).daemon

    # Widening the visibility later shows the daemon to everyone.
    update_daemon(
        server,
        owner,
        private,
        ["visibility", "definition_yaml"],
        version="1.0.1",
        visibility=pb.VISIBILITY_PUBLIC,
        definition_yaml=definition("1.0.1"),
    )
    assert private.name in visible_names(server, owner, stranger)


def test_forks_record_lineage(server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle) -> None:
    source = create_daemon(
        server,
        agent,
        pricing=pb.Pricing(
            model=pb.PRICING_MODEL_ONE_TIME, price=common_pb2.Money(asset="USDC", amount=4_990_000)
        ),
    )
    update_daemon(
        server, agent, source, ["definition_yaml"], version="1.1.0", definition_yaml=definition("1.1.0")
    )
    fork = server.registry.ForkDaemon(
        pb.ForkDaemonRequest(name=f"{source.name}@1.0.0", display_name="My blog writer"),
        metadata=other_agent.auth,
    ).daemon
    assert fork.owner == other_agent.name
    assert fork.display_name == "My blog writer"
    assert fork.version == "1.0.0"
    assert fork.definition_yaml == source.definition_yaml
    assert fork.forked_from == f"{source.name}@1.0.0"
    assert list(fork.lineage) == [f"{source.name}@1.0.0"]
    assert fork.visibility == pb.VISIBILITY_PRIVATE
    assert fork.pricing.model == pb.PRICING_MODEL_FREE
    assert fork.license == "MIT"

    # The fork is the forker's own: it can publish it and others can fork it in turn.
    update_daemon(
        server,
        other_agent,
        fork,
        ["visibility", "definition_yaml"],
        version="1.0.1",
        visibility=pb.VISIBILITY_PUBLIC,
        definition_yaml=definition("1.0.1"),
    )
    third = create_agent(server, "third")
    grandchild = server.registry.ForkDaemon(
        pb.ForkDaemonRequest(name=fork.name, daemon_id=unique_id("grandchild")), metadata=third.auth
    ).daemon
    assert grandchild.forked_from == f"{fork.name}@1.0.1"
    assert list(grandchild.lineage) == [f"{fork.name}@1.0.1", f"{source.name}@1.0.0"]
    assert grandchild.display_name == "My blog writer"

    refreshed = server.registry.GetDaemon(pb.GetDaemonRequest(name=source.name)).daemon
    assert refreshed.fork_count == 1
    # A fork is a statistic of the source, not an edit: the owner's etag stays valid.
    assert refreshed.etag == server.registry.GetDaemon(pb.GetDaemonRequest(name=source.name)).daemon.etag
    assert server.registry.GetDaemon(pb.GetDaemonRequest(name=fork.name)).daemon.fork_count == 1


def test_only_visible_daemons_can_be_forked(
    server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle
) -> None:
    private = create_daemon(server, agent, visibility=pb.VISIBILITY_PRIVATE)
    assert_refused(
        server,
        lambda: server.registry.ForkDaemon(
            pb.ForkDaemonRequest(name=private.name), metadata=other_agent.auth
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    public = create_daemon(server, agent)
    assert_refused(
        server,
        lambda: server.registry.ForkDaemon(
            pb.ForkDaemonRequest(name=f"{public.name}@9.9.9"), metadata=other_agent.auth
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert_refused(
        server,
        lambda: server.registry.ForkDaemon(
            pb.ForkDaemonRequest(name=public.name, daemon_id=public.name.removeprefix("daemons/")),
            metadata=other_agent.auth,
        ),
        grpc.StatusCode.ALREADY_EXISTS,
        field="daemon_id",
    )


def test_deprecation(server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle) -> None:
    daemon = create_daemon(server, agent)
    assert_refused(
        server,
        lambda: server.registry.DeprecateDaemon(
            pb.DeprecateDaemonRequest(name=daemon.name), metadata=other_agent.auth
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        reason="NOT_OWNER",
    )
    deprecated = server.registry.DeprecateDaemon(
        pb.DeprecateDaemonRequest(name=daemon.name, reason="superseded"), metadata=agent.auth
    ).daemon
    assert deprecated.state == pb.LISTING_STATE_DEPRECATED
    assert daemon.name not in visible_names(server, agent, agent)
    listed = server.registry.ListDaemons(
        pb.ListDaemonsRequest(owner=agent.name, show_deprecated=True)
    ).daemons
    assert daemon.name in {d.name for d in listed}
    assert_refused(
        server,
        lambda: update_daemon(server, agent, deprecated, ["description"], version="9.0.0", description="x"),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="LISTING_DEPRECATED",
    )


def test_ownership_etag_and_existence(
    server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle
) -> None:
    daemon = create_daemon(server, agent)
    assert_refused(
        server,
        lambda: update_daemon(server, other_agent, daemon, ["description"], version="2.0.0", description="x"),
        grpc.StatusCode.PERMISSION_DENIED,
        reason="NOT_OWNER",
    )
    newer = update_daemon(
        server, agent, daemon, ["definition_yaml"], version="1.0.1", definition_yaml=definition("1.0.1")
    )
    assert_refused(
        server,
        lambda: update_daemon(
            server,
            agent,
            daemon,
            ["definition_yaml"],
            version="1.0.2",
            definition_yaml=definition("1.0.2"),
            etag=daemon.etag,
        ),
        grpc.StatusCode.ABORTED,
        reason="ETAG_MISMATCH",
        field="etag",
    )
    assert newer.etag != daemon.etag
    assert_refused(
        server,
        lambda: update_daemon(
            server, agent, pb.Daemon(name="daemons/no-such-daemon"), ["tags"], version="2.0.0"
        ),
        grpc.StatusCode.NOT_FOUND,
        reason="DAEMON_NOT_FOUND",
    )
    for paths in (["owner"], ["fork_count"], ["spec"], []):
        assert_refused(
            server,
            lambda: update_daemon(server, agent, newer, paths, version="3.0.0"),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="update_mask",
        )
    assert_refused(
        server,
        lambda: server.registry.GetDaemon(pb.GetDaemonRequest(name=f"{daemon.name}@not-semver")),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="name",
    )


def test_list_pages_and_tokens(server: ServerHandle) -> None:
    owner = create_agent(server, "pager")
    made = [create_daemon(server, owner).name for _ in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page = server.registry.ListDaemons(
            pb.ListDaemonsRequest(owner=owner.name, page_size=2, page_token=token)
        )
        seen += [d.name for d in page.daemons]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(made))

    first = server.registry.ListDaemons(pb.ListDaemonsRequest(owner=owner.name, page_size=2))
    assert_refused(
        server,
        lambda: server.registry.ListDaemons(
            pb.ListDaemonsRequest(page_size=2, page_token=first.next_page_token, owner="")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        reason="INVALID_PAGE_TOKEN",
        field="page_token",
    )
    forged = first.next_page_token[:-3] + ("AAA" if not first.next_page_token.endswith("AAA") else "BBB")
    assert_refused(
        server,
        lambda: server.registry.ListDaemons(pb.ListDaemonsRequest(owner=owner.name, page_token=forged)),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="page_token",
    )
    assert_refused(
        server,
        lambda: server.registry.ListDaemons(pb.ListDaemonsRequest(page_size=-1)),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="page_size",
    )


def test_deactivated_owner(server: ServerHandle) -> None:
    owner = create_agent(server, "leaving")
    daemon = create_daemon(server, owner)
    server.registry.DeactivateAgent(pb.DeactivateAgentRequest(name=owner.name), metadata=owner.auth)
    assert daemon.name not in visible_names(server, owner, None)
    assert_refused(
        server,
        lambda: create_daemon(server, owner),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    # Existing references keep resolving: the daemon itself is still readable.
    assert server.registry.GetDaemon(pb.GetDaemonRequest(name=daemon.name)).daemon.owner == owner.name


def test_resolve_runnable_for_the_execution_engine(
    server: ServerHandle, agent: AgentHandle, other_agent: AgentHandle
) -> None:
    daemon = create_daemon(
        server, agent, visibility=pb.VISIBILITY_LISTED_AGENTS, allowed_agents=[other_agent.name]
    )
    update_daemon(
        server, agent, daemon, ["definition_yaml"], version="1.1.0", definition_yaml=definition("1.1.0")
    )
    daemons = server.runtime.daemons
    current = server.run(daemons.resolve_runnable(Caller(other_agent.id), daemon.name))
    assert current.version == "1.1.0"
    assert current.owner_id == agent.id
    assert current.visibility is Visibility.LISTED_AGENTS
    assert [s.name for s in current.spec.execution_order()] == ["Outline", "Count words"]
    assert current.pricing.is_free

    pinned = server.run(daemons.resolve_runnable(Caller(other_agent.id), daemon.name, "1.0.0"))
    assert pinned.version == "1.0.0"
    assert pinned.name == f"{daemon.name}@1.0.0"

    stranger = create_agent(server, "stranger")
    with pytest.raises(NotFound):
        server.run(daemons.resolve_runnable(Caller(stranger.id), daemon.name))
    with pytest.raises(NotFound):
        server.run(daemons.resolve_runnable(Caller(other_agent.id), daemon.name, "3.0.0"))
