"""Bookings end to end: a test drive taken in the chat (API and signed webhook with a worker), confirmed,
stored as a lead the business lists over HTTP (tenant-scoped) and with agentctl."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from app.core.db import session_scope
from app.leads.models import Lead
from app.notify.models import NotifyEvent
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import Customer, admin_headers, chat, make_tenant, new_number, say_on_whatsapp, settle
from tests.integration.agentctl import Cli

CARS = """stock_id,make,model,year,price,km,version
B1,Mazda,3,2019,265000,48000,i Sport
B2,Nissan,Versa,2018,189999,61000,Advance
"""
BRANCHES = [
    {
        "title": "Sucursales",
        "content": "Tenemos dos sucursales. Norte: Av. Uno 100, Monterrey. Sur: Calle Dos 200, Monterrey.",
        "category": "branches",
    }
]


@pytest.fixture
def customer(client: Any, demo: dict[str, Any]) -> Customer:
    return Customer(client, prefix="booking")


async def _leads(client: Any, slug: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = await client.get(f"/v1/tenants/{slug}/leads", headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_a_test_drive_is_asked_for_one_detail_at_a_time_confirmed_and_listed(customer: Customer) -> None:
    first = await customer.say("Quiero agendar una prueba de manejo del Jetta 2020")
    assert first["agent"] == "booking" and first["items"] == ["DM-1186"]
    assert "Jetta 2020" in first["reply"] and "día" in first["reply"]
    when = await customer.say("el martes a las 5")  # a named weekday: the demo is closed on Sundays
    # The demo's branches come from its own knowledge ("Polanco: ...", "Satélite: ...").
    assert "Polanco" in when["reply"] and "Satélite" in when["reply"]
    named = await customer.say("en satelite, a nombre de Laura Gómez")
    assert "Laura Gómez" in named["reply"] and "17:00" in named["reply"] and "Satélite" in named["reply"]
    assert "¿Lo agendo así?" in named["reply"]
    done = await customer.say("sí")
    assert done["agent"] == "booking" and "Laura" in done["reply"]
    bring = await customer.say("¿qué necesito llevar?")
    assert [s["title"] for s in bring["sources"]] == ["Prueba de manejo"] and "licencia" in bring["reply"]

    leads = [
        lead for lead in await _leads(customer.client, "demo", admin_headers()) if lead["customer"] == customer.user
    ]
    assert len(leads) == 1
    lead = leads[0]
    assert lead["kind"] == "test_drive" and lead["stock_id"] == "DM-1186" and lead["car"] == "Volkswagen Jetta 2020"
    assert lead["time_window"] == "17:00" and lead["branch"] == "Satélite" and lead["name"] == "Laura Gómez"
    assert lead["status"] == "new" and date.fromisoformat(lead["day"]) > date(2026, 1, 1)
    # Stored once: a later "sí" starts nothing.
    after = await customer.say("sí")
    assert after["agent"] != "booking"


async def test_a_question_about_test_drives_is_answered_and_the_next_message_books(customer: Customer) -> None:
    asked = await customer.say("¿puedo hacer una prueba de manejo?")
    assert asked["agent"] == "info" and [s["title"] for s in asked["sources"]] == ["Prueba de manejo"]
    follow = await customer.say("el Jetta 2020, el martes a las 5")
    assert follow["agent"] == "booking" and follow["items"] == ["DM-1186"]
    assert "Polanco" in follow["reply"]
    unrelated = await customer.say("¿y qué garantía tienen?")
    assert unrelated["agent"] == "info"


async def test_every_detail_in_one_message_goes_straight_to_the_summary(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS, knowledge=BRANCHES)
    user = f"u-{uuid.uuid4().hex[:8]}"
    summary = await chat(
        client, tenant, "quiero una prueba de manejo del Mazda 3 el sábado en la mañana en Norte, soy Pedro Ruiz", user
    )
    assert summary["agent"] == "booking" and "Mazda 3 2019" in summary["reply"] and "Norte" in summary["reply"]
    assert "sábado" in summary["reply"] and "en la mañana" in summary["reply"] and "Pedro Ruiz" in summary["reply"]
    done = await chat(client, tenant, "sí, confirmo", user)
    assert "Pedro" in done["reply"]
    [lead] = await _leads(client, tenant.slug, tenant.headers)
    assert lead["stock_id"] == "B1" and lead["time_window"] == "morning" and lead["branch"] == "Norte"
    # The business is notified (recorded in the turn's transaction; delivered when it has a notify_url).
    async with session_scope() as session:
        events = (
            (await session.execute(select(NotifyEvent).where(NotifyEvent.tenant_id == uuid.UUID(tenant.id))))
            .scalars()
            .all()
        )
    assert [(e.event, e.data["lead_id"], e.data["name"]) for e in events] == [
        ("lead.created", lead["id"], "Pedro Ruiz")
    ]
    assert date.fromisoformat(lead["day"]).weekday() == 5

    # Tenant isolation: another tenant's key sees none of these, and cannot read this tenant's list.
    other = await make_tenant(client, catalog_csv=CARS)
    assert await _leads(client, other.slug, other.headers) == []
    refused = await client.get(f"/v1/tenants/{tenant.slug}/leads", headers=other.headers)
    assert refused.status_code in (403, 404)


async def test_an_english_booking_is_all_in_english(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS, knowledge=BRANCHES)
    user = f"u-{uuid.uuid4().hex[:8]}"
    replies = [
        (await chat(client, tenant, text, user))["reply"]
        for text in ("I'd like to book a test drive of the Versa", "tomorrow at 11am", "Sur", "John Smith", "yes")
    ]
    spanish = ("¿", "Qué", "prueba", "sucursal", "mañana", "Listo", "nombre")
    for reply in replies:
        assert not any(word in reply for word in spanish), reply
    assert "John" in replies[-1] and "booked" in replies[-1]


async def test_changing_a_detail_before_the_yes(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    user = f"u-{uuid.uuid4().hex[:8]}"
    first = await chat(client, tenant, "quiero ir a ver el Versa mañana a las 4, soy Ana", user)
    assert first["agent"] == "booking" and "16:00" in first["reply"]
    changed = await chat(client, tenant, "mejor a las 6", user)
    assert "18:00" in changed["reply"] and changed["reply"] != first["reply"]
    await chat(client, tenant, "sí", user)
    [lead] = await _leads(client, tenant.slug, tenant.headers)
    assert lead["kind"] == "visit" and lead["time_window"] == "18:00" and lead["name"] == "Ana"


@pytest.mark.usefixtures("worker")
async def test_a_booking_over_whatsapp_is_stored(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS, knowledge=BRANCHES)
    customer = new_number()
    await say_on_whatsapp(
        client, tenant, customer, "hola, ¿puedo agendar una prueba de manejo del Mazda 3?", fake_twilio
    )
    await say_on_whatsapp(client, tenant, customer, "el viernes a las 12:30 en Sur", fake_twilio)
    summary = await say_on_whatsapp(client, tenant, customer, "Marta Díaz", fake_twilio)
    assert "Marta Díaz" in summary and "12:30" in summary
    done = await say_on_whatsapp(client, tenant, customer, "sí", fake_twilio)
    assert "Marta" in done
    await settle(tenant.id)
    async with session_scope() as session:
        rows = (await session.execute(select(Lead).where(Lead.tenant_id == uuid.UUID(tenant.id)))).scalars().all()
    assert [(r.customer, r.stock_id, r.branch, r.name) for r in rows] == [(customer, "B1", "Sur", "Marta Díaz")]


def test_agentctl_books_in_a_chat_and_lists_the_lead(cli: Cli) -> None:
    cli.ok("seed")
    user = f"cli-{uuid.uuid4().hex[:8]}"
    messages = ["quiero una prueba de manejo del Jetta 2020", "el lunes en la tarde en Polanco", "Rosa Pérez", "sí"]
    out = cli.ok("chat", "demo", "--user", user, *[a for m in messages for a in ("-m", m)], "--json")
    last = json.loads(out.strip().splitlines()[-1])
    assert last["agent"] == "booking" and "Rosa" in last["reply"]
    listed = [lead for lead in json.loads(cli.ok("lead", "list", "demo", "--json")) if lead["customer"] == user]
    assert [(lead["name"], lead["time_window"], lead["branch"]) for lead in listed] == [
        ("Rosa Pérez", "afternoon", "Polanco")
    ]
    assert "Rosa Pérez" in cli.ok("lead", "list", "demo")


async def test_the_car_changes_before_the_yes(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    user = f"u-{uuid.uuid4().hex[:8]}"
    first = await chat(client, tenant, "quiero una prueba de manejo del Mazda 3 mañana a las 11, soy Ana Ruiz", user)
    assert "Mazda 3 2019" in first["reply"]
    changed = await chat(client, tenant, "mejor el Versa", user)
    assert changed["agent"] == "booking" and "Nissan Versa 2018" in changed["reply"] and changed["items"] == ["B2"]
    await chat(client, tenant, "sí", user)
    [lead] = await _leads(client, tenant.slug, tenant.headers)
    assert lead["stock_id"] == "B2"


async def test_a_stored_booking_is_moved_not_duplicated(customer: Customer) -> None:
    await customer.say("Quiero hacer una prueba de manejo del Kia Seltos 2025 el viernes en la tarde en Polanco")
    await customer.say("A nombre de Mariana Cortés")
    done = await customer.say("sí")
    assert done["agent"] == "booking" and "viernes" in done["reply"]
    # A question naming a day after the booking moves nothing.
    asked = await customer.say("¿a qué hora abren el sábado?")
    assert asked["agent"] != "booking"
    moved = await customer.say("oye siempre no puedo el viernes, ¿se puede el sábado a las 11?")
    assert moved["agent"] == "booking" and "sábado" in moved["reply"] and "11:00" in moved["reply"]
    again = await customer.say("sí, confirmo")
    assert again["agent"] == "booking" and "sábado" in again["reply"]
    leads = [
        lead for lead in await _leads(customer.client, "demo", admin_headers()) if lead["customer"] == customer.user
    ]
    assert len(leads) == 1, leads
    assert date.fromisoformat(leads[0]["day"]).weekday() == 5 and leads[0]["time_window"] == "11:00"
    assert leads[0]["name"] == "Mariana Cortés" and leads[0]["branch"] == "Polanco"
