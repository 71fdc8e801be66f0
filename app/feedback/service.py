"""Customer feedback on turns: when to ask 👍/👎, reading the answer, the 👎's reason, listing it.

The question follows a resolved exchange (a quote, a knowledge-base answer, a shortlist), at most once per
conversation a day and never after a complaint. The answer (a button tap, "1"/"2", the emoji, "sí me
sirvió"...) is read before the turn runs, so it never reaches the agent as a new question; it is stored on
the asked turn's row here, and a ``feedback:send`` job queued in the same transaction records it in LangSmith
as feedback on that turn's trace (app.feedback.jobs), off the customer's turn.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations.models import Conversation, Message, Turn
from app.core.config import get_settings
from app.core.jobrows import queue_job
from app.feedback.models import ASKED, DONE, DROPPED, REASON, TurnFeedback
from app.tenants.models import Tenant
from app.text.normalize import Language, fold
from app.text.wording import say

SEND_TASK: Final = "feedback:send"  # app.feedback.jobs
UP_PAYLOAD: Final = "feedback:up"
DOWN_PAYLOAD: Final = "feedback:down"
ASK_EVERY = timedelta(days=1)  # at most one question per conversation in this period
ANSWER_WITHIN = timedelta(days=1)  # an answer later than this is a new message, not feedback
REASON_WITHIN = timedelta(minutes=30)
REASON_MAX_CHARS = 300
COMPLAINT = "complaint"
_PUNCTUATION = re.compile(r"[^\w\s]")

_UP: Final = frozenset(
    {
        "1",
        "👍",
        "si",
        "sí",
        "yes",
        "y",
        "si sirvio",
        "si me sirvio",
        "me sirvio",
        "sirvio",
        "util",
        "muy util",
        "si gracias",
        "helpful",
        "yes thanks",
        "it helped",
        "yes it helped",
        "bien",
        "excelente",
        "perfecto",
    }
)
_DOWN: Final = frozenset(
    {
        "2",
        "👎",
        "no",
        "n",
        "no sirvio",
        "no me sirvio",
        "no gracias",
        "nada",
        "not helpful",
        "no it didnt",
        "no it did not",
        "mal",
        "no mucho",
    }
)


def resolved(agent: str, handoff: bool, *, quote: Any, sources: Sequence[Any], items: Sequence[Any]) -> bool:
    """A turn that settled something the customer asked: a quote, a knowledge answer, a shortlist."""
    if handoff:
        return False
    return quote is not None or (agent == "info" and bool(sources)) or (agent == "catalog" and bool(items))


def question(language: Language, *, rich: bool) -> tuple[str, dict[str, Any] | None]:
    """The question's text and, with rich messages, its quick-reply buttons (app.messaging.rich's spec)."""
    if not rich:
        return say("feedback.ask_text", language), None
    body = say("feedback.ask", language)
    actions = [
        {"id": UP_PAYLOAD, "title": say("feedback.up", language)},
        {"id": DOWN_PAYLOAD, "title": say("feedback.down", language)},
    ]
    return say("feedback.ask_text", language), {"kind": "buttons", "body": body, "actions": actions}


async def maybe_ask(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    turn_id: int,
    run_id: uuid.UUID | None,
    is_resolved: bool,
    intents: Sequence[str],
    language: Language,
    rich: bool,
    part_index: int,
) -> Message | None:
    """The question as one more outbound part of the turn, or None when this turn is not one to ask after."""
    if not is_resolved or COMPLAINT in intents:
        return None
    since = datetime.now(UTC) - ASK_EVERY
    recent = await session.scalar(
        select(func.count())
        .select_from(TurnFeedback)
        .where(TurnFeedback.conversation_id == conversation_id, TurnFeedback.asked_at > since)
    )
    if recent:
        return None
    session.add(TurnFeedback(tenant_id=tenant_id, conversation_id=conversation_id, turn_id=turn_id, run_id=run_id))
    text, spec = question(language, rich=rich)
    part = Message.outbound(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        body=text,
        turn_id=turn_id,
        part_index=part_index,
        payload={"rich": spec} if spec else None,
    )
    session.add(part)
    await session.flush()
    return part


def parse_answer(text: str, payload: dict[str, Any] | None = None) -> int | None:
    """1 for 👍, 0 for 👎, None when the message is not an answer to the question."""
    tapped = str((payload or {}).get("ButtonPayload") or "").strip()
    if tapped == UP_PAYLOAD:
        return 1
    if tapped == DOWN_PAYLOAD:
        return 0
    stripped = text.strip()
    if stripped.startswith("👍"):
        return 1
    if stripped.startswith("👎"):
        return 0
    folded = " ".join(_PUNCTUATION.sub(" ", fold(stripped)).split())
    if folded in _UP:
        return 1
    if folded in _DOWN:
        return 0
    return None


async def _open_request(session: AsyncSession, conversation_id: uuid.UUID) -> TurnFeedback | None:
    """The conversation's unanswered question, if it is still the latest thing the bot said."""
    # The conversation's latest turn comes with the request (one round trip: this runs before every turn).
    latest = select(func.max(Turn.id)).where(Turn.conversation_id == conversation_id).scalar_subquery()
    row = (
        await session.execute(
            select(TurnFeedback, latest)
            .where(TurnFeedback.conversation_id == conversation_id, TurnFeedback.state.in_((ASKED, REASON)))
            .order_by(TurnFeedback.asked_at.desc())
            .limit(1)
            .with_for_update(of=TurnFeedback)
        )
    ).first()
    if row is None:
        return None
    request: TurnFeedback = row[0]
    latest_turn = row[1]
    now = datetime.now(UTC)
    fresh = now - request.asked_at < ANSWER_WITHIN
    if request.state == REASON:
        fresh = request.answered_at is not None and now - request.answered_at < REASON_WITHIN
    if latest_turn != request.turn_id or not fresh:
        request.state = DONE if request.state == REASON else DROPPED
        return None
    return request


def _reply(conversation: Conversation, body: str) -> Message:
    return Message.outbound(tenant_id=conversation.tenant_id, conversation_id=conversation.id, body=body)


def _reason_text(text: str) -> str | None:
    """A one-line reason, or None when the message reads as a new question for the agent."""
    line = " ".join(text.split())
    if not line or "?" in line or len(line) > REASON_MAX_CHARS:
        return None
    return line


async def _queue_send(session: AsyncSession, request: TurnFeedback, *, reason: bool) -> None:
    """Queue the LangSmith feedback for the answer just stored (in its transaction), when the turn was traced."""
    if request.run_id is None or not get_settings().langsmith_tracing:
        return
    key = f"feedback:{request.id}:{'reason' if reason else 'score'}"
    await queue_job(
        session, task=SEND_TASK, args={"feedback_id": request.id, "reason": reason}, lock=key, queueing_lock=key
    )


async def for_langsmith(session: AsyncSession, *, feedback_id: int) -> tuple[TurnFeedback, str] | None:
    """An answer and its tenant's slug, for the ``feedback:send`` job (None when the row is gone)."""
    row = (
        await session.execute(
            select(TurnFeedback, Tenant.slug)
            .join(Tenant, Tenant.id == TurnFeedback.tenant_id)
            .where(TurnFeedback.id == feedback_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def capture(
    session: AsyncSession, *, conversation: Conversation, pending: list[Message], language: Language
) -> list[Message] | None:
    """Read a pending message as the answer to the open question (or a 👎's reason): the acknowledgement to
    send; None leaves the message to the agent."""
    if len(pending) != 1:
        return None
    request = await _open_request(session, conversation.id)
    if request is None:
        return None
    message = pending[0]
    text = message.body or ""
    now = datetime.now(UTC)
    if request.state == REASON:
        reason = _reason_text(text)
        request.state = DONE
        if reason is None:
            return None
        request.reason = reason
        message.status = "processed"
        parts = [_reply(conversation, say("feedback.thanks_reason", language))]
        session.add_all(parts)
        await session.flush()
        await _queue_send(session, request, reason=True)
        return parts
    score = parse_answer(text, message.payload)
    if score is None:
        request.state = DROPPED  # the customer moved on: ask again another day
        return None
    request.score = score
    request.answered_at = now
    request.state = DONE if score else REASON
    message.status = "processed"
    parts = [_reply(conversation, say("feedback.thanks" if score else "feedback.ask_reason", language))]
    session.add_all(parts)
    await session.flush()
    await _queue_send(session, request, reason=False)
    return parts


@dataclass(frozen=True)
class FeedbackView:
    """One answered question as the API lists it."""

    turn_id: int
    conversation_id: uuid.UUID
    run_id: uuid.UUID | None
    score: int | None
    reason: str | None
    state: str
    asked_at: datetime
    answered_at: datetime | None
    question: str | None
    reply: str


async def list_feedback(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    score: int | None = None,
    limit: int = 100,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[FeedbackView]:
    """The tenant's answered feedback, newest first, with the turn's reply (and the question it answered);
    ``since``/``until`` bound when it was answered (the console's date filter)."""
    stmt = (
        select(TurnFeedback, Turn.reply)
        .join(Turn, Turn.id == TurnFeedback.turn_id)
        .where(TurnFeedback.tenant_id == tenant_id, TurnFeedback.score.is_not(None))
        .order_by(TurnFeedback.answered_at.desc(), TurnFeedback.id.desc())
        .limit(limit)
    )
    if score is not None:
        stmt = stmt.where(TurnFeedback.score == score)
    if since is not None:
        stmt = stmt.where(TurnFeedback.answered_at >= since)
    if until is not None:
        stmt = stmt.where(TurnFeedback.answered_at < until)
    rows = (await session.execute(stmt)).all()
    questions = await _questions(session, tenant_id=tenant_id, turn_ids=[row[0].turn_id for row in rows])
    return [
        FeedbackView(
            turn_id=f.turn_id,
            conversation_id=f.conversation_id,
            run_id=f.run_id,
            score=f.score,
            reason=f.reason,
            state=f.state,
            asked_at=f.asked_at,
            answered_at=f.answered_at,
            question=questions.get(f.turn_id),
            reply=reply,
        )
        for f, reply in rows
    ]


async def _questions(session: AsyncSession, *, tenant_id: uuid.UUID, turn_ids: list[int]) -> dict[int, str]:
    """What the customer wrote that each turn answered (its inbound messages, joined)."""
    if not turn_ids:
        return {}
    rows = await session.execute(
        select(Message.turn_id, Message.body)
        .where(
            Message.tenant_id == tenant_id,
            Message.turn_id.in_(turn_ids),
            Message.direction == "inbound",
        )
        .order_by(Message.id)
    )
    found: dict[int, list[str]] = {}
    for turn_id, body in rows:
        if turn_id is not None and body:
            found.setdefault(turn_id, []).append(body)
    return {turn_id: "\n".join(bodies) for turn_id, bodies in found.items()}


async def turn_question(session: AsyncSession, *, tenant_id: uuid.UUID, turn_id: int) -> str | None:
    """The customer's question a turn answered."""
    return (await _questions(session, tenant_id=tenant_id, turn_ids=[turn_id])).get(turn_id)


@dataclass(frozen=True)
class TurnSummary:
    """A bot turn as the console shows it next to a correction form: what was asked, what the bot said, and
    the customer's rating when there is one."""

    turn_id: int
    conversation_id: uuid.UUID
    question: str | None
    reply: str
    score: int | None
    reason: str | None


async def turn_summary(session: AsyncSession, *, tenant_id: uuid.UUID, turn_id: int) -> TurnSummary | None:
    """One of the tenant's turns with its question and rating (None for another tenant's turn)."""
    row = (
        await session.execute(
            select(Turn, TurnFeedback)
            .outerjoin(TurnFeedback, TurnFeedback.turn_id == Turn.id)
            .where(Turn.id == turn_id, Turn.tenant_id == tenant_id)
        )
    ).first()
    if row is None:
        return None
    turn, feedback = row
    return TurnSummary(
        turn_id=turn.id,
        conversation_id=turn.conversation_id,
        question=await turn_question(session, tenant_id=tenant_id, turn_id=turn.id),
        reply=turn.reply,
        score=feedback.score if feedback is not None else None,
        reason=feedback.reason if feedback is not None else None,
    )


@dataclass(frozen=True)
class TurnRating:
    """The turn behind a bot message of the conversation view, and the customer's 👍/👎 on it if any."""

    turn_id: int
    score: int | None
    reason: str | None


async def conversation_ratings(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> dict[int, TurnRating]:
    """By message id, for the first bot message of each turn of the conversation: its turn and rating (the
    console shows the rating and a "correct this answer" link there, once per turn)."""
    rows = await session.execute(
        select(func.min(Message.id), Message.turn_id, TurnFeedback.score, TurnFeedback.reason)
        .outerjoin(TurnFeedback, TurnFeedback.turn_id == Message.turn_id)
        .where(
            Message.tenant_id == tenant_id,
            Message.conversation_id == conversation_id,
            Message.direction == "outbound",
            Message.turn_id.is_not(None),
        )
        .group_by(Message.turn_id, TurnFeedback.score, TurnFeedback.reason)
    )
    return {
        int(message_id): TurnRating(turn_id=int(turn_id), score=score, reason=reason)
        for message_id, turn_id, score, reason in rows
        if turn_id is not None
    }


async def turn_conversations(
    session: AsyncSession, *, tenant_id: uuid.UUID, turn_ids: Sequence[int]
) -> dict[int, uuid.UUID]:
    """The conversation of each of the tenant's turns (to link a correction to its source)."""
    if not turn_ids:
        return {}
    rows = await session.execute(
        select(Turn.id, Turn.conversation_id).where(Turn.tenant_id == tenant_id, Turn.id.in_(list(turn_ids)))
    )
    return {int(turn_id): conversation_id for turn_id, conversation_id in rows}


def down_rate(*, tenant_id: uuid.UUID, since: datetime) -> Select[int, int]:
    """(👎 count, answers) of the tenant since ``since``, as one row: the alerts' spike check (app.alerts)."""
    return (
        select(func.count().filter(TurnFeedback.score == 0).label("down"), func.count().label("answers"))
        .select_from(TurnFeedback)
        .where(
            TurnFeedback.tenant_id == tenant_id,
            TurnFeedback.score.is_not(None),
            TurnFeedback.answered_at >= since,
        )
    )
