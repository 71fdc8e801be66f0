"""Generic fixes found by the probe conversations (tests/eval/conversations/probes): numbers in words,
plural slang models, "where is" questions, terms questions, English booking phrases, several policy questions
in one message, and the LLM catalog tool saying what the catalog cannot filter."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, cast

import pytest

from agents.classify import asks_where, classify
from agents.graph import _policy_clauses, _without_car_words
from agents.memory import ConversationMemory
from agents.specialists.booking import continues
from agents.specialists.catalog import _FIRST_N
from agents.specialists.finance import _asks_terms
from agents.specialists.info import on_topic
from agents.tools import SearchCatalogArgs, ToolBox
from app.catalog.frame import build_catalog_frame
from app.catalog.importing import parse_catalog_csv
from app.catalog.parsing import missing_kinds, parse_catalog_query, prepare_message
from app.catalog.service import LoadedCatalog
from app.catalog.vocabulary import CatalogVocabulary
from app.finance.parsing import parse_finance_request
from app.finance.service import FinanceTerms
from app.knowledge.retrieval import query_terms
from app.knowledge.schemas import KnowledgeHit
from app.knowledge.synonyms import covers, named_concepts
from app.leads.booking import Booking, parse_name, wants_booking
from app.text.complaints import is_complaint
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
    assert parse_finance_request("cuanto me alcanza si puedo pagar cinco mil al mes").monthly_payment == Decimal("5000")
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


def test_a_range_of_bare_hundreds_is_thousands(catalog: LoadedCatalog) -> None:
    filters = parse_catalog_query("q tienen entre 150 y 250?", catalog.vocabulary)
    assert (filters.price_min, filters.price_max) == (150_000, 250_000)
    years = parse_catalog_query("entre 2018 y 2020", catalog.vocabulary)
    assert (years.year_min, years.year_max, years.price_min) == (2018, 2020, None)


def test_one_wrong_letter_in_a_model_with_digits(catalog: LoadedCatalog) -> None:
    vocab = _vocab(
        "stock_id,make,model,year,price\n1,Toyota,RAV4,2020,500000\n2,Mazda,CX-3,2019,300000\n"
        "3,Mazda,CX-5,2021,450000\n"
    )
    assert parse_catalog_query("busco una toyota rab4", vocab).model == "RAV4"
    assert parse_catalog_query("mazda cx3", vocab).model == "CX-3"  # never the CX-5: the digits differ


def test_a_named_model_decides_what_camioneta_means() -> None:
    vocab = _vocab(
        "stock_id,make,model,year,price,body\n1,Ford,Ranger,2020,500000,Pickup\n2,Ford,Escape,2021,450000,SUV\n"
    )
    assert parse_catalog_query("ocupo una camioneta pa trabajo, ranger", vocab).features == {}
    assert parse_catalog_query("una camioneta", vocab).features == {"body": "SUV"}
    assert parse_catalog_query("ranger suv", vocab).features == {"body": "SUV"}  # said outright: kept


def test_owners_and_equipment_the_catalog_lacks(catalog: LoadedCatalog) -> None:
    assert missing_kinds("cuantos dueños ha tenido el golf gti", catalog.vocabulary) == ["owners"]
    assert missing_kinds("y el tiguan trae quemacocos?", catalog.vocabulary) == ["equipment"]
    assert missing_kinds("sin quemacocos", catalog.vocabulary) == []
    full = _vocab("stock_id,make,model,year,price,sunroof,owners\n1,VW,Golf,2020,500000,Sí,1\n")
    assert missing_kinds("cuantos dueños ha tenido, trae quemacocos?", full) == []


def test_a_changed_slot_continues_the_booking() -> None:
    memory = ConversationMemory(
        booking=Booking(kind="visit", car="", branch="Satélite", confirming=True).model_dump(mode="json")
    )
    assert continues("mejor en polanco", memory)
    assert continues("better make it friday", memory)


def test_knowledge_hits_must_speak_of_the_topic_asked() -> None:
    def hit(title: str, content: str) -> KnowledgeHit:
        return KnowledgeHit(id=uuid.uuid4(), title=title, content=content, score=1.0, category="faq", language="es")

    cash = hit("Vende tu auto", "Compramos autos de contado, de cualquier marca.")
    returns = hit("Devoluciones", "Puedes devolverlo dentro de 7 días.")
    assert on_topic("hacen descuento si pago de contado?", [cash]) == []
    assert on_topic("q pasa si no me gusta el carro despues de comprarlo", [cash, returns]) == [returns]
    assert on_topic("do u take trade ins", [hit("Trade-ins", "We take your car.")])  # "Trade-ins" is the term
    assert on_topic("hola que tal", [cash]) == [cash]  # no topic named: nothing dropped
    assert covers("Descuentos de temporada", {"descuento"}) and not covers("Compramos autos", {"descuento"})
    # "¿aceptan tarjeta?" asks for the payment methods; "address" is where the business is.
    assert any("formas de pago" in c for c in named_concepts("aceptan tarjeta"))
    assert any("location" in c for c in named_concepts("whats ur address"))
    assert not any("ubicacion" in c for c in named_concepts("frenos, suspension y direccion"))  # steering


def _vocab(csv: str) -> CatalogVocabulary:
    return CatalogVocabulary.from_frame(build_catalog_frame(parse_catalog_csv(csv.encode())))


def test_the_first_two_of_a_list_are_compared() -> None:
    assert _FIRST_N.search("compare the first two")["n"] == "two"
    assert _FIRST_N.search("compara los dos primeros")["k"] == "dos"
    assert _FIRST_N.search("las ultimas 2")["m"] == "2"
    assert _FIRST_N.search("el primero y el tercero") is None


def test_mistyped_search_words_are_read(catalog: LoadedCatalog) -> None:
    assert prepare_message("wich one is the newst") == "which one is the newest"
    assert prepare_message("algo mas barto") == "algo mas barato"
    assert parse_catalog_query("cheapst one", catalog.vocabulary).sort == "price_asc"
    # Words of their own stay: a number, a name.
    assert prepare_message("tienen nueve, soy Manuel") == "tienen nueve, soy manuel"


def test_how_does_it_work_words_are_not_topics() -> None:
    topics = [alternatives[0][0] for alternatives in query_terms("como funciona el financiamiento")]
    assert "financiamiento" in topics and "funciona" not in topics
    held = [a[0][0] for a in query_terms("can u hold it for me till monday")]
    assert "hold" in held and "till" not in held


def test_a_policy_question_is_searched_without_the_car_it_names(catalog: LoadedCatalog) -> None:
    assert _without_car_words("el jetta gris me lo pueden apartar", catalog.vocabulary) == "el me lo pueden apartar"
    clauses = _policy_clauses("si compro el auto me lo llevan a mi casa en la cdmx, y otra cosa, tienen garantia?")
    assert clauses == ["si compro el auto me lo llevan a mi casa en la cdmx", "tienen garantia"]


@pytest.mark.parametrize(
    "text",
    ["pues que mal, me dijeron que el auto estaba y ya lo vendieron", "no cumplieron lo que dijeron", "you lied to me"],
)
def test_a_broken_promise_is_a_complaint(text: str) -> None:
    assert is_complaint(text)


@pytest.mark.parametrize(
    "text", ["hola que tal, busco un auto", "me dijeron que tenian financiamiento y si me interesa"]
)
def test_ordinary_messages_are_not_complaints(text: str) -> None:
    assert not is_complaint(text)


def test_cash_is_a_topic_in_both_languages() -> None:
    assert any("efectivo" in c for c in named_concepts("do you take cash?"))


def test_bridges_expand_a_search_but_name_no_topic() -> None:
    # "dura" and "revisión" find "dura alrededor de 40 minutos... Revisamos" but the passage need not say them.
    assert named_concepts("cuanto dura la revision de mi carro") == []
    assert named_concepts("a que hora abren el domingo?") == []
    # An ordinary concept still names its topic.
    assert any("enganche" in c for c in named_concepts("cuanto tengo que dar de entrada"))
    # The bridge's terms reach the search, in the other language too.
    terms = {
        w for group in query_terms("which location is open on sundays", language="en", translate=True) for w, _ in group
    }
    assert "domingo" in terms or "domingos" in terms
