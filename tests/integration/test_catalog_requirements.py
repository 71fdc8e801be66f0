"""Issue 4, catalog part: every clause checked end to end through the chat API, in Spanish and English.

Each case talks to the seeded demo tenant through ``POST /v1/tenants/demo/chat`` as its own customer
and checks the reply against the demo stock itself (cars.csv read with pandas): the cars listed
(``items``), their order, the count in the header, and the reason given when nothing matched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import app.demo
from app.catalog.cards import car_name, localized_value
from tests.helpers import Customer

CARS = pd.read_csv(Path(app.demo.__file__).parent / "data" / "cars.csv", dtype={"stock_id": str})
Where = Callable[[pd.DataFrame], "pd.Series[bool]"]


@pytest.fixture
def customer(client: Any, demo: dict[str, Any]) -> Customer:
    return Customer(client, prefix="catalog-req")


def cars(ids: list[str]) -> pd.DataFrame:
    """Rows of cars.csv for ``ids``, in that order."""
    rows = CARS.set_index("stock_id").loc[ids].reset_index()
    assert list(rows["stock_id"]) == ids
    return rows


def header(total: int, language: str) -> str:
    return f"Encontré {total} autos que coinciden" if language == "es" else f"I found {total} matching cars"


def assert_listing(reply: dict[str, Any], matching: pd.DataFrame, language: str) -> None:
    """A catalog listing of up to 3 of ``matching``, with the right count and one card line per car."""
    assert reply["agent"] == "catalog", reply
    assert len(matching) > 3, "the case should have several matches"
    assert len(reply["items"]) == 3
    assert set(reply["items"]) <= set(matching["stock_id"]), (reply["items"], reply["reply"])
    assert header(len(matching), language) in reply["reply"]
    for index, row in enumerate(cars(reply["items"]).itertuples(), start=1):
        line = next(ln for ln in reply["reply"].splitlines() if f"({row.stock_id})" in ln)
        assert line.startswith(f"{index}. {car_name(row.make, row.model)}")
        assert f"${row.price:,.0f}" in line and str(row.year) in line


def newest_first(frame: pd.DataFrame) -> list[str]:
    return list(frame.sort_values(["year", "price"], ascending=[False, True], kind="stable")["stock_id"])


# --------------------------------------------------------------------------- make and model


@pytest.mark.parametrize(
    ("text", "make", "model", "language"),
    [
        ("¿tienen un toyta corola?", "Toyota", "Corolla", "es"),
        ("do you have a toyta corola?", "Toyota", "Corolla", "en"),
        ("busco un vochito", "Volkswagen", "Sedan", "es"),
        ("any vocho for sale?", "Volkswagen", "Sedan", "en"),
        ("un chevy aveo", "Chevrolet", "Aveo", "es"),
        ("quiero un wolkswagen jeta", "Volkswagen", "Jetta", "es"),
        ("mercedes please", "Mercedes-Benz", None, "en"),
        ("tienen masda cx5?", "Mazda", "CX-5", "es"),
        ("¿tienen toyoya?", "Toyota", None, "es"),
        ("a hyundai tuczon", "Hyundai", "Tucson", "en"),
        ("mercedes benz clase c", "Mercedes-Benz", "Clase C", "es"),
    ],
)
async def test_typos_aliases_and_nicknames(
    customer: Customer, text: str, make: str, model: str | None, language: str
) -> None:
    reply = await customer.say(text)
    matching = CARS[(CARS["make"] == make) & ((CARS["model"] == model) if model else True)]
    assert reply["agent"] == "catalog"
    # Newest first among exactly the cars of that make and model.
    assert reply["items"] == newest_first(matching)[: len(reply["items"])]
    assert len(reply["items"]) == min(3, len(matching))
    total = len(matching)
    if total > 3:
        assert header(total, language) in reply["reply"]


# --------------------------------------------------------------------------- price, year, km, features


FILTERS: list[tuple[str, Where, str]] = [
    ("algo entre 200 y 300 mil", lambda c: c["price"].between(200_000, 300_000), "es"),
    ("de 200 a 300k", lambda c: c["price"].between(200_000, 300_000), "es"),
    ("200-300 mil", lambda c: c["price"].between(200_000, 300_000), "es"),
    ("between $200,000 and $300,000", lambda c: c["price"].between(200_000, 300_000), "en"),
    ("from 200 to 300 thousand", lambda c: c["price"].between(200_000, 300_000), "en"),
    ("menos de 250k", lambda c: c["price"] <= 250_000, "es"),
    ("tengo $250,000", lambda c: c["price"] <= 250_000, "es"),
    ("cars up to $250,000", lambda c: c["price"] <= 250_000, "en"),
    ("under 250 grand", lambda c: c["price"] <= 250_000, "en"),
    ("alrededor de 300 mil", lambda c: c["price"].between(270_000, 330_000), "es"),
    ("algo de 300 mil aprox", lambda c: c["price"].between(270_000, 330_000), "es"),
    ("I want something around 300k", lambda c: c["price"].between(270_000, 330_000), "en"),
    ("cars under 300k and newer than 2018", lambda c: (c["price"] <= 300_000) & (c["year"] > 2018), "en"),
    ("del 2018 al 2020", lambda c: c["year"].between(2018, 2020), "es"),
    ("modelo 18 al 20", lambda c: c["year"].between(2018, 2020), "es"),
    ("cars from 2018 to 2020", lambda c: c["year"].between(2018, 2020), "en"),
    ("2019 o más nuevo", lambda c: c["year"] >= 2019, "es"),
    ("2019 or newer", lambda c: c["year"] >= 2019, "en"),
    ("del 2020 para adelante", lambda c: c["year"] >= 2020, "es"),
    ("menos de 50 mil km", lambda c: c["km"] <= 50_000, "es"),
    ("under 50,000 km", lambda c: c["km"] <= 50_000, "en"),
    ("con carplay", lambda c: c["carplay"] == "Sí", "es"),
    ("with bluetooth", lambda c: c["bluetooth"] == "Sí", "en"),
    ("una automática", lambda c: c["transmission"] == "Automática", "es"),
    ("manual cars", lambda c: c["transmission"] == "Manual", "en"),
    ("sin quemacocos", lambda c: c["sunroof"] == "No", "es"),
    # The colour column is the dealer's own: nothing in the parser knows colours in advance.
    ("un auto rojo", lambda c: c["color"] == "Rojo", "es"),
    # One colour word is every shade of it: "Blanco" and "Blanco Perla".
    ("a white car", lambda c: c["color"].str.startswith("Blanco"), "en"),
    ("suv gris", lambda c: (c["body"] == "SUV") & c["color"].str.startswith("Gris"), "es"),
    (
        "mazda automático 2018 en adelante con menos de 80 mil km",
        lambda c: (
            (c["make"] == "Mazda") & (c["transmission"] == "Automática") & (c["year"] >= 2018) & (c["km"] <= 80_000)
        ),
        "es",
    ),
    (
        "automatic suv with carplay between 300k and 500k, 2020 or newer",
        lambda c: (
            (c["body"] == "SUV")
            & (c["transmission"] == "Automática")
            & (c["carplay"] == "Sí")
            & c["price"].between(300_000, 500_000)
            & (c["year"] >= 2020)
        ),
        "en",
    ),
]


@pytest.mark.parametrize(("text", "where", "language"), FILTERS, ids=[c[0] for c in FILTERS])
async def test_loose_prices_years_mileage_and_features(
    customer: Customer, text: str, where: Where, language: str
) -> None:
    reply = await customer.say(text)
    matching = CARS[where(CARS)]
    assert_listing(reply, matching, language)
    assert reply["items"] == newest_first(matching)[:3]


# --------------------------------------------------------------------------- sorting


def by_price(frame: pd.DataFrame, ascending: bool = True) -> list[str]:
    return list(frame.sort_values(["price", "year"], ascending=[ascending, False], kind="stable")["stock_id"])


def by_km(frame: pd.DataFrame) -> list[str]:
    return list(
        frame.sort_values(["km", "year", "price"], ascending=[True, False, True], kind="stable", na_position="last")[
            "stock_id"
        ]
    )


SORTS: list[tuple[str, Where, Callable[[pd.DataFrame], list[str]]]] = [
    ("el más barato", lambda c: c["price"] > 0, by_price),
    ("the cheapest", lambda c: c["price"] > 0, by_price),
    ("el más nuevo", lambda c: c["price"] > 0, newest_first),
    ("the newest suv", lambda c: c["body"] == "SUV", newest_first),
    ("la nissan más cara", lambda c: c["make"] == "Nissan", lambda f: by_price(f, ascending=False)),
    ("autos de menos de 300 mil ordenados por precio", lambda c: c["price"] <= 300_000, by_price),
    ("toyotas sorted by mileage", lambda c: c["make"] == "Toyota", by_km),
    ("lowest mileage hatchback", lambda c: c["body"] == "Hatchback", by_km),
]


@pytest.mark.parametrize(("text", "where", "order"), SORTS, ids=[c[0] for c in SORTS])
async def test_sorting(customer: Customer, text: str, where: Where, order: Callable[[pd.DataFrame], list[str]]) -> None:
    reply = await customer.say(text)
    assert reply["agent"] == "catalog"
    # "el más barato" / "the newest SUV" / "la Nissan más cara" is one car; "ordenados por precio" and plurals are
    # the first three.
    count = 1 if text.startswith(("el ", "la ", "the ")) else 3
    assert reply["items"] == order(CARS[where(CARS)])[:count]


@pytest.mark.parametrize(("first", "then"), [("autos mazda", "ordénalos por precio"), ("any mazda?", "the cheapest")])
async def test_sorting_the_list_just_shown(customer: Customer, first: str, then: str) -> None:
    await customer.say(first)
    reply = await customer.say(then)
    count = 1 if then == "the cheapest" else 3  # "the cheapest" is one car
    assert reply["items"] == by_price(CARS[CARS["make"] == "Mazda"])[:count]


# --------------------------------------------------------------------------- nothing matches


@pytest.mark.parametrize(
    ("text", "budget", "words"),
    [
        ("¿tienen un Ferrari de menos de 300 mil?", 300_000, ["Por ahora no tengo Ferrari en inventario"]),
        ("do you have a Tesla under 400k?", 400_000, ["We don't have any Tesla in stock"]),
        ("un bmw de menos de 300 mil", 300_000, ["No tengo BMW de hasta $300,000", "de otras marcas"]),
        ("any bmw under 300k?", 300_000, ["I don't have a BMW up to $300,000", "from other makes"]),
    ],
)
async def test_no_match_offers_other_makes_within_the_budget(
    customer: Customer, text: str, budget: int, words: list[str]
) -> None:
    reply = await customer.say(text)
    for word in words:
        assert word in reply["reply"], reply["reply"]
    shown = cars(reply["items"])
    assert len(shown) == 3 and (shown["price"] <= budget).all()
    # The closest alternatives: the newest cars within the budget, as a plain search would rank them.
    assert reply["items"] == newest_first(CARS[CARS["price"] <= budget])[:3]


async def test_no_match_with_features_keeps_them_and_the_budget(customer: Customer) -> None:
    wanted = (CARS["make"] == "Mazda") & (CARS["sunroof"] == "Sí") & (CARS["price"] <= 250_000)
    assert CARS[wanted].empty
    reply = await customer.say("mazda con quemacocos de menos de 250 mil")
    assert "No tengo Mazda de hasta $250,000, con quemacocos" in reply["reply"]
    shown = cars(reply["items"])
    assert (shown["sunroof"] == "Sí").all() and (shown["price"] <= 250_000).all()
    assert "Sí" not in reply["reply"].splitlines()[0]  # "con quemacocos", not "sí"


@pytest.mark.parametrize(
    ("text", "reason", "where"),
    [
        # Nothing is electric: the nearest fuel the stock has (hybrids), under the other constraints, says so.
        (
            "un auto eléctrico",
            "combustible eléctrico; lo más cercano",
            lambda c: c["fuel"].str.startswith("Híbrido"),
        ),
        (
            "an electric car under 500k",
            "fuel electric; the closest",
            lambda c: c["fuel"].str.startswith("Híbrido") & (c["price"] <= 500_000),
        ),
        # Only the feature nothing has is dropped; the others still hold.
        (
            "un auto color vino automático con quemacocos",
            "(color vino)",
            lambda c: (c["transmission"] == "Automática") & (c["sunroof"] == "Sí"),
        ),
    ],
)
async def test_a_feature_nothing_has_is_named_and_the_rest_kept(
    customer: Customer, text: str, reason: str, where: Where
) -> None:
    reply = await customer.say(text)
    assert reason in reply["reply"], reply["reply"]
    assert reply["items"] == newest_first(CARS[where(CARS)])[:3]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("mazda automático con menos de 20 mil km", "kilometraje hasta 20,000 km"),
        ("an automatic mazda with less than 20k km", "mileage up to 20,000 km"),
    ],
)
async def test_no_match_relaxes_mileage_and_says_so(customer: Customer, text: str, reason: str) -> None:
    candidates = CARS[(CARS["make"] == "Mazda") & (CARS["transmission"] == "Automática")]
    assert (candidates["km"] > 20_000).all()
    reply = await customer.say(text)
    assert reason in reply["reply"]
    # Closest mileage first.
    assert reply["items"] == list(candidates.sort_values("km", kind="stable")["stock_id"].head(3))


@pytest.mark.parametrize(
    ("text", "reason"),
    [("¿tienen un Jetta 2015?", "año 2015"), ("do you have a 2015 jetta?", "year 2015")],
)
async def test_no_match_relaxes_the_year_and_says_so(customer: Customer, text: str, reason: str) -> None:
    reply = await customer.say(text)
    jettas = CARS[CARS["model"] == "Jetta"]
    assert reason in reply["reply"]
    assert set(cars(reply["items"])["model"]) == {"Jetta"}
    # Nearest model years to 2015 first.
    gap = (jettas["year"] - 2015).abs()
    assert reply["items"] == list(
        jettas.assign(gap=gap).sort_values(["gap", "year"], ascending=[True, False])["stock_id"].head(3)
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("autos de menos de 50 mil", "No tengo autos de hasta $50,000"),
        ("cars under 40k", "I don't have any matching cars up to $40,000"),
    ],
)
async def test_under_every_price_says_so_and_shows_the_cheapest(customer: Customer, text: str, words: str) -> None:
    reply = await customer.say(text)
    assert words in reply["reply"]
    assert reply["items"] == by_price(CARS)[:3]


# --------------------------------------------------------------------------- earlier results


@pytest.mark.parametrize(
    ("first", "pick", "index", "labels"),
    [
        ("toyta corola", "el segundo", 1, ("Transmisión", "Combustible")),
        ("do you have a toyota corolla?", "the second one", 1, ("Transmission", "Fuel")),
        ("toyota corolla", "el último", 2, ("Transmisión",)),
        ("toyota corolla please", "number 1", 0, ("Transmission",)),
    ],
)
async def test_pointing_by_position(
    customer: Customer, first: str, pick: str, index: int, labels: tuple[str, ...]
) -> None:
    listing = await customer.say(first)
    detail = await customer.say(pick)
    assert detail["agent"] == "catalog" and detail["items"] == [listing["items"][index]]
    car = cars(detail["items"]).iloc[0]
    assert f"({car.stock_id})" in detail["reply"] and car.version in detail["reply"]
    # The dealer's values in the customer's language: "Gris Plata" reads "Gray Silver" in English.
    assert localized_value(car.color, "en" if labels[0] == "Transmission" else "es") in detail["reply"]
    for label in labels:
        assert f"{label}: " in detail["reply"]


@pytest.mark.parametrize(
    ("first", "pick", "where", "language"),
    [
        ("suv de 300 a 320 mil", "me interesa el Mazda", lambda c: c["make"] == "Mazda", "es"),
        ("suvs between 300k and 320k", "I like the Mazda", lambda c: c["make"] == "Mazda", "en"),
        # By the dealer's own columns and by year: the one shown car that fits.
        ("suv de 300 a 320 mil", "la roja", lambda c: c["color"] == "Rojo", "es"),
        ("any mazda?", "the white one", lambda c: c["color"] == "Blanco", "en"),
        ("toyota corolla", "el híbrido", lambda c: c["fuel"] == "Híbrido", "es"),
        ("toyota corolla", "the 2020 one", lambda c: c["year"] == 2020, "en"),
    ],
)
async def test_pointing_by_name_or_feature(
    customer: Customer, first: str, pick: str, where: Where, language: str
) -> None:
    listing = await customer.say(first)
    shown = cars(listing["items"])
    chosen = shown[where(shown)]
    assert len(chosen) == 1, "precondition: exactly one shown car fits"
    detail = await customer.say(pick)
    assert detail["agent"] == "catalog" and detail["items"] == [chosen.iloc[0].stock_id]
    expected = "¿Te cotizo el financiamiento" if language == "es" else "Shall I quote financing"
    assert expected in detail["reply"]


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
        # "cheaper" overrides the floor of the range asked before: cheaper than what was shown.
        ("suv de 300 a 320 mil", "¿tienes más baratos?", lambda c: c["body"] == "SUV", "es"),
    ],
)
async def test_cheaper_ones(customer: Customer, first: str, more: str, where: Where, language: str) -> None:
    listing = await customer.say(first)
    floor = cars(listing["items"])["price"].min()
    cheaper = await customer.say(more)
    matching = CARS[where(CARS) & (CARS["price"] < floor)]
    assert_listing(cheaper, matching, language)
    # The closest cheaper ones: most expensive below the cheapest shown first.
    assert cheaper["items"] == by_price(matching, ascending=False)[:3]


@pytest.mark.parametrize(
    ("first", "more", "words"),
    [
        ("el más barato", "más baratos", "Esos ya son los más económicos que tengo"),
        ("the cheapest car", "show me cheaper ones", "Those are already the most affordable ones I have"),
    ],
)
async def test_nothing_cheaper_is_said_and_nothing_dearer_is_shown(
    customer: Customer, first: str, more: str, words: str
) -> None:
    listing = await customer.say(first)
    reply = await customer.say(more)
    assert words in reply["reply"] and f"${CARS['price'].min():,.0f}" in reply["reply"]
    assert reply["items"] == []
    # The list is still there to point at.
    again = await customer.say("el primero" if first.startswith("el") else "the first one")
    assert again["items"] == listing["items"][:1]


async def test_cheaper_than_every_toyota_shows_other_makes_below_the_price_and_says_why(customer: Customer) -> None:
    await customer.say("toyotas")
    cheapest = await customer.say("el más barato")
    floor = cars(cheapest["items"])["price"].min()
    assert floor == CARS[CARS["make"] == "Toyota"]["price"].min()
    reply = await customer.say("show me cheaper ones")
    assert "Nothing cheaper matches everything you asked for (make Toyota)" in reply["reply"]
    shown = cars(reply["items"])
    assert (shown["price"] < floor).all() and "Toyota" not in set(shown["make"])
    assert reply["items"] == by_price(CARS[CARS["price"] < floor], ascending=False)[:3]


async def test_other_ones_until_every_match_was_shown(customer: Customer) -> None:
    jettas = newest_first(CARS[CARS["model"] == "Jetta"])
    assert len(jettas) == 6
    first = await customer.say("un jetta")
    second = await customer.say("otros")
    assert first["items"] + second["items"] == jettas
    third = await customer.say("¿tienes otros?")
    assert "Ya te mostré todos los autos que cumplen lo que pediste" in third["reply"]
    assert "modelo Jetta" in third["reply"]
    assert not set(third["items"]) & set(jettas)
    assert set(cars(third["items"])["make"]) == {"Volkswagen"}
