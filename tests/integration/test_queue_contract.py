"""The webhook inserts its queue job in SQL; it must be the job procrastinate's own defer creates."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import text

from app.core.db import session_scope
from app.flows import jobs as app_queue
from tests.helpers import make_tenant, new_number, post_whatsapp

_JOBS = text(
    """
    SELECT queue_name, task_name, priority, lock, queueing_lock, args, status::text AS status,
           extract(epoch FROM scheduled_at - now()) AS due_in
    FROM procrastinate_jobs WHERE lock = :lock ORDER BY id
    """
)


async def _jobs(conversation_id: str) -> list[Any]:
    async with session_scope() as session:
        return list((await session.execute(_JOBS, {"lock": f"conversation:{conversation_id}"})).all())


async def _forget(lock: str, conversation_id: str) -> None:
    """Drop the job a test looked at, and its messages' claim on an answer: otherwise the worker's
    recovery pass would answer them later, in the middle of another test."""
    async with session_scope() as session:
        await session.execute(text("DELETE FROM procrastinate_jobs WHERE lock = :l"), {"l": lock})
        await session.execute(
            text("UPDATE messages SET status = 'processed' WHERE conversation_id = CAST(:c AS uuid)"),
            {"c": conversation_id},
        )


async def _conversation_id(client: Any, tenant: Any, customer: str) -> str:
    r = await client.get(f"/v1/tenants/{tenant.slug}/conversations", headers=tenant.headers)
    return next(c["id"] for c in r.json() if c["customer"] == customer.removeprefix("whatsapp:"))


async def test_webhook_job_matches_procrastinate_defer(client: Any, queue: Any) -> None:
    tenant = await make_tenant(client)
    customer = new_number()
    await post_whatsapp(client, to=tenant.number, from_=customer, body="hola")
    conversation_id = await _conversation_id(client, tenant, customer)
    (ours,) = await _jobs(conversation_id)

    # The same conversation deferred through procrastinate's API, once our job has left the queue.
    async with session_scope() as session:
        await session.execute(text("DELETE FROM procrastinate_jobs WHERE lock = :l"), {"l": ours.lock})
    await app_queue.enqueue_conversation(
        tenant_id=uuid.UUID(tenant.id), conversation_id=uuid.UUID(conversation_id), delay_seconds=0.4
    )
    (theirs,) = await _jobs(conversation_id)
    for field in ("queue_name", "task_name", "priority", "lock", "queueing_lock", "args"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.args == {"tenant_id": tenant.id, "conversation_id": conversation_id}
    assert 0 < float(ours.due_in) <= 0.4  # scheduled one burst window ahead (BURST_WINDOW_SECONDS=0.4)
    await _forget(ours.lock, conversation_id)


async def test_burst_and_retries_leave_one_waiting_job(client: Any, queue: Any) -> None:
    tenant = await make_tenant(client)
    customer = new_number()
    sid = "SM" + uuid.uuid4().hex
    for body, message_sid in (("hola", sid), ("hola", sid), ("busco", None), ("un auto", None)):
        r = await post_whatsapp(client, to=tenant.number, from_=customer, body=body, sid=message_sid)
        assert r.status_code == 200
    conversation_id = await _conversation_id(client, tenant, customer)
    jobs = await _jobs(conversation_id)
    assert [j.status for j in jobs] in (["todo"], ["doing"], ["succeeded"])
    await _forget(jobs[0].lock, conversation_id)


_DUE = text(
    """
    SELECT extract(epoch FROM j.scheduled_at - (SELECT min(created_at) FROM messages m
                                                WHERE m.conversation_id = CAST(:cid AS uuid)
                                                  AND m.direction = 'inbound')) AS after_first,
           extract(epoch FROM j.scheduled_at - (SELECT max(created_at) FROM messages m
                                                WHERE m.conversation_id = CAST(:cid AS uuid)
                                                  AND m.direction = 'inbound')) AS after_last
    FROM procrastinate_jobs j WHERE j.lock = :lock AND j.status = 'todo'
    """
)


async def test_each_message_of_a_burst_pushes_the_job_up_to_the_cap(client: Any, queue: Any, monkeypatch: Any) -> None:
    from app.core.config import get_settings

    # Long windows so no worker takes the job while we look at it.
    monkeypatch.setattr(get_settings(), "burst_window_seconds", 4.0)
    monkeypatch.setattr(get_settings(), "burst_max_seconds", 5.0)
    tenant = await make_tenant(client)
    customer = new_number()
    await post_whatsapp(client, to=tenant.number, from_=customer, body="hola")
    conversation_id = await _conversation_id(client, tenant, customer)
    lock = f"conversation:{conversation_id}"

    async def due() -> Any:
        async with session_scope() as session:
            return (await session.execute(_DUE, {"cid": conversation_id, "lock": lock})).one()

    assert float((await due()).after_last) == 4.0
    await asyncio.sleep(0.5)
    await post_whatsapp(client, to=tenant.number, from_=customer, body="busco un")
    pushed = await due()
    assert float(pushed.after_last) == 4.0  # a window after the newest message
    assert float(pushed.after_first) > 4.0
    await asyncio.sleep(1.2)
    await post_whatsapp(client, to=tenant.number, from_=customer, body="Corolla")
    capped = await due()
    assert float(capped.after_first) == 5.0  # never past BURST_MAX_SECONDS after the first
    assert float(capped.after_last) < 4.0
    assert len(await _jobs(conversation_id)) == 1
    await _forget(lock, conversation_id)
