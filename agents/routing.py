"""Complexity routing: which tier answers a turn, and which chain of models when it is an LLM."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from agents.classify import Classification
from app.llm.models import ModelSpec, ModelTier
from app.llm.providers import ProviderRegistry
from app.tenants.agent_config import AgentConfig
from app.text.normalize import fold

Tier = Literal["offline", "llm"]
SIMPLE_BELOW = 0.3
COMPLEX_FROM = 0.6
_OFFLINE_INTENTS = {"greeting", "thanks", "help", "handoff"}
_ROUTED = {"catalog", "finance", "info", "handoff", "greeting", "thanks", "help"}
_HARD_WORDS = re.compile(
    r"\b(compar\w*|diferencia\w*|recomiend\w*|recomend\w*|conviene|mejor opcion|cual es mejor|versus|vs|"
    r"por que|explica\w*|negoci\w*|pros y contras|ventajas|desventajas|which is better|recommend\w*|"
    r"difference|compare|pros and cons|why|explain|negotiat\w*|trade.?in|a cuenta|enganche y|plan de pagos)\b"
)
# Fallback order when a tier's models are all down: cheaper first, never silently dearer than asked.
_CHAIN_TIERS: dict[ModelTier, tuple[ModelTier, ...]] = {
    "small": ("small", "standard"),
    "standard": ("standard", "small"),
    "strong": ("strong", "standard", "small"),
}


@dataclass(frozen=True)
class Route:
    """The routing decision of one turn, recorded with it."""

    tier: Tier
    complexity: float
    reason: str
    model_tier: ModelTier | None = None
    chain: tuple[ModelSpec, ...] = ()


def complexity_score(*, text: str, classification: Classification, turns_so_far: int) -> tuple[float, list[str]]:
    """A score from 0 to 1 and the factors behind it: conversation length, message length, intents, keywords."""
    factors: list[str] = []
    score = 0.0
    length = min(len(text) / 400, 1.0) * 0.3
    if length >= 0.1:
        factors.append("long_message")
    score += length
    score += min(turns_so_far / 20, 1.0) * 0.15
    if turns_so_far >= 10:
        factors.append("long_conversation")
    intents = {i.name for i in classification.intents if i.name in _ROUTED and i.confidence >= 0.6}
    if len(intents) > 1:
        score += min(0.2 * (len(intents) - 1), 0.4)
        factors.append(f"{len(intents)}_intents")
    if _HARD_WORDS.search(fold(text)):
        score += 0.25
        factors.append("reasoning_keywords")
    questions = text.count("?")
    if questions > 1:
        score += min(0.1 * (questions - 1), 0.2)
        factors.append(f"{questions}_questions")
    return round(min(score, 1.0), 3), factors


def _chain(
    registry: ProviderRegistry, model_tier: ModelTier, config: AgentConfig, *, head: str | None
) -> tuple[ModelSpec, ...]:
    names: list[str] = []
    if head:
        names.append(head)
    for tier in _CHAIN_TIERS[model_tier]:
        names.extend(m.name for m in registry.models_of_tier(tier))
    names.extend(config.fallback_models)
    specs = [registry.table.get(n) for n in dict.fromkeys(names)]
    return tuple(s for s in specs if s is not None and registry.usable(s))


def _long_context_chain(registry: ProviderRegistry, config: AgentConfig) -> tuple[ModelSpec, ...]:
    usable = [m for m in registry.table.models if registry.usable(m)]
    ranked = sorted(usable, key=lambda m: (-m.context_window, m.input_per_mtok))
    extra = [registry.table.get(n) for n in config.fallback_models]
    return tuple(dict.fromkeys([*ranked, *(s for s in extra if s is not None and registry.usable(s))]))


def route_turn(
    *,
    text: str,
    classification: Classification,
    turns_so_far: int,
    context_tokens: int,
    ai_agent: bool,
    config: AgentConfig,
    registry: ProviderRegistry | None,
    month_spend: Decimal,
    long_context_tokens: int,
) -> Route:
    """Offline or LLM, which model tier and chain, with the score and the reason."""
    score, factors = complexity_score(text=text, classification=classification, turns_so_far=turns_so_far)
    why = ",".join(factors)
    if not ai_agent:
        return Route("offline", score, "ai_agent_off")
    if registry is None or not registry.enabled:
        return Route("offline", score, "no_provider")
    if config.monthly_budget_usd is not None and month_spend >= config.monthly_budget_usd:
        return Route("offline", score, "budget_exhausted")
    primary = classification.primary
    if (
        config.offline_for_simple
        and primary.name in _OFFLINE_INTENTS
        and primary.confidence >= 0.85
        and score < SIMPLE_BELOW
    ):
        return Route("offline", score, f"simple:{primary.name}")
    if context_tokens >= long_context_tokens:
        chain = _long_context_chain(registry, config)
        return Route("llm", score, "long_context", "strong", chain)
    if score >= COMPLEX_FROM:
        model_tier: ModelTier = "strong"
        head = config.complex_model
    elif score < SIMPLE_BELOW:
        model_tier, head = "small", config.default_model
    else:
        model_tier, head = "standard", config.default_model
    chain = _chain(registry, model_tier, config, head=head)
    if not chain:
        return Route("offline", score, "no_model")
    tenant_model = bool(head) and chain[0].name == head
    reason = f"{model_tier}" + (f":{why}" if why else "") + (":tenant_model" if tenant_model else "")
    return Route("llm", score, reason, model_tier, chain)


def provider_chains(registry: ProviderRegistry, config: AgentConfig) -> dict[str, list[str]]:
    """The model chain each kind of turn would use for a tenant (for status output)."""
    return {
        "simple": [m.name for m in _chain(registry, "small", config, head=config.default_model)],
        "standard": [m.name for m in _chain(registry, "standard", config, head=config.default_model)],
        "complex": [m.name for m in _chain(registry, "strong", config, head=config.complex_model)],
        "long_context": [m.name for m in _long_context_chain(registry, config)],
    }
