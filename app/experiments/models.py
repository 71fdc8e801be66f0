"""Experiments and the arm each turn ran under."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

RUNNING = "running"
STOPPED = "stopped"  # stopped by the sequential test: arm B rolled back
PROMOTED = "promoted"  # arm B became the tenant's configuration
ENDED = "ended"  # ended by an operator, nothing changed


class Experiment(Base):
    """Arm A is the tenant's configuration; arm B the same with ``variant`` applied, for ``split`` of customers."""

    __tablename__ = "experiments"
    __table_args__ = (
        Index("uq_experiments_running", "tenant_id", unique=True, postgresql_where=text("status = 'running'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    variant: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    split: Mapped[float] = mapped_column(Float, nullable=False, server_default="0.5")
    guard_metric: Mapped[str] = mapped_column(String(32), nullable=False, server_default="handoff_rate")
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=RUNNING)
    stop_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ExperimentTurn(Base):
    """The arm a turn ran under (one row per turn of a customer in a running experiment)."""

    __tablename__ = "experiment_turns"
    __table_args__ = (Index("ix_experiment_turns_experiment_arm", "experiment_id", "arm"),)

    turn_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("turns.id", ondelete="CASCADE"), primary_key=True)
    experiment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False
    )
    arm: Mapped[str] = mapped_column(String(1), nullable=False)
