"""The SQL of search, per backend, built as text: compiling these statements with SQLAlchemy
costs about 5 ms each, more than running most of them.

Every statement returns (doc_id, kind, resource_id, sort_value) rows, best first, after the keyset
cursor when there is one. The shapes:
- relevance: the newest `candidates` text matches that pass the filters, ranked by text rank x boost;
- by_index: walk the order's index (listed, column, doc_id), keeping rows that pass the filters and,
  with text, belong to the match set (materialised once on SQLite);
- by_matches (SQLite): start from the text matches and sort them: cheap when they are few;
- by_tag (SQLite): start from the documents carrying one (the rarest) tag and sort them.
PostgreSQL's planner chooses between walking an index and starting from the GIN or tag matches by
itself, from its statistics; SQLite's does not know how many documents a word matches, so the
domain counts (with a bound) and picks the shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Shape = Literal["relevance", "by_index", "by_matches", "by_tag"]
ORDER_COLUMNS = ("popularity", "created_at", "rating", "reputation")
# bm25 weights of title, tags_text and body; ts_rank_cd weights {D, C, B, A} with the title as A,
# tags B and body C.
BM25_WEIGHTS = "10.0, 5.0, 1.0"
TS_RANK_WEIGHTS = "{0.1, 0.1, 0.5, 1.0}"


@dataclass(frozen=True)
class SearchInput:
    """A search reduced to primitives: what the domain's plan becomes for SQL."""

    # SQLite FTS5 MATCH expression; "" without text.
    fts5: str = ""
    # PostgreSQL: words for plainto_tsquery('english') and the prefix term ("" for none).
    pg_words: str = ""
    pg_prefix: str = ""
    kinds: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    pricing_models: tuple[str, ...] = ()
    price_asset: str = ""
    min_price: int | None = None
    max_price: int | None = None
    min_rating: float = 0.0
    tags: tuple[str, ...] = ()
    # "relevance" or one of ORDER_COLUMNS.
    order: str = "popularity"
    # The keyset: (sort value, doc_id) of the last row of the previous page.
    after: tuple[Any, int] | None = None
    limit: int = 25
    candidates: int = 1000

    @property
    def has_text(self) -> bool:
        return bool(self.fts5 or self.pg_words or self.pg_prefix)


@dataclass
class _Builder:
    postgres: bool
    params: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def in_list(self, column: str, values: Sequence[Any]) -> str:
        return f"{column} IN ({', '.join(self.bind(v) for v in values)})"

    def filters(self, s: SearchInput, *, skip_tag: str | None = None) -> list[str]:
        found = ["d.listed" if self.postgres else "d.listed = 1"]
        if s.kinds:
            found.append(self.in_list("d.kind", s.kinds))
        if s.categories:
            found.append(self.in_list("d.category", s.categories))
        if s.pricing_models:
            found.append(self.in_list("d.pricing_model", s.pricing_models))
        if s.price_asset:
            found.append(f"d.price_asset = {self.bind(s.price_asset)}")
        if s.min_price is not None:
            found.append(f"d.price_amount >= {self.bind(s.min_price)}")
        if s.max_price is not None:
            found.append(f"d.price_amount <= {self.bind(s.max_price)}")
        if s.min_rating > 0:
            found.append(f"d.rating >= {self.bind(s.min_rating)}")
        for tag in s.tags:
            if tag != skip_tag:
                # A primary-key probe of search_tags (tag, doc_id) per row.
                found.append(
                    "EXISTS (SELECT 1 FROM search_tags t "
                    f"WHERE t.tag = {self.bind(tag)} AND t.doc_id = d.doc_id)"
                )
        return found

    def keyset(self, value_sql: str, id_sql: str, s: SearchInput) -> list[str]:
        if s.after is None:
            return []
        value, doc_id = s.after
        return [f"({value_sql}, {id_sql}) < ({self.bind(value)}, {self.bind(doc_id)})"]

    def tsquery(self, s: SearchInput) -> str:
        parts = []
        if s.pg_words:
            parts.append(f"plainto_tsquery('english', {self.bind(s.pg_words)})")
        if s.pg_prefix:
            # The english form matches stems ("analys:*" finds "analysis"); the simple form keeps
            # a prefix that is a stop word or shorter than its stem ("an:*").
            prefix = self.bind(s.pg_prefix + ":*")
            parts.append(f"(to_tsquery('english', {prefix}) || to_tsquery('simple', {prefix}))")
        return " && ".join(parts)


def _where(conditions: Sequence[str]) -> str:
    return " AND ".join(conditions)


def search_statement(
    s: SearchInput, shape: Shape, *, postgres: bool, drive_tag: str = ""
) -> tuple[str, dict[str, Any]]:
    b = _Builder(postgres)
    if shape == "relevance":
        return _relevance(b, s), b.params
    column = s.order
    if column not in ORDER_COLUMNS:
        raise ValueError(f"unknown order column {column!r}")
    select = f"SELECT d.doc_id, d.kind, d.resource_id, d.{column} FROM "
    order = f" ORDER BY d.{column} DESC, d.doc_id DESC LIMIT {b.bind(s.limit)}"
    keyset = b.keyset(f"d.{column}", "d.doc_id", s)
    if postgres:
        conditions = b.filters(s)
        if s.has_text:
            conditions.append(f"d.search_vector @@ ({b.tsquery(s)})")
        return select + "search_documents d WHERE " + _where(conditions + keyset) + order, b.params
    if shape == "by_matches":
        conditions = [f"search_fts MATCH {b.bind(s.fts5)}", *b.filters(s), *keyset]
        # CROSS JOIN keeps the match set as the outer loop.
        source = "search_fts CROSS JOIN search_documents d ON d.doc_id = search_fts.rowid"
        return select + source + " WHERE " + _where(conditions) + order, b.params
    if shape == "by_tag":
        source = (
            f"(SELECT doc_id FROM search_tags WHERE tag = {b.bind(drive_tag)}) t "
            "CROSS JOIN search_documents d ON d.doc_id = t.doc_id"
        )
        conditions = [*b.filters(s, skip_tag=drive_tag), *keyset]
        return select + source + " WHERE " + _where(conditions) + order, b.params
    conditions = b.filters(s)
    if s.has_text:
        # Evaluated once into an index of the matching rowids, then probed while the order's
        # index is walked.
        conditions.append(
            f"d.doc_id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH {b.bind(s.fts5)})"
        )
    source = f"search_documents d INDEXED BY ix_search_documents_{_INDEX[column]}"
    return select + source + " WHERE " + _where(conditions + keyset) + order, b.params


_INDEX = {"popularity": "popular", "created_at": "newest", "rating": "rating", "reputation": "reputation"}


def _relevance(b: _Builder, s: SearchInput) -> str:
    if b.postgres:
        tsquery = b.tsquery(s)
        candidates = (
            "SELECT d.doc_id, d.kind, d.resource_id, d.boost, d.search_vector AS v, q.q "
            f"FROM search_documents d, (SELECT {tsquery} AS q) q WHERE "
            + _where([*b.filters(s), "d.search_vector @@ q.q"])
            + f" ORDER BY d.doc_id DESC LIMIT {b.bind(s.candidates)}"
        )
        # Ranked outside the candidate query so that ts_rank_cd only reads the candidates' vectors.
        weights = b.bind(TS_RANK_WEIGHTS)
        scored = (
            "SELECT c.doc_id, c.kind, c.resource_id, "
            f"CAST(ts_rank_cd(CAST({weights} AS float4[]), c.v, c.q, 1) AS float8) * c.boost AS score "
            f"FROM ({candidates}) c"
        )
    else:
        candidates_where = _where([f"search_fts MATCH {b.bind(s.fts5)}", *b.filters(s)])
        scored = (
            f"SELECT d.doc_id, d.kind, d.resource_id, -bm25(search_fts, {BM25_WEIGHTS}) * d.boost AS score "
            "FROM search_fts CROSS JOIN search_documents d ON d.doc_id = search_fts.rowid "
            f"WHERE {candidates_where} ORDER BY search_fts.rowid DESC LIMIT {b.bind(s.candidates)}"
        )
    keyset = b.keyset("s.score", "s.doc_id", s)
    where = (" WHERE " + _where(keyset)) if keyset else ""
    return (
        f"SELECT s.doc_id, s.kind, s.resource_id, s.score FROM ({scored}) s{where} "
        f"ORDER BY s.score DESC, s.doc_id DESC LIMIT {b.bind(s.limit)}"
    )


def count_matches(fts5: str, bound: int) -> tuple[str, dict[str, Any]]:
    """SQLite: how many documents match the text, counting no further than `bound`."""
    return (
        "SELECT count(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH :q LIMIT :bound)",
        {"q": fts5, "bound": bound},
    )


def count_tagged(tag: str, bound: int) -> tuple[str, dict[str, Any]]:
    return (
        "SELECT count(*) FROM (SELECT 1 FROM search_tags WHERE tag = :tag LIMIT :bound)",
        {"tag": tag, "bound": bound},
    )


def rows_by_ids(
    columns_sql: str, table: str, ids: Sequence[str], *, postgres: bool
) -> tuple[str, dict[str, Any]]:
    if postgres:
        return f"SELECT {columns_sql} FROM {table} WHERE id = ANY(:ids)", {"ids": list(ids)}
    names = {f"i{n}": value for n, value in enumerate(ids)}
    placeholders = ", ".join(f":{name}" for name in names)
    return f"SELECT {columns_sql} FROM {table} WHERE id IN ({placeholders})", names
