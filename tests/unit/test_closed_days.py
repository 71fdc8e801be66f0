"""Days the business's own text says it is closed, per branch, as a booking reads them."""

from __future__ import annotations

from datetime import date

from app.leads.booking import closed_days, closed_on

NESTED = """1. *Monterrey Centro* (matriz)
   - Horario: lunes a sábado de 9:00 a 19:00; domingo de 10:00 a 14:00.
2. *San Pedro*
   - Horario: martes a sábado de 10:00 a 20:00.
   - **Cerrada los lunes.**
"""
BRANCHES = ["Monterrey Centro", "San Pedro"]
MONDAY = date(2026, 12, 7)
SUNDAY = date(2026, 12, 6)


def test_a_closed_day_in_a_nested_list_belongs_to_its_branch() -> None:
    rules = closed_days(NESTED, BRANCHES)
    assert [(r.weekday, set(r.branches)) for r in rules] == [(0, {"San Pedro"})]
    assert closed_on(MONDAY, "San Pedro", rules, BRANCHES)
    assert not closed_on(MONDAY, "Monterrey Centro", rules, BRANCHES)
    assert not closed_on(MONDAY, None, rules, BRANCHES)  # another branch is open that day


def test_open_days_in_the_same_sentence_are_not_closed() -> None:
    rules = closed_days("We are open Monday to Saturday from 10:00 to 18:00 and closed on Sundays.", [])
    assert [r.weekday for r in rules] == [6]
    rules = closed_days(
        "Abren de lunes a viernes de 9:00 a 19:00 y sábados de 10:00 a 17:00; los domingos cerrado.", []
    )
    assert [r.weekday for r in rules] == [6]


def test_closing_time_and_named_branches() -> None:
    assert closed_days("Cerramos a las 7 de lunes a viernes.", []) == []
    rules = closed_days("León y Celaya permanecen cerradas en domingo.", ["Querétaro", "León", "Celaya"])
    assert {r.weekday for r in rules} == {6} and set(rules[0].branches) == {"León", "Celaya"}
    assert closed_on(SUNDAY, "León", rules, ["Querétaro", "León", "Celaya"])
    assert not closed_on(SUNDAY, "Querétaro", rules, ["Querétaro", "León", "Celaya"])


def test_days_named_before_the_closed_word_and_weekends() -> None:
    assert {r.weekday for r in closed_days("Sábados y domingos cerrado.", [])} == {5, 6}
    assert {r.weekday for r in closed_days("Open weekdays 9-6; closed weekends.", [])} == {5, 6}


def test_each_clause_closes_its_own_branch() -> None:
    text = (
        "Días de descanso: Zapopan no abre los domingos, Tlaquepaque no abre los lunes y Tlajomulco no abre los martes."
    )
    branches = ["Zapopan", "Tlaquepaque", "Tlajomulco"]
    rules = {r.weekday: set(r.branches) for r in closed_days(text, branches)}
    assert rules == {6: {"Zapopan"}, 0: {"Tlaquepaque"}, 1: {"Tlajomulco"}}
