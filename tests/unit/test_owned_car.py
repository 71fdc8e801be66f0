"""The customer's own car (a trade-in) is not what they are searching for, wherever it sits in the message."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import pytest

from app.catalog.frame import build_catalog_frame
from app.catalog.parsing import parse_catalog_query
from app.catalog.vocabulary import CatalogVocabulary

DEMO_CARS = Path(__file__).resolve().parents[2] / "app" / "demo" / "data" / "cars.csv"


@cache
def _demo_vocabulary() -> CatalogVocabulary:
    with DEMO_CARS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return CatalogVocabulary.from_frame(build_catalog_frame(rows))


@pytest.mark.parametrize(
    ("text", "make", "model", "year"),
    [
        ("me reciben mi carro a cuenta de la rav4? tengo un aveo 2013", "Toyota", "RAV4", None),
        ("el tiguan lo puedo apartar? y me reciben mi jetta 2014 a cuenta?", "Volkswagen", "Tiguan", None),
        ("tengo un chevrolet aveo 2016, me lo toman a cuenta del sentra?", "Nissan", "Sentra", None),
        ("and do you take trade ins? I have a 2017 Sentra", None, None, None),
        ("y reciben mi auto a cuenta? es un aveo 2015", None, None, None),
        # Without a word of owning it, the same car is the one searched for.
        ("es un aveo 2015?", "Chevrolet", "Aveo", 2015),
        ("busco un aveo 2015", "Chevrolet", "Aveo", 2015),
    ],
)
def test_the_customers_own_car_is_not_searched(
    text: str, make: str | None, model: str | None, year: int | None
) -> None:
    filters = parse_catalog_query(text, _demo_vocabulary())
    assert (filters.make, filters.model, filters.year_min) == (make, model, year)
