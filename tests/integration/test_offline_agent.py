"""The offline (rule-based) tier through the chat API, on the seeded demo tenant, in Spanish and English.

Every expectation is checked against the demo data itself: cars.csv loaded with pandas, the
knowledge entries from knowledge.json and quotes recomputed with numpy_financial. Each test talks
as its own customer, so conversations never share memory.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy_financial as npf
import pandas as pd
import pytest

import app.demo
from app.catalog.cards import car_name, localized_value
from tests.helpers import Customer, admin_headers

DATA = Path(app.demo.__file__).parent / "data"
CARS = pd.read_csv(DATA / "cars.csv", dtype={"stock_id": str})
KNOWLEDGE: list[dict[str, Any]] = json.loads((DATA / "knowledge.json").read_text(encoding="utf-8"))
TENANT: dict[str, Any] = json.loads((DATA / "tenant.json").read_text(encoding="utf-8"))
RATE = Decimal(str(TENANT["finance"]["annual_rate"]))
TERMS: list[int] = TENANT["finance"]["terms_months"]
BUSINESS = TENANT["name"]


@pytest.fixture
def customer(client: Any, demo: dict[str, Any]) -> Customer:
    return Customer(client, prefix="offline")


def entry(category: str, language: str) -> dict[str, Any]:
    """The demo knowledge entry of ``category`` in ``language``."""
    return next(e for e in KNOWLEDGE if e["category"] == category and e["language"] == language)


def cars(ids: list[str]) -> pd.DataFrame:
    """Rows of cars.csv for ``ids``, in that order (fails on an id that is not in stock)."""
    rows = CARS.set_index("stock_id").loc[ids].reset_index()
    assert list(rows["stock_id"]) == ids
    return rows


def money(value: float) -> str:
    """How replies write an amount: $250,000 or $5,455.27."""
    cents = Decimal(str(value)).quantize(Decimal("0.01"))
    return f"${cents:,.0f}" if cents == cents.to_integral_value() else f"${cents:,.2f}"


def expected_quote(price: float, down: float, term: int) -> dict[str, float]:
    """The quote the API must return, computed independently with numpy_financial."""
    financed = price - down
    monthly = float(Decimal(str(npf.pmt(float(RATE) / 12, term, -financed))).quantize(Decimal("0.01"), ROUND_HALF_UP))
    paid = round(monthly * term, 2)
    return {
        "price": price,
        "down_payment": down,
        "amount_financed": financed,
        "annual_rate": float(RATE),
        "term_months": term,
        "monthly_payment": monthly,
        "total_paid": round(down + paid, 2),
        "total_interest": round(paid - financed, 2),
    }


def assert_quote(quote: dict[str, Any] | None, price: float, down: float, term: int) -> None:
    assert quote is not None
    expected = expected_quote(price, down, term)
    assert quote == pytest.approx(expected, abs=0.001), (quote, expected)


def assert_cards(reply: dict[str, Any]) -> None:
    """Every listed car appears as a card line (index, price and stock id) in the reply text."""
    for index, row in enumerate(cars(reply["items"]).itertuples(), start=1):
        line = next((ln for ln in reply["reply"].splitlines() if f"({row.stock_id})" in ln), None)
        assert line is not None, f"{row.stock_id} missing from {reply['reply']!r}"
        assert line.startswith(f"{index}. {car_name(row.make, row.model)}")
        assert f"${row.price:,.0f}" in line and str(row.year) in line


# --------------------------------------------------------------------------- info


INFO_CASES = [
    ("¿Cuál es su horario?", "locations", "es", ["9:00 a 19:00", "10:00 a 17:00", "domingos"]),
    ("orario de las sucursales", "locations", "es", ["Polanco", "Satélite", "9:00 a 19:00"]),
    ("a que hora abren el sabado", "locations", "es", ["sábados de 10:00 a 17:00"]),
    ("donde estan ubicados", "locations", "es", ["Av. Ejército Nacional 843", "Blvd. Manuel Ávila Camacho 2610"]),
    ("What are your opening hours?", "locations", "en", ["Monday to Friday from 9:00 to 19:00", "Sunday"]),
    ("where are you located?", "locations", "en", ["Av. Ejército Nacional 843", "Naucalpan"]),
    ("garantia?", "warranty", "es", ["6 meses o 10,000 km", "tren motriz"]),
    ("¿Qué garantía tienen los autos?", "warranty", "es", ["6 meses o 10,000 km"]),
    ("do you give a warrenty on the cars?", "warranty", "en", ["6 months or 10,000 km", "powertrain"]),
    ("puedo devolver el auto si no me gusta?", "returns", "es", ["7 días naturales", "500 km"]),
    ("politica de devolucion", "returns", "es", ["7 días naturales", "500 km"]),
    ("Can I return the car if I don't like it?", "returns", "en", ["7 calendar days", "500 km"]),
    ("que documentos necesito para el credito", "documents", "es", ["INE", "comprobante de domicilio", "RFC"]),
    ("requisitos para credito", "documents", "es", ["recibos de nómina", "RFC"]),
    ("What documents do I need for financing?", "documents", "en", ["INE", "proof of address", "pay stubs"]),
    ("aceptan mi carro a cuenta?", "trade_in", "es", ["avalúo es gratuito", "30 minutos"]),
    ("Do you accept trade-ins?", "trade_in", "en", ["appraisal is free", "30 minutes"]),
    ("puedo hacer una prueba de manejo?", "test_drive", "es", ["licencia de conducir", "20 minutos"]),
    ("can I book a test drive?", "test_drive", "en", ["driving licence", "20 minutes"]),
]


@pytest.mark.parametrize(("text", "category", "language", "facts"), INFO_CASES, ids=[c[0] for c in INFO_CASES])
async def test_info_answers_from_the_knowledge_base(
    customer: Customer, text: str, category: str, language: str, facts: list[str]
) -> None:
    reply = await customer.say(text)
    expected = entry(category, language)
    assert reply["agent"] == "info" and reply["tier"] == "offline" and not reply["handoff"]
    assert [s["title"] for s in reply["sources"]] == [expected["title"]]
    # The written answer, in the customer's language, with the facts a customer would look for.
    assert reply["reply"] == expected["content"]
    for fact in facts:
        assert fact in reply["reply"]
    assert reply["items"] == [] and reply["quote"] is None


@pytest.mark.parametrize(
    ("question", "yes", "words"),
    [
        ("¿venden motos acuáticas?", "sí", ["No tengo esa información", "asesor"]),
        ("do you sell boats?", "yes", ["don't have that information", "advisor"]),
    ],
)
async def test_info_says_it_does_not_know_and_hands_off_on_yes(
    customer: Customer, question: str, yes: str, words: list[str]
) -> None:
    reply = await customer.say(question)
    assert reply["agent"] == "info" and reply["sources"] == [] and reply["items"] == []
    assert not reply["handoff"]
    for word in words:
        assert word in reply["reply"]

    accepted = await customer.say(yes)
    assert accepted["handoff"] is True and accepted["agent"] == "handoff"
    assert BUSINESS in accepted["reply"]
    silent = await customer.say("¿hola?")
    assert silent["reply"] == "" and silent["agent"] == "handoff" and silent["parts"] == []


async def test_declining_the_offer_or_changing_topic_does_not_hand_off(customer: Customer) -> None:
    assert (await customer.say("¿tienen servicio de lavado de tapicería?"))["sources"] == []
    declined = await customer.say("no")
    assert not declined["handoff"] and declined["agent"] != "handoff" and declined["reply"]
    # The offer lasted one turn: a later "sí" is not an acceptance.
    later = await customer.say("sí")
    assert not later["handoff"]


# --------------------------------------------------------------------------- catalog


@pytest.mark.parametrize(
    ("text", "make", "model", "language"),
    [
        ("¿tienen toyta?", "Toyota", None, "es"),
        ("busco un mazada", "Mazda", None, "es"),
        ("tienen vocho?", "Volkswagen", "Sedan", "es"),
        ("quiero un jeta", "Volkswagen", "Jetta", "es"),
        ("do you have any toyta?", "Toyota", None, "en"),
        ("toyota corola please", "Toyota", "Corolla", "en"),
    ],
)
async def test_catalog_understands_makes_and_models_with_typos(
    customer: Customer, text: str, make: str, model: str | None, language: str
) -> None:
    reply = await customer.say(text)
    assert reply["agent"] == "catalog" and reply["items"]
    matching = CARS[(CARS["make"] == make) & ((CARS["model"] == model) if model else True)]
    shown = cars(reply["items"])
    assert set(shown["make"]) == {make}
    if model:
        assert set(shown["model"]) == {model}
    assert len(reply["items"]) == min(3, len(matching))
    # Newest first among the matches.
    assert list(shown["year"]) == sorted(shown["year"], reverse=True)
    assert shown["year"].iloc[0] == matching["year"].max()
    header = f"Encontré {len(matching)} auto" if language == "es" else f"I found {len(matching)} matching car"
    assert header in reply["reply"]
    assert_cards(reply)


CATALOG_FILTERS = [
    ("autos de menos de 300 mil", lambda c: c["price"] <= 300_000, "es"),
    ("cars under 250k", lambda c: c["price"] <= 250_000, "en"),
    ("algo entre 200 y 300 mil", lambda c: c["price"].between(200_000, 300_000), "es"),
    ("between 200k and 300k", lambda c: c["price"].between(200_000, 300_000), "en"),
    ("un auto 2018 en adelante", lambda c: c["year"] >= 2018, "es"),
    ("cars from 2018 or newer", lambda c: c["year"] >= 2018, "en"),
    ("nissan del 2018 al 2020", lambda c: (c["make"] == "Nissan") & c["year"].between(2018, 2020), "es"),
    ("con menos de 50 mil km", lambda c: c["km"] <= 50_000, "es"),
    ("less than 50k km", lambda c: c["km"] <= 50_000, "en"),
    ("automático con carplay", lambda c: (c["transmission"] == "Automática") & (c["carplay"] == "Sí"), "es"),
    ("automatic with carplay", lambda c: (c["transmission"] == "Automática") & (c["carplay"] == "Sí"), "en"),
    (
        "suv automática de menos de 400 mil 2021 en adelante",
        lambda c: (
            (c["body"] == "SUV") & (c["transmission"] == "Automática") & (c["price"] <= 400_000) & (c["year"] >= 2021)
        ),
        "es",
    ),
]


@pytest.mark.parametrize(("text", "where", "language"), CATALOG_FILTERS, ids=[c[0] for c in CATALOG_FILTERS])
async def test_catalog_filters_match_the_stock(customer: Customer, text: str, where: Any, language: str) -> None:
    reply = await customer.say(text)
    matching = CARS[where(CARS)]
    assert len(matching) > 3, "the case should have several matches"
    assert reply["agent"] == "catalog" and len(reply["items"]) == 3
    assert set(reply["items"]) <= set(matching["stock_id"])
    header = f"Encontré {len(matching)} auto" if language == "es" else f"I found {len(matching)} matching car"
    assert header in reply["reply"]
    assert_cards(reply)


@pytest.mark.parametrize(
    ("text", "where", "order"),
    [
        ("el más barato", lambda c: c["price"] > 0, "price_asc"),
        ("the cheapest suv", lambda c: c["body"] == "SUV", "price_asc"),
        ("los jetta más nuevos", lambda c: c["model"] == "Jetta", "year_desc"),
        ("the most expensive mazda", lambda c: c["make"] == "Mazda", "price_desc"),
    ],
)
async def test_catalog_sorts(customer: Customer, text: str, where: Any, order: str) -> None:
    reply = await customer.say(text)
    matching = CARS[where(CARS)]
    if order == "price_asc":
        expected = matching.sort_values(["price", "year"], ascending=[True, False], kind="stable")
    elif order == "price_desc":
        expected = matching.sort_values(["price", "year"], ascending=[False, False], kind="stable")
    else:
        expected = matching.sort_values(["year", "price"], ascending=[False, True], kind="stable")
    # "el más barato" / "the cheapest SUV" is one car; "los jetta más nuevos" the first three in that order.
    count = 3 if text.startswith("los ") else 1
    assert reply["items"] == list(expected["stock_id"].head(count))
    assert_cards(reply)


@pytest.mark.parametrize(("first", "second"), [("autos toyota", "el segundo"), ("any toyota?", "the second one")])
async def test_catalog_follow_up_by_position(customer: Customer, first: str, second: str) -> None:
    listing = await customer.say(first)
    assert len(listing["items"]) == 3
    detail = await customer.say(second)
    assert detail["agent"] == "catalog"
    assert detail["items"] == [listing["items"][1]]
    car = cars(detail["items"]).iloc[0]
    assert f"({car.stock_id})" in detail["reply"] and car["version"] in detail["reply"]
    # Details in the customer's language: labels, yes/no and the catalogue's values (Negro -> Black).
    language = "es" if second == "el segundo" else "en"
    assert f"${car.price:,.0f}" in detail["reply"] and localized_value(car["color"], language) in detail["reply"]
    if second == "el segundo":
        assert f"Transmisión: {car.transmission}" in detail["reply"] and f"Carplay: {car.carplay}" in detail["reply"]
        assert "financiamiento" in detail["reply"]
    else:
        carplay = {"Sí": "Yes", "No": "No"}[car.carplay]
        assert (
            f"Transmission: {localized_value(car.transmission, 'en')}" in detail["reply"]
            and f"Carplay: {carplay}" in detail["reply"]
        )
        assert "financing" in detail["reply"]


async def test_catalog_follow_up_by_make_when_one_was_shown(customer: Customer) -> None:
    listing = await customer.say("suv de 300 a 320 mil")
    shown = cars(listing["items"])
    assert ((shown["body"] == "SUV") & shown["price"].between(300_000, 320_000)).all()
    assert list(shown["make"]).count("Mazda") == 1, "precondition: exactly one Mazda in the list"
    mazda = shown[shown["make"] == "Mazda"].iloc[0]
    detail = await customer.say("me interesa el Mazda")
    assert detail["agent"] == "catalog"
    assert detail["items"] == [mazda.stock_id]
    assert f"({mazda.stock_id})" in detail["reply"]


@pytest.mark.parametrize(
    ("first", "more", "where", "language"),
    [
        ("suv 2020 en adelante", "más baratos", lambda c: (c["body"] == "SUV") & (c["year"] >= 2020), "es"),
        (
            "any SUV from 2020 or newer?",
            "show me cheaper ones",
            lambda c: (c["body"] == "SUV") & (c["year"] >= 2020),
            "en",
        ),
    ],
)
async def test_catalog_cheaper_follow_up(customer: Customer, first: str, more: str, where: Any, language: str) -> None:
    listing = await customer.say(first)
    cheapest_shown = cars(listing["items"])["price"].min()
    cheaper = await customer.say(more)
    assert cheaper["agent"] == "catalog" and cheaper["items"]
    matching = CARS[where(CARS) & (CARS["price"] < cheapest_shown)]
    assert set(cheaper["items"]) <= set(matching["stock_id"])
    assert not set(cheaper["items"]) & set(listing["items"])
    header = f"Encontré {len(matching)} auto" if language == "es" else f"I found {len(matching)} matching car"
    assert header in cheaper["reply"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("¿tienen un Ferrari?", ["no tengo Ferrari"]),
        ("do you have any Tesla?", ["don't have any Tesla"]),
    ],
)
async def test_catalog_make_not_in_stock_is_said_honestly(customer: Customer, text: str, words: list[str]) -> None:
    reply = await customer.say(text)
    assert reply["agent"] == "catalog"
    for word in words:
        assert word.lower() in reply["reply"].lower()
    # Alternatives are real cars, and none pretends to be the missing make.
    assert set(cars(reply["items"])["make"]).isdisjoint({"Ferrari", "Tesla"})


async def test_catalog_year_not_in_stock_offers_the_same_model(customer: Customer) -> None:
    assert CARS[(CARS["model"] == "Jetta") & (CARS["year"] == 2015)].empty
    reply = await customer.say("¿tienen algún Jetta 2015?")
    assert reply["items"] and set(cars(reply["items"])["model"]) == {"Jetta"}
    assert "No tengo autos que cumplan todo lo que pediste" in reply["reply"] and "2015" in reply["reply"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("autos de menos de 50 mil", ["No tengo autos de hasta $50,000"]),
        ("cars under 40k", ["I don't have any matching cars up to $40,000"]),
    ],
)
async def test_catalog_over_budget_explains_and_shows_the_cheapest(
    customer: Customer, text: str, words: list[str]
) -> None:
    reply = await customer.say(text)
    for word in words:
        assert word in reply["reply"]
    assert reply["items"] == list(CARS.sort_values("price")["stock_id"].head(3))


# --------------------------------------------------------------------------- finance


@pytest.mark.parametrize(
    ("text", "follow_up"),
    [
        ("¿cuánto pagaría al mes por un auto de 250 mil a 48 meses con 20% de enganche?", "¿y a 60 meses?"),
        ("How much would I pay per month for a 250k car over 48 months with 20% down?", "what about 60 months?"),
    ],
)
async def test_finance_quote_matches_numpy_financial(customer: Customer, text: str, follow_up: str) -> None:
    reply = await customer.say(text)
    assert reply["agent"] == "finance"
    assert_quote(reply["quote"], 250_000, 50_000, 48)
    monthly = expected_quote(250_000, 50_000, 48)["monthly_payment"]
    assert money(monthly) in reply["reply"] and "13.9%" in reply["reply"]
    assert ("mensualidades" in reply["reply"]) == text.startswith("¿")

    # The follow-up keeps the price and the down payment.
    again = await customer.say(follow_up)
    assert_quote(again["quote"], 250_000, 50_000, 60)
    assert money(expected_quote(250_000, 50_000, 60)["monthly_payment"]) in again["reply"]


async def test_finance_bare_term_follow_up(customer: Customer) -> None:
    await customer.say("auto de 300 mil con 60 mil de enganche a 36 meses")
    reply = await customer.say("¿y a 24?")
    assert_quote(reply["quote"], 300_000, 60_000, 24)


@pytest.mark.parametrize(
    ("listing", "pick"),
    [("autos toyota", "el segundo a 36 meses"), ("do you have a toyota?", "the second one over 36 months")],
)
async def test_finance_for_a_car_shown_earlier(customer: Customer, listing: str, pick: str) -> None:
    shown = await customer.say(listing)
    car = cars(shown["items"]).iloc[1]
    reply = await customer.say(pick)
    assert reply["agent"] == "finance"
    assert reply["items"] == [car.stock_id]
    minimum = float((Decimal(str(car.price)) * Decimal("0.10")).quantize(Decimal("0.01")))
    assert_quote(reply["quote"], float(car.price), minimum, 36)
    assert car.model in reply["reply"]


async def test_finance_without_a_term_shows_every_term(customer: Customer) -> None:
    reply = await customer.say("¿cuánto pagaría al mes por un auto de 250 mil?")
    assert reply["agent"] == "finance" and reply["quote"] is None
    for term in TERMS:
        monthly = expected_quote(250_000, 25_000, term)["monthly_payment"]
        assert f"• {term} meses: {money(monthly)} al mes" in reply["reply"]
    assert "enganche $25,000 (10%)" in reply["reply"]

    english = await Customer(customer.client, prefix="offline").say("monthly payments for a 300k car with 20% down")
    for term in TERMS:
        monthly = expected_quote(300_000, 60_000, term)["monthly_payment"]
        assert f"• {term} months: {money(monthly)}/month" in english["reply"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("auto de 250 mil con 250 mil de enganche a 48 meses", ["no necesitas financiamiento"]),
        ("a 200k car with 300k down over 24 months", ["already covers", "no financing is needed"]),
        ("auto de 250 mil a 50 meses", ["No manejamos plazo de 50 meses", "12, 24, 36, 48, 60 y 72 meses"]),
        ("a 250k car over 50 months", ["50-month", "12, 24, 36, 48, 60 and 72 months"]),
        ("auto de 250 mil a 48 meses con 5% de enganche", ["menor al mínimo", "$25,000 (10% del precio)"]),
        ("a 250k car over 48 months with 10k down", ["below the minimum", "$25,000 (10% of the price)"]),
    ],
)
async def test_finance_rejections_are_helpful(customer: Customer, text: str, words: list[str]) -> None:
    reply = await customer.say(text)
    assert reply["agent"] == "finance" and reply["quote"] is None
    for word in words:
        assert word in reply["reply"]


async def test_multi_intent_car_and_quote(customer: Customer) -> None:
    jettas = CARS[(CARS["model"] == "Jetta") & (CARS["year"] == 2022)]
    assert len(jettas) == 1
    car = jettas.iloc[0]
    reply = await customer.say("¿tienen un Jetta 2022 y a cuánto quedaría a 48 meses?")
    assert reply["agent"] == "finance"
    assert reply["items"] == [car.stock_id]
    assert_quote(reply["quote"], float(car.price), float(car.price) * 0.10, 48)
    assert f"({car.stock_id})" in reply["reply"]


# --------------------------------------------------------------------------- handoff and small talk


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("quiero hablar con un asesor", "Te comunico con un asesor"),
        ("human please", "I'm connecting you with an advisor"),
        ("necesito hablar con una persona", "Te comunico con un asesor"),
    ],
)
async def test_handoff_then_the_bot_is_silent(customer: Customer, text: str, words: str) -> None:
    reply = await customer.say(text)
    assert reply["handoff"] is True and reply["agent"] == "handoff" and reply["intent"] == "handoff"
    assert words in reply["reply"] and BUSINESS in reply["reply"]
    for later in ("¿sigues ahí?", "tienen mazda?"):
        quiet = await customer.say(later)
        assert quiet["reply"] == "" and quiet["parts"] == [] and quiet["agent"] == "handoff" and quiet["handoff"]
    waiting = await customer.client.get(
        "/v1/tenants/demo/conversations", params={"status": "handoff", "limit": 500}, headers=admin_headers()
    )
    assert reply["conversation_id"] in {c["id"] for c in waiting.json()}


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("hola", "greeting", TENANT["persona"]["greeting_es"]),
        ("buenas tardes", "greeting", TENANT["persona"]["greeting_es"]),
        ("hello", "greeting", TENANT["persona"]["greeting_en"]),
        ("good morning", "greeting", TENANT["persona"]["greeting_en"]),
        ("ayuda", "help", "Puedo ayudarte con:"),
        ("what can you do?", "help", "I can help you with:"),
        ("muchas gracias", "thanks", "¡Con gusto!"),
        ("thanks!", "thanks", "You're welcome!"),
    ],
)
async def test_small_talk_in_the_customers_language(customer: Customer, text: str, intent: str, expected: str) -> None:
    reply = await customer.say(text)
    assert reply["agent"] == "smalltalk" and reply["intent"] == intent
    assert expected in reply["reply"]
    assert not reply["handoff"] and reply["items"] == []


async def test_gibberish_gets_a_polite_fallback_in_the_conversation_language(customer: Customer) -> None:
    spanish = await customer.say("asdfgh qwerty")
    assert spanish["agent"] == "smalltalk" and not spanish["handoff"] and spanish["sources"] == []
    assert spanish["reply"].startswith("Perdona, no entendí") and BUSINESS in spanish["reply"]

    english = Customer(customer.client, prefix="offline")
    await english.say("hello")
    reply = await english.say("zxcvb qwrt")
    assert reply["reply"].startswith("Sorry, I didn't quite get that")
    ok = await english.say("ok")
    assert ok["reply"].startswith("Okay!") and not ok["handoff"]


async def test_greeting_before_a_question_is_answered_not_just_greeted(customer: Customer) -> None:
    reply = await customer.say("hola, ¿tienen mazda?")
    assert reply["agent"] == "catalog" and reply["reply"].startswith("¡Hola!")
    assert set(cars(reply["items"])["make"]) == {"Mazda"}
    english = await Customer(customer.client, prefix="offline").say("hi! what are your opening hours?")
    assert english["reply"].startswith("Hi!") and entry("locations", "en")["content"] in english["reply"]


def test_every_money_figure_in_cards_uses_the_csv_price() -> None:
    # Guard for assert_cards: the CSV has whole-peso prices, which the card formatting relies on.
    assert (CARS["price"] == CARS["price"].round()).all()
    assert re.fullmatch(r"\$250,000", money(250_000)) and money(5455.27) == "$5,455.27"
