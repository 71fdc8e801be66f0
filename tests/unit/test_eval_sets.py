"""The labelled sets of `just eval` stay true to the demo data they are scored against."""

from __future__ import annotations

import io
import json

import pandas as pd

from app.demo.seed import DATA
from tests.eval.run import _RANGES, _SORTS, CATALOG_QUERIES, KNOWLEDGE_QUESTIONS, _key, meets, satisfied

TITLES = {e["title"] for e in json.loads((DATA / "knowledge.json").read_text(encoding="utf-8"))}
CARS = pd.read_csv(io.BytesIO((DATA / "cars.csv").read_bytes()), dtype={"stock_id": str})


def test_every_expected_title_is_a_demo_entry() -> None:
    questions = json.loads(KNOWLEDGE_QUESTIONS.read_text(encoding="utf-8"))
    assert len(questions) >= 80
    assert {q["lang"] for q in questions} == {"es", "en"}
    missing = {q["expected"] for q in questions if q["expected"] is not None} - TITLES
    assert not missing, missing
    assert sum(q["expected"] is None for q in questions) >= 10


def test_every_catalog_predicate_names_demo_columns_and_values() -> None:
    queries = json.loads(CATALOG_QUERIES.read_text(encoding="utf-8"))
    assert len(queries) >= 30
    for item in queries:
        for name, wanted in item["expect"].items():
            if name == "sort":
                assert wanted in _SORTS, item
            elif name not in _RANGES:
                assert name in CARS.columns, item
                assert _key(wanted) in {_key(v) for v in CARS[name].dropna()}, item
        # Some car in stock satisfies the predicate, or the query could never score.
        assert any(meets(car, item["expect"]) for car in CARS.to_dict("records")), item


def test_scoring_marks_a_wrong_car_and_a_wrong_cheapest() -> None:
    cheap = {"make": "Mazda", "price": 200_000, "year": 2019}
    dear = {"make": "Mazda", "price": 300_000, "year": 2021}
    other = {"make": "Kia", "price": 100_000, "year": 2020}
    assert satisfied([cheap, other], {"make": "Mazda"}, [cheap, dear, other]) == [True, False]
    assert satisfied([dear, cheap], {"make": "Mazda", "sort": "price_asc"}, [cheap, dear]) == [False, True]
    assert satisfied([cheap], {"make": "Mazda", "price_max": 250_000, "sort": "price_asc"}, [cheap, dear]) == [True]
