"""What WhatsApp's rules decide about a customer's messages before the agent sees them: an opt-out or
opt-in (confirmed once), silence while opted out, and no free-text answer to messages older than the window."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations.models import Conversation, Message
from app.messaging.optout import read_opt_out, set_opted_out
from app.messaging.window import too_old_to_answer
from app.text.normalize import Language
from app.text.wording import say

# Statuses of inbound messages the agent did not answer, and why.
OPTED_OUT = "opted_out"  # the customer had opted out: kept, not answered
EXPIRED = "expired"  # older than the 24-hour window when its turn came (recovery of old work)


async def apply_rules(
    session: AsyncSession,
    *,
    conversation: Conversation,
    pending: list[Message],
    language: Language,
    means_something_else: Callable[[], Awaitable[bool]],
    now: datetime | None = None,
) -> list[Message] | None:
    """The reply parts (maybe none) when the rules took the messages; None leaves them to the agent.

    ``means_something_else`` says whether an ambiguous word ("cancelar") is about something open in the
    conversation (a concierge request) rather than about messages."""
    last = pending[-1]
    request = read_opt_out(last.body or "", last.payload)
    if request is not None and request.ambiguous and await means_something_else():
        request = None
    if request is not None:
        changed = await set_opted_out(
            session,
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.id,
            opted_out=request.action == "stop",
            source=request.source,
        )
        await session.refresh(conversation, ["opted_out_at"])
        _mark(pending, "processed")
        # Twilio's Advanced Opt-Out confirms by itself; a repeated request is not confirmed twice.
        if not changed or request.source == "twilio":
            return []
        key = "messaging.opted_out" if request.action == "stop" else "messaging.opted_in"
        notice = _notice(conversation, say(key, language))
        session.add(notice)
        await session.flush()
        return [notice]
    if conversation.opted_out_at is not None:
        _mark(pending, OPTED_OUT)
        return []
    if too_old_to_answer(last.created_at, now=now):
        _mark(pending, EXPIRED)
        return []
    return None


def _mark(pending: list[Message], status: str) -> None:
    for message in pending:
        message.status = status


def _notice(conversation: Conversation, body: str) -> Message:
    """The confirmation part: it goes out even to a customer who just opted out (WhatsApp allows it)."""
    return Message.outbound(
        tenant_id=conversation.tenant_id, conversation_id=conversation.id, body=body, payload={"opt_out_notice": True}
    )
