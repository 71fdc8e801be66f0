"""Usage report shapes: LLM calls per day and model, their totals, and the turns they served."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class UsageTotalsRead(BaseModel):
    """LLM calls over the whole range."""

    model_config = ConfigDict(from_attributes=True)

    calls: int
    failures: int
    failovers: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


class UsageModelTotalRead(UsageTotalsRead):
    """One provider and model over the whole range (percentiles are per day only: they do not add up)."""

    provider: str
    model: str


class UsageModelDayRead(UsageModelTotalRead):
    """One provider and model on one day (UTC): calls, tokens, cost and latency percentiles."""

    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None


class UsageDayRead(UsageTotalsRead):
    """One day (UTC): its totals and a row per provider and model (empty when no LLM was called)."""

    day: date
    models: list[UsageModelDayRead]


class TurnUsageRead(BaseModel):
    """The agent's turns over the range, from the per-turn facts."""

    turns: int
    by_tier: dict[str, int] = Field(description="Turns per answering tier, e.g. offline, llm.")
    llm_turns: int = Field(description="Turns that made at least one LLM call.")
    handoffs: int
    llm_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


class UsageRead(BaseModel):
    """A tenant's LLM usage and turns between two days (UTC, both included)."""

    model_config = ConfigDict(populate_by_name=True)

    tenant_id: uuid.UUID
    from_: date = Field(alias="from")
    to: date
    days: list[UsageDayRead] = Field(description="Every day of the range, oldest first.")
    models: list[UsageModelTotalRead] = Field(description="Each provider and model over the range, dearest first.")
    totals: UsageTotalsRead
    turns: TurnUsageRead
