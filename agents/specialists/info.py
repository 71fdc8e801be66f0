"""Info specialist: answers from the tenant's knowledge base, never invents."""

from __future__ import annotations

import re
from typing import Any

from agents.state import TurnDeps, TurnState, TurnUpdate
from app.knowledge import service as knowledge_service
from app.knowledge.schemas import KnowledgeHit
from app.text.normalize import fold, known_words, words
from app.text.wording import say

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


async def search_for_info(state: TurnState, deps: TurnDeps) -> list[KnowledgeHit]:
    """The knowledge entries the customer's message finds, above the tenant's evidence threshold."""
    return await knowledge_service.search_knowledge(
        deps.session,
        tenant_id=state["tenant"].id,
        query=state["text"],
        language=state["language"],
        limit=5,
        min_score=deps.knowledge_min_score,
    )


async def answer_info(state: TurnState, deps: TurnDeps) -> TurnUpdate:
    """Best knowledge entry above the score threshold, preferring the customer's language; else offer a human."""
    tenant = state["tenant"]
    language = state["language"]
    text = state["text"]
    good = state.get("knowledge_hits")
    if good is None:
        good = await search_for_info(state, deps)
    if not good:
        if _acknowledges(text):
            return {"agent": "smalltalk", "intent": "acknowledge", "reply": say("acknowledge", language)}
        if not _asks_something(text):
            values: dict[str, Any] = {"agent_name": tenant.persona.get("agent_name", "Ana"), "business": tenant.name}
            return {"agent": "smalltalk", "intent": "unknown", "reply": say("fallback", language, **values)}
        memory = state["memory"].model_copy(update={"offered_handoff": True})
        return {"agent": "info", "intent": "info", "reply": say("knowledge_not_found", language), "memory": memory}
    best = good[0]
    # Entries come in both languages: take the customer's when its evidence is close to the best's.
    same_language = [h for h in good if h.language == language and _close_to(h, best)]
    chosen = same_language[0] if same_language else best
    update: TurnUpdate = {
        "agent": "info",
        "intent": "info",
        "reply": chosen.content,
        "sources": [{"id": str(chosen.id), "title": chosen.title}],
    }
    if best.close_match and chosen is best:
        update["faq_fast_path"] = True  # the curated text is the answer: no LLM call
    return update


def _close_to(hit: KnowledgeHit, best: KnowledgeHit) -> bool:
    if hit is best:
        return True
    lexical = hit.lexical_score is not None and hit.lexical_score >= (best.lexical_score or 0.0) * 0.75
    semantic = hit.similarity is not None and hit.similarity >= (best.similarity or 0.0) - 0.05
    return lexical or semantic
