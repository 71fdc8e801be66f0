"""Conversation and message storage; every function takes the tenant id first."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations.models import UNFINISHED_OUTBOUND, Conversation, Message
from app.core.errors import NotFound

# The one customer key (conversations, rollout buckets, opt-out); re-exported for this domain's callers.
from app.text.phones import customer_key as customer_key

# Delivery statuses only move forward; failed/undelivered are final and keep Twilio's error code.
STATUS_RANK = {
    "pending": 0,
    "simulated": 1,
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "delivered": 5,
    "read": 6,
    "canceled": 9,
    "undelivered": 9,
    "failed": 9,
}


async def upsert_conversation(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    customer: str,
    whatsapp_address: str | None = None,
    tenant_address: str | None = None,
    profile_name: str | None = None,
) -> Conversation:
    """The conversation of (tenant, customer), created on first contact; refreshes addresses and name."""
    values: dict[str, Any] = {"tenant_id": tenant_id, "customer": customer, "last_message_at": func.now()}
    updates: dict[str, Any] = {"last_message_at": func.now(), "updated_at": func.now()}
    for key, value in (
        ("whatsapp_address", whatsapp_address),
        ("tenant_address", tenant_address),
        ("profile_name", profile_name),
    ):
        if value:
            values[key] = value
            updates[key] = value
    stmt = (
        insert(Conversation)
        .values(id=uuid.uuid4(), **values)
        .on_conflict_do_update(index_elements=["tenant_id", "customer"], set_=updates)
        .returning(Conversation)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


# One round trip for the webhook: resolve the tenant by the number written to, upsert the
# conversation, insert the message unless its MessageSid is known, and queue the conversation's job
# in the same transaction (the message can never be stored without its job). No row when no tenant
# owns `to`. The job row is what procrastinate's defer would insert (tests/integration/
# test_queue_contract.py holds us to that): when a not-yet-started job for the conversation exists,
# the queueing lock's unique index turns the insert into an update that pushes the waiting job's
# due time to `delay` after this message (never earlier, and never past `max_delay` after the
# oldest unanswered message): that is how a burst, typed at any pace, folds into one turn.
_INGEST_WHATSAPP = text(
    """
    WITH t AS (
        SELECT tenant_id FROM tenant_numbers WHERE address = :to
    ), c AS (
        INSERT INTO conversations (id, tenant_id, customer, whatsapp_address, tenant_address, profile_name,
                                   last_message_at, last_inbound_at)
        SELECT :new_id, t.tenant_id, :customer, :from_, :to, :profile_name, now(), now() FROM t
        ON CONFLICT (tenant_id, customer) DO UPDATE
            SET last_message_at = now(), last_inbound_at = now(), updated_at = now(),
                whatsapp_address = EXCLUDED.whatsapp_address, tenant_address = EXCLUDED.tenant_address,
                profile_name = coalesce(EXCLUDED.profile_name, conversations.profile_name)
        RETURNING id, tenant_id
    ), m AS (
        INSERT INTO messages (tenant_id, conversation_id, direction, channel, body, provider_sid, status, media,
                              payload)
        SELECT c.tenant_id, c.id, 'inbound', 'whatsapp', :body, :sid, 'received', CAST(:media AS jsonb),
               CAST(:payload AS jsonb)
        FROM c
        ON CONFLICT (provider_sid) DO NOTHING
        RETURNING id
    ), j AS (
        INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
        SELECT :job_queue, :job_task, 0, :lock_prefix || c.id::text, :lock_prefix || c.id::text,
               jsonb_build_object('tenant_id', c.tenant_id::text, 'conversation_id', c.id::text),
               now() + make_interval(secs => :delay_seconds)
        FROM c
        WHERE EXISTS (SELECT 1 FROM m)
        ON CONFLICT (queueing_lock) WHERE status = 'todo' DO UPDATE
            SET scheduled_at = greatest(
                procrastinate_jobs.scheduled_at,
                least(
                    EXCLUDED.scheduled_at,
                    coalesce(
                        (SELECT min(pm.created_at) FROM messages pm
                         WHERE pm.conversation_id = (SELECT id FROM c)
                           AND pm.direction = 'inbound' AND pm.status = 'received'),
                        now()
                    ) + make_interval(secs => :max_delay_seconds)
                )
            )
        RETURNING (xmax = 0) AS fresh
    )
    SELECT c.tenant_id, c.id AS conversation_id, EXISTS (SELECT 1 FROM m) AS inserted,
           EXISTS (SELECT 1 FROM j WHERE j.fresh) AS queued
    FROM c
    """
)


@dataclass(frozen=True)
class JobSpec:
    """The queue job an inbound message schedules for its conversation."""

    queue: str
    task_name: str
    lock_prefix: str
    delay_seconds: float
    max_delay_seconds: float


async def ingest_whatsapp(
    session: AsyncSession,
    *,
    to: str,
    from_: str,
    body: str,
    message_sid: str,
    profile_name: str | None,
    media: list[dict[str, Any]],
    payload: dict[str, Any],
    job: JobSpec,
) -> tuple[uuid.UUID, uuid.UUID, bool] | None:
    """Store an inbound WhatsApp message and queue its conversation: (tenant_id, conversation_id, inserted).

    None when no tenant owns the number; ``inserted`` is False for a MessageSid already stored.
    """
    row = (
        await session.execute(
            _INGEST_WHATSAPP,
            {
                "to": to,
                "new_id": uuid.uuid4(),
                "customer": customer_key(from_),
                "from_": from_,
                "profile_name": profile_name,
                "body": body,
                "sid": message_sid,
                "media": json.dumps(media),
                "payload": json.dumps(payload),
                "job_queue": job.queue,
                "job_task": job.task_name,
                "lock_prefix": job.lock_prefix,
                "delay_seconds": job.delay_seconds,
                "max_delay_seconds": max(job.max_delay_seconds, job.delay_seconds),
            },
        )
    ).one_or_none()
    if row is None:
        return None
    return row.tenant_id, row.conversation_id, bool(row.inserted)


async def store_inbound(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    channel: str,
    body: str,
    provider_sid: str | None = None,
    media: list[dict[str, Any]] | None = None,
    payload: dict[str, Any] | None = None,
) -> Message | None:
    """Insert an inbound message; None when ``provider_sid`` was already stored (a retried webhook)."""
    stmt = (
        insert(Message)
        .values(
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            direction="inbound",
            channel=channel,
            body=body,
            provider_sid=provider_sid,
            status="received",
            media=media or [],
            payload=payload or {},
        )
        .on_conflict_do_nothing(index_elements=["provider_sid"])
        .returning(Message)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def pending_inbound(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID, channel: str
) -> list[Message]:
    """Inbound messages not yet answered, in arrival order."""
    stmt = (
        select(Message)
        .where(
            Message.tenant_id == tenant_id,
            Message.conversation_id == conversation_id,
            Message.direction == "inbound",
            Message.status == "received",
            Message.channel == channel,
        )
        .order_by(Message.id)
        .with_for_update()
    )
    return list((await session.execute(stmt)).scalars())


async def get_conversation(session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation:
    """One conversation of the tenant or NotFound."""
    conversation = (
        await session.execute(
            select(Conversation).where(Conversation.tenant_id == tenant_id, Conversation.id == conversation_id)
        )
    ).scalar_one_or_none()
    if conversation is None:
        raise NotFound("conversation not found")
    return conversation


async def list_conversations(
    session: AsyncSession, *, tenant_id: uuid.UUID, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[Conversation]:
    """The tenant's conversations, most recent activity first."""
    stmt = select(Conversation).where(Conversation.tenant_id == tenant_id)
    if status:
        stmt = stmt.where(Conversation.status == status)
    stmt = stmt.order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars())


async def list_messages(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    limit: int = 200,
    before_id: int | None = None,
) -> list[Message]:
    """Messages of one conversation in order (both directions)."""
    await get_conversation(session, tenant_id=tenant_id, conversation_id=conversation_id)
    stmt = select(Message).where(Message.tenant_id == tenant_id, Message.conversation_id == conversation_id)
    if before_id is not None:
        stmt = stmt.where(Message.id < before_id)
    rows = (await session.execute(stmt.order_by(Message.id.desc()).limit(limit))).scalars()
    return list(reversed(list(rows)))


async def start_handoff(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID, reason: str
) -> None:
    """Hand the conversation to a human: the bot stays silent until released."""
    await session.execute(
        update(Conversation)
        .where(Conversation.tenant_id == tenant_id, Conversation.id == conversation_id)
        .values(status="handoff", handoff_reason=reason, handoff_at=func.now(), updated_at=func.now())
    )


async def release_conversation(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation:
    """Give the conversation back to the bot; messages received meanwhile stay unanswered by it."""
    conversation = await get_conversation(session, tenant_id=tenant_id, conversation_id=conversation_id)
    conversation.status = "bot"
    conversation.released_at = datetime.now(UTC)
    conversation.handoff_reason = None
    await session.flush()
    return conversation


async def update_delivery_status(
    session: AsyncSession, *, tenant_id: uuid.UUID, provider_sid: str, status: str, error_code: int | None
) -> bool:
    """Apply a Twilio status callback if it moves the message forward; True when applied."""
    message = (
        await session.execute(
            select(Message)
            .where(
                Message.tenant_id == tenant_id, Message.provider_sid == provider_sid, Message.direction == "outbound"
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if message is None:
        return False
    new_rank = STATUS_RANK.get(status)
    if new_rank is None or new_rank <= STATUS_RANK.get(message.status, 0):
        return False
    message.status = status
    if status in {"failed", "undelivered"}:
        message.error_code = error_code
    message.status_updated_at = datetime.now(UTC)
    await session.flush()
    return True


async def lock_conversation(session: AsyncSession, *, conversation_id: uuid.UUID) -> None:
    """Serialise turns of one conversation across processes until the session's transaction ends."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": str(conversation_id)})


async def unsent_outbound(session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> list[Message]:
    """Outbound WhatsApp parts not yet accepted by Twilio (pending, or left in flight by a crash), in order."""
    stmt = (
        select(Message)
        .where(
            Message.tenant_id == tenant_id,
            Message.conversation_id == conversation_id,
            text(UNFINISHED_OUTBOUND),
        )
        .order_by(Message.id)
    )
    return list((await session.execute(stmt)).scalars())
