"""Alert conditions of a tenant, and their episodes: opened once when a condition starts, cleared once (with a
recovery message) when it ends.

Conditions, with thresholds from the tenant's agent configuration (``alerts``, app.tenants.agent_config):

- ``provider_circuit``: a model provider's circuit (app.llm.health) not closed for ``circuit_open_minutes``;
  circuits are per process, so each worker reports what its own calls saw (``ProviderWatch``);
- ``budget_warning`` / ``budget_exhausted``: this month's LLM spend at ``budget_warn_percent`` / 100% of
  ``monthly_budget_usd``;
- ``handoff_waiting``: a customer handed to a person who got no operator message for ``handoff_wait_minutes``;
- ``delivery_failures``: the share of outbound WhatsApp parts that failed over ``window_minutes``;
- ``thumbs_down_spike``: the share of 👎 among customer feedback over ``window_minutes``.

Deduplicated by the table itself: at most one open alert per tenant and kind (a partial unique index).
Each transition is a signed notification to the tenant's webhook (``alert.opened`` / ``alert.cleared``,
app.notify) and, when configured, a post to the admin channel (``ALERT_WEBHOOK_URL``, app.alerts.channel).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Literal

from sqlalchemy import Select, and_, exists, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.alerts.models import Alert
from app.conversations.models import FAILED, Conversation, Message
from app.feedback.service import down_rate
from app.notify.service import notify
from app.tenants.agent_config import AgentConfig, AlertThresholds
from app.usage.service import month_spend

KINDS: Final = (
    "provider_circuit",
    "budget_warning",
    "budget_exhausted",
    "handoff_waiting",
    "delivery_failures",
    "thumbs_down_spike",
)
_FAILED_STATUSES: Final = (FAILED, "undelivered")


@dataclass(frozen=True)
class Condition:
    """One kind's state now: whether it fires, and the figures behind it."""

    kind: str
    firing: bool
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    """An alert opened or cleared, as notified."""

    tenant_id: uuid.UUID
    tenant: str
    kind: str
    state: Literal["opened", "cleared"]
    details: dict[str, Any]
    opened_at: datetime
    cleared_at: datetime | None

    def payload(self) -> dict[str, Any]:
        """The notification's data (and the admin channel's ``alert``)."""
        return {
            "kind": self.kind,
            "state": self.state,
            "tenant": self.tenant,
            "details": self.details,
            "opened_at": self.opened_at.isoformat(),
            "cleared_at": self.cleared_at.isoformat() if self.cleared_at else None,
        }

    def text(self) -> str:
        """One line for people reading the admin channel."""
        figures = ", ".join(f"{k}={v}" for k, v in self.details.items())
        if self.state == "opened":
            return f"[{self.tenant}] ALERT {self.kind}: {figures}"
        return f"[{self.tenant}] RECOVERED {self.kind} (open since {self.opened_at:%Y-%m-%d %H:%M} UTC)"


class ProviderWatch:
    """Since when each provider's circuit has not been closed, from this process's health board snapshots."""

    def __init__(self) -> None:
        self._down_since: dict[str, datetime] = {}

    def observe(self, snapshot: Mapping[str, Mapping[str, object]], now: datetime) -> dict[str, float]:
        """Minutes each provider has been down (open or half-open) as of ``now``; closed ones are forgotten."""
        for name, health in snapshot.items():
            if health.get("state") == "closed":
                self._down_since.pop(name, None)
            else:
                since = self._down_since.get(name)
                self._down_since[name] = now if since is None else min(since, now)
        return {name: (now - since).total_seconds() / 60 for name, since in self._down_since.items()}


def provider_condition(down_minutes: Mapping[str, float], thresholds: AlertThresholds) -> Condition:
    long_down = sorted(name for name, minutes in down_minutes.items() if minutes >= thresholds.circuit_open_minutes)
    return Condition("provider_circuit", bool(long_down), {"providers": long_down} if long_down else {})


async def budget_conditions(
    session: AsyncSession, *, tenant_id: uuid.UUID, config: AgentConfig, now: datetime
) -> list[Condition]:
    budget = config.monthly_budget_usd
    if budget is None or budget <= 0:
        return [Condition("budget_warning", False), Condition("budget_exhausted", False)]
    spend = await month_spend(session, tenant_id=tenant_id, moment=now)
    share = spend / budget
    details = {"spend_usd": str(spend), "budget_usd": str(budget), "percent": int(share * 100)}
    warn = share * 100 >= Decimal(config.alerts.budget_warn_percent)
    return [Condition("budget_warning", warn, details), Condition("budget_exhausted", share >= 1, details)]


def _handoff_waiting(*, tenant_id: uuid.UUID, thresholds: AlertThresholds, now: datetime) -> Select[int]:
    """Customers waiting for a person: a handoff older than the threshold with no operator message since."""
    cutoff = now - timedelta(minutes=thresholds.handoff_wait_minutes)
    reply = aliased(Message)
    answered = exists().where(
        and_(
            reply.conversation_id == Conversation.id,
            reply.direction == "outbound",
            reply.turn_id.is_(None),
            reply.created_at > Conversation.handoff_at,
        )
    )
    return (
        select(func.count().label("waiting"))
        .select_from(Conversation)
        .where(
            Conversation.tenant_id == tenant_id,
            Conversation.status == "handoff",
            Conversation.handoff_at < cutoff,
            ~answered,
        )
    )


def _deliveries(*, tenant_id: uuid.UUID, since: datetime) -> Select[int, int]:
    """(failed, sent) outbound WhatsApp parts since ``since``."""
    return (
        select(func.count().filter(Message.status.in_(_FAILED_STATUSES)).label("failed"), func.count().label("sent"))
        .select_from(Message)
        .where(
            Message.tenant_id == tenant_id,
            Message.direction == "outbound",
            Message.channel == "whatsapp",
            Message.created_at >= since,
        )
    )


async def count_conditions(
    session: AsyncSession, *, tenant_id: uuid.UUID, thresholds: AlertThresholds, now: datetime
) -> list[Condition]:
    """The handoff, delivery and 👎 conditions, from one round trip (each count is a one-row aggregate)."""
    since = now - timedelta(minutes=thresholds.window_minutes)
    handoffs = _handoff_waiting(tenant_id=tenant_id, thresholds=thresholds, now=now).subquery()
    deliveries = _deliveries(tenant_id=tenant_id, since=since).subquery()
    votes = down_rate(tenant_id=tenant_id, since=since).subquery()
    row = (
        await session.execute(
            select(handoffs.c.waiting, deliveries.c.failed, deliveries.c.sent, votes.c.down, votes.c.answers)
            .select_from(handoffs)
            .join(deliveries, true())
            .join(votes, true())
        )
    ).one()
    waiting, failed, sent, down, answers = (int(v or 0) for v in row)
    delivery_rate = failed / sent if sent else 0.0
    down_share = down / answers if answers else 0.0
    return [
        Condition("handoff_waiting", waiting > 0, {"waiting": waiting} if waiting else {}),
        Condition(
            "delivery_failures",
            sent >= thresholds.delivery_min_messages and delivery_rate >= thresholds.delivery_failure_rate,
            {"failed": failed, "sent": sent, "rate": round(delivery_rate, 3)},
        ),
        Condition(
            "thumbs_down_spike",
            answers >= thresholds.thumbs_down_min_answers and down_share >= thresholds.thumbs_down_rate,
            {"down": down, "answers": answers, "rate": round(down_share, 3)},
        ),
    ]


async def conditions(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    config: AgentConfig,
    down_minutes: Mapping[str, float],
    now: datetime,
) -> list[Condition]:
    """Every kind's state for one tenant now."""
    thresholds = config.alerts
    return [
        provider_condition(down_minutes, thresholds),
        *await budget_conditions(session, tenant_id=tenant_id, config=config, now=now),
        *await count_conditions(session, tenant_id=tenant_id, thresholds=thresholds, now=now),
    ]


async def reconcile(
    session: AsyncSession, *, tenant_id: uuid.UUID, slug: str, found: list[Condition], now: datetime
) -> list[Transition]:
    """Open an alert for each firing kind without one, clear each open one no longer firing; notify both.

    Two checks of one tenant at once (two workers) wait for each other: a transition happens once.
    """
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"alerts:{tenant_id}", 0))))
    open_rows = {
        row.kind: row
        for row in await session.scalars(
            select(Alert).where(Alert.tenant_id == tenant_id, Alert.cleared_at.is_(None)).with_for_update()
        )
    }
    transitions: list[Transition] = []
    for condition in found:
        current = open_rows.get(condition.kind)
        if condition.firing and current is None:
            row = Alert(tenant_id=tenant_id, kind=condition.kind, details=condition.details, opened_at=now)
            session.add(row)
            transitions.append(Transition(tenant_id, slug, condition.kind, "opened", condition.details, now, None))
        elif not condition.firing and current is not None:
            current.cleared_at = now
            transitions.append(
                Transition(tenant_id, slug, condition.kind, "cleared", current.details, current.opened_at, now)
            )
    await session.flush()
    for transition in transitions:
        await notify(session, tenant_id=tenant_id, event=f"alert.{transition.state}", data=transition.payload())
    return transitions


async def list_alerts(
    session: AsyncSession, *, tenant_id: uuid.UUID, open_only: bool = False, limit: int = 100
) -> list[Alert]:
    """The tenant's alerts, newest first."""
    stmt = select(Alert).where(Alert.tenant_id == tenant_id).order_by(Alert.opened_at.desc()).limit(limit)
    if open_only:
        stmt = stmt.where(Alert.cleared_at.is_(None))
    return list(await session.scalars(stmt))
