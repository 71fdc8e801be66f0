"""A turn's LangSmith trace stays small whatever the stock, and a dead endpoint never holds a turn up.

Traces go to the local LangSmith recorder (tests/fakes) through the settings a deployment uses
(``LANGSMITH_TRACING``, ``LANGSMITH_ENDPOINT``); the catalog is imported through the catalog service.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import langsmith.utils
import pytest

from app.catalog import service as catalog_service
from app.core.config import get_settings
from app.core.db import session_scope
from app.flows import conversation as flows
from app.llm.tracing import flush_traces
from app.tenants import service as tenant_service
from tests.fakes.langsmith_recorder import LangSmithRecorder
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers import ai_tenant, chat, grounded, make_tenant

DEMO_CARS = Path(__file__).parents[2] / "app" / "demo" / "data" / "cars.csv"
TRACE_BUDGET = 50_000  # bytes of run data one turn may send to LangSmith
QUESTION = "busco un Toyota Corolla automático"


def big_catalog_csv(rows: int) -> bytes:
    """``rows`` cars: the demo stock repeated with fresh stock ids and shifted prices."""
    with DEMO_CARS.open(encoding="utf-8", newline="") as handle:
        demo = list(csv.DictReader(handle))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(demo[0]))
    writer.writeheader()
    for n in range(rows):
        car = dict(demo[n % len(demo)])
        car["stock_id"] = f"BIG-{n:06d}"
        car["price"] = str(int(car["price"]) + (n // len(demo)) * 100)
        writer.writerow(car)
    return out.getvalue().encode()


def trace_bytes(recorder: LangSmithRecorder, trace_id: str) -> int:
    """The size of everything recorded for one trace's runs, as JSON."""
    return sum(len(json.dumps(run, default=str).encode()) for run in recorder.trace(trace_id))


def trace_finished(recorder: LangSmithRecorder) -> bool:
    """One root run, ended, and every run of its trace ended too."""
    roots = recorder.traces()
    if len(roots) != 1 or not roots[0].get("end_time"):
        return False
    return all(run.get("end_time") for run in recorder.trace(roots[0]["id"]))


def use_langsmith(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """Turns trace to ``endpoint`` from now on (settings read afresh)."""
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.setenv("LANGSMITH_ENDPOINT", endpoint)
    monkeypatch.setenv("LANGSMITH_API_KEY", "ls-test-key")
    monkeypatch.setenv("LANGSMITH_PROJECT", "trace-size")
    get_settings.cache_clear()


@pytest.fixture
def settings_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A monkeypatch whose environment changes are undone, and settings re-read, after the test."""
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()
    # LangChain decides whether to add its own tracer from LANGSMITH_TRACING, read through this cache.
    langsmith.utils.get_env_var.cache_clear()


@pytest.fixture
def recorder() -> Iterator[LangSmithRecorder]:
    """A fresh recorder (a new URL, so a new LangSmith client) per test."""
    with LangSmithRecorder() as fake:
        yield fake


@pytest.fixture(scope="module")
async def big_stock(client: Any) -> str:
    """A tenant with 50,000 cars, imported through the catalog service; returns its slug."""
    tenant = await make_tenant(client)
    data = big_catalog_csv(50_000)
    async with session_scope() as session:
        result = await catalog_service.import_catalog_csv(session, tenant_id=uuid.UUID(tenant.id), data=data)
    assert result.rows == 50_000
    return tenant.slug


async def traced_turn(recorder: LangSmithRecorder, slug: str) -> tuple[flows.ChatResult, list[dict[str, Any]], int]:
    """One chat turn traced to ``recorder``: its result, its runs and their size in bytes."""
    async with session_scope() as session:
        tenant = await tenant_service.require_tenant(session, slug=slug)
    result = await flows.chat(tenant=tenant, user=f"trace-{uuid.uuid4().hex[:10]}", text=QUESTION)
    await asyncio.to_thread(flush_traces, 10)
    await recorder.wait_for_async(trace_finished, timeout=10)
    [root] = recorder.traces()
    return result, recorder.trace(root["id"]), trace_bytes(recorder, root["id"])


@pytest.mark.parametrize("stock", ["demo", "50k"])
async def test_turn_trace_is_small_and_names_the_cars_shown(
    stock: str,
    demo: dict[str, Any],
    big_stock: str,
    recorder: LangSmithRecorder,
    settings_restored: pytest.MonkeyPatch,
) -> None:
    use_langsmith(settings_restored, recorder.base_url)
    slug = "demo" if stock == "demo" else big_stock

    result, runs, size = await traced_turn(recorder, slug)

    print(f"\ntrace of one turn, {stock} stock: {size:,} bytes in {len(runs)} runs")
    outcome = result.outcome
    assert outcome is not None and outcome.agent == "catalog"
    assert outcome.items, outcome.reply
    assert size < TRACE_BUDGET
    names = {run["name"] for run in runs}
    assert {"turn", "load_context", "classify", "route", "catalog", "compose", "persist"} <= names
    catalog_run = next(run for run in runs if run["name"] == "catalog")
    shown = json.dumps(catalog_run.get("outputs"), default=str)
    assert all(stock_id in shown for stock_id in outcome.items)
    assert recorder.errors == []


async def test_llm_turn_trace_keeps_the_model_calls_and_stays_small(
    client: Any, openai_fake: FakeOpenAIServer, recorder: LangSmithRecorder, settings_restored: pytest.MonkeyPatch
) -> None:
    openai_fake.set_responder(grounded)
    tenant = await ai_tenant(client)
    use_langsmith(settings_restored, recorder.base_url)

    reply = await chat(client, tenant, "¿tienen un Jetta 2019 y a cuánto quedaría a 48 meses?")
    await asyncio.to_thread(flush_traces, 10)
    await recorder.wait_for_async(trace_finished, timeout=10)

    assert reply["tier"] == "llm" and reply["items"]
    [root] = recorder.traces()
    runs = recorder.trace(root["id"])
    size = trace_bytes(recorder, root["id"])
    print(f"\ntrace of one LLM-tier turn: {size:,} bytes in {len(runs)} runs")
    assert size < TRACE_BUDGET
    [model_run] = [run for run in runs if run["run_type"] == "llm"]
    assert "Jetta" in json.dumps(model_run["inputs"])  # the prompt and tool results are kept, not summarised
    assert all(stock_id in json.dumps(root["outputs"]) for stock_id in reply["items"])


class BlackHole:
    """A TCP server that accepts connections and never answers (a hung LangSmith endpoint)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="black-hole", daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["black-hole", "closed-port"])
def dead_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """A LangSmith endpoint that hangs, or refuses connections."""
    if request.param == "closed-port":
        yield f"http://127.0.0.1:{closed_port()}"
        return
    with BlackHole() as hole:
        yield f"http://127.0.0.1:{hole.port}"


@pytest.fixture
async def warm(demo: dict[str, Any]) -> AsyncIterator[None]:
    """One untraced turn first, so the timed one measures tracing rather than the first load of the catalog."""
    async with session_scope() as session:
        tenant = await tenant_service.require_tenant(session, slug="demo")
    await flows.chat(tenant=tenant, user=f"warm-{uuid.uuid4().hex[:10]}", text=QUESTION)
    yield


async def test_dead_endpoint_neither_slows_a_turn_nor_holds_the_flush(
    dead_endpoint: str, warm: None, settings_restored: pytest.MonkeyPatch
) -> None:
    use_langsmith(settings_restored, dead_endpoint)
    async with session_scope() as session:
        tenant = await tenant_service.require_tenant(session, slug="demo")

    started = time.monotonic()
    result = await flows.chat(tenant=tenant, user=f"dead-{uuid.uuid4().hex[:10]}", text=QUESTION)
    turn_seconds = time.monotonic() - started
    assert result.outcome is not None and result.outcome.items
    assert turn_seconds < 2.0

    started = time.monotonic()
    await asyncio.to_thread(flush_traces, 0.5)
    assert time.monotonic() - started < 1.0
