"""The operator API through HTTP with a real worker: handoff queue, replies as the business (fake Twilio),
the 24-hour rule, assignment, notes, close, tenant isolation, and signed notifications with retries."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from app.conversations.models import Message
from app.core.db import session_scope
from app.notify import service as notify_service
from app.notify.models import NotifyEvent
from tests.fakes.notify_receiver import NotifyReceiver
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import (
    TenantHandle,
    age_conversation,
    make_tenant,
    new_number,
    post_whatsapp,
    settle,
    wait_for_bodies,
)

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def receiver() -> AsyncIterator[NotifyReceiver]:
    async with NotifyReceiver() as fake:
        yield fake


async def _settled_event(tenant: TenantHandle, within: float = 5) -> NotifyEvent:
    """The tenant's one notification event, once it is no longer queued (or as it is after ``within`` s)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with session_scope() as session:
            event = (
                await session.execute(select(NotifyEvent).where(NotifyEvent.tenant_id == uuid.UUID(tenant.id)))
            ).scalar_one()
        if event.status != "queued" or asyncio.get_running_loop().time() > deadline:
            return event
        await asyncio.sleep(0.05)


async def _handoff(client: Any, tenant: TenantHandle, fake: FakeTwilioServer) -> tuple[str, str]:
    """A customer who asked for a person: (customer address, conversation id)."""
    customer = new_number()
    await post_whatsapp(client, to=tenant.number, from_=customer, body="quiero hablar con un asesor")
    await wait_for_bodies(fake, customer, 1)
    await settle(tenant.id)
    waiting = await client.get(f"/v1/tenants/{tenant.slug}/handoffs", headers=tenant.headers)
    assert waiting.status_code == 200, waiting.text
    row = next(r for r in waiting.json() if r["customer"] == customer.removeprefix("whatsapp:"))
    return customer, row["conversation_id"]


async def test_handoff_reply_assign_note_close(
    client: Any, fake_twilio: FakeTwilioServer, receiver: NotifyReceiver
) -> None:
    tenant = await make_tenant(client)
    put = await client.put(f"/v1/tenants/{tenant.slug}/notify", json={"url": receiver.hook_url}, headers=tenant.headers)
    assert put.status_code == 200, put.text
    secret = put.json()["secret"]
    assert secret and put.json()["signature_header"] == "X-Signature-256"
    shown = await client.get(f"/v1/tenants/{tenant.slug}/notify", headers=tenant.headers)
    assert shown.json()["secret"] is None and shown.json()["url"] == receiver.hook_url  # the secret is shown once

    customer, conversation_id = await _handoff(client, tenant, fake_twilio)
    started = (await receiver.wait_for("handoff.started"))[0]
    assert notify_service.verify(secret, started.body, started.headers["X-Signature-256"])
    assert not notify_service.verify("whsec_wrong", started.body, started.headers["X-Signature-256"])
    assert started.json["tenant"] == tenant.slug and started.json["data"]["conversation_id"] == conversation_id

    await post_whatsapp(client, to=tenant.number, from_=customer, body="¿sigue ahí alguien?")
    moved = (await receiver.wait_for("handoff.customer_message"))[0]
    assert moved.json["data"]["text"] == "¿sigue ahí alguien?"
    await settle(tenant.id)
    waiting = (await client.get(f"/v1/tenants/{tenant.slug}/handoffs", headers=tenant.headers)).json()
    assert waiting[0]["last_customer_message"] == "¿sigue ahí alguien?"
    assert waiting[0]["reason"] and waiting[0]["waiting_seconds"] >= 0

    op = await client.post(
        f"/v1/tenants/{tenant.slug}/operators",
        json={"email": "Ana@Example.com", "password": "correct horse battery", "role": "operator"},
        headers=tenant.headers,
    )
    assert op.status_code == 201 and op.json()["email"] == "ana@example.com"
    assigned = await client.post(
        f"/v1/tenants/{tenant.slug}/conversations/{conversation_id}/assign",
        json={"operator_id": op.json()["id"]},
        headers=tenant.headers,
    )
    assert assigned.json()["operator_email"] == "ana@example.com"

    sent = await client.post(
        f"/v1/tenants/{tenant.slug}/conversations/{conversation_id}/messages",
        json={"text": "Hola, soy Ana. ¿En qué te ayudo?", "operator_email": "ana@example.com"},
        headers=tenant.headers,
    )
    assert sent.status_code == 201, sent.text
    bodies = await wait_for_bodies(fake_twilio, customer, 2)
    assert bodies[-1] == "Hola, soy Ana. ¿En qué te ayudo?"
    await settle(tenant.id)  # the SID is stored once Twilio has answered
    async with session_scope() as session:
        stored = (await session.execute(select(Message).where(Message.id == sent.json()[0]["id"]))).scalar_one()
    assert stored.payload["operator"]["label"] == "ana@example.com" and stored.provider_sid

    note = await client.post(
        f"/v1/tenants/{tenant.slug}/conversations/{conversation_id}/notes",
        json={"text": "Quiere un Mazda 3 rojo"},
        headers=tenant.headers,
    )
    assert note.status_code == 201
    notes = await client.get(f"/v1/tenants/{tenant.slug}/conversations/{conversation_id}/notes", headers=tenant.headers)
    assert [n["body"] for n in notes.json()] == ["Quiere un Mazda 3 rojo"]
    assert fake_twilio.count_to(customer) == 2  # a note is never sent

    closed = await client.post(
        f"/v1/tenants/{tenant.slug}/conversations/{conversation_id}/close", headers=tenant.headers
    )
    assert closed.json() == {"conversation_id": conversation_id, "status": "bot", "closed": True}
    assert (await client.get(f"/v1/tenants/{tenant.slug}/handoffs", headers=tenant.headers)).json() == []


async def test_reply_outside_24_hours_is_refused(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await make_tenant(client)
    customer, conversation_id = await _handoff(client, tenant, fake_twilio)
    await age_conversation(conversation_id, hours=25)
    refused = await client.post(
        f"/v1/tenants/{tenant.slug}/conversations/{conversation_id}/messages",
        json={"text": "¿Sigues interesado?"},
        headers=tenant.headers,
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "window_closed"
    assert refused.json()["error"]["details"][0]["field"] == "text"
    await asyncio.sleep(0.5)
    assert fake_twilio.count_to(customer) == 1
    both = await client.post(
        f"/v1/tenants/{tenant.slug}/conversations/{conversation_id}/messages",
        json={"text": "a", "template": "follow_up"},
        headers=tenant.headers,
    )
    assert both.status_code == 422


async def test_a_message_or_note_that_shows_nothing_is_refused(client: Any, fake_twilio: FakeTwilioServer) -> None:
    """Zero-width characters alone pass str.strip() but show the customer nothing."""
    tenant = await make_tenant(client)
    customer, conversation_id = await _handoff(client, tenant, fake_twilio)
    base = f"/v1/tenants/{tenant.slug}/conversations/{conversation_id}"
    for invisible in ("\u200b\u200b", " \u2060\ufeff ", "\u200d"):
        for path in ("messages", "notes"):
            r = await client.post(f"{base}/{path}", json={"text": invisible}, headers=tenant.headers)
            assert r.status_code == 422 and "text" in r.text, (path, r.text)
    await asyncio.sleep(0.3)
    assert fake_twilio.count_to(customer) == 1  # the handoff's reply only


async def test_tenant_isolation(client: Any, fake_twilio: FakeTwilioServer) -> None:
    mine = await make_tenant(client)
    other = await make_tenant(client)
    _, conversation_id = await _handoff(client, other, fake_twilio)
    # Another tenant's slug: 403 whatever the endpoint.
    for method, path, body in [
        ("GET", "handoffs", None),
        ("POST", f"conversations/{conversation_id}/messages", {"text": "hola"}),
        ("POST", f"conversations/{conversation_id}/close", None),
        ("POST", f"conversations/{conversation_id}/notes", {"text": "x"}),
        ("PUT", "notify", {"url": "http://127.0.0.1:9/hook"}),
        ("GET", "operators", None),
    ]:
        r = await client.request(method, f"/v1/tenants/{other.slug}/{path}", json=body, headers=mine.headers)
        assert r.status_code == 403, (path, r.text)
    # Its own slug with the other tenant's conversation id: not found, nothing sent, nothing closed.
    for path, body in [
        (f"conversations/{conversation_id}/messages", {"text": "hola"}),
        (f"conversations/{conversation_id}/close", None),
        (f"conversations/{conversation_id}/assign", {"operator_id": None}),
        (f"conversations/{conversation_id}/notes", {"text": "x"}),
    ]:
        r = await client.post(f"/v1/tenants/{mine.slug}/{path}", json=body, headers=mine.headers)
        assert r.status_code == 404, (path, r.text)
    assert (await client.get(f"/v1/tenants/{mine.slug}/handoffs", headers=mine.headers)).json() == []
    theirs = (await client.get(f"/v1/tenants/{other.slug}/handoffs", headers=other.headers)).json()
    assert [r["conversation_id"] for r in theirs] == [conversation_id]


async def test_notification_retried_with_backoff(
    client: Any, fake_twilio: FakeTwilioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notify_service, "RETRY_BASE_SECONDS", 0.2)
    tenant = await make_tenant(client)
    async with NotifyReceiver(fail_first=2) as flaky:
        put = await client.put(
            f"/v1/tenants/{tenant.slug}/notify", json={"url": flaky.hook_url}, headers=tenant.headers
        )
        secret = put.json()["secret"]
        await _handoff(client, tenant, fake_twilio)
        got = (await flaky.wait_for("handoff.started", within=20))[0]
        assert flaky.attempts == 3 and got.json["attempt"] == 3
        assert notify_service.verify(secret, got.body, got.headers["X-Signature-256"])
        # The receiver saw the third attempt before its answer reached the sender, which then records the
        # delivery: wait for that record, with the receiver still up to answer.
        event = await _settled_event(tenant)
    assert (event.status, event.attempts) == ("delivered", 3)


async def test_no_notify_url_records_event_without_request(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await make_tenant(client)
    await _handoff(client, tenant, fake_twilio)
    event = await _settled_event(tenant)
    assert (event.event, event.status) == ("handoff.started", "skipped")


async def test_bad_notify_url_names_the_field(client: Any) -> None:
    tenant = await make_tenant(client)
    r = await client.put(f"/v1/tenants/{tenant.slug}/notify", json={"url": "ftp://x"}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "url"
