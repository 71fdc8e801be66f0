"""End to end through real processes: ``agentctl serve`` and ``agentctl worker`` against the session's database.

The subprocesses inherit the session's environment (conftest): the same embedded PostgreSQL
(DATA_DIR), the fake Twilio (TWILIO_API_BASE_URL) and PUBLIC_BASE_URL, so webhooks are signed as in
the in-process tests and posted to the API's real port. The tests are synchronous on purpose: the
session's event loop (and an in-process worker that other tests may have started in it) stays idle,
so only the subprocess workers take jobs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.e2e.procs import (
    STATUS_PATH,
    Stack,
    agentctl,
    free_port,
    run_agentctl,
    wait_until,
)
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import DEMO_NUMBER, PUBLIC_URL, TWILIO_SID, new_number, post_webhook, sign

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def conninfo(migrated: None) -> str:
    """libpq string of the session's embedded database (already running in this process)."""
    from app.core.db import libpq_conninfo

    return libpq_conninfo()


@pytest.fixture(scope="module")
def seeded(conninfo: str) -> None:
    """The demo tenant, seeded by the CLI as an operator would (idempotent)."""
    run_agentctl("seed", env=dict(os.environ))


@pytest.fixture
def customers(conninfo: str) -> Iterator[list[str]]:
    """Customers a test writes as; after the test (and its processes) any work left over is dropped.

    A failed crash test may leave a job stuck or a part pending; left alone, the recovery of later
    tests' workers would pick it up and send stray replies into their fake Twilio.
    """
    used: list[str] = []
    yield used
    if used:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            ids = [
                str(row[0])
                for row in conn.execute(
                    "SELECT c.id FROM conversations AS c JOIN tenants AS t ON t.id = c.tenant_id "
                    "WHERE t.slug = 'demo' AND c.customer = ANY(%s)",
                    ([c.removeprefix("whatsapp:") for c in used],),
                )
            ]
            conn.execute(
                "DELETE FROM procrastinate_jobs "
                "WHERE status IN ('todo', 'doing') AND args->>'conversation_id' = ANY(%s)",
                (ids,),
            )
            conn.execute(
                "UPDATE messages SET status = 'failed' WHERE conversation_id::text = ANY(%s) "
                "AND status IN ('received', 'pending')",
                (ids,),
            )


@pytest.fixture(scope="module")
def api(seeded: None, conninfo: str, data_dir: Path) -> Iterator[Stack]:
    """The API as a subprocess, shared by the module's tests; stopped (SIGTERM, then SIGKILL) at the end."""
    env = {"BURST_WINDOW_SECONDS": "0", "STALLED_JOB_SECONDS": "5", "LOG_LEVEL": "INFO"}
    with Stack(log_dir=data_dir / "e2e-logs" / uuid.uuid4().hex[:8], env=env, conninfo=conninfo) as running:
        running.start(workers=0, timeout=90)
        yield running


@pytest.fixture
def stack(api: Stack, customers: list[str]) -> Iterator[Stack]:
    """The shared API plus one worker of this test's own; the test's workers are stopped after it."""
    api.wait_ready(timeout=30)
    api.start_worker(timeout=90)
    try:
        yield api
    finally:
        api.stop_workers()


def conversation_rows(conninfo: str, customer: str) -> dict[str, list[dict[str, Any]]]:
    """The customer's messages (in order) and turns with the demo tenant."""
    with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as conn:
        messages = conn.execute(
            "SELECT m.direction, m.status, m.provider_sid, m.turn_id, m.part_index, m.body FROM messages AS m "
            "JOIN conversations AS c ON c.id = m.conversation_id JOIN tenants AS t ON t.id = c.tenant_id "
            "WHERE t.slug = 'demo' AND c.customer = %s ORDER BY m.id",
            (customer.removeprefix("whatsapp:"),),
        ).fetchall()
        turns = conn.execute(
            "SELECT tu.id, tu.reply FROM turns AS tu JOIN conversations AS c ON c.id = tu.conversation_id "
            "JOIN tenants AS t ON t.id = c.tenant_id WHERE t.slug = 'demo' AND c.customer = %s ORDER BY tu.id",
            (customer.removeprefix("whatsapp:"),),
        ).fetchall()
    return {"messages": list(messages), "turns": list(turns)}


def test_signed_webhook_is_answered_by_the_running_worker(
    stack: Stack, fake_twilio: FakeTwilioServer, conninfo: str, customers: list[str]
) -> None:
    customer = new_number()
    customers.append(customer)
    response = post_webhook(stack, customer=customer, body="¿Cuál es su horario?")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Response" in response.text and "<Message" not in response.text

    [reply] = wait_until(lambda: fake_twilio.messages_to(customer), timeout=30, what="the reply", stack=stack)
    assert reply["from_"] == DEMO_NUMBER
    assert reply["account_sid"] == TWILIO_SID
    assert "lunes a viernes de 9:00 a 19:00" in reply["body"], reply["body"]
    assert reply["status_callback"] == PUBLIC_URL + STATUS_PATH

    def outbound_stored() -> list[dict[str, Any]]:
        rows = conversation_rows(conninfo, customer)["messages"]
        return [m for m in rows if m["direction"] == "outbound" and m["provider_sid"]]

    [outbound] = wait_until(outbound_stored, timeout=10, what="the outbound row's SID", stack=stack)
    assert outbound["provider_sid"] == reply["sid"]
    assert outbound["status"] == "queued"
    assert outbound["body"] == reply["body"]
    rows = conversation_rows(conninfo, customer)
    assert [m["status"] for m in rows["messages"] if m["direction"] == "inbound"] == ["processed"]
    assert len(rows["turns"]) == 1
    assert outbound["turn_id"] == rows["turns"][0]["id"]

    # Twilio's delivery callback, signed, to the running API.
    params = {
        "MessageSid": reply["sid"],
        "MessageStatus": "delivered",
        "From": DEMO_NUMBER,
        "To": customer,
        "AccountSid": TWILIO_SID,
    }
    with httpx2.Client(base_url=stack.url, timeout=10) as http:
        callback = http.post(STATUS_PATH, data=params, headers={"X-Twilio-Signature": sign(STATUS_PATH, params)})
    assert callback.status_code == 204, callback.text
    [after] = [m for m in conversation_rows(conninfo, customer)["messages"] if m["direction"] == "outbound"]
    assert (after["provider_sid"], after["status"]) == (reply["sid"], "delivered")
    assert len(fake_twilio.messages_to(customer)) == 1


def test_worker_killed_mid_send_still_yields_exactly_one_reply(
    stack: Stack, fake_twilio: FakeTwilioServer, conninfo: str, customers: list[str]
) -> None:
    customer = new_number()
    customers.append(customer)
    fake_twilio.hold()
    assert post_webhook(stack, customer=customer, body="¿tienen Mazda 3?").status_code == 200

    # The worker has committed the turn and is inside the send: Twilio has the request, no answer yet.
    held = wait_until(lambda: fake_twilio.held, timeout=30, what="the worker's send attempt", stack=stack)
    assert [h["params"]["To"] for h in held] == [customer]
    rows = conversation_rows(conninfo, customer)
    assert len(rows["turns"]) == 1
    assert [(m["direction"], m["status"]) for m in rows["messages"]] == [
        ("inbound", "processed"),
        ("outbound", "sending"),  # committed before the request left; the next worker looks in Twilio's list first
    ]

    [worker] = stack.workers
    assert stack.kill(worker, signal.SIGKILL) == -signal.SIGKILL
    fake_twilio.release()  # the held send is answered to nobody and never recorded
    time.sleep(0.3)
    assert fake_twilio.messages_to(customer) == []
    assert [a for a in fake_twilio.attempts if a["params"].get("To") == customer] == []

    # A replacement worker; 5 s is the smallest STALLED_JOB_SECONDS the settings accept.
    stack.start_worker(env={"STALLED_JOB_SECONDS": "5"}, timeout=60)
    [reply] = wait_until(
        lambda: fake_twilio.messages_to(customer), timeout=45, what="the reply after recovery", stack=stack
    )
    assert "Mazda 3" in reply["body"], reply["body"]
    time.sleep(6)  # past another recovery tick (every 5 s): still exactly one reply
    assert len(fake_twilio.messages_to(customer)) == 1, [m["body"][:60] for m in fake_twilio.messages_to(customer)]
    assert len([a for a in fake_twilio.attempts if a["params"].get("To") == customer]) == 1

    rows = conversation_rows(conninfo, customer)
    assert len(rows["turns"]) == 1
    inbound = [m for m in rows["messages"] if m["direction"] == "inbound"]
    outbound = [m for m in rows["messages"] if m["direction"] == "outbound"]
    assert [m["status"] for m in inbound] == ["processed"]
    assert [(m["provider_sid"], m["status"]) for m in outbound] == [(reply["sid"], "queued")]
    assert inbound[0]["turn_id"] == outbound[0]["turn_id"] == rows["turns"][0]["id"]


def test_worker_killed_mid_send_with_a_newer_message_queued_answers_both_once(
    stack: Stack, fake_twilio: FakeTwilioServer, conninfo: str, customers: list[str]
) -> None:
    """The customer writes again while the reply is on its way, then the worker dies.

    The second message queues a job behind the running one (same conversation lock and queueing
    lock). After the crash the stalled job must still be recoverable: the first reply is sent
    exactly once and the second message gets its own single reply.
    """
    customer = new_number()
    customers.append(customer)
    fake_twilio.hold()
    assert post_webhook(stack, customer=customer, body="¿tienen Mazda 3?").status_code == 200
    wait_until(lambda: fake_twilio.held, timeout=30, what="the worker's send attempt", stack=stack)
    assert post_webhook(stack, customer=customer, body="¿cuál es su horario?").status_code == 200
    rows = conversation_rows(conninfo, customer)
    assert [(m["direction"], m["status"]) for m in rows["messages"]] == [
        ("inbound", "processed"),
        ("outbound", "sending"),
        ("inbound", "received"),
    ]

    [worker] = stack.workers
    assert stack.kill(worker, signal.SIGKILL) == -signal.SIGKILL
    fake_twilio.release()
    stack.start_worker(env={"STALLED_JOB_SECONDS": "5"}, timeout=60)

    def both_replies() -> list[dict[str, Any]]:
        sent = fake_twilio.messages_to(customer)
        return sent if len(sent) >= 2 else []

    replies = wait_until(both_replies, timeout=45, what="both replies after recovery", stack=stack)
    assert "Mazda 3" in replies[0]["body"], replies[0]["body"]
    assert "lunes a viernes" in replies[1]["body"], replies[1]["body"]
    time.sleep(6)  # past another recovery tick
    assert len(fake_twilio.messages_to(customer)) == 2
    rows = conversation_rows(conninfo, customer)
    assert len(rows["turns"]) == 2
    assert [m["status"] for m in rows["messages"] if m["direction"] == "inbound"] == ["processed", "processed"]
    assert [m["provider_sid"] for m in rows["messages"] if m["direction"] == "outbound"] == [r["sid"] for r in replies]


def test_fake_hold_never_records_a_request_whose_client_went_away(fake_twilio: FakeTwilioServer) -> None:
    fake_twilio.hold()
    form = {"To": "whatsapp:+5215500000000", "From": DEMO_NUMBER, "Body": "hola"}
    with httpx2.Client(timeout=0.5, auth=(fake_twilio.account_sid, fake_twilio.auth_token)) as http:
        with pytest.raises(httpx2.TimeoutException):
            http.post(fake_twilio.messages_url, data=form)
        assert len(fake_twilio.held) == 1
        fake_twilio.release()
        time.sleep(0.3)
        assert fake_twilio.messages == [] and fake_twilio.attempts == []
        # Released: sends go through again.
        sent = http.post(fake_twilio.messages_url, data=form)
    assert sent.status_code == 201
    assert [m["sid"] for m in fake_twilio.messages] == [sent.json()["sid"]]
    assert len(fake_twilio.held) == 1


def test_llm_tier_answers_through_the_real_worker_process(
    api: Stack, fake_twilio: FakeTwilioServer, conninfo: str, customers: list[str]
) -> None:
    """A worker process configured with an OpenAI-compatible endpoint answers with the model's words."""
    from tests.fakes.openai_server import FakeOpenAIServer, Reply, tool_call

    def model(body: dict[str, Any]) -> Reply:
        import json

        cars = [c for m in body["messages"] if m["role"] == "tool" for c in json.loads(m["content"]).get("cars", [])]
        listing = "; ".join(f"{c['make']} {c['model']} {c['year']} a ${c['price']:,.0f}" for c in cars[:2])
        return tool_call(
            "respond",
            {
                "reply": f"¡Claro! Te recomiendo: {listing}.",
                "intents": [{"name": "catalog", "confidence": 0.9}],
                "confidence": 0.9,
                "stock_ids": [c["stock_id"] for c in cars[:2]],
            },
        )

    customer = new_number()
    customers.append(customer)
    with FakeOpenAIServer(responder=model) as fake:
        run_agentctl("tenant", "enable", "demo", env=dict(os.environ))
        api.wait_ready(timeout=30)
        api.start_worker(env={"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "e2e"}, timeout=90)
        try:
            assert post_webhook(api, customer=customer, body="¿tienen Mazda 3?").status_code == 200
            [reply] = wait_until(lambda: fake_twilio.messages_to(customer), timeout=30, what="the reply", stack=api)
        finally:
            api.stop_workers()
            run_agentctl("tenant", "disable", "demo", env=dict(os.environ))
    assert reply["body"].startswith("¡Claro! Te recomiendo: Mazda") and "Mazda 3 2024 a $485,900" in reply["body"]
    assert fake.request_count == 1 and fake.requests[0].model == "gpt-4o-mini"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        [(tier, model_name, calls)] = conn.execute(
            "SELECT tu.tier, tu.model, tu.llm_calls FROM turns AS tu JOIN conversations AS c "
            "ON c.id = tu.conversation_id WHERE c.customer = %s",
            (customer.removeprefix("whatsapp:"),),
        ).fetchall()
    assert (tier, model_name, calls) == ("llm", "gpt-4o-mini", 1)


def test_chat_through_a_running_server_is_the_same_conversation(api: Stack) -> None:
    """`agentctl chat --server URL` runs its turns in the API process, with the in-process chat's output."""
    api.wait_ready(timeout=30)
    user = f"cli-server-{uuid.uuid4().hex[:8]}"
    out = run_agentctl(
        "chat", "demo", "--server", api.url, "--user", user, "-m", "hola", "-m", "¿tienen Mazda?", "--json",
        env=dict(os.environ),
    )  # fmt: skip
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert [line["agent"] for line in lines] == ["smalltalk", "catalog"]
    assert lines[1]["items"] and all(f"({stock_id})" in lines[1]["reply"] for stock_id in lines[1]["items"])
    assert set(lines[0]) == {"reply", "agent", "intent", "items", "quote", "tier", "model", "routing_reason", "usage",
                             "latency_ms"}  # fmt: skip
    # The same customer id continues the same conversation in process: the history has both turns.
    text = run_agentctl("chat", "demo", "--user", user, "-m", "gracias", env=dict(os.environ))
    assert "demo> " in text
    with psycopg.connect(api.conninfo or "", autocommit=True) as conn:
        turns = conn.execute(
            "SELECT count(*) FROM turns AS tu JOIN conversations AS c ON c.id = tu.conversation_id "
            "WHERE c.customer = %s",
            (user,),
        ).fetchone()
    assert turns is not None and turns[0] == 3


def test_chat_through_a_server_reports_a_bad_key_and_a_dead_server(api: Stack) -> None:
    api.wait_ready(timeout=30)
    env = dict(os.environ)
    refused = subprocess.run(
        agentctl("chat", "demo", "--server", api.url, "--key", "wrong-key-0123456789", "-m", "hola"),
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 1 and "401" in refused.stderr
    dead = subprocess.run(
        agentctl("chat", "demo", "--server", f"http://127.0.0.1:{free_port()}", "-m", "hola"),
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert dead.returncode == 1 and "did not answer" in dead.stderr
