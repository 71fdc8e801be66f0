"""A tenant's WhatsApp templates (Twilio Content API) mapped to purposes, and the rich content made on the fly."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin


class MessageTemplate(TimestampMixin, Base):
    """One Content API template as the tenant's last sync saw it: its approval for WhatsApp and its purpose."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "content_sid"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    content_sid: Mapped[str] = mapped_column(String(64), nullable=False)
    friendly_name: Mapped[str] = mapped_column(String(200), nullable=False)
    language: Mapped[str] = mapped_column(String(16), nullable=False, server_default="es")
    # vendor_outreach, shortlist_ready, handoff_follow_up, lead_confirmation, re_engagement; None = unmapped.
    purpose: Mapped[str | None] = mapped_column(String(32))
    # WhatsApp's approval: approved, pending, received, rejected, paused, disabled, unsubmitted.
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="unsubmitted")
    body: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    variables: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)


class RichContent(Base):
    """A Content SID made on the fly for a rich message (list, buttons, card), reused for the same content."""

    __tablename__ = "rich_contents"
    __table_args__ = (UniqueConstraint("tenant_id", "content_hash"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    content_sid: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
