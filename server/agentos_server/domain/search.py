"""Discovery: one search over agents, skills and daemons.

The index
---------
Every agent, skill and daemon has one row in search_documents, written in the same transaction as
the resource (index_agent, index_skill, index_daemon). A document is *listed* (searchable) when the
resource is public and not deprecated and its publisher is active; an agent is listed while it is
active. Other areas that change what a document holds call the same functions: the Marketplace
after a purchase or review (popularity, rating) and after a reputation change (index_agent, which
also refreshes the publisher's reputation on all its listings).

Text is matched by SQLite FTS5 (porter stemming, bm25) or PostgreSQL full text search ('english'
configuration, ts_rank_cd over a weighted tsvector). The query is split into words; English stop
words are dropped (the list PostgreSQL's 'english' configuration uses, so both backends agree);
every remaining word must match (AND), by stem; the last word also matches as a prefix when it has
at least three characters, so that a query typed so far finds something (shorter prefixes expand
to too many terms to rank quickly). pg_trgm is not used: prefix matching covers partial words, and
trigram similarity would rank differently per backend.

Orders and scores (SearchResult.score is the value ordered by)
-------------------------------------------------------------
- relevance: text_rank x boost, where text_rank is -bm25(title 10, tags 5, body 1) on SQLite and
  ts_rank_cd(weights title 1.0, tags 0.5, body 0.1, normalised by log length) on PostgreSQL, and
  boost = min(2, 1 + ln(1 + max(reputation, 0)) / 4): a publisher with reputation 0 gets x1, one
  with 6.4 gets x1.5, one with 53.6 or more gets x2, so reputation can at most double a text rank.
  Relevance ranks at most RELEVANCE_CANDIDATES matches: when a query matches more, the most
  recently listed ones are ranked. Both engines rank every match they are given (no top-k
  pruning), at 2-3 us each on SQLite plus a pass over the whole match list for bm25's document
  frequencies; the bound keeps a query as broad as "data" (a quarter of a 100,000-skill catalogue)
  within a few milliseconds. It is exact whenever a query matches fewer. For the other orders the
  text only filters, and the order is exact over every match.
- popular: purchase count (agents: total sales); newest: when first listed; rating: average stars
  (agents have none: 0); reputation: the publisher's reputation.
- unspecified: relevance with a query, popular without one. Ties fall to the newer document.

Pagination
----------
AIP-158, keyset for every order: the token holds the last result's (sort value, doc_id), is HMAC
signed (domain/pagination) and bound to a fingerprint of the normalised query, kinds, filters and
order, so it cannot be edited or replayed with other parameters. Pages never repeat a result
because each page starts strictly after the last one; with relevance the candidate bound caps the
total depth at RELEVANCE_CANDIDATES results.

Execution (infra/search_sql, infra/fastread) bypasses the ORM: statements are written per backend
and run on the driver.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.domain.assets import check_amount, check_asset
from agentos_server.domain.errors import InvalidArgument, Violations
from agentos_server.domain.listings import Category, ListingState
from agentos_server.domain.pagination import PageTokens, fingerprint, page_size
from agentos_server.domain.pricing import PricingModel
from agentos_server.domain.validation import check_tags
from agentos_server.infra.db import Database
from agentos_server.infra.fastread import RowBuilder
from agentos_server.infra.search_sql import (
    SearchInput,
    Shape,
    count_matches,
    count_tagged,
    rows_by_ids,
    search_statement,
)
from agentos_server.infra.tables.listings import DaemonRow, SkillRow
from agentos_server.infra.tables.registry import AgentRow
from agentos_server.infra.tables.search import SearchDocumentRow, SearchTagRow

RELEVANCE_CANDIDATES = 500
MAX_QUERY_LENGTH = 500
MAX_QUERY_WORDS = 16
MAX_FILTER_VALUES = 16
MIN_PREFIX_LENGTH = 3
# bm25 column weights (title, tags_text, body) and the ts_rank_cd weights {D, C, B, A}: the
# title is tag A, tags B, body C.
_BM25_WEIGHTS = (10.0, 5.0, 1.0)
_TS_RANK_WEIGHTS = "{0.1, 0.1, 0.5, 1.0}"

# PostgreSQL's 'english' stop words (tsearch_data/english.stop), so that SQLite drops the same.
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
    her hers herself it its itself they them their theirs themselves what which who whom this that
    these those am is are was were be been being have has had having do does did doing a an the and
    but if or because as until while of at by for with about against between into through during
    before after above below to from up down in out on off over under again further then once here
    there when where why how all any both each few more most other some such no nor not only own same
    so than too very s t can will just don should now""".split()  # noqa: SIM905 - a word list reads best as text
)
_WORD = re.compile(r"\w+")


class ResourceKind(enum.StrEnum):
    AGENT = "agent"
    SKILL = "skill"
    DAEMON = "daemon"


class SearchOrder(enum.StrEnum):
    RELEVANCE = "relevance"
    POPULAR = "popular"
    NEWEST = "newest"
    RATING = "rating"
    REPUTATION = "reputation"


# Bounded, so that reputation can at most double a listing's text rank: relevance stays about text.
BOOST_MAX = 2.0


def reputation_boost(reputation: float) -> float:
    return min(BOOST_MAX, 1.0 + math.log1p(max(reputation, 0.0)) / 4.0)


# --- keeping the index in step ------------------------------------------------------------------


async def _upsert(
    session: AsyncSession, kind: ResourceKind, resource_id: str, document: dict[str, Any], tags: Sequence[str]
) -> None:
    values = dict(document)
    existing = (
        await session.execute(
            select(
                SearchDocumentRow.doc_id,
                SearchDocumentRow.title,
                SearchDocumentRow.tags_text,
                SearchDocumentRow.body,
            ).where(SearchDocumentRow.kind == kind.value, SearchDocumentRow.resource_id == resource_id)
        )
    ).first()
    if existing is None:
        doc_id = await session.scalar(
            insert(SearchDocumentRow)
            .values(kind=kind.value, resource_id=resource_id, **values)
            .returning(SearchDocumentRow.doc_id)
        )
    else:
        doc_id = existing.doc_id
        # Unchanged text stays out of the UPDATE: naming a text column re-indexes the document
        # (SQLite's trigger, PostgreSQL's generated tsvector) even when its value is the same.
        for column in ("title", "tags_text", "body"):
            if values[column] == getattr(existing, column):
                del values[column]
        await session.execute(
            update(SearchDocumentRow)
            .where(SearchDocumentRow.doc_id == doc_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await session.execute(delete(SearchTagRow).where(SearchTagRow.doc_id == doc_id))
    if tags:
        await session.execute(insert(SearchTagRow), [{"tag": tag, "doc_id": doc_id} for tag in tags])


async def _publisher(session: AsyncSession, owner_id: str) -> tuple[float, bool]:
    found = (
        await session.execute(select(AgentRow.reputation, AgentRow.state).where(AgentRow.id == owner_id))
    ).first()
    if found is None:
        return 0.0, False
    return float(found.reputation), found.state == "active"


def listing_document(
    row: SkillRow | DaemonRow, *, reputation: float, owner_active: bool, public: bool
) -> dict[str, Any]:
    """The search document of a skill or daemon (without kind and resource_id). Public so that a
    bulk loader can write documents exactly as index_skill and index_daemon would."""
    price = row.pricing.get("price") or {}
    return {
        "owner_id": row.owner_id,
        "title": row.display_name,
        "tags_text": " ".join(row.tags),
        "body": row.description,
        "category": row.category,
        "pricing_model": row.pricing.get("model", ""),
        "price_asset": price.get("asset", ""),
        "price_amount": int(price.get("amount", 0)),
        "rating": row.rating,
        "popularity": row.purchase_count,
        "reputation": reputation,
        "boost": reputation_boost(reputation),
        "created_at": row.created_at,
        "listed": public and owner_active and row.state == ListingState.ACTIVE,
    }


async def index_skill(session: AsyncSession, row: SkillRow) -> None:
    reputation, owner_active = await _publisher(session, row.owner_id)
    values = listing_document(row, reputation=reputation, owner_active=owner_active, public=True)
    await _upsert(session, ResourceKind.SKILL, row.id, values, row.tags)


async def index_daemon(session: AsyncSession, row: DaemonRow) -> None:
    reputation, owner_active = await _publisher(session, row.owner_id)
    values = listing_document(
        row, reputation=reputation, owner_active=owner_active, public=row.visibility == "public"
    )
    await _upsert(session, ResourceKind.DAEMON, row.id, values, row.tags)


def agent_text(row: AgentRow) -> str:
    character = row.character or {}
    parts = [
        row.description,
        character.get("bio", ""),
        *character.get("traits", []),
        *character.get("topics", []),
    ]
    return "\n".join(p for p in parts if p)


async def index_agent(session: AsyncSession, row: AgentRow) -> None:
    active = row.state == "active"
    values = {
        "owner_id": row.id,
        "title": row.display_name,
        "tags_text": "",
        "body": agent_text(row),
        "category": "",
        "pricing_model": "",
        "price_asset": "",
        "price_amount": 0,
        "rating": 0.0,
        "popularity": row.total_sales,
        "reputation": row.reputation,
        "boost": reputation_boost(row.reputation),
        "created_at": row.created_at,
        "listed": active,
    }
    await _upsert(session, ResourceKind.AGENT, row.id, values, ())
    # The publisher's reputation and state live on every one of its listings.
    listings = update(SearchDocumentRow).where(
        SearchDocumentRow.owner_id == row.id, SearchDocumentRow.kind != ResourceKind.AGENT.value
    )
    await session.execute(
        listings.values(reputation=row.reputation, boost=reputation_boost(row.reputation)).execution_options(
            synchronize_session=False
        )
    )
    if not active:
        await session.execute(listings.values(listed=False).execution_options(synchronize_session=False))


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """A search as the client asked for it; enumerations it left unspecified are None."""

    text: str = ""
    kinds: Sequence[ResourceKind | None] = ()
    categories: Sequence[Category | None] = ()
    tags: Sequence[str] = ()
    pricing_models: Sequence[PricingModel | None] = ()
    price_asset: str = ""
    min_price: int | None = None
    max_price: int | None = None
    min_rating: float = 0.0
    order: SearchOrder | None = None
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True)
class TextQuery:
    """The words of a query: all must match; `prefix`, when set, matches as a prefix."""

    words: tuple[str, ...]
    prefix: str

    @property
    def empty(self) -> bool:
        return not self.words and not self.prefix

    def fts5(self) -> str:
        terms = [f'"{w}"' for w in self.words]
        if self.prefix:
            terms.append(f'"{self.prefix}"*')
        return " ".join(terms)


def parse_text(raw: str) -> TextQuery:
    words = [w for w in _WORD.findall(raw.lower())][:MAX_QUERY_WORDS]
    prefix = ""
    if words and len(words[-1]) >= MIN_PREFIX_LENGTH:
        prefix = words.pop()
    kept = tuple(dict.fromkeys(w for w in words if w not in STOP_WORDS))
    return TextQuery(kept, prefix)


@dataclass(frozen=True)
class SearchHit:
    kind: ResourceKind
    score: float
    resource: AgentRow | SkillRow | DaemonRow


@dataclass(frozen=True)
class _Plan:
    text: TextQuery
    kinds: tuple[ResourceKind, ...]
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    pricing_models: tuple[str, ...]
    price_asset: str
    min_price: int | None
    max_price: int | None
    min_rating: float
    order: SearchOrder
    limit: int

    def binding(self) -> str:
        return fingerprint(
            self.text.words,
            self.text.prefix,
            self.kinds,
            self.categories,
            self.tags,
            self.pricing_models,
            self.price_asset,
            self.min_price,
            self.max_price,
            self.min_rating,
            self.order,
        )


def _plan(query: SearchQuery) -> _Plan:
    v = Violations()
    if len(query.text) > MAX_QUERY_LENGTH:
        v.add("query", f"must be at most {MAX_QUERY_LENGTH} characters")
    text_query = parse_text(query.text)

    def members(values: Sequence[Any], field_name: str) -> tuple[Any, ...]:
        if len(values) > MAX_FILTER_VALUES:
            v.add(field_name, f"must have at most {MAX_FILTER_VALUES} values")
        for index, value in enumerate(values):
            if value is None:
                v.add(f"{field_name}[{index}]", "must not be unspecified")
        return tuple(sorted({value.value for value in values if value is not None}))

    kinds = tuple(ResourceKind(k) for k in members(query.kinds, "kinds"))
    categories = members(query.categories, "filter.categories")
    pricing_models = members(query.pricing_models, "filter.pricing_models")
    tags = tuple(sorted(check_tags(v, query.tags, "filter.tags")))
    price_asset = query.price_asset
    if price_asset:
        check_asset(v, price_asset, "filter.price_asset")
    elif query.min_price is not None or query.max_price is not None:
        v.add(
            "filter.price_asset", "is required with min_price or max_price: prices compare within one asset"
        )
    if query.min_price is not None:
        check_amount(v, query.min_price, "filter.min_price", positive=False)
    if query.max_price is not None:
        check_amount(v, query.max_price, "filter.max_price", positive=False)
    if query.min_price is not None and query.max_price is not None and query.min_price > query.max_price:
        v.add("filter.max_price", "must not be below min_price")
    if not (0.0 <= query.min_rating <= 5.0):  # also refuses NaN
        v.add("filter.min_rating", "must be between 0 and 5")
    limit = 0
    try:
        limit = page_size(query.page_size)
    except InvalidArgument as error:
        v.extend(error)
    v.raise_if_any()

    order = query.order or (SearchOrder.POPULAR if text_query.empty else SearchOrder.RELEVANCE)
    if order is SearchOrder.RELEVANCE and text_query.empty:
        # Nothing to be relevant to: every listing would score the same.
        order = SearchOrder.POPULAR
    return _Plan(
        text=text_query,
        kinds=kinds,
        categories=categories,
        tags=tags,
        pricing_models=pricing_models,
        price_asset=price_asset,
        min_price=query.min_price,
        max_price=query.max_price,
        min_rating=query.min_rating,
        order=order,
        limit=limit,
    )


_ORDER_COLUMNS = {
    SearchOrder.POPULAR: "popularity",
    SearchOrder.NEWEST: "created_at",
    SearchOrder.RATING: "rating",
    SearchOrder.REPUTATION: "reputation",
}
# SQLite: a text or tag match set smaller than this is sorted directly; a larger one is met while
# walking the order's index instead (see infra/search_sql).
DRIVE_BOUND = 3000


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        return datetime.fromisoformat(str(value["dt"]))
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return value
    raise InvalidArgument(
        "is not a page token this list issued for these parameters",
        field="page_token",
        reason="INVALID_PAGE_TOKEN",
    )


def _score(order: SearchOrder, value: Any) -> float:
    if order is SearchOrder.NEWEST:
        # SQLite hands back the stored text of the timestamp, PostgreSQL a datetime.
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return float(value)


class SearchService:
    def __init__(self, db: Database, page_tokens: PageTokens) -> None:
        self._db = db
        self._tokens = page_tokens
        self._postgres = db.is_postgres
        self._builders: dict[ResourceKind, tuple[RowBuilder[Any], str]] = {
            ResourceKind.AGENT: (RowBuilder(AgentRow, db.dialect), "agents"),
            ResourceKind.SKILL: (RowBuilder(SkillRow, db.dialect), "skills"),
            ResourceKind.DAEMON: (RowBuilder(DaemonRow, db.dialect), "daemons"),
        }

    def _input(self, plan: _Plan, cursor: dict[str, Any] | None) -> SearchInput:
        after = None
        if cursor is not None:
            try:
                after = (_decode_value(cursor["v"]), int(cursor["id"]))
            except (KeyError, TypeError, ValueError):
                raise InvalidArgument(
                    "is not a page token this list issued for these parameters",
                    field="page_token",
                    reason="INVALID_PAGE_TOKEN",
                ) from None
        return SearchInput(
            fts5=plan.text.fts5() if not self._postgres else "",
            pg_words=" ".join(plan.text.words) if self._postgres else "",
            pg_prefix=plan.text.prefix if self._postgres else "",
            kinds=tuple(k.value for k in plan.kinds) if len(plan.kinds) < len(ResourceKind) else (),
            categories=plan.categories,
            pricing_models=plan.pricing_models,
            price_asset=plan.price_asset,
            min_price=plan.min_price,
            max_price=plan.max_price,
            min_rating=plan.min_rating,
            tags=plan.tags,
            order="relevance" if plan.order is SearchOrder.RELEVANCE else _ORDER_COLUMNS[plan.order],
            after=after,
            # One more than a page tells whether there is a next page.
            limit=plan.limit + 1,
            candidates=RELEVANCE_CANDIDATES,
        )

    async def _shape(self, plan: _Plan, search: SearchInput) -> tuple[Shape, str]:
        if plan.order is SearchOrder.RELEVANCE:
            return "relevance", ""
        if self._postgres:
            return "by_index", ""
        if search.has_text:
            sql, params = count_matches(search.fts5, DRIVE_BOUND)
            (matches,) = (await self._db.fast.fetch(sql, params, inline=True))[0]
            return ("by_matches" if matches < DRIVE_BOUND else "by_index"), ""
        if search.tags:
            counts = []
            for tag in search.tags:
                sql, params = count_tagged(tag, DRIVE_BOUND)
                counts.append(((await self._db.fast.fetch(sql, params, inline=True))[0][0], tag))
            fewest, tag = min(counts)
            return ("by_tag", tag) if fewest < DRIVE_BOUND else ("by_index", "")
        return "by_index", ""

    async def search(self, query: SearchQuery) -> tuple[list[SearchHit], str]:
        plan = _plan(query)
        binding = plan.binding()
        cursor = self._tokens.decode("search", query.page_token, binding)
        search = self._input(plan, cursor)
        shape, drive_tag = await self._shape(plan, search)
        sql, params = search_statement(search, shape, postgres=self._postgres, drive_tag=drive_tag)
        found = await self._db.fast.fetch(sql, params)
        more = len(found) > plan.limit
        found = found[: plan.limit]
        resources = await self._load(found)
        hits = [
            SearchHit(ResourceKind(kind), _score(plan.order, value), resources[(kind, resource_id)])
            for _, kind, resource_id, value in found
            if (kind, resource_id) in resources
        ]
        next_token = ""
        if more and found:
            doc_id, _, _, value = found[-1]
            next_token = self._tokens.encode("search", {"v": _encode_value(value), "id": doc_id}, binding)
        return hits, next_token

    async def _load(self, found: Sequence[Any]) -> dict[tuple[str, str], Any]:
        wanted: dict[str, list[str]] = {}
        for _, kind, resource_id, _ in found:
            wanted.setdefault(kind, []).append(resource_id)
        loaded: dict[tuple[str, str], Any] = {}
        for kind, ids in wanted.items():
            builder, table_name = self._builders[ResourceKind(kind)]
            sql, params = rows_by_ids(builder.columns_sql, table_name, ids, postgres=self._postgres)
            for raw in await self._db.fast.fetch(sql, params, inline=True):
                row = builder.build(raw)
                loaded[(kind, row.id)] = row
        return loaded
