"""Knowledge base: entries (import, CRUD, versions), their chunks and embeddings; search is in ``retrieval``."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.jobrows import queue_job
from app.knowledge import embeddings
from app.knowledge.chunking import Chunk, chunk_entry, plain_heading
from app.knowledge.embeddings import Embedder
from app.knowledge.models import KnowledgeChunk, KnowledgeEntry, KnowledgeSynonym, KnowledgeTerm
from app.knowledge.plaintext import to_markdown
from app.knowledge.retrieval import forget_counts, search_knowledge, vocabulary_words
from app.knowledge.schemas import (
    KnowledgeEntryCreate,
    KnowledgeEntryUpdate,
    KnowledgeImportResult,
)
from app.knowledge.synonyms import normalize_term
from app.text.normalize import detect_language

__all__ = ["search_knowledge"]  # re-exported: callers search through the knowledge service

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _content_hash(entry: KnowledgeEntryCreate | KnowledgeEntry) -> str:
    payload = json.dumps([entry.title, entry.content, entry.category, entry.type, entry.keywords], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


# What a company text's opening (the paragraphs before its first heading, or under its title) is about.
_ABOUT_TITLE = {"es": "Información general", "en": "General information"}
_ABOUT_KEYWORDS = {
    "es": ["quiénes somos", "empresa", "nosotros", "acerca de"],
    "en": ["about us", "company", "who we are"],
}
MAX_ENTRY_CHARS = 20_000  # KnowledgeEntryCreate.content's limit: a longer section becomes several entries


def _split_long(content: str) -> list[str]:
    """``content`` in parts of at most ``MAX_ENTRY_CHARS``, cut between paragraphs (or lines) when possible."""
    parts: list[str] = []
    while len(content) > MAX_ENTRY_CHARS:
        cut = content.rfind("\n\n", 0, MAX_ENTRY_CHARS)
        if cut <= 0:
            cut = content.rfind("\n", 0, MAX_ENTRY_CHARS)
        if cut <= 0:
            cut = MAX_ENTRY_CHARS
        parts.append(content[:cut].strip())
        content = content[cut:].strip()
    parts.append(content)
    return [p for p in parts if p]


def parse_markdown(document: str, *, category: str | None = None) -> list[KnowledgeEntryCreate]:
    """Split Markdown into entries: each heading with body text becomes one entry titled by its heading path.

    Nothing is dropped: the text before the first heading (often the company's introduction) becomes an
    entry too, titled by the document's title (its one first-level heading) when it has one; two sections with the same
    heading path become one entry (an import upserts by title, so the second would replace the first); a
    document with no headings at all is one entry. The opening entry carries "about us" keywords.

    A text without Markdown headings (pasted from a word processor) gets them from its title lines first
    (``plaintext.to_markdown``: ALL-CAPS titles, standalone "Título:" lines, tables as readable lines).
    """
    document = to_markdown(document)
    language = detect_language(document)
    sections: dict[str, list[str]] = {}
    stack: list[tuple[int, str]] = []  # (level, title) of the headings above the current line
    body: list[str] = []
    opening: list[str] = []  # text before any heading
    first_title: str | None = None

    def flush() -> None:
        content = "\n".join(body).strip()
        if stack and content:
            title = " / ".join(t for _, t in stack)[:500]
            sections.setdefault(title, []).append(content)
        elif content:
            opening.append(content)
        body.clear()

    # A single first-level heading is the document's title; several are its sections.
    top_levels = sum(1 for line in document.splitlines() if (m := _HEADING.match(line)) and len(m.group(1)) == 1)
    for line in document.splitlines():
        match = _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, plain_heading(match.group(2))))
            if first_title is None:
                first_title = stack[-1][1] if level == 1 and top_levels == 1 else ""
        else:
            body.append(line)
    flush()
    about = _ABOUT_TITLE[language]
    entries: list[KnowledgeEntryCreate] = []
    if opening:
        title = (first_title or about)[:500]
        sections[title] = ["\n\n".join(opening), *sections.get(title, [])]
    top = first_title or about
    for title, contents in sections.items():
        parts = _split_long("\n\n".join(contents))
        is_opening = title == top
        for number, part in enumerate(parts, start=1):
            entries.append(
                KnowledgeEntryCreate(
                    title=title if number == 1 else f"{title} ({number})"[:500],
                    content=part,
                    category=category,
                    language=detect_language(f"{title} {part}", default=language),
                    type="company" if is_opening else "faq",
                    keywords=_ABOUT_KEYWORDS[language] if is_opening and number == 1 else [],
                )
            )
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
    changed: list[KnowledgeEntry] = []
    for item in entries:
        language = item.language or detect_language(f"{item.title} {item.content}")
        digest = _content_hash(item)
        current = existing.get((item.title, language))
        if current is None:
            row = _new_entry(tenant_id, item, language)
            session.add(row)
            existing[(item.title, language)] = row
            changed.append(row)
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
            changed.append(current)
            updated += 1
    await sync_chunks(session, changed)
    return KnowledgeImportResult(created=created, updated=updated, unchanged=unchanged)


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
    await sync_chunks(session, [row])
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
    if fields.keys() & {"title", "content", "keywords", "language", "active", "type", "category"}:
        await sync_chunks(session, [entry])
    await session.flush()
    await session.refresh(entry)
    return entry


async def delete_entry(session: AsyncSession, *, tenant_id: uuid.UUID, entry_id: uuid.UUID) -> None:
    """Soft-delete an entry: it stops answering at once and is kept for the record."""
    entry = await get_entry(session, tenant_id=tenant_id, entry_id=entry_id)
    entry.deleted_at = datetime.now(UTC)
    entry.active = False
    await sync_chunks(session, [entry])


# --- answers ------------------------------------------------------------------------------------------


async def entry_chunks(
    session: AsyncSession, *, tenant_id: uuid.UUID, entry_id: uuid.UUID | str
) -> tuple[KnowledgeEntry, list[Chunk]] | None:
    """A live entry and its chunks as the chunker cuts them (the same ordinals the stored chunks have)."""
    try:
        key = entry_id if isinstance(entry_id, uuid.UUID) else uuid.UUID(entry_id)
        entry = await get_entry(session, tenant_id=tenant_id, entry_id=key)
    except (NotFound, ValueError):
        return None
    if not entry.active:
        return None
    return entry, chunk_entry(entry.title, entry.content)


async def topic_titles(session: AsyncSession, *, tenant_id: uuid.UUID, language: str, limit: int = 4) -> list[str]:
    """A few of the tenant's topics (the last part of entry titles), the customer's language first."""
    stmt = (
        select(KnowledgeEntry.title, KnowledgeEntry.language)
        .where(_live(tenant_id), KnowledgeEntry.active.is_(True))
        .order_by(KnowledgeEntry.priority.desc(), KnowledgeEntry.created_at, KnowledgeEntry.title)
        .limit(200)
    )
    rows = sorted((await session.execute(stmt)).all(), key=lambda r: r.language != language)
    topics: list[str] = []
    for row in rows:
        topic = row.title.split(" / ")[-1].strip()
        if topic and len(topic) <= 60 and topic.casefold() not in {t.casefold() for t in topics}:
            topics.append(topic)
        if len(topics) >= limit:
            break
    return topics


# --- chunks and embeddings -------------------------------------------------------------------------
# The inverted index of new chunks: one row per (chunk, lexeme) with its impact (occurrences, damped;
# doubled in the heading or keywords; divided by the log of the chunk's distinct lexemes).
POSTINGS_SQL = text(
    """
    INSERT INTO knowledge_postings (chunk_id, lexeme, tenant_id, impact)
    SELECT c.id, u.lexeme, c.tenant_id,
           (CASE WHEN 'A' = ANY(u.weights) THEN 2.0 ELSE 1.0 END) * (1 + ln(cardinality(u.positions)))
           / ln(length(c.tsv) + 2)
    FROM knowledge_chunks c, unnest(c.tsv) AS u
    WHERE c.id = ANY(CAST(:chunks AS uuid[]))
    """
)
# Invariant: a live, active entry has the chunks of its current version and nothing else; an inactive or
# deleted one has none. Every write path below keeps it in the same transaction as the entry's change.


async def sync_chunks(session: AsyncSession, entries: Sequence[KnowledgeEntry]) -> int:
    """Replace the chunks of ``entries`` by those of their current version; returns chunks written."""
    if not entries:
        return 0
    await session.flush()  # ids and versions of new entries
    await session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.entry_id.in_([e.id for e in entries])))
    rows = [
        KnowledgeChunk(
            tenant_id=entry.tenant_id,
            entry_id=entry.id,
            entry_version=entry.version,
            ordinal=chunk.ordinal,
            heading=chunk.heading,
            content=chunk.content,
            language=entry.language,
            keywords=list(entry.keywords or []),
        )
        for entry in entries
        if entry.active and entry.deleted_at is None
        for chunk in chunk_entry(entry.title, entry.content)
    ]
    session.add_all(rows)
    await session.flush()
    if rows:
        await session.execute(POSTINGS_SQL, {"chunks": [r.id for r in rows]})
    terms = {
        (entry.tenant_id, word)
        for entry in entries
        if entry.active and entry.deleted_at is None
        for word in vocabulary_words(" ".join([entry.title, *(entry.keywords or [])]))
    }
    if terms:
        await session.execute(
            pg_insert(KnowledgeTerm)
            .values([{"tenant_id": t, "term": w} for t, w in sorted(terms)])
            .on_conflict_do_nothing()
        )
    tenants = {e.tenant_id for e in entries}
    for tenant_id in tenants:
        forget_counts(tenant_id)
    if rows:
        await queue_embedding(session, tenants)
    return len(rows)


EMBED_TASK = "knowledge:embed"  # the jobs module's task under the queue app's "knowledge" namespace
LOCK_PREFIX = "knowledge-embed:"


async def queue_embedding(session: AsyncSession, tenant_ids: set[uuid.UUID]) -> None:
    """Ask the worker to embed these tenants' new chunks (nothing when no embeddings provider is active)."""
    if not tenant_ids or embeddings.get_embedder() is None:
        return
    for tenant_id in sorted(map(str, tenant_ids)):
        lock = f"{LOCK_PREFIX}{tenant_id}"
        await queue_job(session, task=EMBED_TASK, args={"tenant_id": tenant_id}, lock=lock, queueing_lock=lock)


def _stale(tenant_id: uuid.UUID | None, tag: str) -> Any:
    condition = or_(KnowledgeChunk.embedding_model.is_(None), KnowledgeChunk.embedding_model != tag)
    return condition if tenant_id is None else (KnowledgeChunk.tenant_id == tenant_id) & condition


async def count_unembedded(session: AsyncSession, *, embedder: Embedder, tenant_id: uuid.UUID | None = None) -> int:
    """Chunks with no vector of ``embedder``'s model (all tenants when ``tenant_id`` is None)."""
    stmt = select(func.count()).select_from(KnowledgeChunk).where(_stale(tenant_id, embedder.tag))
    return int((await session.execute(stmt)).scalar_one())


async def embed_pending(
    session: AsyncSession,
    *,
    embedder: Embedder,
    tenant_id: uuid.UUID | None = None,
    batch_size: int = 64,
    max_chunks: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Give every chunk lacking a vector of ``embedder``'s model one, in batches; returns how many.

    Each batch is written (and flushed) before the next is asked for, so a long run shows progress and a
    failure keeps what was done; the caller commits. Vectors of another model are replaced, never mixed.
    """
    done = 0
    last_id: uuid.UUID | None = None
    while True:
        stmt = select(KnowledgeChunk.id, KnowledgeChunk.heading, KnowledgeChunk.content).where(
            _stale(tenant_id, embedder.tag)
        )
        if last_id is not None:
            stmt = stmt.where(KnowledgeChunk.id > last_id)
        size = batch_size if max_chunks is None else min(batch_size, max_chunks - done)
        if size <= 0:
            return done
        batch = (await session.execute(stmt.order_by(KnowledgeChunk.id).limit(size))).all()
        if not batch:
            return done
        vectors = await embedder.embed_documents([f"{heading}\n{content}" for _, heading, content in batch])
        await session.execute(
            update(KnowledgeChunk),
            [
                {"id": chunk_id, "embedding": vector, "embedding_model": embedder.tag}
                for (chunk_id, _, _), vector in zip(batch, vectors, strict=True)
            ],
        )
        await session.flush()
        done += len(batch)
        last_id = batch[-1][0]
        if progress is not None:
            progress(len(batch))


async def rechunk(session: AsyncSession, *, tenant_id: uuid.UUID | None = None) -> int:
    """Chunk every live entry again (after a chunker change or the schema migration's one-chunk backfill)."""
    stmt = select(KnowledgeEntry).where(KnowledgeEntry.deleted_at.is_(None))
    terms = delete(KnowledgeTerm)  # rebuilt from the live entries, dropping words of deleted ones
    if tenant_id is not None:
        stmt = stmt.where(KnowledgeEntry.tenant_id == tenant_id)
        terms = terms.where(KnowledgeTerm.tenant_id == tenant_id)
    await session.execute(terms)
    return await sync_chunks(session, list((await session.execute(stmt)).scalars()))


# --- synonyms --------------------------------------------------------------------------------------
MAX_SYNONYM_GROUPS = 500


async def list_synonyms(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[KnowledgeSynonym]:
    """A tenant's synonym groups, oldest first."""
    stmt = (
        select(KnowledgeSynonym)
        .where(KnowledgeSynonym.tenant_id == tenant_id)
        .order_by(KnowledgeSynonym.created_at, KnowledgeSynonym.id)
    )
    return list((await session.execute(stmt)).scalars())


def _group_terms(terms: Sequence[str]) -> list[str]:
    normalized = list(dict.fromkeys(t for t in (normalize_term(term) for term in terms) if t))
    if len(normalized) < 2:
        raise InvalidInput(
            "A synonym group needs at least two different terms with letters or digits", details={"field": "terms"}
        )
    return normalized


async def add_synonyms(session: AsyncSession, *, tenant_id: uuid.UUID, terms: Sequence[str]) -> KnowledgeSynonym:
    """Add one group of equivalent terms; it applies to the tenant's next search."""
    normalized = _group_terms(terms)
    count = select(func.count()).where(KnowledgeSynonym.tenant_id == tenant_id)
    if int((await session.execute(count)).scalar_one()) >= MAX_SYNONYM_GROUPS:
        raise Conflict(f"A tenant has at most {MAX_SYNONYM_GROUPS} synonym groups", details={"field": "terms"})
    row = KnowledgeSynonym(tenant_id=tenant_id, terms=normalized)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def replace_synonyms(
    session: AsyncSession, *, tenant_id: uuid.UUID, groups: Sequence[Sequence[str]]
) -> list[KnowledgeSynonym]:
    """Replace all of a tenant's groups at once (an empty list removes them all)."""
    if len(groups) > MAX_SYNONYM_GROUPS:
        raise InvalidInput(f"At most {MAX_SYNONYM_GROUPS} synonym groups", details={"field": "groups"})
    normalized = [_group_terms(g) for g in groups]
    await session.execute(delete(KnowledgeSynonym).where(KnowledgeSynonym.tenant_id == tenant_id))
    session.add_all(KnowledgeSynonym(tenant_id=tenant_id, terms=terms) for terms in normalized)
    await session.flush()
    return await list_synonyms(session, tenant_id=tenant_id)


async def delete_synonyms(session: AsyncSession, *, tenant_id: uuid.UUID, group_id: uuid.UUID) -> None:
    """Remove one group; NotFound for another tenant's or an unknown one."""
    stmt = delete(KnowledgeSynonym).where(KnowledgeSynonym.tenant_id == tenant_id, KnowledgeSynonym.id == group_id)
    result = await session.execute(stmt)
    if not getattr(result, "rowcount", 0):
        raise NotFound("Synonym group not found", details={"id": str(group_id)})
