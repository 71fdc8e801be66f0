"""The LLM tier's economy through the chat API, with the fake OpenAI server recording what it was sent:
one call on FAQ turns (no classifier call first), only the tools a turn's intents need, prompts within
their bound over a conversation, a bounded history — and grounding and handoff still work."""

from __future__ import annotations

import json
import math
from typing import Any

from agents.llm_agent import HISTORY_TOKENS
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.helpers import ai_tenant, chat, grounded, respond, tool_results

MEDIAN_PROMPT_TOKENS = 800  # the goal for a turn's prompt (issue 13)
MAX_PROMPT_TOKENS = 1000  # no single call far beyond it


def _tools(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools", [])]


def _answer_from_results(body: dict[str, Any]) -> Reply:
    """A model that answers from whatever it was handed, and says so when that is nothing."""
    entries = [e for r in tool_results(body) for e in r.get("entries", [])]
    if entries:
        return respond(str(entries[0]["content"]), intents=[("info", 0.9)])
    return (
        grounded(body)
        if any(r.get("cars") for r in tool_results(body))
        else respond("No tengo esa información; ¿te comunico con un asesor?", intents=[("info", 0.8)], confidence=0.8)
    )


def _prompt_tokens(body: dict[str, Any]) -> int:
    """The fake's own estimate (see tests.fakes.openai_server): message text, tool calls and tools."""
    chars = sum(len(m.get("content") or "") for m in body["messages"])
    for m in body["messages"]:
        for call in m.get("tool_calls") or []:
            chars += len(call["function"]["name"]) + len(call["function"]["arguments"])
    return math.ceil((chars + len(json.dumps(body["tools"]))) / 4)


async def test_a_catalog_turn_is_sent_only_the_catalog_tool(client: Any, openai_fake: FakeOpenAIServer) -> None:
    openai_fake.set_responder(grounded)
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "¿tienen Toyota Corolla?")
    assert reply["tier"] == "llm" and reply["usage"]["llm_calls"] == 1
    [request] = openai_fake.requests
    assert _tools(request.body) == ["respond", "search_catalog"]


async def test_a_car_and_a_quote_in_one_message_get_both_tools(client: Any, openai_fake: FakeOpenAIServer) -> None:
    openai_fake.set_responder(grounded)
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "¿tienen un Jetta 2019 y a cuánto quedaría a 48 meses?")
    assert reply["tier"] == "llm" and reply["usage"]["llm_calls"] == 1
    assert _tools(openai_fake.requests[0].body) == ["respond", "search_catalog", "quote_financing"]


async def test_a_faq_turn_is_one_call_with_the_knowledge_handed_over(
    client: Any, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.set_responder(_answer_from_results)
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "oye y de la garantía cómo le hacen con los autos?")
    assert reply["tier"] == "llm", reply
    # One call: no classifier call before the answer, no search the turn had already made.
    assert reply["usage"]["llm_calls"] == 1
    [request] = openai_fake.requests
    assert "IntentList" not in _tools(request.body)
    # The rules placed nothing, no car is in view and the business's texts answer it: the knowledge search only.
    assert _tools(request.body) == ["respond", "search_knowledge"]
    [result] = tool_results(request.body)
    assert result["entries"][0]["title"] == "Garantía" and "id" not in result["entries"][0]
    assert "6 meses" in reply["reply"] and reply["intent"] == "info"
    assert [s["title"] for s in reply["sources"]] == ["Garantía"]


async def test_a_question_nobody_wrote_down_is_still_one_call(client: Any, openai_fake: FakeOpenAIServer) -> None:
    openai_fake.set_responder(_answer_from_results)
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "¿aceptan pagos con criptomonedas?")
    assert reply["usage"]["llm_calls"] == 1
    [request] = openai_fake.requests
    # The search the turn already made, with nothing found, is handed over; the general tools stay offered.
    assert tool_results(request.body) == [{"entries": []}]
    assert _tools(request.body) == ["respond", "search_catalog", "search_knowledge"]
    assert "asesor" in reply["reply"]


async def test_the_answer_classifies_an_unplaced_turn_and_can_hand_off(
    client: Any, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.set_responder(
        lambda body: respond("Con gusto te comunico con un asesor.", intents=[("handoff", 0.9)], confidence=0.9)
    )
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "mejor lo vemos con alguien de ustedes más al rato")
    assert reply["usage"]["llm_calls"] == 1
    assert reply["handoff"] is True and reply["handoff_reason"] == "customer_request"


async def test_an_invented_amount_is_still_not_sent(client: Any, openai_fake: FakeOpenAIServer) -> None:
    openai_fake.set_responder(
        lambda body: Reply(tool_calls=respond("El Corolla está en $199,000.", intents=[("catalog", 0.9)]).tool_calls)
    )
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "¿tienen Toyota Corolla?")
    assert reply["tier"] == "offline" and reply["routing_reason"].endswith(";ungrounded")
    assert "199,000" not in reply["reply"]


async def test_prompts_stay_within_their_bound_over_a_conversation(client: Any, openai_fake: FakeOpenAIServer) -> None:
    openai_fake.set_responder(grounded)
    tenant = await ai_tenant(client)
    user = "economy-conversation"
    padding = " — te cuento que lo quiero para la familia, para ir al trabajo y para salir los fines de semana" * 3
    turns = [
        "¿tienen Toyota Corolla?" + padding,
        "¿y algo más barato?" + padding,
        "el primero a 48 meses",
        "¿y a 24?",
        "¿tienen Mazda 3?" + padding,
        "¿y el Jetta?",
    ]
    for text in turns:
        reply = await chat(client, tenant, text, user=user)
        assert reply["usage"]["llm_calls"] <= 1, (text, reply)
    assert openai_fake.requests
    sizes = sorted(_prompt_tokens(r.body) for r in openai_fake.requests)
    assert sizes[len(sizes) // 2] <= MEDIAN_PROMPT_TOKENS and sizes[-1] <= MAX_PROMPT_TOKENS, sizes
    for request in openai_fake.requests:
        body = request.body
        # The history window (everything between the system prompt and this turn's message) is bounded.
        last_user = max(i for i, m in enumerate(body["messages"]) if m["role"] == "user")
        history = body["messages"][1:last_user]
        assert sum(len(m.get("content") or "") for m in history) <= HISTORY_TOKENS * 4
        assert not history or history[0]["role"] == "user"
