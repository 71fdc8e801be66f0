"""Generic fixes found by probe batch 9 (tests/eval/conversations/probes/p90_batch9.yaml): terse "y el otro"
between two cars, "your cheapest car" as one car, "¿cuánto rinde?" as fuel economy the catalog lacks, and a
booking placed at the branch where the chosen car is."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from agents.classify import resolve_reference
from agents.memory import ShownCar
from agents.specialists.booking import _car_branch
from app.catalog.frame import build_catalog_frame
from app.catalog.importing import parse_catalog_csv
from app.catalog.parsing import missing_kinds, parse_catalog_query
from app.catalog.service import LoadedCatalog
from app.catalog.vocabulary import CatalogVocabulary

CSV = (
    "stock_number,brand,model,trim,year,price,mileage,color,branch\n"
    "A1,Chevrolet,Onix,Premier,2023,289000,12000,Gris,Queretaro\n"
    "A2,Chevrolet,Onix,LT,2021,229900,40000,Blanco,Leon\n"
    "A3,Toyota,Yaris,Core,2019,219000,73000,Blanco,Celaya\n"
)


@pytest.fixture(scope="module")
def catalog() -> LoadedCatalog:
    frame = build_catalog_frame(parse_catalog_csv(CSV.encode()))
    return LoadedCatalog(version=1, frame=frame, vocabulary=CatalogVocabulary.from_frame(frame))


def _shown(*ids: str) -> list[ShownCar]:
    return [{"stock_id": i, "make": "Chevrolet", "model": "Onix", "year": 2021, "price": 1.0} for i in ids]


def test_the_other_one_of_two_is_the_one_not_in_focus() -> None:
    shown = _shown("A1", "A2")
    assert resolve_reference("y el otro", shown, "A2") == 0
    assert resolve_reference("y el otro", shown, "A1") == 1
    assert resolve_reference("and the other one?", shown) == 1  # none in focus: the first was spoken of
    assert resolve_reference("y el otro", _shown("A1", "A2", "A3"), "A1") is None  # of three: not clear
    assert resolve_reference("tienen otro color?", shown, "A1") is None


def test_your_cheapest_car_is_one_car(catalog: LoadedCatalog) -> None:
    assert parse_catalog_query("whats ur cheapest car", catalog.vocabulary).limit == 1
    assert parse_catalog_query("cheapest car?", catalog.vocabulary).limit == 1
    assert parse_catalog_query("your cheapest cars", catalog.vocabulary).limit != 1


def test_how_far_it_goes_per_litre_is_fuel_economy(catalog: LoadedCatalog) -> None:
    assert missing_kinds("cuanto rinde por litro el yaris?", catalog.vocabulary) == ["consumption"]
    assert missing_kinds("y cuanto rinden?", catalog.vocabulary) == ["consumption"]


def test_a_booking_is_placed_where_the_car_is(catalog: LoadedCatalog) -> None:
    deps = cast(Any, SimpleNamespace(stock=lambda: catalog))
    branches = ["Queretaro", "Leon", "Celaya"]
    assert _car_branch(deps, "A2", branches) == "Leon"
    assert _car_branch(deps, "A9", branches) is None
    assert _car_branch(deps, "A2", ["Queretaro"]) is None  # not one of the tenant's branches
