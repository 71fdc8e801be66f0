"""Cheap refusals on the Twilio webhooks: a forged or oversized request costs next to nothing, genuine ones pass.

Through the ASGI app with the real database. Timings are compared with a genuine webhook's, with generous
bounds: before the fix, one unsigned 4.9 MB form of 500,000 fields took about 6 s to refuse.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text

from app.core.db import session_scope
from tests.helpers import WEBHOOK_PATH, make_tenant, new_number, post_whatsapp, settle, sign

FORM = {"content-type": "application/x-www-form-urlencoded"}
HUGE_FORM = "&".join(f"f{i}=x" for i in range(500_000)).encode()  # ~4.9 MB, 500,000 fields


async def stored(sid: str) -> int:
    async with session_scope() as session:
        found = await session.execute(text("SELECT count(*) FROM messages WHERE provider_sid = :s"), {"s": sid})
        return int(found.scalar_one())


async def timed(call: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    response = await call
    return response, time.perf_counter() - started


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


async def test_an_unsigned_huge_form_is_refused_fast_and_genuine_ones_still_pass(client: Any, worker: None) -> None:
    tenant = await make_tenant(client)
    sid = "SM" + uuid.uuid4().hex
    genuine, genuine_s = await timed(post_whatsapp(client, to=tenant.number, from_=new_number(), body="hola", sid=sid))
    assert genuine.status_code == 200 and await stored(sid) == 1
    assert len(HUGE_FORM) > 4_500_000
    for _ in range(3):
        refused, refused_s = await timed(client.post(WEBHOOK_PATH, content=HUGE_FORM, headers=FORM))
        assert_error(refused, 403, "forbidden")
        # Refused from the headers alone: no slower than a genuine ack (bounds generous for a loaded machine).
        assert refused_s < max(1.0, 5 * genuine_s), (refused_s, genuine_s)
    sid = "SM" + uuid.uuid4().hex
    after = await post_whatsapp(client, to=tenant.number, from_=new_number(), body="sigo aquí", sid=sid)
    assert after.status_code == 200 and await stored(sid) == 1
    await settle(tenant.id)


async def test_a_small_unsigned_form_is_refused_and_not_stored(client: Any) -> None:
    tenant = await make_tenant(client)
    sid = "SM" + uuid.uuid4().hex
    params = {"MessageSid": sid, "From": new_number(), "To": tenant.number, "Body": "hola"}
    r = await client.post(WEBHOOK_PATH, data=params)
    assert_error(r, 403, "forbidden")
    assert await stored(sid) == 0


async def test_a_declared_oversized_body_is_413_even_with_a_signature(client: Any) -> None:
    r = await client.post(WEBHOOK_PATH, content=HUGE_FORM, headers={**FORM, "X-Twilio-Signature": "Zm9yZ2Vk"})
    error = assert_error(r, 413, "payload_too_large")
    assert error["details"] == {"max_bytes": 64_000}


async def _chunks(data: bytes, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_streamed_oversized_body_is_413(client: Any) -> None:
    r = await client.post(
        "/webhooks/twilio/status", content=_chunks(HUGE_FORM), headers={**FORM, "X-Twilio-Signature": "Zm9yZ2Vk"}
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_error(r, 413, "payload_too_large")


async def test_too_many_fields_are_refused_before_parsing(client: Any) -> None:
    tenant = await make_tenant(client)
    sid = "SM" + uuid.uuid4().hex
    params = {"MessageSid": sid, "From": new_number(), "To": tenant.number, "Body": "hola"}
    params.update({f"X{i}": "1" for i in range(300)})  # small (a few KB) but far more fields than Twilio sends
    r = await client.post(WEBHOOK_PATH, data=params, headers={"X-Twilio-Signature": sign(WEBHOOK_PATH, params)})
    error = assert_error(r, 422, "invalid_input")
    assert error["details"] == {"max_fields": 200}
    assert await stored(sid) == 0


async def test_a_genuine_form_with_media_fields_is_accepted(client: Any, worker: None) -> None:
    """Twilio's largest genuine forms (ten media items, location, button) stay well inside the limits."""
    tenant = await make_tenant(client)
    sid = "SM" + uuid.uuid4().hex
    extra = {"NumMedia": "10", "Latitude": "19.43", "Longitude": "-99.13", "ButtonText": "Sí", "WaId": "5215512345678"}
    for i in range(10):
        extra[f"MediaUrl{i}"] = f"https://api.twilio.com/2010-04-01/Accounts/AC/Messages/{sid}/Media/ME{i:032d}"
        extra[f"MediaContentType{i}"] = "image/jpeg"
    r = await post_whatsapp(client, to=tenant.number, from_=new_number(), body="mira " * 300, sid=sid, extra=extra)
    assert r.status_code == 200, r.text
    assert await stored(sid) == 1
    await settle(tenant.id)


async def test_another_content_type_is_415(client: Any) -> None:
    r = await client.post(
        WEBHOOK_PATH, json={"MessageSid": "SM1"}, headers={"X-Twilio-Signature": sign(WEBHOOK_PATH, {})}
    )
    assert_error(r, 415, "unsupported_media_type")
