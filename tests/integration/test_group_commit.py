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
from app.conversations.service import JobSpec
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


def _ingest_calls(numbers: list[str], tag: str) -> list[tuple[Any, ...]]:
    """A group with every case the set form must get right, to the numbers ``[a, b]`` of two tenants:
    one customer's three messages (the last without a name), a MessageSid twice in the group, a MessageSid
    stored before the group, one customer writing to both tenants and a number no tenant owns."""
    a, b = numbers
    ana, beto, caro = (f"whatsapp:+52155{tag}{i:04d}" for i in range(3))

    job = JobSpec("conversations", "app.flows.jobs.answer_conversation", "conversation:", 3600.0, 7200.0)

    def call(to: str, sender: str, body: str, sid: str, name: str | None) -> tuple[Any, ...]:
        return conversation_service.ingest_args(
            to=to,
            from_=sender,
            body=body,
            message_sid=f"SM{tag}{sid}",
            profile_name=name,
            media=[],
            payload={},
            job=job,
        )

    calls = [
        call(a, ana, "hola", "01", "Ana"),
        call(a, beto, "busco un auto", "02", "Beto"),
        call(a, ana, "un sedán", "03", "Ana María"),
        call(b, ana, "hola otra tienda", "04", None),
        call(a, beto, "busco un auto", "02", "Beto"),  # Twilio's retry, inside the group
        call(a, caro, "ya escribí antes", "00", "Caro"),  # stored before the group
        call("whatsapp:+15550000000", caro, "¿hola?", "05", None),
        call(a, ana, "automático", "06", None),
        call(a, caro, "de nuevo", "07", None),
    ]
    return sorted(calls, key=lambda args: (args[0], args[2]))  # as GroupedStatement sends a group


async def _ingest_snapshot(numbers: list[str], calls: list[tuple[Any, ...]], rows: list[Any], tag: str) -> Any:
    """The rows and the stored state, with ids, numbers and sids replaced by what they stand for."""
    async with session_scope() as session:
        conversations = (
            await session.execute(
                text(
                    "SELECT c.id, n.address, c.customer, c.whatsapp_address, c.tenant_address, c.profile_name,"
                    " (SELECT array_agg(m.body || '/' || m.provider_sid || '/' || m.status ORDER BY m.id)"
                    "  FROM messages m WHERE m.conversation_id = c.id) AS messages,"
                    " (SELECT array_agg(j.status::text || ':' || round(extract(epoch FROM j.scheduled_at - now())))"
                    "  FROM procrastinate_jobs j WHERE j.lock = 'conversation:' || c.id::text) AS jobs"
                    " FROM conversations c JOIN tenant_numbers n ON n.tenant_id = c.tenant_id"
                    " WHERE n.address = ANY(:numbers) ORDER BY n.address, c.customer"
                ),
                {"numbers": numbers},
            )
        ).all()

    def plain(value: Any) -> Any:
        return str(value).replace(tag, "#").replace(numbers[0], "A").replace(numbers[1], "B")

    names = {conversation.id: plain(conversation[1:3]) for conversation in conversations}
    state = sorted(tuple(plain(v) for v in conversation[1:]) for conversation in conversations)
    answers = sorted(
        (plain(call[6]), plain(call[0]), names.get(row["conversation_id"]), row["inserted"], row["tenant_id"] is None)
        for call, row in zip(calls, rows, strict=True)
    )
    return answers, state


async def test_the_set_form_stores_a_group_as_the_pipelined_statement_does(client: Any) -> None:
    """The webhook's ingest as one execution for the whole group gives every call the row, and leaves the
    database in the state, that one execution per call does (tested against each other on the same group)."""
    snapshots = []
    for together in (None, conversation_service._INGEST_WHATSAPP_GROUP):
        tenants = [await make_tenant(client), await make_tenant(client)]
        numbers = [tenant.number for tenant in tenants]
        tag = f"{uuid.uuid4().int % 10**4:04d}"
        calls = _ingest_calls(numbers, tag)
        statement = GroupedStatement(conversation_service._INGEST_WHATSAPP, together=together)
        [before] = [c for c in calls if c[6].endswith("00")]
        await statement.fetch_one(*before)
        rows = await statement._fetch_group(calls)
        assert len(rows) == len(calls)
        snapshots.append(await _ingest_snapshot(numbers, calls, rows, tag))
        async with session_scope() as session:  # no job of these is ever run
            await session.execute(
                text(
                    "DELETE FROM procrastinate_jobs WHERE queueing_lock IS NOT NULL AND args->>'tenant_id' = ANY(:ids)"
                ),
                {"ids": [t.id for t in tenants]},
            )
    pipelined, together = snapshots
    assert together == pipelined
    answers, state = together
    # What both give, spelt out: one row per call in order, the duplicates not inserted, the stranger alone.
    assert [inserted for *_call, inserted, _none in answers].count(True) == 6
    assert [none for *_call, none in answers].count(True) == 1
    assert len(state) == 4 and all(jobs == "['todo:3600']" for *_rest, jobs in state)


async def test_the_api_plans_the_ingest_on_every_pooled_connection_at_start(
    migrated: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start-up warm-up leaves both ingest statements prepared on each connection it opens for the pool
    (the first burst pays for no planning), and writes nothing."""
    from app.core.config import get_settings
    from app.core.db import dispose_engine
    from app.main import warm_up_pool

    prepare = conversation_service.prepare_ingest
    planned: dict[int, set[str]] = {}

    async def prepare_and_look(driver: Any) -> None:
        await prepare(driver)
        rows = await driver.fetch("SELECT statement FROM pg_prepared_statements")
        planned[id(driver)] = {row["statement"].strip() for row in rows}

    monkeypatch.setattr(conversation_service, "prepare_ingest", prepare_and_look)
    await dispose_engine()  # a pool of new connections, as at start
    await warm_up_pool()
    ingest = {conversation_service._INGEST_WHATSAPP.strip(), conversation_service._INGEST_WHATSAPP_GROUP.strip()}
    assert len(planned) == get_settings().db_pool_size
    assert all(ingest <= statements for statements in planned.values())
    # What the warm-up's call would write if it wrote anything: its values are all empty.
    written = (
        "SELECT (SELECT count(*) FROM conversations WHERE customer = ''), (SELECT count(*) FROM messages"
        " WHERE provider_sid = ''), (SELECT count(*) FROM procrastinate_jobs WHERE task_name = '')"
    )
    async with session_scope() as session:
        assert tuple((await session.execute(text(written))).one()) == (0, 0, 0)


async def test_a_set_form_gets_the_groups_values_as_text_arrays_and_answers_in_order(migrated: None) -> None:
    together = (
        "SELECT CAST(n AS int) * 10 AS x, CAST(u AS uuid) AS u, 'set' AS via"
        " FROM unnest($1::text[], $2::text[]) WITH ORDINALITY"
        " AS g(n, u, ord) ORDER BY ord"
    )
    statement = GroupedStatement("SELECT $1::int * 10 AS x, $2::uuid AS u, 'one' AS via", together=together)
    ids = [uuid.uuid4() for _ in range(5)]
    rows = await asyncio.gather(*(statement.fetch_one(n, ids[n]) for n in range(5)))
    assert statement.groups == 1  # all five queued before the group was sent: one execution of the set form
    assert [(r["x"], r["u"], r["via"]) for r in rows] == [(n * 10, ids[n], "set") for n in range(5)]
    # A value whose text would be Python's repr (a list) is refused by the set form: the group goes call by call.
    arrays = GroupedStatement("SELECT cardinality($1::int[]) AS n", together="SELECT 0 AS n FROM unnest($1::text[])")
    sizes = await asyncio.gather(*(arrays.fetch_one(list(range(n))) for n in (2, 3, 1)))
    assert arrays.groups == 1 and [r["n"] for r in sizes] == [2, 3, 1]


async def _conversations_of(tenant_id: str) -> list[tuple[Any, ...]]:
    async with session_scope() as session:
        rows = await session.execute(
            text(
                "SELECT id::text, whatsapp_address, profile_name, last_inbound_at FROM conversations"
                " WHERE tenant_id = CAST(:t AS uuid) ORDER BY whatsapp_address"
            ),
            {"t": tenant_id},
        )
        return [tuple(r) for r in rows]


@pytest.mark.parametrize("together", [False, True], ids=["alone", "in-a-group"])
async def test_a_message_sid_stored_before_changes_nothing(client: Any, together: bool) -> None:
    """A redelivered MessageSid (Twilio's retry, a replay) must not reopen the 24-hour window, rename the
    customer, or make a conversation for another sender: alone (one statement) or in a group (the set form)."""
    from tests.helpers import age_conversation

    tenant = await make_tenant(client)
    customer, stranger = new_number(), new_number()
    sid = "SM" + uuid.uuid4().hex
    first = await post_whatsapp(client, to=tenant.number, from_=customer, body="hola", sid=sid)
    assert first.status_code == 200
    [(conversation_id, *_)] = await _conversations_of(tenant.id)
    await age_conversation(conversation_id, hours=25)
    before = await _conversations_of(tenant.id)

    replays = [
        post_whatsapp(client, to=tenant.number, from_=customer, body="hola", sid=sid, extra={"ProfileName": "Otro"}),
        post_whatsapp(client, to=tenant.number, from_=stranger, body="hola", sid=sid),
    ]
    if together:
        # New messages from other customers around them, so the replays go in one group with them.
        others = [post_whatsapp(client, to=tenant.number, from_=new_number(), body="hola") for _ in range(6)]
        answers = await asyncio.gather(*others[:3], *replays, *others[3:])
    else:
        answers = [await replay for replay in replays]
    assert all(a.status_code == 200 for a in answers)
    after = [row for row in await _conversations_of(tenant.id) if row[0] == conversation_id or row[1] == f"{stranger}"]
    assert after == before, "a stored MessageSid changed its conversation or made another one"
    async with session_scope() as session:
        stored = (
            await session.execute(text("SELECT count(*) FROM messages WHERE provider_sid = :s"), {"s": sid})
        ).scalar_one()
    assert stored == 1
