"""The notification delivery job (``notify:deliver``), registered by the worker."""

from __future__ import annotations

import uuid

import procrastinate

from app.core.db import session_scope
from app.notify import service

notify_blueprint = procrastinate.Blueprint()


@notify_blueprint.task(name="deliver")
async def deliver(event_id: str, attempt: int = 0) -> None:
    """POST one event to its tenant's notify_url; a failure queues the next attempt with backoff."""
    async with session_scope() as session:
        await service.deliver(session, event_id=uuid.UUID(event_id), attempt=attempt)
