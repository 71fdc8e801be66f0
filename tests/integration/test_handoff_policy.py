"""The handoff policy per tenant (agent configuration ``handoff_policy``): business hours in the tenant's time
zone (outside them the bot says when a person will answer and keeps helping), escalation notification, and
auto-release to the bot after a silence, through the webhook, the worker and the policy's periodic job."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.conversations.models import Conversation, Message
from app.core.db import session_scope
from app.operators import jobs as operator_jobs
from app.operators import policy
from app.tenants.agent_config import HandoffPolicy
from tests.fakes.notify_receiver import NotifyReceiver
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import TenantHandle, make_tenant, new_number, post_whatsapp, settle, wait_for_bodies

pytestmark = pytest.mark.usefixtures("worker")

CARS = """stock_id,make,model,year,price,km,version,transmission
A1,Mazda,3,2019,265000,48000,i Sport,Automática
"""


@pytest.fixture
async def receiver() -> AsyncIterator[NotifyReceiver]:
    async with NotifyReceiver() as fake:
        yield fake


async def _policy(client: Any, tenant: TenantHandle, **values: Any) -> None:
    r = await client.put(
        f"/v1/tenants/{tenant.slug}/agent-config", json={"handoff_policy": values}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text


def _closed_hours_now() -> list[dict[str, Any]]:
    """Business hours (UTC, every day) that do not include the current time."""
    hour = datetime.now(UTC).hour
    window = ("23:00", "23:30") if hour < 12 else ("01:00", "01:30")
    return [{"days": [0, 1, 2, 3, 4, 5, 6], "opens": window[0], "closes": window[1]}]


def test_business_hours_and_next_opening() -> None:
    rules = HandoffPolicy.model_validate(
        {"business_hours": [{"days": [0, 1, 2, 3, 4], "opens": "09:00", "closes": "19:00"}]}
    )
    tz = "America/Mexico_City"  # UTC-6
    monday_10 = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # Monday 10:00 local
    friday_20 = datetime(2026, 12, 4, 2, 0, tzinfo=UTC) + timedelta(days=1)  # Friday 20:00 local
    assert policy.on_duty(rules, tz, monday_10)
    assert not policy.on_duty(rules, tz, friday_20)
    opening = policy.next_opening(rules, tz, friday_20)
    assert opening is not None and (opening.weekday(), opening.hour) == (0, 9)  # Monday 09:00
    reply = policy.after_hours_reply(rules, tz, language="es", business="Autos", now=friday_20)
    assert reply is not None and "el lunes a las 09:00" in reply
    early = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # Tuesday 07:00 local
    assert "hoy a las 09:00" in (policy.after_hours_reply(rules, tz, language="es", business="A", now=early) or "")
    assert policy.after_hours_reply(rules, tz, language="en", business="A", now=monday_10) is None
    assert policy.on_duty(HandoffPolicy(), tz, friday_20)  # no hours: people answer at any time


async def test_bad_business_hours_name_the_field(client: Any) -> None:
    tenant = await make_tenant(client)
    r = await client.put(
        f"/v1/tenants/{tenant.slug}/agent-config",
        json={"handoff_policy": {"business_hours": [{"days": [9], "opens": "25:00", "closes": "10:00"}]}},
        headers=tenant.headers,
    )
    assert r.status_code == 422 and "handoff_policy" in r.text


async def test_outside_hours_the_bot_says_when_and_keeps_helping(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS, timezone="UTC")
    await _policy(client, tenant, business_hours=_closed_hours_now())
    customer = new_number()
    await post_whatsapp(client, to=tenant.number, from_=customer, body="quiero hablar con un asesor")
    [reply] = await wait_for_bodies(fake_twilio, customer, 1)
    assert "fuera de horario" in reply and "a las" in reply and "sigo aquí" in reply
    await settle(tenant.id)
    waiting = (await client.get(f"/v1/tenants/{tenant.slug}/handoffs", headers=tenant.headers)).json()
    assert [w["customer"] for w in waiting] == [customer.removeprefix("whatsapp:")]  # in the operators' queue
    await post_whatsapp(client, to=tenant.number, from_=customer, body="¿tienen Mazda?")
    bodies = await wait_for_bodies(fake_twilio, customer, 2)
    assert "Mazda 3" in bodies[-1]  # the bot keeps helping meanwhile
    await settle(tenant.id)


async def test_escalation_once_then_auto_release(
    client: Any, fake_twilio: FakeTwilioServer, receiver: NotifyReceiver
) -> None:
    tenant = await make_tenant(client)
    await _policy(client, tenant, escalate_after_minutes=5, auto_release_minutes=60)
    await client.put(f"/v1/tenants/{tenant.slug}/notify", json={"url": receiver.hook_url}, headers=tenant.headers)
    customer = new_number()
    await post_whatsapp(client, to=tenant.number, from_=customer, body="quiero hablar con un asesor")
    await wait_for_bodies(fake_twilio, customer, 1)
    await settle(tenant.id)
    conversation_id = uuid.UUID(
        (await client.get(f"/v1/tenants/{tenant.slug}/handoffs", headers=tenant.headers)).json()[0]["conversation_id"]
    )

    await operator_jobs.handoff_policy(0)  # the periodic job: nothing is due yet
    await _age(conversation_id, minutes=6)
    await operator_jobs.handoff_policy(0)
    [escalated] = await receiver.wait_for("handoff.escalated")
    assert escalated.json["data"]["conversation_id"] == str(conversation_id)
    assert escalated.json["data"]["waiting_seconds"] >= 360
    await operator_jobs.handoff_policy(0)  # once per handoff
    assert len(receiver.events("handoff.escalated")) == 1

    await _age(conversation_id, minutes=61)
    await operator_jobs.handoff_policy(0)
    assert (await client.get(f"/v1/tenants/{tenant.slug}/handoffs", headers=tenant.headers)).json() == []
    await post_whatsapp(client, to=tenant.number, from_=customer, body="hola")
    assert len(await wait_for_bodies(fake_twilio, customer, 2)) == 2  # the bot answers again
    await settle(tenant.id)


async def _age(conversation_id: uuid.UUID, *, minutes: int) -> None:
    """Move the handoff and every message of the conversation ``minutes`` into the past."""
    shift = timedelta(minutes=minutes)
    async with session_scope() as session:
        await session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(handoff_at=datetime.now(UTC) - shift)
        )
        await session.execute(
            update(Message)
            .where(Message.conversation_id == conversation_id)
            .values(created_at=datetime.now(UTC) - shift)
        )
