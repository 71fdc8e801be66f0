"""Info specialist: answers from the tenant's knowledge base, never invents."""

from __future__ import annotations

import re
from typing import Any

from agents.replies import say
from agents.state import TurnDeps, TurnState
from app.knowledge import service as knowledge_service
from app.textnorm import fold, known_words, words

# "ok", "va", "no", "👍": the customer acknowledges; there is nothing to look up.
_ACKNOWLEDGEMENTS = frozenset(
    {
        "ok",
        "okay",
        "oki",
        "va",
        "vale",
        "sale",
        "no",
        "nop",
        "nel",
        "bien",
        "perfecto",
        "listo",
        "entendido",
        "excelente",
        "genial",
        "bueno",
        "ah",
        "aja",
        "mmm",
        "nope",
        "fine",
        "great",
        "cool",
        "alright",
        "got",
        "it",
        "understood",
        "k",
        "kk",
        "nah",
        "gotcha",
        "sounds",
        "good",
        "si",
        "sip",
        "yes",
        "yep",
        "claro",
        "sure",
    }
)
_QUESTION = re.compile(r"[?¿]")


def _acknowledges(text: str) -> bool:
    tokens = words(text)
    return all(t in _ACKNOWLEDGEMENTS for t in tokens) and len(tokens) <= 4


def _asks_something(text: str) -> bool:
    """A question or a message with real words, as opposed to "asdfgh qwerty"."""
    return bool(_QUESTION.search(text) or known_words(fold(text)))


async def answer_info(state: TurnState, deps: TurnDeps) -> dict[str, Any]:
    """Best knowledge entry above the score threshold, preferring the customer's language; else offer a human."""
    tenant = state["tenant"]
    language = state["language"]
    text = state["text"]
    good = await knowledge_service.search_knowledge(
        deps.session, tenant_id=tenant.id, query=text, language=language, limit=5, min_score=deps.knowledge_min_score
    )
    if not good:
        if _acknowledges(text):
            return {"agent": "smalltalk", "intent": "acknowledge", "reply": say("acknowledge", language)}
        if not _asks_something(text):
            values = {"agent_name": tenant.persona.get("agent_name", "Ana"), "business": tenant.name}
            return {"agent": "smalltalk", "intent": "unknown", "reply": say("fallback", language, **values)}
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
