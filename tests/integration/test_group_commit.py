"""Group commit of the webhook's ingest (app.core.group_commit): webhooks that arrive together share a round
trip and a commit, each still gets its own answer, and a bad call never takes its group down with it.

On the real database: the burst goes through the signed webhook (the ASGI app in process).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from app.conversations import service as conversation_service
from app.core.db import session_scope
from app.core.group_commit import GroupedStatement
from tests.helpers import make_tenant, new_number, post_whatsapp


async def test_a_burst_of_webhooks_is_stored_in_fewer_round_trips(client: Any) -> None:
    tenant = await make_tenant(client)
    customers = [new_number() for _ in range(30)]
    sids = ["SM" + uuid.uuid4().hex for _ in customers]
    ingest = conversation_service._ingest
    groups_before, calls_before = ingest.groups, ingest.calls
    # A retry of one message inside the same burst, and a message to a number no tenant owns.
    stranger = "SM" + uuid.uuid4().hex
    answers = await asyncio.gather(
        *(
            post_whatsapp(client, to=tenant.number, from_=customer, body=f"hola {i}", sid=sid)
            for i, (customer, sid) in enumerate(zip(customers, sids, strict=True))
        ),
        post_whatsapp(client, to=tenant.number, from_=customers[0], body="hola 0", sid=sids[0]),
        post_whatsapp(client, to="whatsapp:+15550000000", from_=new_number(), body="hola", sid=stranger),
    )
    assert [a.status_code for a in answers] == [200] * 32
    calls = ingest.calls - calls_before
    groups = ingest.groups - groups_before
    assert calls == 32 and groups < calls, (groups, calls)
    async with session_scope() as session:
        rows = (
            await session.execute(
                text("SELECT provider_sid, body FROM messages WHERE provider_sid = ANY(:sids)"),
                {"sids": [*sids, stranger]},
            )
        ).all()
    assert sorted(rows) == sorted((sid, f"hola {i}") for i, sid in enumerate(sids))  # each once, nothing else


async def test_one_bad_call_fails_alone_and_the_rest_of_its_group_is_kept(migrated: None) -> None:
    statement = GroupedStatement("SELECT 10 / $1::int AS x")
    results = await asyncio.gather(*(statement.fetch_one(n) for n in (1, 2, 0, 5)), return_exceptions=True)
    assert statement.groups == 1  # all four went together; the server refused the group, each went alone
    assert [r["x"] for r in results if not isinstance(r, BaseException)] == [10, 5, 2]
    [error] = [r for r in results if isinstance(r, BaseException)]
    assert isinstance(error, sa_exc.DBAPIError) and "division by zero" in str(error)


async def test_equal_keys_keep_their_arrival_order(migrated: None) -> None:
    """Sorted for lock order, but one customer's calls (equal keys) stay in the order they came."""
    statement = GroupedStatement("SELECT $1::text AS key, $2::int AS n, clock_timestamp() AS at", order=lambda a: a[0])
    calls = [("b", 1), ("a", 2), ("b", 3), ("a", 4), ("b", 5)]
    rows = await asyncio.gather(*(statement.fetch_one(*c) for c in calls))
    by_key: dict[str, list[tuple[Any, int]]] = {}
    for row in rows:
        by_key.setdefault(row["key"], []).append((row["at"], row["n"]))
    for runs in by_key.values():
        assert [n for _at, n in sorted(runs)] == sorted(n for _at, n in runs)


async def test_a_caller_that_gives_up_leaves_the_group_intact(migrated: None) -> None:
    statement = GroupedStatement("SELECT pg_sleep($1::float) IS NULL AS slept, $2::int AS n")
    first = asyncio.create_task(statement.fetch_one(0.3, 1))
    await asyncio.sleep(0.05)
    impatient = asyncio.create_task(statement.fetch_one(0.0, 2))
    patient = asyncio.create_task(statement.fetch_one(0.0, 3))
    await asyncio.sleep(0.05)
    impatient.cancel()
    # Bounded: a group abandoned with its sender would leave these waiting forever, a failure not a hang.
    assert (await asyncio.wait_for(first, 10))["n"] == 1 and (await asyncio.wait_for(patient, 10))["n"] == 3
    with pytest.raises(asyncio.CancelledError):
        await impatient
