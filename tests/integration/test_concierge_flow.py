"""The concierge end to end through the signed Twilio webhook and a real worker, with simulated vendors.

A customer asks for something the dealer does not stock; the agent asks only for what is missing,
confirms, asks nearby vendors on WhatsApp (through the fake Twilio), vendors answer in free text at
different times through the same webhook, and the customer gets a shortlist with wa.me links.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.concierge import jobs
from app.concierge.models import ConciergeCall, ConciergeRequest, Vendor, VendorOutreach
from app.core.db import session_scope
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import (
    TenantHandle,
    admin_headers,
    label_png,
    make_tenant,
    new_number,
    post_whatsapp,
    requires_tesseract,
    say_on_whatsapp,
    wait_for_bodies,
)

pytestmark = pytest.mark.usefixtures("worker")

NEED = "necesito balatas delanteras para un Jetta 2017, cerca de Polanco"
POLANCO = {"name": "Polanco", "lat": 19.4326, "lon": -99.1942, "aliases": ["polanco"]}
VENDORS = [  # name, km-ish offset from Polanco, call consent
    ("Refaccionaria Norte", 0.002, True),
    ("Autopartes Lago", 0.004, False),
    ("Frenos Express", 0.006, True),
    ("Balatas del Valle", 0.008, False),
    ("Refacciones Sur", 0.010, False),
    ("Partes Anzures", 0.012, False),
]


async def _concierge_tenant(client: Any, **flags: bool) -> TenantHandle:
    return await make_tenant(
        client,
        flags={"concierge": True, "ocr": True, **flags},
        concierge={"zones": [POLANCO], "reply_timeout_minutes": 30, "max_vendors": 10, "batch_size": 5},
    )


async def _vendors(client: Any, tenant: TenantHandle, count: int = 6) -> list[dict[str, Any]]:
    made = []
    for name, offset, consent in VENDORS[:count]:
        body = {
            "name": name,
            "whatsapp_number": new_number(),
            "categories": ["auto_parts"],
            "lat": POLANCO["lat"] + offset,
            "lon": POLANCO["lon"],
            "call_consent": consent,
        }
        r = await client.post(f"/v1/tenants/{tenant.slug}/vendors", json=body, headers=tenant.headers)
        assert r.status_code == 201, r.text
        made.append(r.json())
    return made


async def _request(tenant: TenantHandle) -> ConciergeRequest:
    async with session_scope() as session:
        rows = await session.execute(select(ConciergeRequest).where(ConciergeRequest.tenant_id == uuid.UUID(tenant.id)))
        [request] = list(rows.scalars())
        return request


async def _to_outreach(client: Any, tenant: TenantHandle, customer: str, fake: FakeTwilioServer) -> str:
    first = await say_on_whatsapp(client, tenant, customer, NEED, fake)
    assert "?" in first and "Polanco" not in first  # asks one thing: for when (it knows what and where)
    second = await say_on_whatsapp(client, tenant, customer, "para hoy", fake)
    assert "presupuesto" in second.lower()
    confirm = await say_on_whatsapp(client, tenant, customer, "hasta 1500 pesos", fake)
    assert "balatas delanteras" in confirm.lower() and "polanco" in confirm.lower()
    return await say_on_whatsapp(client, tenant, customer, "sí", fake)


async def test_request_to_shortlist_with_vendors_answering_at_different_times(
    client: Any, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await _concierge_tenant(client)
    vendors = await _vendors(client, tenant)
    customer = new_number()
    asking = await _to_outreach(client, tenant, customer, fake_twilio)
    assert "proveedores" in asking

    numbers = [v["whatsapp_number"] for v in vendors]
    for number in numbers[:5]:  # the first batch: five nearest, open, not opted out
        [request_text] = await wait_for_bodies(fake_twilio, number, 1)
        assert "balatas delanteras" in request_text.lower() and "STOP" in request_text
    await asyncio.sleep(0.5)
    assert fake_twilio.count_to(numbers[5]) == 0  # batch size 5: the sixth waits for a second batch

    request = await _request(tenant)
    assert request.status == "awaiting_vendor_replies" and request.deadline_at is not None

    replies = [
        (numbers[0], "sí tengo, 850 pesos, entrega hoy"),
        (numbers[1], "no hay, disculpe"),
        (numbers[2], "tengo a $900 c/u, hoy mismo"),
    ]
    for number, text in replies:
        await post_whatsapp(client, to=tenant.number, from_=number, body=text)
        await wait_for_bodies(fake_twilio, number, 2)  # the vendor's "gracias"
        await asyncio.sleep(0.2)
    assert fake_twilio.count_to(customer) == 4  # no shortlist yet: only two have it in stock
    started = time.monotonic()
    await post_whatsapp(client, to=tenant.number, from_=numbers[3], body="Sí, 1,200 pesos, se entrega hoy")
    await wait_for_bodies(fake_twilio, customer, 5)
    elapsed = time.monotonic() - started
    await asyncio.sleep(0.5)  # a second shortlist message, if there is one
    sent = [m["body"] for m in fake_twilio.messages_to(customer)][4:]
    assert 1 <= len(sent) <= 2
    text = "\n".join(sent)
    assert "Refaccionaria Norte" in text and "850" in text and "https://wa.me/" + numbers[0].split("+")[1] in text
    assert "Autopartes Lago" not in text  # said it has none
    assert text.index("Refaccionaria Norte") < text.index("Balatas del Valle")  # cheaper and nearer first
    assert elapsed < 10

    request = await _request(tenant)
    assert request.status == "shortlist_ready" and request.shortlist_sent_at is not None
    assert request.vendor_outreach_at and request.awaiting_vendor_replies_at and request.shortlist_ready_at
    detail = (
        await client.get(f"/v1/tenants/{tenant.slug}/concierge/requests/{request.id}", headers=tenant.headers)
    ).json()
    assert detail["status"] == "shortlist_ready"

    # A late reply after the shortlist changes nothing for the customer; the vendor is thanked, not chatted to.
    await post_whatsapp(client, to=tenant.number, from_=numbers[4], body="sí tengo, 700")
    late = (await wait_for_bodies(fake_twilio, numbers[4], 2))[-1]
    assert "ya eligió" in late
    await asyncio.sleep(0.5)
    assert len(fake_twilio.messages_to(customer)) == 4 + len(sent)

    metrics = (await client.get(f"/v1/tenants/{tenant.slug}/concierge/metrics", headers=tenant.headers)).json()
    assert (
        metrics["requests"] == 1 and metrics["shortlists_sent"] == 1 and metrics["by_status"] == {"shortlist_ready": 1}
    )
    assert metrics["vendors_asked"] == 5 and metrics["vendor_reply_rate"] == 1.0
    assert 0 < metrics["time_to_shortlist_p50_seconds"] < 30 and metrics["ocr_failure_rate"] is None
    other = await make_tenant(client)
    assert (await client.get(f"/v1/tenants/{tenant.slug}/concierge/metrics", headers=other.headers)).status_code == 403


async def test_the_timeout_sends_what_there_is(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client)
    vendors = await _vendors(client, tenant, count=2)
    customer = new_number()
    await _to_outreach(client, tenant, customer, fake_twilio)
    await wait_for_bodies(fake_twilio, vendors[0]["whatsapp_number"], 1)
    await post_whatsapp(client, to=tenant.number, from_=vendors[0]["whatsapp_number"], body="sí, 990 pesos, mañana")
    await wait_for_bodies(fake_twilio, vendors[0]["whatsapp_number"], 2)
    assert fake_twilio.count_to(customer) == 4
    request = await _request(tenant)
    assert request.deadline_at is not None
    assert await jobs.expire_due(now=request.deadline_at) == 1  # what the deadline job does at the deadline
    [shortlist] = (await wait_for_bodies(fake_twilio, customer, 5))[4:]
    assert "Refaccionaria Norte" in shortlist and "990" in shortlist
    assert await jobs.expire_due(now=request.deadline_at) == 0  # once


async def test_nobody_answering_says_so(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client)
    [vendor] = await _vendors(client, tenant, count=1)
    customer = new_number()
    await _to_outreach(client, tenant, customer, fake_twilio)
    await wait_for_bodies(fake_twilio, vendor["whatsapp_number"], 1)
    await asyncio.sleep(0.3)  # the outreach job moves the request to awaiting replies after sending
    request = await _request(tenant)
    assert request.status == "awaiting_vendor_replies"
    await jobs.finalize(tenant_id=uuid.UUID(tenant.id), request_id=request.id, reason="timeout")
    [message] = (await wait_for_bodies(fake_twilio, customer, 5))[4:]
    assert "wa.me" not in message and ("no" in message.lower())


async def test_outreach_is_sent_once_per_vendor_even_when_the_job_runs_twice(
    client: Any, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await _concierge_tenant(client)
    vendors = await _vendors(client, tenant, count=3)
    customer = new_number()
    await _to_outreach(client, tenant, customer, fake_twilio)
    for v in vendors:
        await wait_for_bodies(fake_twilio, v["whatsapp_number"], 1)
    for _ in range(100):  # the job moves the request on once every vendor of the batch was sent to
        request = await _request(tenant)
        if request.status == "awaiting_vendor_replies":
            break
        await asyncio.sleep(0.05)
    async with session_scope() as session:
        await session.execute(
            ConciergeRequest.__table__.update()
            .where(ConciergeRequest.id == request.id)
            .values(status="vendor_outreach")
        )
    assert await jobs.run_outreach(tenant_id=uuid.UUID(tenant.id), request_id=request.id, batch=1) == 0
    await asyncio.sleep(0.3)
    assert [fake_twilio.count_to(v["whatsapp_number"]) for v in vendors] == [1, 1, 1]
    async with session_scope() as session:
        rows = await session.execute(select(VendorOutreach).where(VendorOutreach.request_id == request.id))
        assert len(list(rows.scalars())) == 3


async def test_vendor_stop_and_start(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client)
    [vendor] = await _vendors(client, tenant, count=1)
    number = vendor["whatsapp_number"]
    await post_whatsapp(client, to=tenant.number, from_=number, body="STOP")
    [ack] = await wait_for_bodies(fake_twilio, number, 1)
    assert "no te volveremos a escribir" in ack
    async with session_scope() as session:
        stored = await session.get(Vendor, uuid.UUID(vendor["id"]))
        assert stored is not None and stored.opted_out and stored.opted_out_at is not None
    customer = new_number()
    await _to_outreach(client, tenant, customer, fake_twilio)
    message = (await wait_for_bodies(fake_twilio, customer, 5))[4]  # nobody to ask: the customer is told at once
    assert "wa.me" not in message
    assert fake_twilio.count_to(number) == 1  # the opted-out vendor was never asked

    await post_whatsapp(client, to=tenant.number, from_=number, body="start")
    await wait_for_bodies(fake_twilio, number, 2)
    async with session_scope() as session:
        stored = await session.get(Vendor, uuid.UUID(vendor["id"]))
        assert stored is not None and not stored.opted_out
    # "please stop calling me at night" is a sentence, not the keyword: nothing changes.
    await post_whatsapp(client, to=tenant.number, from_=number, body="please stop writing me at night")
    await asyncio.sleep(1.0)
    async with session_scope() as session:
        stored = await session.get(Vendor, uuid.UUID(vendor["id"]))
        assert stored is not None and not stored.opted_out


async def test_customer_cancel_closes_the_request(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client)
    customer = new_number()
    await say_on_whatsapp(client, tenant, customer, NEED, fake_twilio)
    reply = await say_on_whatsapp(client, tenant, customer, "cancelar", fake_twilio)
    assert "cancelé" in reply
    request = await _request(tenant)
    assert request.status == "closed" and request.closed_at is not None


async def test_a_shared_location_pin_answers_where(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client)
    customer = new_number()
    first = await say_on_whatsapp(
        client, tenant, customer, "necesito un filtro de aceite para mi Versa 2019", fake_twilio
    )
    assert "ubicación" in first.lower() or "zona" in first.lower()
    await say_on_whatsapp(
        client, tenant, customer, "", fake_twilio, Latitude="19.4330", Longitude="-99.1900", Address="Mi casa"
    )
    request = await _request(tenant)
    location = request.requirements["location"]
    assert location["source"] == "pin" and abs(location["lat"] - 19.433) < 1e-6


@requires_tesseract
async def test_a_photo_of_a_label_becomes_the_request(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client)
    customer = new_number()
    url = fake_twilio.add_media(f"{uuid.uuid4().hex}.png", label_png("Amoxicilina 500 mg"))
    reply = await say_on_whatsapp(
        client,
        tenant,
        customer,
        "",
        fake_twilio,
        NumMedia="1",
        MediaUrl0=url,
        MediaContentType0="image/png",
    )
    request = await _request(tenant)
    names = " ".join(item["name"] for item in request.requirements["items"]).lower()
    assert "amoxicilina" in names
    assert request.ocr_processing_at is not None and request.status == "collecting_requirements"
    assert "?" in reply  # goes on to ask what is missing (where)


async def test_concierge_off_means_the_dealer_agent_answers(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await make_tenant(client)
    customer = new_number()
    await say_on_whatsapp(client, tenant, customer, NEED, fake_twilio)
    async with session_scope() as session:
        rows = await session.execute(select(ConciergeRequest).where(ConciergeRequest.tenant_id == uuid.UUID(tenant.id)))
        assert list(rows.scalars()) == []


async def test_the_kill_switch_stops_the_concierge_at_once(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client)
    r = await client.put("/v1/admin/kill-switch", json={"on": True, "reason": "test"}, headers=admin_headers())
    assert r.status_code == 200, r.text
    try:
        customer = new_number()
        await say_on_whatsapp(
            client, tenant, customer, "necesito balatas para un Jetta 2017 cerca de Polanco", fake_twilio
        )
        async with session_scope() as session:
            rows = await session.execute(
                select(ConciergeRequest).where(ConciergeRequest.tenant_id == uuid.UUID(tenant.id))
            )
            assert list(rows.scalars()) == []
    finally:
        await client.put("/v1/admin/kill-switch", json={"on": False}, headers=admin_headers())


async def test_calls_only_consenting_silent_vendors_once(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client, calling=True)
    vendors = await _vendors(client, tenant, count=3)  # consent: yes, no, yes
    customer = new_number()
    await _to_outreach(client, tenant, customer, fake_twilio)
    for v in vendors:
        await wait_for_bodies(fake_twilio, v["whatsapp_number"], 1)
    await post_whatsapp(client, to=tenant.number, from_=vendors[0]["whatsapp_number"], body="sí, 800")
    await wait_for_bodies(fake_twilio, vendors[0]["whatsapp_number"], 2)
    request = await _request(tenant)
    before = len(fake_twilio.calls)
    assert await jobs.run_calls(tenant_id=uuid.UUID(tenant.id), request_id=request.id) == 1
    [call] = fake_twilio.calls[before:]
    assert call["To"] == vendors[2]["whatsapp_number"].removeprefix("whatsapp:")  # silent and consenting
    assert "<Say" in call["Twiml"]
    assert await jobs.run_calls(tenant_id=uuid.UUID(tenant.id), request_id=request.id) == 0  # cooldown
    async with session_scope() as session:
        rows = await session.execute(select(ConciergeCall).where(ConciergeCall.request_id == request.id))
        assert [c.status for c in rows.scalars()] == ["initiated"]


async def test_no_calls_when_calling_is_off(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client)
    vendors = await _vendors(client, tenant, count=1)
    customer = new_number()
    await _to_outreach(client, tenant, customer, fake_twilio)
    await wait_for_bodies(fake_twilio, vendors[0]["whatsapp_number"], 1)
    request = await _request(tenant)
    before = len(fake_twilio.calls)
    assert await jobs.run_calls(tenant_id=uuid.UUID(tenant.id), request_id=request.id) == 0
    assert len(fake_twilio.calls) == before


async def test_two_answers_at_the_same_instant_still_make_the_shortlist(
    client: Any, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await _concierge_tenant(client)
    vendors = await _vendors(client, tenant, count=4)
    customer = new_number()
    await _to_outreach(client, tenant, customer, fake_twilio)
    numbers = [v["whatsapp_number"] for v in vendors]
    for number in numbers:
        await wait_for_bodies(fake_twilio, number, 1)
    await post_whatsapp(client, to=tenant.number, from_=numbers[0], body="sí tengo, 850 pesos, hoy")
    await wait_for_bodies(fake_twilio, numbers[0], 2)
    # The 2nd and 3rd in-stock answers land together: two conversations' jobs run at the same time.
    await asyncio.gather(
        post_whatsapp(client, to=tenant.number, from_=numbers[1], body="sí, 900, hoy"),
        post_whatsapp(client, to=tenant.number, from_=numbers[2], body="sí tengo a 950, hoy"),
    )
    shortlist = (await wait_for_bodies(fake_twilio, customer, 5))[4:]
    assert "wa.me" in "\n".join(shortlist)
    assert (await _request(tenant)).status == "shortlist_ready"


async def test_asking_for_a_person_mid_request_hands_the_conversation_over(
    client: Any, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await _concierge_tenant(client)
    customer = new_number()
    await say_on_whatsapp(client, tenant, customer, NEED, fake_twilio)
    await say_on_whatsapp(client, tenant, customer, "quiero hablar con un asesor", fake_twilio)
    request = await _request(tenant)
    assert request.status == "handed_off" and request.handed_off_at is not None
    async with session_scope() as session:
        from app.conversations.models import Conversation

        conversation = await session.get(Conversation, request.conversation_id)
        assert conversation is not None and conversation.status == "handoff"
