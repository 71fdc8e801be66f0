"""The per-sender WhatsApp limit: a customer writing faster than SENDER_MESSAGES_PER_MINUTE is not answered
by the agent (no LLM call, no catalog work) until they slow down.

Decided where the turn runs, under the conversation's lock, from the messages table: it holds across any
number of API processes and workers, and survives restarts. Over the limit, the pending messages are
kept (never lost: stored, shown in the conversation, marked processed by a ``rate_limit`` turn) and
answered with one fixed notice per minute; further messages in that minute are folded into silent
``rate_limit`` turns. Once the last minute holds no more than the limit, turns are normal again.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.conversations.models import UNFINISHED_OUTBOUND, Conversation, Message, Turn
from app.core.metrics import RATE_LIMITED, record_turn
from app.tenants.models import Tenant
from app.text.normalize import detect_language
from app.text.wording import say

WINDOW = timedelta(minutes=1)
RATE_LIMIT_AGENT = "rate_limit"


@dataclass(frozen=True)
class Work:
    """A conversation's work, read at the start of its job under its lock."""

    unsent: list[Message]  # outbound WhatsApp parts not yet accepted by Twilio, in order
    pending: list[Message]  # inbound WhatsApp messages not yet answered, in arrival order
    flooded: bool  # the sender is over SENDER_MESSAGES_PER_MINUTE


def _over_limit_clause(per_minute: int) -> ColumnElement[bool]:
    """True when the customer's last ``per_minute + 1`` WhatsApp messages all arrived within a minute."""
    if per_minute <= 0:
        return false()
    earlier = aliased(Message)
    # The (conversation_id, id) index read backwards: at most per_minute + 1 rows, however long the flood.
    newest_beyond_limit = (
        select(earlier.created_at > func.now() - WINDOW)
        .where(
            earlier.conversation_id == bindparam("conversation_id"),
            earlier.direction == "inbound",
            earlier.channel == "whatsapp",
        )
        .order_by(earlier.id.desc())
        .offset(per_minute)
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(newest_beyond_limit, false())


@lru_cache(maxsize=8)
def _work_stmt(per_minute: int) -> Select[Message, bool]:
    # Built once per limit: composing this ORM statement costs more CPU than running it.
    return (
        select(Message, _over_limit_clause(per_minute))
        .where(
            Message.tenant_id == bindparam("tenant_id"),
            Message.conversation_id == bindparam("conversation_id"),
            or_(
                and_(Message.direction == "inbound", Message.status == "received", Message.channel == "whatsapp"),
                text(f"({UNFINISHED_OUTBOUND})"),
            ),
        )
        .order_by(Message.id)
        .with_for_update(of=Message)
    )


async def work_and_over_limit(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID, per_minute: int
) -> Work:
    """The job's read in one round trip: the parts left unsent (``conversations.service.unsent_outbound``), the
    inbound WhatsApp messages not yet answered (locked, as ``conversations.service.pending_inbound``), and
    whether the sender is over the limit."""
    params = {"tenant_id": tenant_id, "conversation_id": conversation_id}
    rows = (await session.execute(_work_stmt(per_minute), params)).all()
    messages = [row[0] for row in rows]
    return Work(
        unsent=[m for m in messages if m.direction == "outbound"],
        pending=[m for m in messages if m.direction == "inbound"],
        flooded=bool(rows and rows[0][1]),
    )


async def hold_back(
    session: AsyncSession, *, tenant: Tenant, conversation: Conversation, pending: list[Message]
) -> list[Message]:
    """Mark ``pending`` answered by a ``rate_limit`` turn; the notice part to send (none if sent this minute)."""
    started = time.perf_counter()
    noticed = await _notice_sent_within_window(session, conversation_id=conversation.id)
    text = "\n".join(m.body for m in pending if m.body)
    reply = "" if noticed else say("limits.sender_flood", detect_language(text))
    turn = Turn(
        tenant_id=tenant.id,
        conversation_id=conversation.id,
        channel="whatsapp",
        intent="rate_limited",
        agent=RATE_LIMIT_AGENT,
        tier="none",
        reply=reply,
        routing_reason="sender over SENDER_MESSAGES_PER_MINUTE",
    )
    session.add(turn)
    await session.flush()
    for message in pending:
        message.status = "processed"
        message.turn_id = turn.id
    parts = [] if noticed else [_notice_part(tenant, conversation, turn, reply)]
    session.add_all(parts)
    await session.flush()
    RATE_LIMITED.labels("sender").inc(len(pending))
    record_turn(
        channel="whatsapp",
        tier="none",
        agent=RATE_LIMIT_AGENT,
        outcome="rate_limited",
        seconds=time.perf_counter() - started,
    )
    return parts


async def _notice_sent_within_window(session: AsyncSession, *, conversation_id: uuid.UUID) -> bool:
    stmt = (
        select(Turn.id)
        .where(
            Turn.conversation_id == conversation_id,
            Turn.agent == RATE_LIMIT_AGENT,
            Turn.reply != "",
            Turn.created_at > func.now() - WINDOW,
        )
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


def _notice_part(tenant: Tenant, conversation: Conversation, turn: Turn, reply: str) -> Message:
    return Message.outbound(tenant_id=tenant.id, conversation_id=conversation.id, body=reply, turn_id=turn.id)
