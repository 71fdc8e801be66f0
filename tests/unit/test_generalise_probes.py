"""Generic fixes found by the probe conversations (tests/eval/conversations/probes): numbers in words,
plural slang models, "where is" questions, terms questions, English booking phrases, several policy questions
in one message, and the LLM catalog tool saying what the catalog cannot filter."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, cast

import pytest

from agents.classify import asks_where, classify
from agents.graph import _policy_clauses
from agents.memory import ConversationMemory
from agents.specialists.finance import _asks_terms
from agents.tools import SearchCatalogArgs, ToolBox
from app.catalog.frame import build_catalog_frame
from app.catalog.importing import parse_catalog_csv
from app.catalog.parsing import parse_catalog_query
from app.catalog.service import LoadedCatalog
from app.catalog.vocabulary import CatalogVocabulary
from app.finance.parsing import parse_finance_request
from app.finance.service import FinanceTerms
from app.leads.booking import parse_name, wants_booking
from app.text.money import spelled_numbers_to_digits

CSV = (
    "stock_number,brand,model,trim,year,price,mileage,color,branch\n"
    "A1,Volkswagen,Sedan,Clasico,1998,95000,150000,Blanco,Celaya\n"
    "A2,Volkswagen,Jetta,GLI,2021,420000,30000,Gris,Leon\n"
    "A3,Nissan,Versa,Sense,2020,230000,45000,Plata,Celaya\n"
    "A4,Toyota,Corolla,LE,2019,260000,60000,Blanco,Leon\n"
)


@pytest.fixture(scope="module")
def catalog() -> LoadedCatalog:
    frame = build_catalog_frame(parse_catalog_csv(CSV.encode()))
    return LoadedCatalog(version=1, frame=frame, vocabulary=CatalogVocabulary.from_frame(frame))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("puedo pagar cinco mil al mes", "puedo pagar 5 mil al mes"),
        ("doscientos cincuenta mil", "250 mil"),
        ("a treinta y seis meses", "a 36 meses"),
        ("entre ciento cincuenta y doscientos mil", "entre 150 y 200 mil"),
        ("menos de 2 cientos", "menos de 200"),
        ("i can do five grand", "i can do 5 grand"),
        ("veinte por ciento", "20 por ciento"),
        # Words that are not quantities stay words.
        ("un auto de dos puertas", "un auto de dos puertas"),
        ("cual de los dos", "cual de los dos"),
        ("once a month", "once a month"),
        ("un mes", "un mes"),
    ],
)
def test_numbers_in_words_before_a_unit_become_digits(text: str, expected: str) -> None:
    assert spelled_numbers_to_digits(text) == expected


def test_budget_and_ranges_in_words_are_read(catalog: LoadedCatalog) -> None:
    assert parse_finance_request("cuanto me alcanza si puedo pagar cinco mil al mes").monthly_payment == Decimal(
        "5000"
    )
    assert parse_finance_request("a veinticuatro meses").term_months == 24
    filters = parse_catalog_query("algo entre ciento cincuenta y doscientos cincuenta mil", catalog.vocabulary)
    assert (filters.price_min, filters.price_max) == (150_000, 250_000)


def test_slang_model_names_in_the_plural(catalog: LoadedCatalog) -> None:
    filters = parse_catalog_query("tienen vochos?", catalog.vocabulary)
    assert (filters.make, filters.model) == ("Volkswagen", "Sedan")
    assert parse_catalog_query("hay jetas?", catalog.vocabulary).model == "Jetta"


def test_where_is_a_branch_is_not_a_stock_search(catalog: LoadedCatalog) -> None:
    assert asks_where("donde queda la agencia de celaya") and asks_where("where's your lot?")
    place = classify("donde queda la agencia de celaya", vocabulary=catalog.vocabulary, memory=ConversationMemory())
    assert "catalog" not in {i.name for i in place.intents}
    stock = classify("donde estan los jetta?", vocabulary=catalog.vocabulary, memory=ConversationMemory())
    assert stock.primary.name == "catalog"


def test_a_terms_question_needs_no_car() -> None:
    assert _asks_terms("y el credito a cuantos meses lo dan")
    assert _asks_terms("how many months can i finance")
    assert not _asks_terms("cuanto queda el segundo")


def test_english_visit_phrases_and_name_forms_book() -> None:
    assert wants_booking("wanna see the mustang saturday around 11, im Joe Diaz")
    assert wants_booking("can i see it tomorrow")
    assert not wants_booking("see you") and not wants_booking("i saw it online")
    assert parse_name("test drive on friday? name's Ann Lee", asked=False) == "Ann Lee"
    assert parse_name("wanna see it saturday, im Joe Diaz", asked=False) == "Joe Diaz"


def test_each_policy_question_of_a_message_is_its_own_clause() -> None:
    clauses = _policy_clauses("queria saber si tienen kicks y a q hora abren el sabado y si aceptan tarjeta")
    assert clauses == ["a q hora abren el sabado", "si aceptan tarjeta"]


def test_llm_catalog_tool_says_what_the_catalog_cannot_filter(catalog: LoadedCatalog) -> None:
    box = ToolBox(
        session=cast(Any, None),
        tenant_id=uuid.uuid4(),
        catalog=catalog,
        terms=FinanceTerms(annual_rate=Decimal("0.12"), terms_months=[24, 36], min_down_payment_ratio=Decimal("0.2")),
        language="en",
    )
    result = box.search_catalog(SearchCatalogArgs(features={"fuel": "Hybrid"}))
    assert result["unknown_features"] == ["fuel"]
    assert "not" in result["note"].lower() and "fuel" in result["note"]
    # A column the catalog has filters as before, with no note.
    plain = box.search_catalog(SearchCatalogArgs(features={"color": "Blanco"}))
    assert "unknown_features" not in plain and {c["stock_id"] for c in plain["cars"]} == {"A1", "A4"}
