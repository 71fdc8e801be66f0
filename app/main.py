"""The FastAPI application: API, webhooks, health."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.alerts.router import router as alerts_router
from app.catalog.router import router as catalog_router
from app.concierge.router import router as concierge_router
from app.console.router import router as console_router
from app.conversations import service as conversation_service
from app.conversations.router import router as conversations_router
from app.core.config import get_settings
from app.core.context import RequestIdMiddleware
from app.core.db import database_unreachable, dispose_engine, get_engine, session_scope
from app.core.errors import UnhandledErrors, error_body, install_error_handlers, refuse_nul
from app.core.heap import freeze_startup_heap
from app.core.logging import configure_logging
from app.core.spool import get_spool
from app.experiments.router import router as experiments_router
from app.feedback.router import router as feedback_router
from app.finance.router import router as finance_router
from app.flows.conversation import receive_spooled
from app.knowledge.embeddings import describe, get_embedder
from app.knowledge.router import router as knowledge_router
from app.leads.router import router as leads_router
from app.llm.tracing import flush_traces
from app.messaging.router import router as messaging_router
from app.metrics_router import HttpMetrics
from app.metrics_router import router as metrics_router
from app.operators.router import router as operators_router
from app.tenants.router import platform_router
from app.tenants.router import router as tenants_router
from app.usage.router import router as usage_router
from app.webhooks import WhatsAppFastPath
from app.webhooks import router as channels_router

log = logging.getLogger(__name__)


class BodySizeLimit:
    """Answer 413 for request bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        too_large = False
        response_started = False

        async def limited() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if too_large:
                return  # the app's own error for the interrupted body is replaced by the 413 below
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, limited, guarded_send)
        if too_large and not response_started:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            error_body(
                "payload_too_large", f"Request body exceeds {self.max_bytes} bytes", {"max_bytes": self.max_bytes}
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class AgentAPI(FastAPI):
    """The application: FastAPI, with the inbound WhatsApp webhook answered by ``whatsapp`` when it is set.

    That webhook is every inbound message, and an opening burst of them must be acknowledged within
    milliseconds; ``app.webhooks.WhatsAppFastPath`` answers it as the route would, for less CPU.
    """

    whatsapp: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.whatsapp is not None and WhatsAppFastPath.handles(scope):
            await self.whatsapp(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    # The API never defers through procrastinate (the webhook writes its job row in SQL), so it
    # opens no queue connections of its own.
    configure_logging()
    log.info("knowledge embeddings: %s", describe(get_embedder()))
    await warm_up_pool()
    freeze_startup_heap()  # full collections then walk only what serving creates, not the ~280,000 start-up objects
    # Messages spooled while the database was unreachable are ingested, in order, once it answers again.
    drainer = asyncio.create_task(get_spool().drain_forever(receive_spooled, transient=database_unreachable))
    yield
    drainer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await drainer
    # Chat turns are traced from this process too: send what is still buffered (bounded wait).
    await asyncio.to_thread(flush_traces)
    await dispose_engine()


async def warm_up_pool() -> None:
    """Open the pool's connections now, with the webhook's statements planned on each, so the first burst of
    webhooks pays neither for connecting nor for planning."""
    settings = get_settings()

    async def touch() -> None:
        async with get_engine().connect() as conn:
            await conn.execute(text("SELECT 1"))
            await conversation_service.prepare_ingest((await conn.get_raw_connection()).driver_connection)
            await asyncio.sleep(0.05)  # hold it so the others open their own connection

    try:
        await asyncio.gather(*(touch() for _ in range(settings.db_pool_size)))
    except Exception as exc:  # noqa: BLE001  (readiness reports a database problem; startup goes on)
        log.warning("connection pool warm-up failed: %s", type(exc).__name__)


# Schema version, workers with a fresh heartbeat, and the age of the oldest due job still waiting (from its due
# time, or from its "deferred" event when it was due at once); the partial index on todo/doing jobs covers it.
_READINESS_SQL = text(
    """
    SELECT (SELECT version_num FROM alembic_version) AS schema,
           (SELECT count(*) FROM procrastinate_workers
             WHERE last_heartbeat > now() - make_interval(secs => :heartbeat)) AS workers,
           (SELECT coalesce(max(extract(epoch FROM now() - coalesce(j.scheduled_at, (
                       SELECT min(e.at) FROM procrastinate_events e
                        WHERE e.job_id = j.id AND e.type = 'deferred')))), 0)
              FROM procrastinate_jobs j
             WHERE j.status = 'todo' AND coalesce(j.scheduled_at, now()) <= now()) AS oldest_due
    """
)


def _heartbeat_window() -> float:
    # With the check off, any registered worker counts (the query still runs: one shape, one plan).
    return get_settings().ready_worker_heartbeat_seconds or 1e9


def _not_ready_reason(*, workers: int, oldest_due: float) -> str | None:
    """Why the deployment cannot answer messages now (None when it can)."""
    settings = get_settings()
    if settings.ready_worker_heartbeat_seconds and workers == 0:
        return f"no queue worker heartbeat in the last {settings.ready_worker_heartbeat_seconds:g} s"
    if settings.ready_max_queue_age_seconds and oldest_due > settings.ready_max_queue_age_seconds:
        return f"the oldest due job has waited {oldest_due:.0f} s (over {settings.ready_max_queue_age_seconds:g} s)"
    return None


def create_app() -> FastAPI:
    """Build the application."""
    settings = get_settings()
    app = AgentAPI(
        title="WhatsApp sales, support and concierge agent",
        version="0.1.0",
        description="Webhooks for Twilio WhatsApp and an HTTP API for tenants, chat, catalog and knowledge.",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],  # every route: NUL in path, query or JSON body is a 422, not a 500
    )
    install_error_handlers(app)
    for router in (tenants_router, conversations_router, catalog_router, knowledge_router, channels_router):
        app.include_router(router)
    app.include_router(usage_router)
    app.include_router(feedback_router)
    app.include_router(alerts_router)
    app.include_router(experiments_router)
    app.include_router(leads_router)
    app.include_router(finance_router)
    app.include_router(concierge_router)
    app.include_router(messaging_router)
    app.include_router(platform_router)
    app.include_router(metrics_router)
    app.include_router(operators_router)
    app.include_router(console_router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """The database answers, its schema is migrated, a queue worker's heartbeat is fresh and no due job
        has waited too long (503 with the reason otherwise)."""
        try:
            async with session_scope() as session:
                row = (await session.execute(_READINESS_SQL, {"heartbeat": _heartbeat_window()})).one()
        except Exception as exc:  # noqa: BLE001  (any failure means "not ready")
            log.warning("readiness check failed: %s", type(exc).__name__)
            return JSONResponse(error_body("not_ready", "database unavailable or not migrated"), status_code=503)
        reason = _not_ready_reason(workers=int(row.workers), oldest_due=float(row.oldest_due))
        if reason is not None:
            details = {"schema": row.schema, "workers": int(row.workers), "oldest_due_seconds": float(row.oldest_due)}
            return JSONResponse(error_body("not_ready", reason, details), status_code=503)
        return JSONResponse({"status": "ready", "schema": row.schema})

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    # An unexpected error: the 500 envelope, logged once with the request's ids, the connection kept open.
    app.add_middleware(UnhandledErrors)
    # Outermost: counts and times every answer, the 413s above and the error handlers' included.
    app.add_middleware(HttpMetrics)
    # Outermost of all: every line of the request, uvicorn's access line too, carries its id.
    app.add_middleware(RequestIdMiddleware)
    # The inbound WhatsApp webhook, ahead of FastAPI's layers, with the same request id and metrics.
    app.whatsapp = RequestIdMiddleware(HttpMetrics(WhatsAppFastPath()))
    return app
