"""Replies survive Twilio's faults: signed webhook → queue → real worker → a fake Twilio that fails.

Twilio answers 500s then recovers, answers 503 for good, or had accepted a part when the sender
crashed. Every reply is delivered exactly once, in order, or marked failed with Twilio's error code
and handed to an operator.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from app.conversations.models import Message
from app.core.config import get_settings
from app.core.db import session_scope
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import TenantHandle, make_tenant, new_number, post_whatsapp, wait_for_bodies
from tests.integration.test_whatsapp_messaging import conversation_of, outbound_parts

pytestmark = pytest.mark.usefixtures("worker")

KNOWLEDGE = [
    {"title": "Horario de atención", "content": "Abrimos de lunes a sábado de 9 a 18 h.", "category": "hours"},
]
HOURS = "¿Cuál es su horario?"
DEADLINE = 30.0  # generous: a loaded 2-core machine


async def _until(check: Any, what: str) -> Any:
    """Poll ``check()`` (async) until it returns something truthy."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _stored_parts(tenant: TenantHandle, customer: str, count: int) -> list[Message]:
    """The outbound parts once ``count`` of them are settled (SID stored, or failed)."""

    async def settled() -> list[Message] | None:
        parts = await outbound_parts(tenant, customer)
        done = [p for p in parts if p.provider_sid or p.status == "failed"]
        return parts if len(parts) >= count and len(done) == len(parts) else None

    result: list[Message] = await _until(settled, f"{count} settled outbound part(s)")
    return result


async def _quiet(fake: FakeTwilioServer, customer: str, count: int) -> list[str]:
    """The bodies sent to ``customer`` after a pause long enough for a duplicate to show up."""
    await asyncio.sleep(1.5)
    bodies = [m["body"] for m in fake.messages_to(customer)]
    assert len(bodies) == count, bodies
    return bodies


@pytest.fixture
async def tenant(client: Any) -> TenantHandle:
    return await make_tenant(client, knowledge=KNOWLEDGE)


async def test_server_errors_then_recovery_deliver_one_reply(
    client: Any, fake_twilio: FakeTwilioServer, tenant: TenantHandle
) -> None:
    customer = new_number()
    fake_twilio.fail_next(500, 20500, times=2)
    assert (await post_whatsapp(client, to=tenant.number, from_=customer, body=HOURS)).status_code == 200

    [part] = await _stored_parts(tenant, customer, 1)
    [body] = await _quiet(fake_twilio, customer, 1)
    assert "lunes a sábado" in body
    assert [a["response_status"] for a in fake_twilio.attempts] == [500, 500, 201]
    assert part.provider_sid == fake_twilio.messages_to(customer)[0]["sid"]
    assert part.status == "queued" and part.error_code is None
    # A 500 may hide a created message: Twilio's list was read before each new attempt.
    assert len(fake_twilio.list_requests) == 2
    assert {q["To"] for q in fake_twilio.list_requests} == {customer}


async def test_accepted_but_answer_lost_is_adopted_not_resent(
    client: Any, fake_twilio: FakeTwilioServer, tenant: TenantHandle
) -> None:
    customer = new_number()
    fake_twilio.accept_then_drop()
    await post_whatsapp(client, to=tenant.number, from_=customer, body=HOURS)

    [part] = await _stored_parts(tenant, customer, 1)
    await _quiet(fake_twilio, customer, 1)
    assert part.provider_sid == fake_twilio.messages_to(customer)[0]["sid"]
    assert len(fake_twilio.attempts) == 1  # found in Twilio's list: no second POST
    assert len(fake_twilio.list_requests) == 1


async def test_unavailable_for_good_marks_failed_and_hands_off(
    client: Any, fake_twilio: FakeTwilioServer, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "twilio_retry_seconds", 3.0)
    failures_before = REGISTRY.get_sample_value("agent_delivery_failures_total", {"error_code": "20503"}) or 0.0
    customer = new_number()
    fake_twilio.fail_all(503, 20503)
    await post_whatsapp(client, to=tenant.number, from_=customer, body=HOURS)

    [part] = await _stored_parts(tenant, customer, 1)
    assert (part.status, part.error_code, part.provider_sid) == ("failed", 20503, None)
    assert len(fake_twilio.attempts) >= 2  # retried before giving up
    assert fake_twilio.messages_to(customer) == []

    # The API shows what failed, and the conversation waits in the operators' queue.
    conversation = await conversation_of(tenant, customer)
    messages = await client.get(
        f"/v1/tenants/{tenant.slug}/conversations/{conversation.id}/messages", headers=tenant.headers
    )
    outbound = [m for m in messages.json() if m["direction"] == "outbound"]
    assert [(m["status"], m["error_code"]) for m in outbound] == [("failed", 20503)]
    queue = await client.get(f"/v1/tenants/{tenant.slug}/conversations?status=handoff", headers=tenant.headers)
    [waiting] = [c for c in queue.json() if c["id"] == str(conversation.id)]
    assert waiting["handoff_reason"] == "delivery_failed"
    failures = REGISTRY.get_sample_value("agent_delivery_failures_total", {"error_code": "20503"})
    assert failures == failures_before + 1


async def _first_part_left_sending(client: Any, tenant: TenantHandle, customer: str) -> Message:
    """The customer's first reply part, delivered, then put back as a crashed worker leaves it: ``sending``,
    no SID (the returned row keeps what was stored before the crash)."""
    await post_whatsapp(client, to=tenant.number, from_=customer, body=HOURS)
    [part] = await _stored_parts(tenant, customer, 1)
    async with session_scope() as session:
        await session.execute(
            update(Message)
            .where(Message.id == part.id)
            .values(status="sending", provider_sid=None, status_updated_at=part.created_at)
        )
    return part


async def test_part_left_sending_that_twilio_has_is_adopted(
    client: Any, fake_twilio: FakeTwilioServer, tenant: TenantHandle
) -> None:
    customer = new_number()
    first = await _first_part_left_sending(client, tenant, customer)
    sid = first.provider_sid

    await post_whatsapp(client, to=tenant.number, from_=customer, body="¿tienen financiamiento?")
    parts = await _stored_parts(tenant, customer, 2)
    bodies = await _quiet(fake_twilio, customer, 2)
    assert parts[0].provider_sid == sid  # adopted from Twilio's list
    assert [q["To"] for q in fake_twilio.list_requests] == [customer]
    assert bodies[0] == first.body and bodies.count(first.body) == 1
    assert [p.body for p in parts] == bodies  # in order


async def test_part_left_sending_that_twilio_lacks_is_sent_once(
    client: Any, fake_twilio: FakeTwilioServer, tenant: TenantHandle
) -> None:
    customer = new_number()
    first = await _first_part_left_sending(client, tenant, customer)
    assert first.provider_sid is not None
    fake_twilio.forget(first.provider_sid)  # the crash came before the request reached Twilio

    await post_whatsapp(client, to=tenant.number, from_=customer, body="¿tienen financiamiento?")
    parts = await _stored_parts(tenant, customer, 2)
    bodies = await _quiet(fake_twilio, customer, 2)
    assert bodies[0] == first.body  # sent again, once, before the next reply
    assert parts[0].provider_sid == fake_twilio.messages_to(customer)[0]["sid"] != first.provider_sid
    assert [p.body for p in parts] == bodies
    assert await wait_for_bodies(fake_twilio, customer, 2) == bodies
