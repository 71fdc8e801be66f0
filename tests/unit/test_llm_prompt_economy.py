"""What keeps the LLM tier's prompts small: tools by intent, compact schemas and results, a summary that
repeats nothing, a history window bounded in tokens, a stable prompt prefix."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from agents.classify import Classification, Intent
from agents.context import TenantContext
from agents.llm_agent import (
    HISTORY_TOKENS,
    history_for_model,
    nothing_found,
    system_prompt,
    turn_summary,
    turn_tools,
)
from agents.memory import ConversationMemory
from agents.tools import DOMAIN_TOOLS, GENERAL_TOOLS, Respond, brief_cars, tool_json, tool_schema, tools_for_turn
from app.catalog.schemas import CatalogFilters
from app.finance.service import FinanceTerms
from app.tenants.agent_config import AgentConfig

CAR = {"stock_id": "A1", "make": "Mazda", "model": "3", "year": 2019, "price": 265000.0, "km": 48000}
QUOTE = {"price": 265000, "down_payment": 26500, "term_months": 48, "monthly_payment": 7123.45}


def classification(*intents: tuple[str, float]) -> Classification:
    return Classification(intents=[Intent(n, c) for n, c in intents], filters=CatalogFilters(), reference=None)


def tenant(name: str = "Autos del Norte") -> TenantContext:
    terms = FinanceTerms(annual_rate=Decimal("0.139"), terms_months=[12, 48], min_down_payment_ratio=Decimal("0.1"))
    return TenantContext(id=uuid.uuid4(), slug="t", name=name, locale="es-MX", finance=terms)


# ============================================================================================ tools per intent


@pytest.mark.parametrize(
    ("intents", "tools"),
    [
        (["catalog"], ("search_catalog",)),
        (["finance"], ("quote_financing",)),
        (["info"], ("search_knowledge",)),
        (["finance", "catalog"], ("search_catalog", "quote_financing")),  # always in DOMAIN_TOOLS order
        (["greeting"], GENERAL_TOOLS),  # nothing a domain tool serves: the small general set, never nothing
        ([], GENERAL_TOOLS),
    ],
)
def test_each_intent_gets_its_tools_only(intents: list[str], tools: tuple[str, ...]) -> None:
    assert tools_for_turn(intents) == tools


def test_tools_whose_results_were_handed_over_stay_available() -> None:
    assert tools_for_turn(["catalog"], prefetched=["search_knowledge"]) == ("search_catalog", "search_knowledge")
    assert tools_for_turn(["catalog"], prefetched=["respond", "nope"]) == ("search_catalog",)


def test_the_general_set_quotes_only_when_a_quote_is_under_way() -> None:
    assert "quote_financing" not in tools_for_turn([])
    assert tools_for_turn([], quoting=True) == DOMAIN_TOOLS


def test_turn_tools_ignore_the_rules_catch_all_info() -> None:
    memory = ConversationMemory()
    # "info" at 0.5 is what the rules add when nothing specific matched: it does not pick a tool.
    assert turn_tools(classification(("catalog", 0.8), ("info", 0.5)), prefetched=[], memory=memory) == (
        "search_catalog",
    )
    assert turn_tools(classification(("info", 0.5)), prefetched=[], memory=memory) == GENERAL_TOOLS
    quoting = ConversationMemory(last_quote=QUOTE)
    assert turn_tools(classification(("info", 0.5)), prefetched=[], memory=quoting) == DOMAIN_TOOLS
    handed = [nothing_found("¿aceptan cripto?")]
    assert turn_tools(classification(("finance", 0.85)), prefetched=handed, memory=memory) == (
        "quote_financing",
        "search_knowledge",
    )


# ============================================================================================ compact schemas


@pytest.mark.parametrize("name", [*DOMAIN_TOOLS, "respond"])
def test_tool_schemas_are_compact(name: str) -> None:
    text = json.dumps(tool_schema(name))
    for noise in ('"title"', '"default"', '"maximum"', '"minLength"', '"anyOf"', '"$defs"', 'Properties": false'):
        assert noise not in text, noise
    assert len(text) <= 600


def test_respond_shows_one_intent_by_name_and_accepts_every_form() -> None:
    parameters = tool_schema("respond")["function"]["parameters"]
    assert sorted(parameters["properties"]) == ["confidence", "intent", "reply"]  # stock ids: read from the reply
    assert parameters["properties"]["intent"]["enum"] == ["catalog", "finance", "info", "handoff", "other"]
    one = Respond.model_validate({"reply": "Hola", "intent": "handoff", "confidence": 0.9})
    assert [(i.name, i.confidence) for i in one.intents] == [("handoff", 0.9)]
    named = Respond.model_validate({"reply": "Hola", "intents": ["handoff", "info"], "confidence": 0.8})
    assert [(i.name, i.confidence) for i in named.intents] == [("handoff", 0.8), ("info", 0.8)]
    scored = Respond.model_validate(
        {"reply": "Hola", "intents": [{"name": "catalog", "confidence": 0.4}], "confidence": 0.9}
    )
    assert [(i.name, i.confidence) for i in scored.intents] == [("catalog", 0.4)]


def test_the_catalog_limit_is_not_shown_but_still_checked() -> None:
    assert "limit" not in tool_schema("search_catalog")["function"]["parameters"]["properties"]


# ============================================================================================ compact results


def test_tool_results_are_compact_json() -> None:
    result = {"cars": [CAR], "entries": [{"id": "e1", "title": "Garantía", "content": "6 meses", "score": 0.9}]}
    text = tool_json(result)
    assert " " not in text.replace("6 meses", "")
    assert '"price":265000,' in text  # integral amounts without ".0"
    assert json.loads(text)["entries"] == [{"title": "Garantía", "content": "6 meses"}]  # no ids nor scores


def test_a_list_of_cars_keeps_only_the_columns_the_turn_is_about() -> None:
    cars = [
        {**CAR, "color": "Gris", "fuel": "Gasolina", "carplay": True},
        {**CAR, "stock_id": "A2", "color": "Rojo", "fuel": "Diésel", "carplay": False},
    ]
    brief = brief_cars({"cars": cars, "total_matches": 2}, mentioned="¿tienen alguno diésel con carplay?")
    assert brief["total_matches"] == 2
    assert [sorted(c) for c in brief["cars"]] == [sorted([*CAR, "fuel", "carplay"])] * 2
    assert brief_cars({"cars": cars}, mentioned="¿tienen Mazda 3?")["cars"][0] == CAR
    # One car (the one being discussed) keeps everything.
    assert brief_cars({"cars": cars[:1]}, mentioned="¿y ese?")["cars"] == cars[:1]


# ============================================================================================ summary and history


def test_the_turn_summary_repeats_nothing_the_results_carry() -> None:
    memory = ConversationMemory(shown=[CAR], focus="A1", last_quote=QUOTE, turns=3, topics=["catalog"])
    full = turn_summary(memory)
    assert "Cars shown last" in full and "Last financing quote" in full and "$265,000 (A1)" in full
    assert "being discussed" not in full  # the one car listed is the one discussed: said once
    assert "Customer language" not in full and "Turns so far" not in full  # the prompt says the language
    handed = [("search_catalog", {}, {"cars": [CAR]}), ("quote_financing", {}, {"quote": QUOTE})]
    assert turn_summary(memory, handed) == ""  # the one car handed over is the one discussed, with its quote
    other = {**CAR, "stock_id": "A2"}
    listed = [("search_catalog", {}, {"cars": [CAR, other]})]
    assert "- The car being discussed: stock id A1." in turn_summary(memory, listed)  # which of the list
    assert turn_summary(ConversationMemory()) == ""  # nothing yet: the prompt leaves the section out


def test_the_history_window_is_bounded_in_tokens_and_opens_with_the_customer() -> None:
    long = "x" * 1000
    messages = [m for i in range(10) for m in (HumanMessage(f"{i} {long}"), AIMessage(f"answer {i} {long}"))]
    window = history_for_model(messages)
    assert sum(len(str(m.content)) for m in window) <= HISTORY_TOKENS * 4
    assert window and isinstance(window[0], HumanMessage)
    assert window[-1].content.startswith("answer 9")  # the newest kept
    assert history_for_model(messages, budget_tokens=0) == []


# ============================================================================================ stable prefix


def test_the_prompt_prefix_is_stable_and_the_turn_context_comes_last() -> None:
    config = AgentConfig(agent_name="Sofía")

    business = tenant()

    def prompt(specialist: str, summary: str) -> str:
        return system_prompt(business, config, language="es", summary=summary, specialist=specialist)[0]

    first = prompt("catalog", "- Cars shown last, in order: 1) Mazda 3 2019.")
    second = prompt("info", "")
    common = next(i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b)
    # Everything but the specialist's guidance and the summary is the same text, in the same place.
    assert first[:common] == second[:common] and first[:common].rstrip().endswith("one short suggestion.")
    assert first.rstrip().endswith("1) Mazda 3 2019.")
    assert len(first) <= 1000
