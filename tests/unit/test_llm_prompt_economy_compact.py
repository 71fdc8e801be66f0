"""The LLM tier's compact forms (issue 13, cost per conversation): ``search_catalog`` by a query in words on
turns that already carry results, ``respond`` without stock ids (read from the reply), quote turns briefed."""

from __future__ import annotations

import json
from typing import Any

from agents.llm_agent import turn_summary
from agents.memory import ConversationMemory
from agents.tools import SearchCatalogArgs, brief_cars, mentioned_stock_ids, tool_json, tool_schema

CARS: dict[str, dict[str, Any]] = {
    "DM-1105": {"stock_id": "DM-1105", "make": "Mazda", "model": "Mazda 3", "year": 2024, "price": 485900},
    "DM-1104": {"stock_id": "DM-1104", "make": "Mazda", "model": "Mazda 3", "year": 2020, "price": 359000},
    "DM-1103": {"stock_id": "DM-1103", "make": "Mazda", "model": "Mazda 3", "year": 2016, "price": 232000},
}


def test_the_compact_catalog_search_is_a_query_in_words_and_much_smaller() -> None:
    full, compact = tool_schema("search_catalog"), tool_schema("search_catalog", compact=True)
    assert compact["function"]["name"] == "search_catalog"
    assert list(compact["function"]["parameters"]["properties"]) == ["query"]
    assert "query" not in full["function"]["parameters"]["properties"]  # the full form keeps its filters
    assert len(json.dumps(compact)) * 2 < len(json.dumps(full))
    assert tool_schema("respond", compact=True) == tool_schema("respond")  # tools without a short form


def test_the_query_form_validates_against_the_same_arguments() -> None:
    args = SearchCatalogArgs.model_validate({"query": "Jetta 2019 de menos de 300 mil"})
    assert args.query == "Jetta 2019 de menos de 300 mil" and args.make is None


def test_the_cars_a_reply_shows_are_read_from_it() -> None:
    by_id = "Te recomiendo el DM-1104."
    by_price = "Mazda 3 2024: $485,900\nMazda 3 2016: $232,000"
    by_name = "El Mazda 3 2020 tiene CarPlay."
    assert mentioned_stock_ids(by_id, CARS) == ["DM-1104"]
    assert mentioned_stock_ids(by_price, CARS) == ["DM-1105", "DM-1103"]
    assert mentioned_stock_ids(by_name, CARS) == ["DM-1104"]
    assert mentioned_stock_ids("Claro, ¿te comunico con un asesor?", CARS) == []


def test_a_quote_turn_briefs_even_a_single_car() -> None:
    car = {"stock_id": "A1", "make": "Mazda", "model": "3", "year": 2020, "price": 1, "km": 2, "color": "Gris"}
    assert brief_cars({"cars": [car]}, mentioned="a 48 meses")["cars"] == [car]  # the car being discussed
    briefed = brief_cars({"cars": [car]}, mentioned="a 48 meses", single=True)["cars"][0]
    assert "color" not in briefed and briefed["price"] == 1
    assert "color" in brief_cars({"cars": [car]}, mentioned="¿de qué color?", single=True)["cars"][0]


def test_a_turn_handed_a_quote_does_not_repeat_the_cars_shown() -> None:
    memory = ConversationMemory(shown=[{**c, "km": 1} for c in CARS.values()], focus="DM-1105")  # type: ignore[misc]
    quote = {"price": 485900, "term_months": 48, "monthly_payment": 11928.22, "down_payment": 48590}
    handed = [("quote_financing", {}, {"quote": quote})]
    assert turn_summary(memory, handed) == "- The car being discussed: stock id DM-1105."
    assert "Cars shown last" in turn_summary(memory, [])


def test_quotes_for_several_terms_say_the_shared_figures_once() -> None:
    common = {"price": 386000, "down_payment": 38600, "amount_financed": 347400, "annual_rate": 0.139}
    quotes = [
        {**common, "term_months": 12, "monthly_payment": 31175.7},
        {**common, "term_months": 24, "monthly_payment": 16663.27},
    ]
    shown = json.loads(tool_json({"quotes": quotes}))["quotes"]
    assert shown[0] == quotes[0]  # the first in full
    assert shown[1] == {"term_months": 24, "monthly_payment": 16663.27}
    assert json.loads(tool_json({"quotes": quotes[:1]}))["quotes"] == quotes[:1]


def test_a_short_model_name_needs_its_make_to_count_as_named() -> None:
    mazda = {"A1": {"stock_id": "A1", "make": "Mazda", "model": "3", "year": 2019, "price": 265000}}
    assert mentioned_stock_ids("Tenemos 3 opciones del 2019.", mazda) == []
    assert mentioned_stock_ids("El Mazda 3 2019 está disponible.", mazda) == ["A1"]
    assert mentioned_stock_ids("Un Mazda 2019 y un Toyota Corolla 2020.", CARS) == []
