"""Concierge tables: vendors, requests (a state machine), outreach, vendor replies and calls."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin

# The request's states, in the order a request usually moves through them.
REQUEST_STATES = (
    "collecting_requirements",
    "ocr_processing",
    "vendor_outreach",
    "awaiting_vendor_replies",
    "shortlist_ready",
    "handed_off",
    "closed",
    "error",
)
# States in which a request is still being worked on: at most one per conversation.
OPEN_STATES = (
    "collecting_requirements",
    "ocr_processing",
    "vendor_outreach",
    "awaiting_vendor_replies",
    "shortlist_ready",
)
OUTREACH_STATES = ("queued", "sent", "failed", "replied")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Vendor(TimestampMixin, Base):
    """A nearby business the concierge may ask on WhatsApp; one per (tenant, number)."""

    __tablename__ = "vendors"
    __table_args__ = (
        UniqueConstraint("tenant_id", "whatsapp_number"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="coordinates"),
        Index("ix_vendors_categories", "categories", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    # Always "whatsapp:+E164": the webhook's From matches it as is.
    whatsapp_number: Mapped[str] = mapped_column(String(64), nullable=False)
    # Folded (lower case, no accents) so a category matches however it was typed.
    categories: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    opening_hours: Mapped[str | None] = mapped_column(Text)
    opted_out: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    call_consent: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    call_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_called_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")


class ConciergeRequest(TimestampMixin, Base):
    """A customer's request for something the business does not stock, and where it stands."""

    __tablename__ = "concierge_requests"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATES), name="status"),
        Index("ix_concierge_requests_tenant_id_status", "tenant_id", "status"),
        # Two turns of one conversation racing to start a request: the second insert fails.
        Index(
            "uq_concierge_requests_open_conversation",
            "conversation_id",
            unique=True,
            postgresql_where=text(_in("status", OPEN_STATES)),
        ),
        # The timeout job's scan: requests still waiting, by deadline.
        Index(
            "ix_concierge_requests_waiting_deadline",
            "deadline_at",
            postgresql_where=text("status = 'awaiting_vendor_replies'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    customer_number: Mapped[str] = mapped_column(String(128), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False, server_default="collecting_requirements")
    requirements: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    collecting_requirements_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ocr_processing_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    vendor_outreach_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    awaiting_vendor_replies_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shortlist_ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handed_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shortlist_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class VendorOutreach(Base):
    """One question to one vendor for one request; written before sending, so never sent twice."""

    __tablename__ = "vendor_outreach"
    __table_args__ = (
        UniqueConstraint("request_id", "vendor_id"),
        CheckConstraint(_in("status", OUTREACH_STATES), name="status"),
        # Per-vendor sends in the last day (the daily cap) and the vendor's open outreach (replies).
        Index("ix_vendor_outreach_vendor_id_created_at", "vendor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concierge_requests.id", ondelete="CASCADE"), nullable=False
    )
    vendor_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("vendors.id", ondelete="CASCADE"), nullable=False
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    batch: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="queued")
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class VendorReply(Base):
    """A vendor's WhatsApp answer to an outreach: the raw text and what the parser read in it."""

    __tablename__ = "vendor_replies"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    outreach_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("vendor_outreach.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The inbound MessageSid: a webhook retried by Twilio records the reply once.
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    raw: Mapped[str] = mapped_column(Text, nullable=False)
    available: Mapped[bool | None] = mapped_column(Boolean)
    price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    delivery_hours: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    parsed: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class ConciergeCall(Base):
    """A phone call to a vendor (only with its consent); used by the calling feature later."""

    __tablename__ = "concierge_calls"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("concierge_requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    vendor_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("vendors.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="queued")
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
