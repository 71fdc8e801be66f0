"""Usage report shapes: LLM calls per day and model, their totals, and the turns they served."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# A report day's bounds: the range arithmetic (a day after `to`, 29 days before it) must not leave
# Python's calendar (year 1 to 9999), and no usage predates 2000.
FIRST_REPORT_DAY = date(2000, 1, 1)
LAST_REPORT_DAY = date(9998, 12, 31)


def _report_day(value: date) -> date:
    if not FIRST_REPORT_DAY <= value <= LAST_REPORT_DAY:
        raise ValueError(f"must be between {FIRST_REPORT_DAY} and {LAST_REPORT_DAY}")
    return value


ReportDay = Annotated[date, AfterValidator(_report_day)]
"""A day a usage report may start or end on."""


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
