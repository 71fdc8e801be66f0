"""Usage upkeep on the job queue: the daily summary of yesterday and today, and the llm_calls retention."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import procrastinate

from app.core.config import get_settings
from app.core.db import session_scope
from app.usage import service as usage_service

log = logging.getLogger(__name__)

usage_blueprint = procrastinate.Blueprint()
PURGE_BATCH_ROWS = 10_000


async def summarize_recent(*, now: datetime | None = None) -> int:
    """Summarize yesterday and today (UTC) for every tenant; rows written.

    Yesterday too: calls of a turn that committed just after midnight carry the previous day's time.
    """
    today = usage_service.utc_today(now)
    written = 0
    for day in (today - timedelta(days=1), today):
        async with session_scope() as session:
            written += await usage_service.summarize_day(session, day=day)
    return written


async def purge_expired(*, older_than_days: int | None = None, batch_rows: int = PURGE_BATCH_ROWS) -> int:
    """Delete llm_calls past the retention (default USAGE_RETENTION_DAYS); rows deleted.

    A transaction per batch, so the first purge of a large table neither holds one long transaction
    nor piles up one huge delete.
    """
    days = get_settings().usage_retention_days if older_than_days is None else older_than_days
    deleted = 0
    while True:
        async with session_scope() as session:
            batch = await usage_service.purge_usage(session, older_than_days=days, limit=batch_rows)
        deleted += batch
        if batch < batch_rows:
            return deleted


@usage_blueprint.periodic(cron="*/10 * * * *", periodic_id="summarize")
@usage_blueprint.task(name="summarize", queueing_lock="summarize")
async def summarize_periodically(timestamp: int) -> None:
    """Refresh the daily usage summary of yesterday and today."""
    log.debug("usage summary: %d rows", await summarize_recent())


@usage_blueprint.periodic(cron="17 3 * * *", periodic_id="purge")
@usage_blueprint.task(name="purge", queueing_lock="purge")
async def purge_periodically(timestamp: int) -> None:
    """Delete llm_calls older than the retention; the daily summary stays."""
    deleted = await purge_expired()
    if deleted:
        log.info("usage retention: deleted %d llm_calls rows", deleted)
