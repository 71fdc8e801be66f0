"""Greeting, help, thanks, complaints, handoff and the polite fallback."""

from __future__ import annotations

from typing import Any

from agents.state import TurnState, TurnUpdate
from app.operators.policy import after_hours_reply
from app.text.answers import declines_contact, is_closing
from app.text.complaints import is_complaint
from app.text.variety import say_varied
from app.text.wording import say


def _persona_values(state: TurnState) -> dict[str, Any]:
    tenant = state["tenant"]
    return {"agent_name": tenant.persona.get("agent_name", "Ana"), "business": tenant.name}


def answer_smalltalk(state: TurnState) -> TurnUpdate:
    """Canned but persona-aware answers for greeting, help, thanks, complaints and anything unrecognised.

    A sentence already sent in this conversation is said another way (``say_varied``).
    """
    intent = state["intent"]
    language = state["language"]
    tenant = state["tenant"]
    said = state["memory"].replies
    if intent == "greeting":
        custom = tenant.persona.get(f"greeting_{language}")
        reply = custom or say("greeting", language, **_persona_values(state))
    elif intent == "complaint":
        # An apology and a person, never thanks: a "sí" next turn accepts the offer.
        memory = state["memory"].model_copy(update={"offered_handoff": True})
        reply = say_varied("complaint", language, avoid=said, business=tenant.name)
        return {"agent": "smalltalk", "reply": reply, "memory": memory}
    elif intent == "identity":
        # "¿eres un robot?": a virtual assistant, said so, and a person offered ("sí" accepts).
        memory = state["memory"].model_copy(update={"offered_handoff": True})
        reply = say("identity", language, **_persona_values(state))
        return {"agent": "smalltalk", "reply": reply, "memory": memory}
    elif intent == "negotiate":
        # "¿me lo dejan en 470?": the price is the business's to move; a person is offered ("sí" accepts).
        memory = state["memory"].model_copy(update={"offered_handoff": True})
        reply = say_varied("negotiate", language, avoid=said, business=tenant.name)
        return {"agent": "smalltalk", "reply": reply, "memory": memory}
    elif intent == "thanks" and declines_contact(state["text"]):
        # No calls: said back plainly, the chat goes on here (and no person is offered).
        memory = state["memory"].model_copy(update={"offered_handoff": False})
        return {"agent": "smalltalk", "reply": say_varied("no_calls", language, avoid=said), "memory": memory}
    elif intent == "thanks" and is_closing(state["text"]):
        reply = say_varied("closing", language, avoid=said)
    elif intent in {"help", "thanks"}:
        reply = say_varied(intent, language, avoid=said)
    else:
        reply = say_varied("fallback", language, avoid=said, **_persona_values(state))
    return {"agent": "smalltalk", "reply": reply}


def answer_handoff(state: TurnState) -> TurnUpdate:
    """Mark the conversation handed off; the bot stays silent until released."""
    memory = state["memory"].model_copy(update={"offered_handoff": False})
    tenant = state["tenant"]
    language = state["language"]
    # Outside business hours: when a person will answer, and the bot keeps helping meanwhile.
    reply = after_hours_reply(
        tenant.agent.handoff_policy, tenant.timezone, language=language, business=tenant.name
    ) or say("handoff", language, business=tenant.name)
    if is_complaint(state["text"]):
        reply = f"{say('handoff_apology', language)} {reply}"
    return {"agent": "handoff", "intent": "handoff", "handoff": True, "reply": reply, "memory": memory}
