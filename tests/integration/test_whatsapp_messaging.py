"""WhatsApp's rules end to end (issue 14): the 24-hour window and approved templates, customer opt-out,
rich messages (list pickers, buttons, car cards with photos) with a text fallback.

Everything goes through the signed webhook, the queue and a real worker to the fake Twilio, which enforces
WhatsApp's rules for the recipients a test tells it about (63016 outside the window, unknown or unapproved
Content SIDs refused, media fetched, list-picker limits, Advanced Opt-Out)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.channels.sender import ReplySender
from app.channels.twilio_client import TwilioSender, TwilioSendError
from app.concierge.models import VendorOutreach
from app.conversations.models import Conversation, Message
from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import InvalidInput
from app.flows.jobs import enqueue_conversation
from app.messaging import templates
from app.text.wording import WordingError, say
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import (
    TenantHandle,
    make_tenant,
    new_number,
    post_whatsapp,
    settle,
    wait_for_bodies,
)

pytestmark = pytest.mark.usefixtures("worker")

NEED = "necesito balatas delanteras para un Jetta 2017, cerca de Polanco"
POLANCO = {"name": "Polanco", "lat": 19.4326, "lon": -99.1942, "aliases": ["polanco"]}
PHOTO = b"\xff\xd8\xff\xe0fake-jpeg-bytes"


def cars_csv(photos: dict[str, str] | None = None) -> str:
    """Three cars; with ``photos``, an ``image_url`` column (stock id → URL)."""
    rows = [
        ("A1", "Mazda", "3", 2019, 265000, 48000, "i Sport", "Automática"),
        ("A2", "Nissan", "Versa", 2018, 189999, 61000, "Advance", "Manual"),
        ("A3", "Toyota", "Corolla", 2020, 320000, 35000, "LE", "Automática"),
    ]
    header = "stock_id,make,model,year,price,km,version,transmission" + (",image_url" if photos else "")
    lines = [header]
    for row in rows:
        line = ",".join(str(v) for v in row)
        lines.append(line + (f",{photos.get(row[0], '')}" if photos else ""))
    return "\n".join(lines) + "\n"


def _feedback_questions() -> set[str]:
    """The 👍/👎 question the agent may add after a resolved exchange (not the reply under test)."""
    found = set()
    for key in ("feedback.ask", "feedback.ask_text"):
        for language in ("es", "en"):
            with contextlib.suppress(WordingError):
                found.add(say(key, language))  # type: ignore[arg-type]
    return found


FEEDBACK = _feedback_questions()


def _replies(fake: FakeTwilioServer, to: str) -> list[dict[str, Any]]:
    """What ``to`` received, without the feedback questions."""
    return [m for m in fake.messages_to(to) if m["body"] not in FEEDBACK]


async def _say(
    client: Any, tenant: TenantHandle, customer: str, body: str, fake: FakeTwilioServer, **extra: str
) -> dict[str, Any]:
    """Post ``body`` from ``customer``; the reply it gets (the fake's record), once the turn is all sent."""
    before = len(_replies(fake, customer))
    r = await post_whatsapp(client, to=tenant.number, from_=customer, body=body, extra=extra or None)
    assert r.status_code == 200, r.text
    for _ in range(300):
        if len(_replies(fake, customer)) > before:
            break
        await asyncio.sleep(0.05)
    await settle(tenant.id)
    replies = _replies(fake, customer)
    assert len(replies) > before, f"no reply to {body!r}"
    return replies[before]


async def conversation_of(tenant: TenantHandle, customer: str) -> Conversation:
    """The tenant's conversation with the WhatsApp address ``customer``."""
    async with session_scope() as session:
        found = await session.execute(
            select(Conversation).where(
                Conversation.tenant_id == uuid.UUID(tenant.id), Conversation.customer == customer.split(":")[-1]
            )
        )
        return found.scalar_one()


async def outbound_parts(tenant: TenantHandle, customer: str) -> list[Message]:
    """The outbound parts stored for the conversation with ``customer``, oldest first."""
    conversation = await conversation_of(tenant, customer)
    async with session_scope() as session:
        rows = await session.execute(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.direction == "outbound")
            .order_by(Message.id)
        )
        return list(rows.scalars())


async def _sync(tenant: TenantHandle) -> None:
    """What `agentctl template sync SLUG` does (the CLI itself is tested below), in the test's loop."""
    sender = ReplySender(get_settings())
    try:
        contents = await sender.list_contents()
    finally:
        await sender.aclose()
    async with session_scope() as session:
        await templates.sync_templates(session, tenant_id=uuid.UUID(tenant.id), slug=tenant.slug, contents=contents)


async def _approved(fake: FakeTwilioServer, tenant: TenantHandle, purpose: templates.Purpose) -> str:
    """An approved default template of ``purpose`` in Spanish at the fake, synced for the tenant; its SID."""
    sid = fake.add_template(
        templates.default_name(purpose, "es"),
        templates.default_body(purpose, "es"),
        variables=templates.SAMPLES[purpose],
    )
    await _sync(tenant)
    return sid


async def _backdate(tenant: TenantHandle, customer: str, fake: FakeTwilioServer, hours: float = 25) -> None:
    """The customer last wrote ``hours`` ago (for us and for the fake's WhatsApp)."""
    then = datetime.now(UTC) - timedelta(hours=hours)
    async with session_scope() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.tenant_id == uuid.UUID(tenant.id), Conversation.customer == customer.split(":")[-1])
            .values(last_inbound_at=then)
        )
    fake.customer_wrote(customer, at=then)


async def _store_and_run(conversation: Conversation, **fields: Any) -> int:
    """Store a WhatsApp message in ``conversation`` and run its job to the end (as a worker finds it); its id."""
    message = Message(tenant_id=conversation.tenant_id, conversation_id=conversation.id, channel="whatsapp", **fields)
    async with session_scope() as session:
        session.add(message)
        await session.flush()
        message_id = message.id
    await enqueue_conversation(tenant_id=conversation.tenant_id, conversation_id=conversation.id, delay_seconds=0)
    await settle(str(conversation.tenant_id))
    return message_id


async def _concierge_tenant(client: Any) -> TenantHandle:
    return await make_tenant(
        client,
        flags={"concierge": True},
        concierge={"zones": [POLANCO], "reply_timeout_minutes": 30, "max_vendors": 10, "batch_size": 5},
    )


async def add_vendors(client: Any, tenant: TenantHandle, count: int = 2) -> list[str]:
    """``count`` auto-parts vendors near Polanco, through the API; their WhatsApp numbers."""
    numbers = []
    for i in range(count):
        body = {
            "name": f"Refaccionaria {i}",
            "whatsapp_number": new_number(),
            "categories": ["auto_parts"],
            "lat": POLANCO["lat"] + 0.002 * (i + 1),
            "lon": POLANCO["lon"],
        }
        r = await client.post(f"/v1/tenants/{tenant.slug}/vendors", json=body, headers=tenant.headers)
        assert r.status_code == 201, r.text
        numbers.append(r.json()["whatsapp_number"])
    return numbers


async def _to_outreach(client: Any, tenant: TenantHandle, customer: str, fake: FakeTwilioServer) -> None:
    for text in (NEED, "para hoy", "hasta 1500 pesos"):
        await _say(client, tenant, customer, text, fake)
    assert "proveedores" in (await _say(client, tenant, customer, "sí", fake))["body"]


# ------------------------------------------------------------------------------------- window and templates


async def test_vendor_outreach_goes_out_as_the_approved_template(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client)
    vendors = await add_vendors(client, tenant, 2)
    for number in vendors:
        fake_twilio.never_wrote(number)  # WhatsApp refuses free text to them
    sid = await _approved(fake_twilio, tenant, "vendor_outreach")
    customer = new_number()
    await _to_outreach(client, tenant, customer, fake_twilio)
    for number in vendors:
        [request] = await wait_for_bodies(fake_twilio, number, 1)
        [sent] = fake_twilio.messages_to(number)
        assert sent["content_sid"] == sid and sent["params"].get("Body") is None
        assert sent["content_variables"]["1"] == f"Dealer {tenant.slug}"
        assert "balatas delanteras" in sent["content_variables"]["2"] and "\n" not in sent["content_variables"]["2"]
        assert "balatas delanteras" in request and "STOP" in request  # what the vendor reads
    # A vendor's answer is the concierge's as before (its window is open now).
    await post_whatsapp(client, to=tenant.number, from_=vendors[0], body="sí tengo, 850 pesos, entrega hoy")
    fake_twilio.customer_wrote(vendors[0])
    await wait_for_bodies(fake_twilio, vendors[0], 2)
    await settle(tenant.id)


async def test_without_an_approved_template_outreach_fails_visibly(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client)
    [vendor] = await add_vendors(client, tenant, 1)
    fake_twilio.never_wrote(vendor)
    customer = new_number()
    await _to_outreach(client, tenant, customer, fake_twilio)
    await asyncio.sleep(1.5)
    assert fake_twilio.count_to(vendor) == 0
    refused = [a for a in fake_twilio.attempts if a["params"].get("To") == vendor]
    assert refused and refused[0]["response_status"] == 400
    async with session_scope() as session:
        rows = await session.execute(select(VendorOutreach).where(VendorOutreach.tenant_id == uuid.UUID(tenant.id)))
        [outreach] = list(rows.scalars())
    assert outreach.status == "failed" and "63016" in (outreach.error or "")
    await settle(tenant.id)


async def test_a_reply_after_24_hours_is_not_sent_as_free_text(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await make_tenant(client, catalog_csv=cars_csv())
    customer = new_number()
    fake_twilio.customer_wrote(customer)
    await _say(client, tenant, customer, "hola", fake_twilio)
    answered = fake_twilio.count_to(customer)
    await _backdate(tenant, customer, fake_twilio)
    conversation = await conversation_of(tenant, customer)

    # A free-text part (an operator's reply, a follow-up) a day later: held back, the reason recorded.
    await _store_and_run(conversation, direction="outbound", body="¿Sigues interesado en el Mazda?", status="pending")
    blocked = (await outbound_parts(tenant, customer))[-1]
    assert (blocked.status, blocked.blocked_reason) == ("blocked", "window_closed")
    assert fake_twilio.count_to(customer) == answered
    listed = await client.get(
        f"/v1/tenants/{tenant.slug}/conversations/{conversation.id}/messages", headers=tenant.headers
    )
    assert listed.json()[-1]["blocked_reason"] == "window_closed"

    # Recovery of old work: a message received 25 h ago and never answered gets no free-text answer: it is
    # marked expired and no reply part is even written (the window check would only have blocked one).
    parts_before = len(await outbound_parts(tenant, customer))
    old = await _store_and_run(
        conversation,
        direction="inbound",
        body="¿tienen Corolla?",
        status="received",
        created_at=datetime.now(UTC) - timedelta(hours=25),
    )
    assert fake_twilio.count_to(customer) == answered
    async with session_scope() as session:
        expired = await session.get(Message, old)
    assert expired is not None and expired.status == "expired"
    assert len(await outbound_parts(tenant, customer)) == parts_before

    # The operator's way back in: an approved template.
    async with session_scope() as session:
        with pytest.raises(InvalidInput):
            await templates.queue_template(
                session,
                tenant_id=conversation.tenant_id,
                conversation_id=conversation.id,
                purpose_or_sid="handoff_follow_up",
                variables={"1": "Ana", "2": "el Mazda 3"},
            )
    sid = await _approved(fake_twilio, tenant, "handoff_follow_up")
    async with session_scope() as session:
        await templates.queue_template(
            session,
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.id,
            purpose_or_sid="handoff_follow_up",
            variables={"1": "Ana de Autos", "2": "el Mazda 3"},
            author="ana@example.test",
        )
    await wait_for_bodies(fake_twilio, customer, answered + 1)
    sent = fake_twilio.messages_to(customer)[-1]
    assert sent["content_sid"] == sid and "Ana de Autos" in sent["body"] and "Mazda 3" in sent["body"]
    stored = (await outbound_parts(tenant, customer))[-1]
    assert stored.content_sid == sid and stored.status == "queued"


async def test_a_shortlist_due_after_24_hours_goes_out_as_its_template(
    client: Any, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await _concierge_tenant(client)
    vendors = await add_vendors(client, tenant, 3)
    sid = await _approved(fake_twilio, tenant, "shortlist_ready")
    customer = new_number()
    await _to_outreach(client, tenant, customer, fake_twilio)
    for number in vendors:
        await wait_for_bodies(fake_twilio, number, 1)
    await _backdate(tenant, customer, fake_twilio)  # the vendors took a day
    before = fake_twilio.count_to(customer)
    for number in vendors:
        await post_whatsapp(client, to=tenant.number, from_=number, body="sí tengo, 900 pesos, entrega hoy")
        await wait_for_bodies(fake_twilio, number, 2)
    await wait_for_bodies(fake_twilio, customer, before + 1)
    await settle(tenant.id)
    sent = fake_twilio.messages_to(customer)[before:]
    assert [m["content_sid"] for m in sent] == [sid]
    assert "balatas delanteras" in sent[0]["body"] and "Refaccionaria" in sent[0]["body"]
    free_text = [
        a for a in fake_twilio.attempts if a["params"].get("To") == customer and "ContentSid" not in a["params"]
    ]
    assert len(free_text) == before  # nothing after the day went as free text


# ------------------------------------------------------------------------------------------------- opt-out


async def test_stop_stops_every_path_and_start_resumes(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await _concierge_tenant(client)
    vendors = await add_vendors(client, tenant, 3)
    customer = new_number()
    await _to_outreach(client, tenant, customer, fake_twilio)
    for number in vendors:
        await wait_for_bodies(fake_twilio, number, 1)

    confirmed = await _say(client, tenant, customer, "BAJA", fake_twilio)
    assert "ya no te enviaremos" in confirmed["body"].lower()
    before = fake_twilio.count_to(customer)
    for text in ("STOP", "hola, ¿tienen autos?"):  # confirmed once; nothing is answered while opted out
        await post_whatsapp(client, to=tenant.number, from_=customer, body=text)
        await settle(tenant.id)
    # The in-flight concierge request: vendors answer, the shortlist is due, and is not sent.
    for number in vendors:
        await post_whatsapp(client, to=tenant.number, from_=number, body="sí tengo, 900 pesos, entrega hoy")
        await wait_for_bodies(fake_twilio, number, 2)
    await settle(tenant.id)
    await asyncio.sleep(1.0)
    await settle(tenant.id)
    assert fake_twilio.count_to(customer) == before
    shortlist = (await outbound_parts(tenant, customer))[-1]
    assert (shortlist.status, shortlist.blocked_reason) == ("blocked", "opted_out")
    conversation = await conversation_of(tenant, customer)
    state = await client.get(
        f"/v1/tenants/{tenant.slug}/conversations/{conversation.id}/opt-out", headers=tenant.headers
    )
    assert state.json()["opted_out"] is True
    listed = await client.get(f"/v1/tenants/{tenant.slug}/conversations", headers=tenant.headers)
    assert next(c for c in listed.json() if c["id"] == str(conversation.id))["opted_out_at"] is not None

    back = await _say(client, tenant, customer, "ALTA", fake_twilio)
    assert "volverás a recibir" in back["body"].lower()
    assert (await _say(client, tenant, customer, "gracias", fake_twilio))["body"]
    await settle(tenant.id)


async def test_opt_out_by_phrase_by_api_and_by_twilio_advanced_opt_out(
    client: Any, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await make_tenant(client, catalog_csv=cars_csv())
    customer = new_number()
    assert "ya no te enviaremos" in (await _say(client, tenant, customer, "ya no me escriban", fake_twilio))["body"]
    conversation = await conversation_of(tenant, customer)
    path = f"/v1/tenants/{tenant.slug}/conversations/{conversation.id}/opt-out"
    r = await client.put(path, json={"opted_out": False}, headers=tenant.headers)
    assert r.status_code == 200 and r.json() == {**r.json(), "opted_out": False, "changed": True}
    assert "Mazda" in (await _say(client, tenant, customer, "¿tienen Mazda?", fake_twilio))["body"]

    # Twilio intercepted STOP (Advanced Opt-Out): it confirms by itself; we record it and send nothing more.
    before = fake_twilio.count_to(customer)
    params = fake_twilio.opt_out_params(from_=customer, to=tenant.number, keyword="STOP")
    extra = {"OptOutType": params["OptOutType"]}
    await post_whatsapp(client, to=tenant.number, from_=customer, body=params["Body"], extra=extra)
    await settle(tenant.id)
    assert fake_twilio.count_to(customer) == before
    assert (await client.get(path, headers=tenant.headers)).json()["opted_out"] is True
    bad = await client.put(path, json={"opted_out": "maybe"}, headers=tenant.headers)
    assert bad.status_code == 422


async def test_cancelar_cancels_an_open_concierge_request_rather_than_opting_out(
    client: Any, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await _concierge_tenant(client)
    customer = new_number()
    await _say(client, tenant, customer, NEED, fake_twilio)
    assert "cancelé" in (await _say(client, tenant, customer, "cancelar", fake_twilio))["body"]
    assert (await conversation_of(tenant, customer)).opted_out_at is None
    # With nothing open, the same word opts out.
    assert "ya no te enviaremos" in (await _say(client, tenant, customer, "cancelar", fake_twilio))["body"].lower()
    await settle(tenant.id)


# ----------------------------------------------------------------------------------------------- rich messages


async def _rich_tenant(client: Any, fake: FakeTwilioServer, *, rich: bool) -> tuple[TenantHandle, dict[str, str]]:
    photos = {stock: fake.add_public_media(f"{uuid.uuid4().hex}.jpg", PHOTO) for stock in ("A1", "A2", "A3")}
    tenant = await make_tenant(client, catalog_csv=cars_csv(photos))
    r = await client.put(
        f"/v1/tenants/{tenant.slug}/agent-config", json={"rich_messages": rich}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    return tenant, photos


async def test_a_list_picker_tap_is_the_same_as_typing_el_segundo(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant, photos = await _rich_tenant(client, fake_twilio, rich=True)
    tapper, typer = new_number(), new_number()
    for customer in (tapper, typer):
        fake_twilio.customer_wrote(customer)
        await _say(client, tenant, customer, "¿qué autos tienen?", fake_twilio)
    listing = _replies(fake_twilio, tapper)[-1]
    assert listing["content_type"] == "twilio/list-picker" and listing["content_sid"].startswith("HX")
    rows = listing["items"]
    assert 2 <= len(rows) <= 10 and rows[1]["id"] == "car:2"
    assert all(len(r["item"]) <= 24 and len(r["description"]) <= 72 for r in rows)
    # The same listing for the second customer reuses the cached content.
    assert _replies(fake_twilio, typer)[-1]["content_sid"] == listing["content_sid"]

    tapped = await _say(client, tenant, tapper, rows[1]["item"], fake_twilio, ListId="car:2", ListTitle=rows[1]["item"])
    typed = await _say(client, tenant, typer, "el segundo", fake_twilio)
    assert tapped["body"] == typed["body"] and rows[1]["item"].split()[0] in tapped["body"]
    # A car in focus is a card with its photo, fetched by Twilio.
    assert tapped["content_type"] == "twilio/card"
    assert len(tapped["media_url"]) == 1 and tapped["media_url"][0] in photos.values()
    await settle(tenant.id)


async def test_the_terms_table_is_a_list_and_a_tap_equals_typing_the_term(
    client: Any, fake_twilio: FakeTwilioServer
) -> None:
    tenant, _ = await _rich_tenant(client, fake_twilio, rich=True)
    tapper, typer = new_number(), new_number()
    for customer in (tapper, typer):
        await _say(client, tenant, customer, "¿cuánto pagaría al mes por el Mazda 3?", fake_twilio)
    table = _replies(fake_twilio, tapper)[-1]
    assert table["content_type"] == "twilio/list-picker", table["body"]
    row = next(r for r in table["items"] if r["id"] == "term:48")
    tapped = await _say(client, tenant, tapper, row["item"], fake_twilio, ListId="term:48", ListTitle=row["item"])
    typed = await _say(client, tenant, typer, "a 48 meses", fake_twilio)
    assert tapped["body"] == typed["body"] and "48" in tapped["body"]
    await settle(tenant.id)


async def test_with_rich_messages_off_the_same_turns_arrive_as_text(client: Any, fake_twilio: FakeTwilioServer) -> None:
    rich_tenant, _ = await _rich_tenant(client, fake_twilio, rich=True)
    plain_tenant, _ = await _rich_tenant(client, fake_twilio, rich=False)
    replies = {}
    for tenant in (rich_tenant, plain_tenant):
        customer = new_number()
        await _say(client, tenant, customer, "¿qué autos tienen?", fake_twilio)
        await _say(client, tenant, customer, "el segundo", fake_twilio)
        replies[tenant.slug] = _replies(fake_twilio, customer)
    plain = replies[plain_tenant.slug]
    assert all(m["content_sid"] is None and m["media_url"] == [] for m in plain)
    assert [m["body"] for m in plain] == [m["body"] for m in replies[rich_tenant.slug]]
    await settle(rich_tenant.id)
    await settle(plain_tenant.id)


async def test_yes_no_questions_carry_buttons_and_a_tap_answers_them(
    client: Any, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await _concierge_tenant(client)
    r = await client.put(
        f"/v1/tenants/{tenant.slug}/agent-config", json={"rich_messages": True}, headers=tenant.headers
    )
    assert r.status_code == 200
    customer = new_number()
    for text in (NEED, "para hoy"):
        await _say(client, tenant, customer, text, fake_twilio)
    confirm = await _say(client, tenant, customer, "hasta 1500 pesos", fake_twilio)
    assert confirm["content_type"] == "twilio/quick-reply"
    assert [a["id"] for a in confirm["actions"]] == ["yes", "change"]
    started = await _say(
        client, tenant, customer, confirm["actions"][0]["title"], fake_twilio, ButtonPayload="yes", ButtonText="Sí"
    )
    assert "proveedores" in started["body"]
    await settle(tenant.id)


# ------------------------------------------------------------------------------------------ the fake's rules


async def test_the_fake_twilio_enforces_whatsapps_rules(fake_twilio: FakeTwilioServer) -> None:
    to, from_ = new_number(), "whatsapp:+14155238886"
    async with TwilioSender(
        account_sid=fake_twilio.account_sid, auth_token=fake_twilio.auth_token, api_base_url=fake_twilio.base_url
    ) as sender:
        fake_twilio.never_wrote(to)
        with pytest.raises(TwilioSendError) as outside:
            await sender.send(to=to, from_=from_, body="hola")
        assert outside.value.code == 63016 and not outside.value.retryable
        with pytest.raises(TwilioSendError) as unknown:
            await sender.send(to=to, from_=from_, content_sid="HX" + "0" * 32)
        assert unknown.value.code == 21656
        too_many = {
            "body": "Elige",
            "button": "Ver",
            "items": [{"id": f"r{i}", "item": f"Auto {i}"} for i in range(11)],
        }
        with pytest.raises(TwilioSendError) as limits:
            await sender.create_content(
                friendly_name="x", language="es", variables={}, types={"twilio/list-picker": too_many}
            )
        assert limits.value.status == 400
        unapproved = await sender.create_content(
            friendly_name="y", language="es", variables={}, types={"twilio/text": {"body": "Hola {{1}}"}}
        )
        with pytest.raises(TwilioSendError):  # outside the window only an approved template goes
            await sender.send(to=to, from_=from_, content_sid=unapproved, content_variables={"1": "Ana"})
        fake_twilio.approve(unapproved)
        await sender.send(to=to, from_=from_, content_sid=unapproved, content_variables={"1": "Ana"})
        assert fake_twilio.messages_to(to)[-1]["body"] == "Hola Ana"
        fake_twilio.customer_wrote(to)
        with pytest.raises(TwilioSendError) as media:
            await sender.send(to=to, from_=from_, body="foto", media_url=[f"{fake_twilio.base_url}/public/none.jpg"])
        assert media.value.code == 63019
        fake_twilio.opt_out(to)
        with pytest.raises(TwilioSendError) as stopped:
            await sender.send(to=to, from_=from_, body="hola")
        assert stopped.value.code == 21610


# ------------------------------------------------------------------------------------------------------ CLI


def test_template_create_and_sync_through_the_cli(cli: Any, fake_twilio: FakeTwilioServer) -> None:
    slug = f"tpl-{uuid.uuid4().hex[:10]}"
    cli.ok("tenant", "create", slug, "--name", "Templates CLI")
    warned = cli.ok("tenant", "flags", slug, "concierge=on")
    assert "no approved vendor_outreach" in warned
    created = cli.ok("template", "create")
    assert created.count("received") == 10 and "vendor_outreach_es" in created
    contents = {c["friendly_name"]: c for c in fake_twilio.contents}
    assert set(contents) == {f"{p}_{lang}" for p in templates.PURPOSES for lang in ("es", "en")}
    outreach = contents["vendor_outreach_es"]
    assert "{{1}}" in outreach["types"]["twilio/text"]["body"] and outreach["variables"]["2"]
    fake_twilio.approve(outreach["sid"])
    fake_twilio.reject(contents["re_engagement_es"]["sid"])
    synced = cli.ok("template", "sync", slug)
    assert f"vendor_outreach: approved ({outreach['sid']})" in synced
    assert "re_engagement: rejected" in synced or "re_engagement: received" in synced
    status = cli.ok("tenant", "status", slug)
    assert f"template_vendor_outreach: approved ({outreach['sid']})" in status
    assert "concierge_warning" not in status
    mapped = cli.ok("template", "map", slug, contents["shortlist_ready_en"]["sid"], "handoff_follow_up")
    assert "handoff_follow_up" in mapped
    assert "unknown purpose" in cli.fails("template", "map", slug, outreach["sid"], "nonsense")
