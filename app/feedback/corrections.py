"""Operators' corrections: the right answer to a question becomes a curated knowledge entry (the FAQ fast path
answers that question and its close paraphrases with it, word for word) and a case of the tenant's
evaluation set, linked to the turn it corrects.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations.models import Turn
from app.core.errors import InvalidInput, NotFound
from app.feedback.models import Correction, EvalCase
from app.feedback.service import turn_question
from app.knowledge import service as knowledge_service
from app.knowledge.models import KnowledgeEntry
from app.knowledge.schemas import KnowledgeEntryCreate
from app.text.normalize import detect_language, words

CATEGORY = "correction"
# Above any imported entry's usual priority: a correction is the business's last word on its question.
PRIORITY = 100
_SHORT = 3  # shorter words (de, la, el, en...) carry no topic


def _keywords(question: str, extra: Sequence[str]) -> list[str]:
    """The question's topic words and the operator's paraphrase words, deduplicated, as entry keywords."""
    seen: list[str] = []
    for text in (question, *extra):
        for word in words(text):
            if len(word) > _SHORT and word not in seen:
                seen.append(word)
    return seen[:50]


_MAX_TEXT = {"answer": 5_000, "question": 500, "paraphrases": 500}
_ENTRY_FIELDS = {"title": "question", "content": "answer", "keywords": "paraphrases"}


def _field_of(error: ValidationError) -> str:
    """The caller's field behind the knowledge entry's first invalid one."""
    location = error.errors()[0].get("loc", ()) if error.errors() else ()
    return _ENTRY_FIELDS.get(str(location[0]) if location else "", "answer")


async def create_correction(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    answer: str,
    question: str | None = None,
    turn_id: int | None = None,
    paraphrases: Sequence[str] = (),
) -> Correction:
    """Record the right ``answer`` for ``question`` (or the question turn ``turn_id`` answered)."""
    answer = answer.strip()
    if not answer:
        raise InvalidInput("answer must not be empty", details={"field": "answer"})
    for name, values in (("answer", [answer]), ("question", [question or ""]), ("paraphrases", paraphrases)):
        if any("\x00" in v or len(v) > _MAX_TEXT.get(name, 500) for v in values):  # PostgreSQL refuses NUL
            raise InvalidInput(f"{name} is too long or contains a NUL character", details={"field": name})
    if turn_id is not None:
        turn = await session.scalar(select(Turn).where(Turn.id == turn_id, Turn.tenant_id == tenant_id))
        if turn is None:
            raise NotFound("No such turn", details={"field": "turn_id", "turn_id": turn_id})
        if not question:
            question = await turn_question(session, tenant_id=tenant_id, turn_id=turn_id)
    question = " ".join((question or "").split())[:500]
    if not question:
        raise InvalidInput("give a question or a turn_id whose question is known", details={"field": "question"})
    language = detect_language(question)
    try:
        entry = KnowledgeEntryCreate(
            title=question,
            content=answer,
            category=CATEGORY,
            type="faq",
            language=language,
            keywords=_keywords(question, paraphrases),
            priority=PRIORITY,
        )
    except ValidationError as exc:  # e.g. a NUL character or an over-long keyword: the caller's input, a 4xx
        raise InvalidInput("the correction cannot be stored", details={"field": _field_of(exc)}) from exc
    await knowledge_service.import_entries(session, tenant_id=tenant_id, entries=[entry])
    await knowledge_service.queue_embedding(session, {tenant_id})
    entry_id = await session.scalar(
        select(KnowledgeEntry.id).where(
            KnowledgeEntry.tenant_id == tenant_id,
            KnowledgeEntry.deleted_at.is_(None),
            KnowledgeEntry.title == question,
            KnowledgeEntry.language == language,
        )
    )
    correction = Correction(
        tenant_id=tenant_id, turn_id=turn_id, question=question, answer=answer, knowledge_entry_id=entry_id
    )
    session.add(correction)
    await session.flush()
    session.add(EvalCase(tenant_id=tenant_id, question=question, expected=answer, correction_id=correction.id))
    for paraphrase in paraphrases:
        if paraphrase.strip():
            session.add(
                EvalCase(tenant_id=tenant_id, question=paraphrase.strip(), expected=answer, correction_id=correction.id)
            )
    await session.flush()
    return correction


async def list_corrections(
    session: AsyncSession, *, tenant_id: uuid.UUID, limit: int = 200, offset: int = 0
) -> list[Correction]:
    """The tenant's corrections, newest first, one page (a list that only grows is never read whole)."""
    rows = await session.scalars(
        select(Correction)
        .where(Correction.tenant_id == tenant_id)
        .order_by(Correction.created_at.desc(), Correction.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows)


async def eval_cases(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[EvalCase]:
    """The tenant's evaluation set, oldest first."""
    rows = await session.scalars(
        select(EvalCase).where(EvalCase.tenant_id == tenant_id).order_by(EvalCase.created_at, EvalCase.id)
    )
    return list(rows)


def passes(expected: str, reply: str) -> bool:
    """A reply passes when it carries the expected answer (extra greetings or disclaimers around it are fine)."""
    want = words(expected)
    got = set(words(reply))
    if not want:
        return True
    return sum(1 for w in want if w in got) / len(want) >= 0.9
