"""LangSmith tracing of a LangGraph turn, checked at a local recorder of LangSmith's ingestion API."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import pandas as pd
import pytest
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from app.llm.tracing import annotate_trace, customer_hash, flush_traces, trace_view, tracing_callbacks
from tests.fakes.langsmith_recorder import LangSmithRecorder

RAW_NUMBER = "+5215512345678"
PROJECT = "wa-agent-tests"
API_KEY = "ls-test-key"
ANNOTATION = {"intents": ["catalog", "finance"], "tier": "llm", "model": "gpt-4o-mini", "prompt_version": "abc123"}


class Turn(TypedDict, total=False):
    text: str
    intents: list[str]
    reply: str


async def load_context(state: Turn) -> dict[str, Any]:
    return {"text": state["text"].strip()}


async def classify(state: Turn, config: RunnableConfig) -> dict[str, Any]:
    assert annotate_trace(config, **ANNOTATION) is tracing_on(config)
    return {"intents": ANNOTATION["intents"]}


async def compose(state: Turn, config: RunnableConfig) -> dict[str, Any]:
    # Deeper inside the turn (a runnable within a node) still reaches the trace's root.
    def finish(text: str, config: RunnableConfig) -> str:
        assert annotate_trace(config, tags=["answered"], composed=True) is tracing_on(config)
        return text

    await RunnableLambda(finish).ainvoke(state["text"], config)
    return {"reply": f"Sobre {' y '.join(state['intents'])}: con gusto."}


def tracing_on(config: RunnableConfig) -> bool:
    return bool(config.get("metadata", {}).get("tracing_on"))


def build_graph() -> Any:
    graph = StateGraph(Turn)
    graph.add_node("load_context", load_context)
    graph.add_node("classify", classify)
    graph.add_node("compose", compose)
    graph.add_edge(START, "load_context")
    graph.add_edge("load_context", "classify")
    graph.add_edge("classify", "compose")
    graph.add_edge("compose", END)
    return graph.compile()


def turn_config(callbacks: list[Any], conversation_id: str) -> RunnableConfig:
    return {
        "callbacks": callbacks,
        "run_name": "turn",
        "metadata": {
            "tenant": "demo",
            "conversation_id": conversation_id,
            "customer": customer_hash(RAW_NUMBER),
            "tracing_on": bool(callbacks),
        },
        "tags": ["tenant:demo", "tier:offline"],
    }


def turn_done(recorder: LangSmithRecorder) -> bool:
    """One finished root with its three finished node runs (and the compose node's inner run)."""
    roots = recorder.traces()
    return (
        len(roots) == 1
        and bool(roots[0].get("end_time"))
        and len(recorder.trace(roots[0]["id"])) == 5
        and all(run.get("end_time") for run in recorder.trace(roots[0]["id"]))
    )


@pytest.fixture
def recorder(request: pytest.FixtureRequest) -> Iterator[LangSmithRecorder]:
    """A fresh recorder per test: a new URL, so app.llm.tracing builds (and caches) a new client for it."""
    ingest, zstd = getattr(request, "param", ("multipart", True))
    with LangSmithRecorder(ingest="batch" if ingest == "batch" else "multipart", zstd=zstd) as fake:
        yield fake


@pytest.fixture(autouse=True)
def no_ambient_langsmith(monkeypatch: pytest.MonkeyPatch) -> None:
    """LangChain adds its own tracer when LANGSMITH_TRACING=true; keep the environment out of the way."""
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGSMITH_RUNS_ENDPOINTS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    "recorder",
    [("multipart", True), ("multipart", False), ("batch", False)],
    ids=["multipart-zstd", "multipart-plain", "batch"],
    indirect=True,
)
async def test_turn_is_one_trace_with_node_runs_and_root_metadata(recorder: LangSmithRecorder) -> None:
    conversation_id = str(uuid.uuid4())
    callbacks = tracing_callbacks(enabled=True, api_url=recorder.base_url, api_key=API_KEY, project=PROJECT)

    result = await build_graph().ainvoke({"text": " hola "}, config=turn_config(callbacks, conversation_id))
    await asyncio.to_thread(flush_traces, 5)
    await recorder.wait_for_async(turn_done, timeout=5)

    assert result["reply"].startswith("Sobre catalog y finance")
    [root] = recorder.traces()
    assert root["name"] == "turn"
    assert root["session_name"] == PROJECT
    assert [run["name"] for run in recorder.children(root["id"])] == ["load_context", "classify", "compose"]
    assert all(run["trace_id"] == root["id"] for run in recorder.trace(root["id"]))

    metadata = root["extra"]["metadata"]
    expected = {"tenant": "demo", "conversation_id": conversation_id, "customer": customer_hash(RAW_NUMBER)}
    assert metadata | expected | ANNOTATION | {"composed": True} == metadata
    assert {"tenant:demo", "tier:offline", "answered"} <= set(root["tags"])
    # Mid-turn metadata goes to the root only; the nodes keep the turn's own metadata.
    for child in recorder.children(root["id"]):
        assert "tier" not in child["extra"]["metadata"]
        assert child["extra"]["metadata"]["conversation_id"] == conversation_id

    # The root's last update carries everything, so it holds whether the server merges or replaces extra.
    last_extra = [payload["extra"] for _, payload in recorder.ops_for(root["id"]) if payload.get("extra")][-1]
    assert last_extra["metadata"] | expected | ANNOTATION == last_extra["metadata"]

    assert RAW_NUMBER not in recorder.payload_text()
    assert RAW_NUMBER.lstrip("+") not in recorder.payload_text()
    ingest = [r for r in recorder.requests if r.path.startswith("/runs")]
    assert ingest
    assert {r.headers.get("x-api-key") for r in ingest} == {API_KEY}
    assert recorder.errors == []


async def test_annotation_reaches_a_root_already_sent(recorder: LangSmithRecorder) -> None:
    """The root's POST leaves at its start; metadata decided later travels in its PATCH."""

    async def decide(state: Turn, config: RunnableConfig) -> dict[str, Any]:
        await recorder.wait_for_async(lambda r: len(r.traces()) == 1, timeout=5)
        assert annotate_trace(config, tier="llm", model="gpt-4o-mini")
        return {}

    graph = StateGraph(Turn)
    graph.add_node("decide", decide)
    graph.add_edge(START, "decide")
    graph.add_edge("decide", END)
    callbacks = tracing_callbacks(enabled=True, api_url=recorder.base_url, api_key=API_KEY, project=PROJECT)

    await graph.compile().ainvoke({"text": "hola"}, config=turn_config(callbacks, str(uuid.uuid4())))
    await asyncio.to_thread(flush_traces, 5)
    await recorder.wait_for_async(lambda r: bool(r.traces() and r.traces()[0].get("end_time")), timeout=5)

    [root] = recorder.traces()
    ops = recorder.ops_for(root["id"])
    assert [kind for kind, _ in ops] == ["post", "patch"]
    assert "tier" not in ops[0][1]["extra"]["metadata"]
    assert (
        ops[1][1]["extra"]["metadata"] | {"tenant": "demo", "tier": "llm", "model": "gpt-4o-mini"}
        == (ops[1][1]["extra"]["metadata"])
    )


async def test_disabled_tracing_sends_nothing(recorder: LangSmithRecorder) -> None:
    callbacks = tracing_callbacks(enabled=False, api_url=recorder.base_url, api_key=API_KEY, project=PROJECT)
    assert callbacks == []

    result = await build_graph().ainvoke({"text": "hola"}, config=turn_config(callbacks, str(uuid.uuid4())))
    await asyncio.to_thread(flush_traces, 2)
    await asyncio.sleep(0.3)  # longer than the SDK's batching interval (0.25 s)

    assert result["reply"]
    # Not even GET /info: a langsmith.Client fetches it as soon as it exists, so none was created.
    assert recorder.requests == []


async def test_destination_ignores_langsmith_environment(
    recorder: LangSmithRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.setenv("LANGSMITH_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("LANGSMITH_API_KEY", "env-key")
    monkeypatch.setenv("LANGSMITH_PROJECT", "env-project")
    callbacks = tracing_callbacks(enabled=True, api_url=recorder.base_url, api_key=API_KEY, project=PROJECT)

    await build_graph().ainvoke({"text": "hola"}, config=turn_config(callbacks, str(uuid.uuid4())))
    await asyncio.to_thread(flush_traces, 5)
    await recorder.wait_for_async(turn_done, timeout=5)

    assert {run["session_name"] for run in recorder.runs.values()} == {PROJECT}
    assert {r.headers.get("x-api-key") for r in recorder.requests if r.path.startswith("/runs")} == {API_KEY}


async def test_annotate_trace_outside_a_traced_run_is_a_no_op() -> None:
    assert annotate_trace({}, tier="llm") is False
    assert annotate_trace({"callbacks": []}, tier="llm") is False
    disabled = tracing_callbacks(enabled=False, api_url=None, api_key=None, project="p")
    assert annotate_trace({"callbacks": disabled}, tier="llm") is False


async def test_flush_traces_is_bounded(recorder: LangSmithRecorder) -> None:
    callbacks = tracing_callbacks(enabled=True, api_url=recorder.base_url, api_key=API_KEY, project=PROJECT)
    await build_graph().ainvoke({"text": "hola"}, config=turn_config(callbacks, str(uuid.uuid4())))
    recorder.delay(1.0)  # uploads arrive but are answered late: the SDK's flush() would wait for them

    started = time.monotonic()
    await asyncio.to_thread(flush_traces, 0.2)
    assert time.monotonic() - started < 0.8

    recorder.delay(0)
    await recorder.wait_for_async(turn_done, timeout=5)
    await recorder.wait_for_async(lambda r: all(req.status for req in r.requests), timeout=5)


def test_customer_hash_is_stable_short_and_hides_the_number() -> None:
    digest = customer_hash(RAW_NUMBER)
    assert len(digest) == 16
    assert int(digest, 16) >= 0
    assert customer_hash("whatsapp:+52 1 55 1234-5678") == digest
    assert customer_hash("+5215512345679") != digest
    assert RAW_NUMBER.lstrip("+")[-8:] not in digest
    keyed = customer_hash(RAW_NUMBER, secret="server-side-secret")
    assert keyed != digest
    assert keyed == customer_hash(f"whatsapp:{RAW_NUMBER}", secret=b"server-side-secret")
    with pytest.raises(ValueError):
        customer_hash("whatsapp:")


# ------------------------------------------------------------------------------ lean runs, dead endpoints


@dataclass(frozen=True)
class Stock:
    """Stands for a heavy object with a registered trace view (like the catalog)."""

    version: int
    cars: pd.DataFrame


@trace_view.register
def _stock_view(stock: Stock) -> dict[str, Any]:
    return {"version": stock.version, "cars": len(stock.cars)}


class Pick(BaseModel):
    stock_ids: list[str]
    note: str


def test_trace_view_keeps_decisions_and_summarises_bulk() -> None:
    frame = pd.DataFrame({"stock_id": [f"S-{n}" for n in range(5_000)], "price": range(5_000)})
    view = trace_view(
        {
            "stock": Stock(version=3, cars=frame),
            "frame": frame,
            "pick": Pick(stock_ids=["S-1", "S-2"], note="x" * 10_000),
            "scores": list(range(500)),
            "reason": "catalog:make+price",
        }
    )
    assert view["stock"] == {"version": 3, "cars": 5_000}
    assert view["frame"] == {"rows": 5_000, "columns": 2}
    assert view["pick"]["stock_ids"] == ["S-1", "S-2"]
    assert len(view["pick"]["note"]) < 4_100 and view["pick"]["note"].endswith("more characters]")
    assert view["scores"][:3] == [0, 1, 2] and view["scores"][-1] == "… [450 more items]"
    assert view["reason"] == "catalog:make+price"
    assert len(json.dumps(view)) < 6_000


async def test_node_runs_record_summaries_not_the_heavy_state(recorder: LangSmithRecorder) -> None:
    class Shelf(TypedDict, total=False):
        stock: Stock
        shown: list[str]

    frame = pd.DataFrame({"stock_id": [f"S-{n}" for n in range(20_000)], "blurb": ["a long description"] * 20_000})

    async def pick(state: Shelf) -> dict[str, Any]:
        return {"shown": list(state["stock"].cars["stock_id"][:3])}

    graph = StateGraph(Shelf)
    graph.add_node("pick", pick)
    graph.add_edge(START, "pick")
    graph.add_edge("pick", END)
    callbacks = tracing_callbacks(enabled=True, api_url=recorder.base_url, api_key=API_KEY, project=PROJECT)

    await graph.compile().ainvoke({"stock": Stock(version=7, cars=frame)}, config=turn_config(callbacks, "c"))
    await asyncio.to_thread(flush_traces, 5)
    await recorder.wait_for_async(lambda r: len(r.runs) == 2 and all(x.get("end_time") for x in r.runs.values()))

    [node] = [run for run in recorder.runs.values() if run["name"] == "pick"]
    assert node["inputs"]["stock"] == {"version": 7, "cars": 20_000}
    assert node["outputs"] == {"shown": ["S-0", "S-1", "S-2"]}
    assert len(recorder.payload_text()) < 20_000
    assert "a long description" not in recorder.payload_text()


_EXIT_SCRIPT = """
import asyncio, sys, time
from langchain_core.runnables import RunnableLambda
from app.llm.tracing import flush_traces, tracing_callbacks

callbacks = tracing_callbacks(enabled=True, api_url=sys.argv[1], api_key="k", project="p")
started = time.monotonic()
asyncio.run(RunnableLambda(lambda x: x).ainvoke("hola", {"callbacks": callbacks, "run_name": "turn"}))
turn = time.monotonic() - started
flush_traces(0.5)
print(f"{turn:.3f} {time.monotonic() - started:.3f}", flush=True)
"""


@pytest.fixture(params=["black-hole", "closed-port"])
def dead_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """A LangSmith endpoint that accepts connections and never answers, or refuses them."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if request.param == "closed-port":
        listener.close()
        yield f"http://127.0.0.1:{port}"
        return
    with listener:  # the kernel completes connections on the backlog; nobody ever reads them
        yield f"http://127.0.0.1:{port}"


def test_dead_endpoint_holds_neither_the_turn_nor_the_exit(dead_endpoint: str) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _EXIT_SCRIPT, dead_endpoint],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
        env={k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_"))},
    )
    exited = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    turn, flushed = (float(x) for x in done.stdout.split())
    assert turn < 0.5
    assert flushed < turn + 1.0  # flush_traces(0.5) keeps its deadline
    # Python's own start-up and imports are most of this; the SDK's threads add nothing at exit.
    assert exited - flushed < 4.0, f"exit took {exited - flushed:.1f}s after the flush"
