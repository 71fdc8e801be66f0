"""The job queue (procrastinate on the application's PostgreSQL) and its tasks.

One job per conversation burst: the job is scheduled ``BURST_WINDOW_SECONDS`` after a message,
and a queueing lock folds later messages of the burst into it, each pushing the due time to a
window after itself (at most ``BURST_MAX_SECONDS`` after the oldest unanswered message). The job lock keeps one
conversation's jobs strictly sequential, across any number of workers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.jobs import Status
from sqlalchemy import select

from agents.llm.providers import get_registry
from agents.tracing import flush_traces
from app.channels.sender import ReplySender
from app.concierge.jobs import concierge_blueprint
from app.config import get_settings
from app.conversations import flows
from app.conversations.models import Message
from app.conversations.service import JobSpec
from app.db import libpq_conninfo, session_scope
from app.knowledge.embeddings import describe, get_embedder
from app.knowledge.jobs import knowledge_blueprint
from app.usage.jobs import usage_blueprint

log = logging.getLogger(__name__)

blueprint = procrastinate.Blueprint()
_sender: ReplySender | None = None


def sender() -> ReplySender:
    """The process's reply sender (created on first use, inside the running loop)."""
    global _sender
    if _sender is None:
        _sender = ReplySender(get_settings())
    return _sender


async def close_sender() -> None:
    """Close the sender's HTTP session at shutdown."""
    global _sender
    if _sender is not None:
        await _sender.aclose()
        _sender = None


LOCK_PREFIX = "conversation:"


def _lock(conversation_id: uuid.UUID) -> str:
    return f"{LOCK_PREFIX}{conversation_id}"


def inbound_job(*, delay_seconds: float, max_delay_seconds: float) -> JobSpec:
    """The job the webhook queues in its own transaction (see conversations.service.ingest_whatsapp)."""
    task = get_queue().tasks["agent:process_conversation"]
    return JobSpec(
        queue=task.queue,
        task_name=task.name,
        lock_prefix=LOCK_PREFIX,
        delay_seconds=delay_seconds,
        max_delay_seconds=max_delay_seconds,
    )


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
            tenant_id=uuid.UUID(tenant_id), conversation_id=uuid.UUID(conversation_id), sender=sender()
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
    lock = _lock(conversation_id)
    schedule_at = datetime.now(UTC) + timedelta(seconds=delay_seconds) if delay_seconds > 0 else None
    task = process_conversation.configure(lock=lock, queueing_lock=lock, schedule_at=schedule_at)
    try:
        extra = {"attempt": attempt} if attempt else {}
        await task.defer_async(tenant_id=str(tenant_id), conversation_id=str(conversation_id), **extra)
    except AlreadyEnqueued:
        return False
    return True


async def _retry_stalled(app: procrastinate.App) -> int:
    """Put jobs of dead workers back in the queue; a job whose conversation already has a queued job
    is closed instead (that job resumes everything from the database)."""
    retried = 0
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=get_settings().stalled_job_seconds)
    for job in stalled:
        try:
            await app.job_manager.retry_job(job)
            retried += 1
            log.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        except UniqueViolation:
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
            log.warning("closed stalled job %s: a queued job already covers its conversation", job.id)
        except Exception:
            log.exception("could not recover stalled job %s", job.id)
    return retried


async def recover() -> dict[str, int]:
    """Retry jobs of dead workers and re-queue conversations left with unanswered or unsent messages."""
    stalled = await _retry_stalled(get_queue())
    # Only rows older than a live job's heartbeat allowance: younger ones belong to running jobs.
    cutoff = datetime.now(UTC) - timedelta(seconds=get_settings().stalled_job_seconds)
    async with session_scope() as session:
        rows = (
            await session.execute(
                select(Message.tenant_id, Message.conversation_id)
                .where(
                    Message.channel == "whatsapp",
                    Message.created_at < cutoff,
                    ((Message.direction == "inbound") & (Message.status == "received"))
                    | ((Message.direction == "outbound") & (Message.status == "pending")),
                )
                .distinct()
            )
        ).all()
    requeued = 0
    for tenant_id, conversation_id in rows:
        requeued += await enqueue_conversation(tenant_id=tenant_id, conversation_id=conversation_id, delay_seconds=0)
    return {"stalled": stalled, "requeued": requeued}


# Every 5 seconds (sixth cron field), deferred once per tick for the whole cluster.
@blueprint.periodic(cron="* * * * * */5", periodic_id="recover")
@blueprint.task(name="recover", queueing_lock="recover")
async def recover_periodically(timestamp: int) -> None:
    """The safety net behind the webhook's enqueue and the workers' heartbeats."""
    result = await recover()
    if any(result.values()):
        log.info("recovery: %s", result)


@lru_cache
def get_queue() -> procrastinate.App:
    """The procrastinate app bound to the application's database."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=libpq_conninfo(), min_size=4, max_size=10),
    )
    app.add_tasks_from(blueprint, namespace="agent")
    app.add_tasks_from(usage_blueprint, namespace="usage")
    app.add_tasks_from(knowledge_blueprint, namespace="knowledge")
    app.add_tasks_from(concierge_blueprint, namespace="concierge")
    return app


async def run_worker(*, concurrency: int | None = None) -> None:
    """Run a worker until SIGINT/SIGTERM, recovering stalled work at start."""
    settings = get_settings()
    app = get_queue()
    async with app.open_async():
        try:
            log.info("worker starting; recovery: %s", await recover())
            providers = sorted(get_registry().configured)
            log.info("LLM providers: %s", ", ".join(providers) or "none (the offline tier answers every turn)")
            log.info("knowledge embeddings: %s", describe(get_embedder()))
        except Exception:  # a failed recovery pass must not stop the worker; the periodic one retries
            log.exception("startup recovery failed")
        try:
            await app.run_worker_async(
                concurrency=concurrency or settings.worker_concurrency,
                name="agent-worker",
                # Burst jobs are scheduled a moment ahead; NOTIFY fires at defer time, not when
                # they become due, so poll often enough to keep the burst window's promise.
                fetch_job_polling_interval=0.25,
                update_heartbeat_interval=max(1.0, settings.stalled_job_seconds / 4),
                stalled_worker_timeout=settings.stalled_job_seconds,
                delete_jobs="successful",
            )
        finally:
            await close_sender()
            await asyncio.to_thread(flush_traces)
            await asyncio.sleep(0)
