"""The dialogue's rules: a yes only from a yes, complaints, booking details in the customer's words, branch
names in a business's own text, and varied wording that never repeats."""

from __future__ import annotations

from datetime import date

import pytest

from app.leads.booking import Booking, fill, missing_slots, parse_day, parse_time, wants_booking
from app.leads.service import branches_in
from app.text.answers import after_answer, is_closing, is_plain_yes, leading_answer
from app.text.complaints import is_complaint
from app.text.variety import reply_hash, say_varied, variants

TODAY = date(2026, 12, 3)  # a Thursday


@pytest.mark.parametrize(
    ("text", "plain", "leading"),
    [
        ("sí", True, "yes"),
        ("si porfa", True, "yes"),
        ("ok", True, "yes"),
        ("ok, ¿y en Querétaro?", False, None),
        ("sí, confirmo, las delanteras, hasta 1500", False, "yes"),
        ("sí pero en otra zona", False, None),
        ("no gracias", False, "no"),
        ("espera", False, "no"),
        ("mejor en Coyoacán", False, None),
    ],
)
def test_a_yes_is_read_only_from_a_yes(text: str, plain: bool, leading: str | None) -> None:
    assert is_plain_yes(text) is plain
    assert leading_answer(text) == leading


def test_the_details_after_a_yes() -> None:
    assert after_answer("sí, confirmo, las delanteras, hasta 1500") == "las delanteras, hasta 1500"
    assert after_answer("ok") == ""


@pytest.mark.parametrize(
    "text",
    ["pésimo servicio", "eres un pinche robot inutil", "que mal servicio, llevo 2 dias esperando", "this is useless"],
)
def test_complaints_and_insults(text: str) -> None:
    assert is_complaint(text)


@pytest.mark.parametrize(
    "text",
    [
        "¿tienen garantía?",
        "no entiendo la cotización",
        "muchas gracias",
        # Why they want another car, not a complaint about us.
        "bno dias kiero un yaris xq el mio ya no sirve",
        "mi carro ya no sirve, busco otro",
        "my car is useless, I need a new one",
    ],
)
def test_questions_are_not_complaints(text: str) -> None:
    assert not is_complaint(text)


@pytest.mark.parametrize(
    ("text", "day", "time"),
    [
        ("mañana a las 5", date(2026, 12, 4), "17:00"),
        ("el sábado en la mañana", date(2026, 12, 5), "morning"),
        ("pasado mañana 11:30", date(2026, 12, 5), "11:30"),
        ("el 15 a las 4 pm", date(2026, 12, 15), "16:00"),
        ("tomorrow at 11am", date(2026, 12, 4), "11:00"),
        ("el lunes en la tarde", date(2026, 12, 7), "afternoon"),
    ],
)
def test_days_and_times(text: str, day: date, time: str) -> None:
    assert parse_day(text, TODAY) == day
    assert parse_time(text) == time


def test_every_detail_in_one_message() -> None:
    booking = fill(
        Booking(), "mañana en la mañana en Satélite, soy Ana López", today=TODAY, branches=["Polanco", "Satélite"]
    )
    assert (booking.day, booking.time_window, booking.branch, booking.name) == (
        date(2026, 12, 4),
        "morning",
        "Satélite",
        "Ana López",
    )
    assert missing_slots(booking, branches=["Polanco", "Satélite"]) == ["car"]


def test_a_bare_name_only_when_asked() -> None:
    assert fill(Booking(asked="name"), "Carlos Méndez", today=TODAY, branches=[]).name == "Carlos Méndez"
    assert fill(Booking(asked="day"), "Carlos Méndez", today=TODAY, branches=[]).name is None
    assert fill(Booking(), "soy de Querétaro", today=TODAY, branches=[]).name is None


def test_booking_requests() -> None:
    assert wants_booking("quiero agendar una prueba de manejo del Jetta")
    assert wants_booking("me interesa la hilux, se puede ver en celaya el lunes?")
    assert not wants_booking("¿cuánto cuesta el Jetta?")


def test_branch_names_in_company_text() -> None:
    demo = "Tenemos dos sucursales. Polanco: Av. Ejército Nacional 843, CDMX. Satélite: Blvd. Ávila Camacho 2610."
    assert branches_in(demo) == ["Polanco", "Satélite"]
    bold = "**Sede Querétaro (matriz)**\nAv. 5 de Febrero 1820.\n\n**Sede León**\nBlvd. López Mateos."
    assert branches_in(bold) == ["Querétaro", "León"]
    assert branches_in("hoy atendemos en tres sedes: Querétaro, León y Celaya.") == ["Querétaro", "León", "Celaya"]


def test_varied_wording_never_repeats_until_it_runs_out() -> None:
    assert len(variants("knowledge_not_found")) >= 3
    said: list[str] = []
    for _ in variants("knowledge_not_found"):
        said.append(reply_hash(say_varied("knowledge_not_found", "es", avoid=said)))
    assert len(set(said)) == len(said)


@pytest.mark.parametrize(
    "text",
    ["ok muchas gracias, lo voy a pensar", "ya déjalo así", "luego te aviso", "no gracias", "I'll think about it"],
)
def test_closings_are_recognised(text: str) -> None:
    assert is_closing(text)


@pytest.mark.parametrize("text", ["¿lo puedo pensar y apartarlo?", "déjame ver el Jetta", "quiero el Versa"])
def test_questions_and_requests_are_not_closings(text: str) -> None:
    assert not is_closing(text)
