"""Alerts (issue 16): a provider circuit open too long, the LLM budget at 80% and 100%, a customer waiting
for a person, a delivery-failure rate and a 👎 spike each open one alert (however many checks run while it
holds) and clear it once, each transition signed to the tenant's notification webhook and to the admin
channel. The conditions are made through the real paths where there is one (the signed webhook for the
handoff and the 👎, the operator API for the answer, the turn's usage recorder for the spend)."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from app.alerts.jobs import check_alerts
from app.conversations.models import Conversation, Message
from app.core.config import get_settings
from app.core.db import session_scope
from app.llm.invoke import LLMCall
from app.llm.providers import get_registry
from app.notify import service as notify_service
from app.usage import service as usage_service
from app.worker import get_queue
from tests.fakes.notify_receiver import NotifyReceiver, Received
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import TenantHandle, admin_headers, make_tenant, new_number, say_on_whatsapp, settle

pytestmark = pytest.mark.usefixtures("worker")

KNOWLEDGE = [{"title": "Horario de atención", "content": "Abrimos de lunes a sábado de 9 a 18 h."}]
KINDS = {
    "provider_circuit",
    "budget_warning",
    "budget_exhausted",
    "handoff_waiting",
    "delivery_failures",
    "thumbs_down_spike",
}
ADMIN_SECRET = "admin-channel-secret"


async def _spend(tenant: TenantHandle, usd: str) -> None:
    call = LLMCall("turn", "openai", "gpt-4o-mini", 10, 10, Decimal(usd), 5, True, None, False, 1)
    async with session_scope() as session:
        await usage_service.record_calls(
            session,
            tenant_id=uuid.UUID(tenant.id),
            conversation_id=None,
            turn_id=None,
            calls=[call],
            routing_reason=None,
            complexity=None,
        )


async def _feedback(client: Any, tenant: TenantHandle, fake: FakeTwilioServer, answer: str) -> None:
    customer = new_number()
    await say_on_whatsapp(client, tenant, customer, "¿cuál es su horario de atención?", fake)
    await settle(tenant.id)
    assert "Te sirvió" in fake.messages_to(customer)[-1]["body"]
    await say_on_whatsapp(client, tenant, customer, answer, fake)
    await settle(tenant.id)


async def _failed_parts(tenant: TenantHandle, count: int) -> list[int]:
    """Outbound parts Twilio refused (as its status callbacks leave them), in a conversation of their own."""
    async with session_scope() as session:
        conversation = Conversation(tenant_id=uuid.UUID(tenant.id), customer=new_number().removeprefix("whatsapp:"))
        session.add(conversation)
        await session.flush()
        conversation_id = conversation.id
        rows = [
            Message(
                tenant_id=uuid.UUID(tenant.id),
                conversation_id=conversation_id,
                direction="outbound",
                channel="whatsapp",
                body="x",
                status="failed",
                error_code=63016,
            )
            for _ in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        return [r.id for r in rows]


def _mine(received: list[Received], slug: str) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in received if json.loads(r.body)["alert"]["tenant"] == slug]


async def test_each_alert_fires_once_and_clears_once_signed(
    client: Any,
    fake_twilio: FakeTwilioServer,
    openai_fake: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "alerts:check" in get_queue().tasks  # the worker runs the check every minute
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    async with NotifyReceiver() as receiver, NotifyReceiver() as admin:
        put = await client.put(
            f"/v1/tenants/{tenant.slug}/notify", json={"url": receiver.hook_url}, headers=tenant.headers
        )
        secret = put.json()["secret"]
        thresholds = {
            "handoff_wait_minutes": 1,
            "delivery_failure_rate": 0.2,
            "delivery_min_messages": 2,
            "thumbs_down_rate": 0.6,
            "thumbs_down_min_answers": 1,
            "circuit_open_minutes": 10,
        }
        r = await client.put(
            f"/v1/tenants/{tenant.slug}/agent-config",
            json={"monthly_budget_usd": "1.00", "alerts": thresholds, "ask_feedback": True},
            headers=tenant.headers,
        )
        assert r.status_code == 200, r.text
        settings = get_settings()
        monkeypatch.setattr(settings, "alert_webhook_url", admin.hook_url)
        monkeypatch.setattr(settings, "alert_webhook_secret", SecretStr(ADMIN_SECRET))

        # --- every condition starts
        health = get_registry().board["openai"]
        for _ in range(3):
            health.record(False)
        assert health.state == "open"
        await check_alerts(now=datetime.now(UTC) - timedelta(minutes=11))  # first seen down 11 minutes ago
        await _spend(tenant, "0.85")
        handoff_customer = new_number()
        await say_on_whatsapp(client, tenant, handoff_customer, "quiero hablar con un asesor", fake_twilio)
        await settle(tenant.id)
        async with session_scope() as session:
            conversation = await session.scalar(
                select(Conversation).where(
                    Conversation.tenant_id == uuid.UUID(tenant.id),
                    Conversation.customer == handoff_customer.removeprefix("whatsapp:"),
                )
            )
            assert conversation is not None and conversation.status == "handoff"
            conversation.handoff_at = datetime.now(UTC) - timedelta(minutes=5)
        failed = await _failed_parts(tenant, 3)
        await _feedback(client, tenant, fake_twilio, "2")
        for _ in range(2):  # however many checks: one alert each
            await check_alerts()
        await _spend(tenant, "0.20")
        await check_alerts()
        opened = await receiver.wait_for("alert.opened", count=6)
        assert {e.json["data"]["kind"] for e in opened} == KINDS

        # --- every condition ends
        health.record(True)
        r = await client.put(
            f"/v1/tenants/{tenant.slug}/agent-config",
            json={"monthly_budget_usd": "100", "alerts": thresholds, "ask_feedback": True},
            headers=admin_headers(),
        )
        assert r.status_code == 200, r.text  # raising the budget takes the admin key
        r = await client.post(
            f"/v1/tenants/{tenant.slug}/conversations/{conversation.id}/messages",
            json={"text": "Hola, soy Carla, te atiendo."},
            headers=tenant.headers,
        )
        assert r.status_code == 201, r.text
        async with session_scope() as session:  # the failures age out of the window
            await session.execute(
                update(Message)
                .where(Message.id.in_(failed))
                .values(created_at=datetime.now(UTC) - timedelta(minutes=120))
            )
        await _feedback(client, tenant, fake_twilio, "1")  # 1 👎 of 2 answers: under 60%
        for _ in range(2):
            await check_alerts()
        cleared = await receiver.wait_for("alert.cleared", count=6)
        await settle(tenant.id)

        # Once each, signed with the tenant's secret.
        assert Counter(e.json["data"]["kind"] for e in receiver.events("alert.opened")) == Counter(KINDS)
        assert Counter(e.json["data"]["kind"] for e in cleared) == Counter(KINDS)
        for event in [*opened, *cleared]:
            assert notify_service.verify(secret, event.body, event.headers["X-Signature-256"])
        budget = next(e for e in opened if e.json["data"]["kind"] == "budget_warning")
        assert budget.json["data"]["details"]["percent"] >= 80
        assert next(e for e in opened if e.json["data"]["kind"] == "provider_circuit").json["data"]["details"] == {
            "providers": ["openai"]
        }

        # The admin channel got the same transitions, signed with its own secret, with a line for people.
        posted = [r for r in admin.received if json.loads(r.body)["alert"]["tenant"] == tenant.slug]
        assert Counter((p["alert"]["kind"], p["alert"]["state"]) for p in _mine(posted, tenant.slug)) == Counter(
            [(k, "opened") for k in KINDS] + [(k, "cleared") for k in KINDS]
        )
        for post in posted:
            assert notify_service.verify(ADMIN_SECRET, post.body, post.headers["X-Signature-256"])
            assert tenant.slug in json.loads(post.body)["text"]

        r = await client.get(f"/v1/tenants/{tenant.slug}/alerts", headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert {a["kind"] for a in r.json()} == KINDS and all(a["cleared_at"] for a in r.json())
