"""An operator's reply to a customer: stored as outbound parts and queued for the conversation's job.

The parts go out through the same job and delivery code as the bot's replies (app.conversations.delivery),
so every outbound check applies to them too. The job row is written in the reply's transaction: the reply
exists exactly when its job does.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations import service as conversation_service
from app.conversations.models import Message
from app.core.errors import Conflict
from app.core.jobrows import queue_job
from app.flows.conversation import CONVERSATION_QUEUE, CONVERSATION_TASK, conversation_lock
from app.messaging.templates import APPROVED, list_templates, queue_template
from app.operators.desk import Author, store_reply, window_open


class WindowClosed(Conflict):
    """WhatsApp allows free text only within 24 hours of the customer's last message; a template is needed."""

    code = "window_closed"


async def send_reply(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID, text: str, author: Author
) -> list[Message]:
    """Store the operator's reply and queue its delivery; 409 ``window_closed`` outside the 24-hour window."""
    conversation = await conversation_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    whatsapp = conversation.whatsapp_address is not None
    if whatsapp and not await window_open(session, tenant_id=tenant_id, conversation_id=conversation_id):
        raise WindowClosed(
            "The customer last wrote more than 24 hours ago: WhatsApp only allows an approved template now",
            details=[{"field": "text", "message": "outside the 24-hour window; send a template instead"}],
        )
    parts = await store_reply(session, conversation=conversation, text=text, author=author)
    if whatsapp:
        await queue_deliveries(session, tenant_id=tenant_id, conversation_id=conversation_id)
    return parts


async def queue_deliveries(session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """Queue the conversation's job (it sends unsent parts first); a waiting job already covers it."""
    lock = conversation_lock(conversation_id)
    await queue_job(
        session,
        task=CONVERSATION_TASK,
        args={"tenant_id": str(tenant_id), "conversation_id": str(conversation_id)},
        lock=lock,
        queueing_lock=lock,
        queue=CONVERSATION_QUEUE,
    )


async def send_template(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    template: str,
    variables: dict[str, str],
    author: Author,
) -> Message:
    """An approved WhatsApp template (a purpose or a Content SID) to the customer, at any time: the way to
    reach a customer outside the 24-hour window. 422 naming ``template`` when the tenant has none approved."""
    part = await queue_template(
        session,
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        purpose_or_sid=template,
        variables=variables,
        author=author.label,
    )
    part.payload = {**(part.payload or {}), "operator": author.as_payload()}
    await session.flush()
    return part


async def send(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    author: Author,
    text: str | None = None,
    template: str | None = None,
    variables: dict[str, str] | None = None,
) -> list[Message]:
    """What the operator wrote, as the API and the console take it: the named template (with its
    variables) when there is one, the free text otherwise."""
    if template:
        part = await send_template(
            session,
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            template=template,
            variables=variables or {},
            author=author,
        )
        return [part]
    return await send_reply(
        session, tenant_id=tenant_id, conversation_id=conversation_id, text=text or "", author=author
    )


async def template_choices(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[tuple[str, str]]:
    """(value, label) for the console's template picker: the tenant's approved templates."""
    return [
        (t.content_sid, f"{t.purpose or 'other'} · {t.friendly_name} ({t.language})")
        for t in await list_templates(session, tenant_id=tenant_id)
        if t.status == APPROVED
    ]


def parse_variables(raw: str) -> dict[str, str]:
    """Template variables typed one per line as ``1=Ana`` (or ``name=value``); blank lines ignored."""
    result: dict[str, str] = {}
    for line in raw.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            result[key.strip()[:20]] = value.strip()[:500]
    return dict(list(result.items())[:20])
