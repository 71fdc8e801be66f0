"""Experiments (issue 16): arm B's configuration hands off what arm A answers; customers are assigned stably,
every turn records its arm, the sequential test stops the experiment once B is significantly worse on the
guard metric (handoffs), everyone is back on arm A, and the tenant's webhook hears it. Promotion writes arm
B's configuration as the tenant's. Through the chat API and the experiments API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from app.conversations.models import Turn
from app.core.db import session_scope
from app.experiments import service as experiments_service
from app.experiments.models import Experiment, ExperimentTurn
from app.notify import service as notify_service
from app.text.phones import customer_key
from tests.fakes.notify_receiver import NotifyReceiver
from tests.helpers import chat, make_tenant
from tests.integration.agentctl import Cli

pytestmark = pytest.mark.usefixtures("worker")

KNOWLEDGE = [{"title": "Horario de atención", "content": "Abrimos de lunes a sábado de 9 a 18 h."}]
QUESTION = "¿cuál es su horario de atención?"


@pytest.fixture
async def receiver() -> AsyncIterator[NotifyReceiver]:
    async with NotifyReceiver() as fake:
        yield fake


async def _arms(experiment_id: str) -> dict[str, set[str]]:
    """Each conversation's arms over its turns."""
    async with session_scope() as session:
        rows = await session.execute(
            select(Turn.conversation_id, ExperimentTurn.arm)
            .join(Turn, Turn.id == ExperimentTurn.turn_id)
            .where(ExperimentTurn.experiment_id == uuid.UUID(experiment_id))
        )
        found: dict[str, set[str]] = {}
        for conversation_id, arm in rows:
            found.setdefault(str(conversation_id), set()).add(arm)
        return found


async def test_a_worse_arm_is_stopped_and_rolled_back(client: Any, receiver: NotifyReceiver) -> None:
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    put = await client.put(f"/v1/tenants/{tenant.slug}/notify", json={"url": receiver.hook_url}, headers=tenant.headers)
    secret = put.json()["secret"]
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/experiments",
        json={"name": "handoff topics", "variant": {"auto_handoff_topics": ["horario"]}, "split": 0.5},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    experiment = r.json()
    assert experiment["status"] == "running" and experiment["guard_metric"] == "handoff_rate"

    users = [f"exp-{uuid.uuid4().hex[:10]}" for _ in range(40)]
    replies: dict[str, dict[str, Any]] = {}
    for user in users:
        replies[user] = await chat(client, tenant, QUESTION, user=user)
        status = (
            await client.get(f"/v1/tenants/{tenant.slug}/experiments/{experiment['id']}", headers=tenant.headers)
        ).json()
        if status["status"] != "running":
            break
        # A customer keeps their arm on a later turn.
        if not replies[user]["handoff"]:
            await chat(client, tenant, "gracias", user=user)
    assert status["status"] == "stopped", status
    assert "handoff_rate" in status["stop_reason"]
    arms = {a["arm"]: a for a in status["arms"]}
    assert arms["A"]["handoff_rate"]["value"] == 0 and arms["B"]["handoff_rate"]["value"] == 1
    assert arms["A"]["turns"] >= 5 and arms["B"]["conversations"] >= 5
    low, high = arms["B"]["handoff_rate"]["ci95"]
    assert 0 < low < high <= 1
    assert status["likelihood_ratio"] >= 20

    # Arms are stable per customer and match the customers' experience.
    per_conversation = await _arms(experiment["id"])
    assert all(len(a) == 1 for a in per_conversation.values())
    async with session_scope() as session:
        row = await session.get(Experiment, uuid.UUID(experiment["id"]))
        assert row is not None
        for user, reply in replies.items():
            arm = experiments_service.assign(row, customer_key(user))
            assert arm == experiments_service.assign(row, customer_key(user))
            assert per_conversation[reply["conversation_id"]] == {arm}
            assert reply["handoff"] == (arm == "B")

        # Rolled back: a new customer who would be in arm B gets arm A's answer, and no arm is recorded.
        fresh = next(
            u for u in (f"exp-{uuid.uuid4().hex[:10]}" for _ in range(200)) if experiments_service.assign(row, u) == "B"
        )
    after = await chat(client, tenant, QUESTION, user=fresh)
    assert not after["handoff"] and "9 a 18" in after["reply"]
    assert after["conversation_id"] not in await _arms(experiment["id"])

    stopped = await receiver.wait_for("alert.opened")
    assert stopped[0].json["data"]["kind"] == "experiment_stopped"
    assert notify_service.verify(secret, stopped[0].body, stopped[0].headers["X-Signature-256"])


async def test_promote_makes_arm_b_the_default_and_bad_variants_name_the_field(client: Any) -> None:
    tenant = await make_tenant(client)
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/experiments",
        json={"name": "bad", "variant": {"tone": "rude"}},
        headers=tenant.headers,
    )
    assert r.status_code == 422 and "variant" in r.text
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/experiments",
        json={"name": "bad model", "variant": {"default_model": "no-such-model"}},
        headers=tenant.headers,
    )
    assert r.status_code == 422 and "variant" in r.text
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/experiments",
        json={"name": "formal", "variant": {"tone": "formal"}},
        headers=tenant.headers,
    )
    assert r.status_code == 201
    second = await client.post(
        f"/v1/tenants/{tenant.slug}/experiments",
        json={"name": "again", "variant": {"tone": "casual"}},
        headers=tenant.headers,
    )
    assert second.status_code == 409
    promoted = await client.post(
        f"/v1/tenants/{tenant.slug}/experiments/{r.json()['id']}/promote", headers=tenant.headers
    )
    assert promoted.status_code == 200 and promoted.json()["status"] == "promoted"
    config = (await client.get(f"/v1/tenants/{tenant.slug}/agent-config", headers=tenant.headers)).json()
    assert config["tone"] == "formal"


@pytest.fixture
async def plain_tenant(client: Any) -> str:
    return (await make_tenant(client)).slug


def test_experiment_cli_start_show_stop(plain_tenant: str, cli: Cli) -> None:
    slug = plain_tenant
    out = cli.ok("experiment", "start", slug, "--name", "casual", "--variant", '{"tone": "casual"}', "--split", "0.3")
    assert "running" in out
    experiment_id = out.split()[0]
    assert "casual" in cli.ok("experiment", "show", slug, experiment_id)
    assert "ended" in cli.ok("experiment", "stop", slug, experiment_id)
    assert "ended" in cli.ok("experiment", "list", slug)
    result = cli.invoke("experiment", "start", slug, "--name", "x", "--variant", "[1]")
    assert result.exit_code == 2 and "JSON object" in result.output
