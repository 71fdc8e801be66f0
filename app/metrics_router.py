"""GET /metrics: this API process's series, plus the deployment's queue and concierge funnel read from PostgreSQL.

Counters of the process (HTTP, webhook acks) come from prometheus_client's registry; queue depth and age and
the concierge funnel are shared by every process, so they are read from the database at scrape time, with a
bounded wait: a slow or absent database makes ``agent_metrics_db_up`` 0, never a failed scrape.

Access: with METRICS_TOKEN set, a matching bearer token is required (401 otherwise). Without it, the
endpoint is open outside production and answers 404 in production.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import NotFound, Unauthorized
from app.core.metrics import HTTP_DURATION, HTTP_REQUESTS
from app.core.spool import get_spool
from app.flows.conversation import CONVERSATION_TASK

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

# Jobs waiting or running: the partial index on (id, lock) WHERE status IN ('todo', 'doing') covers the scan.
# A job's age counts from its due time (scheduled_at) or, for jobs due at once, from its "deferred" event.
_QUEUE_SQL = text(
    """
    SELECT j.task_name, j.status::text AS status, count(*) AS jobs,
           coalesce(max(extract(epoch FROM now() - coalesce(j.scheduled_at, d.at)))
                    FILTER (WHERE j.status = 'todo' AND coalesce(j.scheduled_at, d.at) <= now()), 0) AS oldest_due
    FROM procrastinate_jobs j
    LEFT JOIN LATERAL (
        SELECT min(e.at) AS at FROM procrastinate_events e WHERE e.job_id = j.id AND e.type = 'deferred'
    ) d ON true
    WHERE j.status IN ('todo', 'doing')
    GROUP BY 1, 2
    """
)
_REQUESTS_SQL = text("SELECT status, count(*) FROM concierge_requests GROUP BY status")
_OUTREACH_SQL = text("SELECT status, count(*) FROM vendor_outreach GROUP BY status")
_SHORTLISTS_SQL = text("SELECT count(*) FROM concierge_requests WHERE shortlist_sent_at IS NOT NULL")
# Registered workers and the age of the freshest heartbeat (-1 when none is registered).
_WORKERS_SQL = text(
    "SELECT count(*), coalesce(extract(epoch FROM now() - max(last_heartbeat)), -1) FROM procrastinate_workers"
)
_QUEUE_STATUSES = ("todo", "doing")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass
class DatabaseSnapshot:
    """What one scrape read from PostgreSQL."""

    up: bool = False
    seconds: float = 0.0
    queue: list[tuple[str, str, int, float]] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    outreach: dict[str, int] = field(default_factory=dict)
    shortlists: int = 0
    workers: int = 0
    heartbeat_age: float = -1.0


class DatabaseCollector(Collector):
    """Turns one scrape's database snapshot into gauges; tasks seen before report 0 when their queue is empty."""

    def __init__(self, snapshot: DatabaseSnapshot, known_tasks: Iterable[str]) -> None:
        self.snapshot = snapshot
        self.known_tasks = set(known_tasks)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges of the snapshot."""
        snap = self.snapshot
        yield GaugeMetricFamily(
            "agent_metrics_db_up", "1 when the scrape's database queries answered in time.", snap.up
        )
        yield GaugeMetricFamily("agent_metrics_db_seconds", "Time the scrape's database queries took.", snap.seconds)
        yield GaugeMetricFamily(
            "agent_inbound_spool_messages",
            "Inbound messages spooled on this host while the database was unreachable, not yet ingested.",
            len(get_spool().pending()),
        )
        if not snap.up:
            return
        jobs = GaugeMetricFamily(
            "agent_queue_jobs", "Jobs waiting (todo) or running (doing), by task.", labels=["task", "status"]
        )
        age = GaugeMetricFamily(
            "agent_queue_oldest_due_seconds", "Age of the oldest due job still waiting, by task.", labels=["task"]
        )
        found = {(task, status): (count, oldest) for task, status, count, oldest in snap.queue}
        for task in sorted(self.known_tasks):
            for status in _QUEUE_STATUSES:
                jobs.add_metric([task, status], found.get((task, status), (0, 0.0))[0])
            age.add_metric([task], found.get((task, "todo"), (0, 0.0))[1])
        yield jobs
        yield age
        yield _by_status("agent_concierge_requests", "Concierge requests by status (all tenants).", snap.requests)
        yield _by_status("agent_concierge_outreach", "Vendor outreach by status: sent, replied, ...", snap.outreach)
        yield GaugeMetricFamily(
            "agent_concierge_shortlists_sent", "Concierge shortlists sent to customers.", snap.shortlists
        )
        yield GaugeMetricFamily("agent_workers_registered", "Queue workers registered (any host).", snap.workers)
        yield GaugeMetricFamily(
            "agent_worker_heartbeat_age_seconds",
            "Seconds since the freshest queue worker heartbeat (-1 when no worker is registered).",
            snap.heartbeat_age,
        )


def _by_status(name: str, documentation: str, counts: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["status"])
    for status, count in sorted(counts.items()):
        family.add_metric([status], count)
    return family


# Tasks whose depth is reported even at 0: the conversation queue always (an autoscaler reads it), others once seen.
_known_tasks: set[str] = {CONVERSATION_TASK}


async def read_database(timeout_seconds: float) -> DatabaseSnapshot:
    """Queue depth and age, and the concierge funnel; ``up`` False when the database did not answer in time."""
    started = time.perf_counter()
    snapshot = DatabaseSnapshot()
    try:
        async with asyncio.timeout(timeout_seconds), session_scope() as session:
            # The server gives up too, so a slow query does not keep running after the scrape moved on.
            await session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_seconds * 1000)}"))
            rows = (await session.execute(_QUEUE_SQL)).all()
            snapshot.queue = [(r.task_name, r.status, int(r.jobs), float(r.oldest_due)) for r in rows]
            snapshot.requests = {s: int(n) for s, n in (await session.execute(_REQUESTS_SQL)).all()}
            snapshot.outreach = {s: int(n) for s, n in (await session.execute(_OUTREACH_SQL)).all()}
            snapshot.shortlists = int((await session.execute(_SHORTLISTS_SQL)).scalar_one())
            workers, heartbeat_age = (await session.execute(_WORKERS_SQL)).one()
            snapshot.workers, snapshot.heartbeat_age = int(workers), float(heartbeat_age)
        snapshot.up = True
    except Exception as exc:  # noqa: BLE001  (reported as agent_metrics_db_up 0; the scrape itself succeeds)
        log.warning("metrics: database read failed: %s", type(exc).__name__)
    snapshot.seconds = time.perf_counter() - started
    _known_tasks.update(task for task, _, _, _ in snapshot.queue)
    return snapshot


def _check_access(request: Request) -> None:
    settings = get_settings()
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if token is None:
        if settings.environment == "production":
            raise NotFound("Not found")  # no token configured: not exposed in production
        return
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.encode(), token.encode()):
        raise Unauthorized("Missing or invalid metrics token")


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus text format: this process's series, then the deployment's queue and concierge funnel."""
    _check_access(request)
    snapshot = await read_database(get_settings().metrics_db_timeout_seconds)
    shared = CollectorRegistry(auto_describe=False)
    shared.register(DatabaseCollector(snapshot, _known_tasks))
    body = generate_latest(REGISTRY) + generate_latest(shared)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)


class HttpMetrics:
    """Counts every HTTP request and times it, labelled by the matched route's template (never the raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            # Unmatched paths (404s, scanners) share one label: raw paths would be unbounded.
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            method = method if method in _METHODS else "other"
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_DURATION.labels(method, template).observe(time.perf_counter() - started)
