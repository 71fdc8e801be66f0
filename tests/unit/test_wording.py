"""The wording package: every sentence in both languages, one definition per key, tenant overrides win."""

from __future__ import annotations

from collections import Counter
from importlib import import_module

import pytest

from app.text.normalize import Language
from app.text.wording import Texts, WordingError, all_texts, areas, say

LANGUAGES: set[Language] = {"es", "en"}


def area_texts(area: str) -> Texts:
    texts: Texts = import_module(f"app.text.wording.{area}").TEXTS
    return texts


def test_the_offline_and_finance_areas_are_discovered() -> None:
    assert {"offline", "finance"} <= set(areas())


@pytest.mark.parametrize("area", areas())
def test_every_key_has_spanish_and_english(area: str) -> None:
    missing = {key: LANGUAGES - set(by_language) for key, by_language in area_texts(area).items()}
    assert {key: langs for key, langs in missing.items() if langs} == {}


def test_no_key_is_defined_twice() -> None:
    counts = Counter(key for area in areas() for key in area_texts(area))
    assert [key for key, n in counts.items() if n > 1] == []
    assert len(all_texts()) == sum(counts.values())


def test_a_tenant_override_replaces_a_sentence() -> None:
    overrides = {"finance_for_car": {"es": "Te cotizo el {car}:"}}
    assert say("finance_for_car", "es", overrides=overrides, car="Jetta 2019") == "Te cotizo el Jetta 2019:"
    # Only the overridden language changes; the shipped English stays.
    assert say("finance_for_car", "en", overrides=overrides, car="Jetta 2019") == "For the Jetta 2019:"
    assert say("finance_for_car", "es", car="Jetta 2019") == "Para el Jetta 2019:"


def test_an_unknown_key_is_a_wording_error() -> None:
    with pytest.raises(WordingError, match="no wording"):
        say("no_such_sentence", "es")
