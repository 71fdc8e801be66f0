"""Hybrid knowledge retrieval: language-aware full-text + typo correction, pgvector HNSW, fused by rank.

The lexical leg finds candidate chunks through the GIN index on their full-text vector (Spanish or
English stemming by the entry's language, accents folded; typos corrected towards the tenant's own
vocabulary by fuzzy matching), then scores each candidate by how much of the question's topic it
covers. The semantic leg, when an embeddings provider is active, asks the HNSW index for the chunks
nearest the question among the tenant's vectors of that same model. Entries are ranked by reciprocal
rank fusion (RRF, k=60) of the two lists; an entry counts as found only with real evidence: lexical
coverage and a score of at least ``min_score``, or a cosine similarity of at least ``min_similarity``.
Nothing found means the agent says it does not know and offers a person.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from pgvector.sqlalchemy import Vector
from rapidfuzz import fuzz, process
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.config import get_settings
from app.knowledge import embeddings
from app.knowledge.chunking import SECTION_CHARS, is_faq
from app.knowledge.embeddings import Embedder
from app.knowledge.models import EMBEDDING_DIMENSIONS
from app.knowledge.schemas import KnowledgeHit
from app.knowledge.synonyms import BUILTIN, Lexicon, lexicon_with
from app.text.normalize import fold

RRF_K = 60
# An entry must also cover this share of the question's topic, each word weighted by its rarity: the
# rare word of "¿tienen servicio de grúa?" matters more than the common one. 0.2 refuses one more of the
# eval's unanswerable questions with the same hit@1/hit@3/MRR; 0.3 already costs hit@3 (0.977 -> 0.965).
MIN_COVERED = 0.2
LEXICAL_CANDIDATES = 30  # per probe lexeme, from the inverted index
SEMANTIC_CANDIDATES = 20
HNSW_EF_SEARCH = 200  # recall@5 0.97 against exact search at 100k chunks (0.91 at 100), same latency

# Words that carry no topic in a customer's question: greetings, politeness and the verbs of "do you
# have / offer / accept ...". Dropping them lets coverage (below) measure what the question is about.
_FILLER_WORDS = frozenset(
    {
        # "¿en qué agencia las puedo ir a ver?", "una última pregunta": going and seeing, asking, thanking.
        "ir",
        "ver",
        "verlo",
        "verla",
        "verlos",
        "verlas",
        "duda",
        "ultima",
        "agradezco",
        "hola",
        "holi",
        "ola",
        "buenas",
        "buenos",
        "buen",
        "dia",
        "dias",
        "tarde",
        "tardes",
        "noche",
        "noches",
        "oye",
        "oiga",
        "disculpa",
        "disculpe",
        "perdon",
        "favor",
        "porfa",
        "porfavor",
        "gracias",
        "quisiera",
        "quiero",
        "queria",
        "queremos",
        "saber",
        "preguntar",
        "pregunta",
        "pregunto",
        "informacion",
        "info",
        "informes",
        "dato",
        "datos",
        "me",
        "nos",
        "podrian",
        "podrias",
        "puede",
        "pueden",
        "puedo",
        "podria",
        "podemos",
        "decir",
        "dices",
        "dicen",
        "digan",
        "gustaria",
        "tienen",
        "tiene",
        "tienes",
        "tenemos",
        "hay",
        "manejan",
        "manejas",
        "ofrecen",
        "ofreces",
        "aceptan",
        "aceptas",
        "reciben",
        "recibes",
        "cuentan",
        "venden",
        "vendes",
        "cual",
        "cuales",
        "que",
        "como",
        "cuando",
        "cuanto",
        "cuanta",
        "cuantos",
        "cuantas",
        "ustedes",
        "usted",
        "ahi",
        "aqui",
        "alla",
        "algo",
        # conversational glue: "estoy en buró, ¿aun así me lo dan?", "ah ok, o sea que igual sí?"
        "aun",
        "asi",
        "estoy",
        "ando",
        "ah",
        "mmm",
        "oki",
        "orale",
        "darian",
        "algun",
        "alguna",
        "alguno",
        "sobre",
        "acerca",
        "tambien",
        "si",
        "ok",
        "okay",
        "va",
        "pues",
        "entonces",
        "bueno",
        "mucho",
        "muy",
        "hi",
        "hello",
        "hey",
        "please",
        "pls",
        "plz",
        "thanks",
        "thank",
        "thx",
        "want",
        "wanted",
        "know",
        "tell",
        "like",
        "would",
        "could",
        "can",
        "do",
        "does",
        "did",
        "you",
        "your",
        "yours",
        "guys",
        "there",
        "here",
        "is",
        "are",
        "was",
        "were",
        "any",
        "some",
        "about",
        "also",
        "just",
        "get",
        "got",
        "find",
        "need",
        "needed",
        "question",
        "questions",
        "ask",
        "asking",
        "information",
        "anything",
        "something",
        "policy",
        "policies",
        "politica",
        "politicas",
        "estan",
        "esta",
        "estas",
        "son",
        "give",
        "gives",
        "offer",
        "offers",
        "provide",
        "provides",
        "dan",
        "dar",
        "ofrece",
        # Conversational words that carry no topic ("¿me lo apartan mientras junto los papeles?").
        "mientras",
        "junto",
        "ahorita",
        "igual",
        "todavia",
        "luego",
        "nomas",
        "namas",
        "osea",
        "neta",
        "oigan",
        "porfis",
        "pa",
        "while",
        "meanwhile",
        "still",
        "gonna",
        "wanna",
        # How-does-it-work and tell-me-about words say nothing of the topic itself.
        "funciona",
        "till",
        "until",
        "funcionan",
        "trabaja",
        "trabajan",
        "hablame",
        "platicame",
        "explicame",
        "explica",
        "cuentame",
        "dime",
        "detalle",
        "detalles",
        "works",
        "work",
        "explain",
        "details",
    }
)
# "do you sell ...": the verb asks whether the business offers something; the topic is what follows.
_OFFER_PHRASE = re.compile(
    r"\b(?:do|does|can|could|will|would)\s+(?:you|u|ya)\s+(?:guys\s+|all\s+)?"
    r"(?:have|sell|offer|carry|stock|accept|take|provide|handle|give|do)\b"
)
# A few everyday ways of naming what entries call otherwise (each word also keeps itself).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("carro", "carros", "coche", "coches", "vehiculo", "vehiculos", "automovil", "autos"), ("auto",)),
    **dict.fromkeys(("vehicle", "vehicles", "cars"), ("car",)),
    **dict.fromkeys(
        ("hora", "horas", "abren", "abre", "abierto", "abiertos", "cierran", "cierra", "cerrado", "cerrados"),
        ("horario",),
    ),
    **dict.fromkeys(("time", "times", "opening", "close", "closing", "closed"), ("hours", "open")),
    **dict.fromkeys(("donde", "ubicados", "ubicado", "ubicadas", "quedan", "encuentran"), ("ubicacion", "sucursal")),
    **dict.fromkeys(("where", "located", "situated"), ("location", "branch")),
    **dict.fromkeys(("devolver", "devolverlo", "devuelven", "devuelvo", "regresar", "regresarlo"), ("devolucion",)),
    **dict.fromkeys(("papeles", "papeleria", "requisitos", "tramites"), ("documentos",)),
    **dict.fromkeys(("paperwork", "requirements", "papers"), ("documents",)),
    **dict.fromkeys(("cuesta", "cuestan", "costaria", "cobran"), ("costo", "precio")),
    **dict.fromkeys(("credito", "creditos", "financiar", "financian", "financiado"), ("financiamiento",)),
    **dict.fromkeys(("loan", "loans", "credit", "finance", "financed"), ("financing",)),
    **dict.fromkeys(("quienes", "ustedes"), ("empresa",)),
    # "¿desde cuándo tienen el negocio?", "¿son confiables?": the company itself (its opening text's keywords).
    **dict.fromkeys(
        ("negocio", "negocios", "compania", "fundaron", "fundada", "fundado", "trayectoria", "confiables", "confiable"),
        ("empresa",),
    ),
}
_TYPO_CUTOFF = 85.0
_TYPO_MIN_LENGTH = 4
_MAX_TERMS = 20
_QUERY_WORD = re.compile(r"[a-z0-9ñ]+")

# Lexical scoring, per candidate chunk: each topic word of the question (with its synonyms and typo
# corrections as alternatives) counts 1.0 when it is in the entry's title, 0.9 in the heading or keywords,
# 0.5 only in the text, weighted by how rare the word is among the tenant's chunks; a title mostly made
# of the question's words ("Financiamiento" for "¿manejan crédito?") breaks ties. Stems are compared with
# the entry's own language's stemmer, also by prefix (a little less) so "ubicados" finds "ubicación".
# A chunk must cover at least half of the question's topic words: "¿venden motos acuáticas?" shares
# nothing with any entry, so nothing is returned and the agent offers a human instead of guessing.
# Candidates come from the inverted index (knowledge_postings): each probe's best :candidates chunks.
_LEXICAL_SQL = text(
    """
    WITH raw AS (
        SELECT t.word, t.grp, t.weight
        FROM unnest(CAST(:words AS text[]), CAST(:groups AS int[]), CAST(:weights AS float8[])) AS t(word, grp, weight)
    ),
    lex AS (
        -- A word is one lexeme; a synonym phrase ("pago inicial") is a phrase query of its lexemes.
        SELECT grp, weight, word,
               phraseto_tsquery('spanish', word) AS es_q, phraseto_tsquery('english', word) AS en_q
        FROM raw
    ),
    valid AS (
        SELECT grp, weight, word, es_q, en_q,
               trim(both '''' from es_q::text) AS es, trim(both '''' from en_q::text) AS en,
               numnode(es_q) = 1 AS es_single, numnode(en_q) = 1 AS en_single
        FROM lex
        WHERE numnode(es_q) > 0 AND numnode(en_q) > 0 AND es_q::text !~ '[&|!]' AND en_q::text !~ '[&|!]'
    ),
    total AS (SELECT count(DISTINCT grp) AS n FROM valid),
    probe_lexemes AS (
        -- The question's stems in both languages (a phrase's each); scoring also matches their prefixes.
        SELECT DISTINCT l.lexeme
        FROM valid v
        CROSS JOIN LATERAL (
            SELECT unnest(tsvector_to_array(to_tsvector('spanish', v.word)))
            UNION SELECT unnest(tsvector_to_array(to_tsvector('english', v.word)))
        ) AS l(lexeme)
    ),
    cand_ids AS (
        -- Each probe's highest-impact chunks, read from the inverted index in order: a word shared by
        -- thousands of chunks contributes its best :candidates, not all of them.
        SELECT DISTINCT p.chunk_id
        FROM probe_lexemes pl
        CROSS JOIN LATERAL (
            SELECT kp.chunk_id FROM knowledge_postings kp
            WHERE kp.tenant_id = :tenant_id AND kp.lexeme = (pl.lexeme COLLATE "C")
            ORDER BY kp.impact DESC, kp.chunk_id
            LIMIT :candidates
        ) p
    ),
    cand AS (
        SELECT c.id, c.entry_id, c.ordinal, c.heading, c.content, c.language, c.tsv
        FROM knowledge_chunks c JOIN cand_ids ci ON ci.chunk_id = c.id
        WHERE c.tenant_id = :tenant_id
    ),
    entries AS (
        SELECT c.id, c.entry_id, c.ordinal, e.title, c.heading, c.content, e.content AS entry_content, e.category,
               e.type, c.language, e.priority, c.tsv, e.title_tsv
        FROM cand c JOIN knowledge_entries e ON e.id = c.entry_id
    ),
    probes AS (
        -- "\\:A" restricts a probe to headings and keywords (each lexeme of a phrase).
        SELECT en.id, v.grp, v.weight,
               CASE WHEN l.single THEN CAST(quote_literal(l.lexeme) AS tsquery) ELSE l.q END AS exact,
               CASE WHEN l.single THEN CAST(quote_literal(l.lexeme) || '\\:A' AS tsquery) ELSE l.qa END AS exact_a,
               CASE WHEN l.single THEN CAST(x.stem || CASE WHEN x.starred THEN ':*' ELSE '' END AS tsquery)
                    ELSE l.q END AS prefix,
               CASE WHEN l.single THEN CAST(x.stem || CASE WHEN x.starred THEN ':*A' ELSE '\\:A' END AS tsquery)
                    ELSE l.qa END AS prefix_a
        FROM entries en
        CROSS JOIN valid v
        CROSS JOIN LATERAL (
            SELECT CASE WHEN en.language = 'en' THEN v.en ELSE v.es END AS lexeme,
                   CASE WHEN en.language = 'en' THEN v.en_q ELSE v.es_q END AS q,
                   CAST(regexp_replace(CASE WHEN en.language = 'en' THEN v.en_q ELSE v.es_q END::text,
                                       '''([^'']+)''', '''\\1''\\:A', 'g') AS tsquery) AS qa,
                   CASE WHEN en.language = 'en' THEN v.en_single ELSE v.es_single END AS single
        ) l
        CROSS JOIN LATERAL (
            SELECT length(l.lexeme) >= 4 AS starred,
                   quote_literal(CASE WHEN length(l.lexeme) >= 6 THEN left(l.lexeme, length(l.lexeme) - 1)
                                      ELSE l.lexeme END) AS stem
        ) x
    ),
    matches AS (
        SELECT p.id, p.grp,
               max(p.weight * CASE WHEN en.title_tsv @@ p.exact THEN 1.0
                                   WHEN en.title_tsv @@ p.prefix THEN 0.8
                                   WHEN en.tsv @@ p.exact_a THEN 0.9
                                   WHEN en.tsv @@ p.prefix_a THEN 0.72
                                   WHEN en.tsv @@ p.exact THEN 0.5
                                   WHEN en.tsv @@ p.prefix THEN 0.4
                                   ELSE 0 END) AS m,
               max(CASE WHEN en.title_tsv @@ p.prefix OR en.title_tsv @@ p.exact THEN 1 ELSE 0 END) AS in_title
        FROM probes p JOIN entries en ON en.id = p.id
        GROUP BY p.id, p.grp
    ),
    rarity AS (
        -- Inverse document frequency over the tenant's chunks: "garantía" says more than "auto" does.
        SELECT grp,
               greatest(ln((greatest(CAST(:documents AS float8), count(*)) + 1.0)
                           / (count(*) FILTER (WHERE m > 0) + 0.5)), 0.1) AS idf
        FROM matches GROUP BY grp
    ),
    scored AS (
        SELECT m.id, count(*) FILTER (WHERE m.m > 0) AS matched, sum(m.m * r.idf) / sum(r.idf) AS strength,
               coalesce(sum(r.idf) FILTER (WHERE m.m > 0), 0) / sum(r.idf) AS covered,
               sum(m.in_title) AS title_hits
        FROM matches m JOIN rarity r ON r.grp = m.grp
        GROUP BY m.id
    ),
    chunk_scores AS (
        SELECT en.id AS chunk_id, en.entry_id, en.ordinal, en.title, en.heading, en.content, en.entry_content,
               en.category, en.type, en.language, en.priority, s.matched = t.n AND s.strength >= 0.9 AS exact,
               round(CAST(s.covered AS numeric), 4) AS covered,
               -- Rounded: float sums in a different row order must not reorder equal scores.
               round(CAST(s.strength
                 + 0.1 * s.title_hits / greatest(length(en.title_tsv), 1)
                 + CASE WHEN en.language = :lang THEN 0.02 ELSE 0 END
                 + 0.01 * en.priority AS numeric), 6) AS score
        FROM scored s JOIN entries en ON en.id = s.id CROSS JOIN total t
        WHERE s.matched > 0 AND 2 * s.matched >= t.n AND s.covered >= :min_covered
    ),
    ranked AS (
        SELECT DISTINCT ON (c.entry_id) c.*,
               -- The entry's other chunks with nearly the best evidence: read next to the best one.
               array_agg(c.ordinal) FILTER (WHERE c.score >= :also_ratio * c.best)
                   OVER (PARTITION BY c.entry_id) AS close_ordinals
        FROM (SELECT cs.*, max(cs.score) OVER (PARTITION BY cs.entry_id) AS best FROM chunk_scores cs) c
        -- Equal evidence: the earliest chunk, so a question about a whole section starts at its beginning.
        ORDER BY c.entry_id, c.score DESC, c.ordinal, c.chunk_id
    )
    SELECT * FROM ranked
    -- Ties break by title, not by the random id, so the same data always ranks the same way.
    ORDER BY score DESC, priority DESC, title, entry_id
    LIMIT :limit
    """
)
# Nearest chunks by cosine distance among the tenant's vectors of the active model (HNSW; iterative
# scans keep the tenant filter from starving the result), then their entries.
_SEMANTIC_SQL = text(
    """
    SELECT v.chunk_id, v.entry_id, v.ordinal, e.title, v.heading, v.content, e.content AS entry_content, e.category,
           e.type, v.language, e.priority, v.similarity
    FROM (
        SELECT c.id AS chunk_id, c.entry_id, c.ordinal, c.heading, c.content, c.language,
               1 - (c.embedding <=> :vector) AS similarity
        FROM knowledge_chunks c
        WHERE c.tenant_id = :tenant_id AND c.embedding_model = :model
        ORDER BY c.embedding <=> :vector
        LIMIT :limit
    ) v
    JOIN knowledge_entries e ON e.id = v.entry_id
    ORDER BY v.similarity DESC, e.title
    """
).bindparams(bindparam("vector", type_=Vector(EMBEDDING_DIMENSIONS)))
_COUNT_SQL = text("SELECT count(*) FROM knowledge_chunks WHERE tenant_id = :tenant_id")
# Candidate corrections of the question's words among the tenant's terms: trigram-similar ones through
# the GIN index (the threshold is low so one-letter typos of short words qualify; rapidfuzz decides).
_VOCABULARY_SQL = text(
    """
    WITH w AS (SELECT DISTINCT unnest(CAST(:words AS text[])) AS word),
    known AS (
        SELECT k.term FROM knowledge_terms k JOIN w ON k.term = w.word WHERE k.tenant_id = :tenant_id
    )
    SELECT term FROM known
    UNION
    -- Only the words the tenant does not use are looked up by similarity (a known word is never corrected).
    SELECT c.term
    FROM w
    CROSS JOIN LATERAL (
        SELECT k.term FROM knowledge_terms k
        WHERE k.tenant_id = :tenant_id AND k.term % w.word
        ORDER BY similarity(k.term, w.word) DESC, k.term
        LIMIT 8
    ) c
    WHERE w.word NOT IN (SELECT term FROM known)
    """
)


def vocabulary_words(text: str) -> set[str]:
    """The words of ``text`` that typo correction can correct towards (folded, 4+ letters)."""
    return {w for w in _QUERY_WORD.findall(fold(text)) if len(w) >= _TYPO_MIN_LENGTH}


def query_terms(
    query: str,
    vocabulary: Iterable[str] = (),
    *,
    lexicon: Lexicon = BUILTIN,
    language: str = "es",
    translate: bool = False,
) -> list[list[tuple[str, float]]]:
    """Topic words of ``query``, each with its alternatives (synonyms, typo corrections) and their weights.

    A phrase of the synonym lexicon ("pago inicial", "a cuenta", "test drive") is one topic term, its
    words are not counted again; a word or phrase of the lexicon brings its synonyms (``synonyms``), and
    with ``translate`` (the tenant has no text in the question's language) its other-language terms.
    """
    folded = _OFFER_PHRASE.sub(" ", fold(query))
    known = {w for w in vocabulary if len(w) >= _TYPO_MIN_LENGTH}
    choices = sorted(known)
    tokens = _QUERY_WORD.findall(folded)
    terms: list[list[tuple[str, float]]] = []
    seen: set[str] = set()
    position = 0
    while position < len(tokens) and len(terms) < _MAX_TERMS:
        phrase = lexicon.phrase_at(tokens, position)
        if phrase is not None:
            position += len(phrase.split())
            if phrase not in seen:
                seen.add(phrase)
                alternatives = {phrase: 1.0}
                for other, weight in lexicon.alternatives(phrase, language, translate=translate):
                    alternatives.setdefault(other, weight)
                terms.append(list(alternatives.items()))
            continue
        word = tokens[position]
        position += 1
        if word in _FILLER_WORDS or word.isdigit() or len(word) < 2 or word in seen:
            continue
        seen.add(word)
        alternatives = {word: 1.0}
        for synonym in _SYNONYMS.get(word, ()):
            alternatives.setdefault(synonym, 1.0)
        for known_word in list(alternatives):  # "donde" -> "sucursal" -> "sede"
            for other, weight in lexicon.alternatives(known_word, language, translate=translate):
                alternatives.setdefault(other, weight)
        if len(word) >= _TYPO_MIN_LENGTH and word not in known and choices and not lexicon.lookup(word):
            hit = process.extractOne(word, choices, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF)
            if hit is not None:
                alternatives.setdefault(str(hit[0]), 0.9)
        terms.append(list(alternatives.items()))
    return terms


async def _vocabulary(session: AsyncSession, tenant_id: uuid.UUID, query: str) -> set[str]:
    """The tenant's terms equal or trigram-similar to the question's words: what typos are corrected to."""
    words = sorted(vocabulary_words(_OFFER_PHRASE.sub(" ", fold(query))) - _FILLER_WORDS)[:_MAX_TERMS]
    if not words:
        return set()
    await session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', '0.2', true)"))
    rows = await session.execute(_VOCABULARY_SQL, {"tenant_id": tenant_id, "words": words})
    return {r.term for r in rows}


# Chunk counts feed the inverse document frequency only; a minute-old count ranks the same.
_DOCUMENTS: TTLCache[uuid.UUID, int] = TTLCache(maxsize=10_000, ttl=60)


async def _documents(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    count = _DOCUMENTS.get(tenant_id)
    if count is None:
        count = int((await session.execute(_COUNT_SQL, {"tenant_id": tenant_id})).scalar_one())
        _DOCUMENTS[tenant_id] = count
    return count


# The languages of a tenant's text: a question in one the text is (mostly) not written in is also
# searched with translated terms. Minute-old counts decide the same.
_LANGUAGES: TTLCache[uuid.UUID, dict[str, int]] = TTLCache(maxsize=10_000, ttl=60)
_LANGUAGES_SQL = text(
    "SELECT language, count(*) AS n FROM knowledge_entries"
    " WHERE tenant_id = :tenant_id AND deleted_at IS NULL AND active GROUP BY language"
)
TRANSLATE_BELOW = 0.25  # the question's language has under a quarter of the tenant's entries


async def _translate(session: AsyncSession, tenant_id: uuid.UUID, language: str) -> bool:
    counts = _LANGUAGES.get(tenant_id)
    if counts is None:
        rows = await session.execute(_LANGUAGES_SQL, {"tenant_id": tenant_id})
        counts = {str(r.language): int(r.n) for r in rows}
        _LANGUAGES[tenant_id] = counts
    total = sum(counts.values())
    return total > 0 and counts.get(language, 0) < TRANSLATE_BELOW * total


def forget_counts(tenant_id: uuid.UUID) -> None:
    """Drop a tenant's cached chunk count and languages (after its chunks change in this process)."""
    _DOCUMENTS.pop(tenant_id, None)
    _LANGUAGES.pop(tenant_id, None)


# Another chunk of the same entry with at least this share of its best chunk's evidence is read next to it
# ("todavía debo mi auto, ¿me lo reciben a cuenta?": the trade-in rule, then the one on cars still owed).
ALSO_RATIO = 0.85
# An entry up to this long answers whole (a policy, one question); a longer one answers with its best chunk
# (the passage: a section or one sub-part of it), which the info agent continues from when asked for more.
# An entry written as question-answer pairs answers with the pair found, however short the entry.
WHOLE_ENTRY_CHARS = SECTION_CHARS


def _hit(row: Any, **evidence: Any) -> KnowledgeHit:
    whole = len(row.entry_content) <= WHOLE_ENTRY_CHARS and not is_faq(row.entry_content)
    return KnowledgeHit(
        id=row.entry_id,
        chunk_id=row.chunk_id,
        ordinal=row.ordinal,
        title=row.title,
        heading=row.heading,
        content=row.entry_content if whole else row.content,
        category=row.category,
        type=row.type,
        language=row.language,
        score=0.0,
        **evidence,
    )


_SYNONYMS_SQL = text("SELECT terms FROM knowledge_synonyms WHERE tenant_id = :tenant_id ORDER BY created_at, id")


async def tenant_lexicon(session: AsyncSession, tenant_id: uuid.UUID) -> Lexicon:
    """The built-in synonym lexicon plus the tenant's own groups."""
    rows = await session.execute(_SYNONYMS_SQL, {"tenant_id": tenant_id})
    return lexicon_with(list(r.terms) for r in rows)


async def _lexical(
    session: AsyncSession, *, tenant_id: uuid.UUID, query: str, language: str, limit: int
) -> list[KnowledgeHit]:
    lexicon = await tenant_lexicon(session, tenant_id)
    translate = await _translate(session, tenant_id, language)
    vocabulary = await _vocabulary(session, tenant_id, query)
    terms = query_terms(query, vocabulary, lexicon=lexicon, language=language, translate=translate)
    if not terms:
        return []
    params = {
        "words": [w for term in terms for w, _ in term],
        "groups": [i for i, term in enumerate(terms) for _ in term],
        "weights": [weight for term in terms for _, weight in term],
        "tenant_id": tenant_id,
        "lang": language,
        "limit": limit,
        "candidates": LEXICAL_CANDIDATES,
        "documents": await _documents(session, tenant_id),
        "min_covered": MIN_COVERED,
        "also_ratio": ALSO_RATIO,
    }
    rows = await session.execute(_LEXICAL_SQL, params)
    return [
        _hit(
            r,
            lexical_score=round(float(r.score), 4),
            exact=bool(r.exact),
            coverage=float(r.covered),
            also=sorted(o for o in (r.close_ordinals or []) if o != r.ordinal),
        )
        for r in rows
    ]


async def _semantic(
    session: AsyncSession, *, tenant_id: uuid.UUID, vector: list[float], model: str, limit: int
) -> list[KnowledgeHit]:
    await session.execute(text(f"SET LOCAL hnsw.ef_search = {HNSW_EF_SEARCH}"))
    await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    rows = await session.execute(
        _SEMANTIC_SQL, {"tenant_id": tenant_id, "vector": vector, "model": model, "limit": limit}
    )
    hits: dict[uuid.UUID, KnowledgeHit] = {}
    for r in rows:  # the best chunk stands for its entry
        if r.entry_id not in hits:
            hits[r.entry_id] = _hit(r, similarity=round(float(r.similarity), 4))
    return list(hits.values())


@dataclass(slots=True)
class _Fused:
    hit: KnowledgeHit
    rrf: float


def fuse(
    lexical: list[KnowledgeHit], semantic: list[KnowledgeHit], *, min_score: float, min_similarity: float, limit: int
) -> list[KnowledgeHit]:
    """Reciprocal rank fusion of the two ranked lists, each cut at its evidence threshold first.

    Only evidence ranks: a lexical hit below ``min_score`` or a vector below ``min_similarity`` is noise
    (measured on the shipped question set: letting weak vectors vote costs hit@1), so it neither earns a
    rank nor makes an entry "found".
    """
    fused: dict[uuid.UUID, _Fused] = {}
    legs = (
        [h for h in lexical if (h.lexical_score or 0.0) >= min_score],
        [h for h in semantic if (h.similarity or 0.0) >= min_similarity],
    )
    for ranked in legs:
        for rank, hit in enumerate(ranked, start=1):
            current = fused.get(hit.id)
            if current is None:
                fused[hit.id] = _Fused(hit=hit.model_copy(), rrf=1.0 / (RRF_K + rank))
            else:
                current.rrf += 1.0 / (RRF_K + rank)
                current.hit.similarity = hit.similarity
    kept = sorted(
        fused.values(), key=lambda f: (-f.rrf, -(f.hit.lexical_score or 0.0), -(f.hit.similarity or 0.0), f.hit.title)
    )
    hits = []
    for f in kept[:limit]:
        f.hit.score = round(f.rrf * (RRF_K + 1), 4)  # 1.0: first of one list; 2.0: first of both
        hits.append(f.hit)
    return hits


# The curated FAQ fast path: the question names the entry (every topic word in its title or keywords)
# and nothing else comes close, or it means nearly the same; the curated text is then the answer.
CLOSE_SIMILARITY = 0.88
_CLOSE_MARGIN = 0.8


def mark_close_match(hits: list[KnowledgeHit]) -> None:
    """Set ``close_match`` on the best hit when it is a curated FAQ the question matches very closely."""
    if not hits or hits[0].type != "faq":
        return
    best = hits[0]
    runner_up = hits[1] if len(hits) > 1 else None
    lexical_clear = best.exact and (
        runner_up is None or (runner_up.lexical_score or 0.0) < _CLOSE_MARGIN * (best.lexical_score or 0.0)
    )
    semantic_clear = (best.similarity or 0.0) >= CLOSE_SIMILARITY and (
        runner_up is None or (runner_up.similarity or 0.0) < (best.similarity or 0.0) - 0.05
    )
    best.close_match = bool(lexical_clear or semantic_clear)


async def search_knowledge(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    query: str,
    language: str = "es",
    limit: int = 5,
    min_score: float = 0.0,
    min_similarity: float | None = None,
    embedder: Embedder | bool | None = True,
    timings: dict[str, float] | None = None,
) -> list[KnowledgeHit]:
    """Entries of one tenant answering ``query``, best first (at most ``limit``).

    ``min_score`` is the lexical evidence an entry needs and ``min_similarity`` the semantic one
    (``KNOWLEDGE_MIN_SIMILARITY`` when None); ``embedder`` True means the deployment's provider, None or
    False lexical only. ``timings``, when given, receives milliseconds per step.
    """
    query = query.strip()[:500]
    if not query:
        return []
    active = embeddings.get_embedder() if embedder is True else (embedder or None)
    if min_similarity is None:
        min_similarity = get_settings().knowledge_min_similarity
    started = time.perf_counter()
    marks: dict[str, float] = {}
    # A session bound to an engine can lend the semantic leg a connection; one bound to a connection can't.
    engine = session.bind if isinstance(session.bind, AsyncEngine) else None
    limit_s = SEMANTIC_CANDIDATES

    async def lexical_leg() -> list[KnowledgeHit]:
        found = await _lexical(session, tenant_id=tenant_id, query=query, language=language, limit=max(limit, 10))
        marks["lexical_ms"] = (time.perf_counter() - started) * 1000
        return found

    async def semantic_leg(embedder: Embedder) -> list[KnowledgeHit]:
        vector = await embedder.embed_query(query)
        embedded = time.perf_counter()
        marks["embed_ms"] = (embedded - started) * 1000
        if engine is None:
            found = await _semantic(session, tenant_id=tenant_id, vector=vector, model=embedder.tag, limit=limit_s)
        else:  # read-only, on a connection of its own, while the lexical leg uses the session's
            async with AsyncSession(bind=engine) as other, other.begin():
                found = await _semantic(other, tenant_id=tenant_id, vector=vector, model=embedder.tag, limit=limit_s)
        marks["semantic_ms"] = (time.perf_counter() - embedded) * 1000
        return found

    semantic: list[KnowledgeHit] = []
    if active is None:
        lexical = await lexical_leg()
    elif engine is not None:  # the legs at once
        lexical, semantic = await asyncio.gather(lexical_leg(), semantic_leg(active))
    else:
        lexical = await lexical_leg()
        semantic = await semantic_leg(active)
    hits = fuse(lexical, semantic, min_score=min_score, min_similarity=min_similarity, limit=limit)
    mark_close_match(hits)
    if timings is not None:
        timings.update({"embed_ms": 0.0, "semantic_ms": 0.0, **marks})
        timings["total_ms"] = (time.perf_counter() - started) * 1000
    return hits
