"""Knowledge base: import and language-aware retrieval (full-text in Spanish and English + trigrams)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, InvalidInput, NotFound
from app.knowledge.models import KnowledgeEntry
from app.knowledge.schemas import (
    KnowledgeEntryCreate,
    KnowledgeEntryUpdate,
    KnowledgeHit,
    KnowledgeImportResult,
)
from app.textnorm import detect_language, fold

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _content_hash(entry: KnowledgeEntryCreate | KnowledgeEntry) -> str:
    payload = json.dumps([entry.title, entry.content, entry.category, entry.type, entry.keywords], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def parse_markdown(document: str, *, category: str | None = None) -> list[KnowledgeEntryCreate]:
    """Split Markdown into entries: each heading with body text becomes one entry titled by its heading path."""
    entries: list[KnowledgeEntryCreate] = []
    stack: list[tuple[int, str]] = []  # (level, title) of the headings above the current line
    body: list[str] = []

    def flush() -> None:
        content = "\n".join(body).strip()
        if stack and content:
            title = " / ".join(t for _, t in stack)[:500]
            entries.append(KnowledgeEntryCreate(title=title, content=content, category=category))
        body.clear()

    for line in document.splitlines():
        match = _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, match.group(2).strip()))
        else:
            body.append(line)
    flush()
    if not entries and document.strip():
        raise InvalidInput("Markdown has no headings with text under them", details={"hint": "use '# Title' lines"})
    return entries


def _new_entry(tenant_id: uuid.UUID, entry: KnowledgeEntryCreate, language: str) -> KnowledgeEntry:
    return KnowledgeEntry(
        tenant_id=tenant_id,
        title=entry.title,
        content=entry.content,
        category=entry.category,
        type=entry.type,
        language=language,
        keywords=entry.keywords,
        priority=entry.priority,
        content_hash=_content_hash(entry),
    )


async def import_entries(
    session: AsyncSession, *, tenant_id: uuid.UUID, entries: Sequence[KnowledgeEntryCreate]
) -> KnowledgeImportResult:
    """Upsert entries by (title, language): unchanged content is left alone, changes bump ``version``."""
    existing = {
        (e.title, e.language): e
        for e in (
            await session.execute(
                select(KnowledgeEntry).where(KnowledgeEntry.tenant_id == tenant_id, KnowledgeEntry.deleted_at.is_(None))
            )
        ).scalars()
    }
    created = updated = unchanged = 0
    for item in entries:
        language = item.language or detect_language(f"{item.title} {item.content}")
        digest = _content_hash(item)
        current = existing.get((item.title, language))
        if current is None:
            row = _new_entry(tenant_id, item, language)
            session.add(row)
            existing[(item.title, language)] = row
            created += 1
        elif current.content_hash == digest and current.priority == item.priority:
            unchanged += 1
        else:
            current.content = item.content
            current.category = item.category
            current.type = item.type
            current.keywords = item.keywords
            current.priority = item.priority
            current.content_hash = digest
            current.version += 1
            current.active = True
            updated += 1
    await session.flush()
    return KnowledgeImportResult(created=created, updated=updated, unchanged=unchanged)


# Words that carry no topic in a customer's question: greetings, politeness and the verbs of "do you
# have / offer / accept ...". Dropping them lets coverage (below) measure what the question is about.
_FILLER_WORDS = frozenset(
    {
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
}
_TYPO_CUTOFF = 85.0
_TYPO_MIN_LENGTH = 4
_MAX_TERMS = 20
_QUERY_WORD = re.compile(r"[a-z0-9ñ]+")

# Scoring, per entry: each topic word of the question (with its synonyms and typo corrections as
# alternatives) counts 1.0 when it is in the title, 0.9 in the keywords, 0.5 only in the content,
# weighted by how rare the word is among the tenant's entries; a title mostly made of the question's
# words ("Financiamiento" for "¿manejan crédito?") breaks ties. Stems are compared with the entry's own
# language's stemmer, also by prefix (a little less) so "ubicados" finds "ubicación".
# An entry must cover at least half of the question's topic words: "¿venden motos acuáticas?" shares
# nothing with any entry, so nothing is returned and the agent offers a human instead of guessing.
_SEARCH_SQL = text(
    """
    WITH raw AS (
        SELECT t.word, t.grp, t.weight
        FROM unnest(CAST(:words AS text[]), CAST(:groups AS int[]), CAST(:weights AS float8[])) AS t(word, grp, weight)
    ),
    lex AS (
        SELECT grp, weight,
               trim(both '''' from plainto_tsquery('spanish', word)::text) AS es,
               trim(both '''' from plainto_tsquery('english', word)::text) AS en
        FROM raw
    ),
    valid AS (
        SELECT grp, weight, es, en FROM lex
        WHERE es <> '' AND en <> '' AND es !~ '[ &|!'']' AND en !~ '[ &|!'']'
    ),
    total AS (SELECT count(DISTINCT grp) AS n FROM valid),
    entries AS (
        SELECT e.id, e.title, e.content, e.category, e.language, e.priority, e.tsv,
               to_tsvector(CASE WHEN e.language = 'en' THEN 'english'::regconfig ELSE 'spanish'::regconfig END,
                           f_unaccent(e.title)) AS title_tsv
        FROM knowledge_entries e
        WHERE e.tenant_id = :tenant_id AND e.active AND e.deleted_at IS NULL
    ),
    probes AS (
        -- Exact stem, and a prefix of it ("ubic" finds "ubicacion", "devolv" finds "devolucion"); stems
        -- shorter than 4 letters only match exactly. "\\:A" restricts a probe to titles and keywords.
        SELECT en.id, v.grp, v.weight,
               CAST(quote_literal(x.lexeme) AS tsquery) AS exact,
               CAST(quote_literal(x.lexeme) || '\\:A' AS tsquery) AS exact_a,
               CAST(x.stem || CASE WHEN x.starred THEN ':*' ELSE '' END AS tsquery) AS prefix,
               CAST(x.stem || CASE WHEN x.starred THEN ':*A' ELSE '\\:A' END AS tsquery) AS prefix_a
        FROM entries en
        CROSS JOIN valid v
        CROSS JOIN LATERAL (SELECT CASE WHEN en.language = 'en' THEN v.en ELSE v.es END AS lexeme) l
        CROSS JOIN LATERAL (
            SELECT l.lexeme, length(l.lexeme) >= 4 AS starred,
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
        -- Inverse document frequency: "garantía" says more about an entry than "auto" does.
        SELECT grp, greatest(ln((count(*) + 1.0) / (count(*) FILTER (WHERE m > 0) + 0.5)), 0.1) AS idf
        FROM matches GROUP BY grp
    ),
    scored AS (
        SELECT m.id, count(*) FILTER (WHERE m.m > 0) AS matched, sum(m.m * r.idf) / sum(r.idf) AS strength,
               sum(m.in_title) AS title_hits
        FROM matches m JOIN rarity r ON r.grp = m.grp
        GROUP BY m.id
    )
    SELECT en.id, en.title, en.content, en.category, en.language,
           (s.strength
             + 0.1 * s.title_hits / greatest(length(en.title_tsv), 1)
             + CASE WHEN en.language = :lang THEN 0.02 ELSE 0 END
             + 0.01 * en.priority) AS score
    FROM scored s JOIN entries en ON en.id = s.id CROSS JOIN total t
    WHERE s.matched > 0 AND 2 * s.matched >= t.n
    -- Ties break by title, not by the random id, so the same data always ranks the same way.
    ORDER BY score DESC, en.priority DESC, en.title, en.id
    LIMIT :limit
    """
)
_VOCABULARY_SQL = text(
    "SELECT title, keywords FROM knowledge_entries WHERE tenant_id = :tenant_id AND active AND deleted_at IS NULL"
)


def query_terms(query: str, vocabulary: Iterable[str] = ()) -> list[list[tuple[str, float]]]:
    """Topic words of ``query``, each with its alternatives (synonyms, typo corrections) and their weights."""
    folded = _OFFER_PHRASE.sub(" ", fold(query))
    known = {w for w in vocabulary if len(w) >= _TYPO_MIN_LENGTH}
    choices = sorted(known)
    terms: list[list[tuple[str, float]]] = []
    seen: set[str] = set()
    for word in _QUERY_WORD.findall(folded):
        if word in _FILLER_WORDS or word.isdigit() or len(word) < 2 or word in seen:
            continue
        seen.add(word)
        alternatives: dict[str, float] = {word: 1.0}
        for synonym in _SYNONYMS.get(word, ()):
            alternatives.setdefault(synonym, 1.0)
        if len(word) >= _TYPO_MIN_LENGTH and word not in known and choices:
            hit = process.extractOne(word, choices, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF)
            if hit is not None:
                alternatives.setdefault(str(hit[0]), 0.9)
        terms.append(list(alternatives.items()))
        if len(terms) >= _MAX_TERMS:
            break
    return terms


async def _vocabulary(session: AsyncSession, tenant_id: uuid.UUID) -> set[str]:
    """Folded words of a tenant's titles and keywords: what typos are corrected towards."""
    words: set[str] = set()
    for title, keywords in await session.execute(_VOCABULARY_SQL, {"tenant_id": tenant_id}):
        words.update(_QUERY_WORD.findall(fold(" ".join([title, *(keywords or [])]))))
    return words


async def search_knowledge(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    query: str,
    language: str = "es",
    limit: int = 5,
    min_score: float = 0.0,
) -> list[KnowledgeHit]:
    """Entries of one tenant answering ``query``, best first, scored (higher is better) at least ``min_score``."""
    query = query.strip()[:500]
    if not query:
        return []
    terms = query_terms(query, await _vocabulary(session, tenant_id))
    if not terms:
        return []
    params = {
        "words": [w for term in terms for w, _ in term],
        "groups": [i for i, term in enumerate(terms) for _ in term],
        "weights": [weight for term in terms for _, weight in term],
        "tenant_id": tenant_id,
        "lang": language,
        "limit": limit,
    }
    rows = await session.execute(_SEARCH_SQL, params)
    return [
        KnowledgeHit(
            id=r.id, title=r.title, content=r.content, category=r.category, language=r.language, score=float(r.score)
        )
        for r in rows
        if float(r.score) >= min_score
    ]


async def count_entries(session: AsyncSession, *, tenant_id: uuid.UUID) -> int:
    """Number of live entries of a tenant."""
    stmt = select(func.count()).where(KnowledgeEntry.tenant_id == tenant_id, KnowledgeEntry.deleted_at.is_(None))
    return int((await session.execute(stmt)).scalar_one())


def _live(tenant_id: uuid.UUID) -> Any:
    return (KnowledgeEntry.tenant_id == tenant_id) & KnowledgeEntry.deleted_at.is_(None)


async def list_entries(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    type: str | None = None,
    category: str | None = None,
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[KnowledgeEntry]:
    """A tenant's live (not deleted) entries, highest priority first, then by title."""
    stmt = select(KnowledgeEntry).where(_live(tenant_id))
    if type is not None:
        stmt = stmt.where(KnowledgeEntry.type == type)
    if category is not None:
        stmt = stmt.where(KnowledgeEntry.category == category)
    if active is not None:
        stmt = stmt.where(KnowledgeEntry.active.is_(active))
    stmt = stmt.order_by(KnowledgeEntry.priority.desc(), KnowledgeEntry.title, KnowledgeEntry.id)
    return list((await session.execute(stmt.limit(limit).offset(offset))).scalars())


async def get_entry(session: AsyncSession, *, tenant_id: uuid.UUID, entry_id: uuid.UUID) -> KnowledgeEntry:
    """One live entry of a tenant; NotFound for another tenant's or a deleted one."""
    stmt = select(KnowledgeEntry).where(_live(tenant_id), KnowledgeEntry.id == entry_id)
    entry = (await session.execute(stmt)).scalar_one_or_none()
    if entry is None:
        raise NotFound("Knowledge entry not found", details={"id": str(entry_id)})
    return entry


async def _refuse_duplicate_title(
    session: AsyncSession, *, tenant_id: uuid.UUID, title: str, language: str, except_id: uuid.UUID | None = None
) -> None:
    stmt = select(KnowledgeEntry.id).where(
        _live(tenant_id), KnowledgeEntry.title == title, KnowledgeEntry.language == language
    )
    if except_id is not None:
        stmt = stmt.where(KnowledgeEntry.id != except_id)
    existing = (await session.execute(stmt.limit(1))).scalar_one_or_none()
    if existing is not None:
        raise Conflict(
            "An entry with this title and language already exists",
            details={"id": str(existing), "title": title, "language": language},
        )


async def create_entry(session: AsyncSession, *, tenant_id: uuid.UUID, entry: KnowledgeEntryCreate) -> KnowledgeEntry:
    """Add one entry (version 1); Conflict when the tenant already has the title in that language."""
    language = entry.language or detect_language(f"{entry.title} {entry.content}")
    await _refuse_duplicate_title(session, tenant_id=tenant_id, title=entry.title, language=language)
    row = _new_entry(tenant_id, entry, language)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def update_entry(
    session: AsyncSession, *, tenant_id: uuid.UUID, entry_id: uuid.UUID, changes: KnowledgeEntryUpdate
) -> KnowledgeEntry:
    """Change an entry's fields; ``version`` goes up when what it says (text, keywords, type) changes."""
    entry = await get_entry(session, tenant_id=tenant_id, entry_id=entry_id)
    fields = changes.model_dump(exclude_unset=True)
    title = fields.get("title", entry.title)
    language = fields.get("language", entry.language)
    if (title, language) != (entry.title, entry.language):
        await _refuse_duplicate_title(session, tenant_id=tenant_id, title=title, language=language, except_id=entry.id)
    for name, value in fields.items():
        setattr(entry, name, value)
    digest = _content_hash(entry)
    if digest != entry.content_hash:
        entry.content_hash = digest
        entry.version += 1
    await session.flush()
    await session.refresh(entry)
    return entry


async def delete_entry(session: AsyncSession, *, tenant_id: uuid.UUID, entry_id: uuid.UUID) -> None:
    """Soft-delete an entry: it stops answering at once and is kept for the record."""
    entry = await get_entry(session, tenant_id=tenant_id, entry_id=entry_id)
    entry.deleted_at = datetime.now(UTC)
    entry.active = False
    await session.flush()
