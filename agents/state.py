"""The graph's state, the updates its nodes return, and the dependencies they receive as runtime context.

LangSmith records the state as every node's inputs: keep it to what the turn decided, and give each
bulky type in it a short trace view (ids, scores) below. Heavy, shared objects belong in ``TurnDeps``.
"""

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
from app.llm.tracing import trace_view
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
    # Per-turn cache, filled by load_context. The catalog (a DataFrame of every car) stays out of the
    # graph state: LangSmith records the state as every node's inputs, so it would be sent ten times a turn.
    catalog: LoadedCatalog | None = None

    def stock(self) -> LoadedCatalog:
        """The tenant's catalog as load_context loaded it for this turn."""
        if self.catalog is None:
            raise RuntimeError("the catalog is read before load_context loaded it")
        return self.catalog


# How the state's bulky values appear in traces: ids and the facts decided on, never whole texts or tables.


@trace_view.register
def _tenant_view(tenant: TenantContext) -> dict[str, Any]:
    return {"id": str(tenant.id), "slug": tenant.slug, "ai_agent": tenant.ai_agent}


@trace_view.register
def _hit_view(hit: KnowledgeHit) -> dict[str, Any]:
    return {
        "id": str(hit.id),
        "chunk_id": str(hit.chunk_id) if hit.chunk_id else None,
        "title": hit.title,
        "language": hit.language,
        "score": hit.score,
        "lexical_score": hit.lexical_score,
        "similarity": hit.similarity,
        "close_match": hit.close_match,
    }


@trace_view.register
def _catalog_view(catalog: LoadedCatalog) -> dict[str, Any]:
    return {"version": catalog.version, "cars": len(catalog.frame)}


@trace_view.register
def _outcome_view(outcome: TurnOutcome) -> dict[str, Any]:
    # The memory is in the state next to it; the rest is what the turn decided.
    return {f: trace_view(getattr(outcome, f)) for f in outcome.__dataclass_fields__ if f != "memory"}
