"""Search over agents, skills and daemons through the real server: text, filters, sorts, pages.

The server is shared by the whole test session, so every test searches for words and tags of its
own (unique per test) and never assumes what else is in the index.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from sqlalchemy import update

from agentos.common.v1 import common_pb2
from agentos.registry.v1 import registry_pb2 as pb
from agentos_server.domain.search import index_agent, index_skill
from agentos_server.infra.tables.listings import SkillRow
from agentos_server.infra.tables.registry import AgentRow

from test_daemons import create_daemon, definition, update_daemon
from test_skills import create_skill, update_skill, usdc
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent


def word(prefix: str = "w") -> str:
    """A word no other test uses: letters only, so stemming leaves it alone."""
    return prefix + "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(10))


def search(server: ServerHandle, **fields: Any) -> pb.SearchResponse:
    return server.registry.Search(pb.SearchRequest(**fields))


def names(response: pb.SearchResponse) -> list[str]:
    return [result_name(r) for r in response.results]


def result_name(result: pb.SearchResult) -> str:
    return str(getattr(result, result.WhichOneof("resource")).name)


def walk(server: ServerHandle, page_size: int, **fields: Any) -> list[pb.SearchResult]:
    """Every page of a search, in order."""
    results: list[pb.SearchResult] = []
    token = ""
    for _ in range(100):
        page = search(server, page_size=page_size, page_token=token, **fields)
        assert len(page.results) <= page_size
        results += page.results
        token = page.next_page_token
        if not token:
            return results
    raise AssertionError("pagination did not end")


def set_skill_stats(server: ServerHandle, skill: pb.Skill, **values: Any) -> None:
    """What the Marketplace does after a purchase or review: change the row, then re-index it."""
    skill_id = skill.name.removeprefix("skills/")

    async def apply() -> None:
        async with server.runtime.db.transaction() as session:
            await session.execute(update(SkillRow).where(SkillRow.id == skill_id).values(**values))
            row = await session.get(SkillRow, skill_id)
            assert row is not None
            await session.refresh(row)
            await index_skill(session, row)

    server.run(apply())


def set_reputation(server: ServerHandle, agent: AgentHandle, reputation: float) -> None:
    async def apply() -> None:
        async with server.runtime.db.transaction() as session:
            await session.execute(
                update(AgentRow).where(AgentRow.id == agent.id).values(reputation=reputation)
            )
            row = await session.get(AgentRow, agent.id)
            assert row is not None
            await session.refresh(row)
            await index_agent(session, row)

    server.run(apply())


def test_finds_each_kind_by_its_text(server: ServerHandle, agent: AgentHandle) -> None:
    topic = word()
    bio_word = word()
    skill = create_skill(server, agent, description=f"Translates {topic} documents")
    daemon = create_daemon(server, agent, description=f"A pipeline for {topic} reports")
    person = create_agent(
        server, "bio", character=pb.Character(bio=f"I know everything about {bio_word} and {topic}")
    )

    found = search(server, query=topic)
    assert set(names(found)) == {skill.name, daemon.name, person.name}
    kinds = {r.WhichOneof("resource") for r in found.results}
    assert kinds == {"agent", "skill", "daemon"}
    assert all(r.score > 0 for r in found.results)

    # An agent is found by its bio alone.
    assert names(search(server, query=bio_word)) == [person.name]
    # kinds narrows the search.
    assert names(search(server, query=topic, kinds=[pb.RESOURCE_KIND_SKILL])) == [skill.name]
    assert set(
        names(search(server, query=topic, kinds=[pb.RESOURCE_KIND_AGENT, pb.RESOURCE_KIND_DAEMON]))
    ) == {
        daemon.name,
        person.name,
    }
    # The full resource comes back, not just its name.
    skill_result = next(r for r in found.results if r.HasField("skill"))
    assert skill_result.skill == server.registry.GetSkill(pb.GetSkillRequest(name=skill.name)).skill


def test_words_stems_prefixes_and_stop_words(server: ServerHandle, agent: AgentHandle) -> None:
    stem = word("tr")
    skill = create_skill(server, agent, display_name=f"{stem}ing helper", description="Summarises meetings")
    other = create_skill(server, agent, display_name=f"{stem}ing assistant", description="Books rooms")
    assert set(names(search(server, query=f"{stem}ing"))) == {skill.name, other.name}
    # The last word matches as a prefix (type-ahead), the others as whole words (stemmed).
    assert set(names(search(server, query=stem))) == {skill.name, other.name}
    assert names(search(server, query=f"{stem}ing meeting")) == [skill.name]
    assert names(search(server, query=f"the {stem}ing of meetings")) == [skill.name]
    assert names(search(server, query=f"{stem}ing rooms")) == [other.name]
    # Punctuation and query syntax are just separators, never operators.
    assert names(search(server, query=f'"{stem}ing" AND (rooms) OR -x*')) == []
    assert names(search(server, query=f'{stem}ing: "rooms"!')) == [other.name]
    assert search(server, query=word()).results == []


def test_title_matches_rank_first_and_reputation_boosts(server: ServerHandle) -> None:
    topic = word()
    plain = create_agent(server, "plain")
    famous = create_agent(server, "famous")
    in_body = create_skill(server, plain, description=f"Also handles {topic} now and then")
    in_title = create_skill(server, plain, display_name=f"{topic} expert")
    assert names(search(server, query=topic)) == [in_title.name, in_body.name]

    # Same text, different publishers: the more reputable one ranks higher.
    twin_a = create_skill(server, plain, display_name=f"{topic} twin", description="same words")
    twin_b = create_skill(server, famous, display_name=f"{topic} twin", description="same words")
    set_reputation(server, famous, 50.0)
    ranked = names(search(server, query=f"{topic} twin"))
    assert ranked == [twin_b.name, twin_a.name]
    scores = [r.score for r in search(server, query=f"{topic} twin").results]
    # boost = 1 + ln(1 + 50) / 4
    assert scores[0] / scores[1] == pytest.approx(1.9829, rel=1e-3)


def test_only_public_active_listings_of_active_agents(server: ServerHandle) -> None:
    topic = word()
    owner = create_agent(server, "lister", character=pb.Character(bio=f"{topic} specialist"))
    skill = create_skill(server, owner, description=f"{topic} skill")
    private = create_daemon(server, owner, description=f"{topic} private", visibility=pb.VISIBILITY_PRIVATE)
    shared = create_daemon(
        server,
        owner,
        description=f"{topic} shared",
        visibility=pb.VISIBILITY_LISTED_AGENTS,
        allowed_agents=[owner.name],
    )
    public = create_daemon(server, owner, description=f"{topic} public")
    assert set(names(search(server, query=topic))) == {owner.name, skill.name, public.name}

    # Publishing the private daemon lists it; deprecating takes a listing out.
    update_daemon(
        server,
        owner,
        private,
        ["visibility", "definition_yaml"],
        version="1.0.1",
        visibility=pb.VISIBILITY_PUBLIC,
        definition_yaml=definition("1.0.1"),
    )
    server.registry.DeprecateSkill(pb.DeprecateSkillRequest(name=skill.name), metadata=owner.auth)
    assert set(names(search(server, query=topic))) == {owner.name, private.name, public.name}
    assert shared.name not in names(search(server, query=topic))

    # A deactivated agent leaves discovery with all its listings.
    server.registry.DeactivateAgent(pb.DeactivateAgentRequest(name=owner.name), metadata=owner.auth)
    assert search(server, query=topic).results == []


def test_updates_are_searchable_at_once(server: ServerHandle, agent: AgentHandle) -> None:
    old, new = word(), word()
    skill = create_skill(server, agent, description=f"About {old}")
    assert names(search(server, query=old)) == [skill.name]
    update_skill(server, agent, skill, ["description"], version="1.1.0", description=f"About {new}")
    assert search(server, query=old).results == []
    assert names(search(server, query=new)) == [skill.name]
    server.registry.UpdateAgent(
        pb.UpdateAgentRequest(agent=pb.Agent(name=agent.name, description=f"Now also {old}")),
        metadata=agent.auth,
    )
    assert names(search(server, query=old)) == [agent.name]


def test_filters(server: ServerHandle, agent: AgentHandle) -> None:
    tag = word("t")[:20]
    other_tag = word("t")[:20]
    free = create_skill(
        server,
        agent,
        tags=[tag],
        category=pb.CATEGORY_ANALYSIS,
        pricing=pb.Pricing(model=pb.PRICING_MODEL_FREE),
    )
    cheap = create_skill(
        server,
        agent,
        tags=[tag, other_tag],
        category=pb.CATEGORY_CREATIVE,
        pricing=pb.Pricing(model=pb.PRICING_MODEL_ONE_TIME, price=usdc(2_000_000)),
    )
    dear = create_skill(
        server,
        agent,
        tags=[tag, other_tag],
        category=pb.CATEGORY_ANALYSIS,
        pricing=pb.Pricing(
            model=pb.PRICING_MODEL_SUBSCRIPTION, price=usdc(50_000_000), interval=pb.BILLING_INTERVAL_MONTHLY
        ),
    )
    in_sol = create_skill(
        server,
        agent,
        tags=[tag],
        category=pb.CATEGORY_ANALYSIS,
        pricing=pb.Pricing(
            model=pb.PRICING_MODEL_ONE_TIME, price=common_pb2.Money(asset="SOL", amount=3_000_000)
        ),
    )
    daemon = create_daemon(server, agent, tags=[tag], category=pb.CATEGORY_CONTENT)
    set_skill_stats(server, cheap, rating=4.6, review_count=10)
    set_skill_stats(server, dear, rating=3.9, review_count=10)

    def found(**filters: Any) -> set[str]:
        filters.setdefault("tags", [tag])
        return {result_name(r) for r in walk(server, 10, filter=pb.SearchFilter(**filters))}

    everything = {free.name, cheap.name, dear.name, in_sol.name, daemon.name}
    assert found() == everything
    assert found(tags=[tag, other_tag]) == {cheap.name, dear.name}
    assert found(tags=[tag.upper()]) == everything
    assert found(categories=[pb.CATEGORY_ANALYSIS]) == {free.name, dear.name, in_sol.name}
    assert found(categories=[pb.CATEGORY_ANALYSIS, pb.CATEGORY_CONTENT]) == {
        free.name,
        dear.name,
        in_sol.name,
        daemon.name,
    }
    assert found(pricing_models=[pb.PRICING_MODEL_FREE]) == {free.name, daemon.name}
    assert found(pricing_models=[pb.PRICING_MODEL_ONE_TIME, pb.PRICING_MODEL_SUBSCRIPTION]) == {
        cheap.name,
        dear.name,
        in_sol.name,
    }
    assert found(price_asset="USDC", max_price=10_000_000) == {cheap.name}
    assert found(price_asset="USDC", min_price=2_000_000) == {cheap.name, dear.name}
    assert found(price_asset="USDC", min_price=2_000_001, max_price=50_000_000) == {dear.name}
    assert found(price_asset="SOL") == {in_sol.name}
    assert found(min_rating=4.0) == {cheap.name}
    assert found(min_rating=3.9) == {cheap.name, dear.name}


ORDERS: list[tuple[int, Callable[[pb.SearchResult], Any]]] = [
    (pb.SEARCH_ORDER_POPULAR, lambda r: r.skill.purchase_count),
    (pb.SEARCH_ORDER_RATING, lambda r: r.skill.rating),
    (pb.SEARCH_ORDER_NEWEST, lambda r: r.skill.create_time.ToDatetime()),
]


def test_sorts_and_pagination_walk_every_result_once(server: ServerHandle) -> None:
    tag = word("p")[:20]
    topic = word()
    publishers = [create_agent(server, f"seller{i}") for i in range(3)]
    made: list[pb.Skill] = []
    for i in range(11):
        owner = publishers[i % 3]
        # Some ties on purpose: pages must break them the same way every time.
        skill = create_skill(
            server, owner, tags=[tag], description=f"{topic} " + " ".join(["filler"] * (i % 4))
        )
        set_skill_stats(server, skill, purchase_count=(i * 7) % 5, rating=float(i % 3) + 0.5)
        made.append(skill)
    for index, publisher in enumerate(publishers):
        set_reputation(server, publisher, float(index * 10))
    expected = {s.name for s in made}

    for order, key in ORDERS:
        for page_size in (1, 3, 4, 25):
            results = walk(server, page_size, filter=pb.SearchFilter(tags=[tag]), order_by=order)
            got = [result_name(r) for r in results]
            assert len(got) == len(set(got)), f"duplicates with order {order}, page size {page_size}"
            assert set(got) == expected, f"missing results with order {order}, page size {page_size}"
            values = [key(r) for r in results]
            assert values == sorted(values, reverse=True), order
            assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)

    by_reputation = walk(server, 2, filter=pb.SearchFilter(tags=[tag]), order_by=pb.SEARCH_ORDER_REPUTATION)
    owners = [r.skill.owner for r in by_reputation]
    assert owners == sorted(owners, key=lambda o: [p.name for p in publishers].index(o), reverse=True)
    # Skills 2, 5 and 8 belong to the publisher with reputation 20.
    assert [r.score for r in by_reputation][:4] == [20.0, 20.0, 20.0, 10.0]

    # Relevance pages too; without order_by a query means relevance and no query means popular.
    relevance = walk(server, 2, query=topic, filter=pb.SearchFilter(tags=[tag]))
    assert {result_name(r) for r in relevance} == expected
    assert len(relevance) == len(expected)
    assert [r.score for r in relevance] == sorted((r.score for r in relevance), reverse=True)
    assert [result_name(r) for r in relevance] == [
        result_name(r)
        for r in walk(
            server, 25, query=topic, filter=pb.SearchFilter(tags=[tag]), order_by=pb.SEARCH_ORDER_RELEVANCE
        )
    ]
    unordered = walk(server, 3, filter=pb.SearchFilter(tags=[tag]))
    assert [r.skill.purchase_count for r in unordered] == sorted(
        (r.skill.purchase_count for r in unordered), reverse=True
    )
    # A text query combines with any order.
    newest_with_text = walk(server, 4, query=topic, order_by=pb.SEARCH_ORDER_NEWEST)
    assert [result_name(r) for r in newest_with_text] == [s.name for s in reversed(made)]


def test_bad_requests(server: ServerHandle) -> None:
    def refused(field: str, **fields: Any) -> None:
        assert_refused(
            server,
            lambda: server.registry.Search(pb.SearchRequest(**fields)),
            grpc.StatusCode.INVALID_ARGUMENT,
            field=field,
        )

    refused("filter.price_asset", filter=pb.SearchFilter(max_price=5))
    refused("filter.price_asset", filter=pb.SearchFilter(min_price=0))
    refused("filter.price_asset", filter=pb.SearchFilter(price_asset="DOGE", max_price=5))
    refused("filter.max_price", filter=pb.SearchFilter(price_asset="USDC", min_price=9, max_price=5))
    refused("filter.min_price", filter=pb.SearchFilter(price_asset="USDC", min_price=-1))
    refused("filter.min_rating", filter=pb.SearchFilter(min_rating=5.5))
    refused("filter.min_rating", filter=pb.SearchFilter(min_rating=float("nan")))
    refused("filter.categories[0]", filter=pb.SearchFilter(categories=[pb.CATEGORY_UNSPECIFIED]))
    refused("filter.pricing_models[1]", filter=pb.SearchFilter(pricing_models=[1, 0]))
    refused("filter.tags[0]", filter=pb.SearchFilter(tags=["no spaces"]))
    refused("kinds[0]", kinds=[pb.RESOURCE_KIND_UNSPECIFIED])
    refused("query", query="x" * 501)
    refused("page_size", page_size=-1)
    refused("page_token", page_token="forged")

    tag = word("b")[:20]
    owner = create_agent(server, "tokens")
    for _ in range(3):
        create_skill(server, owner, tags=[tag])
    token = search(server, page_size=1, filter=pb.SearchFilter(tags=[tag])).next_page_token
    assert token
    # A token only continues the search it came from.
    refused("page_token", page_size=1, page_token=token, filter=pb.SearchFilter(tags=[tag]), query="other")
    refused(
        "page_token",
        page_size=1,
        page_token=token,
        filter=pb.SearchFilter(tags=[tag]),
        order_by=pb.SEARCH_ORDER_NEWEST,
    )
    payload, _, mac = token.partition(".")
    refused(
        "page_token", page_size=1, page_token=payload[:-2] + "xx." + mac, filter=pb.SearchFilter(tags=[tag])
    )
    # The same token with the same request continues.
    assert search(server, page_size=1, page_token=token, filter=pb.SearchFilter(tags=[tag])).results


def test_relevance_pages_are_exact_with_many_candidates(server: ServerHandle) -> None:
    """Relevance ranks by text rank x publisher boost; paging must neither skip nor repeat, even
    when boosts reorder what the text rank alone would say (boost is capped at 2)."""
    topic = word()
    publishers = [create_agent(server, f"ranker{i}") for i in range(4)]
    for index, publisher in enumerate(publishers):
        set_reputation(server, publisher, [0.0, 3.0, 20.0, 500.0][index])
    made = set()
    for i in range(40):
        owner = publishers[i % 4]
        title = f"{topic} tool {i}" if i % 5 == 0 else f"Tool {i}"
        filler = " ".join(["more"] * (i % 7))
        skill = create_skill(server, owner, display_name=title, description=f"{topic} {filler}", tags=[])
        made.add(skill.name)
    everything = walk(server, 25, query=topic)
    assert {result_name(r) for r in everything} == made
    scores = [r.score for r in everything]
    assert scores == sorted(scores, reverse=True)
    for page_size in (1, 3, 7):
        paged = walk(server, page_size, query=topic)
        assert [result_name(r) for r in paged] == [result_name(r) for r in everything]
    only_skills_of_one = walk(server, 3, query=topic, kinds=[pb.RESOURCE_KIND_SKILL])
    assert len(only_skills_of_one) == 40
