"""Notifications to a tenant's own systems (a CRM, an inbox, a pager): recorded, then delivered signed.

``notify`` writes the event and its delivery job in the caller's transaction, so an event exists exactly
when the write that caused it commits. The worker POSTs the event as JSON to the tenant's ``notify_url``
with ``X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the tenant's secret>``; a failed
delivery is retried with exponential backoff up to ``MAX_ATTEMPTS``. A tenant without a URL gets no
request (the event is kept, marked skipped).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpx2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import get_settings
from app.core.jobrows import queue_job
from app.notify import safe_url
from app.notify.models import DELIVERED, FAILED, QUEUED, SKIPPED, NotifyEndpoint, NotifyEvent
from app.tenants.models import Tenant

log = logging.getLogger(__name__)

EVENTS: Final = frozenset(
    {
        "handoff.started",
        "handoff.customer_message",
        "lead.created",
        "lead.updated",
        "delivery.failed",
        "handoff.escalated",
    }
    | {"alert.opened", "alert.cleared"}  # the learning loop's alerts (app.alerts)
)
DELIVER_TASK: Final = "notify:deliver"
SIGNATURE_HEADER: Final = "X-Signature-256"
SECRET_PREFIX: Final = "whsec_"
MAX_ATTEMPTS: Final = 8
RETRY_BASE_SECONDS = 10.0  # 10 s, 20 s, 40 s ... capped at RETRY_MAX_SECONDS (tests shorten it)
RETRY_MAX_SECONDS = 3600.0
TIMEOUT_SECONDS = 10.0


class InvalidNotifyUrl(ValueError):
    """The URL is not an absolute http(s) URL (https only in production)."""


@dataclass(frozen=True)
class EndpointView:
    """A tenant's endpoint as shown to its admins: the secret only when it was just created."""

    url: str | None
    secret_prefix: str
    secret: str | None = None


async def notify(session: AsyncSession, *, tenant_id: uuid.UUID, event: str, data: dict[str, Any]) -> None:
    """Record ``event`` for the tenant and queue its delivery, both in the caller's transaction."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    row = NotifyEvent(id=uuid.uuid4(), tenant_id=tenant_id, event=event, data=_jsonable(data), status=QUEUED)
    session.add(row)
    await session.flush()
    await _queue_delivery(session, event_id=row.id, attempt=0, delay=0.0)


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """UUIDs, datetimes and decimals as strings: the event is stored and sent as JSON."""
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


async def _queue_delivery(session: AsyncSession, *, event_id: uuid.UUID, attempt: int, delay: float) -> None:
    lock = f"notify:{event_id}"
    await queue_job(
        session,
        task=DELIVER_TASK,
        args={"event_id": str(event_id), "attempt": attempt},
        lock=lock,
        queueing_lock=f"{lock}:{attempt}",
        delay_seconds=delay,
    )


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``: receivers recompute it and compare in constant time."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """True when ``header`` is the signature of ``body`` under ``secret``."""
    return hmac.compare_digest(sign(secret, body), header)


def validate_url(url: str) -> str:
    """The URL, stripped, if it can receive events: absolute http(s) (https in production), no credentials,
    not a literal private/loopback address (the host's resolved addresses are checked at delivery)."""
    allowed = frozenset({"https"}) if get_settings().environment == "production" else frozenset({"http", "https"})
    try:
        return safe_url.check_syntax(url, schemes=allowed)
    except safe_url.UnsafeUrl as exc:
        raise InvalidNotifyUrl(f"notify_url {exc}") from exc


async def get_endpoint(session: AsyncSession, tenant_id: uuid.UUID) -> EndpointView | None:
    """The tenant's endpoint without its secret, or None when it has never set one."""
    row = await session.get(NotifyEndpoint, tenant_id)
    return None if row is None else EndpointView(url=row.url, secret_prefix=row.secret_prefix)


async def set_endpoint(
    session: AsyncSession, *, tenant_id: uuid.UUID, url: str | None, rotate_secret: bool = False
) -> EndpointView:
    """Set (or clear, with None) the tenant's notify_url; a new secret is created on first use or on rotation
    and returned in this answer only."""
    clean = validate_url(url) if url else None
    row = await session.get(NotifyEndpoint, tenant_id, with_for_update=True)
    new_secret: str | None = None
    if row is None or rotate_secret:
        new_secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    if row is None:
        assert new_secret is not None
        row = NotifyEndpoint(tenant_id=tenant_id, url=clean, secret=new_secret, secret_prefix=new_secret[:12])
        session.add(row)
    else:
        row.url = clean
        if new_secret is not None:
            row.secret, row.secret_prefix = new_secret, new_secret[:12]
    await session.flush()
    return EndpointView(url=row.url, secret_prefix=row.secret_prefix, secret=new_secret)


def retry_delay(attempt: int) -> float:
    """Backoff before retry number ``attempt`` (1-based)."""
    return float(min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS))


async def deliver(session: AsyncSession, *, event_id: uuid.UUID, attempt: int) -> str:
    """Send one event (the worker's job): its final or interim status. A failure queues the next attempt."""
    row = (
        await session.execute(select(NotifyEvent).where(NotifyEvent.id == event_id).with_for_update(skip_locked=True))
    ).scalar_one_or_none()
    if row is None or row.status != QUEUED:
        return "gone" if row is None else row.status
    endpoint = await session.get(NotifyEndpoint, row.tenant_id)
    if endpoint is None or not endpoint.url:
        row.status = SKIPPED
        return SKIPPED
    tenant = await session.get(Tenant, row.tenant_id)
    body = json.dumps(
        {
            "id": str(row.id),
            "event": row.event,
            "tenant": tenant.slug if tenant else None,
            "created_at": row.created_at.astimezone(UTC).isoformat(),
            "attempt": attempt + 1,
            "data": row.data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(endpoint.secret, body),
        "X-Event": row.event,
        "X-Event-Id": str(row.id),
        "User-Agent": "wa-agent-notify/1",
    }
    row.attempts = attempt + 1
    try:
        status = await safe_url.post(endpoint.url, content=body, headers=headers, timeout_seconds=TIMEOUT_SECONDS)
        row.response_status = status
        ok, error = 200 <= status < 300, f"HTTP {status}"  # a redirect is not followed, so not delivered
    except httpx2.HTTPError as exc:
        ok, error = False, type(exc).__name__
    except safe_url.UnsafeUrl as exc:  # e.g. the host now resolves to a private address: never retried
        row.status, row.last_error = FAILED, f"refused: notify_url {exc}"
        log.warning("notification %s (%s) not sent: notify_url %s", row.id, row.event, exc)
        return FAILED
    if ok:
        row.status, row.delivered_at, row.last_error = DELIVERED, datetime.now(UTC), None
        return DELIVERED
    row.last_error = error
    if attempt + 1 >= MAX_ATTEMPTS:
        row.status = FAILED
        log.warning("notification %s (%s) failed %d times: %s", row.id, row.event, attempt + 1, error)
        return FAILED
    delay = retry_delay(attempt + 1)
    log.info("notification %s (%s) failed: %s; retrying in %.0f s", row.id, row.event, error, delay)
    await _queue_delivery(session, event_id=row.id, attempt=attempt + 1, delay=delay)
    return QUEUED
