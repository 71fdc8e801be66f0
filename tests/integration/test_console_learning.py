"""The learning loop in the console (issue 16) through HTTP with a signed-in operator: customers' 👍/👎 on the
Feedback page and on the turn in the conversation view, a correction written in the console that then answers
the question (and a paraphrase) through the chat API, experiments started, watched (per-arm intervals),
stopped automatically, stopped and promoted by an admin, and alerts on the analytics page. CSRF on every new
form; another tenant's operator can neither see nor correct."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx2
import pytest

from app.alerts.models import Alert
from app.core.db import session_scope
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import (
    TenantHandle,
    chat,
    console_browser,
    console_login,
    csrf_token,
    make_operator,
    make_tenant,
    new_number,
    say_on_whatsapp,
    settle,
)

pytestmark = pytest.mark.usefixtures("worker")

KNOWLEDGE = [
    {"title": "Horario de atención", "content": "Abrimos de lunes a sábado de 9 a 18 h.", "category": "hours"},
    {"title": "Garantía", "content": "Todos nuestros autos tienen garantía de 6 meses.", "category": "warranty"},
]
QUESTION = "¿cuál es su horario de atención?"
REASON = "no dice si abren domingos"
ANSWER = "Abrimos de lunes a sábado de 9 a 18 h y los domingos de 10 a 14 h."
PARAPHRASE = "¿a qué hora abren los domingos?"


@pytest.fixture(scope="module")
def asgi_app(migrated: None) -> Any:
    from app.main import create_app

    return create_app()


def _client(app: Any) -> httpx2.AsyncClient:
    """A browser from an address of its own: the console's login limit counts per client address in process
    memory, so these tests' sign-ins never use up the allowance of the other console tests in the process."""
    return console_browser(app, address=f"10.16.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}")


@pytest.fixture
async def browser(asgi_app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    async with _client(asgi_app) as http:
        yield http


@pytest.fixture
async def stranger(asgi_app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    """A second browser, for another tenant's operator."""
    async with _client(asgi_app) as http:
        yield http


async def _feedback_tenant(client: Any) -> TenantHandle:
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    r = await client.put(
        f"/v1/tenants/{tenant.slug}/agent-config",
        json={"rich_messages": False, "ask_feedback": True},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    return tenant


async def _thumbs_down(client: Any, tenant: TenantHandle, fake: FakeTwilioServer) -> str:
    """A customer asks, gets the answer and the 👍/👎 question, answers "2" and gives a reason (the real
    webhook, queue and worker). Returns the customer's number."""
    customer = new_number()
    await say_on_whatsapp(client, tenant, customer, QUESTION, fake)
    await settle(tenant.id)
    assert any("1" in m["body"] and "2" in m["body"] for m in fake.messages_to(customer)[1:])
    await say_on_whatsapp(client, tenant, customer, "2", fake)
    assert "Gracias" in await say_on_whatsapp(client, tenant, customer, REASON, fake)
    await settle(tenant.id)
    return customer


def _turn_link(html: str) -> int:
    found = re.search(r'href="/console/corrections/new\?turn_id=(\d+)"', html)
    assert found, html
    return int(found.group(1))


async def test_feedback_page_conversation_rating_and_a_correction_that_answers(
    client: Any, browser: httpx2.AsyncClient, stranger: httpx2.AsyncClient, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await _feedback_tenant(client)
    await _thumbs_down(client, tenant, fake_twilio)
    email = await make_operator(client, tenant)
    assert (await console_login(browser, tenant.slug, email)).status_code == 303

    page = await browser.get("/console/feedback")
    assert page.status_code == 200
    assert "👎" in page.text and REASON in page.text and "9 a 18" in page.text and "horario" in page.text
    conversation = re.search(r'href="/console/conversations/([0-9a-f-]{36})"', page.text)
    assert conversation
    turn_id = _turn_link(page.text)
    # Filters: by rating and by the day it was answered (the tenant's calendar).
    assert REASON not in (await browser.get("/console/feedback?rating=up")).text
    assert REASON in (await browser.get("/console/feedback?rating=down")).text
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    assert "No feedback matches" in (await browser.get(f"/console/feedback?from={tomorrow}")).text
    last_week = (date.today() - timedelta(days=7)).isoformat()
    assert REASON in (await browser.get(f"/console/feedback?from={last_week}&to={tomorrow}")).text
    assert (await browser.get("/console/feedback?rating=meh")).status_code == 422

    # The rating on the turn in the conversation view, with the way to correct it.
    view = await browser.get(f"/console/conversations/{conversation.group(1)}")
    assert "👎 not helpful" in view.text and REASON in view.text and _turn_link(view.text) == turn_id
    history = await browser.get(f"/console/conversations/{conversation.group(1)}/history")
    assert "👎 not helpful" in history.text

    # Another tenant's operator sees none of it and cannot correct it.
    other = await make_tenant(client)
    assert (await console_login(stranger, other.slug, await make_operator(client, other))).status_code == 303
    theirs = await stranger.get("/console/feedback")
    assert theirs.status_code == 200 and REASON not in theirs.text
    assert (await stranger.get(f"/console/corrections/new?turn_id={turn_id}")).status_code == 404
    refused = await stranger.post(
        "/console/corrections", data={"turn_id": str(turn_id), "answer": "hack", "csrf_token": csrf_token(theirs.text)}
    )
    assert refused.status_code == 404
    assert (await stranger.get(f"/console/conversations/{conversation.group(1)}")).status_code == 404

    form = await browser.get(f"/console/corrections/new?turn_id={turn_id}")
    assert form.status_code == 200 and QUESTION in form.text and REASON in form.text
    # CSRF: the form's token is required.
    no_token = await browser.post("/console/corrections", data={"turn_id": str(turn_id), "answer": ANSWER})
    assert no_token.status_code == 403
    empty = await browser.post(
        "/console/corrections", data={"turn_id": str(turn_id), "answer": " ", "csrf_token": csrf_token(form.text)}
    )
    assert empty.status_code == 303 and "notice=no_answer" in empty.headers["location"]
    saved = await browser.post(
        "/console/corrections",
        data={
            "turn_id": str(turn_id),
            "answer": ANSWER,
            "paraphrases": PARAPHRASE,
            "csrf_token": csrf_token(form.text),
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/console/conversations/{conversation.group(1)}?notice=corrected"

    made = (await client.get(f"/v1/tenants/{tenant.slug}/corrections", headers=tenant.headers)).json()
    assert [(c["turn_id"], c["question"], c["answer"]) for c in made] == [(turn_id, QUESTION, ANSWER)]
    cases = (await client.get(f"/v1/tenants/{tenant.slug}/eval-cases", headers=tenant.headers)).json()
    assert sorted(c["question"] for c in cases) == sorted([QUESTION, PARAPHRASE])
    listed = await browser.get("/console/feedback")
    assert ANSWER in listed.text and f'href="/console/conversations/{conversation.group(1)}">turn {turn_id}' in (
        listed.text
    )
    assert ANSWER not in (await stranger.get("/console/feedback")).text

    # The correction now answers the question and its paraphrase through the chat API.
    for text in (QUESTION, PARAPHRASE):
        reply = await chat(client, tenant, text)
        assert ANSWER in reply["reply"], (text, reply)


async def test_a_correction_for_a_question_written_out(client: Any, browser: httpx2.AsyncClient) -> None:
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    assert (await console_login(browser, tenant.slug, await make_operator(client, tenant))).status_code == 303
    form = await browser.get("/console/corrections/new")
    assert form.status_code == 200 and 'name="question"' in form.text
    answer = "Sí, aceptamos mascotas con correa en la agencia."
    saved = await browser.post(
        "/console/corrections",
        data={"question": "¿aceptan mascotas en la agencia?", "answer": answer, "csrf_token": csrf_token(form.text)},
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/console/feedback?notice=corrected"
    assert "written out" in (await browser.get("/console/feedback")).text
    assert answer in (await chat(client, tenant, "¿aceptan mascotas en la agencia?"))["reply"]
    missing = await browser.post("/console/corrections", data={"answer": answer, "csrf_token": csrf_token(form.text)})
    assert missing.status_code == 303 and "notice=no_question" in missing.headers["location"]


async def test_experiments_in_the_console(
    client: Any, asgi_app: Any, browser: httpx2.AsyncClient, stranger: httpx2.AsyncClient
) -> None:
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    admin = await make_operator(client, tenant, role="admin")
    operator = await make_operator(client, tenant)

    # An operator sees experiments but cannot start one.
    assert (await console_login(stranger, tenant.slug, operator)).status_code == 303
    listed = await stranger.get("/console/experiments")
    assert listed.status_code == 200 and "No experiments yet" in listed.text and "experiment-start" not in listed.text
    forbidden = await stranger.post(
        "/console/experiments",
        data={"name": "x", "variant": '{"tone": "formal"}', "split": "0.5", "csrf_token": csrf_token(listed.text)},
    )
    assert forbidden.status_code == 403

    assert (await console_login(browser, tenant.slug, admin)).status_code == 303
    page = await browser.get("/console/experiments")
    assert "experiment-start" in page.text
    token = csrf_token(page.text)
    assert (await browser.post("/console/experiments", data={"name": "x", "variant": "{}"})).status_code == 403
    bad_json = await browser.post("/console/experiments", data={"name": "x", "variant": "{tone", "csrf_token": token})
    assert bad_json.status_code == 422 and "JSON" in bad_json.text
    bad_field = await browser.post(
        "/console/experiments", data={"name": "x", "variant": '{"tone": "grumpy"}', "csrf_token": token}
    )
    assert bad_field.status_code == 422 and "tone" in bad_field.text and "grumpy" in bad_field.text  # kept in the form

    started = await browser.post(
        "/console/experiments",
        data={
            "name": "handoff topics",
            "variant": '{"auto_handoff_topics": ["horario"]}',
            "split": "0.5",
            "guard_metric": "handoff_rate",
            "csrf_token": token,
        },
    )
    assert started.status_code == 303, started.text
    found = re.match(r"/console/experiments/([0-9a-f-]{36})\?notice=started", started.headers["location"])
    assert found
    experiment_url = f"/console/experiments/{found.group(1)}"
    again = await browser.post(
        "/console/experiments", data={"name": "two", "variant": '{"tone": "formal"}', "csrf_token": token}
    )
    assert again.status_code == 422 and "already running" in again.text

    # Customers in both arms; arm B hands the question off, so the sequential test stops it by itself.
    for _ in range(40):
        await chat(client, tenant, QUESTION, user=f"exp-{uuid.uuid4().hex[:10]}")
        status = (await client.get(f"/v1/tenants/{tenant.slug}/{experiment_url[9:]}", headers=tenant.headers)).json()
        if status["status"] != "running":
            break
    assert status["status"] == "stopped", status
    view = await browser.get(experiment_url)
    assert view.status_code == 200
    assert "Stopped automatically and rolled back" in view.text and "arm B worse on handoff_rate" in view.text
    assert view.text.count("<svg") == 1 and 'class="ci"' in view.text and "95% interval" in view.text
    assert 'id="arms"' in view.text and "100%" in view.text  # arm B handed every turn off
    assert 'id="promote"' not in view.text  # nothing to stop or promote any more
    assert "arm B worse" in (await browser.get("/console/experiments")).text
    # Another tenant's operator cannot see it.
    other = await make_tenant(client)
    async with _client(asgi_app) as third:
        assert (
            await console_login(third, other.slug, await make_operator(client, other, role="admin"))
        ).status_code == 303
        assert (await third.get(experiment_url)).status_code == 404
        third_page = await third.get("/console/experiments")
        assert "handoff topics" not in third_page.text
        assert (
            await third.post(f"{experiment_url}/stop", data={"csrf_token": csrf_token(third_page.text)})
        ).status_code == 404

    # Stop by hand: nothing changes.
    second = await browser.post(
        "/console/experiments",
        data={"name": "formal", "variant": '{"tone": "formal"}', "split": "0.3", "csrf_token": token},
    )
    second_url = second.headers["location"].split("?")[0]
    assert 'id="stop"' in (await browser.get(second_url)).text
    assert (await stranger.post(f"{second_url}/stop", data={"csrf_token": csrf_token(listed.text)})).status_code == 403
    assert (await browser.post(f"{second_url}/stop")).status_code == 403  # no CSRF token
    stopped = await browser.post(f"{second_url}/stop", data={"csrf_token": token})
    assert stopped.headers["location"].endswith("notice=stopped")
    assert "ended by " + admin in (await browser.get(second_url)).text
    again_stopped = await browser.post(f"{second_url}/stop", data={"csrf_token": token})
    assert again_stopped.headers["location"].endswith("notice=not_running")
    config = (await client.get(f"/v1/tenants/{tenant.slug}/agent-config", headers=tenant.headers)).json()
    assert config["tone"] != "formal"

    # Promote: arm B becomes the tenant's configuration.
    third_run = await browser.post(
        "/console/experiments",
        data={"name": "formal again", "variant": '{"tone": "formal"}', "csrf_token": token},
    )
    third_url = third_run.headers["location"].split("?")[0]
    promoted = await browser.post(f"{third_url}/promote", data={"csrf_token": token})
    assert promoted.headers["location"].endswith("notice=promoted")
    assert "Arm B is now the tenant" in (await browser.get(promoted.headers["location"])).text
    config = (await client.get(f"/v1/tenants/{tenant.slug}/agent-config", headers=tenant.headers)).json()
    assert config["tone"] == "formal"


async def test_alerts_on_the_analytics_page(
    client: Any, browser: httpx2.AsyncClient, stranger: httpx2.AsyncClient
) -> None:
    tenant = await make_tenant(client)
    other = await make_tenant(client)
    now = datetime.now(UTC)
    async with session_scope() as session:
        session.add_all(
            [
                Alert(
                    tenant_id=uuid.UUID(tenant.id),
                    kind="handoff_waiting",
                    details={"waiting": 3, "threshold_minutes": 10},
                    opened_at=now - timedelta(minutes=5),
                ),
                Alert(
                    tenant_id=uuid.UUID(tenant.id),
                    kind="budget_80",
                    details={"spent_usd": "8.10"},
                    opened_at=now - timedelta(hours=5),
                    cleared_at=now - timedelta(hours=1),
                ),
            ]
        )
    assert (await console_login(browser, tenant.slug, await make_operator(client, tenant))).status_code == 303
    page = await browser.get("/console/analytics")
    assert page.status_code == 200
    section = page.text.split('id="alerts"')[1].split("</section>")[0]
    assert "handoff waiting" in section and "threshold minutes: 10" in section and "open" in section
    assert "budget 80" in section and "recovered" in section
    assert page.text.count("<svg") == 5  # the charts are unchanged
    assert (await console_login(stranger, other.slug, await make_operator(client, other))).status_code == 303
    assert "No alerts." in (await stranger.get("/console/analytics")).text
