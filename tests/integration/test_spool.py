"""The inbound spool: durable files in arrival order, bounded, drained into the real database exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.core.db import database_unreachable, session_scope
from app.core.spool import Spool, SpoolFull
from app.flows.conversation import receive_spooled
from tests.helpers import new_number

DEMO_NUMBER = "whatsapp:+14155238886"


def inbound(sid: str, customer: str, body: str) -> dict[str, Any]:
    return {"message_sid": sid, "from_": customer, "to": DEMO_NUMBER, "body": body, "profile_name": None}


async def test_spooled_files_are_whole_ordered_and_bounded(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "inbound", max_bytes=100_000)
    paths = [await spool.append({"n": i, "body": "x" * 10_000}) for i in range(9)]
    assert spool.pending() == paths  # names sort by arrival
    assert [json.loads(p.read_text())["n"] for p in spool.pending()] == list(range(9))
    assert not list((tmp_path / "inbound").glob(".*.tmp"))  # no half-written file left behind
    with pytest.raises(SpoolFull):
        await spool.append({"n": 9, "body": "x" * 20_000})
    assert len(spool.pending()) == 9


async def test_drain_stops_at_an_unreachable_database_and_keeps_the_rest(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "inbound", max_bytes=1_000_000)
    for i in range(3):
        await spool.append({"n": i})
    seen: list[int] = []

    async def flaky(record: dict[str, Any]) -> None:
        if record["n"] == 1 and not seen.count(1):
            seen.append(1)
            raise ConnectionRefusedError("database down")
        seen.append(record["n"])

    assert await spool.drain(flaky, transient=database_unreachable) == 1
    assert [json.loads(p.read_text())["n"] for p in spool.pending()] == [1, 2]
    assert spool.backlog is True or spool.pending()
    assert await spool.drain(flaky, transient=database_unreachable) == 2
    assert spool.pending() == [] and spool.backlog is False
    assert seen == [0, 1, 1, 2]


async def test_a_record_that_can_never_be_ingested_is_set_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "inbound", max_bytes=1_000_000)
    await spool.append({"n": 0})
    await spool.append({"n": 1})
    done: list[int] = []

    async def picky(record: dict[str, Any]) -> None:
        if record["n"] == 0:
            raise ValueError("bad record")
        done.append(record["n"])

    assert await spool.drain(picky, transient=database_unreachable) == 1
    assert done == [1] and spool.pending() == []
    assert len(list((tmp_path / "inbound-rejected").glob("*.json"))) == 1


async def test_spooled_messages_reach_the_database_in_order_once(demo: dict[str, Any], tmp_path: Path) -> None:
    spool = Spool(tmp_path / "inbound", max_bytes=1_000_000)
    customer = new_number()
    records = [inbound(f"SMspool{customer[-8:]}{i}", customer, f"mensaje {i}") for i in range(3)]
    for record in records:
        await spool.append(record)
    await spool.append(records[1])  # Twilio's retry of an acknowledged message, spooled twice
    assert await spool.drain(receive_spooled, transient=database_unreachable) == 4
    async with session_scope() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT m.body FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                    "WHERE c.customer = :customer AND m.direction = 'inbound' ORDER BY m.id"
                ),
                {"customer": customer.removeprefix("whatsapp:")},
            )
        ).scalars()
        assert list(rows) == ["mensaje 0", "mensaje 1", "mensaje 2"]
