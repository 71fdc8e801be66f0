"""The one money reader and formatter: amounts as people write them, and back as ``$250,000``."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from app.text.money import find_amounts, format_money, parse_money, prepare_amounts, read_number, spelled_millions


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("300 mil", 300_000),
        ("$250k", 250_000),
        ("1.2 millones", 1_200_000),
        ("250,000.00", 250_000),
        ("250.000,00", 250_000),
        ("250 000 pesos", 250_000),
        ("medio millón", 500_000),
        ("un millón", 1_000_000),
        ("1.5m", 1_500_000),
        ("300m", 300_000),
        ("modelo 2019", None),
        ("50 mil km", None),
        ("tengo 300", None),
        ("1.2M", 1_200_000),
        ("$250,000.00", 250_000),
        ("189,999", 189_999),
        ("2019", None),
        ("hola", None),
    ],
)
def test_parse_money_reads_the_usual_forms(text: str, amount: float | None) -> None:
    assert parse_money(text) == amount


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("250,000.50", D("250000.50")),
        ("250.000,50", D("250000.50")),
        ("250.000", D(250000)),
        ("250 000", D(250000)),
        ("1,5", D("1.5")),
        ("1.2", D("1.2")),
        ("1,2,3", None),
        ("1,00.5", None),
    ],
)
def test_read_number(raw: str, number: D | None) -> None:
    assert read_number(raw) == number


def test_find_amounts_keeps_the_unit_and_cue() -> None:
    first, second = find_amounts(prepare_amounts("$300 mil y 40,000 km"))
    assert (first.value, first.currency, first.km) == (300_000, True, False)
    assert (second.value, second.currency, second.km) == (40_000, False, True)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("medio millon", D(500_000)),
        ("un millon y medio", D(1_500_000)),
        ("un millon 200 mil", D(1_200_000)),
        ("half a million", D(500_000)),
    ],
)
def test_spelled_millions(text: str, value: D) -> None:
    assert [m.value for m in spelled_millions(text)] == [value]


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (D(250_000), "$250,000"),
        (D("1234.5"), "$1,234.50"),
        (D("999.995"), "$1,000"),
        (D("0.005"), "$0.01"),
        (D("-1500.4"), "-$1,500.40"),
        (D("-0.004"), "$0"),
    ],
)
def test_format_money_rounds_half_up_and_signs(amount: D, text: str) -> None:
    assert format_money(amount) == text
