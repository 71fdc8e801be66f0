"""The LLM tier's compact tool forms through the chat API, with the fake OpenAI server as the model: a turn
that already carries results is offered ``search_catalog`` as a query in words (read by the offline tier's
parser), ``respond`` asks only for the reply, one intent and a confidence (the cars shown are read from the
reply); a turn whose searches found nothing keeps the full form."""

from __future__ import annotations

from typing import Any

from agents.llm_agent import MAX_COMPLETION_TOKENS
from tests.fakes.openai_server import FakeOpenAIServer, Reply, tool_call
from tests.helpers import ai_tenant, chat, tool_results


def _schema(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t["function"] for t in body["tools"] if t["function"]["name"] == name)


async def test_a_search_by_query_in_words_and_a_reply_without_stock_ids(
    client: Any, openai_fake: FakeOpenAIServer
) -> None:
    def model(body: dict[str, Any]) -> Reply:
        results = tool_results(body)
        if len(results) == 1:  # only the offline tier's Corolla: the model looks for the Jetta too
            return tool_call("search_catalog", {"query": "Jetta 2019"})
        cars = results[-1]["cars"]
        lines = [f"{c['make']} {c['model']} {c['year']}: ${c['price']:,.0f}" for c in cars]
        return tool_call("respond", {"reply": "\n".join(lines), "intent": "catalog", "confidence": 0.9})

    openai_fake.set_responder(model)
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "¿tienen Toyota Corolla?")
    first, second = (r.body for r in openai_fake.requests)
    # The turn carried the offline search's cars: the catalog search is offered in its compact form.
    assert list(_schema(first, "search_catalog")["parameters"]["properties"]) == ["query"]
    assert sorted(_schema(first, "respond")["parameters"]["properties"]) == ["confidence", "intent", "reply"]
    assert first.get("max_tokens", first.get("max_completion_tokens")) == MAX_COMPLETION_TOKENS, sorted(first)
    # The query was read like a customer's message: the Jetta 2019, from the tenant's own catalog.
    assert [c["stock_id"] for c in tool_results(second)[-1]["cars"]] == ["A4"]
    assert reply["tier"] == "llm" and "Volkswagen Jetta 2019: $289,000" in reply["reply"]
    assert reply["intent"] == "catalog" and reply["usage"]["llm_calls"] == 2
    assert reply["items"] == ["A4"]  # read from the reply: the model was not asked for stock ids


async def test_a_turn_whose_searches_found_nothing_keeps_the_full_catalog_search(
    client: Any, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.set_responder(
        lambda body: tool_call(
            "respond", {"reply": "No lo sé; ¿te comunico con un asesor?", "intent": "info", "confidence": 0.8}
        )
    )
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "¿aceptan pagos con criptomonedas?")
    [request] = openai_fake.requests
    assert tool_results(request.body) == [{"entries": []}]
    assert {"make", "price_max", "sort"} <= set(_schema(request.body, "search_catalog")["parameters"]["properties"])
    assert reply["tier"] == "llm" and reply["intent"] == "info" and reply["usage"]["llm_calls"] == 1
