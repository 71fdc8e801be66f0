"""``quote_for``: the one "quote a price or a stock id" the API, the LLM tool and the specialist share."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from pydantic import ValidationError

from app.catalog.frame import build_catalog_frame
from app.core.errors import NotFound
from app.finance.service import FinanceError, FinanceTerms, quote_for

D = Decimal
TERMS = FinanceTerms(annual_rate=D("0.139"), terms_months=[12, 24, 36, 48, 60], min_down_payment_ratio=D("0.1"))


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    row = {"make": "Mazda", "model": "3", "year": 2019, "km": 40_000, "version": None, "attributes": {}}
    return build_catalog_frame([{**row, "stock_id": "MZ-1", "price": 265_000}])


def test_a_price_is_quoted_for_every_offered_term_without_a_catalog() -> None:
    quoted = quote_for(terms=TERMS, price=D(250_000))
    assert quoted.single is None and quoted.car is None
    assert [q.term_months for q in quoted.quotes] == [12, 24, 36, 48, 60]
    assert {q.down_payment for q in quoted.quotes} == {D(25_000)}


def test_a_stock_id_is_priced_from_the_catalog_never_from_the_caller(catalog: pd.DataFrame) -> None:
    quoted = quote_for(terms=TERMS, catalog=catalog, stock_id="MZ-1", price=D(1_000), term_months=48)
    assert quoted.single is not None and quoted.single.price == D(265_000)
    assert quoted.car is not None and quoted.car.stock_id == "MZ-1"


def test_the_down_payment_may_be_a_percent_or_a_ratio() -> None:
    by_percent = quote_for(terms=TERMS, price=D(250_000), down_payment_percent=D(20), term_months=12)
    by_ratio = quote_for(terms=TERMS, price=D(250_000), down_payment_ratio=D("0.2"), term_months=12)
    assert by_percent.single == by_ratio.single
    assert by_percent.single is not None and by_percent.single.down_payment == D(50_000)


def test_an_unknown_stock_id_is_not_found(catalog: pd.DataFrame) -> None:
    with pytest.raises(NotFound, match="NOPE"):
        quote_for(terms=TERMS, catalog=catalog, stock_id="NOPE")


def test_the_dealer_terms_and_the_argument_ranges_still_apply() -> None:
    with pytest.raises(FinanceError) as error:
        quote_for(terms=TERMS, price=D(250_000), term_months=72)
    assert error.value.code == "term_not_offered"
    with pytest.raises(ValidationError):
        quote_for(terms=TERMS, price=D(-5))
    with pytest.raises(ValueError, match="price or a stock id"):
        quote_for(terms=TERMS)
