"""Knowledge base: import and language-aware retrieval (full-text in Spanish and English + trigrams)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput
from app.knowledge.models import KnowledgeEntry
from app.knowledge.schemas import (
    KnowledgeEntryCreate,
    KnowledgeHit,
    KnowledgeImportResult,
)
from app.textnorm import detect_language

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _content_hash(entry: KnowledgeEntryCreate) -> str:
    payload = json.dumps([entry.title, entry.content, entry.category, entry.type, entry.keywords], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def parse_markdown(document: str, *, category: str | None = None) -> list[KnowledgeEntryCreate]:
    """Split Markdown into entries: each heading with body text becomes one entry titled by its heading path."""
    entries: list[KnowledgeEntryCreate] = []
    path: list[str] = []
    body: list[str] = []

    def flush() -> None:
        content = "\n".join(body).strip()
        if path and content:
            entries.append(KnowledgeEntryCreate(title=" / ".join(path)[:500], content=content, category=category))
        body.clear()

    for line in document.splitlines():
        match = _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            del path[level - 1 :]
            path.extend([""] * (level - 1 - len(path)))
            path.append(match.group(2).strip())
            path[:] = [p for p in path if p]
        else:
            body.append(line)
    flush()
    if not entries and document.strip():
        raise InvalidInput("Markdown has no headings with text under them", details={"hint": "use '# Title' lines"})
    return entries


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
            row = KnowledgeEntry(
                tenant_id=tenant_id,
                title=item.title,
                content=item.content,
                category=item.category,
                type=item.type,
                language=language,
                keywords=item.keywords,
                priority=item.priority,
                content_hash=digest,
            )
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


# Matches if any meaningful word matches (OR of the stemmed lexemes), in both languages' stemmers:
# customers rarely repeat the entry's exact wording, so AND semantics would miss most questions.
_SEARCH_SQL = text(
    """
    WITH q AS (
        SELECT
            nullif(replace(plainto_tsquery('spanish', f_unaccent(:q))::text, '&', '|'), '')::tsquery AS es,
            nullif(replace(plainto_tsquery('english', f_unaccent(:q))::text, '&', '|'), '')::tsquery AS en,
            f_unaccent(lower(:q)) AS folded
    )
    SELECT e.id, e.title, e.content, e.category, e.language,
           (ts_rank_cd(e.tsv, coalesce(q.es, ''::tsquery) || coalesce(q.en, ''::tsquery), 32)
             + 0.35 * word_similarity(f_unaccent(lower(e.title)), q.folded)
             + CASE WHEN e.language = :lang THEN 0.02 ELSE 0 END
             + 0.01 * e.priority) AS score
    FROM knowledge_entries e, q
    WHERE e.tenant_id = :tenant_id
      AND e.active AND e.deleted_at IS NULL
      AND (e.tsv @@ (coalesce(q.es, ''::tsquery) || coalesce(q.en, ''::tsquery))
           OR word_similarity(f_unaccent(lower(e.title)), q.folded) > 0.45)
    ORDER BY score DESC, e.priority DESC, e.id
    LIMIT :limit
    """
)


async def search_knowledge(
    session: AsyncSession, *, tenant_id: uuid.UUID, query: str, language: str = "es", limit: int = 5
) -> list[KnowledgeHit]:
    """Entries of one tenant answering ``query``, best first, with a score (higher is better)."""
    query = query.strip()[:500]
    if not query:
        return []
    rows = await session.execute(_SEARCH_SQL, {"q": query, "tenant_id": tenant_id, "lang": language, "limit": limit})
    return [
        KnowledgeHit(
            id=r.id, title=r.title, content=r.content, category=r.category, language=r.language, score=float(r.score)
        )
        for r in rows
    ]


async def count_entries(session: AsyncSession, *, tenant_id: uuid.UUID) -> int:
    """Number of live entries of a tenant."""
    stmt = select(func.count()).where(KnowledgeEntry.tenant_id == tenant_id, KnowledgeEntry.deleted_at.is_(None))
    return int((await session.execute(stmt)).scalar_one())
