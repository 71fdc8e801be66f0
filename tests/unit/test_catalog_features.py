"""Features from the dealer's own columns, hard price caps and the per-frame column cache."""

from __future__ import annotations

import gc
from typing import Any

import pandas as pd
import pytest

from app.catalog.frame import build_catalog_frame, card_by_id
from app.catalog.intent import looks_like_catalog_query
from app.catalog.parsing import parse_catalog_query
from app.catalog.schemas import CatalogFilters
from app.catalog.search import search_catalog
from app.catalog.vocabulary import CatalogVocabulary

# stock_id, make, model, year, price, km, color, gps, traccion, owners
CARS: list[tuple[Any, ...]] = [
    ("A-1", "Nissan", "Versa", 2020, 229000, 41000, "Rojo", "Sí", "Delantera", "1"),
    ("A-2", "Nissan", "Versa", 2022, 275000, 15000, "Gris Plata", "No", "Delantera", "2"),
    ("A-3", "Nissan", "Frontier", 2021, 520000, 30000, "Gris Oxford", "Sí", "4x4", "1"),
    ("A-4", "Toyota", "Hilux", 2019, 398000, 90000, "Blanco", "No", "4x4", "3"),
    ("A-5", "Toyota", "Corolla", 2021, 335000, 22000, "Blanco Perla", "Sí", "Delantera", "1"),
    ("A-6", "Toyota", "Corolla", 2018, 255000, 67000, "Vino", "No", "Delantera", "2"),
    ("A-7", "Mazda", "CX-5", 2020, 389000, 40000, "Rojo", "Sí", "AWD", "1"),
    ("A-8", "Mazda", "3", 2017, 219000, 75000, "Negro", "No", "Delantera", "2"),
    ("A-9", "Mercedes-Benz", "Clase A", 2021, 520000, 30000, "Azul", "No", "Trasera", "1"),
    ("A-10", "Mercedes-Benz", "Clase C", 2019, 610000, 52000, "Azul", "No", "Trasera", "1"),
]


def rows() -> list[dict[str, Any]]:
    return [
        {
            "stock_id": sid,
            "make": make,
            "model": model,
            "year": year,
            "price": price,
            "km": km,
            "version": None,
            "attributes": {"color": color, "gps": gps, "traccion": traccion, "owners": owners},
        }
        for sid, make, model, year, price, km, color, gps, traccion, owners in CARS
    ]


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return build_catalog_frame(rows())


@pytest.fixture(scope="module")
def vocab(df: pd.DataFrame) -> CatalogVocabulary:
    return CatalogVocabulary.from_frame(df)


def ids(df: pd.DataFrame, vocab: CatalogVocabulary, text: str) -> set[str]:
    result = search_catalog(df, parse_catalog_query(text, vocab), vocab)
    assert result.relaxed == [], result.relaxed
    return {c.stock_id for c in result.items}


# --------------------------------------------------------------------------- vocabulary


def test_value_words_come_from_the_catalog(vocab: CatalogVocabulary) -> None:
    assert vocab.value_words["rojo"] == ("color", "Rojo")
    assert vocab.value_words["rojas"] == ("color", "Rojo")  # gender and number
    assert vocab.value_words["red"] == ("color", "Rojo")  # and the other language
    assert vocab.value_words["gris"] == ("color", "Gris")  # a word of two values: both match it
    assert vocab.value_words["4x4"] == ("traccion", "4x4")
    # Everyday Spanish ("vino" = came) only counts with the column's name in front.
    assert "vino" not in vocab.value_words
    assert vocab.value_words["colorvino"] == ("color", "Vino")
    # Yes/no columns are named, counts are not words.
    assert vocab.flag_words == {"gps": "gps"}
    assert not any(column == "owners" for column, _ in vocab.value_words.values())


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "features"),
    [
        ("un auto rojo", {"color": "Rojo"}),
        ("a red one", {"color": "Rojo"}),
        # No body column: the bodies of the models that come in one (Frontier, RAV4...) answer "camioneta".
        ("unas camionetas blancas", {"color": "Blanco", "Carrocería": "SUV | Pickup"}),
        ("blanco perla", {"color": "Blanco Perla"}),
        ("gris plata", {"color": "Gris Plata"}),
        ("algo gris", {"color": "Gris"}),
        ("de color vino", {"color": "Vino"}),
        ("con gps", {"gps": "Sí"}),
        ("sin gps", {"gps": "No"}),
        ("una pickup 4x4 con gps", {"traccion": "4x4", "gps": "Sí", "Carrocería": "Pickup"}),
        ("awd", {"traccion": "AWD"}),
        # Either colour will do: both are alternatives of one filter.
        ("rojo o negro", {"color": "Negro | Rojo"}),
    ],
)
def test_features_from_the_catalogs_columns(vocab: CatalogVocabulary, text: str, features: dict[str, str]) -> None:
    assert parse_catalog_query(text, vocab).features == features


@pytest.mark.parametrize("text", ["mi hermano vino ayer", "no tengo plata", "¿tienen garantía?"])
def test_everyday_words_are_not_features(vocab: CatalogVocabulary, text: str) -> None:
    assert parse_catalog_query(text, vocab).features == {}


def test_a_misspelt_yes_no_column(df: pd.DataFrame) -> None:
    frame = build_catalog_frame([{**r, "attributes": {"bluetooth": r["attributes"]["gps"]}} for r in rows()])
    vocab = CatalogVocabulary.from_frame(frame)
    assert parse_catalog_query("con blutooth", vocab).features == {"bluetooth": "Sí"}


def test_a_colour_makes_a_catalog_query(vocab: CatalogVocabulary) -> None:
    assert looks_like_catalog_query("¿tienen algo en rojo?", vocab)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from 200 to 300 thousand", {"price_min": 200000.0, "price_max": 300000.0}),
        ("250 thousand", {"price_max": 250000.0}),
        ("modelo 19 o más nuevo", {"year_min": 2019}),
        ("un versa modelo 18 al 20", {"make": "Nissan", "model": "Versa", "year_min": 2018, "year_max": 2020}),
        ("modelo 99", {"year_min": 1999, "year_max": 1999}),
        ("tengo 25 años", {}),
        ("ordenados por precio", {"sort": "price_asc"}),
        ("ordénalos por año", {"sort": "year_desc"}),
        ("sort them by mileage", {"sort": "km_asc"}),
        ("under 300k and newer than 2018", {"price_max": 300000.0, "year_min": 2019}),
        ("250 mil aprox", {"price_min": 225000.0, "price_max": 275000.0}),
        ("2020 para adelante", {"year_min": 2020}),
        ("menos de 300 mil o menos", {"price_max": 300000.0}),
    ],
)
def test_more_loose_wording(vocab: CatalogVocabulary, text: str, expected: dict[str, Any]) -> None:
    parsed = parse_catalog_query(text, vocab).model_dump(exclude_defaults=True)
    assert parsed == expected


@pytest.mark.parametrize(
    ("text", "make", "model"),
    [
        ("toyoya", "Toyota", None),  # one wrong letter in a long make name
        ("nissam versa", "Nissan", "Versa"),
        ("nissan verza", "Nissan", "Versa"),  # one wrong letter after the make
        ("un verza", None, None),  # ...but not without it
        ("mercedes benz clase c", "Mercedes-Benz", "Clase C"),
        ("mercedes clase a", "Mercedes-Benz", "Clase A"),
        # "clase" is the start of "Clase A" and "Clase C"; the letter after it decides, and "e" is neither.
        ("mercedes clase e", "Mercedes-Benz", None),
    ],
)
def test_make_and_model_typos(vocab: CatalogVocabulary, text: str, make: str | None, model: str | None) -> None:
    parsed = parse_catalog_query(text, vocab)
    assert (parsed.make, parsed.model) == (make, model)


# --------------------------------------------------------------------------- search


def test_colour_word_matches_every_value_with_it(df: pd.DataFrame, vocab: CatalogVocabulary) -> None:
    assert ids(df, vocab, "algo gris") == {"A-2", "A-3"}
    assert ids(df, vocab, "gris plata") == {"A-2"}
    assert ids(df, vocab, "rojo") == {"A-1", "A-7"}
    assert ids(df, vocab, "blanco") == {"A-4", "A-5"}  # "Blanco" and "Blanco Perla": both are white
    assert ids(df, vocab, "perla") == {"A-5"}
    assert ids(df, vocab, "camioneta 4x4 con gps") == {"A-3"}


def test_tool_call_colour_words_without_a_vocabulary(df: pd.DataFrame) -> None:
    # An LLM tool call may send a word of a value; the frame alone is enough to match it.
    result = search_catalog(df, CatalogFilters(features={"color": "gris"}, limit=10))
    assert {c.stock_id for c in result.items} == {"A-2", "A-3"}
    result = search_catalog(df, CatalogFilters(features={"Color": "Rojas"}, limit=10))
    assert {c.stock_id for c in result.items} == {"A-1", "A-7"}


def test_widen_price_false_never_shows_dearer_cars(df: pd.DataFrame) -> None:
    wide = search_catalog(df, CatalogFilters(make="Mazda", price_max=200000))
    assert wide.relaxed == ["price_max"] and [c.stock_id for c in wide.items] == ["A-8"]
    hard = search_catalog(df, CatalogFilters(make="Mazda", price_max=200000), widen_price=False)
    assert hard.items == []
    hard = search_catalog(df, CatalogFilters(make="Toyota", price_max=240000, limit=5), widen_price=False)
    assert hard.relaxed == ["make"] and {c.stock_id for c in hard.items} == {"A-1", "A-8"}


def test_search_among_given_cars(df: pd.DataFrame, vocab: CatalogVocabulary) -> None:
    shown = ["A-1", "A-4", "A-8"]
    red = search_catalog(df, CatalogFilters(features={"color": "rojo"}), vocab, among=shown)
    assert [c.stock_id for c in red.items] == ["A-1"] and red.total == 1 and red.relaxed == []
    # A-7 is red too, but was not among them.
    assert search_catalog(df, CatalogFilters(features={"color": "rojo"}), vocab, among=["A-4"]).items == []
    assert search_catalog(df, CatalogFilters(), vocab, among=["missing"]).items == []


def test_card_by_id_and_counts_are_not_yes_no(df: pd.DataFrame) -> None:
    card = card_by_id(df, "A-3")
    assert card is not None and card.attributes == {
        "color": "Gris Oxford",
        "gps": "Sí",
        "traccion": "4x4",
        "owners": "1",
        "Carrocería": "Pickup",  # the Frontier comes as a pickup only (``app.catalog.derived``)
    }
    assert card_by_id(df, "nope") is None


def test_column_cache_follows_the_frame() -> None:
    # A subset, a rebuilt frame and a frame made after another was collected each get their own arrays.
    first = build_catalog_frame(rows())
    assert len(search_catalog(first, CatalogFilters(limit=10)).items) == 10
    subset = first[first["make"] == "Toyota"]
    assert {c.stock_id for c in search_catalog(subset, CatalogFilters(limit=10)).items} == {"A-4", "A-5", "A-6"}
    del first, subset
    gc.collect()
    other = build_catalog_frame(rows()[:2])
    assert [c.stock_id for c in search_catalog(other, CatalogFilters(limit=10)).items] == ["A-2", "A-1"]
