"""The catalogue side of a real conversation, domain functions only: accumulated constraints, what a catalogue
does not record, everyday-word model names, English values, pointing at shown cars, affordability, import."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy_financial as npf
import pytest

from agents.memory import MEMORY_VERSION, ConversationMemory, ShownCar, pick_by_traits
from app.catalog.cards import localized_value
from app.catalog.constraints import refine, starts_over
from app.catalog.frame import build_catalog_frame
from app.catalog.importing import map_columns, parse_catalog_csv, read_amount
from app.catalog.intent import looks_like_catalog_query, looks_like_comparison
from app.catalog.parsing import missing_kinds, parse_catalog_query
from app.catalog.schemas import CatalogFilters
from app.catalog.search import search_catalog
from app.catalog.vocabulary import CatalogVocabulary
from app.core.errors import InvalidInput
from app.finance.parsing import parse_finance_request
from app.finance.service import FinanceTerms, default_term, max_price_for_payment, quote_for

# A dealer export as dealers write them: Spanish headers, accents, ";" separators, money and km with units,
# no fuel/body/transmission columns, extra columns (branch, notes) and photos.
DEALER = """Clave;Marca;Modelo;Versión;Año;Precio (MXN);Kilometraje;Color;Sucursal;Imagen;Notas
A-01;Nissan;March;Advance;2019;$189,900;45,000 km;Gris Oxford;Querétaro;https://img.example.com/a01.jpg;Un dueño
A-02;Nissan;Versa;Sense;2020;$239,900;38,500 km;Blanco;Querétaro;;
A-03;Chevrolet;Aveo;LT;2021;229500;22 mil km;Rojo;León;https://img.example.com/a03.jpg;
A-04;Volkswagen;Jetta;GLI;2019;$349,000.00;61,200;Gris Plata;León;;Factura original
A-05;Volkswagen;Jetta;Comfortline;2020;319.000;40100;Negro;Querétaro;;
A-06;Volkswagen;Up;Move;2018;$159,000;70,000 km;Blanco;León;;
A-07;Honda;Fit;Fun;2019;$219,000;-;Azul;León;;
"""
TERMS = FinanceTerms(
    annual_rate=Decimal("0.139"), terms_months=[12, 24, 36, 48, 60, 72], min_down_payment_ratio=Decimal("0.1")
)


@pytest.fixture(scope="module")
def vocab() -> CatalogVocabulary:
    frame = build_catalog_frame(parse_catalog_csv(DEALER.encode()))
    return CatalogVocabulary.from_frame(frame)


@pytest.fixture(scope="module")
def full_vocab() -> CatalogVocabulary:
    csv = (
        "stock_id,make,model,year,price,caja,motorizacion,carroceria\n"
        "1,Mazda,3,2020,300000,Automática,Gasolina,Sedán\n"
        "2,Toyota,RAV4,2021,500000,Automática,Híbrido,SUV\n"
        "3,Nissan,NP300,2019,350000,Manual,Diésel,Pickup\n"
    )
    return CatalogVocabulary.from_frame(build_catalog_frame(parse_catalog_csv(csv.encode())))


# --------------------------------------------------------------------------- import


def test_a_dealer_csv_imports_with_its_own_headers_and_formats() -> None:
    rows = {r["stock_id"]: r for r in parse_catalog_csv(DEALER.encode())}
    march = rows["A-01"]
    assert (march["make"], march["model"], march["version"], march["year"]) == ("Nissan", "March", "Advance", 2019)
    assert march["price"] == Decimal("189900.00") and march["km"] == 45_000
    assert march["attributes"]["color"] == "Gris Oxford" and march["attributes"]["sucursal"] == "Querétaro"
    assert march["attributes"]["notas"] == "Un dueño"
    assert march["attributes"]["image_url"] == "https://img.example.com/a01.jpg"
    assert rows["A-03"]["km"] == 22_000 and rows["A-03"]["price"] == Decimal("229500.00")
    assert rows["A-04"]["price"] == Decimal("349000.00") and rows["A-05"]["price"] == Decimal("319000.00")
    assert rows["A-07"]["km"] is None
    assert "image_url" not in rows["A-02"]["attributes"]


def test_latin1_and_generated_stock_ids() -> None:
    data = 'Marca,Modelo,Año,Precio\nSEAT,Ibiza,2018,"$180,000"\n'.encode("latin-1")
    (row,) = parse_catalog_csv(data)
    assert row["year"] == 2018 and row["price"] == Decimal("180000.00") and row["stock_id"] == "0001"


def test_modelo_holding_years_is_the_model_year() -> None:
    keys = ["marca", "submarca", "modelo", "precio"]
    mapping = map_columns(keys, [{"marca": "VW", "submarca": "Jetta", "modelo": "2019", "precio": "1"}])
    assert mapping == {"marca": "make", "submarca": "model", "modelo": "year", "precio": "price"}


@pytest.mark.parametrize(
    ("csv", "row", "column", "words"),
    [
        ("Marca,Modelo,Año,Precio,Imagen\nVW,Jetta,2019,300000,ftp://x/y.jpg\n", 2, "imagen", "http"),
        ("Marca,Modelo,Año,Precio\nVW,Jetta,2019,trescientos\n", 2, "precio", "price"),
        ("Marca,Modelo,Año,Precio\nVW,Jetta,2019,1\nVW,Jetta,dos mil,1\n", 3, "ano", "year"),
        ("Marca,Modelo,Año,Precio,Km\nVW,Jetta,2019,1,mucho\n", 2, "km", "mileage"),
        ("Marca,Modelo,Año,Precio\nVW,,2019,1\n", 2, "modelo", "required"),
    ],
)
def test_bad_cells_name_row_and_column(csv: str, row: int, column: str, words: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_catalog_csv(csv.encode())
    assert error.value.details["row"] == row and error.value.details["column"] == column
    assert words in str(error.value)


def test_missing_required_column_says_which() -> None:
    with pytest.raises(InvalidInput) as error:
        parse_catalog_csv(b"Marca,Modelo,Precio\nVW,Jetta,1\n")
    assert error.value.details["column"] == "year" and "year" in str(error.value)


@pytest.mark.parametrize(
    ("cell", "value"),
    [("$289,900", 289900), ("289.900", 289900), ("MXN 289 900", 289900), ("289 mil", 289000), ("45,000 km", 45000)],
)
def test_read_amount(cell: str, value: int) -> None:
    assert read_amount(cell) == Decimal(value)


# --------------------------------------------------------------------------- what the catalogue records


def test_kinds_by_column_name_and_by_values(vocab: CatalogVocabulary, full_vocab: CatalogVocabulary) -> None:
    assert vocab.kinds == {"colour": "color"}
    assert full_vocab.kinds == {"transmission": "caja", "fuel": "motorizacion", "body": "carroceria"}
    # Unfamiliar names, recognised by what the cells hold.
    frame = build_catalog_frame(
        parse_catalog_csv(
            b"marca,modelo,ano,precio,energia2,forma\nVW,Jetta,2019,1,Diesel,Sedan\nVW,Up,2019,1,Gasolina,Hatchback\n"
        )
    )
    assert CatalogVocabulary.from_frame(frame).kinds == {"fuel": "energia2", "body": "forma"}


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("¿tienen híbridos?", ["fuel"]),
        ("busco una camioneta", ["body"]),
        ("alguna automática diésel?", ["transmission", "fuel"]),
        ("busco un jetta gris", []),
        ("hola", []),
    ],
)
def test_missing_kinds(vocab: CatalogVocabulary, full_vocab: CatalogVocabulary, text: str, missing: list[str]) -> None:
    assert missing_kinds(text, vocab) == missing
    assert [k for k in missing_kinds(text, full_vocab) if k != "colour"] == []  # it has no colour column
    if missing:
        assert looks_like_catalog_query(text, vocab)
        assert parse_catalog_query(text, vocab).features == {}


def test_kind_filters_use_the_dealers_column(full_vocab: CatalogVocabulary) -> None:
    assert parse_catalog_query("una camioneta híbrida", full_vocab).features == {
        "carroceria": "SUV",
        "motorizacion": "Híbrido",
    }


# --------------------------------------------------------------------------- model names that are words


@pytest.mark.parametrize(
    ("text", "model"),
    [
        ("tienen march?", "March"),
        ("busco un March 2019", "March"),
        ("me interesa el up", "Up"),
        ("Fit", "Fit"),
        ("y el fit?", "Fit"),
        ("quiero ir a ver el auto en marzo", None),
        ("I'd like to come by in March", None),
        ("can you pick me up tomorrow?", None),
        ("what's up", None),
        ("no me queda fit la mensualidad", None),
    ],
)
def test_everyday_word_models(vocab: CatalogVocabulary, text: str, model: str | None) -> None:
    assert parse_catalog_query(text, vocab).model == model


def test_singular_superlative_is_one_car(vocab: CatalogVocabulary) -> None:
    assert parse_catalog_query("el más barato", vocab).limit == 1
    assert parse_catalog_query("cuál es la más barata?", vocab).limit == 1
    assert parse_catalog_query("the cheapest one", vocab).limit == 1
    assert parse_catalog_query("los más baratos", vocab).limit == 3
    assert parse_catalog_query("the cheapest cars", vocab).limit == 3


# --------------------------------------------------------------------------- accumulated constraints


def test_follow_ups_narrow_and_new_searches_replace(vocab: CatalogVocabulary) -> None:
    first = parse_catalog_query("un volkswagen de menos de 350 mil", vocab)
    grey = refine(first, parse_catalog_query("¿y en gris?", vocab), vocab, text="¿y en gris?")
    assert (grey.make, grey.price_max, grey.features) == ("Volkswagen", 350_000, {"color": "Gris"})
    newer = refine(grey, parse_catalog_query("y del 2020 para arriba", vocab), vocab)
    assert (newer.make, newer.year_min, newer.features["color"]) == ("Volkswagen", 2020, "Gris")
    other = refine(newer, parse_catalog_query("¿tienen Versa?", vocab), vocab)
    assert (other.make, other.model, other.price_max, other.year_min) == ("Nissan", "Versa", 350_000, 2020)
    text = "ahora busco un Aveo"
    switched = refine(newer, parse_catalog_query(text, vocab), vocab, text=text)
    assert (switched.model, switched.price_max, switched.year_min, switched.features) == ("Aveo", 350_000, None, {})
    assert starts_over("olvida lo anterior") and not starts_over("¿y en gris?")
    lifted = refine(newer, parse_catalog_query("cualquier color", vocab), vocab, text="cualquier color")
    assert lifted.features == {} and lifted.year_min == 2020


def _shown(stock_id: str, model: str, price: float, traits: list[str], year: int = 2019) -> ShownCar:
    return {"stock_id": stock_id, "make": "VW", "model": model, "year": year, "price": price, "traits": traits}


def test_pointing_at_a_shown_car() -> None:
    shown = [
        _shown("1", "Jetta", 349_000, ["gli", "gris", "plata", "gray", "silver"]),
        _shown("2", "Jetta", 319_000, ["comfortline", "negro", "black"], 2020),
        _shown("3", "Up", 159_000, ["move", "blanco", "white"], 2018),
    ]
    assert pick_by_traits("el GLI", shown) == 0
    assert pick_by_traits("me interesa el gris", shown) == 0
    assert pick_by_traits("the white one", shown) == 2
    assert pick_by_traits("el de 320 mil", shown) == 1
    assert pick_by_traits("el 2020", shown) == 1
    assert pick_by_traits("busco un gris", shown) is None  # a new search, not a pointer
    assert pick_by_traits("el rojo", shown) is None


def test_memory_version_and_old_rows() -> None:
    memory = ConversationMemory.load({"version": 1, "last_filters": {"make": "Mazda"}, "shown": []})
    assert memory.monthly_budget is None and memory.last_filters == {"make": "Mazda"}
    assert memory.dump()["version"] == MEMORY_VERSION == 2


# --------------------------------------------------------------------------- English values


@pytest.mark.parametrize(
    ("value", "english"),
    [("Automática", "Automatic"), ("Gris Plata", "Gray Silver"), ("Diésel", "Diesel"), ("Blanca", "White")],
)
def test_values_in_english(value: str, english: str) -> None:
    assert localized_value(value, "en") == english
    assert localized_value(value, "es") == value
    assert localized_value(value, "en", {value: "Custom"}) == "Custom"


def test_comparison_cues() -> None:
    for text in (
        "¿cuál es mejor, el Versa o el Aveo?",
        "compárame el primero y el tercero",
        "which one do you recommend?",
    ):
        assert looks_like_comparison(text)
    for text in ("mejor busco otro", "hola", "quiero ver el Versa"):
        assert not looks_like_comparison(text)


# --------------------------------------------------------------------------- affordability


@pytest.mark.parametrize(("monthly", "term", "down"), [(6000, None, None), (8000, 36, None), (5000, 60, 50_000)])
def test_max_price_inverts_the_quote(monthly: int, term: int | None, down: int | None) -> None:
    afford = max_price_for_payment(
        terms=TERMS,
        monthly_budget=Decimal(monthly),
        term_months=term,
        down_payment=None if down is None else Decimal(down),
    )
    used = term or default_term(TERMS)
    assert afford.term_months == used
    kwargs: dict[str, Any] = {"down_payment": Decimal(down)} if down else {}
    at_max = quote_for(terms=TERMS, price=afford.max_price, term_months=used, **kwargs).single
    assert at_max is not None and at_max.monthly_payment <= monthly
    above = quote_for(terms=TERMS, price=afford.max_price * Decimal("1.01"), term_months=used, **kwargs).single
    assert above is not None and above.monthly_payment > monthly
    # Independently: numpy_financial's payment at the maximum price is within a cent of the budget.
    financed = float(afford.max_price) - (down if down else float(afford.max_price) * 0.1)
    assert -npf.pmt(0.139 / 12, used, financed) == pytest.approx(monthly, abs=1.0)


def test_finance_parsing_reads_budgets_and_bare_terms() -> None:
    budget = parse_finance_request("puedo pagar unos 6 mil al mes, ¿qué me alcanza?")
    assert budget.monthly_payment == Decimal("6000.00") and budget.price is None and budget.mentions_finance
    followup = parse_finance_request("¿y si doy 80 mil de enganche a 36?")
    assert followup.down_payment == Decimal("80000.00") and followup.term_months == 36
    assert parse_finance_request("un auto de 250 mil a 48").term_months is None
    assert CatalogFilters().limit == 3


def test_alternatives_places_and_the_customers_own_car(vocab: CatalogVocabulary) -> None:
    frame = build_catalog_frame(parse_catalog_csv(DEALER.encode()))
    either = parse_catalog_query("en blanco o negro", vocab)
    found = search_catalog(frame, either.model_copy(update={"limit": 10}), vocab)
    assert {c.stock_id for c in found.items} == {"A-02", "A-05", "A-06"}
    # A branch named after a preposition is the branch column, not a model of the same name.
    assert parse_catalog_query("what do you have in leon?", vocab).features == {"sucursal": "León"}
    # "tengo un Aveo 2016": the customer's own car is not the one wanted.
    owned = parse_catalog_query("tengo un aveo 2016, me lo toman a cuenta del versa?", vocab)
    assert (owned.model, owned.year_min) == ("Versa", None)
    assert parse_catalog_query("which one do you recommend for the city?", vocab).model is None
    assert localized_value("1", "en") == "1"
