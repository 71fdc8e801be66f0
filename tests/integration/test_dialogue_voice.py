"""Dialogue through the chat API on the demo dealer: several questions in one message, a varied voice,
complaints, consent only from a yes, and English replies without Spanish sentences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import app.demo
from tests.helpers import Customer

DATA = Path(app.demo.__file__).parent / "data"
KNOWLEDGE: list[dict[str, Any]] = json.loads((DATA / "knowledge.json").read_text(encoding="utf-8"))


@pytest.fixture
def customer(client: Any, demo: dict[str, Any]) -> Customer:
    return Customer(client, prefix="dialogue")


def _title(category_words: str, language: str) -> str:
    return next(e["title"] for e in KNOWLEDGE if e["language"] == language and category_words in e["title"])


async def test_a_car_and_a_policy_question_get_both_answers(customer: Customer) -> None:
    reply = await customer.say("¿el RAV4 me lo apartan con depósito?")
    assert reply["items"] and all(i in {"DM-1178", "DM-1179", "DM-1180"} for i in reply["items"])
    assert "RAV4" in reply["reply"]
    assert [s["title"] for s in reply["sources"]] == ["Apartado de autos"]
    assert "$5,000" in reply["reply"] and "72 horas" in reply["reply"]


async def test_a_trade_in_question_about_a_car_gets_the_policy_and_the_car(customer: Customer) -> None:
    reply = await customer.say("¿me reciben mi auto a cuenta del Rav4?")
    assert "RAV4" in reply["reply"] and reply["items"]
    assert [s["title"] for s in reply["sources"]] == ["Tu auto a cuenta"]


async def test_a_complaint_gets_an_apology_and_a_person_never_thanks(customer: Customer) -> None:
    reply = await customer.say("pésimo servicio, no sirves para nada")
    assert reply["intent"] == "complaint" and not reply["handoff"]
    assert "gracias" not in reply["reply"].lower() and "con gusto" not in reply["reply"].lower()
    assert "asesor" in reply["reply"]
    # A question after the offer is not consent.
    other = await customer.say("ok, ¿y en Querétaro?")
    assert other["handoff"] is False
    again = await customer.say("esto es una porquería")
    assert again["intent"] == "complaint" and again["reply"] != reply["reply"]
    accepted = await customer.say("sí")
    assert accepted["handoff"] is True


async def test_an_english_complaint_is_answered_in_english(customer: Customer) -> None:
    reply = await customer.say("this is useless, worst service ever")
    assert reply["intent"] == "complaint" and "advisor" in reply["reply"]
    assert not any(w in reply["reply"].lower() for w in ("asesor", "lamento", "gracias"))


async def test_no_reply_is_sent_twice_word_for_word(customer: Customer) -> None:
    replies = [(await customer.say(q))["reply"] for q in ("¿venden motos acuáticas?", "¿venden lanchas?", "¿y yates?")]
    assert len(set(replies)) == 3, replies
    same = [(await customer.say("asdfgh qwerty"))["reply"] for _ in range(4)]
    assert len(set(same)) == 4, same


async def test_a_handoff_offer_is_accepted_only_by_a_yes(customer: Customer) -> None:
    await customer.say("¿venden motos acuáticas?")
    asked = await customer.say("ok, ¿y tienen sucursal en Querétaro?")
    assert asked["handoff"] is False
    await customer.say("¿venden lanchas?")
    accepted = await customer.say("sí, por favor")
    assert accepted["handoff"] is True


async def test_a_complaint_with_a_question_gets_the_apology_and_the_answer(customer: Customer) -> None:
    reply = await customer.say("pésimo servicio, nadie me contesta. ¿a qué hora abren el sábado?")
    assert reply["intent"] == "complaint" and "asesor" in reply["reply"]
    assert "10:00 a 17:00" in reply["reply"] and reply["sources"]


async def test_a_booking_with_a_question_about_what_to_bring(customer: Customer) -> None:
    reply = await customer.say("quiero agendar una prueba de manejo del Jetta 2020, ¿qué necesito llevar?")
    assert reply["agent"] == "booking" and reply["items"] == ["DM-1186"]
    assert "licencia" in reply["reply"] and [s["title"] for s in reply["sources"]] == ["Prueba de manejo"]
