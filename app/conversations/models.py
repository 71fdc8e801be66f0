"""Conversations, messages (both directions), turns and the chat-history store."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin

# Delivery states of an outbound WhatsApp part before Twilio's own statuses take over: written as
# PENDING; SENDING is committed before each request leaves (no SID yet); then Twilio's status with
# the SID it assigned, or FAILED with Twilio's error code.
PENDING = "pending"
SENDING = "sending"
FAILED = "failed"
# Held back by the pre-send check (app.messaging.outbound): never sent; the reason is in ``blocked_reason``.
BLOCKED = "blocked"
UNFINISHED_OUTBOUND = "direction = 'outbound' AND (status = 'pending' OR (status = 'sending' AND provider_sid IS NULL))"
# Work left behind: inbound not yet answered, or outbound not yet accepted (the recovery pass and its index).
UNFINISHED = f"(direction = 'inbound' AND status = 'received') OR ({UNFINISHED_OUTBOUND})"


class Conversation(TimestampMixin, Base):
    """One customer talking to one tenant, across channels (WhatsApp and the API share it)."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("tenant_id", "customer"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    customer: Mapped[str] = mapped_column(String(128), nullable=False)
    whatsapp_address: Mapped[str | None] = mapped_column(String(128))
    tenant_address: Mapped[str | None] = mapped_column(String(64))
    profile_name: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="bot")
    handoff_reason: Mapped[str | None] = mapped_column(Text)
    handoff_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the customer last wrote on WhatsApp: WhatsApp's 24-hour window for free-form messages runs from it.
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The customer opted out of messages from this tenant (STOP, BAJA, ...); None = may be written to.
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Structured memory between turns: language, cars shown, last quote. Never parsed from prose.
    state: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))


class Turn(Base):
    """One agent turn: the inbound messages it answered, the reply and the facts behind it."""

    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    intent: Mapped[str] = mapped_column(String(32), nullable=False)
    agent: Mapped[str] = mapped_column(String(32), nullable=False)
    tier: Mapped[str] = mapped_column(String(32), nullable=False)
    reply: Mapped[str] = mapped_column(Text, nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    handoff: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    handoff_reason: Mapped[str | None] = mapped_column(String(64))
    latency_ms: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # What decided the turn: intents with confidence, the model (None = offline tier), routing, cost.
    intents: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    model: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float | None] = mapped_column(Float)
    complexity: Mapped[float | None] = mapped_column(Float)
    routing_reason: Mapped[str | None] = mapped_column(String(128))
    prompt_version: Mapped[str | None] = mapped_column(String(32))
    llm_calls: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    input_tokens: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    output_tokens: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), nullable=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Message(Base):
    """A WhatsApp or API message, inbound or outbound, with its provider id and delivery status."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("turn_id", "part_index"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        Index(
            # The recovery pass looks for work left behind; keep that scan off the whole table.
            "ix_messages_unfinished",
            "created_at",
            # Outbound: queued, or in flight with no SID yet ("sending"; Twilio's own "sending" has a SID).
            postgresql_where=text(UNFINISHED),
        ),
        Index(
            "ix_messages_pending_inbound",
            "conversation_id",
            "id",
            postgresql_where=text("direction = 'inbound' AND status = 'received'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    direction: Mapped[str] = mapped_column(String(8), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    # Twilio MessageSid (inbound) or the SID Twilio assigned to our send (outbound); globally unique.
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    error_code: Mapped[int | None] = mapped_column(Integer)
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    turn_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("turns.id", ondelete="SET NULL"))
    part_index: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    status_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Outbound: why the pre-send check held the part back (status "blocked"): opted_out, window_closed, ...
    blocked_reason: Mapped[str | None] = mapped_column(String(32))
    # Outbound: the Content SID it was sent with (a template or rich content), None for free text.
    content_sid: Mapped[str | None] = mapped_column(String(64))

    @classmethod
    def outbound(
        cls,
        *,
        tenant_id: uuid.UUID,
        conversation_id: uuid.UUID,
        body: str,
        channel: str = "whatsapp",
        part_index: int = 0,
        turn_id: int | None = None,
        payload: dict[str, Any] | None = None,
        content_sid: str | None = None,
    ) -> Message:
        """A reply part to store: ``pending`` on WhatsApp (the conversation's job sends it through the
        pre-send check), ``delivered`` on the API (the HTTP response itself carries it)."""
        return cls(
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            direction="outbound",
            channel=channel,
            body=body,
            status="pending" if channel == "whatsapp" else "delivered",
            part_index=part_index,
            turn_id=turn_id,
            payload=payload or {},
            content_sid=content_sid,
        )


class ChatHistoryMessage(Base):
    """LangChain chat history rows (SQLChatMessageHistory with our converter), keyed per tenant and customer."""

    __tablename__ = "chat_history"
    __table_args__ = (Index("ix_chat_history_session_id_id", "session_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    session_id: Mapped[str] = mapped_column(Text, nullable=False)
    message: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
