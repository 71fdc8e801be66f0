"""The one check every outbound WhatsApp part passes before it is sent: opt-out, the 24-hour window, templates.

Delivery of stored parts (app.conversations.delivery) and the concierge's outreach (``send_checked``) ask
``decide`` before each send. The answer is one of:

* blocked, with a reason recorded on the part (status ``blocked``): ``opted_out`` (the customer said
  STOP), ``window_closed`` (more than 24 h since the customer wrote and no approved template for the
  part's purpose), ``template_not_approved`` (an explicit template WhatsApp has not approved);
* a template: outside the window, the approved template of the part's purpose with its variables;
* rich content: inside the window, the part's list, buttons or card (see app.messaging.rich);
* free text: inside the window, or to someone we have no inbound on record from (Twilio's answer is kept).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.sender import ReplySender, SendOutcome
from app.channels.twilio_client import TwilioSendError
from app.conversations.models import Conversation
from app.core.db import session_scope
from app.messaging import rich, templates
from app.messaging.metrics import OUTBOUND_BLOCKED, OUTBOUND_KIND
from app.messaging.models import RichContent
from app.messaging.window import window_state
from app.text.phones import customer_key

log = logging.getLogger(__name__)

Kind = Literal["text", "template", "rich"]
OPTED_OUT = "opted_out"
WINDOW_CLOSED = "window_closed"
TEMPLATE_NOT_APPROVED = "template_not_approved"


@dataclass(frozen=True)
class Decision:
    """What to do with one part: block it (``blocked`` is the reason) or send it as text, template or rich."""

    body: str
    blocked: str | None = None
    kind: Kind = "text"
    content_sid: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    spec: dict[str, Any] | None = None


class Blocked(Exception):
    """A direct send (not a stored part) the check held back; ``reason`` as on a blocked part."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not sent: {reason}")
        self.reason = reason


async def conversation_for(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID | None = None, address: str | None = None
) -> Conversation | None:
    """The conversation a part belongs to, or the one with the recipient at ``address`` (a vendor's)."""
    stmt = select(Conversation).where(Conversation.tenant_id == tenant_id)
    if conversation_id is not None:
        stmt = stmt.where(Conversation.id == conversation_id)
    elif address:
        stmt = stmt.where(Conversation.customer == customer_key(address))
    else:
        return None
    return (await session.execute(stmt)).scalar_one_or_none()


async def decide(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    conversation: Conversation | None,
    body: str,
    payload: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Decision:
    """The pre-send check of one part (see the module's docstring); records nothing itself."""
    payload = payload or {}
    if conversation is not None and conversation.opted_out_at is not None and not payload.get("opt_out_notice"):
        return Decision(body=body, blocked=OPTED_OUT)
    state = window_state(conversation.last_inbound_at if conversation else None, now=now)
    explicit = payload.get("template")
    if isinstance(explicit, Mapping) and explicit.get("content_sid"):
        approved = await templates.approved_by_sid(
            session, tenant_id=tenant_id, content_sid=str(explicit["content_sid"])
        )
        if approved is None:
            return Decision(body=body, blocked=TEMPLATE_NOT_APPROVED)
        variables = {str(k): str(v) for k, v in dict(explicit.get("variables") or {}).items()}
        return Decision(body=body, kind="template", content_sid=approved.content_sid, variables=variables)
    if state == "open":
        spec = payload.get("rich")
        if isinstance(spec, Mapping):
            return Decision(body=body, kind="rich", spec=dict(spec))
        return Decision(body=body)
    purpose = payload.get("purpose")
    if isinstance(purpose, str):
        language = templates.conversation_language(conversation) if conversation else None
        template = await templates.approved_template(
            session, tenant_id=tenant_id, purpose=purpose, language=str(payload.get("language") or language or "es")
        )
        if template is not None:
            variables = {str(k): templates.clean_variable(v) for k, v in dict(payload.get("variables") or {}).items()}
            return Decision(
                body=templates.render(template.body, variables) or body,
                kind="template",
                content_sid=template.content_sid,
                variables=variables,
            )
    if state == "closed":
        return Decision(body=body, blocked=WINDOW_CLOSED)
    return Decision(body=body)  # nobody wrote from there on record: Twilio decides, its answer is kept


def record_blocked(reason: str) -> None:
    """Count a part held back."""
    OUTBOUND_BLOCKED.labels(reason).inc()


async def rich_content_sid(
    *, tenant_id: uuid.UUID, spec: Mapping[str, Any], fallback: str, language: str, sender: ReplySender
) -> str | None:
    """The Content SID of a rich spec: cached by content hash, else made now; None to send the text instead."""
    types = rich.content_types(spec, fallback)
    digest = rich.content_hash(types)
    async with session_scope() as session:
        cached = (
            await session.execute(
                select(RichContent.content_sid).where(
                    RichContent.tenant_id == tenant_id, RichContent.content_hash == digest
                )
            )
        ).scalar_one_or_none()
    if cached is not None:
        return cached
    try:
        sid = await sender.create_content(
            friendly_name=f"rich_{spec.get('kind')}_{digest[:16]}", language=language, variables={}, types=types
        )
    except TwilioSendError as error:
        log.warning("rich content could not be created (%s); sending the text instead", error)
        return None
    if sid is None:
        return None
    async with session_scope() as session:
        await session.execute(
            insert(RichContent)
            .values(tenant_id=tenant_id, content_hash=digest, content_sid=sid, kind=str(spec.get("kind"))[:32])
            .on_conflict_do_nothing(index_elements=["tenant_id", "content_hash"])
        )
    return sid


async def forget_rich_content(*, tenant_id: uuid.UUID, content_sid: str | None) -> None:
    """Drop a cached Content SID Twilio no longer knows (error 21656), so the content is made again."""
    async with session_scope() as session:
        await session.execute(
            delete(RichContent).where(RichContent.tenant_id == tenant_id, RichContent.content_sid == content_sid)
        )


def can_show_rich(to: str, sender: ReplySender) -> bool:
    """The channel's capability: WhatsApp through Twilio shows lists, buttons and cards; a simulation cannot."""
    return to.startswith("whatsapp:") and not sender.simulated


def count_kind(kind: Kind) -> None:
    """Count a part handed to Twilio by kind."""
    OUTBOUND_KIND.labels(kind).inc()


async def send_checked(
    *,
    tenant_id: uuid.UUID,
    to: str,
    from_: str,
    body: str,
    sender: ReplySender,
    purpose: str | None = None,
    variables: Mapping[str, str] | None = None,
    language: str | None = None,
) -> SendOutcome:
    """Send a message that is no stored part (the concierge's outreach) through the same check.

    Raises Blocked when the check holds it back (the reason is for the caller to record), and
    TwilioSendError when Twilio refuses it."""
    payload: dict[str, Any] = {}
    if purpose is not None:
        payload = {"purpose": purpose, "variables": dict(variables or {}), "language": language}
    async with session_scope() as session:
        conversation = await conversation_for(session, tenant_id=tenant_id, address=to)
        decision = await decide(
            session, tenant_id=tenant_id, conversation=conversation, body=body, payload=payload, now=datetime.now(UTC)
        )
    if decision.blocked is not None:
        record_blocked(decision.blocked)
        raise Blocked(decision.blocked)
    count_kind(decision.kind)
    return await sender.send(
        to=to,
        from_=from_,
        body=decision.body,
        content_sid=decision.content_sid,
        content_variables=decision.variables or None,
    )
