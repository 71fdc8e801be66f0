"""The webhook's database cost, and pooled connections the server closed (issue 12 benchmarks).

The acknowledgement is one round trip (the ingest statement, run on its own without BEGIN/COMMIT) and
no pooled connection is pinged on checkout; a connection the server closed is replaced at checkout, so
the next webhook is stored at once rather than spooled.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from tests.helpers import make_tenant, new_number, post_whatsapp, settle

# "webhook" inside the request (the ASGI transport runs the app in the caller's task), "" elsewhere.
_phase: contextvars.ContextVar[str] = contextvars.ContextVar("phase", default="")
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("inside", default=False)


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts, per phase, every asyncpg call that goes to the server (statement preparation left out)."""
    import asyncpg.connection
    import asyncpg.prepared_stmt

    counts: Counter[str] = Counter()

    def wrap(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _inside.get():
                return await original(self, *args, **kwargs)
            counts[_phase.get()] += 1
            token = _inside.set(True)
            try:
                return await original(self, *args, **kwargs)
            finally:
                _inside.reset(token)

        monkeypatch.setattr(owner, name, counted)

    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        wrap(asyncpg.connection.Connection, name)
    for name in ("fetch", "fetchrow", "fetchval", "executemany"):
        wrap(asyncpg.prepared_stmt.PreparedStatement, name)
    yield counts


async def test_webhook_ack_is_one_round_trip(
    client: Any, worker: None, fake_twilio: Any, round_trips: Counter[str]
) -> None:
    tenant = await make_tenant(client)
    for _ in range(3):  # each from a new customer: a new conversation, the message and its job
        token = _phase.set("webhook")
        try:
            response = await post_whatsapp(client, to=tenant.number, from_=new_number(), body="hola")
        finally:
            _phase.reset(token)
        assert response.status_code == 200, response.text
    assert round_trips["webhook"] == 3
    await settle(tenant.id)


async def test_pooled_connection_closed_by_the_server_is_replaced(client: Any, worker: None, fake_twilio: Any) -> None:
    from app.core.db import get_engine, session_scope
    from app.core.spool import get_spool

    tenant = await make_tenant(client)
    # Check out every idle pooled connection (and one more) at once, and note their server processes.
    held = [await get_engine().connect() for _ in range(get_engine().pool.checkedin() + 1)]  # type: ignore[attr-defined]
    pids = [int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()) for conn in held]
    for conn in held:
        await conn.close()  # back to the pool, still open
    async with session_scope() as session:
        await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM unnest(CAST(:p AS int[])) AS pid WHERE pid <> pg_backend_pid()"
            ),
            {"p": pids},
        )
        # Polled on the same (surviving) connection: a new checkout could race the pool's view of the others.
        for _ in range(100):
            alive = (
                await session.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(CAST(:p AS int[])) "
                        "AND pid <> pg_backend_pid()"
                    ),
                    {"p": pids},
                )
            ).scalar_one()
            if not alive:
                break
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # the client side reads the closed sockets

    customer = new_number()
    sids = []
    for body in ("hola", "¿tienen autos?", "gracias"):
        sid = "SM" + new_number().removeprefix("whatsapp:+")
        response = await post_whatsapp(client, to=tenant.number, from_=customer, body=body, sid=sid)
        assert response.status_code == 200, response.text
        sids.append(sid)
    assert not get_spool().backlog, "a webhook was spooled: a dead pooled connection was handed out"
    async with session_scope() as session:
        stored = (
            await session.execute(
                text("SELECT count(*) FROM messages WHERE provider_sid = ANY(CAST(:s AS text[]))"), {"s": sids}
            )
        ).scalar_one()
    assert stored == 3
    await settle(tenant.id)
