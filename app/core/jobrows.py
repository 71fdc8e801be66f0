"""Queue a job as a row in the caller's transaction (what procrastinate's defer writes, minus its connection).

A job decided by a write must exist exactly when the write does: the row commits or rolls back with it.
The queueing lock folds a job into one that is still waiting (``ON CONFLICT ... DO NOTHING``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_QUEUE = "default"

_INSERT_JOB = text(
    """
    INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
    VALUES (:queue, :task, 0, :lock, :queueing_lock, CAST(:args AS jsonb), now() + make_interval(secs => :delay))
    ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING
    """
)


async def queue_job(
    session: AsyncSession,
    *,
    task: str,
    args: dict[str, Any],
    lock: str,
    queueing_lock: str,
    delay_seconds: float = 0.0,
    queue: str = DEFAULT_QUEUE,
) -> None:
    """Insert the job row for ``task`` (its namespaced name, e.g. "knowledge:embed") due in ``delay_seconds``."""
    await session.execute(
        _INSERT_JOB,
        {
            "queue": queue,
            "task": task,
            "lock": lock,
            "queueing_lock": queueing_lock,
            "args": json.dumps(args),
            "delay": max(0.0, delay_seconds),
        },
    )
