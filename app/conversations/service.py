"""Conversation and message storage; every function takes the tenant id first."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from langchain_core.messages import BaseMessage, message_to_dict
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.conversations.history import session_key
from app.conversations.models import UNFINISHED_OUTBOUND, Conversation, Message
from app.core.errors import NotFound
from app.core.group_commit import GroupedStatement

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


# A conversation's waiting job, when one exists, is pushed back rather than queued again: to the burst window after
# this message, never earlier than it was, and never past the maximum delay after the oldest unanswered message
# (``max_delay``: the statement's expression for that maximum, in seconds).
_JOB_PUSHED_BACK = """ON CONFLICT (queueing_lock) WHERE status = 'todo' DO UPDATE
            SET scheduled_at = greatest(
                procrastinate_jobs.scheduled_at,
                least(
                    EXCLUDED.scheduled_at,
                    coalesce(
                        (SELECT min(pm.created_at) FROM messages pm
                         WHERE pm.conversation_id = CAST(EXCLUDED.args->>'conversation_id' AS uuid)
                           AND pm.direction = 'inbound' AND pm.status = 'received'),
                        now()
                    ) + make_interval(secs => {max_delay})
                )
            )"""

# One round trip for the webhook: resolve the tenant by the number written to, upsert the
# conversation, insert the message unless its MessageSid is known, and queue the conversation's job
# in the same transaction (the message can never be stored without its job). No row when no tenant
# owns `to`. The job row is what procrastinate's defer would insert (tests/integration/
# test_queue_contract.py holds us to that): when a not-yet-started job for the conversation exists,
# the queueing lock's unique index turns the insert into an update that pushes the waiting job's
# due time to the delay after this message (never earlier, and never past the maximum delay after the
# oldest unanswered message): that is how a burst, typed at any pace, folds into one turn.
# A MessageSid already stored (Twilio's retry, a replay) changes nothing: not the conversation's addresses, name
# or 24-hour window; the call gets the stored message's tenant and conversation.
_INGEST_WHATSAPP = f"""
    WITH t AS (
        SELECT tenant_id FROM tenant_numbers WHERE address = $1
    ), seen AS (
        SELECT tenant_id, conversation_id FROM messages WHERE provider_sid = $7
    ), c AS (
        INSERT INTO conversations (id, tenant_id, customer, whatsapp_address, tenant_address, profile_name,
                                   last_message_at, last_inbound_at)
        SELECT $2, t.tenant_id, $3, $4, $1, $5, now(), now() FROM t
        WHERE NOT EXISTS (SELECT 1 FROM seen)
        ON CONFLICT (tenant_id, customer) DO UPDATE
            SET last_message_at = now(), last_inbound_at = now(), updated_at = now(),
                whatsapp_address = EXCLUDED.whatsapp_address, tenant_address = EXCLUDED.tenant_address,
                profile_name = coalesce(EXCLUDED.profile_name, conversations.profile_name)
        RETURNING id, tenant_id
    ), m AS (
        INSERT INTO messages (tenant_id, conversation_id, direction, channel, body, provider_sid, status, media,
                              payload)
        SELECT c.tenant_id, c.id, 'inbound', 'whatsapp', $6, $7, 'received', CAST($8 AS jsonb),
               CAST($9 AS jsonb)
        FROM c
        ON CONFLICT (provider_sid) DO NOTHING
        RETURNING id
    ), j AS (
        INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
        SELECT $10, $11, 0, $12 || c.id::text, $12 || c.id::text,
               jsonb_build_object('tenant_id', c.tenant_id::text, 'conversation_id', c.id::text),
               now() + make_interval(secs => $13)
        FROM c
        WHERE EXISTS (SELECT 1 FROM m)
        {_JOB_PUSHED_BACK.format(max_delay="$14")}
    )
    SELECT coalesce(c.tenant_id, seen.tenant_id) AS tenant_id, coalesce(c.id, seen.conversation_id) AS conversation_id,
           EXISTS (SELECT 1 FROM m) AS inserted
    FROM (SELECT) AS one LEFT JOIN c ON true LEFT JOIN seen ON true
"""
# The same ingest for a group of webhooks in one execution (GroupedStatement's set form): every parameter
# is the text array of the group's values, in the group's order (``ord``). Within one statement a row can be
# upserted only once, so each conversation is upserted once, with its latest message's addresses and
# latest name given, and each conversation's job once; a MessageSid twice in the group is stored once, for
# its first call, and one stored before changes nothing (its call gets the stored message's tenant and
# conversation). Messages are inserted in the group's order (one customer's ids ascend as they arrived), and
# conversations and jobs in a fixed order, so concurrent groups lock rows in one order. The job's queue,
# task, lock prefix and delays are taken from the group's first call: they come from the process's settings,
# the same for every call.
_INGEST_WHATSAPP_GROUP = f"""
    WITH i AS (
        SELECT i.*, min(i.ord) OVER (PARTITION BY i.sid) = i.ord AS first_of_sid
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                    $8::text[], $9::text[]) WITH ORDINALITY
            AS i(to_address, new_id, customer, whatsapp_address, profile_name, body, sid, media, payload, ord)
    ), t AS (
        SELECT i.*, n.tenant_id FROM i LEFT JOIN tenant_numbers n ON n.address = i.to_address
    ), seen AS (
        SELECT provider_sid, tenant_id, conversation_id FROM messages WHERE provider_sid = ANY($7::text[])
    ), latest AS (
        SELECT tenant_id, customer, (array_agg(new_id ORDER BY ord DESC))[1] AS new_id,
               (array_agg(to_address ORDER BY ord DESC))[1] AS to_address,
               (array_agg(whatsapp_address ORDER BY ord DESC))[1] AS whatsapp_address,
               (array_agg(profile_name ORDER BY ord DESC) FILTER (WHERE profile_name IS NOT NULL))[1] AS profile_name
        FROM t WHERE tenant_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM seen WHERE seen.provider_sid = t.sid)
        GROUP BY tenant_id, customer
    ), c AS (
        INSERT INTO conversations (id, tenant_id, customer, whatsapp_address, tenant_address, profile_name,
                                   last_message_at, last_inbound_at)
        SELECT CAST(new_id AS uuid), tenant_id, customer, whatsapp_address, to_address, profile_name, now(), now()
        FROM latest ORDER BY tenant_id, customer
        ON CONFLICT (tenant_id, customer) DO UPDATE
            SET last_message_at = now(), last_inbound_at = now(), updated_at = now(),
                whatsapp_address = EXCLUDED.whatsapp_address, tenant_address = EXCLUDED.tenant_address,
                profile_name = coalesce(EXCLUDED.profile_name, conversations.profile_name)
        RETURNING id, tenant_id, customer
    ), m AS (
        INSERT INTO messages (tenant_id, conversation_id, direction, channel, body, provider_sid, status, media,
                              payload)
        SELECT c.tenant_id, c.id, 'inbound', 'whatsapp', t.body, t.sid, 'received', CAST(t.media AS jsonb),
               CAST(t.payload AS jsonb)
        FROM t JOIN c ON c.tenant_id = t.tenant_id AND c.customer = t.customer
        WHERE t.first_of_sid
        ORDER BY t.ord
        ON CONFLICT (provider_sid) DO NOTHING
        RETURNING provider_sid, conversation_id
    ), j AS (
        INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
        SELECT ($10::text[])[1], ($11::text[])[1], 0, ($12::text[])[1] || c.id::text, ($12::text[])[1] || c.id::text,
               jsonb_build_object('tenant_id', c.tenant_id::text, 'conversation_id', c.id::text),
               now() + make_interval(secs => CAST(($13::text[])[1] AS float8))
        FROM c
        WHERE c.id IN (SELECT conversation_id FROM m)
        ORDER BY c.id
        {_JOB_PUSHED_BACK.format(max_delay="CAST(($14::text[])[1] AS float8)")}
    )
    SELECT coalesce(c.tenant_id, seen.tenant_id) AS tenant_id, coalesce(c.id, seen.conversation_id) AS conversation_id,
           t.first_of_sid AND EXISTS (SELECT 1 FROM m WHERE m.provider_sid = t.sid) AS inserted
    FROM t LEFT JOIN seen ON seen.provider_sid = t.sid
         LEFT JOIN c ON c.tenant_id = t.tenant_id AND c.customer = t.customer AND seen.provider_sid IS NULL
    ORDER BY t.ord
"""
# Exactly one row per message (NULLs when no tenant owns the number), so concurrent webhooks' ingests can
# share a round trip and a commit. Sorted by (number, customer): concurrent groups lock conversations in
# one order; one customer's messages keep the order they arrived in.
_ingest = GroupedStatement(_INGEST_WHATSAPP, order=lambda args: (args[0], args[2]), together=_INGEST_WHATSAPP_GROUP)


# The webhook's sender, parsed once per number (libphonenumber costs tens of microseconds a parse).
_customer_key = lru_cache(maxsize=16_384)(customer_key)


@dataclass(frozen=True)
class JobSpec:
    """The queue job an inbound message schedules for its conversation."""

    queue: str
    task_name: str
    lock_prefix: str
    delay_seconds: float
    max_delay_seconds: float


def ingest_args(
    *,
    to: str,
    from_: str,
    body: str,
    message_sid: str,
    profile_name: str | None,
    media: list[dict[str, Any]],
    payload: dict[str, Any],
    job: JobSpec,
) -> tuple[Any, ...]:
    """The ingest statement's parameters for one inbound message (see ``ingest_whatsapp``)."""
    return (
        to,
        uuid.uuid4(),
        _customer_key(from_),
        from_,
        profile_name,
        body,
        message_sid,
        json.dumps(media),
        json.dumps(payload),
        job.queue,
        job.task_name,
        job.lock_prefix,
        float(job.delay_seconds),
        float(max(job.max_delay_seconds, job.delay_seconds)),
    )


async def ingest_whatsapp(args: tuple[Any, ...]) -> tuple[uuid.UUID, uuid.UUID, bool] | None:
    """Store an inbound WhatsApp message (``ingest_args``) and queue its conversation: (tenant_id,
    conversation_id, inserted).

    None when no tenant owns the number; ``inserted`` is False for a MessageSid already stored. One
    statement, atomic by itself, sent through the driver: the webhook's whole database work is one round
    trip and a fraction of a millisecond of CPU, and webhooks that arrive together share that round trip
    and its commit (``GroupedStatement``).
    """
    row = await _ingest.fetch_one(*args)
    if row is None or row["tenant_id"] is None:
        return None
    return row["tenant_id"], row["conversation_id"], bool(row["inserted"])


async def prepare_ingest(driver: Any) -> None:
    """Plan the webhook's ingest statements on a new connection (asyncpg ``driver``), before any webhook needs
    them: planning costs a few milliseconds of both processes, which the first burst would otherwise wait for.

    Run for a number no tenant owns, they write nothing.
    """
    nothing = ingest_args(
        to="", from_="", body="", message_sid="", profile_name=None, media=[], payload={}, job=JobSpec("", "", "", 0, 0)
    )
    await _ingest.prepare(driver, nothing)


# A turn's writes in one round trip: its row, the inbound messages it answered, the conversation's memory,
# its reply parts (returned, with their ids, to be sent) and its two chat-history rows. Parts and history
# rows are inserted in their order (ids ascend with it: history is read by id).
_STORE_TURN = text(
    """
    WITH t AS (
        INSERT INTO turns (tenant_id, conversation_id, channel, intent, agent, tier, reply, handoff, handoff_reason,
                           result, latency_ms, intents, model, confidence, complexity, routing_reason,
                           prompt_version, llm_calls, input_tokens, output_tokens, cost_usd)
        VALUES (:tenant_id, :conversation_id, :channel, :intent, :agent, :tier, :reply, :handoff, :handoff_reason,
                CAST(:result AS jsonb), :latency_ms, CAST(:intents AS jsonb), :model, :confidence, :complexity,
                :routing_reason, :prompt_version, :llm_calls, :input_tokens, :output_tokens, :cost_usd)
        RETURNING id
    ), answered AS (
        UPDATE messages SET status = 'processed', turn_id = t.id FROM t
        WHERE messages.tenant_id = :tenant_id AND messages.id = ANY(CAST(:answered AS bigint[]))
    ), memory AS (
        UPDATE conversations SET state = CAST(:state AS jsonb), updated_at = now()
        WHERE conversations.tenant_id = :tenant_id AND conversations.id = :conversation_id
    ), history AS (
        INSERT INTO chat_history (tenant_id, session_id, message)
        SELECT CAST(:tenant_id AS uuid), CAST(:history_key AS text), h.message
        FROM unnest(CAST(:history AS jsonb[])) WITH ORDINALITY AS h(message, n)
        ORDER BY h.n
    ), parts AS (
        INSERT INTO messages (tenant_id, conversation_id, direction, channel, body, status, part_index, turn_id,
                              payload)
        SELECT CAST(:tenant_id AS uuid), CAST(:conversation_id AS uuid), 'outbound', CAST(:channel AS text), p.body,
               CAST(:part_status AS text), p.n - 1, t.id, p.payload
        FROM unnest(CAST(:bodies AS text[]), CAST(:payloads AS jsonb[])) WITH ORDINALITY AS p(body, payload, n), t
        ORDER BY p.n
        RETURNING id, part_index, created_at
    )
    SELECT t.id AS turn_id, parts.id, parts.part_index, parts.created_at
    FROM t LEFT JOIN parts ON true
    ORDER BY parts.part_index
    """
)


@dataclass(frozen=True)
class TurnRow:
    """The columns of a turn's row (``Turn``) the flow decides."""

    channel: str
    intent: str
    agent: str
    tier: str
    reply: str
    handoff: bool
    handoff_reason: str | None
    result: dict[str, Any]
    latency_ms: int
    intents: list[dict[str, Any]]
    model: str | None
    confidence: float | None
    complexity: float | None
    routing_reason: str | None
    prompt_version: str | None
    llm_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


async def store_turn(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    conversation: Conversation,
    answered: list[Message],
    turn: TurnRow,
    state: dict[str, Any],
    parts: list[tuple[str, dict[str, Any] | None]],
    history: list[BaseMessage],
) -> tuple[int, list[Message]]:
    """Store a turn in the caller's transaction, in one statement: (the turn's id, its reply parts).

    ``answered`` become ``processed`` by the turn and ``conversation`` takes ``state`` as its memory (the
    loaded objects are updated to match, without a second write); ``parts`` are (body, payload) in order,
    stored ``pending`` on WhatsApp (sent later by the job) and ``delivered`` on the API.
    """
    channel = turn.channel
    rows = (
        await session.execute(
            _STORE_TURN,
            {
                **{f.name: getattr(turn, f.name) for f in fields(turn)},
                "tenant_id": tenant_id,
                "conversation_id": conversation.id,
                "result": json.dumps(turn.result),
                "intents": json.dumps(turn.intents),
                "answered": [m.id for m in answered],
                "state": json.dumps(state),
                "history_key": session_key(tenant_id, conversation.customer),
                "history": [json.dumps(message_to_dict(m)) for m in history],
                "bodies": [body for body, _ in parts],
                "payloads": [json.dumps(payload or {}) for _, payload in parts],
                "part_status": "pending" if channel == "whatsapp" else "delivered",
            },
        )
    ).all()
    turn_id = int(rows[0].turn_id)
    for message in answered:
        set_committed_value(message, "status", "processed")
        set_committed_value(message, "turn_id", turn_id)
    set_committed_value(conversation, "state", state)
    stored: list[Message] = []
    for row, (body, payload) in zip((r for r in rows if r.id is not None), parts, strict=True):
        part = Message.outbound(
            tenant_id=tenant_id,
            conversation_id=conversation.id,
            channel=channel,
            body=body,
            turn_id=turn_id,
            part_index=row.part_index,
            payload=payload,
        )
        part.id, part.created_at = row.id, row.created_at
        stored.append(part)
    return turn_id, stored


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
