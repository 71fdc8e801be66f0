"""A tenant's AI agent configuration: persona, rules, models, switches, budget; validated, cached."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Literal

from cachetools import TTLCache
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.config import get_settings
from app.llm.models import load_model_table

CONFIG_TTL_SECONDS = 300  # a cached config is at most five minutes old; an update changes its version at once
Tone = Literal["friendly", "formal", "casual", "professional"]
DisclaimerScope = Literal["all", "finance", "catalog", "info"]


class Disclaimer(BaseModel):
    """Text that must accompany replies of a kind, in the customer's language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    applies_to: DisclaimerScope = "all"
    text_es: str = Field(min_length=1, max_length=300)
    text_en: str | None = Field(default=None, max_length=300)

    def text(self, language: str) -> str:
        """The disclaimer in ``language`` (Spanish when no English text was given)."""
        return self.text_en if language == "en" and self.text_en else self.text_es


class BusinessHours(BaseModel):
    """When people answer handoffs: ``days`` (0 = Monday … 6 = Sunday) from ``opens`` to ``closes`` (HH:MM,
    the tenant's time zone)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[int] = Field(min_length=1, max_length=7)
    opens: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    closes: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")

    @field_validator("days")
    @classmethod
    def _weekdays(cls, values: list[int]) -> list[int]:
        if any(not 0 <= v <= 6 for v in values):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return sorted(set(values))

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        return self


class HandoffPolicy(BaseModel):
    """What happens once the bot hands a customer to a person (app.operators.policy applies it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    business_hours: list[BusinessHours] = Field(
        default_factory=list,
        max_length=14,
        description="Empty: people answer at any time. Outside these hours the bot says when a person will "
        "answer and keeps helping meanwhile",
    )
    auto_release_minutes: int | None = Field(
        default=None, ge=1, le=10_080, description="Back to the bot after this much silence; None = never"
    )
    escalate_after_minutes: int | None = Field(
        default=15, ge=1, le=10_080, description="A handoff.escalated notification after this wait; None = never"
    )


class AlertThresholds(BaseModel):
    """When the tenant's alerts fire (app.alerts); rates are shares (0-1) over the last ``window_minutes``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    circuit_open_minutes: int = Field(default=10, ge=1, le=1440, description="A model provider down this long")
    budget_warn_percent: int = Field(default=80, ge=1, le=99, description="Also alerted at 100% of the budget")
    handoff_wait_minutes: int = Field(default=15, ge=1, le=10_080, description="A customer waiting for a person")
    delivery_failure_rate: float = Field(default=0.2, gt=0, le=1)
    delivery_min_messages: int = Field(default=10, ge=1, le=100_000)
    thumbs_down_rate: float = Field(default=0.5, gt=0, le=1)
    thumbs_down_min_answers: int = Field(default=5, ge=1, le=100_000)
    window_minutes: int = Field(default=60, ge=5, le=10_080)


class AgentConfig(BaseModel):
    """How a tenant's AI agent behaves. Every field has a safe default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent_name: str | None = Field(default=None, max_length=60, description="Defaults to the persona's name")
    personality_traits: list[str] = Field(
        default_factory=lambda: ["helpful", "warm", "concise"], max_length=10, description="A few adjectives"
    )
    tone: Tone = "friendly"
    restrictions: list[str] = Field(default_factory=list, max_length=20, description="Rules the agent must follow")
    disclaimers: list[Disclaimer] = Field(default_factory=list, max_length=10)
    confidence_threshold: float = Field(
        default=0.4, ge=0, le=1, description="Below this on consecutive LLM turns, a person takes over"
    )
    low_confidence_turns: int = Field(default=2, ge=1, le=10)
    default_model: str | None = Field(default=None, description="Heads the chain for simple and standard turns")
    complex_model: str | None = Field(default=None, description="Heads the chain for complex turns")
    fallback_models: list[str] = Field(default_factory=list, max_length=10, description="Tried after the chain")
    offline_for_simple: bool = Field(default=True, description="Greetings, thanks and handoffs skip the LLM")
    rich_messages: bool = Field(
        default=False,
        description="WhatsApp-native messages: formatting, quick-reply buttons, list pickers and car cards with "
        "photos (text when off or where the channel can't show them)",
    )
    proactive_suggestions: bool = True
    spelling_correction: bool = True
    monthly_budget_usd: Decimal | None = Field(default=None, ge=0, description="None = no limit")
    auto_handoff_topics: list[str] = Field(default_factory=list, max_length=50)
    handoff_policy: HandoffPolicy = Field(default_factory=HandoffPolicy)
    alerts: AlertThresholds = Field(default_factory=AlertThresholds)
    ask_feedback: bool = Field(
        default=False,
        description="WhatsApp: ask 👍/👎 after a resolved exchange (once a conversation a day, not after a complaint)",
    )

    @field_validator("personality_traits", "restrictions", "auto_handoff_topics")
    @classmethod
    def _short_items(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values if v.strip()]
        if any(len(v) > 200 for v in cleaned):
            raise ValueError("each item must be at most 200 characters")
        return cleaned

    @model_validator(mode="after")
    def _known_models(self) -> AgentConfig:
        table = load_model_table(get_settings().llm_models_file)
        names = [n for n in (self.default_model, self.complex_model, *self.fallback_models) if n]
        unknown = [n for n in names if table.get(n) is None]
        if unknown:
            raise ValueError(f"unknown models {unknown}; the model table has {table.names()}")
        return self


_cache: TTLCache[tuple[uuid.UUID, int], AgentConfig] = TTLCache(maxsize=4096, ttl=CONFIG_TTL_SECONDS)


def agent_config(tenant_id: uuid.UUID, version: int, raw: dict[str, Any] | None) -> AgentConfig:
    """The validated config of a tenant at ``version``; parsed once per version and at most 5 minutes old."""
    key = (tenant_id, version)
    config = _cache.get(key)
    if config is None:
        try:
            config = AgentConfig.model_validate(raw or {})
        except ValueError:
            # A stored config that no longer validates (a model left the table): keep the agent answering.
            config = AgentConfig.model_validate(
                {**(raw or {}), "default_model": None, "complex_model": None, "fallback_models": []}
            )
        _cache[key] = config
    return config


def invalidate(tenant_id: uuid.UUID) -> None:
    """Drop every cached version of a tenant's config (this process)."""
    for key in [k for k in _cache if k[0] == tenant_id]:
        _cache.pop(key, None)
