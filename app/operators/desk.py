"""What operators do with a tenant's conversations: the waiting queue, replies, assignment, release, close, notes.

Every query names the tenant: an operator (or key) of one tenant never reads another's conversations.
Sending is not done here: ``store_reply`` writes the outbound parts as ``pending`` rows like a bot turn's,
and the conversation's job delivers them through app.conversations.delivery (with its pre-send checks).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from langchain_core.messages import AIMessage
from sqlalchemy import and_, or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.splitting import split_message
from app.conversations import service as conversation_service
from app.conversations.history import history_rows
from app.conversations.models import Conversation, Message, Turn
from app.core.errors import InvalidInput, NotFound
from app.messaging.window import window_state
from app.operators.models import ConversationDesk, ConversationNote, Operator
from app.operators.schemas import HandoffRead

MAX_REPLY_CHARS: Final = 4000
MAX_NOTE_CHARS: Final = 4000


@dataclass(frozen=True)
class Author:
    """Who acts: an operator (console or session) or a program (an API key); stored with what they write."""

    kind: str  # "operator" | "api_key" | "admin"
    label: str  # the operator's email or the key's name
    operator_id: uuid.UUID | None = None

    def as_payload(self) -> dict[str, Any]:
        """The identity stored on the message (``payload.operator``)."""
        return {"kind": self.kind, "label": self.label, "id": str(self.operator_id) if self.operator_id else None}


@dataclass(frozen=True)
class ConversationRow:
    """A line of the inbox."""

    conversation_id: uuid.UUID
    customer: str
    profile_name: str | None
    status: str
    last_message_at: datetime | None
    last_message: str | None
    assigned_to: str | None
    closed: bool


def _last_inbound() -> Any:
    """Correlated subquery pieces: the customer's latest message in a conversation."""
    return (
        select(Message.body, Message.created_at)
        .where(
            Message.tenant_id == Conversation.tenant_id,
            Message.conversation_id == Conversation.id,
            Message.direction == "inbound",
        )
        .order_by(Message.id.desc())
        .limit(1)
        .lateral("last_in")
    )


async def list_handoffs(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[HandoffRead]:
    """The tenant's conversations waiting for a person, oldest wait first (the API's and the console's rows)."""
    last_in = _last_inbound()
    stmt = (
        select(Conversation, last_in.c.body, last_in.c.created_at, Operator.email)
        .select_from(Conversation)
        .outerjoin(last_in, true())
        .outerjoin(ConversationDesk, ConversationDesk.conversation_id == Conversation.id)
        .outerjoin(Operator, Operator.id == ConversationDesk.operator_id)
        .where(Conversation.tenant_id == tenant_id, Conversation.status == "handoff")
        .order_by(Conversation.handoff_at.asc().nulls_last(), Conversation.id)
        .limit(500)
    )
    now = datetime.now(UTC)
    result: list[HandoffRead] = []
    for conversation, body, at, email in (await session.execute(stmt)).all():
        since = conversation.handoff_at or conversation.updated_at
        result.append(
            HandoffRead(
                conversation_id=conversation.id,
                customer=conversation.customer,
                profile_name=conversation.profile_name,
                reason=conversation.handoff_reason,
                handoff_at=conversation.handoff_at,
                waiting_seconds=max(0, int((now - since).total_seconds())) if since else 0,
                last_customer_message=body,
                last_customer_message_at=at,
                assigned_to=email,
            )
        )
    return result


async def list_conversations(
    session: AsyncSession, *, tenant_id: uuid.UUID, query: str | None = None, limit: int = 50
) -> list[ConversationRow]:
    """The inbox: most recent first, optionally only those whose customer, name or messages match ``query``."""
    last_any = (
        select(Message.body)
        .where(Message.tenant_id == Conversation.tenant_id, Message.conversation_id == Conversation.id)
        .order_by(Message.id.desc())
        .limit(1)
        .lateral("last_any")
    )
    stmt = (
        select(Conversation, last_any.c.body, Operator.email, ConversationDesk.closed_at)
        .select_from(Conversation)
        .outerjoin(last_any, true())
        .outerjoin(ConversationDesk, ConversationDesk.conversation_id == Conversation.id)
        .outerjoin(Operator, Operator.id == ConversationDesk.operator_id)
        .where(Conversation.tenant_id == tenant_id)
    )
    if query and query.strip():
        pattern = "%" + query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matching = select(Message.conversation_id).where(
            Message.tenant_id == tenant_id, Message.body.ilike(pattern, escape="\\")
        )
        stmt = stmt.where(
            or_(
                Conversation.customer.ilike(pattern, escape="\\"),
                Conversation.profile_name.ilike(pattern, escape="\\"),
                Conversation.id.in_(matching),
            )
        )
    stmt = stmt.order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id).limit(limit)
    rows = (await session.execute(stmt)).all()
    return [
        ConversationRow(
            conversation_id=c.id,
            customer=c.customer,
            profile_name=c.profile_name,
            status=c.status,
            last_message_at=c.last_message_at,
            last_message=body,
            assigned_to=email,
            closed=is_closed(c, closed_at),
        )
        for c, body, email, closed_at in rows
    ]


async def window_open(session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> bool:
    """True while WhatsApp's 24-hour window is open (the same rule as every outbound part's pre-send check)."""
    last = (
        await session.execute(
            select(Conversation.last_inbound_at).where(
                Conversation.tenant_id == tenant_id, Conversation.id == conversation_id
            )
        )
    ).scalar_one_or_none()
    return window_state(last) == "open"


def clean_text(text: str, *, field: str, limit: int) -> str:
    """Stripped, non-empty text of at most ``limit`` characters (422 naming the field otherwise)."""
    clean = text.strip()
    if not clean or len(clean) > limit:
        raise InvalidInput(
            f"{field} must have 1 to {limit} characters",
            details=[{"field": field, "message": f"1 to {limit} characters"}],
        )
    return clean


async def store_reply(session: AsyncSession, *, conversation: Conversation, text: str, author: Author) -> list[Message]:
    """The operator's reply as outbound rows in order (``pending`` on WhatsApp: the conversation's job sends
    them), and in the chat history so the bot knows what was said once the conversation is released."""
    body = clean_text(text, field="text", limit=MAX_REPLY_CHARS)
    whatsapp = conversation.whatsapp_address is not None
    texts = split_message(body) if whatsapp else [body]
    parts = [
        Message.outbound(
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.id,
            channel="whatsapp" if whatsapp else "api",
            body=part,
            payload={"operator": author.as_payload()},
            part_index=index,
        )
        for index, part in enumerate(texts)
    ]
    session.add_all(parts)
    session.add_all(history_rows(conversation.tenant_id, conversation.customer, [AIMessage(body)]))
    await _desk(session, conversation, closed_at=None)
    await session.flush()
    return parts


async def _desk(session: AsyncSession, conversation: Conversation, **values: Any) -> None:
    """Upsert the conversation's desk row with ``values``."""
    stmt = insert(ConversationDesk).values(conversation_id=conversation.id, tenant_id=conversation.tenant_id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["conversation_id"], set_=values))


async def _operator(session: AsyncSession, *, tenant_id: uuid.UUID, operator_id: uuid.UUID) -> Operator:
    operator = (
        await session.execute(
            select(Operator).where(
                Operator.tenant_id == tenant_id, Operator.id == operator_id, Operator.disabled_at.is_(None)
            )
        )
    ).scalar_one_or_none()
    if operator is None:
        raise NotFound("operator not found", details=[{"field": "operator_id", "message": "no such operator"}])
    return operator


async def assign(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID, operator_id: uuid.UUID | None
) -> Operator | None:
    """Give the conversation to one operator of the tenant (None: unassign)."""
    conversation = await conversation_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    operator = None
    if operator_id is not None:
        operator = await _operator(session, tenant_id=tenant_id, operator_id=operator_id)
    await _desk(
        session,
        conversation,
        operator_id=operator.id if operator else None,
        assigned_at=datetime.now(UTC) if operator else None,
    )
    return operator


async def release(session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation:
    """Back to the bot: it answers the customer's next message."""
    conversation = await conversation_service.release_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    await _desk(session, conversation, escalated_at=None)
    return conversation


async def close(session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation:
    """Done with it: released to the bot and marked closed until the customer writes again."""
    conversation = await release(session, tenant_id=tenant_id, conversation_id=conversation_id)
    await _desk(session, conversation, closed_at=datetime.now(UTC), operator_id=None, assigned_at=None)
    return conversation


async def add_note(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID, text: str, author: Author
) -> ConversationNote:
    """An internal note (never sent to the customer)."""
    await conversation_service.get_conversation(session, tenant_id=tenant_id, conversation_id=conversation_id)
    note = ConversationNote(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        author=author.label,
        body=clean_text(text, field="text", limit=MAX_NOTE_CHARS),
    )
    session.add(note)
    await session.flush()
    return note


async def list_notes(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> list[ConversationNote]:
    """The conversation's notes, oldest first."""
    stmt = (
        select(ConversationNote)
        .where(ConversationNote.tenant_id == tenant_id, ConversationNote.conversation_id == conversation_id)
        .order_by(ConversationNote.id)
    )
    return list((await session.execute(stmt)).scalars())


def is_closed(conversation: Conversation, closed_at: datetime | None) -> bool:
    """Closed by an operator, and the customer has not written since."""
    if closed_at is None or conversation.status == "handoff":
        return False
    return conversation.last_message_at is None or conversation.last_message_at <= closed_at


async def desk_of(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> tuple[str | None, datetime | None]:
    """(assigned operator's email, when it was closed) for one conversation."""
    row = (
        await session.execute(
            select(Operator.email, ConversationDesk.closed_at)
            .select_from(ConversationDesk)
            .outerjoin(Operator, Operator.id == ConversationDesk.operator_id)
            .where(and_(ConversationDesk.tenant_id == tenant_id, ConversationDesk.conversation_id == conversation_id))
        )
    ).one_or_none()
    return (None, None) if row is None else (row[0], row[1])


@dataclass(frozen=True)
class HistoryItem:
    """One message of the conversation view, with who wrote it and, for the bot, what stood behind it."""

    id: int
    direction: str
    author: str  # "customer" | "bot" | "operator"
    operator: str | None
    body: str
    status: str
    created_at: datetime
    tier: str | None
    agent: str | None
    sources: list[dict[str, Any]]
    quote: dict[str, Any] | None


async def history(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID, limit: int = 300
) -> list[HistoryItem]:
    """The conversation's messages in order (the latest ``limit``), each with its turn's tier, agent,
    sources and quote when the bot wrote it."""
    stmt = (
        select(Message, Turn)
        .outerjoin(Turn, Turn.id == Message.turn_id)
        .where(Message.tenant_id == tenant_id, Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    items: list[HistoryItem] = []
    for message, turn in reversed((await session.execute(stmt)).all()):
        operator = (message.payload or {}).get("operator") if message.direction == "outbound" else None
        author = "customer" if message.direction == "inbound" else ("operator" if operator else "bot")
        result = turn.result if turn is not None and message.direction == "outbound" else {}
        items.append(
            HistoryItem(
                id=message.id,
                direction=message.direction,
                author=author,
                operator=operator.get("label") if isinstance(operator, dict) else None,
                body=message.body,
                status=message.status,
                created_at=message.created_at,
                tier=turn.tier if turn is not None and author == "bot" else None,
                agent=turn.agent if turn is not None and author == "bot" else None,
                sources=list(result.get("sources") or []) if author == "bot" else [],
                quote=result.get("quote") if author == "bot" else None,
            )
        )
    return items
