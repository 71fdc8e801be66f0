"""LangSmith tracing for turns: callbacks for the graph, mid-turn metadata on the root run, flushing.

Nothing happens at import time and nothing is read from the environment here: the caller passes the
values from settings. One ``langsmith.Client`` per destination (in practice one per process) is
created lazily on first use and reused; each call to ``tracing_callbacks`` gets a fresh, cheap
``LangChainTracer`` bound to it.

    callbacks = tracing_callbacks(enabled=s.langsmith_tracing, api_url=s.langsmith_endpoint,
                                  api_key=key, project=s.langsmith_project)
    await graph.ainvoke(state, config={"callbacks": callbacks, "run_name": "turn",
                                       "metadata": {"tenant": slug, "customer": customer_hash(number)}})

    # in a graph node, once the tier / model / intents are known:
    annotate_trace(config, tier="llm", model="gpt-4o-mini")

    flush_traces()  # at shutdown (from async code: await asyncio.to_thread(flush_traces))

Size: every node's run records the whole graph state as its inputs, and its update as outputs. The
client passes both through ``trace_view`` (``hide_inputs``/``hide_outputs``): a type registered with
``trace_view.register`` shows its summary (ids, scores, what was decided), a DataFrame only its shape,
text over ``MAX_TRACE_TEXT`` characters and lists over ``MAX_TRACE_ITEMS`` items are cut. Keep heavy
objects (the catalog) out of the state altogether: summarising them still costs a copy per node.

A dead endpoint: the SDK's upload threads are daemons with bounded timeouts, so neither a turn nor the
process's exit waits for them; ``flush_traces`` (at CLI exit, API and worker shutdown) gives pending
uploads a deadline, and whatever is left then is dropped with a warning.

Privacy: run inputs and outputs are the graph's state, and LangChain copies scalar ``configurable``
values (``thread_id`` included) into every run's metadata. Keep raw phone numbers out of both; use
``customer_hash``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.load.serializable import Serializable
from langchain_core.runnables import RunnableConfig
from langchain_core.tracers.langchain import LangChainTracer
from langsmith import Client, RunTree
from pydantic import BaseModel
from urllib3.util.retry import Retry  # the type langsmith.Client takes (urllib3 comes with its requests)

__all__ = [
    "DEFAULT_API_URL",
    "annotate_trace",
    "customer_hash",
    "flush_traces",
    "trace_view",
    "tracing_callbacks",
]

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.smith.langchain.com"
_CUSTOMER_HASH_PREFIX = b"wa-agent/customer/v1\x00"
_NUMBER_NOISE = re.compile(r"[\s\-().]")

MAX_TRACE_TEXT = 4_000  # characters of one string in a trace (a reply, a prompt, a knowledge entry)
MAX_TRACE_ITEMS = 50  # items of one list in a trace
# (connect, read) milliseconds per upload: the SDK's defaults (10 s, 60 s) keep a dead endpoint's
# requests open for minutes; uploads run in background threads, so short ones cost a turn nothing.
_TIMEOUT_MS = (2_000, 5_000)
FLUSH_SECONDS = 2.0  # what a CLI exit or a shutdown waits, at most, for pending uploads

_clients: dict[tuple[str, str], Client] = {}
_clients_lock = threading.Lock()


@functools.singledispatch
def trace_view(value: Any) -> Any:
    """How ``value`` appears in a trace; register a type's summary with ``@trace_view.register``."""
    if isinstance(value, Serializable):
        return value  # LangChain messages and documents: the SDK serialises them its own way
    if isinstance(value, BaseModel):
        return trace_view(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: trace_view(getattr(value, f.name)) for f in dataclasses.fields(value)}
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "columns"):  # a DataFrame: never its rows
        return {"rows": shape[0], "columns": len(value.columns)}
    return value


@trace_view.register
def _(value: str) -> str:
    if len(value) <= MAX_TRACE_TEXT:
        return value
    return f"{value[:MAX_TRACE_TEXT]}… [{len(value) - MAX_TRACE_TEXT} more characters]"


@trace_view.register(dict)
def _(value: dict[Any, Any]) -> dict[Any, Any]:
    return {key: trace_view(item) for key, item in value.items()}


@trace_view.register(list)
@trace_view.register(tuple)
def _(value: list[Any] | tuple[Any, ...]) -> list[Any]:
    shown = [trace_view(item) for item in value[:MAX_TRACE_ITEMS]]
    if len(value) > MAX_TRACE_ITEMS:
        shown.append(f"… [{len(value) - MAX_TRACE_ITEMS} more items]")
    return shown


def _lean(payload: dict[str, Any]) -> dict[str, Any]:
    """A run's inputs or outputs as the trace records them (the client's hide_inputs/hide_outputs)."""
    try:
        return {key: trace_view(value) for key, value in payload.items()}
    except Exception:  # a trace must never break a turn: record less rather than fail
        logger.warning("trace payload not summarised; keys only", exc_info=True)
        return {key: type(value).__name__ for key, value in payload.items()}


class _DaemonClient(Client):
    """A client whose upload threads never keep the process alive (the SDK's are non-daemon by default).

    The SDK reads ``_use_daemon_threads`` once, from LANGSMITH_USE_DAEMON, in ``__init__`` before it
    starts its threads; this fixes it to True without touching the process environment. Pending runs
    are then flushed explicitly, with a deadline (``flush_traces``).
    """

    @property
    def _use_daemon_threads(self) -> bool:
        return True

    @_use_daemon_threads.setter
    def _use_daemon_threads(self, value: bool) -> None:
        pass


def _retries() -> Retry:
    """The SDK's retry policy with one retry instead of three, so a refused upload gives up in ~0.2 s."""
    return Retry(
        total=1,
        backoff_factor=0.2,
        status_forcelist=[408, 425, 429, 500, 502, 503, 504],
        allowed_methods=None,  # uploads are POSTs; the run ids make them idempotent
        raise_on_redirect=False,
        raise_on_status=False,
        respect_retry_after_header=False,  # a long Retry-After would hold the flush at exit
    )


def _client(api_url: str, api_key: str) -> Client | None:
    """The cached client for this destination, created on first use; None if it cannot be created."""
    key = (api_url.rstrip("/"), api_key)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            try:
                # Explicit values everywhere the SDK would otherwise fall back to LANGSMITH_* variables:
                # an empty key (not None) stops the LANGSMITH_API_KEY / CLI-profile fallback, and
                # tracing_mode stops OTEL variables from diverting runs away from LangSmith.
                client = _DaemonClient(
                    api_url=key[0],
                    api_key=api_key,
                    tracing_mode="langsmith",
                    timeout_ms=_TIMEOUT_MS,
                    retry_config=_retries(),
                    hide_inputs=_lean,
                    hide_outputs=_lean,
                )
            except Exception:
                logger.warning("LangSmith tracing disabled: cannot create a client for %s", key[0], exc_info=True)
                return None
            _clients[key] = client
        return client


def tracing_callbacks(
    *, enabled: bool, api_url: str | None, api_key: str | None, project: str
) -> list[BaseCallbackHandler]:
    """Callbacks that trace a run to ``project`` at ``api_url``, or ``[]`` when tracing is disabled.

    Put the result in ``config["callbacks"]``. The destination never comes from LANGSMITH_ENDPOINT,
    LANGSMITH_API_KEY or LANGSMITH_PROJECT; ``api_url=None`` means LangSmith's hosted API. Note that
    LangChain still adds its own environment-configured tracer when LANGSMITH_TRACING=true and no
    tracer is passed, so ``enabled=False`` only means "this module sends nothing".
    """
    if not enabled:
        return []
    client = _client(api_url or DEFAULT_API_URL, api_key or "")
    if client is None:
        return []
    return [LangChainTracer(client=client, project_name=project)]


def _root_run(config: RunnableConfig) -> RunTree | None:
    """The outermost run this config's tracer still holds for the current trace, if any."""
    callbacks = config.get("callbacks")
    if not isinstance(callbacks, BaseCallbackManager) or callbacks.parent_run_id is None:
        return None  # not inside a traced run (e.g. the config given to invoke(), or no callbacks)
    handlers: Iterable[BaseCallbackHandler] = (*callbacks.handlers, *callbacks.inheritable_handlers)
    for handler in handlers:
        if not isinstance(handler, LangChainTracer):
            continue
        run_map = handler.run_map  # shared by every copy of the tracer, holds the runs still open
        run = run_map.get(str(callbacks.parent_run_id))
        if run is None:
            continue
        root = run_map.get(str(run.trace_id))
        if root is not None:
            return root
        # The trace's root belongs to someone else (e.g. an outer @traceable): take the outermost open run.
        for _ in range(len(run_map)):
            parent = run_map.get(str(run.parent_run_id)) if run.parent_run_id is not None else None
            if parent is None:
                break
            run = parent
        return run
    return None


def annotate_trace(config: RunnableConfig, *, tags: Iterable[str] = (), **metadata: Any) -> bool:
    """Add metadata (and tags) to the root run of the trace that ``config`` belongs to.

    Call it from a graph node (or anything running inside the traced turn) with the ``config`` it
    received. The root run is still open then, and LangChainTracer sends its whole ``extra`` (so its
    metadata) and its tags again when it ends, so the values reach LangSmith with the root's final
    update. Returns True if a root run was annotated; a no-op returning False when tracing is off,
    when ``config`` is not inside a traced run, or when the root has already ended.
    """
    if not metadata and not tags:
        return False
    root = _root_run(config)
    if root is None:
        return False
    if metadata:
        current: Mapping[str, Any] = root.extra.get("metadata") or {}
        # A new dict rather than update(): the old one may be shared with other runs.
        root.extra["metadata"] = {**current, **metadata}
    if tags:
        root.tags = sorted({*(root.tags or []), *tags})
    return True


def customer_hash(number: str, *, secret: str | bytes | None = None) -> str:
    """A stable, short, non-reversible id for a customer's phone number (16 hex characters).

    ``whatsapp:+52 1 55 1234-5678`` and ``+5215512345678`` give the same id. Without ``secret`` it is
    SHA-256 over an app-specific prefix: it cannot be reversed directly, but phone numbers are few
    enough to enumerate; pass a server-side ``secret`` (HMAC-SHA256) where that matters.
    """
    normalized = _NUMBER_NOISE.sub("", number.strip())
    if normalized.lower().startswith("whatsapp:"):
        normalized = normalized[len("whatsapp:") :]
    if not normalized:
        raise ValueError("customer_hash needs a phone number")
    data = normalized.encode()
    if secret:
        key = secret.encode() if isinstance(secret, str) else secret
        return hmac.new(key, data, hashlib.sha256).hexdigest()[:16]
    return hashlib.sha256(_CUSTOMER_HASH_PREFIX + data).hexdigest()[:16]


def flush_traces(timeout: float = FLUSH_SECONDS) -> None:
    """Wait, at most ``timeout`` seconds in all, until queued trace uploads have been sent.

    Blocking: from async code use ``await asyncio.to_thread(flush_traces)``. Each client is flushed in
    a daemon thread, so an unreachable endpoint (or a stuck SDK thread) cannot hold the caller longer
    than ``timeout``; whatever is still pending then is logged and left to the SDK's own threads.
    """
    with _clients_lock:
        clients = list(_clients.values())
    deadline = time.monotonic() + max(timeout, 0.0)
    for client in clients:
        remaining = max(deadline - time.monotonic(), 0.0)
        worker = threading.Thread(
            target=client.flush, kwargs={"timeout": remaining}, name="langsmith-flush", daemon=True
        )
        worker.start()
        worker.join(remaining)
        if worker.is_alive():
            logger.warning("LangSmith traces not fully sent to %s within %.1fs", client.api_url, timeout)
