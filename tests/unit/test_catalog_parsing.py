"""Rule-based parsing of customer messages (Spanish and English) into catalog filters."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from app.catalog.frame import build_catalog_frame
from app.catalog.intent import looks_like_catalog_query
from app.catalog.parsing import parse_catalog_query
from app.catalog.schemas import CatalogFilters
from app.catalog.search import search_catalog
from app.catalog.vocabulary import CatalogVocabulary

AUTO, MAN, GAS = "Automática", "Manual", "Gasolina"

# stock_id, make, model, year, price, km, transmission, carplay, sunroof, body, fuel
CARS: list[tuple[Any, ...]] = [
    ("VW-001", "Volkswagen", "Sedan", 2003, 65000, 180000, MAN, "No", "No", "Sedán", GAS),
    ("VW-002", "Volkswagen", "Jetta", 2019, 289000, 45000, AUTO, "Sí", "Sí", "Sedán", GAS),
    ("VW-003", "Volkswagen", "Jetta", 2016, 215000, 88000, MAN, "No", "No", "Sedán", GAS),
    ("VW-004", "Volkswagen", "Tiguan", 2021, 489000, 30000, AUTO, "Si", "Sí", "SUV", GAS),
    ("VW-005", "Volkswagen", "Vento", 2020, 199000, 52000, AUTO, "", None, "Sedán", GAS),
    ("MZ-001", "Mazda", "3", 2019, 265000, 48000, AUTO, "Sí", "Sí", "Sedán", GAS),
    ("MZ-002", "Mazda", "3", 2017, 219000, 75000, MAN, "No", "No", "Hatchback", GAS),
    ("MZ-003", "Mazda", "CX-5", 2020, 389000, 40000, AUTO, "Sí", "Sí", "SUV", GAS),
    ("MZ-004", "Mazda", "CX-5", 2018, 329000, 70000, AUTO, None, "No", "SUV", GAS),
    ("MZ-005", "Mazda", "2", 2021, 239000, 25000, AUTO, "Sí", "No", "Hatchback", GAS),
    ("NI-001", "Nissan", "Versa", 2018, 189999.0, 62000, MAN, "No", "No", "Sedán", GAS),
    ("NI-002", "Nissan", "Versa", 2020, 229000, 41000, AUTO, "Sí", "No", "Sedán", GAS),
    ("NI-003", "Nissan", "Versa", 2022, 275000, 15000, AUTO, "Sí", "No", "Sedán", GAS),
    ("NI-004", "Nissan", "Sentra", 2019, 259000, 58000, AUTO, "Sí", "No", "Sedán", GAS),
    ("NI-005", "Nissan", "Frontier", 2020, 420000, 60000, MAN, "No", "No", "Pickup", "Diésel"),
    ("TO-001", "Toyota", "Corolla", 2018, 255000, 67000, AUTO, "No", "No", "Sedán", GAS),
    ("TO-002", "Toyota", "Corolla", 2021, 335000, 22000, AUTO, "Sí", "Sí", "Sedán", GAS),
    ("TO-003", "Toyota", "RAV4", 2020, 455000, 38000, AUTO, "Sí", "Sí", "SUV", "Híbrido"),
    ("TO-004", "Toyota", "Hilux", 2019, 398000, 90000, MAN, "No", "No", "Pickup", "Diésel"),
    ("HO-001", "Honda", "Civic", 2017, 245000, 85000, AUTO, "No", "Sí", "Sedán", GAS),
    ("HO-002", "Honda", "Civic", 2020, 345000, 35000, AUTO, "Sí", "Sí", "Sedán", GAS),
    ("HO-003", "Honda", "CR-V", 2019, 399000, 55000, AUTO, "Sí", "Sí", "SUV", GAS),
    ("CH-001", "Chevrolet", "Aveo", 2019, 165000, 70000, MAN, "No", "No", "Sedán", GAS),
    ("CH-002", "Chevrolet", "Onix", 2021, 235000, 30000, AUTO, "Sí", "No", "Sedán", GAS),
    ("CH-003", "Chevrolet", "Tracker", 2022, 365000, None, AUTO, "Sí", "Sí", "SUV", GAS),
    ("MB-001", "Mercedes-Benz", "Clase C", 2018, 525000, 60000, AUTO, "Sí", "Sí", "Sedán", GAS),
    ("KI-001", "Kia", "Rio", 2020, 215000, 45000, AUTO, "Sí", "No", "Sedán", GAS),
    ("KI-002", "Kia", "Sportage", 2021, 415000, 32000, AUTO, "Sí", "Sí", "SUV", GAS),
    ("MG-001", "MG", "ZS", 2022, 289000, 18000, AUTO, "Sí", "Sí", "SUV", GAS),
    ("SE-001", "Seat", "Ibiza", 2019, 205000, 60000, MAN, "No", "No", "Hatchback", GAS),
    ("FO-001", "Ford", "Lobo", 2018, 450000, 95000, AUTO, "Sí", "No", "Pickup", GAS),
]
COLUMNS = ("transmission", "carplay", "sunroof", "body", "fuel")


def make_frame(columns: tuple[str, ...] = COLUMNS) -> pd.DataFrame:
    rows = []
    for sid, make, model, year, price, km, *extra in CARS:
        attributes = {c: v for c, v in zip(COLUMNS, extra, strict=True) if c in columns}
        rows.append(
            {
                "stock_id": sid,
                "make": make,
                "model": model,
                "year": year,
                "price": price,
                "km": km,
                "version": None,
                "attributes": attributes,
            }
        )
    return build_catalog_frame(rows)


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return make_frame()


@pytest.fixture(scope="module")
def vocab(df: pd.DataFrame) -> CatalogVocabulary:
    return CatalogVocabulary.from_frame(df)


def parse(text: str, vocab: CatalogVocabulary) -> dict[str, Any]:
    """Only the fields the parser set, for compact assertions."""
    return parse_catalog_query(text, vocab).model_dump(exclude_defaults=True)


# --------------------------------------------------------------------------- price


@pytest.mark.parametrize(
    ("text", "price_min", "price_max"),
    [
        ("menos de 300 mil", None, 300_000),
        ("hasta 250,000", None, 250_000),
        ("máximo $250k", None, 250_000),
        ("maximo 250k", None, 250_000),
        ("under 250k", None, 250_000),
        ("below 300,000", None, 300_000),
        ("less than $180k", None, 180_000),
        ("entre 200 y 300 mil", 200_000, 300_000),
        ("between 200k and 300k", 200_000, 300_000),
        ("de 150 a 200 mil", 150_000, 200_000),
        ("150 a 200 mil", 150_000, 200_000),
        ("de 150 mil a 200", 150_000, 200_000),
        ("200k-300k", 200_000, 300_000),
        ("alrededor de 200 mil", 180_000, 220_000),
        ("around 200k", 180_000, 220_000),
        ("más de 400 mil", 400_000, None),
        ("mas de 400 mil", 400_000, None),
        ("over 400k", 400_000, None),
        ("al menos 300 mil", 300_000, None),
        ("400 mil o más", 400_000, None),
        ("no más de 250 mil", None, 250_000),
        ("presupuesto de 200 mil", None, 200_000),
        ("mi presupuesto es de 200 mil pesos", None, 200_000),
        ("tengo 180 mil", None, 180_000),
        ("$250,000.00", None, 250_000),
        ("250 000", None, 250_000),
        ("250.000", None, 250_000),
        ("250000", None, 250_000),
        ("1.2 millones", None, 1_200_000),
        ("1.2M", None, 1_200_000),
        ("1,5 millones", None, 1_500_000),
        ("un millón", None, 1_000_000),
        ("que no pase de 300", None, 300_000),
    ],
)
def test_price(vocab: CatalogVocabulary, text: str, price_min: float | None, price_max: float | None) -> None:
    filters = parse_catalog_query(text, vocab)
    assert filters.price_min == (pytest.approx(price_min) if price_min is not None else None)
    assert filters.price_max == (pytest.approx(price_max) if price_max is not None else None)
    assert filters.year_min is None and filters.year_max is None and filters.km_max is None


@pytest.mark.parametrize(
    "text",
    [
        "2019",
        "un carro 2019",
        "quiero 3 opciones",
        "a 48 meses",
        "enganche de 50 mil",
        "tengo 2 hijos",
        "con 5 puertas",
        "menos de 5 años de uso",
        "mensualidades de 8 mil",
        "tengo 50 mil de enganche",
        "cambio el enganche a 80 mil",
        "mejor el enganche en 100 mil",
        "que la mensualidad sea menor a 9 mil",
        "el enganche seria de 70 mil",
        "tengo 80 mil para el enganche",
        "change the down payment to 60k",
        "pagar 6 mil al mes",
        "para 7 personas",
        "mi cel es 5512345678",
    ],
)
def test_numbers_that_are_not_prices(vocab: CatalogVocabulary, text: str) -> None:
    filters = parse_catalog_query(text, vocab)
    assert filters.price_min is None and filters.price_max is None


@pytest.mark.parametrize(
    ("text", "price_max"),
    [
        ("enganche bajo y un carro de 300 mil", 300_000),
        ("el enganche de 50 mil y un suv de menos de 400 mil", 400_000),
        ("a pagos hasta 300 mil", 300_000),
        ("mensualidad baja, algo de 250 mil", 250_000),
    ],
)
def test_a_price_said_beside_a_finance_amount_is_kept(vocab: CatalogVocabulary, text: str, price_max: int) -> None:
    assert parse_catalog_query(text, vocab).price_max == price_max


# --------------------------------------------------------------------------- year


@pytest.mark.parametrize(
    ("text", "year_min", "year_max"),
    [
        ("2019", 2019, 2019),
        ("del 2018", 2018, 2018),
        ("modelo 2020", 2020, 2020),
        ("2018 o más nuevo", 2018, None),
        ("2018 o mas reciente", 2018, None),
        ("2018 en adelante", 2018, None),
        ("del 2018 en adelante", 2018, None),
        ("a partir del 2018", 2018, None),
        ("desde 2018", 2018, None),
        ("from 2018", 2018, None),
        ("2018+", 2018, None),
        ("2018 or newer", 2018, None),
        ("newer than 2017", 2018, None),
        ("más nuevo que 2017", 2018, None),
        ("entre 2015 y 2018", 2015, 2018),
        ("between 2015 and 2018", 2015, 2018),
        ("2015-2018", 2015, 2018),
        ("del 2015 al 2018", 2015, 2018),
        ("2018 o 2019", 2018, 2019),
        ("hasta 2015", None, 2015),
        ("2015 o anterior", None, 2015),
        ("before 2015", None, 2014),
    ],
)
def test_year(vocab: CatalogVocabulary, text: str, year_min: int | None, year_max: int | None) -> None:
    filters = parse_catalog_query(text, vocab)
    assert (filters.year_min, filters.year_max) == (year_min, year_max)
    assert filters.price_min is None and filters.price_max is None
    # "más nuevo" inside a year phrase is not a sort request.
    assert filters.sort == "relevance"


def test_year_and_price_together(vocab: CatalogVocabulary) -> None:
    assert parse("un jetta 2019 de menos de 300 mil", vocab) == {
        "make": "Volkswagen",
        "model": "Jetta",
        "year_min": 2019,
        "year_max": 2019,
        "price_max": 300_000,
    }
    assert parse("2019 $2,019,000", vocab) == {"year_min": 2019, "year_max": 2019, "price_max": 2_019_000}
    assert parse("from 2018, under 300k", vocab) == {"year_min": 2018, "price_max": 300_000}


# --------------------------------------------------------------------------- km


@pytest.mark.parametrize(
    ("text", "km_max"),
    [
        ("menos de 50 mil km", 50_000),
        ("menos de 50 mil kilómetros", 50_000),
        ("under 60,000 km", 60_000),
        ("50k km", 50_000),
        ("con 80,000 km o menos", 80_000),
        ("kilometraje menor a 50 mil", 50_000),
        ("poco kilometraje", 60_000),
        ("pocos km", 60_000),
        ("bajo kilometraje", 60_000),
        ("low mileage", 60_000),
        ("poco kilometraje, menos de 40 mil km", 40_000),
    ],
)
def test_km(vocab: CatalogVocabulary, text: str, km_max: int) -> None:
    filters = parse_catalog_query(text, vocab)
    assert filters.km_max == km_max
    assert filters.price_max is None and filters.price_min is None


def test_km_and_price_in_one_message(vocab: CatalogVocabulary) -> None:
    assert parse("menos de 50 mil km y menos de 300 mil", vocab) == {"km_max": 50_000, "price_max": 300_000}
    assert parse("kilometraje menor a 50 mil y precio hasta 300 mil", vocab) == {"km_max": 50_000, "price_max": 300_000}
    assert parse("poco kilometraje, menos de 250 mil", vocab) == {"km_max": 60_000, "price_max": 250_000}
    assert parse("low km under 300k", vocab) == {"km_max": 60_000, "price_max": 300_000}
    assert parse("km: 40,000 máximo", vocab) == {"km_max": 40_000}


# --------------------------------------------------------------------------- sort


@pytest.mark.parametrize(
    ("text", "sort"),
    [
        ("el más barato", "price_asc"),
        ("cuál es el mas barato?", "price_asc"),
        ("the cheapest", "price_asc"),
        ("algo económico", "price_asc"),
        ("el más nuevo", "year_desc"),
        ("the newest", "year_desc"),
        ("lo más reciente", "year_desc"),
        ("el que tenga menos km", "km_asc"),
        ("menor kilometraje", "km_asc"),
        ("lowest mileage", "km_asc"),
        ("el más caro", "price_desc"),
        ("most expensive", "price_desc"),
        ("un jetta", "relevance"),
    ],
)
def test_sort(vocab: CatalogVocabulary, text: str, sort: str) -> None:
    assert parse_catalog_query(text, vocab).sort == sort


def test_limit(vocab: CatalogVocabulary) -> None:
    assert parse_catalog_query("muéstrame 5 opciones", vocab).limit == 5
    assert parse_catalog_query("show me 20 cars", vocab).limit == 10
    assert parse_catalog_query("un versa", vocab).limit == 3


# --------------------------------------------------------------------------- features


@pytest.mark.parametrize(
    ("text", "features"),
    [
        ("automático", {"transmission": "Automática"}),
        ("automatica", {"transmission": "Automática"}),
        ("automatic", {"transmission": "Automática"}),
        ("estándar", {"transmission": "Manual"}),
        ("manual", {"transmission": "Manual"}),
        ("con carplay", {"carplay": "Sí"}),
        ("with CarPlay", {"carplay": "Sí"}),
        ("apple car play", {"carplay": "Sí"}),
        ("quemacocos", {"sunroof": "Sí"}),
        ("with a sunroof", {"sunroof": "Sí"}),
        ("sin quemacocos", {"sunroof": "No"}),
        ("híbrido", {"fuel": "Híbrido"}),
        ("hybrid", {"fuel": "Híbrido"}),
        ("diesel", {"fuel": "Diésel"}),
        ("una SUV", {"body": "SUV"}),
        ("camioneta", {"body": "SUV"}),
        ("pickup", {"body": "Pickup"}),
        ("pick up", {"body": "Pickup"}),
        ("sedán", {"body": "Sedán"}),
        ("sedan", {"body": "Sedán"}),
        ("hatchback", {"body": "Hatchback"}),
        ("camioneta automática con carplay", {"body": "SUV", "transmission": "Automática", "carplay": "Sí"}),
        ("automático o estándar", {}),
        ("android auto", {}),
    ],
)
def test_features(vocab: CatalogVocabulary, text: str, features: dict[str, str]) -> None:
    assert parse_catalog_query(text, vocab).features == features


def test_features_only_for_columns_the_catalog_has() -> None:
    vocab = CatalogVocabulary.from_frame(make_frame(("transmission", "body")))
    filters = parse_catalog_query("suv automática con carplay, quemacocos y bluetooth, híbrida", vocab)
    assert filters.features == {"transmission": "Automática", "body": "SUV"}


def test_feature_values_use_the_catalog_spelling() -> None:
    rows = [
        {
            "stock_id": "A",
            "make": "Kia",
            "model": "Rio",
            "year": 2020,
            "price": 1.0,
            "attributes": {"Transmisión": "AUTOMATICO", "bluetooth": True, "tipo": "Camioneta"},
        },
        {
            "stock_id": "B",
            "make": "Kia",
            "model": "Rio",
            "year": 2020,
            "price": 1.0,
            "attributes": {"Transmisión": "Estándar", "bluetooth": False, "tipo": "Sedán"},
        },
    ]
    vocab = CatalogVocabulary.from_frame(build_catalog_frame(rows))
    assert parse_catalog_query("automatic with bluetooth", vocab).features == {
        "Transmisión": "AUTOMATICO",
        "bluetooth": "Sí",
    }
    assert parse_catalog_query("manual", vocab).features == {"Transmisión": "Estándar"}
    assert parse_catalog_query("una camioneta", vocab).features == {"tipo": "Camioneta"}


# --------------------------------------------------------------------------- make / model


@pytest.mark.parametrize(
    ("text", "make", "model"),
    [
        ("un Jetta 2019", "Volkswagen", "Jetta"),
        ("busco un vocho", "Volkswagen", "Sedan"),
        ("tienen bocho?", "Volkswagen", "Sedan"),
        ("a classic beetle", "Volkswagen", "Sedan"),
        ("Volkswagen Sedan", "Volkswagen", "Sedan"),
        ("jeta", "Volkswagen", "Jetta"),
        ("vw jetta", "Volkswagen", "Jetta"),
        ("un versa", "Nissan", "Versa"),
        ("un bersa", "Nissan", "Versa"),
        ("corola 2018", "Toyota", "Corolla"),
        ("toyta corolla", "Toyota", "Corolla"),
        ("civic", "Honda", "Civic"),
        ("una cx5", "Mazda", "CX-5"),
        ("una cx 5", "Mazda", "CX-5"),
        ("una CX-5", "Mazda", "CX-5"),
        ("mazda 3", "Mazda", "3"),
        ("Mazda3 automático", "Mazda", "3"),
        ("un mazda 2 2021", "Mazda", "2"),
        ("mercedes clase c", "Mercedes-Benz", "Clase C"),
        ("toyota", "Toyota", None),
        ("toyta", "Toyota", None),
        ("mazada", "Mazda", None),
        ("tienen volkswagen?", "Volkswagen", None),
        ("algo de vw", "Volkswagen", None),
        ("volks", "Volkswagen", None),
        ("wolkswagen", "Volkswagen", None),
        ("chevy", "Chevrolet", None),
        ("mercedes", "Mercedes-Benz", None),
        ("mercedez", "Mercedes-Benz", None),
        ("benz", "Mercedes-Benz", None),
        ("un MG", "MG", None),
        ("kia", "Kia", None),
        ("tienen kias?", "Kia", None),
        ("seat", "Seat", None),
        ("un BMW", "BMW", None),
        ("un mazda del 2019", "Mazda", None),
        ("Nissan o Toyota", "Nissan", None),
    ],
)
def test_make_and_model(vocab: CatalogVocabulary, text: str, make: str | None, model: str | None) -> None:
    filters = parse_catalog_query(text, vocab)
    assert (filters.make, filters.model) == (make, model)


def test_numeric_model_is_not_a_price_or_year(vocab: CatalogVocabulary) -> None:
    assert parse("mazda 3 2019 menos de 300 mil", vocab) == {
        "make": "Mazda",
        "model": "3",
        "year_min": 2019,
        "year_max": 2019,
        "price_max": 300_000,
    }
    # A lone number never becomes a model.
    assert parse("5 opciones", vocab) == {"limit": 5}


def test_sedan_alone_is_a_body_type_not_the_classic_vw(vocab: CatalogVocabulary) -> None:
    assert parse("un sedán automático", vocab) == {"features": {"body": "Sedán", "transmission": "Automática"}}
    assert parse("volkswagen sedan", vocab) == {"make": "Volkswagen", "model": "Sedan"}


@pytest.mark.parametrize(
    "text",
    [
        "carro",
        "auto",
        "quiero",
        "precio",
        "the",
        "have",
        "cars",
        "menos",
        "mil",
        "años",
        "km",
        "mas",
        "año",
        "that",
        "show",
        "do",
        "you",
        "quiero un carro, cuál es el precio?",
        "do you have cars? show me that",
        "qué autos tienen de menos años y más km",
        "que onda, buenas tardes",
        "7 seats",
        "hola, quiero saber el precio de los carros que tienen",
    ],
)
def test_common_words_are_never_makes_or_models(vocab: CatalogVocabulary, text: str) -> None:
    filters = parse_catalog_query(text, vocab)
    assert filters.make is None
    assert filters.model is None


# --------------------------------------------------------------------------- whole messages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Hola! busco un Mazda 3 automático del 2018 en adelante, hasta $280,000",
            {
                "make": "Mazda",
                "model": "3",
                "year_min": 2018,
                "price_max": 280_000,
                "features": {"transmission": "Automática"},
            },
        ),
        (
            "Do you have an automatic SUV with CarPlay between 300k and 400k, low mileage?",
            {
                "price_min": 300_000,
                "price_max": 400_000,
                "km_max": 60_000,
                "features": {"transmission": "Automática", "body": "SUV", "carplay": "Sí"},
            },
        ),
        (
            "el versa más barato que tengan",
            # One car, the cheapest of the model named.
            {"make": "Nissan", "model": "Versa", "sort": "price_asc", "limit": 1},
        ),
        (
            "camioneta diesel 2019 o más nueva con menos de 100 mil km",
            {"year_min": 2019, "km_max": 100_000, "features": {"body": "SUV", "fuel": "Diésel"}},
        ),
        (
            "una pick up diésel entre 2018 y 2020, presupuesto de 450 mil",
            {
                "year_min": 2018,
                "year_max": 2020,
                "price_max": 450_000,
                "features": {"body": "Pickup", "fuel": "Diésel"},
            },
        ),
    ],
)
def test_whole_messages(vocab: CatalogVocabulary, text: str, expected: dict[str, Any]) -> None:
    assert parse(text, vocab) == expected


@pytest.mark.parametrize(
    ("text", "stock_ids", "relaxed"),
    [
        ("un Jetta 2019", ["VW-002"], []),
        ("busco un vocho", ["VW-001"], []),
        ("mazda 3 automático menos de 300 mil", ["MZ-001"], []),
        # "el más barato" is one car: the cheapest match.
        ("versa 2020 o más nuevo, el más barato", ["NI-002"], []),
        # No CX-5 within budget: other Mazdas first (model relaxed), before going over budget.
        ("una cx5 de menos de 300 mil", ["MZ-005", "MZ-001", "MZ-002"], ["model"]),
        ("una cx5 de menos de 200 mil", ["MZ-002"], ["model", "price_max"]),
        ("camioneta híbrida", ["TO-003"], []),
        ("el corola más nuevo", ["TO-002"], []),  # one car: the newest Corolla
        ("sedán con quemacocos hasta 250 mil", ["HO-001"], []),
        ("un jetta de menos de 200 mil", ["VW-005", "VW-001"], ["model"]),
        ("un BMW de menos de 200 mil", ["VW-005", "CH-001", "NI-001"], ["make"]),
    ],
)
def test_parse_then_search(
    df: pd.DataFrame, vocab: CatalogVocabulary, text: str, stock_ids: list[str], relaxed: list[str]
) -> None:
    result = search_catalog(df, parse_catalog_query(text, vocab), vocab)
    assert [c.stock_id for c in result.items] == stock_ids
    assert result.relaxed == relaxed


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    "text",
    [
        "¿Qué carros tienen?",
        "what cars do you have?",
        "tienen SUVs?",
        "busco camioneta",
        "un sedán",
        "inventario",
        "qué tienen disponible",
        "stock de autos",
        "un jetta",
        "algo de 200 mil",
        "el más barato",
        "tienen toyotas?",
        "Mazda",
        "do you sell pickups?",
        "seminuevos",
    ],
)
def test_looks_like_catalog_query(vocab: CatalogVocabulary, text: str) -> None:
    assert looks_like_catalog_query(text, vocab)


@pytest.mark.parametrize(
    "text",
    [
        "hola",
        "buenas tardes",
        "¿tienen financiamiento?",
        "what are your hours?",
        "¿dónde están ubicados?",
        "gracias",
        "quiero hablar con un asesor",
        "¿cuál es el enganche mínimo?",
        "ok",
        "do you have a warranty?",
    ],
)
def test_does_not_look_like_catalog_query(vocab: CatalogVocabulary, text: str) -> None:
    assert not looks_like_catalog_query(text, vocab)


@pytest.mark.parametrize(
    "text",
    [
        "menos " + " " * 4000 + "x",
        "menos de " * 450,
        "1 " * 2000,
        "de " * 1300 + "5",
        "sin " * 1000 + "quemacocos",
        "toyta " * 600,
        "",
        "   ",
        "😀🚗",
        "$$$",
        "----",
    ],
)
def test_long_or_odd_messages_parse_quickly(vocab: CatalogVocabulary, text: str) -> None:
    # Regression guard: nested regex quantifiers once made blank runs take exponential time.
    assert isinstance(parse_catalog_query(text, vocab), CatalogFilters)


def test_parser_output_is_valid_tool_input(vocab: CatalogVocabulary) -> None:
    filters = parse_catalog_query("mazda 3 automático 2019+ menos de 300 mil, el más barato", vocab)
    assert CatalogFilters.model_validate(filters.model_dump(mode="json")) == filters
