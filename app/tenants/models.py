"""Tenants: the businesses served by one deployment."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, TimestampMixin


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
