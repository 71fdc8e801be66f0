"""The conversation's job on the queue (procrastinate on the application's PostgreSQL).

One job per conversation burst: the job is scheduled ``BURST_WINDOW_SECONDS`` after a message,
and a queueing lock folds later messages of the burst into it, each pushing the due time to a
window after itself (at most ``BURST_MAX_SECONDS`` after the oldest unanswered message). The job lock keeps one
conversation's jobs strictly sequential, across any number of workers.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from app.channels.sender import get_sender
from app.flows import conversation as flows

log = logging.getLogger(__name__)

blueprint = procrastinate.Blueprint()
NAMESPACE = "agent"
MAX_ATTEMPTS = 10


# No procrastinate retry strategy: putting a failed job back to "todo" collides with the queueing
# lock whenever a newer message already queued a job for the conversation, and the failed job would
# stay "doing" forever, blocking that conversation. A failure instead queues a fresh job with
# backoff; when a job is already waiting, that job resumes everything from the database.
@blueprint.task(name="process_conversation")
async def process_conversation(tenant_id: str, conversation_id: str, attempt: int = 0) -> None:
    """Answer a conversation's pending WhatsApp messages and deliver the reply."""
    try:
        await flows.process_whatsapp(
            tenant_id=uuid.UUID(tenant_id), conversation_id=uuid.UUID(conversation_id), sender=get_sender()
        )
    except Exception:
        if attempt + 1 >= MAX_ATTEMPTS:
            log.exception("conversation %s failed %d times; left for the recovery pass", conversation_id, attempt + 1)
            return
        delay = min(2.0 ** (attempt + 1), 300.0)
        log.warning(
            "conversation %s failed (attempt %d); retrying in %.0f s",
            conversation_id,
            attempt + 1,
            delay,
            exc_info=True,
        )
        await enqueue_conversation(
            tenant_id=uuid.UUID(tenant_id),
            conversation_id=uuid.UUID(conversation_id),
            delay_seconds=delay,
            attempt=attempt + 1,
        )


async def enqueue_conversation(
    *, tenant_id: uuid.UUID, conversation_id: uuid.UUID, delay_seconds: float, attempt: int = 0
) -> bool:
    """Queue processing of a conversation; False when a not-yet-started job already covers it."""
    lock = flows.conversation_lock(conversation_id)
    schedule_at = datetime.now(UTC) + timedelta(seconds=delay_seconds) if delay_seconds > 0 else None
    task = process_conversation.configure(lock=lock, queueing_lock=lock, schedule_at=schedule_at)
    try:
        extra = {"attempt": attempt} if attempt else {}
        await task.defer_async(tenant_id=str(tenant_id), conversation_id=str(conversation_id), **extra)
    except AlreadyEnqueued:
        return False
    return True
