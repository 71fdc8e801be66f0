"""The graph's state, the updates its nodes return, and the dependencies they receive as runtime context."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from langchain_core.messages import BaseMessage
from sqlalchemy.ext.asyncio import AsyncSession

from agents.classify import Classification
from agents.context import TenantContext, TurnOutcome
from agents.memory import ConversationMemory
from agents.routing import Route
from app.catalog.service import LoadedCatalog
from app.knowledge.schemas import KnowledgeHit
from app.llm.invoke import LLMStats
from app.llm.providers import ProviderRegistry
from app.text.normalize import Language


class TurnInput(TypedDict):
    """What a turn starts from: the tenant and the customer's message."""

    tenant: TenantContext
    text: str


class TurnUpdate(TypedDict, total=False):
    """The keys a node may set; each node returns only the ones it decided."""

    memory: ConversationMemory
    offered_handoff: bool
    language: Language
    catalog: LoadedCatalog
    classification: Classification
    intent: str
    agent: str
    tier: str
    reply: str
    handoff: bool
    items: list[str]
    quote: dict[str, Any] | None
    sources: list[dict[str, str]]
    knowledge_hits: list[KnowledgeHit]  # the search the router already ran for this message (reused)
    faq_fast_path: bool  # the info agent found a curated FAQ so close its text is the answer (no LLM call)
    quotes: list[dict[str, Any]]
    outcome: TurnOutcome
    route: Route
    routing_ms: float
    llm: LLMStats
    handoff_reason: str | None
    intents: list[dict[str, Any]]
    confidence: float | None
    model: str | None
    prompt_version: str | None


class TurnState(TurnInput, TurnUpdate, total=False):
    """Everything one turn accumulates on its way through the graph."""


@dataclass
class TurnDeps:
    """Run-time dependencies: a database session for reads, persistence, the LLM providers (if any).

    Nodes receive them as LangGraph's runtime context (``Runtime[TurnDeps]``), not through the config.
    """

    session: AsyncSession
    persist: Callable[[TurnOutcome], Awaitable[None]]
    knowledge_min_score: float
    llm: ProviderRegistry | None = None
    # The last ``n`` chat-history messages of this customer (the LLM tier reads a bounded window).
    history: Callable[[int], Awaitable[list[BaseMessage]]] | None = None
    history_messages: int = 6
    long_context_tokens: int = 12_000
    conversation_id: uuid.UUID | None = None
    customer: str | None = None
    # Features decided for this customer at the start of the turn (flags, allowlist, percentage, kill switch).
    features: dict[str, bool] = field(default_factory=dict)
    # What came with the message: media (Twilio MediaUrl/ContentType) and a shared location pin.
    media: list[dict[str, Any]] = field(default_factory=list)
    pin: tuple[float, float] | None = None
