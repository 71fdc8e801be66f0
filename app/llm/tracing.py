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

Privacy: run inputs and outputs are the graph's state, and LangChain copies scalar ``configurable``
values (``thread_id`` included) into every run's metadata. Keep raw phone numbers out of both; use
``customer_hash``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.runnables import RunnableConfig
from langchain_core.tracers.langchain import LangChainTracer
from langsmith import Client, RunTree

__all__ = [
    "DEFAULT_API_URL",
    "annotate_trace",
    "customer_hash",
    "flush_traces",
    "tracing_callbacks",
]

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.smith.langchain.com"
_CUSTOMER_HASH_PREFIX = b"wa-agent/customer/v1\x00"
_NUMBER_NOISE = re.compile(r"[\s\-().]")

_clients: dict[tuple[str, str], Client] = {}
_clients_lock = threading.Lock()


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
                client = Client(api_url=key[0], api_key=api_key, tracing_mode="langsmith")
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


def flush_traces(timeout: float = 5.0) -> None:
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
