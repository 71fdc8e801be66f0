"""Customers written by outside authors (probe batches p280–p310), through the chat API: a short follow-up asks the
last company question again of something else, "¿persona o máquina?" is answered as who is writing, an amount of
money is never a loan term, and a customer raising a price limit keeps the rest of the search."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers import chat, import_company_text, make_tenant

CARS = """stock_id,make,model,year,price,km,version,sucursal
V1,Nissan,Versa,2022,289900,30000,Advance CVT,León
V2,Nissan,Versa,2021,259900,41000,Sense,Celaya
V3,Kia,Seltos,2022,449900,25000,EX,León
V4,Mazda,CX-5,2021,429900,38000,i Grand Touring,Celaya
V5,Jeep,Compass,2021,389900,45000,Latitude,León
"""
BRANCHES = """# Sucursales
Tenemos dos sucursales.

**León**
Blvd. Adolfo López Mateos 2301, Col. Jardines del Moral. Abre de lunes a sábado de 9:00 a 19:00.

**Celaya**
Eje Nororiente 455, Col. Las Insurgentes. Abre de lunes a viernes de 9:00 a 18:00 y sábados de 9:00 a 14:00.
"""


@pytest.fixture
async def dealer(client: Any) -> Any:
    tenant = await make_tenant(client, catalog_csv=CARS)
    await import_company_text(client, tenant, BRANCHES)
    return tenant


async def test_a_short_follow_up_asks_the_last_company_question_of_something_else(client: Any, dealer: Any) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    first = await chat(client, dealer, "donde esta la sucursal de leon?", user)
    assert "López Mateos" in first["reply"]
    other = await chat(client, dealer, "y la de celaya?", user)
    assert other["agent"] == "info" and "Eje Nororiente" in other["reply"], other["reply"]
    # The same words after a car search are a search.
    searcher = f"u-{uuid.uuid4().hex[:8]}"
    await chat(client, dealer, "tienen versa?", searcher)
    cars = await chat(client, dealer, "y en celaya?", searcher)
    assert cars["items"] == ["V2"]


async def test_person_or_machine_is_answered_as_who_writes(client: Any, dealer: Any) -> None:
    for question in ("hablo con una persona o con una maquina?", "are u a real person or a bot lol"):
        answer = await chat(client, dealer, question, f"u-{uuid.uuid4().hex[:8]}")
        assert answer["handoff"] is False and answer["intent"] == "identity", (question, answer)


async def test_an_amount_is_never_read_as_a_term(client: Any, dealer: Any) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    await chat(client, dealer, "tienen versa?", user)
    quote = await chat(client, dealer, "cotizame el de 2022 a 36 meses con 60 mil de enganche", user)
    assert quote.get("quote") and quote["quote"]["term_months"] == 36, quote["reply"]
    assert "60 meses" not in quote["reply"]


async def test_raising_the_price_limit_keeps_the_rest_of_the_search(client: Any, dealer: Any) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    first = await chat(client, dealer, "que tienen en leon de maximo 400 mil?", user)
    assert set(first["items"]) == {"V1", "V5"}
    raised = await chat(client, dealer, "y si subo a 450?", user)
    assert set(raised["items"]) == {"V1", "V3", "V5"}, raised["reply"]  # still León, now up to 450 mil


async def test_two_models_named_together_are_both_shown(client: Any, dealer: Any) -> None:
    both = await chat(client, dealer, "cuanto cuestan el seltos y el cx-5? y cuantos km tiene cada uno", "u-both")
    assert set(both["items"]) == {"V3", "V4"}, both["reply"]
    assert "$449,900" in both["reply"] and "$429,900" in both["reply"]


async def test_a_branch_given_before_it_is_asked_joins_the_booking(client: Any, dealer: Any) -> None:
    user = "u-branch-early"
    await chat(client, dealer, "quiero hacer prueba de manejo del seltos", user)
    early = await chat(client, dealer, "en celaya", user)
    assert early["agent"] == "booking" and "Celaya" in early["reply"], early["reply"]
    await chat(client, dealer, "el viernes a las 11am", user)
    summary = await chat(client, dealer, "a nombre de Ana Ruiz", user)
    assert "Celaya" in summary["reply"] and "¿En qué sucursal?" not in summary["reply"], summary["reply"]


async def test_a_visit_without_a_car_takes_the_car_picked_meanwhile(client: Any, dealer: Any) -> None:
    user = "u-visit-car"
    await chat(client, dealer, "hola soy Ana Ruiz, quiero agendar una cita pa ver un carro", user)
    picked = await chat(client, dealer, "el seltos", user)
    assert picked["items"] == ["V3"]
    await chat(client, dealer, "el viernes a las 11am", user)
    summary = await chat(client, dealer, "en leon porfa", user)
    assert "Seltos" in summary["reply"], summary["reply"]
