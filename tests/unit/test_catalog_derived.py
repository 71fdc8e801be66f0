"""Transmission, fuel and traction read from the version text when the dealer's CSV has no column for them."""

from __future__ import annotations

import pandas as pd
import pytest

from app.catalog.derived import read_version, recorded_kinds, version_tokens
from app.catalog.frame import build_catalog_frame, card_by_id, derived_kinds
from app.catalog.importing import parse_catalog_csv
from app.catalog.intent import asks_about_column
from app.catalog.parsing import missing_kinds, parse_catalog_query
from app.catalog.search import search_catalog
from app.catalog.unstated import unstated_kinds, unstated_matches
from app.catalog.vocabulary import CatalogVocabulary


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("Advance CVT", {"transmission": "Automática"}),
        ("Exclusive CVT", {"transmission": "Automática"}),
        ("Energy TM", {"transmission": "Manual"}),
        ("LT TA", {"transmission": "Automática"}),
        ("GLI DSG", {"transmission": "Automática"}),
        ("Comfortline Tiptronic", {"transmission": "Automática"}),
        ("EX IVT", {"transmission": "Automática"}),
        ("Excite AT", {"transmission": "Automática"}),
        ("Sense T/M", {"transmission": "Manual"}),
        ("LS Std", {"transmission": "Manual"}),
        ("Sport 6MT", {"transmission": "Manual"}),
        ("Limited 8AT AWD", {"transmission": "Automática", "traction": "AWD"}),
        ("Estándar", {"transmission": "Manual"}),
        ("Automática", {"transmission": "Automática"}),
        ("XLT Diesel 4x4", {"fuel": "Diésel", "traction": "4x4"}),
        ("Highline TDI 4Motion DSG", {"fuel": "Diésel", "traction": "AWD", "transmission": "Automática"}),
        ("SE Hybrid", {"fuel": "Híbrido"}),
        ("Sense e-Power", {"fuel": "Híbrido"}),
        ("Híbrido LE", {"fuel": "Híbrido"}),
        ("e:HEV Touring", {"fuel": "Híbrido"}),
        ("Plug-in Hybrid", {"fuel": "Híbrido enchufable"}),
        ("PHEV AWD", {"fuel": "Híbrido enchufable", "traction": "AWD"}),
        ("EV Long Range", {"fuel": "Eléctrico"}),
        ("Eléctrico", {"fuel": "Eléctrico"}),
        ("1500 LT Cabina Doble 4x4", {"traction": "4x4", "body": "Pickup"}),
        ("Doble Cabina SR", {"body": "Pickup"}),
        ("Hatchback Sport", {"body": "Hatchback"}),
        ("SR 4 x 4", {"traction": "4x4"}),
        ("Adventure 4WD", {"traction": "4x4"}),
        ("LT 4x2", {"traction": "4x2"}),
    ],
)
def test_a_version_states_what_its_tokens_mean(version: str, expected: dict[str, str]) -> None:
    assert read_version(version) == expected


@pytest.mark.parametrize(
    "version",
    [
        *("Comfortline", "GTI", "Take Up", "Turbo Plus", "i Grand Touring", "XLE", "Robust"),
        *("Standard Range Plus", "SR5 Std Cab", "Tata", "", None),
    ],
)
def test_a_version_that_says_nothing_leaves_every_kind_unknown(version: str | None) -> None:
    assert read_version(version) == {}


@pytest.mark.parametrize(
    "version",
    [
        "Sport TM CVT",  # two transmissions: a typo or a bundle, not a fact
        "Diesel Hybrid",
        "4x4 4x2",
    ],
)
def test_contradicting_tokens_leave_the_kind_unknown(version: str) -> None:
    assert read_version(version) == {}


def test_words_inside_other_words_are_not_tokens() -> None:
    # "Tata", "Atlas", "Cvtx", "Evolution": only whole trim words count.
    assert read_version("Atlas Evolution Manualidad") == {}
    assert version_tokens("Sense T/A e-Power") == ["sense", "ta", "epower"]


def test_recorded_kinds_go_by_the_columns_name_then_its_values() -> None:
    values = {"caja": {"automatica": "Automática", "manual": "Manual"}, "color": {"rojo": "Rojo"}}
    assert recorded_kinds(values) == {"transmission": "caja", "colour": "color"}


BAJIO = """Folio,Marca,Modelo,Versión,Año,Precio,Kilometraje,Color
B-1,Nissan,Versa,Sense TM,2020,229000,61500,Plata
B-2,Nissan,Versa,Advance CVT,2022,289900,33100,Gris
B-3,Ford,Figo,Energy TM,2019,169900,70900,Rojo
B-4,Ford,Ranger,XLT Diesel 4x4,2021,629000,54300,Gris
B-5,Toyota,Hilux,Doble Cabina SR,2022,559000,41800,Blanco
B-6,Volkswagen,Jetta,GLI DSG,2022,499900,22100,Negro
"""
WITH_COLUMN = """stock_id,make,model,version,year,price,transmission
C-1,Nissan,Versa,Sense TM,2020,229000,Automática
C-2,Nissan,Versa,Advance,2022,289900,Manual
"""


def _loaded(csv: str) -> tuple[pd.DataFrame, CatalogVocabulary]:
    frame = build_catalog_frame(parse_catalog_csv(csv.encode()))
    return frame, CatalogVocabulary.from_frame(frame)


def test_kinds_without_a_column_are_read_from_the_versions() -> None:
    frame, vocab = _loaded(BAJIO)
    assert vocab.derived == {
        "transmission": "Transmisión",
        "fuel": "Combustible",
        "traction": "Tracción",
        "body": "Carrocería",  # "Doble Cabina", and models that come in one body only (Hilux, Jetta)
    }
    assert "transmission" not in vocab.kinds  # recorded kinds stay the dealer's own columns
    card = card_by_id(frame, "B-4")
    assert card is not None
    assert card.attributes["Combustible"] == "Diésel" and card.attributes["Tracción"] == "4x4"
    assert card.attributes["Transmisión"] is None  # "XLT Diesel 4x4" says nothing of the gearbox
    hilux = card_by_id(frame, "B-5")
    assert hilux is not None and hilux.attributes["Combustible"] is None


def test_an_explicit_column_always_wins() -> None:
    frame, vocab = _loaded(WITH_COLUMN)
    assert vocab.derived == {"body": "Carrocería"}  # the Versa is a sedan; the gearbox is the dealer's column
    assert derived_kinds(frame) == {"body": "Carrocería"}
    card = card_by_id(frame, "C-1")
    assert card is not None and card.attributes == {"transmission": "Automática", "Carrocería": "Sedán"}
    with_body = WITH_COLUMN.replace("transmission", "transmission,carroceria").replace("Automática", "Automática,SUV")
    with_body = with_body.replace("Manual", "Manual,SUV")
    assert _loaded(with_body)[1].derived == {}  # a body column of its own: nothing read from the models


def test_a_model_that_comes_in_one_body_says_it_and_the_version_wins() -> None:
    frame, vocab = _loaded(BAJIO)
    hilux = card_by_id(frame, "B-5")
    assert hilux is not None and hilux.attributes["Carrocería"] == "Pickup"
    result = search_catalog(frame, parse_catalog_query("tienen trocas?", vocab), vocab)
    assert "B-5" in {c.stock_id for c in result.items} and not result.relaxed
    hatch = _loaded("stock_id,make,model,version,year,price\nH-1,Chevrolet,Aveo,Hatchback LT,2024,299000\n")[0]
    aveo = card_by_id(hatch, "H-1")
    assert aveo is not None and aveo.attributes["Carrocería"] == "Hatchback"


def test_a_search_filters_on_what_the_versions_say() -> None:
    frame, vocab = _loaded(BAJIO)
    filters = parse_catalog_query("tienen versa automatico?", vocab)
    result = search_catalog(frame, filters, vocab)
    assert [c.stock_id for c in result.items] == ["B-2"] and not result.relaxed
    manual = search_catalog(frame, parse_catalog_query("algo estandar", vocab), vocab)
    assert {c.stock_id for c in manual.items} == {"B-1", "B-3"}
    diesel = search_catalog(frame, parse_catalog_query("cual es diesel?", vocab), vocab)
    assert [c.stock_id for c in diesel.items] == ["B-4"]
    assert missing_kinds("cual es diesel?", vocab) == []
    assert missing_kinds("la ranger es 4x4?", vocab) == []


def test_a_value_no_version_states_is_still_something_the_data_cannot_tell() -> None:
    _, vocab = _loaded(BAJIO)
    assert missing_kinds("tienen hibridos?", vocab) == ["fuel"]
    assert missing_kinds("alguno electrico?", vocab) == ["fuel"]
    assert missing_kinds("busco una camioneta", vocab) == ["body"]
    assert missing_kinds("tienen awd?", vocab) == ["traction"]


def test_a_refused_kind_is_not_asked_for() -> None:
    _, vocab = _loaded(BAJIO)
    filters = parse_catalog_query("y automaticos? no se manejar estandar", vocab)
    assert filters.features == {"Transmisión": "Automática"}
    assert parse_catalog_query("i don't want a manual", vocab).features == {}


def test_either_value_of_a_kind_is_a_question_about_that_column() -> None:
    _, vocab = _loaded(BAJIO)
    assert asks_about_column("ese es estandar o automatico?", vocab)
    assert not asks_about_column("quiero uno automatico", vocab)


def test_cars_whose_version_is_silent_are_maybes_not_misses() -> None:
    frame, vocab = _loaded(BAJIO)
    hilux_diesel = parse_catalog_query("hilux 2022 diesel", vocab)
    assert search_catalog(frame, hilux_diesel, vocab).relaxed  # no Hilux says "Diesel"...
    unstated = unstated_matches(frame, hilux_diesel, vocab)
    assert unstated is not None and unstated.kinds == ["fuel"]  # ...but its version does not say otherwise
    assert [c.stock_id for c in unstated.result.items] == ["B-5"]
    hilux = card_by_id(frame, "B-5")
    assert hilux is not None and unstated_kinds(hilux, hilux_diesel, vocab) == ["fuel"]
    figo_automatic = parse_catalog_query("figo automatico", vocab)
    assert unstated_matches(frame, figo_automatic, vocab) is None  # "Energy TM" says manual: a real no
    assert unstated_matches(frame, parse_catalog_query("figo", vocab), vocab) is None
