"""/metrics: the series an operator reads move after a WhatsApp turn, the queue gauge comes from the database,
the endpoint is protected as documented, and no label carries a phone number, an id or a raw path.

The worker runs in the test process (tests/conftest.py), so the API's registry holds the worker's series too.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import text

from app.core.config import get_settings
from app.core.db import session_scope
from app.core.jobrows import queue_job
from app.core.metrics import serve_metrics
from app.llm.health import CircuitPolicy, HealthBoard
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import (
    ai_tenant,
    chat,
    grounded,
    make_tenant,
    new_number,
    post_whatsapp,
    say_on_whatsapp,
    wait_for_bodies,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
METRICS_TOKEN = "metrics-token-0123456789"


def letters() -> str:
    """A unique name part without digits (other tests' probes must not look like phone numbers or ids)."""
    return uuid.uuid4().hex[:10].translate(str.maketrans("0123456789", "ghijklmnop"))


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text page, keyed by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and labels.items() <= dict(sample_labels).items()
    )


async def scrape(client: Any) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def scrape_until(client: Any, ready: Callable[[Samples], bool], within: float = 10.0) -> Samples:
    """Scrape until ``ready`` holds (worker-side series move a moment after the reply reaches Twilio)."""
    deadline = time.monotonic() + within
    while True:
        samples = await scrape(client)
        if ready(samples) or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.05)


async def test_a_whatsapp_turn_moves_the_operator_series(
    client: Any, worker: None, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await make_tenant(client)
    customer = new_number()
    before = await scrape(client)

    await say_on_whatsapp(client, tenant, customer, "hola, ¿qué horario tienen?", fake_twilio)

    def moved(s: Samples) -> bool:
        return total(s, "agent_jobs_total", task="agent:process_conversation", outcome="succeeded") > total(
            before, "agent_jobs_total", task="agent:process_conversation", outcome="succeeded"
        )

    after = await scrape_until(client, moved)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("agent_webhook_acks_total", result="accepted") == 1
    assert delta("agent_turns_total", channel="whatsapp") == 1
    assert delta("agent_turns_total", channel="whatsapp", tier="offline") == 1
    assert delta("agent_twilio_sends_total", status="queued", error_code="") >= 1
    webhook = {"method": "POST", "route": "/webhooks/twilio/whatsapp"}
    assert delta("agent_http_requests_total", status="200", **webhook) == 1
    assert delta("agent_http_request_duration_seconds_count", **webhook) == 1
    assert delta("agent_http_request_duration_seconds_bucket", le="+Inf", **webhook) == 1
    assert delta("agent_turn_duration_seconds_count", channel="whatsapp") == 1
    assert delta("agent_jobs_total", task="agent:process_conversation", outcome="succeeded") >= 1
    assert delta("agent_job_duration_seconds_count", task="agent:process_conversation") >= 1
    assert delta("agent_job_wait_seconds_count", task="agent:process_conversation") >= 1

    # A redelivered webhook is acknowledged as a duplicate; a bad signature is refused.
    sid = "SM" + uuid.uuid4().hex
    for _ in range(2):
        r = await post_whatsapp(client, to=tenant.number, from_=customer, body="gracias", sid=sid)
        assert r.status_code == 200
    refused = await post_whatsapp(client, to=tenant.number, from_=customer, body="x", signature="bad")
    assert refused.status_code == 403
    await wait_for_bodies(fake_twilio, customer, 2)
    final = await scrape(client)
    assert (
        total(final, "agent_webhook_acks_total", result="duplicate")
        - total(after, "agent_webhook_acks_total", result="duplicate")
        == 1
    )
    assert (
        total(final, "agent_webhook_acks_total", result="refused")
        - total(after, "agent_webhook_acks_total", result="refused")
        == 1
    )


async def test_a_refused_twilio_send_is_counted_with_its_error_code(
    client: Any, worker: None, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await make_tenant(client)
    before = await scrape(client)
    fake_twilio.fail_next(400, 63016)  # outside the 24-hour window: not retryable

    r = await post_whatsapp(client, to=tenant.number, from_=new_number(), body="hola")
    assert r.status_code == 200

    def failed(s: Samples) -> float:
        return total(s, "agent_twilio_sends_total", status="failed", error_code="63016")

    after = await scrape_until(client, lambda s: failed(s) > failed(before))
    assert failed(after) - failed(before) == 1


async def test_llm_calls_tokens_cost_and_errors_are_counted_by_provider_and_model(
    client: Any, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.fail_next(2, status=500)  # both attempts on the first model, then the next one answers
    openai_fake.set_responder(grounded)
    tenant = await ai_tenant(client)
    before = await scrape(client)

    reply = await chat(client, tenant, "¿tienen Toyota Corolla?")
    assert reply["tier"] == "llm" and reply["model"] == "gpt-4.1-mini"
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    first, second = {"provider": "openai", "model": "gpt-4o-mini"}, {"provider": "openai", "model": "gpt-4.1-mini"}
    assert delta("agent_llm_errors_total", error="server_error", **first) == 1
    assert delta("agent_llm_calls_total", outcome="error", **first) == 1
    assert delta("agent_llm_calls_total", outcome="success", **second) == 1
    assert delta("agent_llm_tokens_total", direction="input", **second) == reply["usage"]["input_tokens"]
    assert delta("agent_llm_tokens_total", direction="output", **second) == reply["usage"]["output_tokens"]
    assert delta("agent_llm_cost_usd_total", **second) == pytest.approx(reply["usage"]["cost_usd"])
    assert delta("agent_turns_total", channel="api", tier="llm", outcome="answered") == 1
    assert delta("agent_http_requests_total", route="/v1/tenants/{slug}/chat", status="200") == 1
    assert total(after, "agent_llm_circuit_state", provider="openai", agent_llm_circuit_state="closed") == 1


async def test_the_circuit_state_of_a_provider_is_published(client: Any) -> None:
    board = HealthBoard(CircuitPolicy(failures_to_open=2, cooldown_seconds=60))
    provider = f"probe_{letters()}"
    board[provider].record(False)
    board[provider].record(False)
    samples = await scrape(client)
    assert total(samples, "agent_llm_circuit_state", provider=provider, agent_llm_circuit_state="open") == 1
    assert total(samples, "agent_llm_circuit_state", provider=provider, agent_llm_circuit_state="closed") == 0


async def test_queue_depth_is_read_from_the_database_at_scrape_time(client: Any) -> None:
    task = f"metrics:probe_{letters()}"
    async with session_scope() as session:
        # Due in an hour: no worker takes it while the test reads the gauge.
        await queue_job(session, task=task, args={}, lock=task, queueing_lock=task, delay_seconds=3600)
    samples = await scrape(client)
    assert total(samples, "agent_metrics_db_up") == 1
    assert total(samples, "agent_queue_jobs", task=task, status="todo") == 1
    assert total(samples, "agent_queue_oldest_due_seconds", task=task) == 0  # not due yet

    async with session_scope() as session:
        await session.execute(text("DELETE FROM procrastinate_jobs WHERE task_name = :t"), {"t": task})
    samples = await scrape(client)
    assert (("agent_queue_jobs", (("status", "todo"), ("task", task)))) in samples  # a known task reports 0
    assert total(samples, "agent_queue_jobs", task=task, status="todo") == 0
    assert "agent_concierge_shortlists_sent" in {name for name, _ in samples}


async def test_a_slow_database_never_fails_the_scrape(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "metrics_db_timeout_seconds", 0.000001)
    samples = await scrape(client)
    assert total(samples, "agent_metrics_db_up") == 0
    assert not any(name == "agent_queue_jobs" for name, _ in samples)
    assert any(name == "agent_http_requests_total" for name, _ in samples)  # the process's series still there


async def test_the_token_guards_metrics(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "metrics_token", SecretStr(METRICS_TOKEN))
    assert (await client.get("/metrics")).status_code == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"
    ok = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert ok.status_code == 200
    assert "agent_http_requests_total" in ok.text

    # Production without a token: not exposed at all.
    monkeypatch.setattr(settings, "metrics_token", None)
    monkeypatch.setattr(settings, "environment", "production")
    assert (await client.get("/metrics")).status_code == 404


async def test_no_label_carries_a_phone_number_an_id_or_a_raw_path(
    client: Any, worker: None, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await make_tenant(client)
    customer = new_number()
    await say_on_whatsapp(client, tenant, customer, "quiero hablar con un asesor", fake_twilio)
    probe_id = uuid.uuid4().hex
    assert (await client.get(f"/v1/tenants/{tenant.slug}/conversations", headers=tenant.headers)).status_code == 200
    assert (await client.get(f"/no/such/{probe_id}")).status_code == 404

    response = await client.get("/metrics")
    labels = [s.labels for family in text_string_to_metric_families(response.text) for s in family.samples]
    values = {value for sample_labels in labels for value in sample_labels.values()}
    digits = [re.sub(r"\D", "", number) for number in (customer, tenant.number)]
    forbidden = [*digits, tenant.slug, tenant.id, probe_id]
    assert not [v for v in values for f in forbidden if f in v], values
    assert not [v for v in values if re.search(r"\d{8,}|[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{32}", v)], values
    routes = {sample_labels["route"] for sample_labels in labels if "route" in sample_labels}
    assert {"/v1/tenants/{slug}/conversations", "/webhooks/twilio/whatsapp", "unmatched"} <= routes


async def test_a_worker_serves_its_series_on_its_own_port() -> None:
    port = _free_port()
    stop = serve_metrics(host="127.0.0.1", port=port)
    try:
        async with httpx2.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{port}/metrics")
    finally:
        stop()
    assert response.status_code == 200
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"agent_turns", "agent_llm_calls", "agent_twilio_sends", "agent_jobs"} <= names


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
