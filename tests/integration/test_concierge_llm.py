"""With the LLM tier on, the concierge's requirements also come from a structured-output call (fake model)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.concierge.models import ConciergeRequest
from app.core.db import session_scope
from tests.fakes.openai_server import FakeOpenAIServer, Reply, text, tool_call
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import chat, label_png, make_tenant, new_number, say_on_whatsapp

POLANCO = {"name": "Polanco", "lat": 19.4326, "lon": -99.1942}


def _extractor(body: dict[str, Any]) -> Reply:
    names = {t["function"]["name"] for t in body.get("tools", [])}
    if "ExtractedRequest" in names:
        args = {
            "items": [{"name": "pastillas de freno", "details": "Vocho 1998"}],
            "urgency": "today",
            "category": "auto_parts",
            "place": "Polanco",
        }
        return tool_call("ExtractedRequest", args)
    return text("¿En qué te ayudo?")


async def test_the_model_fills_what_the_rules_missed(client: Any, openai_fake: FakeOpenAIServer) -> None:
    openai_fake.set_responder(_extractor)
    tenant = await make_tenant(client, flags={"concierge": True, "ai_agent": True}, concierge={"zones": [POLANCO]})
    reply = await chat(
        client, tenant, "ando buscando unas pastillas p/ frenar del vocho 98, ando por el rumbo de polanquito"
    )
    assert reply["agent"] == "concierge" and reply["tier"] == "llm"
    assert reply["usage"]["llm_calls"] == 1
    [request] = openai_fake.requests
    assert "<customer_message>" in request.body["messages"][-1]["content"]  # the message is data, delimited
    assert "presupuesto" in reply["reply"].lower()  # what and where and when are known: only budget is asked
    async with session_scope() as session:
        row = (
            await session.execute(select(ConciergeRequest).where(ConciergeRequest.tenant_id == uuid.UUID(tenant.id)))
        ).scalar_one()
    assert row.requirements["location"]["zone"] == "Polanco" and row.requirements["urgency"] == "today"
    assert row.requirements["category"] == "auto_parts"


async def test_without_the_llm_tier_the_rules_alone_decide(client: Any, openai_fake: FakeOpenAIServer) -> None:
    openai_fake.set_responder(_extractor)
    tenant = await make_tenant(client, flags={"concierge": True}, concierge={"zones": [POLANCO]})
    reply = await chat(client, tenant, "necesito balatas delanteras para un Jetta 2017, cerca de Polanco")
    assert reply["agent"] == "concierge" and reply["tier"] == "offline"
    assert openai_fake.requests == []


def _vision(body: dict[str, Any]) -> Reply:
    last = body["messages"][-1]
    parts = last["content"] if isinstance(last["content"], list) else []
    if any(p.get("type") == "image_url" for p in parts):
        return text("Amoxicilina 500 mg\nCápsulas")
    return _extractor(body)


async def test_a_vision_model_reads_the_photo_when_the_llm_tier_is_on(
    client: Any,
    openai_fake: FakeOpenAIServer,
    fake_twilio: FakeTwilioServer,
    worker: None,
) -> None:
    openai_fake.set_responder(_vision)
    tenant = await make_tenant(
        client, flags={"concierge": True, "ocr": True, "ai_agent": True}, concierge={"zones": [POLANCO]}
    )
    url = fake_twilio.add_media(f"{uuid.uuid4().hex}.png", label_png("XQZW 123"))  # Tesseract would read this
    await say_on_whatsapp(
        client, tenant, new_number(), "", fake_twilio, NumMedia="1", MediaUrl0=url, MediaContentType0="image/png"
    )
    async with session_scope() as session:
        row = (
            await session.execute(select(ConciergeRequest).where(ConciergeRequest.tenant_id == uuid.UUID(tenant.id)))
        ).scalar_one()
    names = " ".join(i["name"] for i in row.requirements["items"]).lower()
    assert "amoxicilina" in names and "xqzw" not in names
    assert any(
        isinstance(m["content"], list) and any(p.get("type") == "image_url" for p in m["content"])
        for r in openai_fake.requests
        for m in r.body["messages"]
    )
