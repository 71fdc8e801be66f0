"""Catalog DataFrame engine: frame building, vocabulary, filtering, ranking, relaxation, cards."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from app.catalog.cards import format_card
from app.catalog.frame import build_catalog_frame
from app.catalog.keys import value_key
from app.catalog.schemas import CarCard, CatalogFilters
from app.catalog.search import search_catalog
from app.catalog.vocabulary import CatalogVocabulary

AUTO, MAN, GAS = "Automática", "Manual", "Gasolina"

# stock_id, make, model, year, price, km, version, transmission, carplay, body, fuel, bluetooth
CARS: list[tuple[Any, ...]] = [
    ("VW-001", "Volkswagen", "Sedan", 2003, 65000, 180000, "Clásico", MAN, "No", "Sedán", GAS, False),
    ("VW-002", "Volkswagen", "Jetta", 2019, 289000, 45000, "Comfortline", AUTO, "Sí", "Sedán", GAS, True),
    ("VW-003", "Volkswagen", "Jetta", 2016, 215000, 88000, "Trendline", MAN, "No", "Sedán", GAS, True),
    ("VW-004", "Volkswagen", "Tiguan", 2021, 489000, 30000, "Comfortline", AUTO, "Si", "SUV", GAS, True),
    ("VW-005", "Volkswagen", "Vento", 2020, 199000, 52000, None, AUTO, "", "Sedán", GAS, None),
    ("MZ-001", "Mazda", "3", 2019, 265000, 48000, "i Sport", AUTO, "Sí", "Sedán", GAS, True),
    ("MZ-002", "Mazda", "3", 2017, 219000, 75000, "i Touring", MAN, "No", "Hatchback", GAS, True),
    ("MZ-003", "Mazda", "CX-5", 2020, 389000, 40000, "i Grand Touring", AUTO, "Sí", "SUV", GAS, True),
    ("MZ-004", "Mazda", "CX-5", 2018, 329000, 70000, "i Sport", AUTO, None, "SUV", GAS, True),
    ("MZ-005", "Mazda", "2", 2021, 239000, 25000, "i", AUTO, "Sí", "Hatchback", GAS, True),
    ("NI-001", "Nissan", "Versa", 2018, 189999.0, 62000, "Sense", MAN, "No", "Sedán", GAS, False),
    ("NI-002", "Nissan", "Versa", 2020, 229000, 41000, "Advance", AUTO, "Sí", "Sedán", GAS, True),
    ("NI-003", "Nissan", "Versa", 2022, 275000, 15000, "Exclusive", AUTO, "Sí", "Sedán", GAS, True),
    ("NI-004", "Nissan", "Sentra", 2019, 259000, 58000, "Advance", AUTO, "Sí", "Sedán", GAS, True),
    ("NI-005", "Nissan", "Frontier", 2020, 420000, 60000, "LE", MAN, "No", "Pickup", "Diésel", False),
    ("TO-001", "Toyota", "Corolla", 2018, 255000, 67000, "LE", AUTO, "No", "Sedán", GAS, True),
    ("TO-002", "Toyota", "Corolla", 2021, 335000, 22000, "SE", AUTO, "Sí", "Sedán", GAS, True),
    ("TO-003", "Toyota", "RAV4", 2020, 455000, 38000, "Hybrid", AUTO, "Sí", "SUV", "Híbrido", True),
    ("TO-004", "Toyota", "Hilux", 2019, 398000, 90000, None, MAN, "No", "Pickup", "Diésel", False),
    ("HO-001", "Honda", "Civic", 2017, 245000, 85000, "EX", AUTO, "No", "Sedán", GAS, True),
    ("HO-002", "Honda", "Civic", 2020, 345000, 35000, "Touring", AUTO, "Sí", "Sedán", GAS, True),
    ("HO-003", "Honda", "CR-V", 2019, 399000, 55000, "Turbo Plus", AUTO, "Sí", "SUV", GAS, True),
    ("CH-001", "Chevrolet", "Aveo", 2019, 165000, 70000, "LT", MAN, "No", "Sedán", GAS, False),
    ("CH-002", "Chevrolet", "Onix", 2021, 235000, 30000, "Premier", AUTO, "Sí", "Sedán", GAS, True),
    ("CH-003", "Chevrolet", "Tracker", 2022, 365000, None, "LT", AUTO, "Sí", "SUV", GAS, True),
    ("MB-001", "Mercedes-Benz", "Clase C", 2018, 525000, 60000, "C200", AUTO, "Sí", "Sedán", GAS, True),
    ("KI-001", "Kia", "Rio", 2020, 215000, 45000, "EX", AUTO, "Sí", "Sedán", GAS, True),
    ("KI-002", "Kia", "Sportage", 2021, 415000, 32000, "SXL", AUTO, "Sí", "SUV", GAS, True),
    ("MG-001", "MG", "ZS", 2022, 289000, 18000, "Excite", AUTO, "Sí", "SUV", GAS, True),
    ("SE-001", "Seat", "Ibiza", 2019, 205000, 60000, "Style", MAN, "No", "Hatchback", GAS, False),
    ("FO-001", "Ford", "Lobo", 2018, 450000, 95000, "XLT", AUTO, "Sí", "Pickup", GAS, True),
]


def car_rows(cars: list[tuple[Any, ...]] = CARS) -> Iterator[dict[str, Any]]:
    for sid, make, model, year, price, km, version, trans, carplay, body, fuel, bluetooth in cars:
        yield {
            "stock_id": sid,
            "make": make,
            "model": model,
            "year": year,
            "price": price,
            "km": km,
            "version": version,
            "attributes": {
                "transmission": trans,
                "carplay": carplay,
                "body": body,
                "fuel": fuel,
                "bluetooth": bluetooth,
            },
        }


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return build_catalog_frame(car_rows())


@pytest.fixture(scope="module")
def vocab(df: pd.DataFrame) -> CatalogVocabulary:
    return CatalogVocabulary.from_frame(df)


def ids(df: pd.DataFrame, **filters: Any) -> list[str]:
    return [c.stock_id for c in search_catalog(df, CatalogFilters(**filters)).items]


# --------------------------------------------------------------------------- frame


def test_frame_types_helpers_and_attributes(df: pd.DataFrame) -> None:
    assert len(df) == len(CARS)
    assert df["year"].dtype == np.int64
    assert df["price"].dtype == np.float64
    assert str(df["km"].dtype) == "Int64"
    assert df.loc[df["stock_id"] == "CH-003", "km"].isna().all()
    for column in ("make_key", "model_key", "transmission", "carplay", "body", "fuel", "bluetooth"):
        assert column in df.columns
    assert df.loc[df["stock_id"] == "MB-001", "make_key"].iloc[0] == "mercedesbenz"
    assert df.loc[df["stock_id"] == "MZ-003", "model_key"].iloc[0] == "cx5"
    # Empty cells become missing values, not empty strings.
    assert df.loc[df["stock_id"] == "VW-005", "carplay"].iloc[0] is None
    assert df.loc[df["stock_id"] == "NI-001", "price"].iloc[0] == 189999.0


def test_attribute_named_like_a_core_column_does_not_shadow_it() -> None:
    frame = build_catalog_frame(
        [{"stock_id": "A", "make": "Kia", "model": "Rio", "year": 2020, "price": 1.0, "attributes": {"price": "x"}}]
    )
    assert frame["price"].iloc[0] == 1.0
    assert frame["attr_price"].iloc[0] == "x"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Sí", "si"),
        ("si", "si"),
        ("YES", "si"),
        (True, "si"),
        (False, "no"),
        ("No", "no"),
        ("", ""),
        (None, ""),
        (float("nan"), ""),
        ("Automático", "automatica"),
        ("automatic", "automatica"),
        ("Estándar", "manual"),
        ("Híbrido", "hibrido"),
        ("hybrid", "hibrido"),
        (4.0, "4"),
    ],
)
def test_value_key(raw: Any, key: str) -> None:
    assert value_key(raw) == key


# --------------------------------------------------------------------------- vocabulary


@pytest.mark.parametrize(
    ("text", "make"),
    [
        ("Toyota", "Toyota"),
        ("toyta", "Toyota"),
        ("TOYOTA", "Toyota"),
        ("mazada", "Mazda"),
        ("masda", "Mazda"),
        ("volkswagen", "Volkswagen"),
        ("vw", "Volkswagen"),
        ("VW", "Volkswagen"),
        ("volks", "Volkswagen"),
        ("wolkswagen", "Volkswagen"),
        ("chevy", "Chevrolet"),
        ("mercedes", "Mercedes-Benz"),
        ("mercedez", "Mercedes-Benz"),
        ("benz", "Mercedes-Benz"),
        ("Mercedes Benz", "Mercedes-Benz"),
        ("nisan", "Nissan"),
        ("MG", "MG"),
        ("kia", "Kia"),
        ("kias", "Kia"),
        ("seat", "Seat"),
        ("toyotas", "Toyota"),
    ],
)
def test_match_make(vocab: CatalogVocabulary, text: str, make: str) -> None:
    assert vocab.match_make(text) == make


def test_match_make_only_knows_stocked_makes(vocab: CatalogVocabulary) -> None:
    assert vocab.match_make("BMW") is None
    assert vocab.match_any_make("BMW") == "BMW"
    assert vocab.match_any_make("porche") == "Porsche"
    assert vocab.match_any_make("vw") == "Volkswagen"


@pytest.mark.parametrize(
    ("phrase", "make", "expected"),
    [
        ("vocho", None, ("Volkswagen", "Sedan")),
        ("bocho", None, ("Volkswagen", "Sedan")),
        ("beetle", None, ("Volkswagen", "Sedan")),
        ("jeta", None, ("Volkswagen", "Jetta")),
        ("Jetta", None, ("Volkswagen", "Jetta")),
        ("jettas", None, ("Volkswagen", "Jetta")),
        ("versa", None, ("Nissan", "Versa")),
        ("bersa", None, ("Nissan", "Versa")),
        ("corola", None, ("Toyota", "Corolla")),
        ("civic", None, ("Honda", "Civic")),
        ("cx5", None, ("Mazda", "CX-5")),
        ("cx 5", None, ("Mazda", "CX-5")),
        ("CX-5", None, ("Mazda", "CX-5")),
        ("mazda 3", None, ("Mazda", "3")),
        ("mazda3", None, ("Mazda", "3")),
        ("Mazda 2", None, ("Mazda", "2")),
        ("3", "Mazda", ("Mazda", "3")),
        ("sedan", "Volkswagen", ("Volkswagen", "Sedan")),
        ("vw jetta", None, ("Volkswagen", "Jetta")),
        ("crv", None, ("Honda", "CR-V")),
        ("clase c", None, ("Mercedes-Benz", "Clase C")),
        ("sentra", "nissan", ("Nissan", "Sentra")),
    ],
)
def test_match_model(vocab: CatalogVocabulary, phrase: str, make: str | None, expected: tuple[str, str]) -> None:
    assert vocab.match_model(phrase, make) == expected


@pytest.mark.parametrize(
    ("phrase", "make"),
    [
        ("3", None),
        ("2", None),
        ("sedan", None),
        ("sedan", "Toyota"),
        ("jetta", "Nissan"),
        ("jetta", "BMW"),
        ("golf", None),
        ("", None),
    ],
)
def test_match_model_rejects(vocab: CatalogVocabulary, phrase: str, make: str | None) -> None:
    assert vocab.match_model(phrase, make) is None


FALSE_POSITIVES = [
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
    "onda",
    "seats",
    "autos",
    "carros",
    "tienen",
    "modelo",
    "nuevo",
    "barato",
    "hola",
    "gracias",
    "camioneta",
    "what",
    "with",
    "want",
    "busco",
    "cuanto",
    "precios",
    "sedan",
]


@pytest.mark.parametrize("word", FALSE_POSITIVES)
def test_common_words_are_not_makes_or_models(vocab: CatalogVocabulary, word: str) -> None:
    assert vocab.match_make(word) is None
    assert vocab.match_any_make(word) is None
    assert vocab.match_model(word) is None


def test_vocabulary_attribute_values(vocab: CatalogVocabulary) -> None:
    assert vocab.feature_column("Transmisión", "transmission") == "transmission"
    assert vocab.attribute_values["transmission"] == {"manual": "Manual", "automatica": "Automática"}
    assert vocab.attribute_values["carplay"]["si"] in ("Sí", "Si")
    # Boolean columns read as Sí/No, never "True".
    assert vocab.attribute_values["bluetooth"] == {"no": "No", "si": "Sí"}


# --------------------------------------------------------------------------- filters model


def test_filters_model_is_strict_and_documented() -> None:
    with pytest.raises(ValidationError):
        CatalogFilters.model_validate({"brand": "Kia"})
    with pytest.raises(ValidationError):
        CatalogFilters(limit=0)
    with pytest.raises(ValidationError):
        CatalogFilters(limit=11)
    with pytest.raises(ValidationError):
        CatalogFilters.model_validate({"sort": "random"})
    swapped = CatalogFilters(year_min=2020, year_max=2015, price_min=300000, price_max=100000, make="  ")
    assert (swapped.year_min, swapped.year_max) == (2015, 2020)
    assert (swapped.price_min, swapped.price_max) == (100000, 300000)
    assert swapped.make is None
    schema = CatalogFilters.model_json_schema()
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name
        assert "\n" not in prop["description"]
    assert CatalogFilters.model_validate(CatalogFilters(make="Kia").model_dump(mode="json")).make == "Kia"


# --------------------------------------------------------------------------- exact search


def test_make_and_model(df: pd.DataFrame) -> None:
    assert set(ids(df, make="Nissan", model="Versa", limit=10)) == {"NI-001", "NI-002", "NI-003"}
    assert set(ids(df, model="3", limit=10)) == {"MZ-001", "MZ-002"}
    assert set(ids(df, make="mazda", limit=10)) == {"MZ-001", "MZ-002", "MZ-003", "MZ-004", "MZ-005"}


def test_year_price_and_km_ranges(df: pd.DataFrame) -> None:
    result = search_catalog(df, CatalogFilters(year_min=2019, year_max=2020, price_max=260000, limit=10))
    assert {c.stock_id for c in result.items} == {"VW-005", "NI-002", "NI-004", "KI-001", "CH-001", "SE-001"}
    assert result.total == 6
    assert result.relaxed == []
    assert all(2019 <= c.year <= 2020 and c.price <= 260000 for c in result.items)
    assert set(ids(df, price_min=450000, limit=10)) == {"VW-004", "TO-003", "MB-001", "FO-001"}
    # Unknown mileage never passes a km_max filter.
    low_km = search_catalog(df, CatalogFilters(km_max=30000, limit=10))
    assert {c.stock_id for c in low_km.items} == {"VW-004", "MZ-005", "NI-003", "TO-002", "CH-002", "MG-001"}


def test_float_price_is_kept(df: pd.DataFrame) -> None:
    card = search_catalog(df, CatalogFilters(model="Versa", sort="price_asc", limit=1)).items[0]
    assert card.stock_id == "NI-001"
    assert card.price == 189999.0
    assert ids(df, model="Versa", price_max=189999) == ["NI-001"]
    just_below = search_catalog(df, CatalogFilters(model="Versa", price_max=189998))
    assert just_below.relaxed == ["price_max"]


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        ({"transmission": "Automática"}, {"MZ-001", "MZ-003", "MZ-004", "MZ-005"}),
        ({"transmission": "automatica"}, {"MZ-001", "MZ-003", "MZ-004", "MZ-005"}),
        ({"Transmisión": "AUTOMATIC"}, {"MZ-001", "MZ-003", "MZ-004", "MZ-005"}),
        ({"transmission": "estándar"}, {"MZ-002"}),
        ({"carplay": "Sí"}, {"MZ-001", "MZ-003", "MZ-005"}),
        ({"carplay": "yes"}, {"MZ-001", "MZ-003", "MZ-005"}),
        ({"carplay": "no"}, {"MZ-002"}),
        ({"bluetooth": "si"}, {"MZ-001", "MZ-002", "MZ-003", "MZ-004", "MZ-005"}),
        ({"body": "suv"}, {"MZ-003", "MZ-004"}),
        ({"body": "SUV", "carplay": "Sí"}, {"MZ-003"}),
    ],
)
def test_features_case_and_accent_insensitive(df: pd.DataFrame, features: dict[str, str], expected: set[str]) -> None:
    result = search_catalog(df, CatalogFilters(make="Mazda", features=features, limit=10))
    assert {c.stock_id for c in result.items} == expected
    assert result.relaxed == []


def test_tool_call_feature_values_may_be_booleans(df: pd.DataFrame) -> None:
    filters = CatalogFilters.model_validate({"make": "Mazda", "features": {"carplay": True, "bluetooth": True}})
    assert filters.features == {"carplay": "Sí", "bluetooth": "Sí"}
    assert {c.stock_id for c in search_catalog(df, filters.model_copy(update={"limit": 10})).items} == {
        "MZ-001",
        "MZ-003",
        "MZ-005",
    }


def test_empty_cells_do_not_match_yes_or_no(df: pd.DataFrame) -> None:
    yes = set(ids(df, make="Volkswagen", features={"carplay": "Sí"}, limit=10))
    no = set(ids(df, make="Volkswagen", features={"carplay": "No"}, limit=10))
    assert yes == {"VW-002", "VW-004"}  # "Si" without accent counts
    assert no == {"VW-001", "VW-003"}
    assert "VW-005" not in yes | no


def test_unknown_feature_column_is_reported_not_applied(df: pd.DataFrame) -> None:
    result = search_catalog(df, CatalogFilters(make="Kia", features={"sunroof": "Sí"}, limit=10))
    assert {c.stock_id for c in result.items} == {"KI-001", "KI-002"}
    assert result.unknown_features == ["sunroof"]


# --------------------------------------------------------------------------- ranking


def test_relevance_is_newest_then_cheapest(df: pd.DataFrame) -> None:
    assert ids(df, make="Nissan", limit=5) == ["NI-003", "NI-002", "NI-005", "NI-004", "NI-001"]
    assert ids(df, limit=3) == ["NI-003", "MG-001", "CH-003"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price_asc", ["NI-001", "NI-002", "NI-004", "NI-003", "NI-005"]),
        ("price_desc", ["NI-005", "NI-003", "NI-004", "NI-002", "NI-001"]),
        ("year_desc", ["NI-003", "NI-002", "NI-005", "NI-004", "NI-001"]),
        ("km_asc", ["NI-003", "NI-002", "NI-004", "NI-005", "NI-001"]),
    ],
)
def test_sort_orders(df: pd.DataFrame, sort: str, expected: list[str]) -> None:
    assert ids(df, make="Nissan", sort=sort, limit=5) == expected


def test_km_asc_puts_unknown_mileage_last(df: pd.DataFrame) -> None:
    assert ids(df, make="Chevrolet", sort="km_asc") == ["CH-002", "CH-001", "CH-003"]


def test_limit_and_total(df: pd.DataFrame) -> None:
    result = search_catalog(df, CatalogFilters(make="Volkswagen", limit=2))
    assert len(result.items) == 2
    assert result.total == 5
    assert len(search_catalog(df, CatalogFilters(limit=10)).items) == 10


def test_exclude_ids(df: pd.DataFrame) -> None:
    first = ids(df, model="Versa", limit=2)
    rest = ids(df, model="Versa", exclude_ids=first, limit=3)
    assert rest == ["NI-001"]
    assert not set(first) & set(rest)


# --------------------------------------------------------------------------- relaxation


def test_relax_year_when_no_car_of_that_year(df: pd.DataFrame) -> None:
    result = search_catalog(df, CatalogFilters(model="Jetta", year_min=2022, year_max=2022))
    # Only the bound the shown cars break is reported: they are all older, none newer.
    assert result.relaxed == ["year_min"]
    # Closest year to the one asked first.
    assert [c.stock_id for c in result.items] == ["VW-002", "VW-003"]
    assert result.applied.year_min is None


def test_relaxed_filter_met_by_every_match_is_not_reported(df: pd.DataFrame) -> None:
    # Dropping the model (then widening the price) only found another Versa: the model held.
    result = search_catalog(df, CatalogFilters(model="Versa", price_max=180000))
    assert [c.stock_id for c in result.items] == ["NI-001"]
    assert result.relaxed == ["price_max"]


def test_relax_km(df: pd.DataFrame) -> None:
    result = search_catalog(df, CatalogFilters(model="Civic", km_max=20000))
    assert result.relaxed == ["km_max"]
    assert [c.stock_id for c in result.items] == ["HO-002", "HO-001"]


def test_relax_model_keeps_make_and_budget(df: pd.DataFrame) -> None:
    result = search_catalog(df, CatalogFilters(model="Jetta", price_max=200000, limit=5))
    assert result.relaxed == ["model"]
    assert {c.stock_id for c in result.items} == {"VW-005", "VW-001"}
    assert all(c.make == "Volkswagen" and c.price <= 200000 for c in result.items)


def test_relax_price_only_up_to_fifteen_percent_and_says_so(df: pd.DataFrame) -> None:
    result = search_catalog(df, CatalogFilters(make="Honda", price_max=230000))
    assert "price_max" in result.relaxed
    assert [c.stock_id for c in result.items] == ["HO-001"]  # 245k is within +15% of 230k
    assert all(c.price <= 230000 * 1.15 for c in result.items)
    assert result.applied.price_max == pytest.approx(264500)


def test_unstocked_make_offers_other_makes_within_budget(df: pd.DataFrame) -> None:
    result = search_catalog(df, CatalogFilters(make="BMW", price_max=200000, limit=5))
    assert result.relaxed == ["make"]
    assert {c.stock_id for c in result.items} == {"VW-005", "NI-001", "CH-001", "VW-001"}
    assert all(c.price <= 200000 for c in result.items)


def test_nothing_at_all(df: pd.DataFrame) -> None:
    result = search_catalog(df, CatalogFilters(price_max=10000))
    assert result.items == []
    assert result.total == 0
    result = search_catalog(df, CatalogFilters(features={"fuel": "eléctrico"}))
    assert result.items == [] and result.relaxed == []


@pytest.mark.parametrize(
    "filters",
    [
        {"make": "Toyota", "price_max": 250000},
        {"model": "CX-5", "price_max": 300000, "year_min": 2021},
        {"make": "Kia", "model": "Rio", "price_max": 200000, "km_max": 10000},
        {"make": "Ford", "price_max": 100000},
        {"model": "Corolla", "price_max": 240000, "sort": "price_desc"},
        {"make": "BMW", "price_max": 60000},
    ],
)
def test_never_above_budget_unless_reported(df: pd.DataFrame, filters: dict[str, Any]) -> None:
    result = search_catalog(df, CatalogFilters(limit=10, **filters))
    budget = filters["price_max"]
    if "price_max" in result.relaxed:
        assert all(c.price <= budget * 1.15 + 0.01 for c in result.items)
    else:
        assert all(c.price <= budget for c in result.items)


# --------------------------------------------------------------------------- LLM-style arguments


@pytest.mark.parametrize(
    ("make", "model", "expected"),
    [
        ("VW", "jeta", {"VW-002", "VW-003"}),
        (None, "Mazda 3", {"MZ-001", "MZ-002"}),
        ("Mazda", "Mazda3", {"MZ-001", "MZ-002"}),
        ("mercedes", None, {"MB-001"}),
        (None, "cx5", {"MZ-003", "MZ-004"}),
        ("toyta", "corola", {"TO-001", "TO-002"}),
    ],
)
def test_loose_make_model_arguments_are_canonicalised(
    df: pd.DataFrame, make: str | None, model: str | None, expected: set[str]
) -> None:
    result = search_catalog(df, CatalogFilters(make=make, model=model, limit=10))
    assert {c.stock_id for c in result.items} == expected
    assert result.relaxed == []


def test_works_on_a_subset_frame(df: pd.DataFrame) -> None:
    subset = df[df["stock_id"] == "MZ-004"]
    card = search_catalog(subset, CatalogFilters(limit=1)).items[0]
    assert card.stock_id == "MZ-004"
    assert card.attributes["carplay"] is None
    assert card.attributes["transmission"] == "Automática"
    assert card.attributes["bluetooth"] is True


# --------------------------------------------------------------------------- cards


def test_card_fields(df: pd.DataFrame) -> None:
    card = search_catalog(df, CatalogFilters(model="Tracker")).items[0]
    assert card == CarCard(
        stock_id="CH-003",
        make="Chevrolet",
        model="Tracker",
        year=2022,
        price=365000.0,
        km=None,
        version="LT",
        attributes={"transmission": AUTO, "carplay": "Sí", "body": "SUV", "fuel": GAS, "bluetooth": True},
    )
    assert isinstance(search_catalog(df, CatalogFilters(model="Vento")).items[0].km, int)
    assert search_catalog(df, CatalogFilters(model="Vento")).items[0].version is None


def test_format_card_both_languages() -> None:
    card = CarCard(stock_id="DM-1021", make="Mazda", model="3", year=2019, price=265000.0, km=48000, version="i Sport")
    assert format_card(card, 1, "es") == "1. Mazda 3 i Sport 2019 — $265,000 MXN · 48,000 km (DM-1021)"
    assert format_card(card, 2, "en") == "2. Mazda 3 i Sport 2019 — $265,000 MXN · 48,000 km (DM-1021)"
    bare = CarCard(stock_id="X-1", make="Nissan", model="Versa", year=2018, price=189999.0)
    assert format_card(bare, 3, "es") == "3. Nissan Versa 2018 — $189,999 MXN · km sin dato (X-1)"
    assert format_card(bare, 3, "en") == "3. Nissan Versa 2018 — $189,999 MXN · mileage n/a (X-1)"
    assert format_card(bare, 1, "en", currency="USD").startswith("1. Nissan Versa 2018 — $189,999 USD")


# --------------------------------------------------------------------------- scale


def test_fifty_thousand_rows_matches_brute_force() -> None:
    rng = random.Random(7)
    rows = []
    for i in range(50_000):
        base = CARS[i % len(CARS)]
        row = next(car_rows([base]))
        row["stock_id"] = f"S{i:05d}"
        row["year"] = rng.randint(2005, 2024)
        row["price"] = float(rng.randint(60_000, 600_000))
        row["km"] = None if i % 97 == 0 else rng.randint(0, 200_000)
        rows.append(row)
    big = build_catalog_frame(rows)
    assert len(big) == 50_000

    filters = CatalogFilters(
        make="Mazda", year_min=2015, price_max=300000, km_max=80000, features={"transmission": "automatica"}, limit=5
    )
    result = search_catalog(big, filters)
    km = big["km"].astype("float64")
    mask = (
        (big["make"] == "Mazda")
        & (big["year"] >= 2015)
        & (big["price"] <= 300000)
        & (km <= 80000)
        & (big["transmission"] == "Automática")
    )
    expected = big[mask].sort_values(["year", "price"], ascending=[False, True], kind="stable")
    assert result.total == int(mask.sum())
    assert result.relaxed == []
    assert [c.stock_id for c in result.items] == list(expected["stock_id"].head(5))

    cheapest = search_catalog(big, CatalogFilters(sort="price_asc", limit=3))
    brute = big.sort_values(["price", "year"], ascending=[True, False], kind="stable")["stock_id"].head(3)
    assert [c.stock_id for c in cheapest.items] == list(brute)

    relaxed = search_catalog(big, CatalogFilters(make="BMW", price_max=70000, limit=3))
    assert relaxed.relaxed == ["make"]
    assert all(c.price <= 70000 for c in relaxed.items)
