"""Every LLM turn's first call carries what the offline tier determined, so a capable model answers in one
call: the car named or the closest in stock, "which of these cars?", "the data does not record that",
"none cheaper"; a quote carries its car (no catalog search offered only to name it); an FAQ turn with no
car in view is offered the knowledge search alone."""

from __future__ import annotations

from typing import Any

from tests.fakes.openai_server import FakeOpenAIServer, Reply, tool_call
from tests.helpers import ai_tenant, chat, respond, tool_results


def _tools(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools", [])]


def _model(body: dict[str, Any]) -> Reply:
    """A model that searches the business's texts when it was handed nothing, else answers from its results."""
    results = tool_results(body)
    if not results:
        return tool_call("search_knowledge", {"query": "?"})
    lines = [f"{c['make']} {c['model']} {c['year']}: ${c['price']:,.0f}" for r in results for c in r.get("cars", [])]
    lines += [str(r["note"]) for r in results if r.get("note")]
    lines += [
        f"{r['quote']['term_months']} meses: ${r['quote']['monthly_payment']:,.2f}" for r in results if "quote" in r
    ]
    lines += [str(e["content"]) for r in results for e in r.get("entries", [])]
    return respond("\n".join(lines) or "¿Te comunico con un asesor?", intents=[("catalog", 0.9)])


async def test_a_car_not_in_stock_with_a_quote_gets_the_closest_in_one_call(
    client: Any, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.set_responder(_model)
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "¿tienen un Jetta 2015 y a cuánto quedaría a 48 meses?")
    assert reply["tier"] == "llm" and reply["usage"]["llm_calls"] == 1, reply
    [request] = openai_fake.requests
    search = tool_results(request.body)[0]
    # The catalog search for the car named: no 2015 Jetta, the closest one, and what was relaxed.
    assert [c["stock_id"] for c in search["cars"]] == ["A4"] and search["relaxed"]
    assert "Volkswagen Jetta 2019: $289,000" in reply["reply"]


async def test_which_car_to_quote_is_handed_over_as_the_offline_answer(
    client: Any, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.set_responder(_model)
    tenant = await ai_tenant(client)
    user = "precomputed-which"
    first = await chat(client, tenant, "¿tienen autos automáticos?", user=user)
    assert len(first["items"]) > 1, first
    seen = openai_fake.request_count
    reply = await chat(client, tenant, "¿y a 72 meses con 100 mil de enganche?", user=user)
    assert reply["usage"]["llm_calls"] == 1, reply
    [request] = openai_fake.requests[seen:]
    [result] = tool_results(request.body)
    # The finance rules' own question ("¿Cuál de estos te cotizo?") with the cars in view, no tool round.
    assert "note" in result and "$265,000" in result["note"]
    assert "$265,000" in reply["reply"] and reply["tier"] == "llm"


async def test_what_the_catalog_does_not_record_is_said_in_one_call(client: Any, openai_fake: FakeOpenAIServer) -> None:
    openai_fake.set_responder(_model)
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "necesito un auto familiar de 7 pasajeros")
    assert reply["usage"]["llm_calls"] == 1, reply
    [request] = openai_fake.requests
    [result] = tool_results(request.body)
    assert "pasajeros" in result["note"]
    # Handed a determination, the catalog search is offered in its compact form.
    schema = next(t["function"] for t in request.body["tools"] if t["function"]["name"] == "search_catalog")
    assert list(schema["parameters"]["properties"]) == ["query"]


async def test_a_quote_carries_its_car_and_is_offered_only_the_quote_tool(
    client: Any, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.set_responder(_model)
    tenant = await ai_tenant(client)
    user = "precomputed-quote"
    await chat(client, tenant, "¿tienen Mazda 3?", user=user)
    await chat(client, tenant, "a 48 meses", user=user)
    seen = openai_fake.request_count
    reply = await chat(client, tenant, "¿y a 24?", user=user)
    assert reply["usage"]["llm_calls"] == 1, reply
    [request] = openai_fake.requests[seen:]
    assert _tools(request.body) == ["respond", "quote_financing"]
    [result] = tool_results(request.body)
    assert result["quote"]["term_months"] == 24 and [c["stock_id"] for c in result["cars"]] == ["A1"]
    call = next(m for m in request.body["messages"] if m.get("tool_calls"))["tool_calls"][0]["function"]
    assert call["name"] == "quote_financing" and '"stock_id": "A1"' in call["arguments"]
    assert reply["quote"]["term_months"] == 24 and reply["items"] == ["A1"]


async def test_an_faq_with_no_car_in_view_is_offered_the_knowledge_search_alone(
    client: Any, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.set_responder(_model)
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "oye y de la garantía cómo le hacen con los autos?")
    assert reply["usage"]["llm_calls"] == 1, reply
    [request] = openai_fake.requests
    assert _tools(request.body) == ["respond", "search_knowledge"]
    assert "6 meses" in reply["reply"] and reply["tier"] == "llm"
