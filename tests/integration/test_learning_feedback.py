"""Customer feedback end to end (issue 16): after a resolved exchange the bot asks 👍/👎 (quick-reply buttons
with rich messages, "1/2" text otherwise); the answer is read before the turn (never a new question), stored
on the turn, recorded in LangSmith as feedback on that turn's trace, and listed by the API.

Through the signed webhook, the queue and a real worker to the fake Twilio, with tracing to the local
LangSmith recorder."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app.conversations.models import Turn
from app.core.config import get_settings
from app.core.db import session_scope
from app.feedback.models import TurnFeedback
from app.llm.tracing import flush_traces
from tests.e2e.procs import free_port
from tests.fakes.langsmith_recorder import LangSmithRecorder
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import TenantHandle, make_tenant, new_number, say_on_whatsapp, settle

pytestmark = pytest.mark.usefixtures("worker")

KNOWLEDGE = [
    {"title": "Horario de atención", "content": "Abrimos de lunes a sábado de 9 a 18 h.", "category": "hours"},
    {"title": "Garantía", "content": "Todos nuestros autos tienen garantía de 6 meses.", "category": "warranty"},
]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[LangSmithRecorder]:
    """Tracing on, to a local LangSmith recorder, for one test."""
    with LangSmithRecorder() as fake:
        settings = get_settings()
        monkeypatch.setattr(settings, "langsmith_tracing", True)
        monkeypatch.setattr(settings, "langsmith_endpoint", fake.base_url)
        monkeypatch.setattr(settings, "langsmith_project", "wa-agent-tests")
        yield fake


async def _tenant(client: Any, *, rich: bool) -> TenantHandle:
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    r = await client.put(
        f"/v1/tenants/{tenant.slug}/agent-config",
        json={"rich_messages": rich, "ask_feedback": True},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    return tenant


async def _turns(tenant: TenantHandle) -> int:
    async with session_scope() as session:
        return int(
            await session.scalar(select(func.count()).select_from(Turn).where(Turn.tenant_id == uuid.UUID(tenant.id)))
            or 0
        )


async def _ask_and_get_question(
    client: Any, tenant: TenantHandle, customer: str, fake: FakeTwilioServer
) -> tuple[str, dict[str, Any]]:
    """A knowledge question; the answer, then the feedback question as the turn's last part."""
    before = fake.count_to(customer)
    await say_on_whatsapp(client, tenant, customer, "¿cuál es su horario de atención?", fake)
    await settle(tenant.id)
    sent = fake.messages_to(customer)[before:]
    assert len(sent) == 2, [m["body"] for m in sent]
    assert "9 a 18" in sent[0]["body"]
    return sent[0]["body"], sent[1]


async def test_button_feedback_with_a_reason_reaches_langsmith_on_the_turns_run(
    client: Any, fake_twilio: FakeTwilioServer, recorder: LangSmithRecorder
) -> None:
    tenant = await _tenant(client, rich=True)
    customer = new_number()
    _, asked = await _ask_and_get_question(client, tenant, customer, fake_twilio)
    assert asked["content_type"] == "twilio/quick-reply"
    assert [a["id"] for a in asked["actions"]] == ["feedback:up", "feedback:down"]
    turns = await _turns(tenant)
    down = asked["actions"][1]
    ack = await say_on_whatsapp(
        client, tenant, customer, down["title"], fake_twilio, ButtonPayload=down["id"], ButtonText=down["title"]
    )
    assert "qué faltó" in ack
    thanks = await say_on_whatsapp(client, tenant, customer, "no dice si abren domingos", fake_twilio)
    assert "Gracias" in thanks
    await settle(tenant.id)
    assert await _turns(tenant) == turns  # neither the tap nor the reason was a new question for the agent

    await asyncio.to_thread(flush_traces)
    recorder.wait_for(lambda r: len(r.feedback) == 2 and any(t.get("end_time") for t in r.traces()), timeout=10)
    [root] = recorder.traces()
    score, reason = sorted(recorder.feedback, key=lambda f: f["key"] != "user_score")
    assert score["key"] == "user_score" and score["score"] == 0 and score["run_id"] == root["id"]
    assert reason["key"] == "user_reason" and reason["comment"] == "no dice si abren domingos"
    assert reason["run_id"] == root["id"]

    r = await client.get(f"/v1/tenants/{tenant.slug}/feedback", headers=tenant.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["down"] == 1 and body["up"] == 0
    [item] = body["items"]
    assert item["score"] == 0 and item["reason"] == "no dice si abren domingos"
    assert item["run_id"] == root["id"] and "horario" in item["question"] and "9 a 18" in item["reply"]


@pytest.mark.parametrize("answer", ["1", "👍", "¡sí, me sirvió!"])
async def test_text_fallback_answers_count_and_the_question_comes_once_a_day(
    client: Any, fake_twilio: FakeTwilioServer, recorder: LangSmithRecorder, answer: str
) -> None:
    tenant = await _tenant(client, rich=False)
    customer = new_number()
    _, asked = await _ask_and_get_question(client, tenant, customer, fake_twilio)
    assert asked["content_sid"] is None and "1" in asked["body"] and "2" in asked["body"]
    turns = await _turns(tenant)
    thanks = await say_on_whatsapp(client, tenant, customer, answer, fake_twilio)
    assert "Gracias por tu opinión" in thanks
    await settle(tenant.id)
    assert await _turns(tenant) == turns
    # Another resolved exchange the same day: answered, not asked again.
    before = fake_twilio.count_to(customer)
    await say_on_whatsapp(client, tenant, customer, "¿qué garantía tienen?", fake_twilio)
    await settle(tenant.id)
    assert len(fake_twilio.messages_to(customer)[before:]) == 1
    # "1" now is just a message for the agent.
    await say_on_whatsapp(client, tenant, customer, "1", fake_twilio)
    await settle(tenant.id)
    assert await _turns(tenant) == turns + 2

    await asyncio.to_thread(flush_traces)
    recorder.wait_for(lambda r: len(r.feedback) == 1, timeout=10)
    [feedback] = recorder.feedback
    first_trace = recorder.traces()[0]
    assert feedback["score"] == 1 and feedback["run_id"] == first_trace["id"]
    r = await client.get(f"/v1/tenants/{tenant.slug}/feedback?score=up", headers=tenant.headers)
    assert r.json()["up"] == 1


async def test_no_question_after_a_complaint_or_an_unresolved_turn(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _tenant(client, rich=False)
    customer = new_number()
    await say_on_whatsapp(client, tenant, customer, "hola", fake_twilio)
    await say_on_whatsapp(
        client, tenant, customer, "pésimo servicio, nadie me contesta, estoy muy molesto", fake_twilio
    )
    await settle(tenant.id)
    before = fake_twilio.count_to(customer)
    await say_on_whatsapp(client, tenant, customer, "¿cuál es su horario de atención?", fake_twilio)
    await settle(tenant.id)
    sent = fake_twilio.messages_to(customer)[before:]
    assert not any("Te sirvió" in m["body"] for m in sent), [m["body"] for m in sent]


async def test_feedback_is_tenant_scoped(client: Any) -> None:
    one = await make_tenant(client)
    other = await make_tenant(client)
    r = await client.get(f"/v1/tenants/{one.slug}/feedback", headers=other.headers)
    assert r.status_code in (401, 403, 404)


async def test_tenants_that_do_not_ask_for_feedback_get_plain_answers(
    client: Any, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)  # ask_feedback is off by default
    customer = new_number()
    await say_on_whatsapp(client, tenant, customer, "¿cuál es su horario de atención?", fake_twilio)
    await settle(tenant.id)
    assert len(fake_twilio.messages_to(customer)) == 1
    assert "no me sirvió" not in await say_on_whatsapp(client, tenant, customer, "2", fake_twilio)
    await settle(tenant.id)
    assert await _turns(tenant) == 2  # "2" was a message for the agent


async def test_an_unreachable_langsmith_never_holds_up_the_customers_turn(
    client: Any, fake_twilio: FakeTwilioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer is acknowledged without waiting for LangSmith: recording it there is a job queued with the
    answer, which keeps failing (and retrying) on the worker, not on the customer's turn."""
    settings = get_settings()
    monkeypatch.setattr(settings, "langsmith_tracing", True)
    monkeypatch.setattr(settings, "langsmith_endpoint", f"http://127.0.0.1:{free_port()}")  # nothing listens
    tenant = await _tenant(client, rich=False)
    customer = new_number()
    await _ask_and_get_question(client, tenant, customer, fake_twilio)
    assert "Gracias por tu opinión" in await say_on_whatsapp(client, tenant, customer, "1", fake_twilio)
    async with session_scope() as session:
        feedback_id = await session.scalar(
            select(TurnFeedback.id).where(TurnFeedback.tenant_id == uuid.UUID(tenant.id), TurnFeedback.score == 1)
        )
    assert feedback_id is not None

    async with session_scope() as session:
        job = (await session.execute(_SEND_JOB, {"args": json.dumps({"feedback_id": feedback_id})})).first()
    # Queued with the answer, in the worker's hands (sending, or waiting to retry): it cannot succeed.
    assert job is not None and job.status in ("todo", "doing"), job


_SEND_JOB = text(
    "SELECT status::text AS status, attempts FROM procrastinate_jobs "
    "WHERE task_name = 'feedback:send' AND args @> CAST(:args AS jsonb)"
)
