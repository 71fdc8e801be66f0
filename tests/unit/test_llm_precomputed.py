"""What an LLM turn is handed besides the offline tier's cars, quote and passage (``precomputed``): what the
rules determined when they found none of those, a quote that carries its car, a policy passage without the
car part of the offline answer, and what an inexact car list is."""

from __future__ import annotations

from typing import Any, cast

from agents.classify import Classification, Intent
from agents.llm_agent import precomputed, turn_summary
from agents.memory import ConversationMemory
from agents.state import TurnState
from app.catalog.schemas import CatalogFilters
from app.catalog.service import LoadedCatalog

CAR = {"stock_id": "A1", "make": "Mazda", "model": "3", "year": 2019, "price": 265000.0, "km": 48000}
QUOTE = {"price": 265000.0, "down_payment": 26500.0, "term_months": 48, "monthly_payment": 7123.45}
NO_CATALOG = cast(LoadedCatalog, None)  # none of these turns searches the catalog


def state(agent: str, reply: str, *, memory: ConversationMemory | None = None, **extra: Any) -> TurnState:
    classification = Classification(intents=[Intent(agent, 0.85)], filters=CatalogFilters(), reference=None)
    values = {
        "text": "¿y a 72 meses?",
        "agent": agent,
        "reply": reply,
        "classification": classification,
        "memory": memory or ConversationMemory(),
        **extra,
    }
    return cast(TurnState, values)


def test_which_car_to_quote_is_handed_over_as_a_note() -> None:
    question = "¿Cuál de estos te cotizo?\n1. Mazda 3 2019 — $265,000\n2. Nissan Versa 2018 — $189,999"
    found = precomputed(state("finance", question), NO_CATALOG, [])
    assert found == [("quote_financing", {}, {"note": question})]


def test_a_catalog_turn_without_cars_hands_over_what_the_rules_said() -> None:
    none = "Esos ya son los más económicos: no hay autos por debajo de $72,900."
    assert precomputed(state("catalog", none), NO_CATALOG, []) == [("search_catalog", {}, {"note": none})]


def test_a_turn_with_its_results_gets_no_note() -> None:
    cars = [("search_catalog", {"make": "Mazda"}, {"cars": [CAR]})]
    assert precomputed(state("catalog", "1. Mazda 3 2019 — $265,000"), NO_CATALOG, list(cars)) == cars


def test_an_info_turn_that_found_nothing_says_so() -> None:
    found = precomputed(state("info", "No tengo ese dato."), NO_CATALOG, [])
    assert found == [("search_knowledge", {"query": "¿y a 72 meses?"}, {"entries": []})]


def test_a_quote_carries_its_car_and_is_called_by_stock_id() -> None:
    found = [
        ("search_catalog", {"make": "Mazda"}, {"cars": [CAR]}),
        ("quote_financing", {"price": 265000.0, "term_months": 48}, {"quote": QUOTE}),
    ]
    merged = precomputed(state("finance", "Para el Mazda 3…"), NO_CATALOG, found)
    assert merged == [("quote_financing", {"stock_id": "A1", "term_months": 48}, {"quote": QUOTE, "cars": [CAR]})]
    # The one car handed over is the one discussed: the summary does not repeat it.
    assert turn_summary(ConversationMemory(shown=[CAR], focus="A1", last_quote=QUOTE), merged) == ""


def test_a_quote_for_another_price_keeps_both_results() -> None:
    found = [
        ("search_catalog", {}, {"cars": [CAR]}),
        ("quote_financing", {"price": 250000.0}, {"quote": {**QUOTE, "price": 250000.0}}),
    ]
    assert precomputed(state("finance", "…"), NO_CATALOG, list(found)) == found


def test_a_policy_passage_is_sent_without_the_car_part_and_the_car_part_once() -> None:
    reply = "¿Cuál de estos te cotizo?\n1. Mazda 3 2019 — $265,000\n\nPara solicitar crédito necesitas tu INE."
    entries = {"entries": [{"id": "k1", "title": "Documentos", "content": reply}]}
    found = precomputed(
        state("finance", reply, sources=[{"id": "k1", "title": "Documentos"}]),
        NO_CATALOG,
        [("search_knowledge", {"query": "documentos"}, entries)],
    )
    assert found[0][2]["entries"][0]["content"] == "Para solicitar crédito necesitas tu INE."
    assert found[1] == ("quote_financing", {}, {"note": "¿Cuál de estos te cotizo?\n1. Mazda 3 2019 — $265,000"})


def test_a_list_that_does_not_meet_everything_says_so() -> None:
    reply = (
        "No tengo autos que cumplan todo lo que pediste (año 2020 en adelante). Estas son las más cercanas:\n"
        "1. Mazda 3 2019 — $265,000 MXN · 48,000 km (A1)\nPregunta por cualquiera."
    )
    inexact = ConversationMemory(shown=[CAR], last_exact=False)
    [(_, _, result)] = precomputed(
        state("catalog", reply, memory=inexact), NO_CATALOG, [("search_catalog", {}, {"cars": [CAR]})]
    )
    assert result["note"].startswith("No tengo autos que cumplan todo") and "A1" not in result["note"]
    exact = ConversationMemory(shown=[CAR])
    [(_, _, result)] = precomputed(
        state("catalog", reply, memory=exact), NO_CATALOG, [("search_catalog", {}, {"cars": [CAR]})]
    )
    assert "note" not in result
