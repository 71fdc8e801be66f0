"""The inbound WhatsApp webhook's fast path (app.webhooks.WhatsAppFastPath) answers as the FastAPI route did.

Through the ASGI app with the real database and worker: the same statuses and error envelopes, the request
id and the metrics' route label, idempotency by MessageSid, and the requests it leaves to FastAPI.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from app.core.db import session_scope
from tests.helpers import WEBHOOK_PATH, make_tenant, new_number, post_whatsapp, settle, sign


async def _stored(sid: str) -> int:
    """Messages stored with this MessageSid."""
    async with session_scope() as session:
        found = await session.execute(text("SELECT count(*) FROM messages WHERE provider_sid = :s"), {"s": sid})
        return int(found.scalar_one())


async def test_a_genuine_webhook_is_stored_once_answered_and_labelled(client: Any, worker: None) -> None:
    tenant = await make_tenant(client)
    sid = "SM" + uuid.uuid4().hex
    customer = new_number()
    first = await post_whatsapp(client, to=tenant.number, from_=customer, body="hola", sid=sid)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/xml")
    assert "<Response" in first.text and first.headers.get("x-request-id")
    # Twilio's retry of the same MessageSid: acknowledged, never stored twice.
    again = await post_whatsapp(client, to=tenant.number, from_=customer, body="hola", sid=sid)
    assert again.status_code == 200
    assert await _stored(sid) == 1
    await settle(tenant.id)
    metrics = (await client.get("/metrics")).text
    assert 'route="/webhooks/twilio/whatsapp"' in metrics


async def test_refusals_keep_the_error_envelope(client: Any) -> None:
    tenant = await make_tenant(client)
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": new_number(), "To": tenant.number, "Body": "hola"}
    form = {"content-type": "application/x-www-form-urlencoded"}
    unsigned = await client.post(WEBHOOK_PATH, data=params)
    assert unsigned.status_code == 403 and unsigned.json()["error"]["code"] == "forbidden"
    forged = await client.post(WEBHOOK_PATH, data=params, headers={"X-Twilio-Signature": "bm90IGl0"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "forbidden"
    # NUL in the query string: the application-wide check, named by field.
    nul = await client.post(WEBHOOK_PATH + "?x=%00", data=params, headers={"X-Twilio-Signature": "x", **form})
    assert nul.status_code == 422 and nul.json()["error"]["details"][0]["loc"] == ["query", "x"]
    missing = {k: v for k, v in params.items() if k != "MessageSid"}
    incomplete = await client.post(
        WEBHOOK_PATH, data=missing, headers={"X-Twilio-Signature": sign(WEBHOOK_PATH, missing)}
    )
    assert incomplete.status_code == 422 and incomplete.json()["error"]["details"] == {"missing": ["MessageSid"]}
    assert await _stored(params["MessageSid"]) == 0


async def test_other_requests_to_the_path_are_left_to_fastapi(client: Any) -> None:
    wrong_method = await client.get(WEBHOOK_PATH)
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"
    schema = (await client.get("/openapi.json")).json()
    assert "post" in schema["paths"][WEBHOOK_PATH]  # the route still documents the webhook


async def test_an_unexpected_error_is_the_catch_all_500(client: Any, monkeypatch: Any) -> None:
    """The fast path answers ahead of FastAPI's error middleware, with the same 500 envelope and request id."""
    import app.webhooks as webhooks

    async def broken(_form: dict[str, str]) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(webhooks, "accept_whatsapp", broken)
    tenant = await make_tenant(client)
    response = await post_whatsapp(client, to=tenant.number, from_=new_number(), body="hola")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error" and "boom" not in response.text
    assert response.headers.get("x-request-id")
    metrics = (await client.get("/metrics")).text
    assert 'route="/webhooks/twilio/whatsapp",status="500"' in metrics


async def test_a_body_sent_in_pieces_is_read_whole(client: Any, worker: None) -> None:
    """A chunked body (no Content-Length) is read to its end before the signature is checked."""
    tenant = await make_tenant(client)
    sid = "SM" + uuid.uuid4().hex
    params = {"MessageSid": sid, "From": new_number(), "To": tenant.number, "Body": "hola " * 50}
    from urllib.parse import urlencode

    raw = urlencode(params).encode()

    async def pieces() -> Any:
        for start in range(0, len(raw), 64):
            yield raw[start : start + 64]

    response = await client.post(
        WEBHOOK_PATH,
        content=pieces(),
        headers={"X-Twilio-Signature": sign(WEBHOOK_PATH, params), "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert await _stored(sid) == 1
    await settle(tenant.id)
