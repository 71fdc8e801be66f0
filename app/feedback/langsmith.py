"""Customer feedback to LangSmith, as feedback on the turn's trace (its root run).

A client of its own, without background batching (``auto_batch_tracing=False``): each feedback is one
short POST made from a worker thread by the ``feedback:send`` job (app.feedback.jobs), never on the
customer's turn, with a deterministic id (the run and the key) so a retried job never records it twice.
The customer's answer is stored in our database whatever LangSmith does.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
import warnings

from langsmith import Client

from app.core.config import get_settings

SCORE_KEY = "user_score"
REASON_KEY = "user_reason"
_TIMEOUT_MS = (2_000, 5_000)
_clients: dict[tuple[str, str], Client] = {}
_lock = threading.Lock()


def _client(api_url: str, api_key: str) -> Client:
    key = (api_url.rstrip("/"), api_key)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = Client(
                api_url=key[0],
                api_key=api_key,
                auto_batch_tracing=False,
                timeout_ms=_TIMEOUT_MS,
                tracing_mode="langsmith",
            )
            _clients[key] = client
        return client


def _send(run_id: uuid.UUID, key: str, score: int | None, comment: str | None, tenant: str) -> None:
    settings = get_settings()
    api_key = settings.langsmith_api_key.get_secret_value() if settings.langsmith_api_key else ""
    client = _client(settings.langsmith_endpoint, api_key)
    with warnings.catch_warnings():
        # Run-level feedback without the project's id is still accepted by LangSmith; we don't know the id.
        warnings.simplefilter("ignore")
        client.create_feedback(
            run_id=run_id,
            trace_id=run_id,
            key=key,
            score=score,
            comment=comment,
            feedback_id=uuid.uuid5(run_id, key),
            source_info={"source": "whatsapp", "tenant": tenant},
            stop_after_attempt=1,  # the feedback:send job retries, with backoff
        )


async def send_feedback(run_id: uuid.UUID, *, score: int | None, reason: str | None = None, tenant: str) -> None:
    """Record the customer's 👍 (1) / 👎 (0), or a 👎's reason, on the turn's run; raises when LangSmith does not
    take it (the ``feedback:send`` job retries, app.feedback.jobs)."""
    key = SCORE_KEY if reason is None else REASON_KEY
    await asyncio.to_thread(_send, run_id, key, score, reason, tenant)


def export_dataset(name: str, cases: list[tuple[str, str, str]], *, description: str) -> str:
    """Write ``cases`` (id, question, expected answer) as a new LangSmith dataset; its id.

    Blocking (call it from a thread in async code). Uses the configured endpoint and key whether or not
    tracing is on: an export is an explicit request.
    """
    settings = get_settings()
    api_key = settings.langsmith_api_key.get_secret_value() if settings.langsmith_api_key else ""
    client = _client(settings.langsmith_endpoint, api_key)
    dataset = client.create_dataset(name, description=description)
    if cases:
        client.create_examples(
            dataset_id=dataset.id,
            examples=[
                {
                    "id": uuid.UUID(case_id),
                    "inputs": {"question": question},
                    "reference_outputs": {"answer": expected},
                    "metadata": {"source": "correction"},
                }
                for case_id, question, expected in cases
            ],
        )
    return str(dataset.id)
