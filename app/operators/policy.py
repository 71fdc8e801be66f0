"""The handoff policy of a tenant (its agent configuration's ``handoff_policy``), applied.

* Business hours: outside them no person is on duty, so the bot tells the customer when one will answer
  and keeps helping meanwhile (the conversation stays in the operators' queue).
* Escalation: a handoff nobody answered within ``escalate_after_minutes`` sends ``handoff.escalated``, once.
* Auto-release: a handoff silent for ``auto_release_minutes`` (no message either way) goes back to the bot.
The last two run in a periodic job of the worker (app.operators.jobs).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations import service as conversation_service
from app.conversations.models import Conversation, Message
from app.notify.service import notify
from app.operators.models import ConversationDesk
from app.operators.zones import tenant_zone
from app.tenants import service as tenant_service
from app.tenants.agent_config import HandoffPolicy
from app.tenants.models import Tenant
from app.text.normalize import Language
from app.text.wording import say

log = logging.getLogger(__name__)


def _hm(value: str) -> time:
    if value == "24:00":
        return time(23, 59, 59)
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def on_duty(policy: HandoffPolicy, tz: str, now: datetime | None = None) -> bool:
    """True when a person is expected to answer now (always, when the tenant set no business hours)."""
    if not policy.business_hours:
        return True
    local = (now or datetime.now(UTC)).astimezone(tenant_zone(tz))
    return any(
        local.weekday() in hours.days and _hm(hours.opens) <= local.time() < _hm(hours.closes)
        for hours in policy.business_hours
    )


def next_opening(policy: HandoffPolicy, tz: str, now: datetime | None = None) -> datetime | None:
    """When people are next on duty (local time), or None when they are now (or hours are not set)."""
    if on_duty(policy, tz, now):
        return None
    local = (now or datetime.now(UTC)).astimezone(tenant_zone(tz))
    candidates: list[datetime] = []
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        for hours in policy.business_hours:
            if day.weekday() in hours.days:
                start = datetime.combine(day, _hm(hours.opens), tzinfo=local.tzinfo)
                if start > local:
                    candidates.append(start)
    return min(candidates) if candidates else None


def after_hours_reply(
    policy: HandoffPolicy, tz: str, *, language: Language, business: str, now: datetime | None = None
) -> str | None:
    """The handoff reply outside business hours (when a person will answer; the bot keeps helping), or None
    when people are on duty and the usual handoff reply applies."""
    opening = next_opening(policy, tz, now)
    if opening is None:
        return None
    local_now = (now or datetime.now(UTC)).astimezone(opening.tzinfo)
    clock = opening.strftime("%H:%M")
    days = (opening.date() - local_now.date()).days
    if days == 0:
        when = say("handoff_when_today", language, time=clock)
    elif days == 1:
        when = say("handoff_when_tomorrow", language, time=clock)
    else:
        names = say("weekday_names", language).split(",")
        when = say("handoff_when_weekday", language, day=names[opening.weekday()], time=clock)
    return say("handoff_after_hours", language, business=business, when=when)


@dataclass(frozen=True)
class SweepResult:
    """What one pass of the policy job did."""

    escalated: int = 0
    released: int = 0


async def sweep(session: AsyncSession, *, now: datetime | None = None) -> SweepResult:
    """Escalate and auto-release waiting handoffs of every tenant, by each tenant's policy (one query for
    all tenants' waiting handoffs; a row another worker holds is skipped this pass)."""
    moment = now or datetime.now(UTC)
    last_message = (
        select(func.max(Message.created_at))
        .where(Message.tenant_id == Conversation.tenant_id, Message.conversation_id == Conversation.id)
        .scalar_subquery()
    )
    operator_since_handoff = (
        select(func.count())
        .where(
            Message.tenant_id == Conversation.tenant_id,
            Message.conversation_id == Conversation.id,
            Message.direction == "outbound",
            Message.payload.has_key("operator"),
            Message.created_at >= Conversation.handoff_at,
        )
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(Conversation, Tenant, last_message, operator_since_handoff, ConversationDesk.escalated_at)
            .select_from(Conversation)
            .join(Tenant, Tenant.id == Conversation.tenant_id)
            .outerjoin(ConversationDesk, ConversationDesk.conversation_id == Conversation.id)
            .where(Conversation.status == "handoff")
            .with_for_update(of=Conversation, skip_locked=True)
        )
    ).all()
    policies: dict[uuid.UUID, HandoffPolicy] = {}
    escalated = released = 0
    for conversation, tenant, last_at, operator_messages, escalated_at in rows:
        if tenant.id not in policies:
            policies[tenant.id] = tenant_service.get_agent_config(tenant).handoff_policy
        action = await _apply(
            session,
            conversation,
            policy=policies[tenant.id],
            last_at=last_at,
            operator_messages=operator_messages,
            escalated_at=escalated_at,
            now=moment,
        )
        escalated += action == "escalated"
        released += action == "released"
    return SweepResult(escalated=escalated, released=released)


async def _apply(
    session: AsyncSession,
    conversation: Conversation,
    *,
    policy: HandoffPolicy,
    last_at: datetime | None,
    operator_messages: int,
    escalated_at: datetime | None,
    now: datetime,
) -> Literal["escalated", "released"] | None:
    """Release (silent too long) or escalate (unanswered too long, once) one waiting handoff; what it did."""
    tenant_id = conversation.tenant_id
    since = conversation.handoff_at or conversation.updated_at
    quiet_since = max(t for t in (since, last_at) if t is not None)
    if policy.auto_release_minutes and now - quiet_since >= timedelta(minutes=policy.auto_release_minutes):
        await conversation_service.release_conversation(session, tenant_id=tenant_id, conversation_id=conversation.id)
        log.info("handoff of %s auto-released after %d min of silence", conversation.id, policy.auto_release_minutes)
        return "released"
    already = escalated_at is not None and escalated_at >= since
    if (
        policy.escalate_after_minutes
        and not already
        and not operator_messages
        and now - since >= timedelta(minutes=policy.escalate_after_minutes)
    ):
        await notify(
            session,
            tenant_id=tenant_id,
            event="handoff.escalated",
            data={
                "conversation_id": conversation.id,
                "customer": conversation.customer,
                "reason": conversation.handoff_reason,
                "waiting_seconds": int((now - since).total_seconds()),
            },
        )
        stmt = insert(ConversationDesk).values(conversation_id=conversation.id, tenant_id=tenant_id, escalated_at=now)
        await session.execute(
            stmt.on_conflict_do_update(index_elements=["conversation_id"], set_={"escalated_at": now})
        )
        return "escalated"
    return None
