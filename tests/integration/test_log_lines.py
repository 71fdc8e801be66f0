"""What an operator reads in the logs: request ids round-trip through the API, a WhatsApp turn's lines name its
tenant, conversation and job, and a database error never shows the customer's phone number it was given.

The handler under test is the processes' own (``build_handler``), in JSON, attached to the root logger.
"""

from __future__ import annotations

import io
import json
import logging
import re
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.conversations.models import Conversation
from app.core.config import get_settings
from app.core.db import libpq_conninfo, session_scope
from app.core.logging import build_handler
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import make_tenant, new_number, post_whatsapp, say_on_whatsapp

log = logging.getLogger("app.tests.logging")


class Lines:
    """JSON lines logged at INFO and above anywhere in the process while the fixture is active."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def lines() -> Iterator[Lines]:
    captured = Lines()
    handler = build_handler(get_settings().model_copy(update={"log_format": "json"}), captured.stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_an_incoming_request_id_is_returned_and_logged(client: Any, lines: Lines) -> None:
    # A number no tenant owns: the webhook logs a warning, inside the request.
    r = await post_whatsapp(client, to=new_number(), from_=new_number(), body="hola", extra=None)
    assert r.status_code == 200
    generated = r.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)

    mine = f"edge-{uuid.uuid4().hex[:8]}"
    r = await client.get("/healthz", headers={"X-Request-ID": mine})
    assert r.headers["X-Request-ID"] == mine

    r = await client.get("/healthz", headers={"X-Request-ID": "two words\tand a tab"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"])

    unknown = [line for line in lines.all() if "no tenant owns" in line["message"]]
    assert [line["request_id"] for line in unknown] == [generated]


async def test_a_whatsapp_turn_logs_its_tenant_conversation_and_job(
    client: Any, worker: None, fake_twilio: FakeTwilioServer, lines: Lines
) -> None:
    tenant = await make_tenant(client)
    customer = new_number()
    await say_on_whatsapp(client, tenant, customer, "hola, ¿qué horario tienen?", fake_twilio)

    async with session_scope() as session:
        conversation_id = (
            await session.execute(
                text("SELECT id FROM conversations WHERE tenant_id = :t AND whatsapp_address = :a"),
                {"t": tenant.id, "a": customer},
            )
        ).scalar_one()
    turn = [
        line
        for line in lines.all()
        if line["logger"] == "app.flows.conversation"
        and line["message"].startswith("turn ")
        and line.get("tenant_id") == tenant.id
    ]
    assert len(turn) == 1, lines.text()
    assert turn[0]["conversation_id"] == str(conversation_id)
    job_id = turn[0]["job_id"]
    # procrastinate's own lines about that job carry the same ids.
    started = [line for line in lines.all() if line.get("job_id") == job_id and line.get("action") == "start_job"]
    assert started and started[0]["tenant_id"] == tenant.id and started[0]["conversation_id"] == str(conversation_id)


async def _duplicate_conversation(tenant_id: str, phone: str) -> DBAPIError:
    async with session_scope() as session:
        session.add(Conversation(tenant_id=uuid.UUID(tenant_id), customer=phone))
    with pytest.raises(DBAPIError) as caught:
        async with session_scope() as session:
            session.add(Conversation(tenant_id=uuid.UUID(tenant_id), customer=phone))
    return caught.value


async def _phone_as_a_number(phone: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught:
        async with session_scope() as session:
            await session.execute(text("SELECT count(*) FROM turns WHERE id = :id"), {"id": phone})
    return caught.value


def _duplicate_through_psycopg(tenant_id: str, phone: str) -> psycopg.Error:
    """The queue's driver: PostgreSQL's DETAIL line names the key's values."""
    with psycopg.connect(libpq_conninfo()) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(
            "INSERT INTO conversations (id, tenant_id, customer) VALUES (%s, %s, %s)", (uuid.uuid4(), tenant_id, phone)
        )
    return caught.value


async def test_database_errors_never_log_the_customers_phone(client: Any, lines: Lines) -> None:
    tenant = await make_tenant(client)
    phone = "+54911" + str(uuid.uuid4().int % 10**8).zfill(8)
    errors: list[BaseException] = [
        await _duplicate_conversation(tenant.id, phone),
        await _phone_as_a_number(phone),
        _duplicate_through_psycopg(tenant.id, phone),
    ]
    for error in errors:
        # The drivers do echo it: that is what the log must not show.
        assert phone in "".join(traceback.format_exception(error)) + str(error)
        try:
            raise error
        except Exception as exc:
            log.exception("could not store the conversation: %s", exc)
    logged = [line for line in lines.all() if line["logger"] == log.name]
    assert len(logged) == 3
    assert phone not in lines.text()
    assert "parameters hidden" in logged[0]["message"]  # SQLAlchemy's hide_parameters on the app's engine
    assert "***" in logged[2]["message"]
