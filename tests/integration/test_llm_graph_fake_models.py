"""The turn graph driven by fake chat models (no HTTP at all): the answer's intents classifying a turn
the rules could not place, multi-intent results, tool calls through the domain functions, and the
per-call records."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from sqlalchemy import select

from app.core.db import session_scope
from app.llm.health import CircuitPolicy, HealthBoard
from app.llm.models import load_model_table
from app.llm.providers import LLMLimits, ProviderRegistry, set_registry
from app.usage.models import LLMCallRecord
from tests.fakes.chat_models import ScriptedChatModel, factory_for, tool_call
from tests.helpers import make_tenant

CARS = """stock_id,make,model,year,price,km,version
T1,Toyota,Sienna,2021,690000,40000,XLE
T2,Toyota,Corolla,2020,320000,35000,LE
H1,Honda,Odyssey,2019,560000,60000,Touring
"""


@pytest.fixture
def model() -> Iterator[ScriptedChatModel]:
    fake = ScriptedChatModel()
    registry = ProviderRegistry(
        table=load_model_table(),
        configured=frozenset({"openai"}),
        factory=factory_for({"gpt-4o-mini": fake, "gpt-4.1-mini": fake, "gpt-4.1": fake}),
        board=HealthBoard(CircuitPolicy()),
        limits=LLMLimits(timeout_seconds=2.0, max_retries=0, retry_base_seconds=0.0),
    )
    set_registry(registry)
    try:
        yield fake
    finally:
        set_registry(None)


def _tool_results(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    return [json.loads(str(m.content)) for m in messages if isinstance(m, ToolMessage)]


def _respond_from_results(messages: list[BaseMessage]) -> AIMessage:
    # The cars of the latest result that had any (the specialist's own search, not the prefetch).
    cars = next((r["cars"] for r in reversed(_tool_results(messages)) if r.get("cars")), [])
    quotes = [q for r in _tool_results(messages) for q in r.get("quotes", [])]
    lines = [f"{c['make']} {c['model']} {c['year']}: ${c['price']:,.0f}" for c in cars]
    if quotes:
        q = quotes[0]
        lines.append(f"Desde ${q['monthly_payment']:,.2f} al mes a {q['term_months']} meses.")
    return tool_call(
        "respond",
        {
            "reply": "\n".join(lines),
            "intents": [{"name": "catalog", "confidence": 0.8}, {"name": "finance", "confidence": 0.7}],
            "confidence": 0.8,
            "stock_ids": [c["stock_id"] for c in cars],
        },
        tokens=(900, 60),
    )


async def test_unsure_rules_let_the_answer_classify_and_the_specialist_calls_tools(
    client: Any, model: ScriptedChatModel
) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS, flags={"ai_agent": True})
    model.script = [
        # 1. No classifier call: the specialist searches the catalog and asks for every term of a quote.
        lambda messages: tool_call(
            "search_catalog", {"make": "Toyota", "model": "Sienna", "limit": 1}, tokens=(800, 40)
        ),
        lambda messages: tool_call("quote_financing", {"stock_id": "T1"}, tokens=(850, 40)),
        # 2. The final answer, built from the tool results it was sent; its intents classify the turn.
        _respond_from_results,
    ]
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/chat",
        json={"user": f"u-{uuid.uuid4().hex[:8]}", "text": "somos cinco en casa y queremos estrenar algo grande"},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["tier"] == "llm"
    assert [i["name"] for i in reply["intents"]] == ["catalog", "finance"]
    assert "Toyota Sienna 2021: $690,000" in reply["reply"] and "al mes a 12 meses" in reply["reply"]
    assert reply["items"] == ["T1"]
    assert reply["usage"] == {
        "llm_calls": 3,
        "input_tokens": 2550,
        "output_tokens": 140,
        "cost_usd": pytest.approx((2550 * 0.15 + 140 * 0.60) / 1_000_000, abs=1e-6),
    }
    # The model had the business in its system prompt and only the customer's text as user input.
    first = model.calls[0]
    assert isinstance(first[0], SystemMessage) and "Dealer" in str(first[0].content)
    assert "<customer_message>" in str([m for m in first if isinstance(m, HumanMessage)][-1].content)
    # The knowledge search the turn already made (nothing found) was handed over, not left to a second call.
    assert _tool_results(first) == [{"entries": []}]
    # The quote used the catalog's price for T1.
    quote_result = _tool_results(model.calls[2])[-1]
    assert quote_result["car"]["stock_id"] == "T1" and quote_result["quotes"][0]["price"] == 690000
    async with session_scope() as session:
        rows = list(
            (
                await session.execute(
                    select(LLMCallRecord)
                    .where(LLMCallRecord.tenant_id == uuid.UUID(tenant.id))
                    .order_by(LLMCallRecord.id)
                )
            ).scalars()
        )
    assert [row.purpose for row in rows] == ["agent", "agent", "agent"]
    assert all(row.success and row.model == "gpt-4o-mini" for row in rows)


async def test_a_model_error_that_is_not_retryable_moves_to_the_next_model(
    client: Any, model: ScriptedChatModel
) -> None:
    from tests.fakes.chat_models import ProviderError

    tenant = await make_tenant(client, catalog_csv=CARS, flags={"ai_agent": True})
    model.script = [ProviderError(400, "bad request"), _respond_from_results]
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/chat",
        json={"user": f"u-{uuid.uuid4().hex[:8]}", "text": "¿tienen Toyota Corolla?"},
        headers=tenant.headers,
    )
    reply = r.json()
    assert reply["tier"] == "llm" and reply["model"] == "gpt-4.1-mini"
    assert "Toyota Corolla 2020: $320,000" in reply["reply"]
    assert model.call_count == 2
