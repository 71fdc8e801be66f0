"""The worker: the job queue (procrastinate on the application's PostgreSQL) with every domain's tasks,
the recovery pass behind the webhook's enqueue, and the wiring of the conversation flow's dispatchers.

The conversation's own job lives in ``app.flows.jobs``; each domain's jobs in its ``jobs`` module.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import procrastinate
import psycopg
import psycopg_pool
from procrastinate.exceptions import UniqueViolation
from procrastinate.job_context import JobContext
from procrastinate.jobs import Status
from procrastinate.middleware import AsyncCallNext
from procrastinate.worker import Worker
from sqlalchemy import select, text

from app.alerts.jobs import alerts_blueprint
from app.channels.sender import close_sender
from app.concierge.jobs import concierge_blueprint, dispatch_vendor_message
from app.conversations.models import UNFINISHED, Message
from app.core import context as log_context
from app.core.config import get_settings
from app.core.db import database_unreachable, libpq_conninfo, session_scope
from app.core.heap import freeze_startup_heap
from app.core.metrics import record_job
from app.core.spool import get_spool
from app.feedback.jobs import feedback_blueprint
from app.flows import conversation as flows
from app.flows import jobs as conversation_jobs
from app.flows.jobs import enqueue_conversation
from app.knowledge.embeddings import describe, get_embedder
from app.knowledge.jobs import knowledge_blueprint
from app.llm.providers import get_registry
from app.llm.tracing import flush_traces
from app.notify.jobs import notify_blueprint
from app.operators.jobs import operators_blueprint
from app.usage.jobs import usage_blueprint

log = logging.getLogger(__name__)

blueprint = procrastinate.Blueprint()


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
                    text(f"({UNFINISHED})"),  # parenthesised: it is an OR inside this AND
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


async def bind_job_ids(call_next: AsyncCallNext, context: JobContext, worker: Worker) -> Any:
    """Worker middleware: the job's id, and its tenant and conversation if it names them, on every line it logs."""
    kwargs = context.job.task_kwargs
    with log_context.bound(
        job_id=context.job.id, tenant_id=kwargs.get("tenant_id"), conversation_id=kwargs.get("conversation_id")
    ):
        return await call_next()


async def _check_idle_connection(conn: psycopg.AsyncConnection[Any]) -> None:
    """The queue pool's check of a connection it hands out, without a round trip.

    procrastinate's default (psycopg_pool's ``check_connection``) sends an empty query on every checkout:
    two of a job's four queue round trips. An idle connection whose server stopped or restarted has
    already been closed by it, so reading what is waiting on the socket (nothing, or the end of the
    stream) tells a dead one apart for free; a dead connection raises, and the pool replaces it.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    conn.pgconn.consume_input()  # raises OperationalError when the server has closed the connection
    if conn.pgconn.status != psycopg.pq.ConnStatus.OK:
        raise psycopg.OperationalError("the connection is broken")


def _queue_pool(**kwargs: Any) -> psycopg_pool.AsyncConnectionPool[Any]:
    """procrastinate's connection pool, with the check above in place of its round-trip check."""
    return psycopg_pool.AsyncConnectionPool(**{**kwargs, "check": _check_idle_connection})


@lru_cache
def get_queue() -> procrastinate.App:
    """The procrastinate app bound to the application's database, with the flow's dispatchers wired."""
    flows.set_inbound_dispatchers([dispatch_vendor_message])
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=libpq_conninfo(), min_size=4, max_size=10, pool_factory=_queue_pool
        ),
        # Every worker started from this app (the CLI's, the tests') puts the job's ids on its log lines,
        # and times and counts its jobs by task.
        worker_defaults={"worker_middleware": [bind_job_ids, record_job]},
    )
    app.add_tasks_from(conversation_jobs.blueprint, namespace=conversation_jobs.NAMESPACE)
    app.add_tasks_from(blueprint, namespace="agent")
    app.add_tasks_from(usage_blueprint, namespace="usage")
    app.add_tasks_from(knowledge_blueprint, namespace="knowledge")
    app.add_tasks_from(concierge_blueprint, namespace="concierge")
    app.add_tasks_from(notify_blueprint, namespace="notify")
    app.add_tasks_from(operators_blueprint, namespace="operators")
    app.add_tasks_from(alerts_blueprint, namespace="alerts")
    app.add_tasks_from(feedback_blueprint, namespace="feedback")
    return app


async def run_worker(*, concurrency: int | None = None) -> None:
    """Run a worker until SIGINT/SIGTERM, recovering stalled work at start."""
    settings = get_settings()
    app = get_queue()
    async with app.open_async():
        try:
            # Messages an API process of this host spooled while the database was down (the API drains too).
            spooled = await get_spool().drain(flows.receive_spooled, transient=database_unreachable)
            log.info("worker starting; spooled messages ingested: %d; recovery: %s", spooled, await recover())
            providers = sorted(get_registry().configured)
            log.info("LLM providers: %s", ", ".join(providers) or "none (the offline tier answers every turn)")
            log.info("knowledge embeddings: %s", describe(get_embedder()))
        except Exception:  # a failed recovery pass must not stop the worker; the periodic one retries
            log.exception("startup recovery failed")
        freeze_startup_heap()  # see app.core.heap: the agents' imports are most of a full collection's walk
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
