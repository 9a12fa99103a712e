#!/usr/bin/env python3
"""Unary RPC throughput and latency: GetSkill and Search through the whole AgentOS stack, against a
bare grpc.aio server answering a constant GetSkillResponse, with the same client in the same run.

    .venv/bin/python bench/unary.py --backend sqlite   --skills 100000
    .venv/bin/python bench/unary.py --backend postgres --skills 100000

What it does:
1. Provisions a fresh database (a SQLite file in a temporary directory, or a new PostgreSQL database
   on AGENTOS_BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres) and migrates it.
   --keep keeps it and --database-url reuses one (seeding 100,000 skills takes two minutes).
2. Seeds it. Publisher agents (--agents) are registered through AgentRegistry.create, and the
   first --validated-skills skills through SkillRegistry.create (every check, OpenAPI validation,
   indexing). The rest are bulk-inserted through the table layer for speed: each draft still passes
   domain.skills.clean_draft (the same validation minus the OpenAPI document, which all seeded
   skills share and which is validated once), and its search document is written by
   domain.search.listing_document, exactly as index_skill would. Text is drawn from a fixed
   vocabulary with a skewed distribution, so some words match a few dozen listings and some a
   quarter of them; ratings, purchases, prices and publisher reputations vary.
3. Starts `agentos serve` and a bare grpc.aio server in their own processes and drives each from
   --client-processes client processes for --seconds after a --warmup: GetSkill on the bare server
   and on AgentOS, alternated for --rounds rounds (random seeded skills, API key sent, --concurrency
   calls in flight); then Search on AgentOS, after an unmeasured pass over the mix, with 1 and with
   --search-concurrency calls in flight (a fixed mix of query shapes, listed in the output).
4. Prints requests/second, p50 and p99 latency, the server's CPU time per request, and the ratio
   of AgentOS GetSkill throughput to the bare server's over all rounds. Targets: GetSkill >= 0.5
   of bare; Search p99 <= 25 ms at 100,000 skills.

Client and servers share the machine's cores, so absolute figures depend on it and on whatever
else runs there; the ratio and the CPU per request are the comparable numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import random
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import psycopg
from _server import serve_constant
from sqlalchemy import insert, update

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "server"), str(ROOT / "clients" / "python")]

from agentos.registry.v1 import registry_pb2 as pb  # noqa: E402

GET_SKILL = "/agentos.registry.v1.RegistryService/GetSkill"
SEARCH = "/agentos.registry.v1.RegistryService/Search"
PG_URL = os.environ.get("AGENTOS_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# --- the synthetic catalogue ----------------------------------------------------------------------

CATEGORY_WORDS = {
    "communication": "email inbox newsletter chat message notification sms slack discord reply thread "
    "outreach campaign mailbox digest announcement",
    "automation": "workflow scheduler trigger cron pipeline queue batch webhook sync task runner "
    "orchestration retry backup deploy",
    "analysis": "data analytics report dashboard forecast metrics sentiment anomaly regression "
    "statistics insight research survey trend cohort",
    "creative": "image video audio music logo design story poem illustration caption thumbnail "
    "animation voice script avatar",
    "utility": "converter formatter validator parser calculator timezone unit currency compressor "
    "cleaner deduplicator generator checker encoder",
    "integration": "api connector crm erp stripe shopify github jira salesforce hubspot notion "
    "airtable zapier graphql rest",
}


def _words(text: str) -> list[str]:
    return text.split()


ADJECTIVES = _words(
    "smart fast simple secure reliable instant private friendly powerful lightweight accurate "
    "automated realtime scalable flexible robust clever precise open universal"
)
SUFFIXES = _words("pro lite plus kit bot agent assistant helper engine studio hub toolkit")
VERBS = _words(
    "sends builds tracks summarises translates extracts classifies monitors generates converts "
    "schedules analyses cleans enriches routes detects"
)
# Shared words: the head of the distribution (matched by many listings) and a long tail.
COMMON = _words("ai agent data api fast automation tool service")


def _pseudo_words(count: int) -> list[str]:
    """Made-up words (consonant-vowel syllables): the long tail of a catalogue's vocabulary."""
    rng = random.Random(11)
    found: dict[str, None] = {}
    while len(found) < count:
        found["".join(rng.choice("bdfgklmnprstvz") + rng.choice("aiou") for _ in range(3))] = None
    return list(found)


TAIL = _pseudo_words(2000)
TAGS = [w for words in CATEGORY_WORDS.values() for w in words.split()] + [f"tag-{i}" for i in range(200)]
SKILL_CATEGORIES = list(CATEGORY_WORDS)

OPENAPI_SPEC = """openapi: 3.0.3
info: {title: Seeded skill, version: '1.0'}
paths:
  /run:
    post:
      operationId: run
      summary: Run the skill
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [input]
              properties:
                input: {type: string}
                options: {type: object}
      responses:
        '200': {description: the result}
"""


def zipf_choice(rng: random.Random, words: Sequence[str], s: float = 1.1) -> str:
    weights = _ZIPF_CACHE.get((len(words), s))
    if weights is None:
        weights = list(_cumulative([1 / (i + 1) ** s for i in range(len(words))]))
        _ZIPF_CACHE[(len(words), s)] = weights
    return rng.choices(words, cum_weights=weights)[0]


_ZIPF_CACHE: dict[tuple[int, float], list[float]] = {}


def _cumulative(values: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for value in values:
        total += value
        out.append(total)
    return out


@dataclass
class SeededSkill:
    draft: Any
    created_at: datetime
    rating: float
    review_count: int
    purchase_count: int


def make_skill(rng: random.Random, index: int, now: datetime) -> SeededSkill:
    from agentos_server.domain.listings import Category
    from agentos_server.domain.pricing import (
        BillingInterval,
        MoneyDraft,
        PricingDraft,
        PricingModel,
        UsageBilling,
    )
    from agentos_server.domain.skills import CodeDraft, EndpointDraft, SkillDraft

    category = rng.choice(SKILL_CATEGORIES)
    nouns = CATEGORY_WORDS[category].split()
    noun, other = zipf_choice(rng, nouns), zipf_choice(rng, nouns)
    title = f"{rng.choice(ADJECTIVES).title()} {noun.title()} {rng.choice(SUFFIXES).title()} {index}"
    words = [zipf_choice(rng, COMMON, 1.0) for _ in range(rng.randint(0, 2))]
    words += [zipf_choice(rng, TAIL, 0.9) for _ in range(rng.randint(2, 6))]
    rng.shuffle(words)
    description = (
        f"{rng.choice(VERBS).title()} {noun} and {other} for {' '.join(words)}. "
        f"Works with {zipf_choice(rng, nouns)} and {zipf_choice(rng, TAIL, 0.9)}."
    )
    model = rng.choices(list(PricingModel), weights=[30, 30, 20, 20])[0]
    asset = rng.choices(["USDC", "SOL", "CREDIT"], weights=[80, 10, 10])[0]
    amount = 0 if model is PricingModel.FREE else max(1, int(10 ** rng.uniform(3, 8)))
    pricing = PricingDraft(
        model=model,
        price=MoneyDraft(asset if model is not PricingModel.FREE else "", amount),
        interval=rng.choice(list(BillingInterval)) if model is PricingModel.SUBSCRIPTION else None,
        usage_unit="call" if model is PricingModel.USAGE else "",
        usage_billing=UsageBilling.PAY_PER_CALL if model is PricingModel.USAGE else None,
    )
    rated = rng.random() < 0.6
    return SeededSkill(
        draft=SkillDraft(
            display_name=title,
            version="1.0.0",
            description=description,
            category=Category(category),
            tags=list(dict.fromkeys(zipf_choice(rng, TAGS, 0.8) for _ in range(rng.randint(1, 4)))),
            pricing=pricing,
            code=CodeDraft(repo_url=f"https://github.com/seed/skill-{index}", entry_point="main:run"),
            openapi_spec="",
            endpoint=EndpointDraft("https_url", https_url=f"https://skills.example.com/{index}"),
        ),
        created_at=now - timedelta(seconds=rng.uniform(0, 2 * 365 * 86400)),
        rating=round(rng.uniform(1.0, 5.0), 2) if rated else 0.0,
        review_count=rng.randint(1, 400) if rated else 0,
        purchase_count=int(rng.paretovariate(1.2)) - 1,
    )


# --- provisioning and seeding ---------------------------------------------------------------------


@dataclass
class Provisioned:
    url: str
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for step in reversed(self.cleanup):
            step()


def provision(kind: str) -> Provisioned:
    from agentos_server.infra import migrate

    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="agentos-bench-"))
        found = Provisioned(f"sqlite+aiosqlite:///{directory / 'agentos.db'}")
        found.cleanup.append(lambda: shutil.rmtree(directory, ignore_errors=True))
    else:
        name = f"agentos_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        found = Provisioned(f"postgresql+psycopg://{PG_URL.split('://', 1)[1].rsplit('/', 1)[0]}/{name}")

        def drop() -> None:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        found.cleanup.append(drop)
    migrate.upgrade(found.url)
    return found


@dataclass
class Seeded:
    api_key: str
    skill_names: list[str]
    query_words: dict[str, list[str]]


async def seed(url: str, skills: int, agents: int, validated: int, log: Callable[[str], None]) -> Seeded:
    from agentos_server.domain.agents import AgentDraft, AgentRegistry, CharacterDraft
    from agentos_server.domain.caller import Caller
    from agentos_server.domain.clock import SystemClock
    from agentos_server.domain.ids import new_id
    from agentos_server.domain.openapi import validate_openapi
    from agentos_server.domain.pagination import PageTokens
    from agentos_server.domain.search import ResourceKind, index_agent, listing_document
    from agentos_server.domain.skills import SkillRegistry, clean_draft
    from agentos_server.infra.db import Database
    from agentos_server.infra.tables.listings import SkillRow, SkillVersionRow
    from agentos_server.infra.tables.registry import AgentRow
    from agentos_server.infra.tables.search import SearchDocumentRow, SearchTagRow

    rng = random.Random(20260101)
    db = Database(url)
    clock = SystemClock()
    tokens = PageTokens(b"seed")
    registry = AgentRegistry(db, clock, tokens)
    skill_registry = SkillRegistry(db, clock, tokens)
    started = time.perf_counter()
    owners: list[str] = []
    reputations: dict[str, float] = {}
    api_key = ""
    for i in range(agents):
        agent_id = f"seller-{i:05d}"
        created = await registry.create(
            agent_id,
            AgentDraft(
                display_name=f"Seller {i}",
                description=f"Publishes {rng.choice(SKILL_CATEGORIES)} skills",
                character=CharacterDraft(
                    bio=f"An agent that {rng.choice(VERBS)} {zipf_choice(rng, TAIL, 0.9)}"
                ),
            ),
        )
        api_key = api_key or created.api_key
        owners.append(agent_id)
        reputations[agent_id] = round(rng.uniform(0, 60), 2) if rng.random() < 0.8 else 0.0
    async with db.transaction() as session:
        for agent_id, reputation in reputations.items():
            await session.execute(
                update(AgentRow).where(AgentRow.id == agent_id).values(reputation=reputation)
            )
            row = await session.get(AgentRow, agent_id)
            assert row is not None
            await session.refresh(row)
            await index_agent(session, row)
    log(f"  {agents} agents in {time.perf_counter() - started:.1f}s")

    validate_openapi(OPENAPI_SPEC)
    now = datetime.now(UTC)
    catalogue = [make_skill(rng, i, now) for i in range(skills)]
    # Listed in the order they were published, as they would have been.
    catalogue.sort(key=lambda s: s.created_at)
    names: list[str] = []
    started = time.perf_counter()
    for item in catalogue[:validated]:
        draft = item.draft
        draft = type(draft)(**{**draft.__dict__, "openapi_spec": OPENAPI_SPEC})
        row = await skill_registry.create(Caller(rng.choice(owners)), "", draft)
        names.append(f"skills/{row.id}")
    log(f"  {validated} skills through SkillRegistry.create in {time.perf_counter() - started:.1f}s")

    started = time.perf_counter()
    batch = 2000
    for offset in range(validated, skills, batch):
        rows: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        documents: list[dict[str, Any]] = []
        tag_lists: list[list[str]] = []
        for item in catalogue[offset : offset + batch]:
            owner = rng.choice(owners)
            values = await clean_draft(item.draft)
            skill_id = new_id()
            row = {
                **values,
                "id": skill_id,
                "owner_id": owner,
                "openapi_spec": OPENAPI_SPEC,
                "rating": item.rating,
                "review_count": item.review_count,
                "purchase_count": item.purchase_count,
                "state": "active",
                "deprecation_reason": "",
                "featured": False,
                "revision": 1,
                "created_at": item.created_at,
                "updated_at": item.created_at,
                "version_time": item.created_at,
            }
            rows.append(row)
            versions.append(
                {
                    key: row[key]
                    for key in (
                        "version",
                        "version_key",
                        "display_name",
                        "description",
                        "category",
                        "tags",
                        "pricing",
                        "code",
                        "openapi_spec",
                        "endpoint",
                        "created_at",
                    )
                }
                | {"skill_id": skill_id}
            )
            document = listing_document(
                SkillRow(**row), reputation=reputations[owner], owner_active=True, public=True
            )
            documents.append({**document, "kind": ResourceKind.SKILL.value, "resource_id": skill_id})
            tag_lists.append(row["tags"])
            names.append(f"skills/{skill_id}")
        async with db.transaction() as session:
            await session.execute(insert(SkillRow), rows)
            await session.execute(insert(SkillVersionRow), versions)
            doc_ids = (
                await session.execute(
                    insert(SearchDocumentRow).returning(
                        SearchDocumentRow.doc_id, sort_by_parameter_order=True
                    ),
                    documents,
                )
            ).scalars()
            tag_rows = [
                {"tag": t, "doc_id": d} for d, tags in zip(doc_ids, tag_lists, strict=True) for t in tags
            ]
            if tag_rows:
                await session.execute(insert(SearchTagRow), tag_rows)
        if (offset // batch) % 10 == 0:
            log(f"  {offset + len(rows)} skills ({time.perf_counter() - started:.0f}s)")
    postgres = db.is_postgres
    await db.dispose()
    # The state a database reaches in service after a bulk load: PostgreSQL's autovacuum vacuums
    # (merging the GIN index's pending list, which every text search otherwise scans) and analyses
    # the new rows; doing it now keeps it from running in the middle of the measurement. SQLite gets
    # statistics too, though the search statements fix their own plans.
    if postgres:
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql", 1), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    else:
        lite = sqlite3.connect(url.split(":///", 1)[1])
        try:
            lite.execute("ANALYZE")
        finally:
            lite.close()
    log(f"  bulk skills in {time.perf_counter() - started:.1f}s")
    return Seeded(api_key=api_key, skill_names=names, query_words=QUERY_WORDS)


# --- servers --------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(address: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    channel = grpc.insecure_channel(address)
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        process.kill()
        raise RuntimeError(f"server on {address} did not start") from None
    finally:
        channel.close()


def start_agentos(url: str, port: int, data_dir: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AGENTOS_DATABASE_URL": url,
        "AGENTOS_GRPC_ADDR": f"127.0.0.1:{port}",
        "AGENTOS_LOG_LEVEL": "WARNING",
        "AGENTOS_DATA_DIR": data_dir,
        # The free tier allows 20 calls a second; the admission gate still counts every call here,
        # it just never refuses one, so its cost stays in the measurement.
        "AGENTOS_TIERS": '{"free": {"burst_per_second": 1000000, "monthly_api_calls": 1000000000}}',
    }
    code = "import sys; from agentos_server.cli import main; sys.exit(main(['serve']))"
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    wait_ready(f"127.0.0.1:{port}", process)
    return process


def start_bare(port: int, response: bytes, data_dir: str) -> subprocess.Popen[bytes]:
    response_file = Path(data_dir) / "response.bin"
    response_file.write_bytes(response)
    process = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(port), str(response_file)])
    wait_ready(f"127.0.0.1:{port}", process)
    return process


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the client -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    address: str
    method: str
    # (shape, serialised request) pairs, used round-robin from a per-worker offset.
    requests: list[tuple[str, bytes]]
    api_key: str
    concurrency: int
    seconds: float
    warmup: float


def _identity(data: bytes) -> bytes:
    return data


async def _drive(job: Job, worker_offset: int) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = defaultdict(list)
    metadata = (("authorization", f"Bearer {job.api_key}"),)
    failures = 0
    async with grpc.aio.insecure_channel(job.address) as channel:
        call = channel.unary_unary(job.method, request_serializer=_identity, response_deserializer=_identity)
        start = time.perf_counter()
        measure_from = start + job.warmup
        stop = measure_from + job.seconds

        async def worker(index: int) -> None:
            nonlocal failures
            position = (worker_offset + index * 7919) % len(job.requests)
            while True:
                shape, request = job.requests[position]
                position = (position + 1) % len(job.requests)
                begun = time.perf_counter()
                if begun >= stop:
                    return
                try:
                    await call(request, metadata=metadata, timeout=30)
                except grpc.aio.AioRpcError as error:
                    failures += 1
                    if failures <= 3:
                        print(f"    {shape}: {error.code().name} {error.details()}", file=sys.stderr)
                    continue
                if begun >= measure_from:
                    latencies[shape].append(time.perf_counter() - begun)

        await asyncio.gather(*(worker(i) for i in range(job.concurrency)))
    if failures:
        latencies["failed"] = [0.0] * failures
    return dict(latencies)


def _client_process(job: Job, offset: int) -> dict[str, list[float]]:
    return asyncio.run(_drive(job, offset))


@dataclass
class Result:
    label: str
    requests: int
    seconds: float
    latencies: dict[str, list[float]]
    server_cpu: float
    failed: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def all_latencies(self) -> list[float]:
        return sorted(x for shape, values in self.latencies.items() if shape != "failed" for x in values)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def run_load(label: str, job: Job, processes: int, server_pid: int) -> Result:
    cpu_before = cpu_seconds(server_pid)
    measured_cpu_start = time.perf_counter()
    if processes == 1:
        parts = [_client_process(job, 0)]
    else:
        context = multiprocessing.get_context("spawn")
        with context.Pool(processes) as pool:
            parts = pool.starmap(_client_process, [(job, i * 104729) for i in range(processes)])
    elapsed = time.perf_counter() - measured_cpu_start
    # Server CPU over the whole run (warm-up included), per request including warm-up ones is not
    # known; scale the CPU to the measured window instead.
    cpu = (cpu_seconds(server_pid) - cpu_before) * (job.seconds / elapsed)
    merged: dict[str, list[float]] = defaultdict(list)
    for part in parts:
        for shape, values in part.items():
            merged[shape].extend(values)
    failed = len(merged.pop("failed", []))
    requests = sum(len(v) for v in merged.values())
    return Result(label, requests, job.seconds, dict(merged), cpu, failed)


def report(result: Result, *, shapes: bool = False) -> None:
    values = result.all_latencies()
    per_request_cpu = result.server_cpu / result.requests * 1e6 if result.requests else math.nan
    print(
        f"  {result.label:<28} {result.rps:>9.0f} req/s   p50 {percentile(values, 0.5) * 1000:6.2f} ms   "
        f"p99 {percentile(values, 0.99) * 1000:6.2f} ms   server CPU {per_request_cpu:6.0f} us/req"
        + (f"   FAILED {result.failed}" if result.failed else "")
    )
    if shapes:
        for shape in sorted(result.latencies):
            found = sorted(result.latencies[shape])
            print(
                f"      {shape:<34} n={len(found):>6}   p50 {percentile(found, 0.5) * 1000:6.2f} ms   "
                f"p99 {percentile(found, 0.99) * 1000:6.2f} ms   max {found[-1] * 1000:6.2f} ms"
            )


# --- the search mix -------------------------------------------------------------------------------


def search_requests(words: dict[str, list[str]], count: int = 4000) -> list[tuple[str, bytes]]:
    """A fixed, seeded mix of search shapes (the share of each is in the comments)."""
    rng = random.Random(7)
    requests: list[tuple[str, bytes]] = []
    categories = [
        pb.CATEGORY_COMMUNICATION,
        pb.CATEGORY_ANALYSIS,
        pb.CATEGORY_CREATIVE,
        pb.CATEGORY_INTEGRATION,
    ]
    for _ in range(count):
        roll = rng.random()
        if roll < 0.25:  # one word of the long tail (a few dozen matches)
            shape, request = "text: rare word", pb.SearchRequest(query=rng.choice(words["tail"]))
        elif roll < 0.40:  # one very common word (tens of thousands of matches)
            shape, request = "text: common word", pb.SearchRequest(query=rng.choice(words["common"]))
        elif roll < 0.50:  # a category noun (thousands of matches)
            shape, request = "text: category word", pb.SearchRequest(query=rng.choice(words["category"]))
        elif roll < 0.60:  # two words
            shape, request = (
                "text: two words",
                pb.SearchRequest(query=f"{rng.choice(words['category'])} {rng.choice(words['common'])}"),
            )
        elif roll < 0.68:  # type-ahead: the first letters of a word
            word = rng.choice(words["category"])
            shape, request = "text: prefix", pb.SearchRequest(query=word[: rng.randint(2, 4)])
        elif roll < 0.76:  # text with filters
            shape, request = (
                "text + category + pricing",
                pb.SearchRequest(
                    query=rng.choice(words["category"]),
                    filter=pb.SearchFilter(
                        categories=[rng.choice(categories)],
                        pricing_models=[pb.PRICING_MODEL_ONE_TIME, pb.PRICING_MODEL_SUBSCRIPTION],
                    ),
                ),
            )
        elif roll < 0.80:
            shape, request = (
                "text + order popular",
                pb.SearchRequest(query=rng.choice(words["common"]), order_by=pb.SEARCH_ORDER_POPULAR),
            )
        elif roll < 0.85:  # browsing without text
            shape, request = "browse: popular", pb.SearchRequest()
        elif roll < 0.88:
            shape, request = (
                "browse: newest skills",
                pb.SearchRequest(kinds=[pb.RESOURCE_KIND_SKILL], order_by=pb.SEARCH_ORDER_NEWEST),
            )
        elif roll < 0.91:
            shape, request = (
                "browse: rating >= 4.5",
                pb.SearchRequest(order_by=pb.SEARCH_ORDER_RATING, filter=pb.SearchFilter(min_rating=4.5)),
            )
        elif roll < 0.94:
            shape, request = (
                "browse: category + USDC range",
                pb.SearchRequest(
                    filter=pb.SearchFilter(
                        categories=[rng.choice(categories)],
                        price_asset="USDC",
                        min_price=10_000,
                        max_price=2_000_000,
                    )
                ),
            )
        elif roll < 0.97:
            shape, request = (
                "browse: one tag",
                pb.SearchRequest(filter=pb.SearchFilter(tags=[rng.choice(TAGS[:60])])),
            )
        elif roll < 0.985:
            shape, request = (
                "browse: two tags",
                pb.SearchRequest(filter=pb.SearchFilter(tags=rng.sample(TAGS[:30], 2))),
            )
        else:
            shape, request = (
                "browse: agents by reputation",
                pb.SearchRequest(kinds=[pb.RESOURCE_KIND_AGENT], order_by=pb.SEARCH_ORDER_REPUTATION),
            )
        request.page_size = 20
        requests.append((shape, request.SerializeToString()))
    return requests


# --- main -----------------------------------------------------------------------------------------


async def attach(url: str) -> Seeded:
    """An already seeded database (--database-url): a fresh API key and the skills it holds."""
    from agentos_server.domain.agents import AgentDraft, AgentRegistry
    from agentos_server.domain.clock import SystemClock
    from agentos_server.domain.pagination import PageTokens
    from agentos_server.infra.db import Database

    db = Database(url)
    created = await AgentRegistry(db, SystemClock(), PageTokens(b"bench")).create(
        f"bench-{secrets.token_hex(4)}", AgentDraft(display_name="Bench client")
    )
    ids = [row[0] for row in await db.fast.fetch("SELECT id FROM skills", {})]
    await db.dispose()
    return Seeded(created.api_key, [f"skills/{i}" for i in ids], QUERY_WORDS)


QUERY_WORDS = {
    "common": COMMON,
    "tail": TAIL,
    "category": [w for words in CATEGORY_WORDS.values() for w in words.split()],
}


async def _warm_up(job: Job, count: int) -> None:
    metadata = (("authorization", f"Bearer {job.api_key}"),)
    async with grpc.aio.insecure_channel(job.address) as channel:
        call = channel.unary_unary(job.method, request_serializer=_identity, response_deserializer=_identity)
        queue = list(job.requests[:count])

        async def worker() -> None:
            while queue:
                _, request = queue.pop()
                await call(request, metadata=metadata, timeout=60)

        await asyncio.gather(*(worker() for _ in range(job.concurrency)))


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--skills", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=1_000, help="publisher agents")
    parser.add_argument(
        "--validated-skills", type=int, default=200, help="skills seeded through SkillRegistry.create"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per workload and round")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2, help="bare / AgentOS GetSkill rounds, alternated")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent calls per client process")
    parser.add_argument(
        "--search-concurrency", type=int, default=4, help="concurrent Search calls per client process"
    )
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument(
        "--search-warmup-requests", type=int, default=1000, help="unmeasured searches before measuring"
    )
    parser.add_argument("--database-url", help="use this already seeded database instead of seeding one")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database and print its URL")
    parser.add_argument("--serve-bare", nargs=2, metavar=("PORT", "RESPONSE_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        response = pb.GetSkillResponse.FromString(Path(args.serve_bare[1]).read_bytes())
        asyncio.run(
            serve_constant(
                int(args.serve_bare[0]),
                "agentos.registry.v1.RegistryService",
                "GetSkill",
                pb.GetSkillRequest,
                response,
            )
        )
        return 0

    def log(message: str) -> None:
        print(message, flush=True)

    processes: list[subprocess.Popen[bytes]] = []
    provisioned: Provisioned | None = None
    scratch = tempfile.mkdtemp(prefix="agentos-bench-scratch-")
    try:
        if args.database_url:
            url = args.database_url
            seeded = asyncio.run(attach(url))
            log(f"using {url}: {len(seeded.skill_names)} skills")
        else:
            log(f"backend {args.backend}: provisioning and seeding {args.skills} skills")
            provisioned = provision(args.backend)
            url = provisioned.url
            seeded = asyncio.run(seed(url, args.skills, args.agents, args.validated_skills, log))
        agentos_port, bare_port = free_port(), free_port()
        agentos = start_agentos(url, agentos_port, scratch)
        processes.append(agentos)

        rng = random.Random(3)
        with grpc.insecure_channel(f"127.0.0.1:{agentos_port}") as channel:
            response = channel.unary_unary(GET_SKILL, _identity, _identity)(
                pb.GetSkillRequest(name=rng.choice(seeded.skill_names)).SerializeToString(),
                metadata=(("authorization", f"Bearer {seeded.api_key}"),),
            )
        bare = start_bare(bare_port, response, scratch)
        processes.append(bare)
        log(
            f"GetSkillResponse: {len(response)} bytes; {args.client_processes} client process(es); "
            f"{args.seconds:.0f}s measured after {args.warmup:.0f}s warm-up per run"
        )
        get_requests = [
            ("GetSkill", pb.GetSkillRequest(name=rng.choice(seeded.skill_names)).SerializeToString())
            for _ in range(20_000)
        ]
        search_mix = search_requests(seeded.query_words)

        def job(port: int, method: str, requests: list[tuple[str, bytes]], concurrency: int) -> Job:
            return Job(
                f"127.0.0.1:{port}", method, requests, seeded.api_key, concurrency, args.seconds, args.warmup
            )

        bare_runs: list[Result] = []
        get_runs: list[Result] = []
        for round_number in range(1, args.rounds + 1):
            # Alternated, so that a change in the machine's load hits both sides alike.
            label = f"round {round_number}"
            bare_runs.append(
                run_load(
                    f"bare grpc.aio GetSkill ({label})",
                    job(bare_port, GET_SKILL, get_requests, args.concurrency),
                    args.client_processes,
                    bare.pid,
                )
            )
            get_runs.append(
                run_load(
                    f"AgentOS GetSkill ({label})",
                    job(agentos_port, GET_SKILL, get_requests, args.concurrency),
                    args.client_processes,
                    agentos.pid,
                )
            )
        # A server that has just started reads its index from disk on first use (up to seconds per
        # query on a loaded machine); the figures are for a server in its steady state, so the mix
        # is run once, unmeasured, first.
        started = time.perf_counter()
        warm = Job(f"127.0.0.1:{agentos_port}", SEARCH, search_mix, seeded.api_key, 4, 0.0, 0.0)
        asyncio.run(_warm_up(warm, args.search_warmup_requests))
        log(f"search warm-up: {args.search_warmup_requests} searches in {time.perf_counter() - started:.1f}s")
        searches = [
            run_load(
                f"AgentOS Search, {concurrency} in flight",
                job(agentos_port, SEARCH, search_mix, concurrency),
                args.client_processes,
                agentos.pid,
            )
            for concurrency in dict.fromkeys((1, args.search_concurrency))
        ]

        print()
        print(f"results ({args.backend}, {len(seeded.skill_names)} skills, {os.cpu_count()} CPUs)")
        print(f"  GetSkill, {args.concurrency} calls in flight per client process:")
        for bare_result, get_result in zip(bare_runs, get_runs, strict=True):
            report(bare_result)
            report(get_result)
        print("  Search (the mix below):")
        for result in searches:
            report(result, shapes=True)
        bare_rps = sum(r.requests for r in bare_runs) / sum(r.seconds for r in bare_runs)
        get_rps = sum(r.requests for r in get_runs) / sum(r.seconds for r in get_runs)
        ratio = get_rps / bare_rps
        search_p99 = percentile(searches[-1].all_latencies(), 0.99) * 1000
        print()
        print(
            f"  GetSkill throughput, AgentOS / bare, all rounds: {get_rps:.0f} / {bare_rps:.0f} = {ratio:.2f}"
        )
        print(f"    target >= 0.50: {verdict(ratio >= 0.5)}")
        print(f"  Search p99 with {args.search_concurrency} in flight: {search_p99:.2f} ms")
        print(f"    target <= 25 ms: {verdict(search_p99 <= 25)}")
        return 0
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(scratch, ignore_errors=True)
        if provisioned is not None:
            if args.keep:
                print(f"kept the database: --database-url {provisioned.url}")
            else:
                provisioned.close()


if __name__ == "__main__":
    sys.exit(main())
