"""The rest of the operator surface: `delivery.failed` notifications, `agentctl operator`, templates outside
the window through the operator API, and the analytics' outcome rule matching the flow's."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, text, update

from app.conversations.models import Message
from app.core.config import get_settings
from app.core.db import session_scope
from app.flows.conversation import turn_result
from app.operators.analytics import _OUTCOME_SQL
from tests.fakes.notify_receiver import NotifyReceiver
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import make_tenant, new_number, post_whatsapp, settle, wait_for_bodies
from tests.integration.agentctl import Cli

KNOWLEDGE = [{"title": "Horario", "content": "Abrimos de lunes a sábado de 9 a 18 h.", "category": "hours"}]


@pytest.mark.usefixtures("worker")
async def test_delivery_failed_is_notified(
    client: Any, fake_twilio: FakeTwilioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "twilio_retry_seconds", 2.0)
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    async with NotifyReceiver() as receiver:
        await client.put(f"/v1/tenants/{tenant.slug}/notify", json={"url": receiver.hook_url}, headers=tenant.headers)
        fake_twilio.fail_all(503, 20503)
        customer = new_number()
        await post_whatsapp(client, to=tenant.number, from_=customer, body="¿Cuál es su horario?")
        [failed] = await receiver.wait_for("delivery.failed", within=30)
        fake_twilio.recover()
    assert failed.json["data"]["error_code"] == 20503
    async with session_scope() as session:
        part = (
            await session.execute(select(Message).where(Message.id == failed.json["data"]["message_id"]))
        ).scalar_one()
    assert part.status == "failed" and str(part.tenant_id) == tenant.id
    await settle(tenant.id)


def test_agentctl_operator_add_and_list(cli: Cli, client: Any) -> None:
    slug = f"cli-{uuid.uuid4().hex[:8]}"
    cli.ok("tenant", "create", slug, "--name", "CLI Autos")
    result = cli.runner.invoke(
        cli_app(),
        ["operator", "add", slug, "Eva@Example.com", "--role", "admin", "--password-stdin"],
        input="a-long-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "eva@example.com (admin)" in result.output
    assert "eva@example.com\tadmin" in cli.ok("operator", "list", slug)
    short = cli.runner.invoke(
        cli_app(), ["operator", "add", slug, "x@example.com", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1 and "password" in short.output
    again = cli.runner.invoke(
        cli_app(), ["operator", "add", slug, "eva@example.com", "--password-stdin"], input="another-long-password\n"
    )
    assert again.exit_code == 1 and "already exists" in again.output
    prompted = cli.runner.invoke(
        cli_app(), ["operator", "add", slug, "leo@example.com"], input="typed-password-1\ntyped-password-1\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert "typed-password-1" not in prompted.output
    assert cli.invoke("operator", "add", slug, "z@example.com", "--role", "boss").exit_code == 2

    # An account is disabled, enabled again, or given a new password, from the command line too.
    assert "eva@example.com of " + slug + " disabled" in cli.ok("operator", "disable", slug, "Eva@example.com")
    assert "eva@example.com\tadmin\tlast sign-in never\tdisabled" in cli.ok("operator", "list", slug)
    assert "enabled" in cli.ok("operator", "enable", slug, "eva@example.com")
    assert "\tdisabled" not in cli.ok("operator", "list", slug)
    changed = cli.runner.invoke(
        cli_app(), ["operator", "password", slug, "eva@example.com", "--password-stdin"], input="a-new-password-26\n"
    )
    assert changed.exit_code == 0 and "new password" in changed.output, changed.output
    weak = cli.runner.invoke(
        cli_app(), ["operator", "password", slug, "eva@example.com", "--password-stdin"], input="short\n"
    )
    assert weak.exit_code == 1 and "password" in weak.output
    assert "no operator" in cli.fails("operator", "disable", slug, "nobody@example.com")


def cli_app() -> Any:
    from app.cli.main import app

    return app


@pytest.mark.usefixtures("worker")
async def test_template_outside_window_needs_an_approved_one(client: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = await make_tenant(client)
    customer = new_number()
    await post_whatsapp(client, to=tenant.number, from_=customer, body="quiero hablar con un asesor")
    await wait_for_bodies(fake_twilio, customer, 1)
    await settle(tenant.id)
    conversation_id = (await client.get(f"/v1/tenants/{tenant.slug}/handoffs", headers=tenant.headers)).json()[0][
        "conversation_id"
    ]
    async with session_scope() as session:
        await session.execute(
            update(Message)
            .where(Message.conversation_id == uuid.UUID(conversation_id))
            .values(created_at=datetime.now(UTC) - timedelta(hours=30))
        )
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/conversations/{conversation_id}/messages",
        json={"template": "handoff_follow_up", "variables": {"1": "Ana", "2": "tu Mazda"}},
        headers=tenant.headers,
    )
    assert r.status_code == 422 and "template" in r.text  # none approved for this tenant
    unknown = await client.post(
        f"/v1/tenants/{tenant.slug}/conversations/{conversation_id}/messages",
        json={"text": "hola", "operator_email": "nobody@example.com"},
        headers=tenant.headers,
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "operator_email"


async def test_analytics_outcome_rule_is_the_flows(migrated: None) -> None:
    """The SQL that buckets turns for the charts decides exactly as ``turn_result`` does."""
    cases = [
        {"handoff": True, "intent": "handoff", "agent": "handoff", "sources": []},
        {"handoff": False, "intent": "unknown", "agent": "smalltalk", "sources": []},
        {"handoff": False, "intent": "info", "agent": "info", "sources": []},
        {"handoff": False, "intent": "info", "agent": "info", "sources": [{"id": "x", "title": "t"}]},
        {"handoff": False, "intent": "catalog", "agent": "catalog", "sources": []},
    ]
    sql = text(
        f"SELECT {_OUTCOME_SQL} FROM (SELECT CAST(:handoff AS boolean) AS handoff, CAST(:intent AS text) AS intent,"
        " CAST(:agent AS text) AS agent, jsonb_build_object('sources', CAST(:sources AS jsonb)) AS result) t"
    )
    async with session_scope() as session:
        for case in cases:
            got = (await session.execute(sql, {**case, "sources": json.dumps(case["sources"])})).scalar_one()
            assert got == turn_result(SimpleNamespace(**case)), case  # type: ignore[arg-type]
