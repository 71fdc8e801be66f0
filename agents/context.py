"""What the orchestrator is given and what it returns; plain data, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.memory import ConversationMemory
from app.finance.service import FinanceTerms
from app.llm.invoke import LLMStats
from app.tenants.agent_config import AgentConfig
from app.text.normalize import Language

Agent = Literal["info", "catalog", "finance", "concierge", "booking", "handoff", "smalltalk"]


@dataclass(frozen=True)
class TenantContext:
    """The tenant facts a turn needs, detached from the database session."""

    id: uuid.UUID
    slug: str
    name: str
    locale: str
    finance: FinanceTerms
    persona: dict[str, str] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)
    agent: AgentConfig = field(default_factory=AgentConfig)
    timezone: str = "America/Mexico_City"  # the tenant's: business hours of its handoff policy are local

    @property
    def ai_agent(self) -> bool:
        """Whether the tenant switched the LLM tiers on (``flags.ai_agent``)."""
        return bool(self.flags.get("ai_agent", False))

    @property
    def default_language(self) -> Language:
        """The tenant's language when the customer's is unclear."""
        return "en" if self.locale.lower().startswith("en") else "es"


@dataclass
class TurnOutcome:
    """The structured result of one turn; the reply text is derived from these facts, never the reverse."""

    reply: str
    intent: str
    agent: Agent
    tier: str
    language: Language
    handoff: bool = False
    items: list[str] = field(default_factory=list)
    quote: dict[str, Any] | None = None
    sources: list[dict[str, str]] = field(default_factory=list)
    memory: ConversationMemory = field(default_factory=ConversationMemory)
    handoff_reason: str | None = None
    intents: list[dict[str, Any]] = field(default_factory=list)
    confidence: float | None = None
    model: str | None = None
    complexity: float | None = None
    routing_reason: str | None = None
    prompt_version: str | None = None
    llm: LLMStats = field(default_factory=LLMStats)
    routing_ms: float = 0.0
