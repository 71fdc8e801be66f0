"""The console's other pages through HTTP with a session: leads, knowledge search and edit, catalog upload,
analytics with data (the knowledge gaps among them), and searching the inbox by text."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import text

from app.core.db import session_scope
from app.leads.models import Lead
from app.operators.analytics import report as analytics_report
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import (
    CONSOLE_PASSWORD,
    age_conversation,
    console_browser,
    console_login,
    csrf_token,
    make_operator,
    make_tenant,
    new_number,
    post_whatsapp,
    settle,
    wait_for_bodies,
)

pytestmark = pytest.mark.usefixtures("worker")

KNOWLEDGE = [
    {"title": "Horario de atención", "content": "Abrimos de lunes a sábado de 9 a 18 h.", "category": "hours"},
    {"title": "Garantía", "content": "Todos los autos tienen garantía de 6 meses.", "category": "warranty"},
]
CARS = "stock_id,make,model,year,price\nA1,Mazda,3,2019,265000\n"


@pytest.fixture(scope="module")
def asgi_app(migrated: None) -> Any:
    from app.main import create_app

    return create_app()


@pytest.fixture
async def browser(asgi_app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    async with console_browser(asgi_app) as http:
        yield http


async def test_pages_with_data(client: Any, browser: httpx2.AsyncClient, fake_twilio: FakeTwilioServer) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS, knowledge=KNOWLEDGE)
    email = await make_operator(client, tenant)
    customer = new_number()
    questions = ["¿Tienen seguro de vida para mascotas?", "¿Cuál es su horario de atención?"]
    for count, question in enumerate(questions, 1):
        await post_whatsapp(client, to=tenant.number, from_=customer, body=question)
        await wait_for_bodies(fake_twilio, customer, count)
        await settle(tenant.id)
    async with session_scope() as session:
        session.add(
            Lead(
                tenant_id=uuid.UUID(tenant.id),
                customer=customer.removeprefix("whatsapp:"),
                kind="test_drive",
                car="Mazda 3 2019",
                day=date(2026, 12, 12),
                time_window="11:00",
                name="Laura",
            )
        )
    assert (await console_login(browser, tenant.slug, email, CONSOLE_PASSWORD)).status_code == 303

    leads = await browser.get("/console/leads")
    assert leads.status_code == 200 and "Laura" in leads.text and "test_drive" in leads.text

    found = await browser.get("/console/knowledge?q=garant")
    assert "Garantía" in found.text and "Horario de atención" not in found.text
    entry_id = re.search(r'href="/console/knowledge/([0-9a-f-]{36})"', found.text)
    assert entry_id
    form = await browser.get(f"/console/knowledge/{entry_id.group(1)}")
    saved = await browser.post(
        f"/console/knowledge/{entry_id.group(1)}",
        data={
            "title": "Garantía",
            "content": "Todos los autos tienen garantía de 12 meses.",
            "category": "warranty",
            "active": "on",
            "csrf_token": csrf_token(form.text),
        },
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("notice=saved")
    entry = await client.get(f"/v1/tenants/{tenant.slug}/knowledge/{entry_id.group(1)}", headers=tenant.headers)
    assert "12 meses" in entry.json()["content"] and entry.json()["version"] == 2

    catalog = await browser.get("/console/catalog")
    assert "1 items in the catalog" in catalog.text
    good = "stock_id,make,model,year,price\nA1,Mazda,3,2019,265000\nA2,Kia,Rio,2020,250000\n"
    uploaded = await browser.post(
        "/console/catalog",
        data={"csrf_token": csrf_token(catalog.text)},
        files={"file": ("cars.csv", good.encode(), "text/csv")},
    )
    assert uploaded.status_code == 200 and "Imported 2 rows" in uploaded.text

    analytics = await browser.get("/console/analytics?days=7")
    assert analytics.status_code == 200
    assert analytics.text.count("<svg") == 5
    assert "¿tienen seguro de vida para mascotas?" in analytics.text  # the knowledge gap to fill
    assert (await browser.get("/console/analytics?days=999")).status_code == 422
    # The page's series and totals are the tenant's turns: one count and one cost per turn, each in one outcome.
    async with session_scope() as session:
        report = await analytics_report(
            session, tenant_id=uuid.UUID(tenant.id), since=datetime.now(UTC) - timedelta(days=7), tz="UTC"
        )
        stored = (
            await session.execute(
                text("SELECT count(*), coalesce(sum(cost_usd), 0) FROM turns WHERE tenant_id = CAST(:t AS uuid)"),
                {"t": tenant.id},
            )
        ).one()
    assert report.totals["turns"] == sum(report.turns) == stored[0] == len(questions)
    assert sum(sum(values) for values in report.outcomes.values()) == len(questions)
    assert report.totals["cost"] == pytest.approx(float(stored[1])) == pytest.approx(sum(report.cost))
    assert report.totals["conversations"] == 1

    searched = await browser.get("/console/inbox?q=mascotas")
    assert customer.removeprefix("whatsapp:") in searched.text
    assert "No conversations match" in (await browser.get("/console/inbox?q=zzz-nada")).text


async def test_reply_box_knows_the_24_hour_window(
    client: Any, browser: httpx2.AsyncClient, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await make_tenant(client)
    email = await make_operator(client, tenant)
    customer = new_number()
    await post_whatsapp(client, to=tenant.number, from_=customer, body="quiero hablar con un asesor")
    await wait_for_bodies(fake_twilio, customer, 1)
    await settle(tenant.id)
    conversation_id = (await client.get(f"/v1/tenants/{tenant.slug}/handoffs", headers=tenant.headers)).json()[0][
        "conversation_id"
    ]
    await console_login(browser, tenant.slug, email, CONSOLE_PASSWORD)
    inside = await browser.get(f"/console/conversations/{conversation_id}")
    assert 'id="reply"' in inside.text and "WhatsApp window open until" in inside.text
    await age_conversation(conversation_id, hours=25)
    outside = await browser.get(f"/console/conversations/{conversation_id}")
    assert 'id="reply"' not in outside.text and "only allows an approved template" in outside.text
    refused = await browser.post(
        f"/console/conversations/{conversation_id}/reply", data={"text": "hola", "csrf_token": csrf_token(outside.text)}
    )
    assert refused.headers["location"].endswith("notice=window_closed")
    no_template = await browser.post(
        f"/console/conversations/{conversation_id}/reply",
        data={"template": "handoff_follow_up", "variables": "1=Ana\n2=tu auto", "csrf_token": csrf_token(outside.text)},
    )
    assert no_template.headers["location"].endswith("notice=no_template")
    assert fake_twilio.count_to(customer) == 1
