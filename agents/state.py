"""The graph's state and the dependencies its nodes receive at run time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from agents.classify import Classification
from agents.context import TenantContext, TurnOutcome
from app.catalog.service import LoadedCatalog
from app.textnorm import Language


class TurnState(TypedDict, total=False):
    """Everything one turn accumulates on its way through the graph."""

    tenant: TenantContext
    text: str
    memory: dict[str, Any]
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
    outcome: TurnOutcome


@dataclass
class TurnDeps:
    """Run-time dependencies: a database session for reads, and persistence."""

    session: AsyncSession
    persist: Callable[[TurnOutcome], Awaitable[None]]
    knowledge_min_score: float
