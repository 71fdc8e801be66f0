"""The handoff policy's periodic job (``operators:handoff_policy``), registered by the worker."""

from __future__ import annotations

import logging

import procrastinate

from app.core.db import session_scope
from app.operators import policy

log = logging.getLogger(__name__)

operators_blueprint = procrastinate.Blueprint()


# Every 30 seconds, deferred once per tick for the whole cluster (the queueing lock folds duplicates).
@operators_blueprint.periodic(cron="* * * * * */30", periodic_id="handoff_policy")
@operators_blueprint.task(name="handoff_policy", queueing_lock="handoff_policy")
async def handoff_policy(timestamp: int) -> None:
    """Escalate handoffs waiting past their tenant's threshold and release long-silent ones to the bot."""
    async with session_scope() as session:
        result = await policy.sweep(session)
    if result.escalated or result.released:
        log.info("handoff policy: %d escalated, %d released to the bot", result.escalated, result.released)
