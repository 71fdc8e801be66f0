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
    rich_messages: bool = Field(default=False, description="WhatsApp formatting (*bold*, lists)")
    proactive_suggestions: bool = True
    spelling_correction: bool = True
    monthly_budget_usd: Decimal | None = Field(default=None, ge=0, description="None = no limit")
    auto_handoff_topics: list[str] = Field(default_factory=list, max_length=50)

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
