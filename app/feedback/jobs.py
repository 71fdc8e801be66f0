"""The job that records a customer's 👍/👎 (or a 👎's reason) in LangSmith (``feedback:send``), registered by
the worker.

Queued in the transaction that stores the answer (app.feedback.service.capture), so the customer's turn never
waits on LangSmith; a failure is retried with exponential backoff (4 s, 16 s, 64 s ...), and the feedback's
deterministic id keeps a retry from recording it twice.
"""

from __future__ import annotations

import procrastinate

from app.core.config import get_settings
from app.core.db import session_scope
from app.feedback import service
from app.feedback.langsmith import send_feedback

feedback_blueprint = procrastinate.Blueprint()


@feedback_blueprint.task(name="send", retry=procrastinate.RetryStrategy(max_attempts=6, exponential_wait=4))
async def send(feedback_id: int, reason: bool = False) -> None:
    """Send one answer's score (or, with ``reason``, its reason) as feedback on the rated turn's run."""
    if not get_settings().langsmith_tracing:
        return
    async with session_scope() as session:
        found = await service.for_langsmith(session, feedback_id=feedback_id)
    if found is None:  # erased since, or the turn was not traced
        return
    row, tenant = found
    if row.run_id is None or (reason and row.reason is None):
        return
    await send_feedback(
        row.run_id, score=None if reason else row.score, reason=row.reason if reason else None, tenant=tenant
    )
