"""Multi-step flows of a conversation: receive a WhatsApp message, answer a turn, deliver the reply.

Durability: the inbound row is committed before the webhook answers; a turn (its reply parts, the
conversation's memory and the inbound messages it answered) is committed atomically; sending
happens after commit and is resumed from the stored parts if a worker dies, so a retried job never
produces a second reply. The one unavoidable window is a crash after Twilio accepted a part but
before its SID was stored: that part is sent again (Twilio's API has no idempotency key).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.context import TenantContext, TurnOutcome
from agents.graph import run_turn
from agents.state import TurnDeps
from app.channels.sender import ReplySender
from app.channels.splitting import split_message
from app.channels.twilio_client import TwilioSendError
from app.config import get_settings
from app.conversations import service as conversation_service
from app.conversations.history import WindowedChatHistory
from app.conversations.models import Conversation, Message, Turn
from app.db import get_engine, session_scope
from app.tenants import service as tenant_service
from app.tenants.models import Tenant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundWhatsApp:
    """The fields of Twilio's inbound webhook we keep."""

    message_sid: str
    from_: str
    to: str
    body: str
    profile_name: str | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    """What the webhook did with a message."""

    status: Literal["accepted", "duplicate", "unknown_number"]
    tenant_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ChatResult:
    """An API chat turn: the outcome (None when a human has the conversation) and timing."""

    conversation_id: uuid.UUID
    outcome: TurnOutcome | None
    parts: list[str]
    latency_ms: int


def tenant_context(tenant: Tenant) -> TenantContext:
    """Detach what a turn needs from the ORM row."""
    finance = tenant_service.finance_settings(tenant)
    return TenantContext(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        locale=tenant.locale,
        annual_rate=Decimal(finance.annual_rate),
        terms_months=tuple(finance.terms_months),
        min_down_payment_ratio=Decimal(finance.min_down_payment_ratio),
        persona={k: str(v) for k, v in (tenant.persona or {}).items()},
        flags=dict(tenant.flags or {}),
    )


def _history(tenant_id: uuid.UUID, customer: str) -> WindowedChatHistory:
    return WindowedChatHistory(
        engine=get_engine(), tenant_id=tenant_id, customer=customer, window=get_settings().history_window
    )


async def receive_whatsapp(inbound: InboundWhatsApp) -> Received:
    """Store an inbound WhatsApp message (once per MessageSid) and queue its conversation."""
    from app import queue  # the queue imports this module for its task bodies

    async with session_scope() as session:
        tenant_id = await tenant_service.tenant_id_for_number(session, address=inbound.to)
        if tenant_id is None:
            return Received(status="unknown_number")
        conversation = await conversation_service.upsert_conversation(
            session,
            tenant_id=tenant_id,
            customer=conversation_service.customer_key(inbound.from_),
            whatsapp_address=inbound.from_,
            tenant_address=inbound.to,
            profile_name=inbound.profile_name,
        )
        stored = await conversation_service.store_inbound(
            session,
            tenant_id=tenant_id,
            conversation_id=conversation.id,
            channel="whatsapp",
            body=inbound.body,
            provider_sid=inbound.message_sid,
            media=inbound.media,
            payload=inbound.payload,
        )
        conversation_id = conversation.id
    if stored is None:
        return Received(status="duplicate", tenant_id=tenant_id, conversation_id=conversation_id)
    await queue.enqueue_conversation(
        tenant_id=tenant_id, conversation_id=conversation_id, delay_seconds=get_settings().burst_window_seconds
    )
    return Received(status="accepted", tenant_id=tenant_id, conversation_id=conversation_id)


async def _answer(
    session: AsyncSession,
    *,
    tenant: Tenant,
    conversation: Conversation,
    pending: list[Message],
    channel: str,
) -> tuple[TurnOutcome | None, list[str]]:
    """Run one turn for ``pending`` inside ``session``'s transaction; (None, []) when a human has the chat."""
    if conversation.status == "handoff":
        for message in pending:
            message.status = "handoff"  # kept for the human, never answered by the bot
        return None, []
    started = time.perf_counter()
    text = "\n".join(m.body.strip() for m in pending if m.body and m.body.strip())
    parts: list[str] = []

    async def persist(outcome: TurnOutcome) -> None:
        turn = Turn(
            tenant_id=tenant.id,
            conversation_id=conversation.id,
            channel=channel,
            intent=outcome.intent,
            agent=outcome.agent,
            tier=outcome.tier,
            reply=outcome.reply,
            handoff=outcome.handoff,
            result={"items": outcome.items, "quote": outcome.quote, "sources": outcome.sources},
            latency_ms=int((time.perf_counter() - started) * 1000),
        )
        session.add(turn)
        await session.flush()
        for message in pending:
            message.status = "processed"
            message.turn_id = turn.id
        conversation.state = outcome.memory
        if outcome.handoff:
            await conversation_service.start_handoff(
                session, tenant_id=tenant.id, conversation_id=conversation.id, reason="customer_request"
            )
        parts.extend(split_message(outcome.reply) if channel == "whatsapp" else [outcome.reply])
        for index, part in enumerate(parts):
            session.add(
                Message(
                    tenant_id=tenant.id,
                    conversation_id=conversation.id,
                    direction="outbound",
                    channel=channel,
                    body=part,
                    # API replies are delivered in the HTTP response itself.
                    status="pending" if channel == "whatsapp" else "delivered",
                    turn_id=turn.id,
                    part_index=index,
                )
            )
        await session.flush()

    async def load_history() -> list[BaseMessage]:
        return await _history(tenant.id, conversation.customer).aget_messages()

    outcome = await run_turn(
        tenant=tenant_context(tenant),
        text=text,
        memory=dict(conversation.state or {}),
        deps=TurnDeps(
            session=session,
            load_history=load_history,
            persist=persist,
            knowledge_min_score=get_settings().knowledge_min_score,
        ),
    )
    return outcome, parts


async def _write_history(*, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """Append committed turns to the chat history, once each."""
    async with session_scope() as session:
        conversation = await conversation_service.get_conversation(
            session, tenant_id=tenant_id, conversation_id=conversation_id
        )
        for turn in await conversation_service.turns_missing_history(
            session, tenant_id=tenant_id, conversation_id=conversation_id
        ):
            bodies = (
                await session.execute(
                    select(Message.body)
                    .where(Message.tenant_id == tenant_id, Message.turn_id == turn.id, Message.direction == "inbound")
                    .order_by(Message.id)
                )
            ).scalars()
            await _history(tenant_id, conversation.customer).aadd_messages(
                [HumanMessage("\n".join(bodies)), AIMessage(turn.reply)]
            )
            turn.history_written = True
            await session.flush()


async def _deliver(*, tenant_id: uuid.UUID, conversation_id: uuid.UUID, sender: ReplySender) -> None:
    """Send stored reply parts that have not left yet, in order."""
    async with session_scope() as session:
        conversation = await conversation_service.get_conversation(
            session, tenant_id=tenant_id, conversation_id=conversation_id
        )
        parts = await conversation_service.unsent_outbound(
            session, tenant_id=tenant_id, conversation_id=conversation_id
        )
    for part in parts:
        if not conversation.whatsapp_address or not conversation.tenant_address:
            status, sid, code = "failed", None, None
        else:
            try:
                sent = await sender.send(
                    to=conversation.whatsapp_address, from_=conversation.tenant_address, body=part.body
                )
                status, sid, code = sent.status, sent.sid, None
            except TwilioSendError as error:
                if error.retryable:
                    raise  # the job is retried later; this and the following parts stay pending
                log.warning("send failed for message %s: status=%s code=%s", part.id, error.status, error.code)
                status, sid, code = "failed", None, error.code
        async with session_scope() as session:
            row = await session.get(Message, part.id)
            assert row is not None
            row.status, row.provider_sid, row.error_code = status, sid, code
            row.status_updated_at = datetime.now(UTC)


async def process_whatsapp(*, tenant_id: uuid.UUID, conversation_id: uuid.UUID, sender: ReplySender) -> None:
    """The worker job: finish any interrupted turn, answer pending messages as one turn, deliver."""
    async with conversation_service.conversation_lock(conversation_id):
        await _write_history(tenant_id=tenant_id, conversation_id=conversation_id)
        await _deliver(tenant_id=tenant_id, conversation_id=conversation_id, sender=sender)
        async with session_scope() as session:
            tenant = await session.get(Tenant, tenant_id)
            if tenant is None:
                return
            conversation = await conversation_service.get_conversation(
                session, tenant_id=tenant_id, conversation_id=conversation_id
            )
            pending = await conversation_service.pending_inbound(
                session, tenant_id=tenant_id, conversation_id=conversation_id, channel="whatsapp"
            )
            if not pending:
                return
            outcome, _ = await _answer(
                session, tenant=tenant, conversation=conversation, pending=pending, channel="whatsapp"
            )
        if outcome is None:
            return
        await _write_history(tenant_id=tenant_id, conversation_id=conversation_id)
        await _deliver(tenant_id=tenant_id, conversation_id=conversation_id, sender=sender)


async def chat(*, tenant: Tenant, user: str, text: str) -> ChatResult:
    """An API (or CLI) chat turn: same pipeline, memory and history as WhatsApp for the same user."""
    started = time.perf_counter()
    customer = conversation_service.customer_key(user)
    async with session_scope() as session:
        conversation = await conversation_service.upsert_conversation(session, tenant_id=tenant.id, customer=customer)
        conversation_id = conversation.id
    async with conversation_service.conversation_lock(conversation_id):
        async with session_scope() as session:
            conversation = await conversation_service.get_conversation(
                session, tenant_id=tenant.id, conversation_id=conversation_id
            )
            stored = await conversation_service.store_inbound(
                session, tenant_id=tenant.id, conversation_id=conversation_id, channel="api", body=text
            )
            assert stored is not None
            fresh_tenant = await session.get(Tenant, tenant.id)
            assert fresh_tenant is not None
            outcome, parts = await _answer(
                session, tenant=fresh_tenant, conversation=conversation, pending=[stored], channel="api"
            )
        if outcome is not None:
            await _write_history(tenant_id=tenant.id, conversation_id=conversation_id)
    return ChatResult(
        conversation_id=conversation_id,
        outcome=outcome,
        parts=parts,
        latency_ms=int((time.perf_counter() - started) * 1000),
    )
