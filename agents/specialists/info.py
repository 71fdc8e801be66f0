"""Info specialist: answers from the tenant's knowledge base, never invents."""

from __future__ import annotations

from typing import Any

from agents.replies import say
from agents.state import TurnDeps, TurnState
from app.knowledge import service as knowledge_service


async def answer_info(state: TurnState, deps: TurnDeps) -> dict[str, Any]:
    """Best knowledge entry above the score threshold, preferring the customer's language; else offer a human."""
    tenant = state["tenant"]
    language = state["language"]
    hits = await knowledge_service.search_knowledge(
        deps.session, tenant_id=tenant.id, query=state["text"], language=language, limit=5
    )
    good = [h for h in hits if h.score >= deps.knowledge_min_score]
    if not good:
        memory = {**state["memory"], "offered_handoff": True}
        return {"agent": "info", "intent": "info", "reply": say("knowledge_not_found", language), "memory": memory}
    best = good[0]
    # Entries come in both languages: take the customer's when it scores close to the best.
    same_language = [h for h in good if h.language == language and h.score >= best.score * 0.75]
    chosen = same_language[0] if same_language else best
    return {
        "agent": "info",
        "intent": "info",
        "reply": chosen.content,
        "sources": [{"id": str(chosen.id), "title": chosen.title}],
    }
