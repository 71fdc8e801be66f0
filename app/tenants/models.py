"""Tenants: the businesses served by one deployment."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, TimestampMixin


class Tenant(TimestampMixin, Base):
    """A business with its own numbers, persona, data, flags and finance terms."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(63), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    locale: Mapped[str] = mapped_column(String(16), nullable=False, server_default="es-MX")
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, server_default="America/Mexico_City")
    flags: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    finance: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    persona: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    catalog_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    agent_config: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    # Bumped on every agent-config update: processes key their cached config on it.
    agent_config_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # Per feature: a phone allowlist and a percentage of customers (app/tenants/features.py reads it).
    rollout: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    # Concierge knobs (daily cap per vendor, radius, batch size, reply timeout); defaults in the schema.
    concierge: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))

    numbers: Mapped[list[TenantNumber]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", lazy="selectin", order_by="TenantNumber.id"
    )

    @property
    def whatsapp_numbers(self) -> list[str]:
        """The tenant's WhatsApp sender addresses, e.g. ``whatsapp:+14155238886``."""
        return [n.address for n in self.numbers]


class TenantNumber(Base):
    """A WhatsApp address owned by one tenant; inbound ``To`` selects the tenant."""

    __tablename__ = "tenant_numbers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    address: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)

    tenant: Mapped[Tenant] = relationship(back_populates="numbers")


class PlatformSettings(Base):
    """Settings of the whole deployment, in a single row (id 1): the global kill switch."""

    __tablename__ = "platform_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="1")
    # On: every tenant is answered by the offline agent only; concierge, OCR and calling stop.
    kill_switch: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    kill_switch_reason: Mapped[str | None] = mapped_column(Text)
    kill_switch_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )
