"""Rate limits: per tenant key on the HTTP API (429 + Retry-After), per sender on WhatsApp (no LLM spend
past the limit, nobody else kept waiting, every message kept)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from app.core.config import get_settings
from app.core.db import session_scope
from app.text.wording import template_for
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import admin_headers, ai_tenant, grounded, make_tenant, new_number, post_whatsapp, wait_for_bodies

FLOOD_NOTICE = template_for("limits.sender_flood", "es")


@pytest.fixture
def settings_env() -> Iterator[Callable[..., None]]:
    """Set environment variables for this test's settings; restored (and the settings re-read) afterwards."""
    with pytest.MonkeyPatch.context() as patch:

        def apply(**env: str) -> None:
            for name, value in env.items():
                patch.setenv(name, value)
            get_settings.cache_clear()

        yield apply
    get_settings.cache_clear()


async def test_a_tenant_over_its_api_rate_gets_429_with_retry_after(
    client: Any, settings_env: Callable[..., None]
) -> None:
    busy = await make_tenant(client)
    other = await make_tenant(client)
    settings_env(API_REQUESTS_PER_MINUTE="5")
    url = f"/v1/tenants/{busy.slug}/conversations"
    for _ in range(5):
        assert (await client.get(url, headers=busy.headers)).status_code == 200
    refused = await client.get(url, headers=busy.headers)
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    body = refused.json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["details"]["limit_per_minute"] == 5
    # Another tenant and the admin are not held back by this tenant's burst.
    assert (await client.get(f"/v1/tenants/{other.slug}/conversations", headers=other.headers)).status_code == 200
    assert (await client.get(url, headers=admin_headers())).status_code == 200


async def _conversation_rows(tenant_id: str, customer: str) -> dict[str, Any]:
    """Inbound statuses and the turns (agent, LLM calls) of ``customer``'s conversation."""
    async with session_scope() as session:
        conv = (
            await session.execute(
                text("SELECT id FROM conversations WHERE tenant_id = :t AND whatsapp_address = :c"),
                {"t": tenant_id, "c": customer},
            )
        ).scalar_one()
        statuses = (
            await session.execute(
                text("SELECT status FROM messages WHERE conversation_id = :c AND direction = 'inbound'"), {"c": conv}
            )
        ).scalars()
        turns = (
            await session.execute(text("SELECT agent, llm_calls FROM turns WHERE conversation_id = :c"), {"c": conv})
        ).all()
    return {"statuses": list(statuses), "turns": [tuple(t) for t in turns]}


async def test_a_sender_flood_spends_no_llm_past_the_limit_and_does_not_block_others(
    client: Any,
    worker: None,
    fake_twilio: FakeTwilioServer,
    openai_fake: FakeOpenAIServer,
    settings_env: Callable[..., None],
) -> None:
    openai_fake.set_responder(grounded)
    tenant = await ai_tenant(client)
    settings_env(SENDER_MESSAGES_PER_MINUTE="3")
    flooder, other = new_number(), new_number()
    for i in range(12):
        sid = "SM" + uuid.uuid4().hex
        r = await post_whatsapp(client, to=tenant.number, from_=flooder, body=f"¿tienen Toyota Corolla? {i}", sid=sid)
        assert r.status_code == 200, r.text
    r = await post_whatsapp(client, to=tenant.number, from_=other, body="¿tienen Toyota Corolla?")
    assert r.status_code == 200
    [answer] = await wait_for_bodies(fake_twilio, other, 1, within=30)
    assert "Toyota Corolla 2020" in answer  # the other customer is answered as usual, by the model

    bodies = await wait_for_bodies(fake_twilio, flooder, 1, within=30)
    assert FLOOD_NOTICE in bodies
    await _wait_until_processed(tenant.id, flooder, count=12)
    for i in range(5):  # the flood goes on after the notice: still no model call, no second notice
        r = await post_whatsapp(client, to=tenant.number, from_=flooder, body=f"¿tienen Toyota Corolla? más {i}")
        assert r.status_code == 200
    rows = await _wait_until_processed(tenant.id, flooder, count=17)
    # Every message is kept; none is left pending, and none was answered twice.
    assert rows["statuses"] == ["processed"] * 17
    agent_turns = [t for t in rows["turns"] if t[0] != "rate_limit"]
    # At most the turn before the limit was reached used the model; the rest cost nothing.
    assert len(agent_turns) <= 1 and sum(calls for _, calls in agent_turns) <= 1
    assert [t for t in rows["turns"] if t[0] == "rate_limit"]
    assert fake_twilio.count_to(flooder) == len(agent_turns) + 1  # one notice, however long the flood
    assert bodies.count(FLOOD_NOTICE) == 1
    calls = [r for r in openai_fake.requests if any("Corolla? " in str(m.get("content")) for m in r.body["messages"])]
    assert len(calls) <= 1


async def _wait_until_processed(tenant_id: str, customer: str, *, count: int) -> dict[str, Any]:
    """The conversation's rows once ``count`` inbound messages are all processed (polls, 30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        rows = await _conversation_rows(tenant_id, customer)
        done = len(rows["statuses"]) == count and all(s != "received" for s in rows["statuses"])
        if done or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def test_a_flood_in_a_handoff_outside_business_hours_is_held_back_too(
    client: Any, worker: None, fake_twilio: FakeTwilioServer, settings_env: Callable[..., None]
) -> None:
    """Handed off while nobody is on duty, the bot answers the customer meanwhile: a flood there is held back
    like any other (it used to get one bot turn, and one reply, per message)."""
    from tests.integration.test_handoff_policy import _closed_hours_now

    tenant = await make_tenant(client, timezone="UTC")
    r = await client.put(
        f"/v1/tenants/{tenant.slug}/agent-config",
        json={"handoff_policy": {"business_hours": _closed_hours_now()}},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    customer = new_number()
    await post_whatsapp(client, to=tenant.number, from_=customer, body="quiero hablar con un asesor")
    await wait_for_bodies(fake_twilio, customer, 1, within=30)
    await _wait_until_processed(tenant.id, customer, count=1)
    settings_env(SENDER_MESSAGES_PER_MINUTE="3")
    for i in range(15):
        r = await post_whatsapp(client, to=tenant.number, from_=customer, body=f"hola? {i}")
        assert r.status_code == 200, r.text
    rows = await _wait_until_processed(tenant.id, customer, count=16)
    assert len(rows["statuses"]) == 16 and "received" not in rows["statuses"]
    bot_turns = [t for t in rows["turns"] if t[0] != "rate_limit"]
    assert [t for t in rows["turns"] if t[0] == "rate_limit"], rows["turns"]
    assert len(bot_turns) <= 1 + 3, rows["turns"]  # the handoff's turn, and at most the limit's worth after it
    await asyncio.sleep(0.5)
    assert fake_twilio.count_to(customer) <= len(bot_turns) + 1
