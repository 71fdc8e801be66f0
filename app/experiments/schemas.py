"""API shapes of experiments and their per-arm metrics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ExperimentCreate(BaseModel):
    """Arm B = the tenant's configuration with ``variant`` applied (prompt/model chain/tone/rich messages...)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    variant: dict[str, Any] = Field(description="Agent-configuration fields arm B changes")
    split: float = Field(default=0.5, gt=0, lt=1, description="Share of customers in arm B")
    guard_metric: Literal["handoff_rate", "dont_know_rate", "thumbs_down_rate"] = "handoff_rate"


class RateRead(BaseModel):
    value: float | None
    successes: int
    trials: int
    ci95: tuple[float, float] | None = Field(description="95% Wilson interval")


class ArmRead(BaseModel):
    arm: Literal["A", "B"]
    turns: int
    conversations: int
    handoff_rate: RateRead
    dont_know_rate: RateRead
    thumbs_up_rate: RateRead
    resolved_without_handoff: RateRead
    cost_per_conversation_usd: str
    mean_latency_ms: float


class ExperimentRead(BaseModel):
    id: uuid.UUID
    name: str
    variant: dict[str, Any]
    split: float
    guard_metric: str
    status: str = Field(description="running, stopped (arm B rolled back by the test), promoted or ended")
    stop_reason: str | None
    started_at: datetime
    ended_at: datetime | None
    arms: list[ArmRead] = Field(default_factory=list)
    likelihood_ratio: float | None = Field(default=None, description="The mSPRT ratio; stops at 1/alpha = 20")
