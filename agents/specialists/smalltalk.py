"""Greeting, help, thanks, handoff and the polite fallback."""

from __future__ import annotations

from typing import Any

from agents.state import TurnState, TurnUpdate
from app.text.wording import say


def _persona_values(state: TurnState) -> dict[str, Any]:
    tenant = state["tenant"]
    return {"agent_name": tenant.persona.get("agent_name", "Ana"), "business": tenant.name}


def answer_smalltalk(state: TurnState) -> TurnUpdate:
    """Canned but persona-aware answers for greeting, help, thanks and anything unrecognised."""
    intent = state["intent"]
    language = state["language"]
    tenant = state["tenant"]
    if intent == "greeting":
        custom = tenant.persona.get(f"greeting_{language}")
        reply = custom or say("greeting", language, **_persona_values(state))
    elif intent in {"help", "thanks"}:
        reply = say(intent, language)
    else:
        reply = say("fallback", language, **_persona_values(state))
    return {"agent": "smalltalk", "reply": reply}


def answer_handoff(state: TurnState) -> TurnUpdate:
    """Mark the conversation handed off; the bot stays silent until released."""
    memory = state["memory"].model_copy(update={"offered_handoff": False})
    return {
        "agent": "handoff",
        "intent": "handoff",
        "handoff": True,
        "reply": say("handoff", state["language"], business=state["tenant"].name),
        "memory": memory,
    }
