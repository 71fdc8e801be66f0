"""The periodic alert check (every minute, one at a time): every tenant's conditions, reconciled with its
open alerts; transitions are notified in the same transaction, then posted to the admin channel."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

import procrastinate
from sqlalchemy import select
from sqlalchemy.orm import lazyload

from app.alerts import service as alerts_service
from app.alerts.channel import post_to_admin_channel
from app.core.db import session_scope
from app.llm.providers import get_registry
from app.tenants import service as tenant_service
from app.tenants.models import Tenant

log = logging.getLogger(__name__)

alerts_blueprint = procrastinate.Blueprint()
# Circuits are per process: this worker's view of the providers, remembered between checks.
provider_watch = alerts_service.ProviderWatch()


def _provider_snapshot() -> Mapping[str, Mapping[str, object]]:
    try:
        return get_registry().board.snapshot()
    except Exception:  # no providers configured: nothing to watch
        log.debug("no provider registry for the alert check", exc_info=True)
        return {}


async def check_alerts(*, now: datetime | None = None) -> list[alerts_service.Transition]:
    """Check every tenant once; the transitions (opened or cleared alerts)."""
    now = now or datetime.now(UTC)
    down = provider_watch.observe(_provider_snapshot(), now)
    async with session_scope() as session:  # every tenant in one query (their WhatsApp numbers are not needed)
        tenants = list(await session.scalars(select(Tenant).options(lazyload(Tenant.numbers)).order_by(Tenant.slug)))
    transitions: list[alerts_service.Transition] = []
    for tenant in tenants:
        config = tenant_service.get_agent_config(tenant)
        if not config.alerts.enabled:
            continue
        async with session_scope() as session:  # one tenant's failure leaves the others' alerts alone
            found = await alerts_service.conditions(
                session, tenant_id=tenant.id, config=config, down_minutes=down, now=now
            )
            transitions += await alerts_service.reconcile(
                session, tenant_id=tenant.id, slug=tenant.slug, found=found, now=now
            )
    await post_to_admin_channel(transitions)
    for transition in transitions:
        log.info("alert %s %s for %s", transition.kind, transition.state, transition.tenant)
    return transitions


@alerts_blueprint.periodic(cron="* * * * *", periodic_id="check")
@alerts_blueprint.task(name="check", queueing_lock="check")
async def check_periodically(timestamp: int) -> None:
    """Every minute: open and clear alerts."""
    await check_alerts()
