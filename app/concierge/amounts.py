"""Amounts in customers' and vendors' messages: the value and currency of a money mention, and a request's
budget ("hasta 900 pesos", "entre 500 y 800", "máximo $3,500 c/u", "sin presupuesto").
"""

from __future__ import annotations

import re

from app.concierge.lexicon import (
    BUDGET_CUE,
    BUDGET_POST,
    MONEY_PATTERN,
    NO_BUDGET,
    NOT_MONEY_AFTER,
    PER_UNIT,
    RANGE_JOIN,
    WORD_NUMBERS,
)
from app.concierge.types import MAX_BUDGET, Currency, Money
from app.text.money import read_number, unit_scale


def money_value(m: re.Match[str]) -> float | None:
    """The amount of a ``MONEY_PATTERN`` match: digits ("1,200", "1.200", "45.90", "2k") or words ("dos mil")."""
    raw = m.group("num")
    if raw is not None:
        number = read_number(raw)
        if number is None:
            return None  # the pattern only admits well-formed numbers; kept for the type checker
        value = float(number)
        if m.group("unit") is not None:
            value *= float(unit_scale(m.group("unit")))  # "mil", "k", "grand": thousands
        return value
    if m.group("wunit") is not None:
        return float(WORD_NUMBERS.get(m.group("wnum") or "un", 1) * 1000)
    if m.group("wonly") is not None:
        return float(WORD_NUMBERS[m.group("wonly")])
    return None


def money_currency(m: re.Match[str], default: Currency = "MXN") -> Currency:
    """Currency named around a ``MONEY_PATTERN`` match, else ``default``."""
    marks = f"{m.group('pre') or ''} {m.group('cur') or ''}"
    if re.search(r"us|dol|dll|dls|bucks", marks):
        return "USD"
    if re.search(r"mxn|peso|m\.?n|varo|baro", marks):
        return "MXN"
    return default


def is_year(m: re.Match[str]) -> bool:
    """A bare four-digit year ("Jetta 2017"), not an amount."""
    raw = m.group("num")
    return (
        raw is not None
        and re.fullmatch(r"(?:19[5-9]\d|20[0-4]\d)", raw) is not None
        and not m.group("pre")
        and not m.group("cur")
        and not m.group("unit")
    )


def find_budget(
    t: str, default_currency: Currency, *, expected: bool = False
) -> tuple[Money | None, list[tuple[int, int]], bool, bool]:
    """The budget in folded text ``t``, the spans it used, whether it is per unit, and whether the customer
    said there is none."""
    spans: list[tuple[int, int]] = []
    per_unit = False
    candidates: list[Money] = []
    last_end = -1
    for m in MONEY_PATTERN.finditer(t):
        value = money_value(m)
        if value is None or value <= 0:
            continue
        marked = bool(m.group("pre") or m.group("cur") or m.group("unit") or m.group("wunit") or m.group("wonly"))
        cue = BUDGET_CUE.search(t, max(0, m.start() - 40), m.start())
        if cue is None and last_end >= 0 and RANGE_JOIN.fullmatch(t, last_end, m.start()):
            cue = RANGE_JOIN.fullmatch(t, last_end, m.start())  # "de 500 a 800": the end of a range
        if not marked:
            # "hasta 2000" is money and "Jetta 2017" a year; a bare "800" only answers "¿tienes un presupuesto?".
            if NOT_MONEY_AFTER.match(t, m.end()) or value < 10:
                continue
            if cue is None and (is_year(m) or not expected):
                continue
        if value > MAX_BUDGET:
            continue
        candidates.append(Money(amount=round(value, 2), currency=money_currency(m, default_currency)))
        post = BUDGET_POST.match(t, m.end())
        end = post.end() if post else m.end()
        unit = PER_UNIT.match(t, end + (len(t[end:]) - len(t[end:].lstrip())))
        if unit is not None:
            per_unit = True
            end = unit.end()
        spans.append((cue.start() if cue is not None else m.start(), end))
        last_end = end
    declined = NO_BUDGET.search(t)
    if declined is not None:
        spans.append(declined.span())
    if not candidates:
        return None, spans, False, declined is not None
    # "entre 500 y 800 pesos": the ceiling is what matters when asking vendors.
    best = max(candidates, key=lambda c: c.amount)
    return best, spans, per_unit, False
